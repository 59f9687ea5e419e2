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
