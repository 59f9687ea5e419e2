"""`make all` end to end on the sample profile, in a copy of the tracked files, with the judge stand-in
configured so the judged parts run too (docs/design.md#tests-and-ci). The stand-in records what each
request was for: the candidate epochs' dev generations must ask nothing, the selection exactly its
round-robin comparisons and Appendix B's 1-6 ratings, the test evaluation exactly its ratings. Then: a second make does nothing,
and touching a stage-04 input reruns stage 04 and what depends on it only.

Run: .venv/bin/python -m pytest -q tests/test_make_all.py     (about 6 minutes on 2 cores)
"""
import itertools
import json
import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import ROOT
from judge_standin import StandIn
from lima.eval.judge.prompts import ABSOLUTE_TEMPLATE, LIKERT_TEMPLATE, PAIRWISE_TEMPLATE, SAFETY_TEMPLATE

pytestmark = pytest.mark.slow


def tracked_copy(dest):
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    # The environment is the one `make test` built; the copy is about the pipeline, not pip.
    os.symlink(ROOT / ".venv", dest / ".venv")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout to know the tracked files")
    work = tmp_path_factory.mktemp("repo")
    tracked_copy(work)
    with StandIn() as judge:
        env = {**os.environ, "JUDGE_BASE_URL": judge.url, "JUDGE_MODEL": "stand-in", "OMP_NUM_THREADS": "1"}
        env.pop("MAKEFLAGS", None)
        t0 = time.monotonic()
        proc = subprocess.run(["make", "all"], cwd=work, env=env, capture_output=True, text=True, timeout=1500)
        seconds = time.monotonic() - t0
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        requests = list(judge.requests)
    return work, env, proc, seconds, requests


def jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_make_all_builds_every_stage_and_the_report(built):
    work, env, proc, seconds, requests = built
    res = work / "results" / "sample"
    report = (res / "REPORT.md").read_text()
    for part in ("Data (Table 1)", "## Training", "## Checkpoint selection", "## Manifest", "## Data funnels", "Judge"):
        assert part in report, part
    assert f"results/sample/REPORT.md" in proc.stdout
    sel = json.loads((res / "selection.json").read_text())
    assert sel["mode"] == "judge" and 5 <= int(sel["choice"][6:]) <= 10
    assert os.readlink(work / "checkpoints" / "sample" / "selected") == sel["choice"]
    assert (work / "checkpoints" / "sample" / sel["choice"] / "model.safetensors.index.json").exists()
    summary = json.loads((res / "eval" / f"{sel['choice']}.test.summary.json").read_text())
    assert summary["judge"]["model"] == "stand-in" and summary["judged"]
    manifest = json.loads((res / "manifest.json").read_text())
    assert any(k.endswith("data/lima/train.jsonl") for k in manifest["files"])
    assert manifest["commands"]["train-sample"].startswith("--model checkpoints/base")
    assert (res / "ppl_vs_quality.png").exists() and (res / "train_loss.png").exists()
    # the toy says it is one, at the top; every sample response hits the token cap, and that is said
    assert report.index("## Reproduction scorecard") < report.index("Contents:")
    assert "**This run's model is a toy**" in report and "| §3: the fine-tuning recipe |" in report
    cut = summary["metrics"]["n_truncated"]
    if cut > 0.1 * summary["metrics"]["n_responses"]:
        assert f"WARNING: {cut} of our {summary['metrics']['n_responses']} responses" in proc.stderr
        assert f"**WARNING:** {cut} of our" in report
    assert (res / "absolute.png").exists() and "cut at the token cap" in report
    # the manifest lists what ran, not the separate experiments Make keeps a record for
    assert not {"dialogue", "ablation-data", "ablation-eval", "format-ablation"} & set(manifest["commands"])
    print(f"make all took {seconds:.0f} s, {len(requests)} judge requests")


def test_the_judge_is_asked_by_the_selection_and_the_test_evaluation_only(built):
    work, env, proc, seconds, requests = built
    res = work / "results" / "sample"
    sel = json.loads((res / "selection.json").read_text())
    epochs = [c["epoch"] for c in sel["candidates"]]
    assert len(epochs) >= 2 and {r["kind"] for r in requests} <= {"pairwise", "absolute", "safety", "likert"}
    sent = {kind: {r["body"]["messages"][-1]["content"] for r in requests if r["kind"] == kind}
            for kind in ("pairwise", "absolute", "safety")}

    # The candidate epochs' dev generations (`--judge-url ""` in the Makefile) asked nothing ...
    for e in epochs:
        assert json.loads((res / "eval" / f"epoch_{e:02d}.dev.summary.json").read_text())["judge"] is None
    dev_only = ({r["conversations"][0] for r in jsonl(work / "data" / "lima" / "dev.jsonl")}
                - {r["conversations"][0] for r in jsonl(work / "data" / "lima" / "test.jsonl")})
    assert dev_only and not {r["task"] for r in requests if r["kind"] not in ("pairwise", "likert")} & dev_only

    # ... the selection asked both orders of every pair of candidates on every dev prompt ...
    gens = {e: {g["id"]: g for g in jsonl(res / "generations" / f"epoch_{e:02d}.dev.jsonl") if g["sample_idx"] == 0}
            for e in epochs}
    expected = set()
    for a, b in itertools.combinations(sorted(epochs), 2):
        for i, g in gens[a].items():
            ours, theirs = g["response"], gens[b][i]["response"]
            expected |= {PAIRWISE_TEMPLATE.format(task=g["prompt"], model1=x, model2=y)
                         for x, y in ((ours, theirs), (theirs, ours))}
    assert sent["pairwise"] == expected
    assert sel["comparisons"] == len(gens[epochs[0]]) * len(epochs) * (len(epochs) - 1) // 2

    # ... and rated every exported epoch's dev responses 1-6 for Appendix B, nothing else ...
    appendix_b = sel["ppl_vs_quality"]
    assert appendix_b["quality"] == "helpfulness" and [r["epoch"] for r in appendix_b["epochs"]] == epochs
    assert {r["body"]["messages"][-1]["content"] for r in requests if r["kind"] == "likert"} == \
        {LIKERT_TEMPLATE.format(task=g["prompt"], response=g["response"]) for e in epochs for g in gens[e].values()}

    # ... and the test evaluation rated exactly the items it reports (no baseline: no pairwise there).
    test_gens = {g["id"]: g for g in jsonl(res / "generations" / f"{sel['choice']}.test.jsonl")}
    for kind, template in (("absolute", ABSOLUTE_TEMPLATE), ("safety", SAFETY_TEMPLATE)):
        items = jsonl(res / "eval" / f"{sel['choice']}.test.{kind}.jsonl")
        assert sent[kind] == {template.format(task=test_gens[i["id"]]["prompt"], response=test_gens[i["id"]]["response"])
                              for i in items}, kind
    assert sent["absolute"]


def test_second_make_does_nothing(built):
    work, env, *_ = built
    assert subprocess.run(["make", "-q", "all"], cwd=work, env=env).returncode == 0


def test_touching_a_stage_04_input_reruns_04_onward_only(built):
    work, env, *_ = built
    os.utime(work / "data" / "authored" / "dev.jsonl")
    plan = subprocess.run(["make", "-n", "all"], cwd=work, env=env, capture_output=True, text=True).stdout
    for later in ("04_build_dataset.py", "05_train.py", "07_select_ckpt.py", "06_eval.py", "08_report.py"):
        assert later in plan, later
    for earlier in ("01_stackexchange.py", "02_wikihow.py", "03_reddit.py", "00_tiny_base.py"):
        assert earlier not in plan, earlier


def test_make_eval_with_three_baselines_then_make_all_and_release_rows_without_flags(built, tmp_path):
    """Issues 15 and 22's end-to-end check, in a copy of the built tree (the other tests keep theirs): `make
    eval BASELINES="a=... b=... c=..."` gives one report with the bars and the paper's numbers beside the
    baselines the paper had (not beside gpt4o-mini), judging pairs only (the rest is cached); a plain
    `make all` then keeps them in REPORT.md with intervals, lengths, the length-controlled rates and the
    scorecard, and a second `make all` does nothing; on release-like test rows (no flags) the safety
    slice is filled from the judge's classification and the report says where the flags came from."""
    work, env, *_ = built
    copy = tmp_path / "copy"
    shutil.copytree(work, copy, symlinks=True)
    res = copy / "results" / "sample"
    choice = json.loads((res / "selection.json").read_text())["choice"]
    test = jsonl(copy / "data" / "lima" / "test.jsonl")
    a = tmp_path / "alpaca65b.jsonl"
    a.write_text("".join(json.dumps({"id": r["id"], "prompt": r["conversations"][0], "response": "OK answer"}) + "\n"
                         for r in test))
    b = tmp_path / "davinci003.jsonl"                    # lacks two test ids
    b.write_text("".join(json.dumps({"id": r["id"], "prompt": r["conversations"][0], "response": "GOOD answer"}) + "\n"
                         for r in test[2:]))
    c = tmp_path / "gpt4o-mini.jsonl"                    # a baseline the paper did not have, long answers
    c.write_text("".join(json.dumps({"id": r["id"], "prompt": r["conversations"][0], "response": "BAD answer " * 40})
                         + "\n" for r in test))
    with StandIn() as judge:
        env2 = {**env, "JUDGE_BASE_URL": judge.url}
        goal = ["make", "eval", f"BASELINES=alpaca65b={a} davinci003={b} gpt4o-mini={c}"]
        proc = subprocess.run(goal, cwd=copy, env=env2, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        assert [r["kind"] for r in judge.requests] == ["pairwise"] * (3 * len(test) - 2)   # one presentation each
        assert subprocess.run([*goal, "-q"], cwd=copy, env=env2).returncode == 0          # a second make: nothing
        report = (res / "report" / "eval.md").read_text()
        rows = {n: [line for line in report.splitlines() if line.startswith(f"| `{n}`")]
                for n in ("alpaca65b", "davinci003", "gpt4o-mini")}
        assert "64 / 19 / 17" in rows["alpaca65b"][0] and "54 / 23 / 23" in rows["davinci003"][0]
        assert "not in the paper" in rows["gpt4o-mini"][0] and "19 / 15 / 66" not in rows["gpt4o-mini"][0]
        assert f"| {len(test) - 2} (2 prompts missing in the baseline)" in rows["davinci003"][0]
        assert all(len(r) == 2 for r in rows.values())                   # the shares and the length rows
        assert "Judge mode `single`" in report and (res / "winrates.png").stat().st_size > 5000

        # a plain `make all` afterwards reruns stage 06 (its command line changed) and keeps what was judged
        n = len(judge.requests)
        proc = subprocess.run(["make", "all"], cwd=copy, env=env2, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        assert len(judge.requests) == n                                  # all of it from the cache
        full = (res / "REPORT.md").read_text()
        for name in ("alpaca65b", "davinci003", "gpt4o-mini"):
            shares_row, length_row = [line for line in full.splitlines() if line.startswith(f"| `{name}`")]
            assert re.search(r"\d+ \[\d+-\d+\] / \d+ \[\d+-\d+\] / \d+ \[\d+-\d+\]", shares_row), shares_row
            assert re.search(r"\| \d+(\.\d)? / \d+(\.\d)? \|", length_row) and "(n=" in length_row
        assert "length-controlled win rate [95%]" in full and "![win / tie / loss per baseline" in full
        card = full[full.index("## Reproduction scorecard"):full.index("Contents:")]
        assert "against `alpaca65b`, judge" in card and "against `gpt4o-mini`, judge" in card
        assert subprocess.run(["make", "-q", "all"], cwd=copy, env=env2).returncode == 0   # then nothing
        for row in jsonl(res / "eval" / f"{choice}.test.pairwise-davinci003.jsonl"):
            assert row["ours_side"] in ("A", "B") and row["verdict"] in ("win", "tie", "loss")

        # release-like rows: every flag gone, meta.from_release set; the sensitive ones say HARM to the stand-in
        release = tmp_path / "release.jsonl"
        release.write_text("".join(json.dumps({"id": r["id"], "source": r["source"], "meta": {"from_release": True},
                                               "conversations": [("HARM " if r["meta"].get("safety") else "")
                                                                 + r["conversations"][0]]}) + "\n" for r in test))
        n_safety = sum(bool(r["meta"].get("safety")) for r in test)
        proc = subprocess.run(["make", "eval", f"EVAL_PROMPTS={release}"], cwd=copy, env=env2, capture_output=True,
                              text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert f"WARNING: {len(test)} of {len(test)} release.jsonl carry no safety/format_constraint/ood flag" in proc.stderr
    summary = json.loads((res / "eval" / f"{choice}.release.summary.json").read_text())
    assert summary["flags"]["source"] == "judge" and summary["judged"]["safety"]["n"] == n_safety > 0
    report = (res / "report" / "eval.md").read_text()
    assert "judge's classification" in report and "Safety-flagged prompts" in report
