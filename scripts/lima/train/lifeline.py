"""Workers die with their launcher, and one training at a time writes a run folder.

torchrun starts each worker in a session of its own, so a SIGKILL to torchrun or to make's process
group (an OOM kill, a CI timeout) does not reach the workers: they would train on, write `TRAINED`
after make failed, and race a rerun over the same `state/` and metrics. Each worker therefore asks
the kernel for SIGKILL when its parent dies (Linux `PR_SET_PDEATHSIG`) and, on any system, watches its
parent id from a thread. The run folder lock is an `flock` the kernel drops when its holder dies.
SIGTERM (Slurm before a time limit or a preemption) does not kill a worker: it asks for a stop at the
next step, where the training saves its state (`stop_requested`).

Standard library only, and imported before torch: the parent id is read at import, a few
milliseconds after the worker started, so a launcher that dies while torch loads is still noticed.
"""
from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path

from lima.errors import StageError

PARENT_AT_START = os.getppid()
PR_SET_PDEATHSIG = 1
WATCH_SECONDS = 0.5
LOCK_NAME = ".train.lock"
_stop_signal: list[str] = []


@contextlib.contextmanager
def catch_stop_signal():
    """Within the block SIGTERM only records that a stop was asked for; the training loop polls it. The
    previous handler comes back after (a process that trains in-process, a test, forks pools later)."""
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: _stop_signal.append(signal.Signals(signum).name))
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        _stop_signal.clear()


def stop_requested() -> bool:
    return bool(_stop_signal)


def tie_to_launcher(parent: int = PARENT_AT_START) -> None:
    """Make this process die with `parent` (the launcher that started it): the kernel's parent-death
    signal where there is one, a watching thread everywhere. If the launcher is already gone, die now."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    # The signal only covers a parent that dies from now on; an orphan was re-parented already.
    if os.getppid() != parent or parent == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    threading.Thread(target=_watch, args=(parent,), name="launcher-watch", daemon=True).start()


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(WATCH_SECONDS)
    os.kill(os.getpid(), signal.SIGKILL)


def _holder(lock_file: Path) -> str:
    with contextlib.suppress(OSError):
        text = lock_file.read_text().strip()
        if text:
            return text
    return "an unknown process"


@contextlib.contextmanager
def run_lock(run_dir: Path):
    """Hold `run_dir/.train.lock` for the block; if another process holds it, a StageError naming
    the holder (Slurm job id, pid, host, start time). The file stays behind: its content is only informative."""
    run_dir.mkdir(parents=True, exist_ok=True)
    lock_file = run_dir / LOCK_NAME
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StageError(run_dir, f"another training is writing this run: {_holder(lock_file)}; "
                                      f"wait for it or stop it (lock file {lock_file})") from None
        os.ftruncate(fd, 0)
        job = f"Slurm job {os.environ['SLURM_JOB_ID']}, " if os.environ.get("SLURM_JOB_ID") else ""
        os.pwrite(fd, f"{job}pid {os.getpid()} on host {socket.gethostname()}, started "
                      f"{time.strftime('%Y-%m-%d %H:%M:%S %z')}\n".encode(), 0)
        yield lock_file
    finally:
        os.close(fd)
