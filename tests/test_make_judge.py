"""What the Makefile gives the judging stages: the judge's limits as knobs, one deadline for a whole
make run, and baseline paths that reach the shell as single words.

Run: .venv/bin/python -m pytest -q tests/test_make_judge.py
"""
import os
import re
import shlex
import subprocess

from conftest import ROOT

ENV = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "JUDGE_DEADLINE")}


def plan(tmp_path, *args):
    proc = subprocess.run(["make", "--no-print-directory", "-n", "eval", f"RESULTS={tmp_path / 'r'}",
                           f"INTERIM={tmp_path / 'i'}", "JUDGE_BASE_URL=http://127.0.0.1:9/v1", "JUDGE_MODEL=j", *args],
                          cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    select = next(ln for ln in proc.stdout.splitlines() if "07_select_ckpt.py" in ln)
    evaluate = next(ln for ln in proc.stdout.splitlines() if "06_eval.py" in ln and "report/eval.md" in ln)
    return select, evaluate


def test_the_judges_limits_are_knobs_and_one_deadline_covers_stages_07_and_06(tmp_path):
    select, evaluate = plan(tmp_path, "JUDGE_TIMEOUT=7", "JUDGE_MAX_WAIT=3", "JUDGE_TIME_BUDGET=600",
                            "JUDGE_BUDGET=50", "JUDGE_CONCURRENCY=2")
    for line in (select, evaluate):
        assert "--judge-concurrency 2 --judge-budget 50 --judge-timeout 7 --judge-max-wait 3 --judge-time-budget 600" in line
    deadlines = {re.search(r"--judge-deadline (\d+)", line).group(1) for line in (select, evaluate)}
    assert len(deadlines) == 1                       # computed once for the make run, not once per stage
    select, _ = plan(tmp_path, "JUDGE_TIME_BUDGET=0")
    assert "--judge-time-budget 0" in select and "--judge-deadline" not in select


def test_baseline_paths_with_shell_characters_reach_the_stage_as_one_word_each(tmp_path):
    odd = [tmp_path / "x;y.jsonl", tmp_path / "<z'q.jsonl"]
    for p in odd:
        p.write_text("")
    _, evaluate = plan(tmp_path, f"BASELINES=a={odd[0]} b={odd[1]}", f"BASELINE={odd[0]}")
    words = shlex.split(evaluate)
    assert [words[i + 1] for i, w in enumerate(words) if w == "--baseline"] == [f"a={odd[0]}", f"b={odd[1]}", str(odd[0])]


def test_a_baselines_word_without_a_name_stops_make_with_one_line(tmp_path):
    proc = subprocess.run(["make", "-n", "eval", "BASELINES=a=my file.jsonl"], cwd=ROOT, env=ENV,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "BASELINES: 'file.jsonl' is not NAME=FILE" in proc.stderr
