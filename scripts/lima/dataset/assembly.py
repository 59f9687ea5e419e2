"""Table 1 from the stage outputs: candidates per source, quotas, deduplication with refills, splits.

Every source is a *bucket*: an ordered list of candidates and a quota. The first `quota` candidates
are the ones the stage before chose; the rest (the Stack Exchange and wikiHow pools, the remainder of
an interim or authored file, the Super-NI tasks not drawn) are the refills, taken in order when a
chosen candidate is removed as a duplicate.

Dev and test are never cut. Train buckets are filled in `TRAIN_PRIORITY` order, each candidate
checked against dev + test (decontamination) and against the train rows accepted so far
(deduplication): hand-written sources go first (they cannot be refilled), then WritingPrompts
(no pool), then the sources with pools (Stack Exchange, wikiHow), which give way. Rows taken from
the GAIR/lima release are not cut against other release rows: the paper's own split is reproduced
as released, and such overlaps are listed, not removed.
"""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from lima.errors import StageError
from lima.dataset.contract import read_contract_rows
from lima.dataset.dedup import PromptIndex

log = logging.getLogger("lima.dataset")

# (bucket, split, source label) in Table 1's order; train_dialogue adds the dialogues to train.
BUCKETS = (
    ("se-stem", "train", "stackexchange"),
    ("se-other", "train", "stackexchange"),
    ("wikihow", "train", "wikihow"),
    ("writingprompts", "train", "writingprompts"),
    ("nlp", "train", "nlp"),
    ("authors", "train", "authors"),
    ("dev", "dev", "authors"),
    ("askreddit", "test", "askreddit"),
    ("test-authors", "test", "authors"),
    ("dialogues", "train_dialogue", "multi_turn"),
)
SPLIT_OF = {b: s for b, s, _ in BUCKETS}
TRAIN_PRIORITY = ("authors", "nlp", "writingprompts", "se-stem", "se-other", "wikihow")
RELEASE_PARTS = ("authors", "nlp", "multi_turn", "test")


@dataclass
class Bucket:
    name: str
    quota: int
    candidates: list[dict]
    origin: str                       # where the candidates came from, for the report
    chosen: list[dict] = field(default_factory=list)

    @property
    def shortfall(self) -> int:
        return max(0, self.quota - len(self.chosen))


@dataclass
class Assembly:
    buckets: dict[str, Bucket]
    removals: list[dict] = field(default_factory=list)
    refills: list[dict] = field(default_factory=list)
    kept_overlaps: list[dict] = field(default_factory=list)   # release vs release, kept
    heldout_overlaps: list[dict] = field(default_factory=list)  # dev vs test, reported only

    def split(self, split: str) -> list[dict]:
        if split == "train_dialogue":
            return self.split("train") + self.buckets["dialogues"].chosen
        return [r for b, s, _ in BUCKETS if s == split for r in self.buckets[b].chosen]


def prompt_of(row: dict) -> str:
    return row["conversations"][0]


def from_release(row: dict) -> bool:
    return bool(row["meta"].get("from_release"))


# ---- candidates -------------------------------------------------------------------------------

def read_source(path: Path, source: str, counts: Counter, *, need_response: bool,
                trim_trailing_user: bool = False) -> list[dict]:
    """Contract rows of one input file that carry the expected `source` label and shape."""
    rows = read_contract_rows(path, counts, trim_trailing_user=trim_trailing_user)
    out = []
    for row in rows:
        if row["source"] != source:
            counts[f"{path.name}:wrong_source"] += 1
        elif need_response and len(row["conversations"]) < 2:
            counts[f"{path.name}:no_response"] += 1
        elif need_response and len(row["conversations"]) % 2:
            counts[f"{path.name}:ends_on_user_turn"] += 1
        else:
            out.append(row)
    counts[f"{path.name}:rows"] += len(out)
    return out


def with_pool(chosen: list[dict], pool: list[dict]) -> list[dict]:
    """The stage's choice first, then the pool rows it did not choose, in pool order."""
    ids = {r["id"] for r in chosen}
    return chosen + [r for r in pool if r["id"] not in ids]


def se_category(rows: list[dict], category: str, counts: Counter, name: str) -> list[dict]:
    out = []
    for row in rows:
        cat = row["meta"].get("category")
        if cat not in ("stem", "other"):
            counts[f"{name}:no_category"] += 1
        elif cat == category:
            out.append(row)
    return out


def read_release(folder: Path, take: set[str], counts: Counter) -> dict[str, list[dict]]:
    """The parts of a GAIR/lima release named in `take`: train rows by source label, test rows whole.
    Rows get ids (contract) and `meta.from_release`; a multi_turn row ending on a user turn loses
    that turn."""
    parts: dict[str, list[dict]] = {}
    if take & {"authors", "nlp", "multi_turn"}:
        rows = read_contract_rows(folder / "train.jsonl", counts, trim_trailing_user=True)
        for part in ("authors", "nlp", "multi_turn"):
            if part in take:
                parts[part] = [r for r in rows if r["source"] == part]
                if not parts[part]:
                    raise StageError(folder / "train.jsonl", f"no row with source {part!r}")
    if "test" in take:
        parts["test"] = read_contract_rows(folder / "test.jsonl", counts, default_source="authors")
    for part_rows in parts.values():
        for row in part_rows:
            row["meta"] = {**row["meta"], "from_release": True}
    return parts


def split_release_test(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """Release test rows into the AskReddit part and the Group B part, by source label."""
    ask = [r for r in rows if "reddit" in r["source"].lower()]
    return ask, [r for r in rows if "reddit" not in r["source"].lower()]


# ---- assembly ---------------------------------------------------------------------------------

def assemble(buckets: dict[str, Bucket]) -> Assembly:
    """Fill the buckets: dev and test first and whole, then train by priority with dedup and
    refills, then the dialogues against everything."""
    asm = Assembly(buckets)
    heldout = PromptIndex()
    origin: dict[str, dict] = {}
    for name in ("dev", "askreddit", "test-authors"):
        b = buckets[name]
        b.chosen = b.candidates[: b.quota]
        for row in b.chosen:
            m = heldout.find(prompt_of(row))
            if m and origin[m.key]["split"] != SPLIT_OF[name]:
                asm.heldout_overlaps.append({"id": row["id"], "split": SPLIT_OF[name], "match": m.key,
                                             "match_split": origin[m.key]["split"], "kind": m.kind,
                                             "score": m.score})
            heldout.add(row["id"], prompt_of(row))
            origin.setdefault(row["id"], {"split": SPLIT_OF[name], "release": from_release(row)})

    train = PromptIndex()
    used: set[str] = set(origin)
    for name in (*TRAIN_PRIORITY, "dialogues"):
        b = buckets[name]
        for pos, row in enumerate(b.candidates):
            if len(b.chosen) == b.quota:
                break
            if row["id"] in used:
                asm.removals.append({"id": row["id"], "bucket": name, "reason": "duplicate_id"})
                continue
            text = prompt_of(row)
            hit = None
            for index, where in ((heldout, None), (train, "train")):
                m = index.find(text)
                if m is None:
                    continue
                info = origin[m.key]
                if from_release(row) and info["release"]:
                    asm.kept_overlaps.append({"id": row["id"], "bucket": name, "match": m.key,
                                              "match_split": info["split"], "kind": m.kind,
                                              "score": m.score})
                    continue
                hit = (m, where or info["split"])
                break
            if hit:
                m, where = hit
                asm.removals.append({"id": row["id"], "bucket": name,
                                     "reason": f"{m.kind}_duplicate_of_{where}", "match": m.key,
                                     "score": m.score, "prompt": text[:120]})
                continue
            b.chosen.append(row)
            used.add(row["id"])
            train.add(row["id"], text)
            origin[row["id"]] = {"split": "train" if name != "dialogues" else "train_dialogue",
                                 "release": from_release(row)}
            if pos >= b.quota:
                asm.refills.append({"id": row["id"], "bucket": name, "position": pos + 1})
    return asm


def quota_report(asm: Assembly) -> list[dict]:
    return [{"bucket": b.name, "split": SPLIT_OF[b.name], "quota": b.quota,
             "candidates": len(b.candidates), "kept": len(b.chosen), "shortfall": b.shortfall,
             "origin": b.origin}
            for b in asm.buckets.values()]
