"""Atomic output and tolerant input for the JSON/JSONL files that stages exchange.

Every stage output goes through `atomic_write`, so an interrupted `make` never leaves a file that
looks finished: the data lands in a temp file in the same folder and is renamed over the target
only after it was fully written and flushed. JSONL goes through `jsonlines`, whose errors name the
line; the encoder and decoder are the standard library's, so the bytes do not depend on whether
orjson happens to be installed.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator

import jsonlines

from lima.errors import StageError


def _tmp_prefix(path: Path) -> str:
    return f".{path.name}."


def remove_stale_temporaries(path: str | os.PathLike) -> int:
    """Delete the `.<name>.*.tmp` siblings an earlier writer of `path` left behind when it was
    killed (SIGKILL skips every cleanup); returns how many went. Only `path`'s own temporaries are
    touched, so two stages writing side by side never remove each other's."""
    path = Path(path)
    # mkstemp's random part is 8 characters of [a-z0-9_]: `x.jsonl.bak`'s temporaries do not match `x.jsonl`.
    own = re.compile(re.escape(_tmp_prefix(path)) + r"[a-z0-9_]{8}\.tmp")
    n = 0
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        for entry in os.scandir(path.parent):
            if own.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    n += 1
    return n


def check_writable(*paths: str | os.PathLike) -> None:
    """Raise the one-line StageError when a path cannot be written: a parent that is a file, a
    folder without write permission, a folder where the file should be. `atomic_write` calls it,
    so every stage gets the same message; a stage calls it on its outputs first, so it fails before
    it has spent any time. Nothing is created."""
    for path in paths:
        _check_writable(Path(path))


def _check_writable(path: Path) -> None:
    try:
        if path.is_dir():
            raise StageError(path, "is a folder, not a file that can be written")
        for p in (path.parent, *path.parent.parents):     # the nearest folder that exists decides
            if p.exists():
                if not p.is_dir():
                    raise StageError(path, f"cannot write: {p} is a file, not a folder")
                if not os.access(p, os.W_OK | os.X_OK):
                    raise StageError(path, f"cannot write: no permission to write in {p}")
                return
    except OSError as e:
        raise StageError(path, f"cannot write: {e.strerror or e}") from None


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8"):
    """Yield a file object whose content replaces `path` only if the block exits cleanly."""
    path = Path(path)
    check_writable(path)
    remove_stale_temporaries(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=_tmp_prefix(path), suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise StageError(path, f"cannot write: {e.strerror or e}") from None
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
    """One JSONL line: UTF-8 kept as is, stable for the same input."""
    return json.dumps(row, ensure_ascii=False, separators=(", ", ": "))


def write_jsonl(path: str | os.PathLike, rows: Iterable[Any]) -> int:
    """Write rows atomically; returns how many were written."""
    n = 0
    with atomic_write(path) as f, jsonlines.Writer(f, dumps=dumps_line) as w:
        for row in rows:
            w.write(row)
            n += 1
    return n


def write_json(path: str | os.PathLike, obj: Any) -> None:
    with atomic_write(path) as f:
        json.dump(obj, f, ensure_ascii=False, indent=2)
        f.write("\n")


class _Lines:
    """The lines of a text file, remembering the last one read (a torn tail has no newline)."""

    def __init__(self, f):
        self.f, self.last = f, ""

    def __iter__(self):
        for line in self.f:
            self.last = line
            yield line


def read_jsonl(path: str | os.PathLike, tolerate_torn_tail: bool = False) -> Iterator[Any]:
    """Yield the rows of a JSONL file; a bad line raises `jsonlines.InvalidLineError` (a
    ValueError whose message and `.lineno` give the line number). Blank lines are skipped.

    Append-only files (caches, metric logs) may end in a line cut by a kill; with
    `tolerate_torn_tail` such a last line (one without its newline) is ignored instead of raising.
    """
    with open(path, encoding="utf-8") as f:
        lines = _Lines(f)
        reader = jsonlines.Reader(lines, loads=json.loads)
        try:
            yield from reader.iter(allow_none=True, skip_empty=True)
        except jsonlines.InvalidLineError:
            if tolerate_torn_tail and not lines.last.endswith("\n"):
                return
            raise


def append_jsonl(path: str | os.PathLike, row: Any) -> None:
    """Append one whole line (caches and logs are exempt from atomic replacement)."""
    with open(path, "a", encoding="utf-8", newline="\n") as f, jsonlines.Writer(f, dumps=dumps_line) as w:
        w.write(row)


def load_jsonl(path: str | os.PathLike) -> list:
    """Every row of a JSONL input, or the one-line error a user sees: no such file, or not JSONL."""
    path = Path(path)
    if not path.is_file():
        raise StageError(path, "no such file")
    try:
        return list(read_jsonl(path))
    except (ValueError, UnicodeDecodeError) as e:
        raise StageError(path, f"not a JSONL file: {e}") from None
