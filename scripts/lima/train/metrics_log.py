"""Rank 0's metrics as they are logged: each row appended to train_metrics.jsonl and, with `--tensorboard`
(make TENSORBOARD=yes), written as TensorBoard scalars under results/<run>/tensorboard/ as well.

The tensorboard package is optional (requirements-tensorboard.txt): imported only when asked, and its
absence is one line before any weight is read. A resumed run writes with `purge_step` at its first step, so
TensorBoard drops the events the stopped run logged past its saved state, as train_metrics.jsonl does.
"""
from __future__ import annotations

from pathlib import Path

from lima.errors import StageError
from lima.io import append_jsonl

STEP_SCALARS = ("loss", "lr", "grad_norm", "tokens_per_s", "real_token_ratio", "peak_mem_mb", "mfu")
EPOCH_SCALARS = ("dev_loss", "dev_ppl", "ppl_set_loss", "ppl_set_ppl")


def check_available() -> None:
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        raise StageError("--tensorboard", "needs the tensorboard package: "
                                          ".venv/bin/pip install --no-deps -r requirements-tensorboard.txt") from None


class Board:
    """Scalars of step rows at their step, of epoch rows at the step that ends the epoch."""

    def __init__(self, log_dir: Path, start_step: int, steps_per_epoch: int):
        check_available()
        from torch.utils.tensorboard import SummaryWriter
        self.writer = SummaryWriter(str(log_dir), purge_step=start_step or None)
        self.steps_per_epoch = steps_per_epoch

    def log(self, row: dict) -> None:
        if row["kind"] == "step":
            names, step, group = STEP_SCALARS, row["step"], "train"
        else:
            names, step, group = EPOCH_SCALARS, row["epoch"] * self.steps_per_epoch, "eval"
        for name in names:
            if name in row:
                self.writer.add_scalar(f"{group}/{name}", row[name], step)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


class MetricsLog:
    """Call it with a row: appended to `path`, and to the TensorBoard board when there is one."""

    def __init__(self, path: Path, board: Board | None = None):
        self.path, self.board = path, board

    def __call__(self, row: dict) -> None:
        append_jsonl(self.path, row)
        if self.board:
            self.board.log(row)

    def close(self) -> None:
        if self.board:
            self.board.close()
