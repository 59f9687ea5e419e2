"""Stage 06, second entry point: agreement between two pairwise judgment files (§4.1).

Tie-discounted accuracy (1 if both agree, 0.5 if exactly one said tie, 0 otherwise) over the items
both files judged, joined by id and sample index; the paper scores a shared random 50 (--items 50).
Files are rows {"id", "sample_idx", "verdict": win|tie|loss}, as 06_eval.py writes them to
results/<run>/eval/*.pairwise-*.jsonl, or human labels in the same form.

    python scripts/06_agreement.py results/sample/eval/epoch_10.test.pairwise-alpaca.jsonl \
        data/raw/human_labels.jsonl --items 50 --out results/sample/eval/agreement.json
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from lima.eval.preference.agreement import PAPER_AGREEMENT, read_judgments, tie_discounted_accuracy
from lima.errors import StageError
from lima.cli import run_main, setup_logging
from lima.io import write_json


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("a", type=Path, help="first judgment file (JSONL)")
    p.add_argument("b", type=Path, help="second judgment file (JSONL)")
    p.add_argument("--field", default="verdict", help="the field holding the verdict (our files: verdict, order_ab, order_ba)")
    p.add_argument("--items", type=int, default=0, help="score a random N of the shared items (§4.1: 50; 0 = all)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None, help="write the result as JSON here")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    setup_logging()
    counts = Counter()
    a = read_judgments(args.a, args.field, counts)
    b = read_judgments(args.b, args.field, counts)
    result = tie_discounted_accuracy(a, b, items=args.items, seed=args.seed)
    if not result["n_items"]:
        raise StageError(args.b, f"no item in common with {args.a} (joined by id and sample_idx)")
    result.update({"a": args.a.as_posix(), "b": args.b.as_posix(), "field": args.field, "skipped": dict(counts),
                   "paper": PAPER_AGREEMENT, "seed": args.seed})
    if args.out:
        write_json(args.out, result)
    paper = ", ".join(f"{k} {v:.0%}" for k, v in PAPER_AGREEMENT.items())
    print(f"agreement: {result['agreement']:.1%} on {result['n_items']} shared items "
          f"({result['full']} agree, {result['half']} half, {result['zero']} disagree); paper: {paper}")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
