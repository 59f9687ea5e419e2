"""`make status RUN=...`: where a training stands, from the run's own files only (no Slurm query needed).

Reads `results/<run>/train_start.json` (written by rank 0 at each start: total steps, epochs, Slurm job),
`train_metrics.jsonl` (one row per step and per epoch), and in `checkpoints/<run>/` the run lock
(`.train.lock`: held or not, and by whom), `STOPPED` and `TRAINED`. Standard library only: quick on a
login node.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import statistics
import time
from pathlib import Path

from lima.errors import StageError
from lima.train.lifeline import LOCK_NAME

RECENT = 20         # steps the pace (tokens/s, ETA) is measured over


def lock_holder(run_dir: Path) -> tuple[bool, str]:
    """(held, the holder's text). Held when another process has the flock; trying it takes nothing."""
    lock = run_dir / LOCK_NAME
    if not lock.exists():
        return False, ""
    text = lock.read_text().strip()
    fd = os.open(lock, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False, text
    except BlockingIOError:
        return True, text
    finally:
        os.close(fd)


def read_rows(path: Path) -> list[dict]:
    rows = []
    if path.exists():
        for line in path.read_text().splitlines():
            with contextlib.suppress(json.JSONDecodeError):     # a row being written
                rows.append(json.loads(line))
    return rows


def clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def status_lines(run_dir: Path, results: Path, now: float | None = None) -> list[str]:
    """What `make status` prints, one fact a line."""
    start_file = results / "train_start.json"
    if not run_dir.exists() and not start_file.exists():
        raise StageError(run_dir, "no such run: nothing trained or training here (check RUN=)")
    start = json.loads(start_file.read_text()) if start_file.exists() else {}
    rows = read_rows(results / "train_metrics.jsonl")
    steps = [r for r in rows if r.get("kind") == "step"]
    epochs = [r for r in rows if r.get("kind") == "epoch"]
    held, holder = lock_holder(run_dir)
    lines = [f"run: {run_dir} (metrics in {results})"]
    if (run_dir / "TRAINED").exists():
        lines.append("state: trained (TRAINED written)")
    elif held:
        lines.append(f"state: training; the run lock is held by {holder}")
    elif (run_dir / "STOPPED").exists():
        lines.append(f"state: {(run_dir / 'STOPPED').read_text().strip()}; no job holds the run lock")
    else:
        lines.append("state: not running (no process holds the run lock)"
                     + (f"; last holder: {holder}" if holder else ""))
    if start.get("slurm_job_id"):
        lines.append(f"Slurm job: {start['slurm_job_id']} (restart {start.get('slurm_restart', 0)}), "
                     f"{start['world_size']} rank(s)")
    total = start.get("total_steps")
    if not steps:
        lines.append("no step logged yet")
        return lines
    last = steps[-1]
    done = last["step"] + 1
    of = f" of {start['epochs']}" if "epochs" in start else ""
    lines.append(f"epoch {last['epoch']}{of}, step {done}" + (f" of {total} ({100 * done / total:.0f}%)" if total else ""))
    tail = steps[-5:]
    lines.append(f"last losses (steps {tail[0]['step'] + 1}-{done}): " + " ".join(f"{r['loss']:.4f}" for r in tail))
    if epochs:
        e = epochs[-1]
        lines.append(f"last dev: epoch {e['epoch']}, loss {e['dev_loss']:.4f}, perplexity {e['dev_ppl']:.3f}")
    recent = steps[-RECENT:]
    lines.append(f"tokens/s: {statistics.mean(r['tokens_per_s'] for r in recent):.1f} "
                 f"(mean of the last {len(recent)} steps)")
    if "step_s" in last:
        timed = [r["step_s"] for r in recent if "step_s" in r]
        if total and done < total and not (run_dir / "TRAINED").exists():
            eta = (total - done) * statistics.mean(timed)
            lines.append(f"ETA: {clock(eta)} at the last {len(timed)} steps' pace (dev evaluations and exports "
                         f"not counted)")
        if "time" in last:
            lines.append(f"last step logged {clock((now or time.time()) - last['time'])} ago")
    return lines
