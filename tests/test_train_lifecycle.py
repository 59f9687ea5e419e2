"""Stage 05 around the training itself: workers die with their launcher, one training per run
folder, and a bad input is one line however the script is started. Real torchrun on CPU (gloo).

Run: .venv/bin/python -m pytest -q tests/test_train_lifecycle.py
"""
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, run_script, write_rows

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
SCRIPT = str(ROOT / "scripts" / "05_train.py")
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
# Long enough to be killed in the middle: 5 steps an epoch, hundreds of epochs, nothing exported.
LONG = ["--epochs", "400", "--batch-size", "8", "--lr", "1e-2", "--final-lr", "1e-3", "--max-len", "64",
        "--keep-epochs", "last"]


def train_args(toy, out, *extra):
    return ["--model", toy / "base", "--train", toy / "train.jsonl", "--dev", toy / "dev.jsonl",
            "--out", out, "--results", out.with_name(out.name + "_results"), *extra]


def torchrun_cmd(*args):
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", SCRIPT,
            *map(str, args)]


def children(pid):
    """Direct children of pid, from /proc (every thread's list)."""
    kids = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids.update(int(k) for k in (task / "children").read_text().split())
        except OSError:
            pass
    return kids


def alive(pid):
    """Running, not a zombie waiting for its reaper."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_for(cond, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def error_lines(stderr):
    return [line for line in stderr.splitlines() if line.startswith("error:")]


@pytest.fixture(scope="module")
def running(toy):
    """A 2-worker training well into its steps; stopped (SIGKILL) at the end if a test did not."""
    out = toy / "run_long"
    proc = subprocess.Popen(torchrun_cmd(*train_args(toy, out, *LONG)), env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    metrics = out.with_name(out.name + "_results") / "train_metrics.jsonl"
    wait_for(lambda: metrics.exists() and metrics.read_text().count('"step"') >= 3 or proc.poll() is not None,
             240, "the first training steps")
    assert proc.poll() is None, proc.communicate()[1][-3000:]
    workers = children(proc.pid)
    assert len(workers) == 2, workers
    yield out, proc, workers
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    for pid in workers:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
    proc.communicate()


@pytest.mark.slow
def test_a_second_training_on_a_held_run_folder_stops_with_one_line(toy, running):
    out, proc, workers = running
    check = subprocess.run([sys.executable, SCRIPT, "--check", *map(str, train_args(toy, out, *LONG))],
                           env=ENV, capture_output=True, text=True, timeout=120)
    assert check.returncode == 2
    assert len(check.stderr.strip().splitlines()) == 1, check.stderr
    assert "another training is writing this run" in check.stderr and "on host" in check.stderr
    named = [pid for pid in workers if f"pid {pid} " in check.stderr]      # the holder is rank 0
    assert len(named) == 1, (check.stderr, workers)

    second = subprocess.run(torchrun_cmd(*train_args(toy, out, *LONG)), env=ENV, capture_output=True, text=True,
                            timeout=240)
    assert second.returncode != 0
    assert len(error_lines(second.stderr)) == 1, second.stderr[-3000:]       # rank 0 only, not once per rank
    assert f"pid {named[0]} " in error_lines(second.stderr)[0]
    assert proc.poll() is None                                               # the first one trains on


@pytest.mark.slow
def test_killing_the_launcher_kills_the_workers_and_trained_is_never_written(toy, running):
    out, proc, workers = running
    os.kill(proc.pid, signal.SIGKILL)                # the launcher only, as an OOM killer would
    wait_for(lambda: not any(alive(pid) for pid in workers), 15, f"workers {workers} to die with their launcher")
    metrics = out.with_name(out.name + "_results") / "train_metrics.jsonl"
    size = metrics.stat().st_size
    time.sleep(2)
    assert metrics.stat().st_size == size and not (out / "TRAINED").exists()
    # the lock died with its holder: the folder is free again
    check = subprocess.run([sys.executable, SCRIPT, "--check", *map(str, train_args(toy, out, *LONG))],
                           env=ENV, capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stderr


def test_model_folder_without_config_json_is_one_line(toy, tmp_path, capsys):
    base = tmp_path / "base"
    shutil.copytree(toy / "base", base)
    (base / "config.json").unlink()
    args = ["--model", base, "--train", toy / "train.jsonl", "--dev", toy / "dev.jsonl", "--out", tmp_path / "run"]
    run_script("05_train.py", *args, expect_exit=2)
    err = capsys.readouterr().err
    assert err.strip() == f"error: {base / 'config.json'}: --model: no such file; a Hugging Face model folder " \
                          "(config.json, weights, tokenizer) is expected"
    check = subprocess.run([sys.executable, SCRIPT, "--check", *map(str, args)], env=ENV, capture_output=True,
                           text=True, timeout=120)
    assert check.returncode == 2 and check.stderr.strip() == err.strip()


@pytest.mark.slow
def test_a_bad_input_under_torchrun_is_said_once(toy, tmp_path):
    """An input only the workers can judge (every example cut off by --max-len): rank 0 says it,
    the other rank exits quietly; torchrun's own report of the failed workers follows."""
    bad = write_rows(tmp_path / "train_long.jsonl", [{"conversations": [f"word{i} " * 200, "answer"]} for i in range(3)])
    args = ["--model", toy / "base", "--train", bad, "--dev", toy / "dev.jsonl", "--out", tmp_path / "run",
            "--max-len", "32", "--batch-size", "2"]
    proc = subprocess.run(torchrun_cmd(*args), env=ENV, capture_output=True, text=True, timeout=240)
    assert proc.returncode != 0
    assert error_lines(proc.stderr) == [f"error: {bad}: every example was dropped (no target token within --max-len 32)"]
    check = subprocess.run([sys.executable, SCRIPT, "--check", *map(str, args)], env=ENV, capture_output=True,
                           text=True, timeout=120)
    assert check.returncode == 2 and check.stderr.strip() == error_lines(proc.stderr)[0]

