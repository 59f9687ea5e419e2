"""Slurm batch scripts for stage 05 (and the one-node stages), submitted and followed from the login node.

Make runs on the login node only: it builds the inputs, checks the plan and the run folder, then writes and
submits one script. The job runs no Make: `srun` starts one task per node and each task is a torchrun agent
(c10d rendezvous on the allocation's first node, a port free there) running `05_train.py` directly, so no
node races another over Make's targets or `.args` files; within the run only rank 0 writes the shared files.
A one-node job (preflight, generation, evaluation) runs `make <target>` there, one Make for the whole job.

Preemption: the job is `--requeue`able and gets SIGTERM `grace` seconds before its time limit
(`--signal=TERM@grace`, to the job steps). Stage 05 then saves its state, writes `STOPPED` in the run
folder and exits; the script asks Slurm to requeue the job, and the requeued job resumes from that state.
A job Slurm preempts or requeues itself gets the same SIGTERM and is requeued by Slurm.
(docs/design.md#make-slurm-and-torchrun)
"""
from __future__ import annotations

import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from lima.errors import StageError

# Job states after which a job runs no more (squeue/scontrol's long names).
DONE_STATES = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "BOOT_FAIL",
               "DEADLINE", "PREEMPTED", "SPECIAL_EXIT"}
# Requeued and pending again: not finished (`scontrol requeue`, a preemption, the job's own requeue).
ALIVE_STATES = {"PENDING", "RUNNING", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD", "CONFIGURING", "COMPLETING",
                "RESIZING", "SUSPENDED", "STOPPED", "SIGNALING", "STAGE_OUT", "RESV_DEL_HOLD"}

# Prints a TCP port free on this host (the batch script runs on the allocation's first node).
FREE_PORT = "import socket; s = socket.socket(); s.bind(('', 0)); print(s.getsockname()[1])"


@dataclass
class Job:
    """What to submit: `command` (a Python script and its arguments) on `nnodes` × `nproc` processes under
    torchrun, or, with `make_goal`, one `make` on one node."""
    name: str
    python: str
    command: list[str] = field(default_factory=list)
    make_goal: list[str] = field(default_factory=list)
    nnodes: int = 1
    nproc: int = 1
    gpus_per_node: int = 0
    partition: str = ""
    time: str = ""
    grace: int = 300
    log_dir: Path = Path("results/slurm")
    run_dir: Path | None = None
    workdir: Path = Path.cwd()
    sbatch_args: list[str] = field(default_factory=list)


def directives(job: Job) -> list[str]:
    lines = [f"--job-name={job.name}", f"--nodes={job.nnodes}", "--ntasks-per-node=1",
             f"--output={job.log_dir.resolve()}/%x-%j.out", "--open-mode=append"]
    if job.gpus_per_node:
        lines.append(f"--gpus-per-node={job.gpus_per_node}")
    if job.partition:
        lines.append(f"--partition={job.partition}")
    if job.time:
        lines.append(f"--time={job.time}")
    if job.command:         # training: resumable, so requeue it and warn it before the time limit
        lines += ["--requeue", f"--signal=TERM@{job.grace}"]
    return [f"#SBATCH {shlex.quote(d)}" for d in lines]


def render(job: Job) -> str:
    """The batch script. User values reach the shell only as single words quoted by shlex."""
    q = shlex.quote
    head = ["#!/bin/bash", f"# {job.name}: written and submitted by scripts/slurm/submit.py (docs/training.md#slurm)",
            *directives(job), "set -uo pipefail", f"cd {q(str(job.workdir.resolve()))}",
            'echo "job $SLURM_JOB_ID, restart ${SLURM_RESTART_COUNT:-0}, nodes $SLURM_JOB_NODELIST, $(date)"']
    if job.make_goal:
        # One Make, on one node; not the login Make's jobserver or flags (sbatch passes its environment on).
        return "\n".join(head + [f"srun --ntasks=1 env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make "
                                 f"{' '.join(map(q, job.make_goal))}", ""])
    stopped = q(str(job.run_dir / "STOPPED")) if job.run_dir else ""
    # Words with `$` are this module's own, expanded by the batch shell; every other word is quoted.
    torchrun = q(job.python) + " " + " ".join(f'"{w}"' if "$" in w else q(w) for w in [
        "--nnodes", "$SLURM_NTASKS", "--nproc_per_node", str(job.nproc), "--rdzv_backend", "c10d",
        "--rdzv_endpoint", "$head:$port", "--rdzv_id", "lima-$SLURM_JOB_ID", "--shutdown_timeout", str(job.grace)])
    body = [
        'head=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)',
        f"port=$({q(job.python)} -c {q(FREE_PORT)})",
        'echo "rendezvous on $head:$port"',
        "# One task per node, each a torchrun agent; the c10d rendezvous assigns the ranks (--node_rank: for the log).",
        "srun --kill-on-bad-exit=1 bash -c 'exec \"$0\" -m torch.distributed.run --node_rank \"$SLURM_PROCID\" \"$@\"' \\",
        f"    {torchrun} \\",
        "    " + " ".join(map(q, job.command)),
        "rc=$?",
    ]
    if stopped:
        body += ["# Stopped by SIGTERM (time limit near, preemption): the state is saved, so run again from it.",
                 f"if [ -e {stopped} ]; then scontrol requeue \"$SLURM_JOB_ID\"; fi"]
    return "\n".join(head + body + ["exit $rc", ""])


def queued(name: str) -> list[tuple[str, str]]:
    """(job id, state) of this user's queued or running jobs named `name`."""
    out = _slurm("squeue", "--me", "-h", "--name", name, "-o", "%i %T")
    return [tuple(line.split()[:2]) for line in out.splitlines() if line.strip()]


def refuse_queued(name: str) -> None:
    """A job of the same name still queued or running refuses a second one (the run lock sees only a
    running training, not a pending job)."""
    for job_id, state in queued(name):
        raise StageError(name, f"job {job_id} of this name is already {state.lower()}; wait for it or "
                               f"`scancel {job_id}`")


def submit(job: Job, script: str) -> str:
    """sbatch the script; the job id."""
    job.log_dir.mkdir(parents=True, exist_ok=True)
    out = _slurm("sbatch", "--parsable", *job.sbatch_args, input=script)
    return out.strip().split(";")[0]


def job_state(job_id: str) -> str:
    """The job's state, or "" once Slurm has forgotten it."""
    try:
        out = _slurm("scontrol", "show", "job", "-o", job_id)
    except StageError:
        return ""
    for word in out.split():
        if word.startswith("JobState="):
            return word.split("=", 1)[1]
    return ""


def follow(job_id: str, log: Path, poll: float = 2.0, stream=sys.stdout) -> str:
    """Print the job's log as it grows until the job is over (a requeue is not the end); its last state."""
    pos, state = 0, "PENDING"
    while True:
        state = job_state(job_id) or state
        if log.exists():
            with open(log, "rb") as f:
                f.seek(pos)
                chunk = f.read()
            pos += len(chunk)
            stream.write(chunk.decode(errors="replace"))
            stream.flush()
        if state in DONE_STATES or not job_state(job_id):
            return state
        time.sleep(poll)


def _slurm(*cmd: str, input: str | None = None) -> str:
    try:
        r = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        raise StageError(cmd[0], "not found: run this on a Slurm login node (or install slurm-wlm)") from None
    if r.returncode != 0:
        raise StageError(cmd[0], f"exited {r.returncode}: {r.stderr.strip() or r.stdout.strip()}")
    return r.stdout
