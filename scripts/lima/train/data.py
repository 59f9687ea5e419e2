"""Conversations for fine-tuning, read from our JSONL, a GAIR/lima file or an Alpaca file (converted on
reading, lima/dataset/alpaca.py), rendered to ids and labels."""
from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

from lima.train.batching import n_targets
from lima.train.recipes import render_row
from lima.errors import StageError
from lima.dataset.alpaca import convert_alpaca, detect_format, load_records
from lima.dataset.contract import ContractError, normalize_row

log = logging.getLogger("lima.train")


def read_conversations(path: Path, counts: Counter) -> list[dict]:
    """Contract rows (ids filled for GAIR/lima rows); a conversation that ends on a user turn loses
    that turn (one released multi_turn row does, docs/paper.md#measured-in-the-release), counted. Any other broken row stops
    training with the row named: a fine-tuning set is too small to lose rows silently. An Alpaca file
    (§4.1's Alpaca-65B baseline) is converted instead, its bad rows skipped and counted."""
    raw = load_records(path)
    if not raw:
        raise StageError(path, "is empty: no conversation to train or evaluate on")
    if detect_format(raw, path) == "alpaca":
        before = Counter(counts)
        rows = convert_alpaca(raw, counts)
        found = dict(sorted((counts - before).items()))
        if not rows:
            raise StageError(path, f"Alpaca format, but no usable row ({found})")
        log.info("%s: Alpaca format, %s", path, found)
        return rows
    rows, first_row = [], {}
    for n, item in enumerate(raw, 1):
        try:
            row = normalize_row(item, default_source="unknown")
        except ContractError as e:
            raise StageError(path, f"row {n}: {e}") from None
        if _repeated(path, n, row, first_row, counts):
            continue
        if len(row["conversations"]) % 2 == 1:
            row["conversations"] = row["conversations"][:-1]
            counts["dropped_trailing_user_turn"] += 1
        if len(row["conversations"]) < 2:
            raise StageError(path, f"row {n}: a training row needs at least one user/assistant exchange")
        rows.append(row)
    return rows


def _repeated(path: Path, n: int, row: dict, first_row: dict, counts: Counter) -> bool:
    """True for a row that repeats an earlier one whole (dropped: it would be trained twice); a row that
    only shares an earlier row's id (GAIR/lima ids come from the first prompt) is kept. Both counted
    and said, as stage 06 counts a repeated id."""
    earlier = first_row.setdefault(row["id"], (n, row))
    if earlier[0] == n:
        return False
    same = earlier[1]["conversations"] == row["conversations"]
    counts["duplicate_row_dropped" if same else "duplicate_id_kept"] += 1
    log.warning("%s: row %d has the id %r of row %d%s", path, n, row["id"], earlier[0],
                ", and the same conversation: dropped, not trained twice" if same else
                " but another conversation: kept (ids should be unique)")
    return same


def render_all(tokenizer, rows: list[dict], max_len: int, counts: Counter, name: str, recipe: str = "lima"):
    """(ids, labels, n_targets) per example in the recipe's format; an example whose every target was
    cut off by the length limit is dropped and counted, never trained as a silent zero loss."""
    examples = []
    for row in rows:
        r = render_row(tokenizer, row, max_len, recipe)
        if recipe == "alpaca" and len(row["conversations"]) > 2:
            counts[f"{name}_first_exchange_only"] += 1
        counts[f"{name}_trimmed"] += r.trimmed
        t = n_targets(r.labels)
        if t == 0:
            counts[f"{name}_dropped_no_target_left"] += 1
            continue
        examples.append((r.input_ids, r.labels, t))
    return examples
