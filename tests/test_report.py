"""Stage 08 (scripts/08_report.py, lima/report.py): a variant run's report takes the profile's data
fragment when it is named, and says which required fragment is missing when it is not."""
import json

from conftest import run_script


def fragments(run_dir, names):
    (run_dir / "report").mkdir(parents=True)
    for name in names:
        (run_dir / "report" / f"{name}.md").write_text(f"## {name} part\n")


def test_a_variant_runs_report_takes_the_profiles_data_fragment(tmp_path, capsys):
    results = tmp_path / "results"
    fragments(results / "sample", ["data"])
    (results / "sample" / "report" / "data.md").write_text("## data part\n\n![table](composition.png)\n")
    variant = results / "sample-variant"
    fragments(variant, ["train", "selection", "eval"])
    (variant / "selection.json").write_text(json.dumps({"choice": "epoch_06", "mode": "metrics"}))

    run_script("08_report.py", "--results", variant, "--interim", tmp_path / "interim", expect_exit=2)
    assert "missing report fragments: data" in capsys.readouterr().err

    run_script("08_report.py", "--results", variant, "--interim", tmp_path / "interim",
               "--fragments", results / "sample" / "report" / "data.md")
    report = (variant / "REPORT.md").read_text()
    order = [report.index(f"## {n} part") for n in ("data", "train", "selection", "eval")]
    assert order == sorted(order) and "run `sample-variant`" in report
    assert "](../sample/composition.png)" in report          # the plot stays in the profile's folder
    manifest = json.loads((variant / "manifest.json").read_text())
    assert any(k.endswith("sample/report/data.md") for k in manifest["files"])


def test_a_fragment_named_outright_must_exist_and_be_a_known_part(tmp_path, capsys):
    run = tmp_path / "results" / "run"
    fragments(run, ["data", "train", "selection", "eval"])
    run_script("08_report.py", "--results", run, "--fragments", tmp_path / "dialogue.md", expect_exit=2)
    assert "report fragment not found" in capsys.readouterr().err
    (tmp_path / "notes.md").write_text("x")
    run_script("08_report.py", "--results", run, "--fragments", tmp_path / "notes.md", expect_exit=2)
    assert "unknown report part" in capsys.readouterr().err


def test_the_human_study_fragment_joins_the_report_after_the_evaluation(tmp_path):
    """make annotate-report writes report/human.md; the Makefile names it in REPORT_EXTRA."""
    run = tmp_path / "results" / "run"
    fragments(run, ["data", "train", "selection", "eval", "human"])
    run_script("08_report.py", "--results", run, "--interim", tmp_path / "interim",
               "--fragments", run / "report" / "human.md")
    report = (run / "REPORT.md").read_text()
    assert report.index("## eval part") < report.index("## human part")
    assert report.count("## human part") == 1 and "Human preference study" in report


def test_the_manifest_lists_only_the_stages_that_produced_files_of_this_run(tmp_path):
    """Defect: Make writes a `.<stage>.args` record for every stage when it reads the Makefile, so the
    manifest listed the ablations, the dialogue run and the format ablation although they never ran."""
    run, interim = tmp_path / "results" / "sample", tmp_path / "interim"
    fragments(run, ["data", "train", "selection", "eval"])
    interim.mkdir()
    for stage in ("stackexchange", "wikihow", "dataset", "train-sample", "eval-sample", "select-sample",
                  "ablation-data", "ablation-eval", "dialogue", "format-ablation", "train-sample-dialogue"):
        (interim / f".{stage}.args").write_text(f"--{stage}")
    (interim / "stackexchange.jsonl").write_text("")              # stage 01 ran; stage 02 did not
    (run / "selection.json").write_text(json.dumps({"choice": "epoch_06", "mode": "metrics"}))
    (run / "train_metrics.jsonl").write_text("")
    run_script("08_report.py", "--results", run, "--interim", interim, "--lima-data", tmp_path / "lima")
    commands = json.loads((run / "manifest.json").read_text())["commands"]
    assert sorted(commands) == ["eval-sample", "select-sample", "stackexchange", "train-sample"]
    report = (run / "REPORT.md").read_text()
    assert "| stackexchange | `--stackexchange` |" in report and "dialogue" not in report.split("## Manifest")[1].split("---")[0]

    # once the dialogue experiment's fragment joins the report, its stages are listed too
    other = tmp_path / "results" / "sample-dialogue"
    fragments(other, ["dialogue"])
    (other / "train_metrics.jsonl").write_text("")
    run_script("08_report.py", "--results", run, "--interim", interim, "--lima-data", tmp_path / "lima",
               "--fragments", other / "report" / "dialogue.md")
    commands = json.loads((run / "manifest.json").read_text())["commands"]
    assert {"dialogue", "train-sample-dialogue"} <= set(commands) and "ablation-data" not in commands


def test_the_scorecard_opens_the_report_and_says_a_toy_is_one(tmp_path):
    run = tmp_path / "results" / "sample"
    fragments(run, ["data", "train", "selection", "eval"])
    (run / "selection.json").write_text(json.dumps({"choice": "epoch_06", "mode": "metrics"}))
    (run / "eval").mkdir()
    (run / "eval" / "epoch_06.test.summary.json").write_text(json.dumps({
        "metrics": {"n_responses": 10, "n_truncated": 10}, "judged": {
            "absolute": {"n": 50, "counts": {"excellent": 25, "pass": 19, "fail": 6},
                         "percent": {"excellent": 50.0, "pass": 38.0, "fail": 12.0}},
            "pairwise": {"gpt4o-mini": {"result": {"counts": {"win": 1, "tie": 1, "loss": 8}}},
                         "gpt-4": {"result": {"counts": {"win": 20, "tie": 25, "loss": 55}}}}}}))
    run_script("08_report.py", "--results", run, "--interim", tmp_path / "interim", "--toy")
    report = (run / "REPORT.md").read_text()
    card = report[report.index("## Reproduction scorecard"):report.index("Contents:")]
    assert report.index("## Reproduction scorecard") < report.index("## data part")
    assert "**This run's model is a toy**" in card
    rows = {line.split(" | ")[0][2:]: line for line in card.splitlines() if line.startswith("| ")}
    assert rows["§4.3: Excellent / Pass / Fail (judge)"].endswith("not comparable (by the numbers: consistent) |")
    assert rows["§3: answers end with EOT (the chosen checkpoint)"].endswith("(by the numbers: differs) |")
    assert "the paper had no such baseline | not comparable |" in rows["§4.2: win / tie / loss against `gpt4o-mini`, judge"]
    assert "18 / 25 / 57" not in rows["§4.2: win / tie / loss against `gpt4o-mini`, judge"]
    assert "19 / 15 / 66 (Fig. 2, GPT-4, GPT-4 (April))" in rows["§4.2: win / tie / loss against `gpt-4`, judge"]
    assert rows["§5: filtered SE > unfiltered SE"].endswith("| not run |")
    assert rows["Appendix B: perplexity and quality both rise"].endswith("| not run |")
    run_script("08_report.py", "--results", run, "--interim", tmp_path / "interim")          # a real model
    report = (run / "REPORT.md").read_text()
    assert "toy" not in report and "| consistent |" in report and "| differs |" in report


def test_the_scorecard_sets_the_whole_conversation_result_beside_7_3_0(tmp_path):
    """§6's per-conversation row: better / tie / worse with exact intervals from make dialogue's summary,
    consistent when the paper's 70 / 30 / 0% lie inside them, not run without a comparison."""
    from lima.eval.conversations import summarize_conversations
    run = tmp_path / "results" / "sample"
    fragments(run, ["data", "train", "selection", "eval"])
    other = tmp_path / "results" / "sample-dialogue"
    fragments(other, ["dialogue"])
    (other / "eval").mkdir()

    def card(verdicts):
        items = [{"id": f"scripted/{i:02d}", "user_turns": 3, "ours_side": "AB"[i % 2], "verdict": v}
                 for i, v in enumerate(verdicts)]
        compared = summarize_conversations(items) if verdicts else None
        (other / "eval" / "dialogue.json").write_text(json.dumps({"systems": {}, "conversations_compared": compared}))
        run_script("08_report.py", "--results", run, "--interim", tmp_path / "interim",
                   "--fragments", other / "report" / "dialogue.md")
        report = (run / "REPORT.md").read_text()
        return next(line for line in report.splitlines() if line.startswith("| §6: whole conversations"))

    row = card(["win"] * 7 + ["tie"] * 3)
    assert "| 70 [35-93] / 30 [7-65] / 0 [0-31]% (n=10, scripted conversations) | 7 / 3 / 0 of 10" in row
    assert row.endswith("| consistent |")
    row = card(["win"] + ["tie"] * 8 + ["loss", None])          # 1 / 8 / 1 of 10 read, one unreadable
    assert "10 [0-44] / 80 [44-98] / 10 [0-44]% (n=10" in row and row.endswith("| differs |")
    assert card([]).endswith("| not run |") and "make dialogue (with a judge)" in card([])
