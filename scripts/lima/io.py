"""Atomic output and tolerant input for the JSON/JSONL files that stages exchange.

Every stage output goes through `atomic_write`, so an interrupted `make` never leaves a file that
looks finished: the data lands in a temp file in the same folder and is renamed over the target
only after it was fully written and flushed. JSONL goes through `jsonlines`, whose errors name the
line; the encoder and decoder are the standard library's, so the bytes do not depend on whether
orjson happens to be installed.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator

import jsonlines

from lima.errors import StageError, disk_full, disk_full_message

log = logging.getLogger("lima.io")


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
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if disk_full(e):
            raise StageError(path, f"cannot write: {disk_full_message(e)}") from None
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


def read_jsonl(path: str | os.PathLike, tolerate_torn_tail: bool = False) -> Iterator[Any]:
    """Yield the rows of a JSONL file; a bad line raises `jsonlines.InvalidLineError` (a
    ValueError whose message and `.lineno` give the line number). Blank lines are skipped.

    Append-only files (caches, metric logs) may hold lines cut by a kill: the last one, or an earlier
    one that a later append put on a line of its own (`append_jsonl` starts a new line after a torn
    tail). With `tolerate_torn_tail` such lines are skipped and logged with their numbers, never
    raised; a file where they outnumber the readable rows is no append-only JSONL file at all and
    stops the stage with one line.
    """
    if tolerate_torn_tail:
        yield from _read_append_only(Path(path))
        return
    with open(path, "rb") as f:     # bytes: jsonlines decodes each line, so bad UTF-8 is named by its line
        yield from jsonlines.Reader(f, loads=json.loads).iter(allow_none=True, skip_empty=True)


def _read_append_only(path: Path) -> Iterator[Any]:
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    bad, good = [], 0
    for n, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            if n < len(lines):              # the last piece (no newline after it) is a torn tail: silent
                bad.append(n)
            continue
        good += 1
        yield row
    if bad and len(bad) > good:
        raise StageError(path, f"not a JSONL file: {len(bad)} unreadable lines (line {bad[0]} first) "
                               f"and {good} readable")
    if bad:
        log.warning("%s: skipped %d line(s) cut by an interrupted write (line %s)", path, len(bad),
                    ", ".join(map(str, bad[:5])) + (", ..." if len(bad) > 5 else ""))


def append_jsonl(path: str | os.PathLike, row: Any) -> None:
    """Append one whole line in one write (caches and logs are exempt from atomic replacement). A file
    that does not end in a newline (a line torn by a kill) gets one first, so the new row is never
    glued to the fragment; the reader then skips the fragment alone."""
    line = (dumps_line(row) + "\n").encode("utf-8")
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)        # two writers (threads or processes) never interleave
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            line = b"\n" + line
        while line:
            line = line[os.write(fd, line):]
    except OSError as e:
        if disk_full(e):          # a part of the line may be written: the next append starts a new line
            raise StageError(path, f"cannot append: {disk_full_message(e)}") from None
        raise
    finally:
        os.close(fd)


def load_jsonl(path: str | os.PathLike) -> list:
    """Every row of a JSONL input, or the one-line error a user sees: no such file, or not JSONL."""
    path = Path(path)
    if not path.is_file():
        raise StageError(path, "no such file")
    try:
        return list(read_jsonl(path))
    except (ValueError, UnicodeDecodeError) as e:
        raise StageError(path, f"not a JSONL file: {e}") from None
