"""The shared output layer: the stats record's arguments, atomic JSONL, stale temporaries.

Run: .venv/bin/python -m pytest -q tests/test_io_funnel.py
"""
import argparse
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import jsonlines
import pytest

from conftest import SCRIPTS
from lima.errors import StageError
from lima.funnel import Funnel, args_record, write_stats
from lima.io import append_jsonl, atomic_write, load_jsonl, read_jsonl, write_jsonl


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


# ---- lima.io -----------------------------------------------------------------------------------

ROWS = [{"id": "a", "text": "café — ok", "n": [1, 2.5, None]}, None, {"nested": {"k": True}}]


def test_jsonl_bytes_are_the_stages_format(tmp_path):
    """UTF-8 as is, ", " and ": " separators, one row a line: the bytes every stage file has."""
    path = tmp_path / "x.jsonl"
    assert write_jsonl(path, ROWS) == 3
    assert path.read_bytes() == ('{"id": "a", "text": "café — ok", "n": [1, 2.5, null]}\nnull\n'
                                 '{"nested": {"k": true}}\n').encode()
    assert list(read_jsonl(path)) == ROWS
    append_jsonl(path, {"x": 1})
    assert path.read_bytes().endswith(b'\n{"x": 1}\n')


def test_bad_line_names_its_number(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"a": 1}\n\n{"a": \n{"a": 3}\n', encoding="utf-8")
    with pytest.raises(jsonlines.InvalidLineError) as e:
        list(read_jsonl(path))
    assert e.value.lineno == 3 and "line 3" in str(e.value)
    with pytest.raises(StageError, match=r"x.jsonl: not a JSONL file: .*\(line 3\)"):
        load_jsonl(path)


def test_torn_tail_only_on_the_last_line_and_only_when_asked(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text('{"a": 1}\n{"a": 2}\n{"a": ', encoding="utf-8")
    assert list(read_jsonl(path, tolerate_torn_tail=True)) == [{"a": 1}, {"a": 2}]
    with pytest.raises(ValueError, match="line 3"):
        list(read_jsonl(path))


def test_an_append_after_a_torn_tail_starts_a_new_line_and_later_reads_skip_the_fragment(tmp_path, caplog):
    """A torn last line is tolerated for good: the next append is not glued to it, and the fragment,
    now a line in the middle, is skipped with its number logged (no traceback on the run after)."""
    path = tmp_path / "cache.jsonl"
    path.write_text('{"a": 1}\n{"a": 2, "answ', encoding="utf-8")
    assert list(read_jsonl(path, tolerate_torn_tail=True)) == [{"a": 1}]
    append_jsonl(path, {"a": 3})
    append_jsonl(path, {"a": 4})
    assert path.read_text(encoding="utf-8") == '{"a": 1}\n{"a": 2, "answ\n{"a": 3}\n{"a": 4}\n'
    with caplog.at_level("WARNING"):
        assert list(read_jsonl(path, tolerate_torn_tail=True)) == [{"a": 1}, {"a": 3}, {"a": 4}]
    assert "cache.jsonl: skipped 1 line(s) cut by an interrupted write (line 2)" in caplog.text
    # a torn multi-byte character is a fragment like any other
    path.write_bytes('{"a": 1}\n{"a": "caf'.encode() + "é".encode()[:1])
    append_jsonl(path, {"a": 5})
    assert list(read_jsonl(path, tolerate_torn_tail=True)) == [{"a": 1}, {"a": 5}]


def test_a_file_of_mostly_unreadable_lines_is_no_append_only_file(tmp_path):
    path = tmp_path / "notes.jsonl"
    path.write_text('hello\nworld\n{"a": 1}\n', encoding="utf-8")
    with pytest.raises(StageError, match=r"notes.jsonl: not a JSONL file: 2 unreadable lines \(line 1 first\)"):
        list(read_jsonl(path, tolerate_torn_tail=True))


def test_atomic_write_keeps_the_old_file_on_error(tmp_path):
    path = tmp_path / "x.jsonl"
    write_jsonl(path, [{"a": 1}])
    with pytest.raises(RuntimeError):
        with atomic_write(path) as f:
            f.write("partial")
            raise RuntimeError
    assert path.read_text() == '{"a": 1}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.jsonl"]


def test_rerun_removes_the_temporaries_a_sigkill_left(tmp_path):
    """A writer killed with SIGKILL leaves its `.x.jsonl.*.tmp`; the next write of x.jsonl removes
    it, and leaves other files' temporaries alone."""
    path = tmp_path / "x.jsonl"
    killed = subprocess.run(
        [sys.executable, "-c",
         "import os, signal, sys; from lima.io import atomic_write\n"
         "with atomic_write(sys.argv[1]) as f:\n"
         "    f.write('x' * 100000); f.flush(); os.kill(os.getpid(), signal.SIGKILL)\n", str(path)],
        env={**os.environ, "PYTHONPATH": str(SCRIPTS)})
    assert killed.returncode == -signal.SIGKILL
    stale = [p for p in tmp_path.iterdir() if p.name.startswith(".x.jsonl.") and p.name.endswith(".tmp")]
    assert len(stale) == 1 and not path.exists()
    others = [tmp_path / ".y.jsonl.abcd1234.tmp", tmp_path / ".x.jsonl.bak.abcd1234.tmp"]
    for other in others:
        other.write_text("another file's")
    write_jsonl(path, [{"a": 1}])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([o.name for o in others] + ["x.jsonl"])


def test_unwritable_out_is_one_stage_error(tmp_path):
    a_file = tmp_path / "file.txt"
    a_file.write_text("")
    with pytest.raises(StageError, match="file.txt is a file, not a folder"):
        write_jsonl(a_file / "x.jsonl", [])
    with pytest.raises(StageError, match="file.txt is a file, not a folder"):
        write_jsonl(a_file / "deeper" / "x.jsonl", [])
    (tmp_path / "d.jsonl").mkdir()
    with pytest.raises(StageError, match="is a folder"):
        write_jsonl(tmp_path / "d.jsonl", [])


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes in any folder; the file-as-folder case above still runs")
def test_folder_without_write_permission_is_one_stage_error(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(StageError, match="no permission to write"):
            write_jsonl(locked / "x.jsonl", [])
    finally:
        locked.chmod(0o700)


def test_folder_without_write_permission_message(tmp_path, monkeypatch):
    """The same check where the tests run as root: the permission answer is what os.access says."""
    import lima.io
    monkeypatch.setattr(lima.io.os, "access", lambda p, mode: False)
    with pytest.raises(StageError, match="no permission to write in"):
        write_jsonl(tmp_path / "x.jsonl", [])
