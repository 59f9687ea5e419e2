"""Appendix B (Fig. 9): stage 07 sets each exported epoch's dev perplexity against the 1-6 helpfulness of
its dev responses (the judge stand-in on 127.0.0.1), or the metric fallback without a judge; stage 08
plots and tabulates it.

Run: .venv/bin/python -m pytest -q tests/test_appendix_b.py
"""
import json

import pytest
from PIL import Image

from conftest import run_script
from judge_standin import StandIn
from lima.eval.generation.metrics import mean_ci95
from lima.eval.selection.ppl_quality import pearson
from lima.eval.selection.appendix_b import ppl_quality_points
from test_select_ckpt import make_run

# The stand-in rates a response 6 (GOOD), 4 (OK) or 1 (BAD); each epoch's four dev responses, epochs 3
# and 12 outside the selection window but exported.
WORDS = {3: "BAD BAD OK BAD", 5: "OK GOOD OK BAD", 6: "GOOD GOOD OK OK", 7: "GOOD GOOD GOOD OK",
         8: "GOOD OK OK BAD", 12: "GOOD GOOD GOOD GOOD"}
SCORE = {"GOOD": 6, "OK": 4, "BAD": 1}


@pytest.fixture(autouse=True)
def no_judge_env(monkeypatch):
    for var in ("JUDGE_BASE_URL", "JUDGE_MODEL", "JUDGE_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(var, raising=False)


def responses(e):
    return [(f"{word} answer {i} of epoch {e}.", True) for i, word in enumerate(WORDS[e].split())]


def report(res):
    (res / "report").mkdir(exist_ok=True)
    run_script("08_report.py", "--results", res, "--require", "selection", "--interim", res / "interim")
    return (res / "REPORT.md").read_text()


def plot_title(res):
    return Image.open(res / "ppl_vs_quality.png").text["Title"]


def test_with_a_judge_the_plot_is_each_exported_epochs_mean_helpfulness(tmp_path):
    ckpt, res, dev = make_run(tmp_path, sorted(WORDS), responses)
    with open(res / "train_metrics.jsonl", "a") as f:                 # make_run's metrics stop at epoch 10
        f.writelines(json.dumps({"kind": "epoch", "epoch": e, "dev_loss": 1.0, "dev_ppl": 20.0 - e}) + "\n" for e in (11, 12))
    with StandIn() as judge:
        run_script("07_select_ckpt.py", "--checkpoints", ckpt, "--results", res, "--dev", dev,
                   "--judge-url", judge.url, "--judge-model", "stand-in")
        likert = [r for r in judge.requests if r["kind"] == "likert"]
    assert len(likert) == 6 * 4                                     # every exported epoch, not only 5..10
    record = json.loads((res / "selection.json").read_text())["ppl_vs_quality"]
    assert record["quality"] == "helpfulness" and record["judge_model"] == "stand-in"
    expected = {e: mean_ci95([SCORE[w] for w in words.split()]) for e, words in WORDS.items()}
    assert [r["epoch"] for r in record["epochs"]] == sorted(WORDS) and record["missing_generations"] == []
    for r in record["epochs"]:
        assert (r["mean"], r["ci95"], r["n"], r["dev_ppl"]) == (expected[r["epoch"]]["mean"], expected[r["epoch"]]["ci95"],
                                                               4, 20.0 - r["epoch"])
    points = ppl_quality_points(record)                             # what the plot draws
    assert [(p["ppl"], p["quality"], p["ci95"]) for p in points] == \
        [(20.0 - e, expected[e]["mean"], expected[e]["ci95"]) for e in sorted(WORDS)]
    rated = [json.loads(line) for line in (res / "selection" / "helpfulness.jsonl").read_text().splitlines()]
    assert len(rated) == 24 and {r["score"] for r in rated} == {1, 4, 6}

    text = report(res)
    assert "### Perplexity against quality (Appendix B)" in text and "![perplexity vs quality](ppl_vs_quality.png)" in text
    e7 = expected[7]
    assert f"| 7 | 13.00 | – | {e7['mean']:.2f} [{e7['ci95'][0]:.2f}, {e7['ci95'][1]:.2f}] | 4 |" in text
    assert "metric fallback" not in text.lower() and "perplexity rose during training" in text
    assert "Pearson's r between dev perplexity and mean helpfulness" in text
    assert "helpfulness" in plot_title(res) and "fallback" not in plot_title(res)


def test_without_a_judge_it_is_the_metric_fallback_and_says_so(tmp_path):
    ckpt, res, dev = make_run(tmp_path, [5, 6, 7, 12], responses)
    (res / "generations" / "epoch_12.dev.jsonl").unlink()           # exported, never generated
    run_script("07_select_ckpt.py", "--checkpoints", ckpt, "--results", res, "--dev", dev)
    sel = json.loads((res / "selection.json").read_text())
    record = sel["ppl_vs_quality"]
    assert record["quality"] == "metric fallback" and "not helpfulness" in record["scale"]
    assert [r["epoch"] for r in record["epochs"]] == [5, 6, 7] and record["missing_generations"] == [12]
    scores = {c["epoch"]: c["score"] for c in sel["candidates"]}     # the selection's own rule, same numbers
    assert [p["quality"] for p in ppl_quality_points(record)] == [scores[5], scores[6], scores[7]]
    assert all(p["ci95"] is None for p in ppl_quality_points(record))
    text = report(res)
    assert "**Metric fallback:** no judge was configured" in text and "| Metric fallback score |" in text
    assert "Exported epochs without dev generations, left out: epoch_12." in text
    assert "metric fallback" in plot_title(res)


def test_a_selection_record_without_generations_gives_no_plot(tmp_path):
    ckpt, res, dev = make_run(tmp_path, [5, 6], responses)
    for e in (5, 6):
        (res / "generations" / f"epoch_{e:02d}.dev.jsonl").unlink()
    run_script("07_select_ckpt.py", "--checkpoints", ckpt, "--results", res, "--mode", "manual", "--choose", "epoch_06")
    record = json.loads((res / "selection.json").read_text())["ppl_vs_quality"]
    assert record["epochs"] == [] and record["missing_generations"] == [5, 6]
    text = report(res)
    assert "No exported epoch has dev generations" in text and not (res / "ppl_vs_quality.png").exists()


def test_pearson_needs_three_points_and_two_values():
    assert pearson([1, 2, 3], [2, 4, 6]) == 1.0 and pearson([1, 2, 3], [3, 2, 1]) == -1.0
    assert pearson([1, 2], [1, 2]) is None and pearson([1, 2, 3], [5, 5, 5]) is None
