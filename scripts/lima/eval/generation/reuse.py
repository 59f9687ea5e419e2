"""Reusing a generation file when nothing it depends on changed.

Generating is the expensive part of an evaluation: a rerun (say, after the judge's budget ran out)
must not decode again. Each generation file's stats record a key over the checkpoint's files (names,
sizes, modification times), the prompts and the decoding; the file is reused while the key matches.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

from lima.funnel import Funnel, stats_path, write_stats
from lima.io import read_jsonl, write_jsonl

log = logging.getLogger("lima.eval")


def reuse_key(checkpoint: Path | None, parts, *, prefix: bytes = b"") -> str:
    """sha256 over `prefix` (e.g. the prompt file's bytes), the checkpoint's file list and the JSON
    of `parts`, cut to 16 hex digits."""
    h = hashlib.sha256(prefix)
    if checkpoint:
        for name in sorted(os.listdir(checkpoint)):
            st = (Path(checkpoint) / name).stat()
            h.update(f"{name}:{st.st_size}:{st.st_mtime_ns}".encode())
    h.update(json.dumps(parts, sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


def is_current(path: Path, key: str) -> bool:
    stats = stats_path(path)
    return path.exists() and stats.exists() and json.loads(stats.read_text()).get("reuse_key") == key


def reuse(path: Path, key: str) -> list[dict] | None:
    """The rows of `path` when its stats carry `key`, else None (generate again)."""
    if not is_current(path, key):
        return None
    log.info("reusing %s (same checkpoint, prompts and decoding)", path)
    return list(read_jsonl(path))


def write_generations(path: Path, rows: list[dict], funnel: Funnel, key: str, **stats) -> None:
    """The rows and their stats, the key among them (`stats`: write_stats's args, inputs, seed)."""
    funnel.notes["reuse_key"] = key
    write_jsonl(path, rows)
    write_stats(path, funnel, **stats)
