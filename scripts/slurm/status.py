"""Where a training run stands, from its own files: epoch and step, last losses, tokens/s, ETA, its Slurm
job and whether a job still holds the run lock (lima/train/status.py). Any run, under Slurm or not.

    python scripts/slurm/status.py --out checkpoints/paper --results results/paper     # make status RUN=paper
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # scripts/, for `lima`

from lima.cli import run_main  # noqa: E402
from lima.train.status import status_lines  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True, help="the run folder (checkpoints/<run>)")
    p.add_argument("--results", type=Path, required=True, help="its results folder (results/<run>)")
    args = p.parse_args(argv)
    print("\n".join(status_lines(args.out, args.results)))
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
