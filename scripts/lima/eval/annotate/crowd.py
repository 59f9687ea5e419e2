"""The study as CSV for a crowd platform, and the platform's answers read back into the label store.

Export: one file per item kind (`pairwise.csv`: item_id, digest, shared, prompt, answer_a, answer_b;
`absolute.csv`: item_id, digest, prompt, answer; `conversation.csv`: item_id, digest, conversation_a,
conversation_b, each a whole conversation as "User: ..." / "Assistant: ..." text), one row per item,
for a task template that shows the columns and asks for one field named `label`. The shared items are
marked so a requester can ask for more assignments of them.

Import: any CSV with an item id column (`item_id` or Amazon Mechanical Turk's `Input.item_id`), an
annotator column (`annotator` or `WorkerId`) and an answer column (`label` or `Answer.label`), in
any order and with any other columns. Answers may be the short form (A, B, neither; fail, pass,
excellent) or the option text ("Answer A is significantly better.", "Conversation A ..."). A row that cannot
count is skipped and counted: unknown item, stale item (its digest no longer matches), an answer
outside the item's choices, a bad worker name; a row equal to what that worker already has is
counted as already recorded, so importing a file twice adds nothing.
"""
from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

from lima.errors import StageError
from lima.eval.annotate.labels import LabelStore, latest
from lima.eval.annotate.study import LABELS, check_name
from lima.io import atomic_write

COLUMNS = {"pairwise": ("item_id", "digest", "shared", "prompt", "answer_a", "answer_b"),
           "absolute": ("item_id", "digest", "prompt", "answer"),
           "conversation": ("item_id", "digest", "conversation_a", "conversation_b")}
ALIASES = {"item_id": ("item_id", "input.item_id", "item"),
           "digest": ("digest", "input.digest"),
           "annotator": ("annotator", "workerid", "worker_id", "worker id", "worker"),
           "label": ("label", "answer.label", "answer", "choice")}
_ANSWER = {"a": "A", "answer a": "A", "conversation a": "A", "b": "B", "answer b": "B", "conversation b": "B",
           "neither": "neither", "tie": "neither",
           "fail": "fail", "pass": "pass", "excellent": "excellent"}


def export_csv(items: list[dict], out_dir: Path) -> dict[str, int]:
    """<out_dir>/<kind>.csv for each kind present; {kind: rows}."""
    written = {}
    for kind, cols in COLUMNS.items():
        rows = [it for it in items if it["kind"] == kind]
        if not rows:
            continue
        with atomic_write(Path(out_dir) / f"{kind}.csv", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\r\n")
            w.writerow(cols)
            for it in rows:
                w.writerow(_cells(it))
        written[kind] = len(rows)
    return written


def _cells(it: dict) -> list[str]:
    """One item's CSV row, in the order of COLUMNS[its kind]."""
    if it["kind"] == "pairwise":
        return [it["item_id"], it["digest"], "1" if it["shared"] else "0", it["prompt"], it["a"], it["b"]]
    if it["kind"] == "conversation":
        from lima.eval.conversations import conversation_text
        return [it["item_id"], it["digest"], *(conversation_text(it["user"], it[side]) for side in ("a", "b"))]
    return [it["item_id"], it["digest"], it["prompt"], it["response"]]


def normalise_answer(text: str) -> str | None:
    t = re.sub(r"\s+", " ", str(text or "")).strip().lower().rstrip(".")
    t = re.sub(r"^◼ ?", "", t)
    t = re.sub(r" is (significantly )?better$", "", t)
    return _ANSWER.get(t)


def _column(header: list[str], key: str) -> str | None:
    lower = {h.strip().lower(): h for h in header}
    return next((lower[a] for a in ALIASES[key] if a in lower), None)


def import_csv(path: Path, items: list[dict], store: LabelStore) -> Counter:
    """Append the answers of a platform's CSV to the store; the counts of what happened to each row."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames or []
            cols = {k: _column(header, k) for k in ALIASES}
            missing = [k for k in ("item_id", "annotator", "label") if cols[k] is None]
            if missing:
                raise StageError(path, f"no {' / '.join(missing)} column (found: {', '.join(header) or 'no header'}); "
                                       f"expected e.g. {', '.join(ALIASES[m][0] + ' or ' + ALIASES[m][1] for m in missing)}")
            rows = list(reader)
    except (UnicodeDecodeError, csv.Error) as e:
        raise StageError(path, f"not a readable CSV file: {e}") from None
    by_id = {it["item_id"]: it for it in items}
    have = latest(store.read())
    counts: Counter = Counter()
    for row in rows:
        item = by_id.get((row.get(cols["item_id"]) or "").strip())
        who = (row.get(cols["annotator"]) or "").strip()
        label = normalise_answer(row.get(cols["label"]))
        given_digest = (row.get(cols["digest"]) or "").strip() if cols["digest"] else ""
        if item is None:
            counts["unknown_item"] += 1
        elif check_name(who):
            counts["bad_annotator"] += 1
        elif given_digest and given_digest != item["digest"]:
            counts["stale_item"] += 1
        elif label not in LABELS[item["kind"]]:
            counts["bad_answer"] += 1
        elif (prev := have.get((who, item["item_id"]))) and prev.get("label") == label:
            counts["already_recorded"] += 1
        else:
            have[(who, item["item_id"])] = store.append({"item_id": item["item_id"], "digest": item["digest"],
                                                         "annotator": who, "label": label, "source": f"csv:{path.name}"})
            counts["imported"] += 1
    return counts
