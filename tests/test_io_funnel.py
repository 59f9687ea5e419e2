"""The shared output layer: the stats record's arguments, atomic JSONL, stale temporaries.

Run: .venv/bin/python -m pytest -q tests/test_io_funnel.py
"""
import argparse
import json
from pathlib import Path

from lima.funnel import Funnel, args_record, write_stats


def test_args_record_one_way_for_namespace_and_dict():
    ns = argparse.Namespace(out=Path("data/x.jsonl"), inputs=[Path("a"), Path("b/c")], size=16,
                            tau=3.0, strict=False, sites=None, name="cooking")
    want = {"out": "data/x.jsonl", "inputs": ["a", "b/c"], "size": 16, "tau": 3.0, "strict": False,
            "sites": None, "name": "cooking"}
    assert args_record(ns) == want
    assert args_record(vars(ns)) == want
    assert args_record(None) == {}


def test_write_stats_takes_the_namespace(tmp_path):
    ns = argparse.Namespace(out=tmp_path / "x.jsonl", quota=3)
    path = write_stats(tmp_path / "x.jsonl", Funnel("t"), args=ns, seed=0)
    assert path == tmp_path / "x.stats.json"
    rec = json.loads(path.read_text())
    assert rec["args"] == {"out": str(tmp_path / "x.jsonl"), "quota": 3} and rec["seed"] == 0
