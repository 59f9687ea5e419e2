"""Ablation training sets (§5, Appendix E): from the candidate pools of stages 01 and 02, and the
training set without its format-constraint examples.

`pools` writes data/ablations/<variant>/train.jsonl for 2,000 filtered Stack Exchange, 2,000
unfiltered Stack Exchange and 2,000 wikiHow examples (diversity and quality, Fig. 5) and the filtered
Stack Exchange series 2K..32K (quantity, Fig. 6). The Stack Exchange sets are drawn by the §2.1
sampler (lima/eval/ablations/draws.py says how; capped, and said so, when a pool is shorter); data.md shows
each set's sites, STEM/Other split, median answer score and length; variants.json, written last, lists
them. `without-format` drops the rows marked meta.format_constraint (Appendix E: 1,000 -> 994 examples);
GAIR/lima release rows carry no flags, so theirs come from --flags FILE or, failing that, the judge.

    python scripts/09_ablation_data.py pools --filtered data/interim/pools/stackexchange.filtered.jsonl \
        --unfiltered data/interim/pools/stackexchange.unfiltered.jsonl --wikihow data/interim/pools/wikihow.jsonl \
        --size 16 --sizes 8,16,32 --seed 0 --out data/ablations
    python scripts/09_ablation_data.py without-format --train data/lima/train.jsonl --out data/ablations/no-format/train.jsonl
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from lima.eval.ablations.draws import (ORDERS, build_variant, describe_set, draw_se, parse_sizes, se_groups,
                                       variant_plan, without_flag)
from lima.eval.ablations.report import render_data_report
from lima.eval.preference.flags import resolve_flags, write_flags
from lima.eval.judge.config import add_judge_args, judge_errors, resolve
from lima.errors import StageError
from lima.cli import run_main, setup_logging
from lima.dataset.contract import ContractError, check_row, read_contract_rows
from lima.funnel import Funnel, describe_inputs, write_stats
from lima.io import atomic_write, write_json, write_jsonl


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    # ---- the §5 variants from the pools
    pools = sub.add_parser("pools", help="the diversity, quality and quantity variants from the pools")
    pools.add_argument("--filtered", type=Path, required=True, help="filtered Stack Exchange pool, best first, with meta.site and meta.category (stage 01)")
    pools.add_argument("--unfiltered", type=Path, required=True, help="unfiltered Stack Exchange pool, likewise (stage 01)")
    pools.add_argument("--wikihow", type=Path, required=True, help="wikiHow pool (stage 02)")
    pools.add_argument("--size", type=int, default=2000, help="examples per set for diversity and quality (§5: 2,000)")
    pools.add_argument("--sizes", default="2000,4000,8000,16000,32000", help="the quantity series of filtered Stack Exchange (§5: 2K..32K)")
    pools.add_argument("--seed", type=int, default=0, help="the draws' random streams (one per size)")
    pools.add_argument("--tau", type=float, default=3.0, help="temperature over exchanges (§2.1: 3)")
    pools.add_argument("--order", choices=ORDERS, default="random",
                       help="questions inside an exchange: at random (default; every size one distribution), or best first as stage 01")
    pools.add_argument("--out", type=Path, required=True, help="folder: <variant>/train.jsonl (+ .stats.json), data.md, variants.json")
    # ---- Appendix E: without the format-constraint examples
    nofmt = sub.add_parser("without-format", help="the training set without its meta.format_constraint rows")
    nofmt.add_argument("--train", type=Path, required=True, help="the full training set (stage 04)")
    nofmt.add_argument("--flag", default="format_constraint", help="the meta flag whose rows are dropped")
    nofmt.add_argument("--flags", type=Path, default=None,
                       help="id -> flags for rows that carry none (GAIR/lima release rows), JSONL or CSV "
                            "(docs/evaluation.md); without it a configured judge classifies them")
    add_judge_args(nofmt)
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


def draw_variants(args, pools: dict, counts: Counter, sizes: list[int]):
    """(name, pool, n, rows, pool size) of every variant in plan order."""
    groups = {"se-filtered": se_groups(pools["se-filtered"], counts, args.filtered.name),
              "se-unfiltered": se_groups(pools["se-unfiltered"], counts, args.unfiltered.name)}
    for name, path in (("se-filtered", args.filtered), ("se-unfiltered", args.unfiltered)):
        if not any(groups[name].values()):
            raise StageError(path, "no row with meta.site and a STEM/Other meta.category to draw from")
    for name, pool, n in variant_plan(args.size, sizes):
        rows = (pools[pool][:n] if pool == "wikihow"
                else draw_se(groups, pool, n, args.seed, args.tau, args.order))
        yield name, pool, n, rows, len(pools[pool])


def build_pools(args) -> int:
    try:
        sizes = parse_sizes(args.sizes)
    except ValueError as e:
        raise StageError("--sizes", str(e)) from None
    if args.size < 1 or args.tau <= 0:
        raise StageError("--size/--tau", "--size must be at least 1 and --tau positive")
    counts = Counter()
    paths = {"se-filtered": args.filtered, "se-unfiltered": args.unfiltered, "wikihow": args.wikihow}
    pools = {name: read_pool(path, counts) for name, path in paths.items()}
    for name, rows in pools.items():
        if not rows:
            raise StageError(paths[name], "no usable training row in this pool")
    variants = []
    for name, pool, n, drawn, pool_size in draw_variants(args, pools, counts, sizes):
        rows, info = build_variant(drawn, n, pool_size)
        out = args.out / name / "train.jsonl"
        funnel = Funnel("ablation_data")
        funnel.read["pool_rows"] = pool_size
        funnel.kept["examples"] = len(rows)
        funnel.dropped.update({k: v for k, v in counts.items() if k.startswith(paths[pool].name)})
        role = ["quantity"] if n in sizes and pool == "se-filtered" else []
        role = (["diversity"] if n == args.size else []) + role
        info = {"name": name, "pool": pool, "pool_file": paths[pool].as_posix(), "role": role, **info,
                "data": describe_set(rows, pool)}
        funnel.notes["variant"] = info
        funnel.notes["per_site"] = dict(sorted(Counter((r.get("meta") or {}).get("site") or "-" for r in rows).items()))
        write_stats(out, funnel, args=args, inputs=describe_inputs([paths[pool]]), seed=args.seed)
        write_jsonl(out, rows)
        variants.append({**info, "train": out.as_posix()})
        d = info["data"]
        print(f"ablation data: {name}: {len(rows)} examples" + (f" (asked {n}; the pool has {pool_size})" if info["capped"] else "")
              + (f", {d['sites']} sites, {d['stem']} STEM / {d['other']} Other" if d["sites"] is not None else "")
              + f", median answer {d['median_answer_chars'] or 0:.0f} chars")
    plan = {"size": args.size, "sizes": sizes, "seed": args.seed, "tau": args.tau,
            "order": args.order, "variants": variants, "skipped_rows": dict(counts)}
    with atomic_write(args.out / "data.md") as f:
        f.write(render_data_report(plan))
    write_json(args.out / "variants.json", plan)
    return 0


def build_without_format(args) -> int:
    """The rows without meta.<flag>; release rows (no flags of their own) get theirs from --flags or
    the judge (lima/eval/preference/flags.py), and the flags used are written beside the output."""
    judge = resolve(args)
    if problems := list(judge.problems) + ([f"--flags {args.flags}: no such file"]
                                           if args.flags and not args.flags.is_file() else []):
        raise StageError("09_ablation_data.py", "; ".join(problems))
    counts = Counter()
    rows = read_contract_rows(args.train, counts)
    client = judge.client(args.out.parent / "judgments" / "flags.jsonl") if judge.enabled else None
    with judge_errors():
        record, origin = resolve_flags(rows, flag_file=args.flags, client=client, label=args.train.name,
                                       need=f"the rows with meta.{args.flag} to drop")
    if record["source"] != "rows":
        write_flags(args.out.parent / f"flags.{args.train.stem}.jsonl", rows, origin)
    kept, gone = without_flag(rows, args.flag)
    if not gone:
        hint = ("" if record["source"] == "rows" else
                f" ({record['n_unflagged']} of {record['n_rows']} rows carry no flags of their own, as GAIR/lima "
                f"release rows; flag source: {record['source']}): give FLAGS=file (--flags, id -> flags) naming "
                "the format-constraint training examples (Appendix E: 6), or configure a judge to classify them")
        raise StageError(args.train, f"no row has meta.{args.flag}: nothing to ablate{hint}")
    funnel = Funnel("ablation_data")
    funnel.read["rows"] = len(rows)
    funnel.kept["examples"] = len(kept)
    funnel.dropped[f"meta.{args.flag}"] = len(gone)
    funnel.dropped.update(counts)
    funnel.notes["dropped_ids"] = [r["id"] for r in gone]
    funnel.notes["flags"] = record
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
