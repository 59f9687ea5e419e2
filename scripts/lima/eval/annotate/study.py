"""What a human study labels and who labels what: items from our generations and the baselines'
responses, the shared items for agreement (§4.1: 50), the rest split among the annotators.

Pairwise items (§4.1, Appendix C) show one test prompt and two responses, ours and a baseline's,
matched by id; our side (A or B) is drawn per item from a seeded stream keyed by baseline and id, and
recorded, so the same inputs always give the same page. Absolute items (§4.3) show our response
alone, on prompts drawn at random from the whole test file. Only the first sample of each prompt is
used (§4.1: one response per prompt and model). Conversation items (§6, from `make dialogue`'s
eval/conversations.jsonl) show one scripted conversation as the dialogue model held it and as the
zero-shot model held it, the dialogue model's side drawn and recorded as for a pairwise item.

An item's id is readable (`pairwise/<baseline>/<prompt id>`, `absolute/<prompt id>`,
`conversation/<conversation id>`); its `digest`
covers the text shown, so a label given to an earlier version of the item (new generations after
retraining) is recognised as stale instead of being counted for the new text.

Assignment: with a roster (`--annotators alice,bob`), every annotator labels the shared items and the
rest are dealt round-robin from a seeded shuffle, so each item outside the shared set has exactly one
annotator; the conversation items, few and long (§6: 10), go to every annotator. Without a roster the
study is open: any valid name may join and labels every item. Each annotator's queue holds the shared
items first (agreement fills early even if they stop), then pairwise, conversation and absolute items,
each part in an order seeded by the name.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import Counter
from pathlib import Path

from lima.errors import StageError
from lima.io import read_jsonl, write_json, write_jsonl
from lima.rng import make_rng

log = logging.getLogger("lima.annotate")

# Annotator (and baseline) names: letters, digits, `.`, `_`, `-`; 1-40 characters, starting with a
# letter or digit. They go into file names, CSV cells and label rows, so nothing else is let in.
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
NAME_RULE = "1-40 characters: letters, digits, '.', '_' or '-', starting with a letter or digit"
PAIRWISE_LABELS = ("A", "B", "neither")
ABSOLUTE_LABELS = ("fail", "pass", "excellent")
LABELS = {"pairwise": PAIRWISE_LABELS, "absolute": ABSOLUTE_LABELS, "conversation": PAIRWISE_LABELS}
KINDS = ("pairwise", "conversation", "absolute")      # the order of an annotator's queue after the shared items
ORDER_SALT = {"pairwise": 1, "absolute": 2, "conversation": 3}
SHARED_ITEMS = 50      # §4.1: agreement on 50 shared items
ABSOLUTE_ITEMS = 50    # §4.3: 50 random test prompts


def check_name(name) -> str | None:
    """None when `name` is a valid annotator name, else the reason (shown in the page)."""
    if not isinstance(name, str) or not name:
        return "an annotator name is required"
    if not NAME_RE.fullmatch(name):
        return f"annotator name {name[:60]!r} is not allowed: use {NAME_RULE}"
    return None


def parse_baselines(specs: list[str]) -> dict[str, Path]:
    """`NAME=FILE` (or a bare FILE, named by its first dot-separated part, as stage 06 names it) ->
    {name: path}, in the order given. Two baselines with one name, or a bad name, stop with one line."""
    out: dict[str, Path] = {}
    for spec in specs:
        name, sep, file = spec.partition("=")
        if not sep:
            file, name = spec, Path(spec).name.split(".")[0]
        if check_name(name):
            raise StageError(spec, f"baseline name {name!r} is not allowed: use {NAME_RULE}")
        if name in out:
            raise StageError(spec, f"two baselines are named {name!r}: give each its own NAME=FILE")
        out[name] = Path(file)
    return out


def _read_rows(path: Path, what: str, counts: Counter) -> dict[str, dict]:
    """id -> the first row of that id with a prompt and a response (sample_idx 0 only)."""
    if not path.is_file():
        raise StageError(path, f"no such file ({what})")
    try:
        raw = list(read_jsonl(path))
    except (ValueError, UnicodeDecodeError) as e:
        raise StageError(path, f"not a JSONL file: {e}") from None
    rows: dict[str, dict] = {}
    for r in raw:
        if not (isinstance(r, dict) and isinstance(r.get("id"), str) and isinstance(r.get("response"), str)):
            counts[f"{what}:row_without_id_or_response"] += 1
            continue
        if int(r.get("sample_idx") or 0) != 0:
            continue                       # §4.1: one response per prompt and model
        rows.setdefault(r["id"], r)
    if not rows:
        raise StageError(path, "no row with an `id` and a `response`")
    return rows


def digest(*texts: str) -> str:
    return hashlib.sha1(json.dumps(texts, ensure_ascii=False).encode()).hexdigest()[:12]


def _read_conversations(path: Path, counts: Counter) -> list[dict]:
    """Rows {"id", "user": [...], "dialogue": [...], "zero-shot": [...]} (stage 10's pairs), each a list
    of texts of one length; other rows are counted and skipped."""
    if not path.is_file():
        raise StageError(path, "no such file (the conversation pairs: `make dialogue` writes eval/conversations.jsonl)")
    try:
        raw = list(read_jsonl(path))
    except (ValueError, UnicodeDecodeError) as e:
        raise StageError(path, f"not a JSONL file: {e}") from None
    texts = lambda v: isinstance(v, list) and v and all(isinstance(t, str) for t in v)    # noqa: E731
    rows = [r for r in raw if isinstance(r, dict) and isinstance(r.get("id"), str)
            and all(texts(r.get(k)) for k in ("user", "dialogue", "zero-shot"))
            and len(r["user"]) == len(r["dialogue"]) == len(r["zero-shot"])]
    counts["conversations:bad_row"] += len(raw) - len(rows)
    if not rows:
        raise StageError(path, 'no row with an `id` and equal lists `user`, `dialogue`, `zero-shot`')
    return rows


def conversation_items(path: Path, seed: int, counts: Counter) -> list[dict]:
    """One item per conversation: the user's turns, both models' replies as A and B, the dialogue
    model's side (`ours`) drawn from a stream keyed by the seed and the conversation id."""
    items = []
    for r in _read_conversations(Path(path), counts):
        side = "A" if make_rng(seed, "side", "conversation", r["id"]).random() < 0.5 else "B"
        a, b = (r["dialogue"], r["zero-shot"]) if side == "A" else (r["zero-shot"], r["dialogue"])
        items.append({"item_id": f"conversation/{r['id']}", "kind": "conversation", "id": r["id"], "sample_idx": 0,
                      "prompt": r["user"][0], "user": r["user"], "a": a, "b": b, "ours": side,
                      "digest": digest(json.dumps([r["user"], a, b], ensure_ascii=False))})
    return items


def build_study(generations: Path, baselines: dict[str, Path], *, shared: int = SHARED_ITEMS,
                absolute: int = ABSOLUTE_ITEMS, annotators: list[str] | None = None, seed: int = 0,
                conversations: Path | None = None):
    """(study, items): the study's settings and counts, and every item with its assignment."""
    counts: Counter = Counter()
    ours = _read_rows(Path(generations), "generations", counts)
    for name in annotators or []:
        if check_name(name):
            raise StageError("--annotators", check_name(name))
    if annotators and len(set(annotators)) != len(annotators):
        raise StageError("--annotators", "a name is given twice")
    items, missing = [], {}
    for name, path in baselines.items():
        theirs = _read_rows(path, f"baseline {name}", counts)
        common = sorted(set(ours) & set(theirs))
        missing[name] = {"ours_without_baseline": len(set(ours) - set(theirs)),
                         "baseline_without_ours": len(set(theirs) - set(ours))}
        if missing[name]["ours_without_baseline"]:
            log.warning("baseline %s: %d of our %d prompt ids have no response in %s; items only for the %d "
                        "common ids", name, missing[name]["ours_without_baseline"], len(ours), path, len(common))
        for pid in common:
            mine, other = ours[pid]["response"], theirs[pid]["response"]
            side = "A" if make_rng(seed, "side", name, pid).random() < 0.5 else "B"
            a, b = (mine, other) if side == "A" else (other, mine)
            prompt = ours[pid]["prompt"]
            items.append({"item_id": f"pairwise/{name}/{pid}", "kind": "pairwise", "baseline": name, "id": pid,
                          "sample_idx": 0, "prompt": prompt, "a": a, "b": b, "ours": side,
                          "digest": digest(prompt, a, b)})
    if conversations:
        items += conversation_items(conversations, seed, counts)
    if absolute:
        ids = sorted(ours)
        for pid in sorted(make_rng(seed, "absolute").sample(ids, min(absolute, len(ids)))):
            r = ours[pid]
            items.append({"item_id": f"absolute/{pid}", "kind": "absolute", "id": pid, "sample_idx": 0,
                          "prompt": r["prompt"], "response": r["response"], "digest": digest(r["prompt"], r["response"])})
    pairwise_ids = [it["item_id"] for it in items if it["kind"] == "pairwise"]
    shared_ids = set(make_rng(seed, "shared").sample(pairwise_ids, min(shared, len(pairwise_ids))))
    rest = [it["item_id"] for it in items if it["item_id"] not in shared_ids and it["kind"] != "conversation"]
    make_rng(seed, "deal").shuffle(rest)
    dealt = {iid: [annotators[i % len(annotators)]] for i, iid in enumerate(rest)} if annotators else {}
    for it in items:
        it["shared"] = it["item_id"] in shared_ids
        everyone = it["shared"] or it["kind"] == "conversation" or not annotators
        it["assigned"] = "*" if everyone else dealt[it["item_id"]]
    study = {"generations": Path(generations).as_posix(), "generation_name": Path(generations).name.removesuffix(".jsonl"),
             "baselines": {k: v.as_posix() for k, v in baselines.items()}, "missing": missing,
             "annotators": annotators or None, "seed": seed, "shared_requested": shared,
             "absolute_requested": absolute,
             "conversations": Path(conversations).as_posix() if conversations else None,
             "n_items": {**{k: sum(it["kind"] == k for it in items) for k in KINDS}, "shared": len(shared_ids)},
             "skipped": dict(sorted(counts.items()))}
    return study, items


def write_study(study_dir: Path, study: dict, items: list[dict]) -> None:
    """items.jsonl then study.json, each atomically; rewritten only when they change, so a restart
    of the page touches nothing (Make's view of the study stays current)."""
    study_dir = Path(study_dir)
    def same(path: Path, read) -> bool:
        try:
            return read(path)
        except (OSError, ValueError, UnicodeDecodeError):      # absent or unreadable: rewrite it
            return False
    if not same(study_dir / "items.jsonl", lambda p: list(read_jsonl(p)) == items):
        write_jsonl(study_dir / "items.jsonl", items)
    if not same(study_dir / "study.json", lambda p: json.loads(p.read_text(encoding="utf-8")) == study):
        write_json(study_dir / "study.json", study)


def load_study(study_dir: Path) -> tuple[dict, list[dict]]:
    study_dir = Path(study_dir)
    path = study_dir / "study.json"
    if not path.is_file() or not (study_dir / "items.jsonl").is_file():
        raise StageError(study_dir, "no study here (study.json and items.jsonl): start one with `make annotate` "
                                    "or `06_annotate.py export`")
    try:
        return json.loads(path.read_text(encoding="utf-8")), list(read_jsonl(study_dir / "items.jsonl"))
    except (ValueError, UnicodeDecodeError) as e:
        raise StageError(study_dir, f"the study files cannot be read: {e}") from None


def assigned_to(item: dict, annotator: str) -> bool:
    return item["assigned"] == "*" or annotator in item["assigned"]


def queue(items: list[dict], annotator: str, seed: int = 0) -> list[dict]:
    """The annotator's items in the order they are shown: shared, then pairwise, conversation, absolute."""
    mine = [it for it in items if assigned_to(it, annotator)]
    # (salt, items): the salts of the parts that came first stay as they were, so a study that gains
    # conversation items keeps each annotator's order of the others
    parts = ((0, [it for it in mine if it["shared"]]),
             *((ORDER_SALT[k], [it for it in mine if not it["shared"] and it["kind"] == k]) for k in KINDS))
    out = []
    for salt, part in parts:
        part = sorted(part, key=lambda it: it["item_id"])
        make_rng(seed, "order", annotator, salt).shuffle(part)
        out += part
    return out
