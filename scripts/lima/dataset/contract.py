"""The data contract (docs/design.md#data-contract), checked in one place: stage 04 calls it when it reads and writes
the dataset, stage 05 when it reads it back.

A row is `{"id", "source", "conversations", "meta"}`; `conversations` alternates user, assistant,
user, ... starting with the user. A GAIR/lima row has no `id` and no `meta`: it gets
`<source>/<first 12 hex of sha1(first prompt)>` and `{}`. Chat-format rows (`[{"role", "content"}]`,
as in habanoz/lima-chat-format) are accepted when their roles alternate, and become plain strings.
"""
from __future__ import annotations

import hashlib
import logging
from collections import Counter
from pathlib import Path
from typing import Iterable

from lima.errors import StageError
from lima.io import load_jsonl

ROLES = ("user", "assistant")
log = logging.getLogger("lima.dataset.contract")


class ContractError(ValueError):
    """A row that breaks the data contract; the message says which rule."""


def release_id(source: str, first_prompt: str) -> str:
    """The id a row without one gets (docs/design.md#data-contract): stable across runs and machines."""
    return f"{source}/{hashlib.sha1(first_prompt.encode('utf-8')).hexdigest()[:12]}"


def conversation_of(row: dict) -> list[str]:
    """The turns of a row as strings, or ContractError: not a list, an empty or non-string turn,
    or (chat format) roles that do not alternate user/assistant starting with the user."""
    conv = row.get("conversations")
    if conv is None and "messages" in row:
        conv = row["messages"]
    if not isinstance(conv, list) or not conv:
        raise ContractError("`conversations` must be a non-empty list")
    turns = []
    for i, turn in enumerate(conv):
        if isinstance(turn, dict):
            role = turn.get("role", turn.get("from"))
            text = turn.get("content", turn.get("value"))
            role = {"human": "user", "gpt": "assistant"}.get(role, role)
            if role != ROLES[i % 2]:
                raise ContractError(f"turn {i + 1} has role {role!r}, expected {ROLES[i % 2]!r} "
                                    "(roles alternate user/assistant, starting with the user)")
            turn = text
        if not isinstance(turn, str):
            raise ContractError(f"turn {i + 1} is not a string")
        if not turn.strip():
            raise ContractError(f"turn {i + 1} is empty")
        turns.append(turn)
    return turns


def normalize_row(row, default_source: str | None = None) -> dict:
    """A contract row from one of ours or a GAIR/lima row: conversations checked, id and meta filled."""
    if not isinstance(row, dict):
        raise ContractError("row is not a JSON object")
    turns = conversation_of(row)
    source = row.get("source") or default_source
    if not isinstance(source, str) or not source:
        raise ContractError("row has no `source`")
    rid = row.get("id")
    if rid is None or rid == "":
        rid = release_id(source, turns[0])
    if not isinstance(rid, str):
        raise ContractError("`id` must be a string")
    meta = row.get("meta") or {}
    if not isinstance(meta, dict):
        raise ContractError("`meta` must be an object")
    return {"id": rid, "source": source, "conversations": turns, "meta": meta}


def check_row(row: dict, *, training: bool) -> None:
    """The rules a row must meet in a written split. Training rows (train, dev, train_dialogue)
    hold at least one exchange and end on the assistant; prompt rows (test) need the prompt."""
    turns = conversation_of(row)
    if not isinstance(row.get("id"), str) or not row["id"]:
        raise ContractError("row has no `id`")
    if training:
        if len(turns) < 2:
            raise ContractError("a training row needs at least one user/assistant exchange")
        if len(turns) % 2:
            raise ContractError("a training row must end on an assistant turn")


def check_rows(rows: Iterable[dict], *, training: bool, name: str) -> None:
    """Every row valid and ids unique; the first problem is a StageError naming the row."""
    seen = set()
    for n, row in enumerate(rows, 1):
        try:
            check_row(row, training=training)
        except ContractError as e:
            raise StageError(name, f"row {n} ({row.get('id')}): {e}") from None
        if row["id"] in seen:
            raise StageError(name, f"row {n}: duplicate id {row['id']!r} (ids are unique in a file)")
        seen.add(row["id"])


def read_contract_rows(path: Path, counts: Counter, *, default_source: str | None = None,
                       trim_trailing_user: bool = False) -> list[dict]:
    """The valid rows of a JSONL file; a bad row is skipped and counted under `<file>:<reason>`,
    an unreadable file is a StageError. `trim_trailing_user` drops a last user turn (one released
    multi_turn row ends on one, docs/paper.md#measured-in-the-release), counted."""
    path = Path(path)
    raw = load_jsonl(path)
    rows, seen = [], set()
    for item in raw:
        try:
            row = normalize_row(item, default_source)
        except ContractError as e:
            counts[f"{path.name}:bad_row"] += 1
            log.warning("%s: row skipped: %s", path, e)
            continue
        if trim_trailing_user and len(row["conversations"]) > 1 and len(row["conversations"]) % 2:
            row["conversations"] = row["conversations"][:-1]
            counts[f"{path.name}:trailing_user_turn_trimmed"] += 1
        if row["id"] in seen:
            counts[f"{path.name}:duplicate_id"] += 1
            continue
        seen.add(row["id"])
        rows.append(row)
    return rows
