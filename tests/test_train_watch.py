"""Watching a long training: `make status` (lima/train/status.py) from the run's own files, and
`--tensorboard` (lima/train/metrics_log.py) event files beside train_metrics.jsonl.

Run: .venv/bin/python -m pytest -q tests/test_train_watch.py
"""
import json
import subprocess
import sys

import pytest

from conftest import ROOT, run_script, write_rows

from lima.train.lifeline import run_lock
from lima.train.status import status_lines


def fake_run(tmp_path, n_steps=10, total=40):
    out, results = tmp_path / "checkpoints" / "r", tmp_path / "results" / "r"
    out.mkdir(parents=True)
    results.mkdir(parents=True)
    (results / "train_start.json").write_text(json.dumps({
        "total_steps": total, "steps_per_epoch": 5, "epochs": 8, "start_step": 0, "world_size": 2,
        "started": 1000.0, "slurm_job_id": "42", "slurm_restart": 1}))
    rows = []
    for i in range(n_steps):
        rows.append({"kind": "step", "step": i, "epoch": i // 5 + 1, "loss": 3.0 - 0.1 * i, "lr": 1e-3,
                     "grad_norm": 1.0, "tokens_per_s": 100.0 + i, "real_token_ratio": 1.0, "peak_mem_mb": 1.0,
                     "step_s": 2.0, "time": 2000.0 + 2 * i})
        if i % 5 == 4:
            rows.append({"kind": "epoch", "epoch": i // 5 + 1, "dev_loss": 2.5, "dev_ppl": 12.18})
    write_rows(results / "train_metrics.jsonl", rows)
    return out, results


def test_status_says_step_losses_pace_eta_and_who_holds_the_run(tmp_path, monkeypatch):
    out, results = fake_run(tmp_path)
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    with run_lock(out):
        lines = status_lines(out, results, now=2030.0)
    assert lines[1].startswith("state: training; the run lock is held by Slurm job 42, pid ")
    assert lines[2:] == [
        "Slurm job: 42 (restart 1), 2 rank(s)",
        "epoch 2 of 8, step 10 of 40 (25%)",
        "last losses (steps 6-10): 2.5000 2.4000 2.3000 2.2000 2.1000",
        "last dev: epoch 2, loss 2.5000, perplexity 12.180",
        "tokens/s: 104.5 (mean of the last 10 steps)",
        "ETA: 0:01:00 at the last 10 steps' pace (dev evaluations and exports not counted)",
        "last step logged 0:00:12 ago"]
    # the job is gone: the lock file names it still, but nobody holds it
    after = status_lines(out, results, now=2030.0)
    assert after[1].startswith("state: not running (no process holds the run lock); last holder: Slurm job 42")
    (out / "STOPPED").write_text("stopped by SIGTERM; resumes at step 10 of 40\n")
    assert status_lines(out, results)[1] == "state: stopped by SIGTERM; resumes at step 10 of 40; " \
                                            "no job holds the run lock"


def test_make_status_names_a_missing_run_in_one_line(tmp_path):
    r = subprocess.run(["make", "-s", "status", "RUN=nothing", f"CKPT_ROOT={tmp_path}", f"RESULTS={tmp_path}"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert r.stderr.splitlines()[0] == f"error: {tmp_path}/nothing: no such run: nothing trained or training here " \
                                       "(check RUN=)"


def test_make_status_prints_the_run(tmp_path):
    out, results = fake_run(tmp_path, n_steps=40)
    (out / "TRAINED").write_text("trained\n")
    r = subprocess.run(["make", "-s", "status", "RUN=r", f"CKPT_ROOT={tmp_path}/checkpoints",
                        f"RESULTS={tmp_path}/results"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "state: trained (TRAINED written)" in r.stdout and "epoch 8 of 8, step 40 of 40 (100%)" in r.stdout
    assert "ETA" not in r.stdout


def test_tensorboard_without_the_package_is_one_line_before_loading(toy, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboard", None)          # as if not installed
    run_script("05_train.py", "--check", "--model", toy / "base", "--train", toy / "train.jsonl", "--dev",
               toy / "dev.jsonl", "--out", tmp_path / "out", "--tensorboard", expect_exit=2)
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: --tensorboard: needs the tensorboard package: "
                   ".venv/bin/pip install --no-deps -r requirements-tensorboard.txt"]


@pytest.mark.slow
def test_tensorboard_event_files_hold_the_metrics_rows(toy, tmp_path):
    pytest.importorskip("tensorboard", reason="requirements-tensorboard.txt not installed")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    results = tmp_path / "results"
    run_script("05_train.py", "--model", toy / "base", "--train", toy / "train.jsonl", "--dev", toy / "dev.jsonl",
               "--out", tmp_path / "run", "--results", results, "--epochs", "2", "--batch-size", "8",
               "--lr", "1e-2", "--final-lr", "1e-3", "--max-len", "64", "--keep-epochs", "last", "--tensorboard")
    rows = [json.loads(line) for line in (results / "train_metrics.jsonl").open()]
    acc = EventAccumulator(str(results / "tensorboard"))
    acc.Reload()
    loss = acc.Scalars("train/loss")
    steps = [r for r in rows if r["kind"] == "step"]
    assert [e.step for e in loss] == [r["step"] for r in steps] == list(range(10))
    assert [round(e.value, 5) for e in loss] == [round(r["loss"], 5) for r in steps]
    dev = acc.Scalars("eval/dev_loss")
    assert [(e.step, round(e.value, 5)) for e in dev] == [(5, round(rows[5]["dev_loss"], 5)),
                                                          (10, round(rows[-1]["dev_loss"], 5))]
