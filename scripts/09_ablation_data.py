"""Ablation training sets (§5, Appendix E): from the candidate pools of stages 01 and 02, and the
training set without its format-constraint examples.

`pools` writes data/ablations/<variant>/train.jsonl for 2,000 filtered Stack Exchange, 2,000
unfiltered Stack Exchange and 2,000 wikiHow examples (diversity and quality, Fig. 5) and the filtered
Stack Exchange series 2K..32K (quantity, Fig. 6), each the first n rows of its best-first pool (capped,
and said so, when a pool is shorter); variants.json, written last, lists them. `without-format` drops
the rows marked meta.format_constraint (Appendix E: 1,000 -> 994 examples).

    python scripts/09_ablation_data.py pools --filtered data/interim/pools/stackexchange.filtered.jsonl \
        --unfiltered data/interim/pools/stackexchange.unfiltered.jsonl --wikihow data/interim/pools/wikihow.jsonl \
        --size 16 --sizes 8,16,32 --out data/ablations
    python scripts/09_ablation_data.py without-format --train data/lima/train.jsonl --out data/ablations/no-format/train.jsonl
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from lima.eval.ablations import build_variant, parse_sizes, variant_plan, without_flag
from lima.errors import StageError
from lima.cli import run_main, setup_logging
from lima.dataset.contract import ContractError, check_row, read_contract_rows
from lima.funnel import Funnel, describe_inputs, write_stats
from lima.io import write_json, write_jsonl


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    # ---- the §5 variants from the pools
    pools = sub.add_parser("pools", help="the diversity, quality and quantity variants from the pools")
    pools.add_argument("--filtered", type=Path, required=True, help="filtered Stack Exchange pool, best first (stage 01)")
    pools.add_argument("--unfiltered", type=Path, required=True, help="unfiltered Stack Exchange pool, best first (stage 01)")
    pools.add_argument("--wikihow", type=Path, required=True, help="wikiHow pool (stage 02)")
    pools.add_argument("--size", type=int, default=2000, help="examples per set for diversity and quality (§5: 2,000)")
    pools.add_argument("--sizes", default="2000,4000,8000,16000,32000", help="the quantity series of filtered Stack Exchange (§5: 2K..32K)")
    pools.add_argument("--out", type=Path, required=True, help="folder: <variant>/train.jsonl (+ .stats.json) and variants.json")
    # ---- Appendix E: without the format-constraint examples
    nofmt = sub.add_parser("without-format", help="the training set without its meta.format_constraint rows")
    nofmt.add_argument("--train", type=Path, required=True, help="the full training set (stage 04)")
    nofmt.add_argument("--flag", default="format_constraint", help="the meta flag whose rows are dropped")
    nofmt.add_argument("--out", type=Path, required=True, help="output JSONL (+ .stats.json)")
    for q in (pools, nofmt):
        q.add_argument("-v", "--verbose", action="store_true")
    return p.parse_args(argv)


def read_pool(path: Path, counts: Counter) -> list[dict]:
    """Valid training rows of a pool, in file order (best first); bad rows counted."""
    rows = []
    for row in read_contract_rows(path, counts):
        try:
            check_row(row, training=True)
        except ContractError:
            counts[f"{path.name}:not_a_training_row"] += 1
            continue
        rows.append(row)
    return rows


def build_pools(args) -> int:
    try:
        sizes = parse_sizes(args.sizes)
    except ValueError as e:
        raise StageError("--sizes", str(e)) from None
    if args.size < 1:
        raise StageError("--size", "must be at least 1")
    counts = Counter()
    paths = {"se-filtered": args.filtered, "se-unfiltered": args.unfiltered, "wikihow": args.wikihow}
    pools = {name: read_pool(path, counts) for name, path in paths.items()}
    for name, rows in pools.items():
        if not rows:
            raise StageError(paths[name], "no usable training row in this pool")
    variants = []
    for name, pool, n in variant_plan(args.size, sizes):
        rows, info = build_variant(pools[pool], n)
        out = args.out / name / "train.jsonl"
        funnel = Funnel("ablation_data")
        funnel.read["pool_rows"] = len(pools[pool])
        funnel.kept["examples"] = len(rows)
        funnel.dropped.update({k: v for k, v in counts.items() if k.startswith(paths[pool].name)})
        role = ["quantity"] if n in sizes and pool == "se-filtered" else []
        role = (["diversity"] if n == args.size else []) + role
        info = {"name": name, "pool": pool, "pool_file": paths[pool].as_posix(), "role": role, **info}
        funnel.notes["variant"] = info
        write_stats(out, funnel, args=args, inputs=describe_inputs([paths[pool]]))
        write_jsonl(out, rows)
        variants.append({**info, "train": out.as_posix()})
        print(f"ablation data: {name}: {len(rows)} examples" + (f" (asked {n}; the pool has {len(pools[pool])})"
                                                                 if info["capped"] else ""))
    write_json(args.out / "variants.json", {"size": args.size, "sizes": sizes, "variants": variants,
                                            "skipped_rows": dict(counts)})
    return 0


def build_without_format(args) -> int:
    counts = Counter()
    rows = read_contract_rows(args.train, counts)
    kept, gone = without_flag(rows, args.flag)
    if not gone:
        raise StageError(args.train, f"no row has meta.{args.flag}: nothing to ablate")
    funnel = Funnel("ablation_data")
    funnel.read["rows"] = len(rows)
    funnel.kept["examples"] = len(kept)
    funnel.dropped[f"meta.{args.flag}"] = len(gone)
    funnel.dropped.update(counts)
    funnel.notes["dropped_ids"] = [r["id"] for r in gone]
    write_stats(args.out, funnel, args=args, inputs=describe_inputs([args.train]))
    write_jsonl(args.out, kept)        # last: the Make target
    print(f"ablation data: {len(rows)} -> {len(kept)} examples without meta.{args.flag} -> {args.out}")
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    setup_logging(args.verbose)
    return build_pools(args) if args.command == "pools" else build_without_format(args)


if __name__ == "__main__":
    sys.exit(run_main(main))
