"""Atomic output and tolerant input for the JSON/JSONL files that stages exchange.

Every stage output goes through `atomic_write`, so an interrupted `make` never leaves a file that
looks finished: the data lands in a temp file in the same folder and is renamed over the target
only after it was fully written and flushed.
"""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator

from lima.errors import StageError


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8"):
    """Yield a file object whose content replaces `path` only if the block exits cleanly."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        kwargs = {"encoding": encoding, "newline": "\n"} if "b" not in mode else {}
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def dumps_line(row: Any) -> str:
    """One JSONL line: UTF-8 kept as is, no spaces to spare, stable for the same input."""
    return json.dumps(row, ensure_ascii=False, separators=(", ", ": "))


def write_jsonl(path: str | os.PathLike, rows: Iterable[Any]) -> int:
    """Write rows atomically; returns how many were written."""
    n = 0
    with atomic_write(path) as f:
        for row in rows:
            f.write(dumps_line(row))
            f.write("\n")
            n += 1
    return n


def write_json(path: str | os.PathLike, obj: Any) -> None:
    with atomic_write(path) as f:
        json.dump(obj, f, ensure_ascii=False, indent=2)
        f.write("\n")


def read_jsonl(path: str | os.PathLike, tolerate_torn_tail: bool = False) -> Iterator[Any]:
    """Yield the rows of a JSONL file.

    Append-only files (caches, metric logs) may end in a line cut by a kill; with
    `tolerate_torn_tail` such a last line is ignored instead of raising.
    """
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError as e:
            if tolerate_torn_tail and i == len(lines) - 1 and not line.endswith("\n"):
                return
            raise ValueError(f"line {i + 1} is not valid JSON ({e.msg})") from e


def append_jsonl(path: str | os.PathLike, row: Any) -> None:
    """Append one whole line (caches and logs are exempt from atomic replacement)."""
    with open(path, "a", encoding="utf-8", newline="\n") as f:
        f.write(dumps_line(row) + "\n")


def load_jsonl(path: str | os.PathLike) -> list:
    """Every row of a JSONL input, or the one-line error a user sees: no such file, or not JSONL."""
    path = Path(path)
    if not path.is_file():
        raise StageError(path, "no such file")
    try:
        return list(read_jsonl(path))
    except (ValueError, UnicodeDecodeError) as e:
        raise StageError(path, f"not a JSONL file: {e}") from None
