"""Conversations for fine-tuning, read from our JSONL or a GAIR/lima file, rendered to ids and labels."""
from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

from lima.batching import n_targets
from lima.chat import render_conversation
from lima.cli import StageError
from lima.io import read_jsonl

log = logging.getLogger("lima.train")


def read_conversations(path: Path, counts: Counter) -> list[list[str]]:
    """Each row's `conversations`; a conversation that ends on a user turn loses that turn (one
    released multi_turn row does, PAPER.md §15), counted."""
    if not path.is_file():
        raise StageError(path, "no such file")
    out = []
    try:
        rows = list(read_jsonl(path))
    except ValueError as e:
        raise StageError(path, str(e)) from e
    for n, row in enumerate(rows, 1):
        conv = row.get("conversations") if isinstance(row, dict) else None
        if not isinstance(conv, list) or not all(isinstance(t, str) and t.strip() for t in conv):
            raise StageError(path, f"row {n}: `conversations` must be a list of non-empty strings")
        if len(conv) % 2 == 1:
            conv = conv[:-1]
            counts["dropped_trailing_user_turn"] += 1
        if len(conv) < 2:
            raise StageError(path, f"row {n}: a training row needs at least one user/assistant exchange")
        out.append(conv)
    return out


def render_all(tokenizer, conversations, max_len: int, counts: Counter, name: str):
    """(ids, labels, n_targets) per example; an example whose every target was cut off by the length
    limit is dropped and counted, never trained as a silent zero loss."""
    examples = []
    for conv in conversations:
        r = render_conversation(tokenizer, conv, max_len)
        counts[f"{name}_trimmed"] += r.trimmed
        t = n_targets(r.labels)
        if t == 0:
            counts[f"{name}_dropped_no_target_left"] += 1
            continue
        examples.append((r.input_ids, r.labels, t))
    return examples
