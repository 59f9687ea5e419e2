"""The label store: one append-only JSONL file per study (`labels.jsonl`), shared by every browser,
the CSV import and the summary.

Each label is written at once: under an exclusive `flock` on the file (threads and processes alike),
one whole line is appended, flushed and fsynced before the browser hears back, so a label the page
showed as saved survives a crash or Ctrl-C. A line cut by a killed writer is repaired on the next
append (a newline first, so the new label is never glued to the fragment) and counted as a skip on
reading, never fatal.

Rule for the same item labelled twice: every label is kept in the file. For one annotator and one
item the last line in the file counts (the later write wins; the lock orders writes, so two browsers
labelling at once both land whole and the second decides). Labels of different annotators are all
counted: that is what agreement is measured on.
"""
from __future__ import annotations

import fcntl
import json
import os
import threading
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from lima.io import dumps_line


class LabelStore:
    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._cache: tuple | None = None
        self._mutex = threading.Lock()
        self._writing = threading.Lock()      # held by a write in progress; close() takes it for good

    def append(self, row: dict) -> dict:
        """Write one label (`at` = UTC time added when missing); returns the row as written."""
        row = {**row, "at": row.get("at") or datetime.now(timezone.utc).isoformat(timespec="milliseconds")}
        line = (dumps_line(row) + "\n").encode("utf-8")
        with self._writing:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    line = b"\n" + line        # a torn tail: keep it on a line of its own
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)                   # closing releases the lock
        return row

    def close(self) -> None:
        """Wait for a write in progress and refuse later ones (they block), so a process stopping
        right after this leaves no half-written line."""
        self._writing.acquire()

    def read(self, counts: Counter | None = None) -> list[dict]:
        """Every readable row in file order; unreadable lines are counted in `counts` (`torn_last_line`
        for a tail without its newline, `bad_line` elsewhere), never raised."""
        counts = Counter() if counts is None else counts
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        rows = []
        lines = data.split(b"\n")
        for i, raw in enumerate(lines):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                counts["torn_last_line" if i == len(lines) - 1 else "bad_line"] += 1
                continue
            if not isinstance(row, dict):
                counts["bad_line"] += 1
                continue
            rows.append(row)
        return rows

    def rows(self) -> tuple[list[dict], Counter]:
        """`read()` cached on the file's size and modification time: the page asks on every request,
        and another process (a CSV import) may have appended meanwhile."""
        try:
            st = self.path.stat()
            key = (st.st_size, st.st_mtime_ns)
        except FileNotFoundError:
            key = None
        with self._mutex:
            if self._cache is None or self._cache[0] != key:
                counts = Counter()
                self._cache = (key, self.read(counts), counts)
            return self._cache[1], self._cache[2]


def latest(rows: list[dict]) -> dict[tuple[str, str], dict]:
    """(annotator, item_id) -> the row that counts: the last one in the file."""
    out = {}
    for r in rows:
        if isinstance(r.get("annotator"), str) and isinstance(r.get("item_id"), str):
            out[(r["annotator"], r["item_id"])] = r
    return out
