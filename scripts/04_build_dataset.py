"""Stage 04: the stage outputs + authored data + Super-NI -> the LIMA dataset (Table 1, §2.2).

Takes Table 1's quotas from each source (Stack Exchange STEM/Other, wikiHow, WritingPrompts, 50
Super-NaturalInstructions tasks, authored Group A; dev 50; test AskReddit + Group B; 30 dialogues),
removes exact and near-duplicate prompts within train and between train and dev/test, refills from
the pools, and writes the splits in the GAIR/lima format with Table 1 reproduced beside the paper's.

    python scripts/04_build_dataset.py --interim data/interim --authored data/authored \
        --superni data/sample/superni --out data/lima --se-stem 8 --se-other 8 ...
    python scripts/04_build_dataset.py --interim data/interim --authored data/authored \
        --superni data/raw/natural-instructions/tasks --lima-release data/raw/lima \
        --take-from-release authors,nlp,multi_turn,test --out data/lima --strict
"""
from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from pathlib import Path

from lima.errors import StageError
from lima.cli import run_main, setup_logging
from lima.dataset.composition import build_composition, load_length_fn, render_markdown, render_report_fragment
from lima.dataset.contract import check_rows
from lima.dataset.assembly import (BUCKETS, RELEASE_PARTS, Bucket, assemble, quota_report, read_release,
                                   read_source, se_category, split_release_test, with_pool)
from lima.dataset.dedup import NEAR_DUP_JACCARD, NGRAM
from lima.funnel import Funnel, describe_inputs, write_stats
from lima.io import atomic_write, write_json, write_jsonl
from lima.sources.superni import load_tasks, superni_candidates

log = logging.getLogger("lima.dataset")
SPLITS = ("train", "dev", "test", "train_dialogue")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    # ---- inputs and outputs
    p.add_argument("--interim", type=Path, required=True,
                   help="stage 01-03 outputs: stackexchange.jsonl, wikihow.jsonl, writingprompts.jsonl, "
                        "askreddit.jsonl, and pools/ (stackexchange.filtered.jsonl, wikihow.jsonl) for refills")
    p.add_argument("--authored", type=Path, required=True,
                   help="hand-written data: train.jsonl, dev.jsonl, test.jsonl, dialogues.jsonl")
    p.add_argument("--superni", type=Path, default=None,
                   help="folder of Super-NaturalInstructions task*.json files (not needed when nlp is "
                        "taken from the release)")
    p.add_argument("--out", type=Path, required=True,
                   help="output folder: {train,dev,test,train_dialogue}.jsonl + .stats.json, composition.md/.json")
    p.add_argument("--report", type=Path, default=None,
                   help="also write the report's data fragment here (results/<run>/report/data.md)")
    p.add_argument("--lima-release", type=Path, default=None,
                   help="folder with the GAIR/lima train.jsonl and test.jsonl")
    p.add_argument("--take-from-release", default="",
                   help=f"comma-separated parts taken from --lima-release instead of ours: {', '.join(RELEASE_PARTS)}")
    p.add_argument("--tokenizer", type=Path, default=None,
                   help="local Hugging Face tokenizer folder for Table 1's token lengths (default: characters only)")
    # ---- quotas (Table 1)
    q = p.add_argument_group("quotas (default: Table 1)")
    q.add_argument("--se-stem", type=int, default=200, help="train, Stack Exchange STEM (Table 1: 200)")
    q.add_argument("--se-other", type=int, default=200, help="train, Stack Exchange Other (Table 1: 200)")
    q.add_argument("--wikihow", type=int, default=200, help="train, wikiHow (Table 1: 200)")
    q.add_argument("--writingprompts", type=int, default=150, help="train, r/WritingPrompts (Table 1: 150)")
    q.add_argument("--nlp", type=int, default=50, help="train, Super-NI tasks, one example each (Table 1: 50)")
    q.add_argument("--authors", type=int, default=200, help="train, authored Group A (Table 1: 200)")
    q.add_argument("--dev", type=int, default=50, help="dev, authored Group A (Table 1: 50)")
    q.add_argument("--askreddit", type=int, default=70, help="test, r/AskReddit prompts (Table 1: 70)")
    q.add_argument("--test-authors", type=int, default=230, help="test, authored Group B (Table 1: 230)")
    q.add_argument("--dialogues", type=int, default=30, help="train_dialogue, multi-turn dialogues (§6: 30)")
    q.add_argument("--strict", action="store_true",
                   help="a source short of its quota is an error (default: a warning)")
    # ---- running
    p.add_argument("--seed", type=int, default=0, help="seed of the Super-NI task and instance draw")
    p.add_argument("-v", "--verbose", action="store_true")
    return p.parse_args(argv)


def check_args(args) -> set[str]:
    """Every flag problem at once, before anything is read."""
    problems = []
    take = {t.strip() for t in args.take_from_release.split(",") if t.strip()}
    if take - set(RELEASE_PARTS):
        problems.append(f"--take-from-release: unknown part(s) {', '.join(sorted(take - set(RELEASE_PARTS)))} "
                        f"(choose from {', '.join(RELEASE_PARTS)})")
    if take and args.lima_release is None:
        problems.append("--take-from-release needs --lima-release DIR")
    if "nlp" not in take and args.superni is None:
        problems.append("--superni DIR is required unless nlp is taken from the release")
    negative = [b for b, *_ in BUCKETS if getattr(args, b.replace("-", "_")) < 0]
    if negative:
        problems.append("quotas must be >= 0: " + ", ".join(f"--{b}" for b in negative))
    if args.tokenizer is not None and not args.tokenizer.is_dir():
        problems.append(f"--tokenizer {args.tokenizer}: no such folder")
    if problems:
        raise StageError("arguments", "; ".join(problems))
    return take


def main(argv=None) -> int:
    args = parse_args(argv)
    setup_logging(args.verbose)
    take = check_args(args)
    count_name, count_tokens = load_length_fn(args.tokenizer)

    # ---- read the candidates of every bucket
    counts: Counter = Counter()
    inputs: list[Path] = []

    def source_file(folder, name, source, **kw):
        path = folder / name
        inputs.append(path)
        return read_source(path, source, counts, **kw)

    def optional_pool(name, source):
        path = args.interim / "pools" / name
        if not path.is_file():
            log.warning("%s: no pool, so no refills beyond the interim file", path)
            return []
        return source_file(args.interim / "pools", name, source, need_response=True)

    release = read_release(args.lima_release, take, counts) if take else {}
    if release:
        inputs += [args.lima_release / f for f in ("train.jsonl", "test.jsonl")
                   if (args.lima_release / f).is_file()]
    se = source_file(args.interim, "stackexchange.jsonl", "stackexchange", need_response=True)
    se_pool = optional_pool("stackexchange.filtered.jsonl", "stackexchange")
    se_all = with_pool(se, se_pool)
    candidates = {
        "se-stem": (se_category(se_all, "stem", counts, "stackexchange"), "stackexchange.jsonl + pool"),
        "se-other": (se_category(se_all, "other", counts, "stackexchange"), "stackexchange.jsonl + pool"),
        "wikihow": (with_pool(source_file(args.interim, "wikihow.jsonl", "wikihow", need_response=True),
                              optional_pool("wikihow.jsonl", "wikihow")), "wikihow.jsonl + pool"),
        "writingprompts": (source_file(args.interim, "writingprompts.jsonl", "writingprompts",
                                       need_response=True), "writingprompts.jsonl"),
    }
    superni_verdicts: dict[str, str] = {}
    if "nlp" in take:
        candidates["nlp"] = (release["nlp"], "GAIR/lima release")
    else:
        tasks = load_tasks(args.superni)
        inputs += [t.path for t in tasks]
        candidates["nlp"] = (superni_candidates(tasks, args.seed, superni_verdicts),
                             f"Super-NI: {sum(v == 'generation' for v in superni_verdicts.values())} "
                             f"of {len(tasks)} tasks kept")
    authored = {name: source_file(args.authored, f"{name}.jsonl", src, need_response=need)
                for name, src, need in (("train", "authors", True), ("dev", "authors", True),
                                        ("test", "authors", False), ("dialogues", "multi_turn", True))}
    candidates["authors"] = ((release["authors"], "GAIR/lima release") if "authors" in take
                             else (authored["train"], "authored train.jsonl"))
    candidates["dev"] = (authored["dev"], "authored dev.jsonl")
    quota = {b: getattr(args, b.replace("-", "_")) for b, *_ in BUCKETS}
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
        candidates["askreddit"] = (source_file(args.interim, "askreddit.jsonl", "askreddit",
                                               need_response=False), "askreddit.jsonl")
        candidates["test-authors"] = (authored["test"], "authored test.jsonl")
    # Stack Exchange comment chains (stage 01 --dialogues-out): the paper's 20 of 30 dialogues.
    se_chains = []
    if (args.interim / "stackexchange_dialogues.jsonl").is_file():
        se_chains = source_file(args.interim, "stackexchange_dialogues.jsonl", "multi_turn", need_response=True)
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

    # ---- assemble: held-out splits whole, train by priority with dedup and refills
    asm = assemble(buckets)
    quotas = quota_report(asm)
    short = [q for q in quotas if q["shortfall"]]
    for q in short:
        log.warning("%s: %d of %d (short by %d; %d candidates)", q["bucket"], q["kept"], q["quota"],
                    q["shortfall"], q["candidates"])
    if short and args.strict:
        raise StageError(short[0]["origin"], "short of quota (--strict): " + "; ".join(
            f"{q['bucket']} has {q['kept']} of {q['quota']} (short by {q['shortfall']})" for q in short))
    splits = {s: asm.split(s) for s in SPLITS}
    for s, rows in splits.items():
        check_rows(rows, training=s != "test", name=f"{args.out / s}.jsonl")

    # ---- composition (Table 1) and the report fragment
    comp = build_composition(asm, count_name, count_tokens)
    dedup = {"ngram": NGRAM, "threshold": NEAR_DUP_JACCARD, "removals": asm.removals,
             "refills": asm.refills, "kept_overlaps": asm.kept_overlaps,
             "heldout_overlaps": asm.heldout_overlaps}
    write_json(args.out / "composition.json", {**comp, "quotas": quotas, "dedup": dedup,
                                                "superni_tasks": superni_verdicts})
    write_text(args.out / "composition.md", render_markdown(comp, quotas, dedup))
    if args.report:
        write_text(args.report, render_report_fragment(comp, quotas, dedup, args.out.as_posix()))

    # ---- outputs: stats, then the four splits (train_dialogue last: Make's stamp)
    input_record = describe_inputs(inputs)
    for s in SPLITS:
        funnel = split_funnel(s, asm, counts)
        write_stats(args.out / f"{s}.jsonl", funnel, args=args, inputs=input_record, seed=args.seed)
    for s in SPLITS:
        write_jsonl(args.out / f"{s}.jsonl", splits[s])
    print(f"dataset: train {len(splits['train'])}, dev {len(splits['dev'])}, test {len(splits['test'])}, "
          f"train_dialogue {len(splits['train_dialogue'])}; {len(asm.removals)} duplicates removed, "
          f"{len(asm.refills)} refills" + (f"; short: {', '.join(q['bucket'] for q in short)}" if short else "")
          + f" -> {args.out}")
    return 0


def split_funnel(split: str, asm, counts: Counter) -> Funnel:
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


if __name__ == "__main__":
    sys.exit(run_main(main))
