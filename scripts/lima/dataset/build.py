"""Stage 04's steps: read every bucket's candidates, assemble, write Table 1 and the splits.

The numbered script only parses its flags and calls these; the assembly rules are in assembly.py.
"""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from lima.dataset.assembly import (BUCKETS, Assembly, Bucket, quota_report, read_release, read_source,
                                   se_category, split_release_test, with_pool)
from lima.dataset.composition import build_composition, render_markdown, render_report_fragment
from lima.dataset.contract import check_rows
from lima.dataset.dedup import NEAR_DUP_JACCARD, NGRAM
from lima.errors import StageError
from lima.funnel import Funnel, describe_inputs, write_stats
from lima.io import atomic_write, write_json, write_jsonl
from lima.sources.superni import load_tasks, superni_candidates

log = logging.getLogger("lima.dataset")
SPLITS = ("train", "dev", "test", "train_dialogue")


@dataclass
class Sources:
    """Where stage 04 reads from, and what it takes from the GAIR/lima release instead."""
    interim: Path
    authored: Path
    superni: Path | None = None
    release: Path | None = None
    take: set[str] = field(default_factory=set)


@dataclass
class Candidates:
    buckets: dict[str, Bucket]
    inputs: list[Path]                # every file read, for the stats record
    counts: Counter                   # rows read and skipped, per input file
    superni_verdicts: dict[str, str]  # task -> why it was kept or left out


class _Reader:
    """Reads the input files, remembering each one and counting its rows."""

    def __init__(self):
        self.inputs: list[Path] = []
        self.counts: Counter = Counter()

    def file(self, folder: Path, name: str, source: str, need_response: bool = True) -> list[dict]:
        self.inputs.append(folder / name)
        return read_source(folder / name, source, self.counts, need_response=need_response)

    def pool(self, interim: Path, name: str, source: str) -> list[dict]:
        if not (interim / "pools" / name).is_file():
            log.warning("%s: no pool, so no refills beyond the interim file", interim / "pools" / name)
            return []
        return self.file(interim / "pools", name, source)


def gather(src: Sources, quota: dict[str, int], seed: int) -> Candidates:
    """Every bucket's candidates, the stage's choice first and the refills after (assembly.py)."""
    rd, take, quota = _Reader(), src.take, dict(quota)
    release = read_release(src.release, take, rd.counts) if take else {}
    if release:
        rd.inputs += [src.release / f for f in ("train.jsonl", "test.jsonl") if (src.release / f).is_file()]
    se_all = with_pool(rd.file(src.interim, "stackexchange.jsonl", "stackexchange"),
                       rd.pool(src.interim, "stackexchange.filtered.jsonl", "stackexchange"))
    candidates = {
        "se-stem": (se_category(se_all, "stem", rd.counts, "stackexchange"), "stackexchange.jsonl + pool"),
        "se-other": (se_category(se_all, "other", rd.counts, "stackexchange"), "stackexchange.jsonl + pool"),
        "wikihow": (with_pool(rd.file(src.interim, "wikihow.jsonl", "wikihow"),
                              rd.pool(src.interim, "wikihow.jsonl", "wikihow")), "wikihow.jsonl + pool"),
        "writingprompts": (rd.file(src.interim, "writingprompts.jsonl", "writingprompts"), "writingprompts.jsonl"),
    }
    verdicts: dict[str, str] = {}
    if "nlp" in take:
        candidates["nlp"] = (release["nlp"], "GAIR/lima release")
    else:
        tasks = load_tasks(src.superni)
        rd.inputs += [t.path for t in tasks]
        candidates["nlp"] = (superni_candidates(tasks, seed, verdicts),
                             f"Super-NI: {sum(v == 'generation' for v in verdicts.values())} of {len(tasks)} tasks kept")
    authored = {name: rd.file(src.authored, f"{name}.jsonl", source, need)
                for name, source, need in (("train", "authors", True), ("dev", "authors", True),
                                           ("test", "authors", False), ("dialogues", "multi_turn", True))}
    candidates["authors"] = ((release["authors"], "GAIR/lima release") if "authors" in take
                             else (authored["train"], "authored train.jsonl"))
    candidates["dev"] = (authored["dev"], "authored dev.jsonl")
    if "test" in take:
        ask, group_b = split_release_test(release["test"])
        if not ask:
            # The release labels no test prompt as AskReddit: its test set is taken whole, as one part.
            log.warning("the release labels no test prompt as AskReddit: its %d test prompts fill "
                        "--askreddit + --test-authors together", len(group_b))
            quota["test-authors"] += quota["askreddit"]
            quota["askreddit"] = 0
        candidates["askreddit"] = (ask, "GAIR/lima release")
        candidates["test-authors"] = (group_b, "GAIR/lima release" + ("" if ask else " (all test prompts)"))
    else:
        candidates["askreddit"] = (rd.file(src.interim, "askreddit.jsonl", "askreddit", need_response=False),
                                   "askreddit.jsonl")
        candidates["test-authors"] = (authored["test"], "authored test.jsonl")
    # Stack Exchange comment chains (stage 01 --dialogues-out): the paper's 20 of 30 dialogues (§6).
    se_chains = []
    if (src.interim / "stackexchange_dialogues.jsonl").is_file():
        se_chains = rd.file(src.interim, "stackexchange_dialogues.jsonl", "multi_turn")
    if "multi_turn" in take:
        # The release's 30 first, ours after them (refills).
        candidates["dialogues"] = (release["multi_turn"] + authored["dialogues"] + se_chains,
                                   "GAIR/lima release + authored + Stack Exchange comment chains")
    else:
        candidates["dialogues"] = (authored["dialogues"] + se_chains,
                                   "authored dialogues.jsonl + Stack Exchange comment chains")
    for name in ("askreddit", "test-authors"):
        # Test rows are prompts: a response that came with one is not part of the test set.
        candidates[name] = ([{**r, "conversations": r["conversations"][:1]} for r in candidates[name][0]],
                            candidates[name][1])
    buckets = {b: Bucket(b, quota[b], *candidates[b]) for b, *_ in BUCKETS}
    return Candidates(buckets, rd.inputs, rd.counts, verdicts)


def check_quotas(asm: Assembly, strict: bool) -> tuple[list[dict], list[dict]]:
    """Each bucket's quota report, and those short of quota (an error with `strict`)."""
    quotas = quota_report(asm)
    short = [q for q in quotas if q["shortfall"]]
    for q in short:
        log.warning("%s: %d of %d (short by %d; %d candidates)", q["bucket"], q["kept"], q["quota"],
                    q["shortfall"], q["candidates"])
    if short and strict:
        raise StageError(short[0]["origin"], "short of quota (--strict): " + "; ".join(
            f"{q['bucket']} has {q['kept']} of {q['quota']} (short by {q['shortfall']})" for q in short))
    return quotas, short


def checked_splits(asm: Assembly, out: Path) -> dict[str, list[dict]]:
    splits = {s: asm.split(s) for s in SPLITS}
    for s, rows in splits.items():
        check_rows(rows, training=s != "test", name=f"{out / s}.jsonl")
    return splits


def write_composition(asm: Assembly, quotas: list[dict], superni_verdicts: dict, count_name, count_tokens,
                      out: Path, report: Path | None) -> None:
    """Table 1 (composition.json/.md) and the report's data fragment."""
    comp = build_composition(asm, count_name, count_tokens)
    dedup = {"ngram": NGRAM, "threshold": NEAR_DUP_JACCARD, "removals": asm.removals,
             "refills": asm.refills, "kept_overlaps": asm.kept_overlaps,
             "heldout_overlaps": asm.heldout_overlaps}
    write_json(out / "composition.json", {**comp, "quotas": quotas, "dedup": dedup,
                                          "superni_tasks": superni_verdicts})
    write_text(out / "composition.md", render_markdown(comp, quotas, dedup))
    if report:
        write_text(report, render_report_fragment(comp, quotas, dedup, out.as_posix()))


def write_splits(splits: dict[str, list[dict]], asm: Assembly, cands: Candidates, out: Path, args,
                 seed: int) -> None:
    """Every split's stats, then the four splits (train_dialogue last: Make's stamp)."""
    inputs = describe_inputs(cands.inputs)
    for s in SPLITS:
        write_stats(out / f"{s}.jsonl", split_funnel(s, asm, cands.counts), args=args, inputs=inputs, seed=seed)
    for s in SPLITS:
        write_jsonl(out / f"{s}.jsonl", splits[s])


def split_funnel(split: str, asm: Assembly, counts: Counter) -> Funnel:
    """Per split: candidates read and kept per bucket, removals by reason, the rest over quota."""
    funnel = Funnel(f"dataset:{split}")
    names = [b for b, s, _ in BUCKETS if s == split or (split == "train_dialogue" and s == "train")]
    for name in names:
        b = asm.buckets[name]
        funnel.read[name] = len(b.candidates)
        funnel.kept[name] = len(b.chosen)
        removed = [r for r in asm.removals if r["bucket"] == name]
        for r in removed:
            funnel.dropped[r["reason"]] += 1
        # candidates never reached because the quota was filled before them
        funnel.dropped["over_quota"] += len(b.candidates) - len(b.chosen) - len(removed)
    funnel.kept["total"] = sum(len(asm.buckets[n].chosen) for n in names)
    funnel.notes["quota"] = {q["bucket"]: q for q in quota_report(asm) if q["bucket"] in names}
    funnel.notes["input_rows"] = dict(sorted(counts.items()))
    funnel.notes["removals"] = [r for r in asm.removals if r["bucket"] in names]
    funnel.notes["refills"] = [r for r in asm.refills if r["bucket"] in names]
    return funnel


def write_text(path: Path, text: str) -> None:
    with atomic_write(path) as f:
        f.write(text)
