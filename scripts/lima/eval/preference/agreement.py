"""Agreement between two sets of pairwise judgments (§4.1): two judges, or a judge and human
labels written in the same form.

Tie-discounted accuracy: 1 point when both chose the same, 0.5 when exactly one of them chose a
tie, 0 otherwise, averaged over the items both judged. A judgment file is JSONL with rows
`{"id", "sample_idx" (optional, default 0), "verdict"}`, the verdict being `win`, `tie` or `loss`
(our side's result; `A`/`B`/`tie` and `neither` are read too). Rows without a readable verdict are
counted and left out.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from lima import paper
from lima.errors import StageError
from lima.rng import make_rng
from lima.io import load_jsonl

# §4.1: on a shared set of 50 items.
PAPER_AGREEMENT = paper.AGREEMENT          # lima/paper.py
LABELS = {"win": "win", "loss": "loss", "tie": "tie", "a": "win", "b": "loss", "neither": "tie"}


def read_judgments(path: Path, field: str, counts: Counter) -> dict[tuple[str, int], str]:
    path = Path(path)
    rows = load_jsonl(path)
    out = {}
    for row in rows:
        if not isinstance(row, dict) or "id" not in row:
            counts[f"{path.name}:row_without_id"] += 1
            continue
        label = LABELS.get(str(row.get(field)).strip().lower())
        if label is None:
            counts[f"{path.name}:no_verdict"] += 1
            continue
        out[(str(row["id"]), int(row.get("sample_idx") or 0))] = label
    if not out:
        raise StageError(path, f"no row with a readable `{field}` (win, tie or loss)")
    return out


def item_score(a: str, b: str) -> float:
    if a == b:
        return 1.0
    if "tie" in (a, b):
        return 0.5
    return 0.0


def pool(results: list[dict]) -> dict:
    """Several tie_discounted_accuracy results as one score over all their items (each item weighs the
    same, so an annotator pair with more shared items counts more), e.g. every pair of annotators."""
    full, half, zero = (sum(r[k] for r in results) for k in ("full", "half", "zero"))
    n = full + half + zero
    return {"n_items": n, "agreement": round((full + 0.5 * half) / n, 4) if n else None,
            "full": full, "half": half, "zero": zero}


def tie_discounted_accuracy(a: dict, b: dict, *, items: int = 0, seed: int = 0) -> dict:
    """Score over the shared keys; `items` > 0 draws that many of them at random (the paper: 50)."""
    shared = sorted(set(a) & set(b))
    if items and items < len(shared):
        shared = sorted(make_rng(seed, "agreement").sample(shared, items))
    scores = [item_score(a[k], b[k]) for k in shared]
    return {
        "n_items": len(shared),
        "agreement": round(sum(scores) / len(scores), 4) if scores else None,
        "full": scores.count(1.0), "half": scores.count(0.5), "zero": scores.count(0.0),
        "only_in_a": len(set(a) - set(b)), "only_in_b": len(set(b) - set(a)),
    }
