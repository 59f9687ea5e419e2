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
import sys
from pathlib import Path

from lima.cli import run_main, setup_logging
from lima.dataset.assembly import BUCKETS, RELEASE_PARTS, assemble
from lima.dataset.build import (SPLITS, Sources, check_quotas, checked_splits, gather, write_composition,
                                write_splits)
from lima.dataset.composition import load_length_fn
from lima.errors import StageError
from lima.io import check_writable


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
    check_writable(*(args.out / f"{s}.jsonl" for s in SPLITS), *([args.report] if args.report else []))
    count_name, count_tokens = load_length_fn(args.tokenizer)
    quota = {b: getattr(args, b.replace("-", "_")) for b, *_ in BUCKETS}
    cands = gather(Sources(args.interim, args.authored, args.superni, args.lima_release, take), quota, args.seed)
    asm = assemble(cands.buckets)           # held-out splits whole, train by priority with dedup and refills
    quotas, short = check_quotas(asm, args.strict)
    splits = checked_splits(asm, args.out)
    write_composition(asm, quotas, cands.superni_verdicts, count_name, count_tokens, args.out, args.report)
    write_splits(splits, asm, cands, args.out, args, args.seed)
    print(f"dataset: train {len(splits['train'])}, dev {len(splits['dev'])}, test {len(splits['test'])}, "
          f"train_dialogue {len(splits['train_dialogue'])}; {len(asm.removals)} duplicates removed, "
          f"{len(asm.refills)} refills" + (f"; short: {', '.join(q['bucket'] for q in short)}" if short else "")
          + f" -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
