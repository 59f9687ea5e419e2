"""Evidence a reviewer can trust (stage 06's statistics and stage 08's record): judged baselines stay in
the report until their inputs change, a stale figure never stays behind, truncated responses are counted
and said, the length-controlled win rate takes length out, and the manifest lists only the stages that
produced files of this run.

Run: .venv/bin/python -m pytest -q tests/test_evidence.py
No model is loaded: the system under evaluation is served by the judge stand-in (--generate-via-api).
"""
import json

import pytest

from conftest import run_script, write_rows
from lima.eval.preference.evaluate import pair_evidence
from lima.eval.preference.report import render_report, truncation_warnings
from lima.eval.stats import length_controlled, longer_preferred

PROMPTS = [(f"q{i}", f"Please say {'GOOD' if i % 2 else 'OK'} answer {i}") for i in range(8)]


def eval_args(stand_in, prompts, out, *extra):
    return ["--generate-via-api", "sys", "--prompts", prompts, "--out", out, "--judge-url", stand_in.url,
            "--judge-model", "judge-1", "--judge", "pairwise", *extra]


def rows_of(report, name):
    return [line for line in report.splitlines() if line.startswith(f"| `{name}`")]


def test_judged_baselines_stay_in_the_report_until_their_inputs_change(stand_in, tmp_path):
    """Defect: a later run without --baseline (a plain `make all` after `make eval BASELINES=...`) wrote a
    report without the pairwise table and left winrates.png behind, stale."""
    prompts = write_rows(tmp_path / "test.jsonl", [{"id": i, "source": "authors", "conversations": [p], "meta": {}}
                                                   for i, p in PROMPTS])
    base = write_rows(tmp_path / "alpaca65b.jsonl", [{"id": i, "prompt": p, "response": "OK theirs"} for i, p in PROMPTS])
    out = tmp_path / "res"
    run_script("06_eval.py", *eval_args(stand_in, prompts, out, "--baseline", f"alpaca65b={base}"))
    png = out / "winrates.png"
    first = (out / "report" / "eval.api-sys.md").read_text()
    assert len(rows_of(first, "alpaca65b")) == 2 and png.exists()          # the shares row and the length row

    n = len(stand_in.requests)
    run_script("06_eval.py", *eval_args(stand_in, prompts, out))             # no --baseline: nothing new judged
    assert len(stand_in.requests) == n
    again = (out / "report" / "eval.api-sys.md").read_text()
    assert rows_of(again, "alpaca65b") == rows_of(first, "alpaca65b") and png.exists()
    summary = json.loads((out / "eval" / "api-sys.test.summary.json").read_text())
    assert list(summary["judged"]["pairwise"]) == ["alpaca65b"]

    base.write_text(base.read_text().replace("OK theirs", "GOOD theirs"))   # an input changed: judged again, or gone
    run_script("06_eval.py", *eval_args(stand_in, prompts, out))
    gone = (out / "report" / "eval.api-sys.md").read_text()
    assert not rows_of(gone, "alpaca65b") and not png.exists()               # no stale figure left behind


def test_length_controlled_rate_takes_length_out():
    # A judge that always prefers the longer response: a high raw rate, about 50% once length is controlled.
    ours = [50, 150, 20, 180, 70, 130, 90, 110, 40, 160] * 3              # differences symmetric about zero
    theirs = [100] * 30
    outcomes = ["win" if a > b else "loss" for a, b in zip(ours, theirs)]
    lc = length_controlled(outcomes, ours, theirs)
    assert lc["raw_percent"] == 50.0 and 35 < lc["percent"] < 65 and lc["ci95"][0] <= 50 <= lc["ci95"][1]
    assert longer_preferred(outcomes, ours, theirs)["percent"] == 100.0
    # Ours always longer, and preferred only when much longer: the controlled rate falls below the raw one.
    long_ours = [110, 120, 150, 200, 300, 400] * 5
    won = ["win" if a - 100 >= 100 else "loss" for a in long_ours]
    lc2 = length_controlled(won, long_ours, [100] * 30)
    assert lc2["raw_percent"] == 50.0 and lc2["percent"] < 35
    # Length says nothing (equal lengths): the controlled rate is the raw one; ties count half.
    lc3 = length_controlled(["win", "tie", "loss", "win"] * 5, [50] * 20, [50] * 20)
    assert lc3["raw_percent"] == 62.5 and lc3["percent"] == pytest.approx(62.5, abs=0.5)
    assert length_controlled(won, long_ours, [100] * 30) == lc2                      # deterministic


def summary_with(n_cut, n=10, theirs_cut=None):
    ours = [{"id": f"q{i}", "sample_idx": 0, "response": "a b c", "n_new_tokens": 128 if i < n_cut else 5,
             "ended_eot": i >= n_cut} for i in range(n)]
    theirs = [{"id": f"q{i}", "response": "a b", **({"ended_eot": i >= theirs_cut} if theirs_cut is not None else {})}
              for i in range(n)]
    items = [{"id": f"q{i}", "sample_idx": 0, "verdict": "win"} for i in range(n)]
    ev = pair_evidence(items, ours, theirs, None)
    res = {"n": n, "counts": {"win": n, "tie": 0, "loss": 0}, "percent": {"win": 100.0, "tie": 0.0, "loss": 0.0},
           "unparseable": 0}
    return {"generations": "g.jsonl", "checkpoint": "ck", "prompts": "p.jsonl", "n_prompts": n, "samples": 1,
            "decoding": {"top_p": 0.9, "temperature": 0.7, "repetition_penalty": 1.2, "max_new_tokens": 128},
            "seed": 0, "judge": {"model": "j", "url": "u", "requests": 1, "cache_hits": 0}, "flags": None,
            "human": None, "metrics": {"n_responses": n, "eot_rate": (n - n_cut) / n, "n_truncated": n_cut,
                                       "mean_new_tokens": 1, "mean_words": 3, "distinct_2": 1, "repetition_rate": 0},
            "judged": {"pairwise": {"alpaca65b": {"result": res, "mode": "single", "ours_first": res,
                                                  "ours_second": res, "evidence": ev}}}}


def test_truncated_responses_are_counted_and_said_above_ten_percent():
    """Defect: every sample response hit the token cap and was judged with no word that the text was cut."""
    s = summary_with(n_cut=10, theirs_cut=3)
    ev = s["judged"]["pairwise"]["alpaca65b"]["evidence"]
    assert ev["truncated"] == {"ours": {"k": 10, "n": 10}, "theirs": {"k": 3, "n": 10}}
    warnings = truncation_warnings(s)
    assert len(warnings) == 2 and "10 of our 10 responses (100%) hit the 128-token cap" in warnings[0]
    assert "baseline `alpaca65b`: 3 of 10" in warnings[1]
    text = render_report(s)
    assert "**WARNING:** 10 of our 10 responses" in text and "| cut at the token cap (no EOT) | 10 |" in text
    assert "| 10 of 10 / 3 of 10 |" in text
    assert truncation_warnings(summary_with(n_cut=1)) == []              # 10% exactly is not more than 10%
    assert "unknown |" in render_report(summary_with(n_cut=0))           # a baseline file without ended_eot
