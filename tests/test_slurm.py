"""Stage 05 through Slurm (scripts/slurm/submit.py, lima/slurm.py), against a real one-host Slurm cluster
(tests/slurm_cluster.py): two Slurm tasks on this host stand in for two nodes. Without slurm-wlm and munge,
or not as root, those tests skip with one line; the script's rendering is checked without Slurm.

Run: .venv/bin/python -m pytest -q tests/test_slurm.py
"""
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from conftest import ROOT, read_export
from slurm_cluster import slurm  # noqa: F401  (the fixture)

from lima.errors import StageError
from lima.slurm import Job, render
from lima.train.lifeline import run_lock

SUBMIT = str(ROOT / "scripts" / "slurm" / "submit.py")
TRAIN = "scripts/05_train.py"
# 8 epochs of 5 steps (40 examples, batch 8): long enough to be stopped in the middle; only the last exported.
RUN = ["--epochs", "8", "--batch-size", "8", "--lr", "1e-2", "--final-lr", "1e-3", "--max-len", "64",
       "--keep-epochs", "last", "--nproc-per-node", "1", "--nnodes", "2", "--plan-device", "cpu"]
TWO_TASKS = "--nodes=1 --ntasks-per-node=2"      # two "nodes" as two tasks on the one host


def train_args(toy, out):
    return ["--model", str(toy / "base"), "--train", str(toy / "train.jsonl"), "--dev", str(toy / "dev.jsonl"),
            "--out", str(out), "--results", str(out.with_name(out.name + "_results")), *RUN]


def metrics(out):
    return [json.loads(line) for line in (out.with_name(out.name + "_results") / "train_metrics.jsonl").open()]


def submit(env, name, out, *extra, check=True):
    cmd = [sys.executable, SUBMIT, "--name", name, "--nnodes", "2", "--nproc", "1", "--run-dir", str(out),
           "--log-dir", str(out.parent / "slurm"), "--grace", "60", "--sbatch-args", TWO_TASKS, *extra,
           "--", TRAIN, *train_args(out.parent / "toy", out)]
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    if check:
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r


def job_id(stdout):
    line = next(line for line in stdout.splitlines() if line.startswith("submitted job "))
    return line.split()[2]


@pytest.fixture(scope="module")
def work(toy, tmp_path_factory):
    """A folder with the toy beside the runs, and the standalone 2-process run every Slurm run is compared to."""
    d = tmp_path_factory.mktemp("slurm_runs")
    (d / "toy").symlink_to(toy)
    ref = d / "standalone"
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                           TRAIN, *train_args(toy, ref)], cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"},
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return d, ref


def slurm_env(slurm):
    return {**slurm.env, "OMP_NUM_THREADS": "1"}


@pytest.mark.slow
def test_two_slurm_tasks_train_exactly_like_the_standalone_two_process_run(slurm, work):
    d, ref = work
    out = d / "slurm_plain"
    r = submit(slurm_env(slurm), "lima-train-plain", out, "--wait")
    assert "#SBATCH --requeue" in r.stdout and "torch.distributed.run" in r.stdout      # the script it submits
    jid = job_id(r.stdout)
    assert slurm.job_state(jid) == "COMPLETED"
    steps = [row for row in metrics(out) if row["kind"] == "step"]
    want = [row for row in metrics(ref) if row["kind"] == "step"]
    assert [s["step"] for s in steps] == list(range(40))
    assert [s["loss"] for s in steps] == [s["loss"] for s in want]
    assert (out / "TRAINED").exists()
    assert f"Slurm job {jid}, pid " in (out / ".train.lock").read_text()


@pytest.mark.slow
def test_a_job_stopped_by_sigterm_requeues_itself_and_ends_as_if_never_stopped(slurm, work):
    d, ref = work
    out = d / "slurm_stopped"
    env = slurm_env(slurm)
    jid = job_id(submit(env, "lima-train-stopped", out).stdout)
    results = out.with_name(out.name + "_results") / "train_metrics.jsonl"
    end = time.monotonic() + 300
    while not (results.exists() and results.read_text().count('"kind": "step"') >= 10):
        assert time.monotonic() < end and slurm.job_state(jid) in ("PENDING", "RUNNING"), slurm.job_state(jid)
        time.sleep(0.3)
    # while it trains, the run lock names the job, and a second submission is refused
    with pytest.raises(StageError, match=f"another training is writing this run: Slurm job {jid}, pid "):
        with run_lock(out):
            pass
    second = submit(env, "lima-train-stopped", out, check=False)
    assert second.returncode == 2 and second.stdout == ""
    assert second.stderr.strip() == f"error: lima-train-stopped: job {jid} of this name is already running; " \
                                    f"wait for it or `scancel {jid}`"

    slurm.run("scancel", "--signal=TERM", jid)
    # Slurm holds a requeued job back two minutes (its begin time); the test lets it start sooner, but not
    # within the second of the requeue: slurmd refuses a credential as old as the revoked one's (one-second clock)
    assert slurm.wait_job(jid, ("PENDING", "COMPLETED", "FAILED", "CANCELLED"), 120) == "PENDING", \
        (d / "slurm" / f"lima-train-stopped-{jid}.out").read_text()[-4000:]
    time.sleep(3)
    slurm.run("scontrol", "update", f"JobId={jid}", "StartTime=now")
    slurm.wait_job(jid, ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"), 400)
    log = (d / "slurm" / f"lima-train-stopped-{jid}.out").read_text()
    assert slurm.job_state(jid) == "COMPLETED", log[-4000:]
    assert "stopped by SIGTERM" in log and "restart 1" in log and "resuming from" in log
    steps = [row for row in metrics(out) if row["kind"] == "step"]
    assert [s["step"] for s in steps] == list(range(40))                   # each step once
    assert [row["epoch"] for row in metrics(out) if row["kind"] == "epoch"] == list(range(1, 9))
    assert [s["loss"] for s in steps] == [s["loss"] for row in [metrics(ref)] for s in row if s["kind"] == "step"]
    got, want = read_export(out / "epoch_08"), read_export(ref / "epoch_08")
    assert got.keys() == want.keys()
    for name in want:
        torch.testing.assert_close(got[name], want[name], rtol=0, atol=0)
    assert not (out / "STOPPED").exists() and (out / "TRAINED").exists()


@pytest.mark.slow
def test_a_plan_that_does_not_fit_is_refused_before_sbatch(toy, tmp_path):
    """No Slurm needed: an sbatch on PATH that would record its call is never called (squeue: an empty queue)."""
    (tmp_path / "bin").mkdir()
    fake = tmp_path / "bin" / "sbatch"
    fake.write_text(f"#!/bin/sh\ntouch {tmp_path}/sbatch_called\necho 1\n")
    (tmp_path / "bin" / "squeue").write_text("#!/bin/sh\nexit 0\n")
    for f in (tmp_path / "bin").iterdir():
        f.chmod(0o755)
    out = tmp_path / "run"
    cmd = [sys.executable, SUBMIT, "--name", "lima-train-big", "--nnodes", "2", "--nproc", "1", "--run-dir", str(out),
           "--log-dir", str(tmp_path / "slurm"), "--", TRAIN, *train_args(toy, out), "--host-mem-gb", "0.2"]
    r = subprocess.run(cmd, cwd=ROOT, env={**os.environ, "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}"},
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and "does not fit" in err[0], r.stderr
    assert r.stdout == "" and not (tmp_path / "sbatch_called").exists() and not out.exists()


def test_the_script_passes_every_word_to_torchrun_as_it_was(tmp_path):
    """The rendered script run with stand-ins for srun and scontrol: quotes, spaces and `$` in the
    arguments arrive intact, the rendezvous is the first node of the allocation, the node rank Slurm's."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "scontrol").write_text("#!/bin/sh\n[ \"$1\" = show ] && printf 'node-a\\nnode-b\\n'; "
                                      f"[ \"$1\" = requeue ] && touch {tmp_path}/requeued; exit 0\n")
    # srun: run the task (bash -c ...) once as task 1, with `python` recording its arguments
    (bin_dir / "srun").write_text("#!/bin/sh\nshift\nSLURM_PROCID=1 exec \"$@\"\n")
    record = tmp_path / "argv.json"
    (bin_dir / "python").write_text(f"#!{sys.executable}\nimport json, sys\n"
                                    f"json.dump(sys.argv[1:], open({str(record)!r}, 'w'))\n")
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    odd = ["--out", "run dir/it's $HOME", "--x", "a\"b;c`d`"]
    run_dir = tmp_path / "run dir"
    job = Job(name="lima-train-x", python=str(bin_dir / "python"), command=["scripts/05_train.py", *odd],
              nnodes=2, nproc=8, gpus_per_node=8, partition="gpu", time="1:00:00", grace=120,
              log_dir=tmp_path / "logs", run_dir=run_dir, workdir=tmp_path)
    script = render(job)
    assert "#SBATCH --nodes=2" in script and "#SBATCH --gpus-per-node=8" in script
    assert "#SBATCH --signal=TERM@120" in script and "#SBATCH --partition=gpu" in script
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "SLURM_JOB_ID": "77", "SLURM_NTASKS": "2",
           "SLURM_JOB_NODELIST": "node-[a-b]"}
    # the free-port helper runs through the stand-in python too: give it a real one for that line
    script = script.replace(f"port=$({shlex.quote(str(bin_dir / 'python'))}", f"port=$({shlex.quote(sys.executable)}")
    r = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    argv = json.loads(record.read_text())
    port = argv[argv.index("--rdzv_endpoint") + 1].split(":")[1]
    assert argv == ["-m", "torch.distributed.run", "--node_rank", "1", "--nnodes", "2", "--nproc_per_node", "8",
                    "--rdzv_backend", "c10d", "--rdzv_endpoint", f"node-a:{port}", "--rdzv_id", "lima-77",
                    "--shutdown_timeout", "120", "scripts/05_train.py", *odd]
    assert not (tmp_path / "requeued").exists()
    run_dir.mkdir()
    (run_dir / "STOPPED").write_text("stopped\n")          # the training saved and stopped: requeue
    subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60, check=True)
    assert (tmp_path / "requeued").exists()


@pytest.mark.slow
def test_a_one_node_job_runs_make_with_the_variables_of_the_command_line(slurm, tmp_path):
    """make slurm-preflight / slurm-eval: one Make in the job, not the login Make's flags."""
    r = subprocess.run([sys.executable, SUBMIT, "--name", "lima-make", "--log-dir", str(tmp_path), "--wait",
                        "--make", "variables", "SEED=7", "JUDGE_MODEL=it's a model"],
                       cwd=ROOT, env={**slurm.env, "MAKEFLAGS": "-j99 --jobserver-auth=3,4"},
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    log = (tmp_path / f"lima-make-{job_id(r.stdout)}.out").read_text()
    assert "SEED = 7" in log.splitlines() and "JUDGE_MODEL = it's a model" in log.splitlines(), log
    assert "jobserver" not in log
