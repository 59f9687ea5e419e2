"""Stage 07 checkpoint selection and stage 08 report, on synthetic checkpoints and generations.

Run: .venv/bin/python -m pytest -q tests/test_select_ckpt.py
"""
import json
import os

import pytest

from conftest import run_script
from lima.eval.selection.choose import choose_by_score, metric_score, win_rates


def make_run(tmp_path, epochs, responses):
    """checkpoints/<run>/epoch_NN with a config, results/<run>/generations/epoch_NN.dev.jsonl."""
    ckpt, res = tmp_path / "checkpoints" / "run", tmp_path / "results" / "run"
    (res / "generations").mkdir(parents=True)
    with open(res / "train_metrics.jsonl", "w") as f:
        for e in range(1, 11):
            f.write(json.dumps({"kind": "epoch", "epoch": e, "dev_loss": 3 - e / 10, "dev_ppl": 20.0 - e}) + "\n")
    for e in epochs:
        (ckpt / f"epoch_{e:02d}").mkdir(parents=True)
        (ckpt / f"epoch_{e:02d}" / "config.json").write_text("{}")
        rows = [{"id": f"authors/dev/{i:03d}", "prompt": f"Question {i}?", "response": text, "sample_idx": 0,
                 "n_new_tokens": len(text.split()), "ended_eot": eot}
                for i, (text, eot) in enumerate(responses(e))]
        (res / "generations" / f"epoch_{e:02d}.dev.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    dev = tmp_path / "dev.jsonl"
    dev.write_text("".join(json.dumps({"id": f"authors/dev/{i:03d}", "source": "authors",
                                       "conversations": [f"Question {i}?", "A fine answer of moderate length."]}) + "\n"
                           for i in range(4)))
    return ckpt, res, dev


def good_at(best):
    def responses(e):
        if e == best:
            return [("A fine answer of moderate length here.", True)] * 4
        return [("loop loop loop loop loop loop loop loop loop loop loop loop", False)] * 4
    return responses


def test_fallback_rule_picks_the_clean_epoch_and_ignores_perplexity(tmp_path):
    ckpt, res, dev = make_run(tmp_path, [3, 5, 6, 7, 8, 12], good_at(6))
    run_script("07_select_ckpt.py", "--checkpoints", ckpt, "--results", res, "--dev", dev)
    sel = json.loads((res / "selection.json").read_text())
    assert [c["epoch"] for c in sel["candidates"]] == [5, 6, 7, 8]          # the window, not 3 or 12
    assert sel["choice"] == "epoch_06" and sel["mode"] == "metrics" and sel["fallback"] is True
    assert "perplexity is shown, not used" in sel["why"]
    assert os.readlink(ckpt / "selected") == "epoch_06"
    page = (res / "selection" / "review.html").read_text()
    assert page.count("loop loop loop loop loop loop loop loop loop loop loop loop") == 4 * 3 and "epoch 08" in page and "Question 3?" in page
    assert "**epoch 6**" in (res / "report" / "selection.md").read_text()


def test_ties_go_to_the_earlier_epoch_and_scores_follow_the_rule():
    assert choose_by_score({7: 0.5, 5: 0.5, 6: 0.4}) == 5
    assert metric_score({"eot_rate": 1.0, "repetition_rate": 0.0}, 100, 100) == 1.0
    assert metric_score({"eot_rate": 1.0, "repetition_rate": 0.2}, 100, 100) == pytest.approx(0.8)
    assert metric_score({"eot_rate": 1.0, "repetition_rate": 0.0}, 100, 272) < 0.76


def test_manual_mode_builds_the_page_then_records_the_human_choice(tmp_path, capsys):
    ckpt, res, dev = make_run(tmp_path, [5, 6, 7], good_at(6))
    run_script("07_select_ckpt.py", "--checkpoints", ckpt, "--results", res, "--mode", "manual")
    assert "make select CKPT=epoch_NN" in capsys.readouterr().out
    assert (res / "selection" / "review.html").exists() and not (res / "selection.json").exists()
    run_script("07_select_ckpt.py", "--checkpoints", ckpt, "--results", res, "--mode", "manual", "--choose", "epoch_07")
    sel = json.loads((res / "selection.json").read_text())
    assert sel["choice"] == "epoch_07" and sel["mode"] == "manual"
    assert os.readlink(ckpt / "selected") == "epoch_07"
    code = run_script("07_select_ckpt.py", "--checkpoints", ckpt, "--results", res, "--mode", "manual",
                      "--choose", "epoch_04", expect_exit=2)
    assert "not a candidate" in capsys.readouterr().err


def test_fewer_than_two_candidates_is_an_error_naming_the_exported_epochs(tmp_path, capsys):
    ckpt, res, dev = make_run(tmp_path, [4, 10, 11], good_at(10))
    run_script("07_select_ckpt.py", "--checkpoints", ckpt, "--results", res, expect_exit=2)
    err = capsys.readouterr().err
    assert "fewer than two exported epochs in the window 5-10" in err and "epoch_04, epoch_10, epoch_11" in err


def test_missing_dev_generations_are_a_clear_error(tmp_path, capsys):
    ckpt, res, dev = make_run(tmp_path, [5, 6], good_at(5))
    (res / "generations" / "epoch_06.dev.jsonl").unlink()
    run_script("07_select_ckpt.py", "--checkpoints", ckpt, "--results", res, expect_exit=2)
    assert "no dev generations for epoch 6" in capsys.readouterr().err


def test_judge_mode_without_a_judge_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("JUDGE_BASE_URL", raising=False)
    monkeypatch.delenv("JUDGE_MODEL", raising=False)
    ckpt, res, dev = make_run(tmp_path, [5, 6], good_at(5))
    run_script("07_select_ckpt.py", "--checkpoints", ckpt, "--results", res, "--mode", "judge",
               "--judge-url", "", "--judge-model", "", expect_exit=2)
    assert "no judge configured" in capsys.readouterr().err


def test_win_rates_count_both_sides():
    table = win_rates([{"a": 5, "b": 6, "verdict": "win"}, {"a": 5, "b": 7, "verdict": "tie"},
                       {"a": 6, "b": 7, "verdict": "loss"}, {"a": 5, "b": 6, "verdict": None}])
    assert table[5] == {"win": 1, "tie": 1, "loss": 0, "unparsed": 1, "win_rate": 0.75}
    assert table[6]["win_rate"] == 0.0 and table[7]["win_rate"] == 0.75


def test_report_assembles_fragments_in_order_and_requires_the_main_ones(tmp_path, capsys):
    res = tmp_path / "results" / "run"
    (res / "report").mkdir(parents=True)
    for name in ("eval", "data", "train"):
        (res / "report" / f"{name}.md").write_text(f"## {name} part\n")
    run_script("08_report.py", "--results", res, expect_exit=2)
    assert "missing report fragments: selection" in capsys.readouterr().err
    (res / "report" / "selection.md").write_text("## selection part\n")
    (res / "selection.json").write_text(json.dumps({"choice": "epoch_07", "mode": "metrics", "fallback": True}))
    run_script("08_report.py", "--results", res)
    report = (res / "REPORT.md").read_text()
    order = [report.index(f"## {n} part") for n in ("data", "train", "selection", "eval")]
    assert order == sorted(order) and "`epoch_07`" in report and "Not in this run" in report


def test_judge_mode_finds_the_known_winner_and_caches_its_calls(tmp_path):
    from judge_standin import StandIn

    def responses(e):      # the stand-in judge prefers GOOD over OK over BAD
        word = {7: "GOOD", 5: "OK"}.get(e, "BAD")
        return [(f"{word} answer number {i} of epoch {e}.", True) for i in range(4)]

    ckpt, res, dev = make_run(tmp_path, [5, 6, 7, 8], responses)
    with StandIn() as judge:
        args = ["--checkpoints", ckpt, "--results", res, "--judge-url", judge.url, "--judge-model", "stand-in"]
        run_script("07_select_ckpt.py", *args)                      # auto: a judge is configured
        first = len(judge.requests)
        run_script("07_select_ckpt.py", *args, "--mode", "judge")
        assert len(judge.requests) == first                           # every comparison came from the cache
    sel = json.loads((res / "selection.json").read_text())
    assert sel["mode"] == "judge" and sel["choice"] == "epoch_07" and not sel["fallback"]
    kinds = [r["kind"] for r in judge.requests]
    assert kinds.count("pairwise") == 6 * 4 * 2                       # 6 pairs x 4 prompts x both orders
    assert kinds.count("likert") == 4 * 4 == first - 48               # Appendix B: each epoch's dev responses
    rates = {c["epoch"]: c["judge"]["win_rate"] for c in sel["candidates"]}
    assert rates[7] == 1.0 and rates[5] > rates[6] == rates[8]
    assert os.readlink(ckpt / "selected") == "epoch_07"
    assert (res / "selection" / "judge_evidence.json").exists()


def test_report_takes_other_runs_fragments_with_their_plots(tmp_path):
    res = tmp_path / "results" / "run"
    (res / "report").mkdir(parents=True)
    for name in ("data", "train", "selection", "eval"):
        (res / "report" / f"{name}.md").write_text(f"## {name} part\n")
    abl = tmp_path / "results" / "run-ablations" / "report"
    abl.mkdir(parents=True)
    (abl / "ablations.md").write_text("## ablations part\n\n![diversity](ablation_diversity.png)\n")
    run_script("08_report.py", "--results", res, "--fragments", abl / "ablations.md")
    report = (res / "REPORT.md").read_text()
    assert "## ablations part" in report and "](../run-ablations/ablation_diversity.png)" in report
    assert report.index("## eval part") < report.index("## ablations part")


def test_an_empty_judge_flag_means_no_judge_even_when_the_environment_names_one(tmp_path, monkeypatch):
    from judge_standin import StandIn

    ckpt, res, dev = make_run(tmp_path, [5, 6], good_at(6))
    with StandIn() as judge:
        monkeypatch.setenv("JUDGE_BASE_URL", judge.url)
        monkeypatch.setenv("JUDGE_MODEL", "stand-in")
        run_script("07_select_ckpt.py", "--checkpoints", ckpt, "--results", res, "--dev", dev, "--judge-url", "")
        assert judge.requests == []
    sel = json.loads((res / "selection.json").read_text())
    assert sel["mode"] == "metrics" and sel["choice"] == "epoch_06"


def test_judge_answers_without_a_verdict_stop_stage_07_naming_the_cache_and_are_asked_again(tmp_path, capsys):
    """They used to be cached as answers, so the rerun after a fixed server sent 0 calls and failed alike."""
    from judge_standin import StandIn

    ckpt, res, dev = make_run(tmp_path, [5, 6], lambda e: [(f"CONFUSE answer {i} of epoch {e}.", True) for i in range(2)])
    with StandIn() as judge:
        args = ["--checkpoints", ckpt, "--results", res, "--judge-url", judge.url, "--judge-model", "stand-in",
                "--mode", "judge"]
        run_script("07_select_ckpt.py", *args, expect_exit=2)
        err = capsys.readouterr().err.strip().splitlines()[-1]
        assert "the judge returned no usable verdict (4 of 4 answers unreadable; they are asked again" in err
        assert str(res / "judgments" / "selection.jsonl") in err
        first = [r for r in judge.requests if r["kind"] == "pairwise"]
        run_script("07_select_ckpt.py", *args, expect_exit=2)
        assert len([r for r in judge.requests if r["kind"] == "pairwise"]) == 2 * len(first) == 8
