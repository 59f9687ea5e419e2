"""The judge's answer cache: one JSONL line per answered call, keyed by a hash of judge model,
template, inputs and decoding settings, so a rerun makes no call for what it already knows.

The file is append-only: a line cut by a kill is skipped on reading (lima.io), and the next append
starts a new line. A row whose answer holds no readable verdict is kept for the record (flagged
`"unreadable": true`) but is no hit: the client asks again, so an overload page or a refusal the
server sent once is never replayed as the judge's final word.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from lima.errors import StageError
from lima.io import append_jsonl, read_jsonl


def cache_key(model: str, template: str, inputs: dict, params: dict) -> str:
    blob = json.dumps({"model": model, "template": template, "inputs": inputs, "params": params},
                      sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class JudgeCache:
    """key -> the last row written for it (a later answer replaces an unreadable earlier one)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.rows: dict[str, dict] = {}
        if self.path.exists():
            for n, row in enumerate(read_jsonl(self.path, tolerate_torn_tail=True), 1):
                if not (isinstance(row, dict) and isinstance(row.get("key"), str)
                        and isinstance(row.get("answer"), str)):
                    raise StageError(self.path, f"entry {n} is not a judge answer (a 'key' and an 'answer' "
                                                "are needed): not a judge cache")
                self.rows[row["key"]] = row

    def get(self, key: str) -> dict | None:
        return self.rows.get(key)

    def add(self, row: dict) -> None:
        """Keep `row` and append it to the file (the caller holds the client's lock)."""
        self.rows[row["key"]] = row
        self.path.parent.mkdir(parents=True, exist_ok=True)
        append_jsonl(self.path, row)
