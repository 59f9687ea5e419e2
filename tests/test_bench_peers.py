"""The peer benchmarks of `make bench` run and write their files: stage 05 beside the Hugging Face
Trainer and TRL (scripts/bench/train_peers.py), stage 06's decoding beside `model.generate()`
(scripts/bench/eval.py), the judge client against a slow stand-in (scripts/bench/judge.py), stage 03
beside the Pushshift community reader and beside itself fed by a `zstd -dc` pipe (scripts/bench/reddit.py).
Tiny settings; no timing is checked, only that every figure is there and comes from real work.

Run: .venv/bin/python -m pytest -q tests/test_bench_peers.py
"""
import json
import math
import os
import subprocess
import sys

import pytest

from conftest import ROOT

BENCH = ROOT / "scripts" / "bench"


BENCH_PY = ROOT / ".venv-bench" / "bin" / "python"     # made by `make bench`: .venv + the peers


def run(script, *args, python=sys.executable):
    proc = subprocess.run([str(python), str(BENCH / script), *map(str, args)], capture_output=True, text=True,
                          timeout=900, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_judge_bench_sends_one_request_per_pair_and_two_in_both_orders(tmp_path):
    out = tmp_path / "judge.json"
    run("judge.py", "--out", out, "--delay", "0.02", "--pairs", "6", "--floor-pairs", "2")
    r = json.loads(out.read_text())
    single, both = r["default_concurrency_single"], r["default_concurrency_both_orders"]
    assert (single["pairs"], single["judged"], single["requests"]) == (6, 6, 6)
    assert (both["judged"], both["requests"]) == (6, 12)
    assert r["one_at_a_time"]["concurrency"] == 1 and single["concurrency"] == 4
    assert r["paper_scale"]["pairs"] == 1500 and r["paper_scale"]["single_order_minutes"] > 0


@pytest.mark.slow
def test_eval_bench_measures_generate_on_the_same_prompts(tmp_path):
    out = tmp_path / "eval.json"
    run("eval.py", "--out", out, "--prompts", "4", "--max-new-tokens", "4", "--batch-size", "2", "--repeats", "1")
    r = json.loads(out.read_text())
    assert 4 <= r["hf_generate"]["tokens"] <= 16 and r["hf_generate"]["tokens_per_s"] > 0
    assert r["ratio_vs_generate"] > 0 and r["identical_responses"] is True


@pytest.mark.slow
@pytest.mark.skipif(not BENCH_PY.exists(), reason="the peers are bench-only packages: `make bench` installs them "
                                                   "(requirements-bench.txt) into .venv-bench")
def test_train_peers_bench_runs_all_three_on_the_same_tokens(tmp_path):
    out = tmp_path / "train_peers.json"
    run("train_peers.py", "--out", out, "--tiny", "--work", tmp_path / "w", python=BENCH_PY)
    toy = json.loads(out.read_text())["models"]["toy"]
    for name in ("ours", "trainer", "trl"):
        run_ = toy[name]
        assert "failed" not in run_, run_
        assert run_["real_tokens_per_s"] > 0 and len(run_["peak_rss_mb_per_rank"]) == 2
        assert math.isfinite(run_["dev_loss"])
    # both peers trained on exactly the same examples, token for token (TRL through its own chat template)
    tokens = {p: sum(s["real_tokens"] for s in json.loads((tmp_path / "w" / "toy" / f"{p}.json").read_text())["steps"])
              for p in ("trainer", "trl")}
    assert tokens["trainer"] == tokens["trl"] > 0
    assert set(toy["vs_trl"]) == {"tokens_per_s_ratio", "peak_rss_ratio"}


@pytest.mark.slow
def test_reddit_bench_times_the_community_reader_and_the_pipe_fed_stage(tmp_path):
    out = tmp_path / "reddit.json"
    run("reddit.py", "--out", out, "--mb", "6", "--repeat", "1", "--tmp", tmp_path)
    for name, r in json.loads(out.read_text())["scenarios"].items():
        assert r["pairs"] > 0 and r["lines_parsed"] > 0, name
        assert r["community_reader_seconds"] > 0 and r["ratio_vs_community_reader"] > 0
        # the pipe-fed stage ran to the end and wrote the same outputs (the bench exits otherwise)
        assert r["pipe_seconds"] > 0 and r["ratio_vs_pipe"] > 0
