"""Write a Slurm batch script for stage 05 (or a one-node Make goal), print it, submit it, print the job id.

`make slurm-train` (and slurm-preflight, slurm-eval) call this on the login node; the job itself runs no Make
for training (lima/slurm.py says why). For training, `05_train.py --check` runs first, here: a memory plan
that does not fit, a bad input or a run folder a running job holds stops the submission with one line.

    python scripts/slurm/submit.py --name lima-train-paper --nnodes 4 --nproc 8 --gpus-per-node 8 \
        --partition gpu --time 12:00:00 --run-dir checkpoints/paper --log-dir results/paper/slurm \
        -- scripts/05_train.py --model /models/llama-65b --train ... --out checkpoints/paper
    python scripts/slurm/submit.py --name lima-eval-paper --make eval PROFILE=paper --log-dir results/paper/slurm
"""
from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # scripts/, for `lima`

from lima.cli import run_main, setup_logging  # noqa: E402
from lima.errors import StageError  # noqa: E402
from lima.slurm import DONE_STATES, Job, follow, refuse_queued, render, submit  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--name", required=True, help="the job name; a queued job of this name refuses a second one")
    p.add_argument("--nnodes", type=int, default=1, help="nodes, one torchrun agent each")
    p.add_argument("--nproc", type=int, default=1, help="processes (GPUs) per node")
    p.add_argument("--gpus-per-node", type=int, default=0, help="GPUs to request per node (0 = request none)")
    p.add_argument("--partition", default="", help="Slurm partition (empty: the cluster's default)")
    p.add_argument("--time", default="", help="time limit, Slurm's format (e.g. 12:00:00; empty: the partition's)")
    p.add_argument("--grace", type=int, default=300, help="seconds between the SIGTERM and the time limit: "
                   "enough to save the training state")
    p.add_argument("--run-dir", type=Path, default=None, help="training: the run folder (--out), where STOPPED "
                   "says the training saved its state on SIGTERM and the job is to be requeued")
    p.add_argument("--log-dir", type=Path, required=True, help="the job's output file goes here (<name>-<jobid>.out)")
    p.add_argument("--sbatch-args", default="", help="further sbatch options, one shell-quoted string "
                   "(--account, --qos, --constraint ...); they win over the script's #SBATCH lines")
    p.add_argument("--make", nargs="+", default=None, metavar="GOAL",
                   help="one node, one task: run `make GOAL [VAR=value ...]` there instead of a training command")
    p.add_argument("--wait", action="store_true", help="follow the job's output until it is over (a requeue "
                   "is not the end); exit 0 only if it completed")
    p.add_argument("--dry-run", action="store_true", help="print the script, submit nothing")
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- SCRIPT ARGS: the training script and its arguments")
    args = p.parse_args(argv)
    args.command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if bool(args.command) == bool(args.make):
        p.error("give either -- SCRIPT ARGS (training under torchrun) or --make GOAL (one node)")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    setup_logging()
    job = Job(name=args.name, python=sys.executable, command=args.command, make_goal=args.make or [],
              nnodes=args.nnodes, nproc=args.nproc, gpus_per_node=args.gpus_per_node, partition=args.partition,
              time=args.time, grace=args.grace, log_dir=args.log_dir, run_dir=args.run_dir,
              sbatch_args=shlex.split(args.sbatch_args))
    if not args.dry_run:
        refuse_queued(job.name)
    if job.command:         # the plan, the inputs and the run lock, before anything is submitted
        check = subprocess.run([sys.executable, job.command[0], "--check", *job.command[1:]])
        if check.returncode != 0:
            return check.returncode
    script = render(job)
    print(script, end="")
    if args.dry_run:
        return 0
    job_id = submit(job, script)
    log = args.log_dir.resolve() / f"{args.name}-{job_id}.out"
    print(f"submitted job {job_id} ({args.name}); output: {log}", flush=True)
    if not args.wait:
        return 0
    state = follow(job_id, log)
    if state != "COMPLETED":
        raise StageError(f"job {job_id}", f"ended {state.lower() if state in DONE_STATES else 'unknown'}; see {log}")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
