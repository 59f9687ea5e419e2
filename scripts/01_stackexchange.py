"""Stage 01: Stack Exchange dumps -> LIMA's 200 STEM + 200 Other question/answer pairs (PAPER.md §2).

Reads one `<site>.7z` per site (Posts.xml streamed out of the archive) or extracted `<site>/Posts.xml`
folders, keeps title-only questions with a strongly positive top answer that passes the paper's
length and style rules, cleans the HTML, and draws the examples across exchanges with temperature
sampling (τ = 3). Also writes the pools the ablations draw on (every qualifying pair, and top
answers with no quality filter).

    python scripts/01_stackexchange.py --dumps data/sample/stackexchange --out data/interim/stackexchange.jsonl
    python scripts/01_stackexchange.py --dumps /dumps/se --out data/interim/stackexchange.jsonl -j 8
"""
from __future__ import annotations

import argparse
import logging
import multiprocessing
import sys
from pathlib import Path

from lima.errors import StageError
from lima.rng import make_rng
from lima.progress import progress
from lima.cli import run_main, setup_logging
from lima.funnel import Funnel, describe_inputs, write_stats
from lima.io import write_jsonl
from lima.sources.stackexchange.archive import READERS, MissingTable, find_sites, posts_blocks, table_blocks
from lima.sources.stackexchange.dialogues import comment_chains
from lima.sources.stackexchange.posts import collect_site, read_comments
from lima.sources.stackexchange.sampling import TAU, temperature_sample, to_dialogue, to_record
from lima.sources.stackexchange.sites import classify, site_key

log = logging.getLogger("lima.stackexchange")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    # ---- inputs and outputs
    p.add_argument("--dumps", type=Path, required=True, help="folder of <site>.7z archives and/or <site>/Posts.xml folders")
    p.add_argument("--out", type=Path, required=True, help="output JSONL; stats go to <name>.stats.json beside it")
    p.add_argument("--pools", type=Path, default=None, help="folder for the ablation pools (default: <out dir>/pools)")
    p.add_argument("--dialogues-out", type=Path, default=None,
                   help="also read Comments.xml and write the comment chains under qualifying answers as "
                        "multi-turn dialogues (PAPER.md §10) to this JSONL")
    p.add_argument("--sites", default=None, help="comma-separated sites to read (domain or short name; default: all)")
    # ---- the paper's selection
    p.add_argument("--stem-quota", type=int, default=200, help="STEM examples to draw (Table 1: 200)")
    p.add_argument("--other-quota", type=int, default=200, help="Other examples to draw (Table 1: 200)")
    p.add_argument("--tau", type=float, default=TAU, help="sampling temperature over exchanges (§2.1: 3)")
    p.add_argument("--length-on", choices=("html", "text"), default="html",
                   help="measure the 1,200-4,096 character rule on the answer's HTML (default, see "
                        "PAPER.md §15) or on the cleaned text")
    p.add_argument("--max-questions-per-site", type=int, default=100_000,
                   help="hold at most this many of a site's best-scoring title-only questions (memory bound "
                        "for Stack Overflow; more than any quota or pool draws from one site)")
    p.add_argument("--default-category", choices=("stem", "other"), default=None,
                   help="category for a site missing from lima/sources/stackexchange/sites.py (default: such a site is an error)")
    # ---- running
    p.add_argument("--seed", type=int, default=0, help="seed of the sampling and of the title/body choice")
    p.add_argument("-j", "--jobs", type=int, default=1, help="sites read in parallel (output identical for any value)")
    p.add_argument("--reader", choices=READERS, default="auto",
                   help="how to stream Posts.xml out of a .7z: libarchive (default), the 7z binary, or py7zr (small archives only)")
    p.add_argument("-v", "--verbose", action="store_true")
    return p.parse_args(argv)


def read_site(job):
    src, category, args = job
    res = collect_site(posts_blocks(src, args.reader), str(src.path), src.site, category,
                       args.length_on, args.max_questions_per_site)
    if args.dialogues_out and res.qualifying:
        try:
            comments = read_comments(table_blocks(src, "Comments.xml", args.reader), str(src.path),
                                     {p["answer_id"] for p in res.qualifying}, res.read)
        except MissingTable:
            res.read["sites_without_comments"] += 1
            log.warning("%s: no Comments.xml, so no dialogues from this site", src.site)
            return res
        res.dialogues = [to_dialogue(c, args.seed) for c in comment_chains(comments, res.qualifying)]
    return res


def main(argv=None) -> int:
    args = parse_args(argv)
    setup_logging(args.verbose)
    if args.stem_quota < 0 or args.other_quota < 0 or args.jobs < 1 or args.max_questions_per_site < 1:
        raise StageError("arguments", "quotas must be >= 0, --jobs and --max-questions-per-site >= 1")

    # ---- which sites, in which category
    sources = find_sites(args.dumps)
    wanted = {site_key(s) for s in args.sites.split(",") if s.strip()} if args.sites else None
    funnel = Funnel("stackexchange")
    jobs, excluded = [], {}
    for src in sources:
        if wanted is not None and site_key(src.site) not in wanted:
            continue
        try:
            category, why = classify(src.site, args.default_category)
        except KeyError:
            raise StageError(src.path, f"unknown site {src.site!r}: add it to scripts/lima/sources/stackexchange/sites.py "
                             "or pass --default-category stem|other") from None
        if category is None:
            excluded[src.site] = why
            continue
        jobs.append((src, category, args))
    if wanted is not None:
        missing = wanted - {site_key(s.site) for s in sources}
        if missing:
            raise StageError(args.dumps, f"no dump for --sites {', '.join(sorted(missing))}")
    if not jobs:
        raise StageError(args.dumps, "no usable site (all excluded or filtered out)")
    log.info("%d sites to read (%d excluded), %d worker(s)", len(jobs), len(excluded), args.jobs)

    # ---- read every site (in parallel; results come back in site order)
    results = []
    if args.jobs > 1 and len(jobs) > 1:
        with multiprocessing.get_context("fork").Pool(min(args.jobs, len(jobs))) as pool:
            for res in progress(pool.imap(read_site, jobs), total=len(jobs), desc="sites", unit="site"):
                results.append(res)
    else:
        for job in progress(jobs, desc="sites", unit="site"):
            results.append(read_site(job))

    # ---- sample per category with temperature τ over exchanges
    quotas = {"stem": args.stem_quota, "other": args.other_quota}
    records, quota_report, per_site = [], {}, {}
    for res in results:
        funnel.read.update(res.read)
        funnel.dropped.update(res.dropped)
        per_site[res.site] = {"category": res.category, "qualifying": len(res.qualifying),
                              "unfiltered": len(res.unfiltered), "sampled": 0,
                              "questions": res.read["questions"], "dropped": dict(sorted(res.dropped.items()))}
    for category, quota in quotas.items():
        pools = {r.site: r.qualifying for r in results if r.category == category}
        drawn = temperature_sample(pools, quota, make_rng(args.seed, "sample", category), args.tau)
        for pair in drawn:
            per_site[pair["site"]]["sampled"] += 1
        available = sum(len(v) for v in pools.values())
        quota_report[category] = {"quota": quota, "available": available, "kept": len(drawn),
                                  "shortfall": quota - len(drawn)}
        funnel.kept[category] = len(drawn)
        funnel.dropped["over_quota"] += available - len(drawn)
        if len(drawn) < quota:
            log.warning("%s: only %d qualifying pairs for a quota of %d", category, len(drawn), quota)
        records.extend(to_record(p, args.seed) for p in drawn)
    funnel.kept["total"] = len(records)
    funnel.notes.update({
        "quota": quota_report,
        "prompt_field": {f: sum(r["meta"]["prompt_field"] == f for r in records) for f in ("title", "body")},
        "sites": per_site,
        "excluded_sites": excluded,
    })

    # ---- pools for the ablations (PAPER.md §9), best first across sites
    def best_first(pairs):
        return sorted(pairs, key=lambda p: (-p["question_score"], site_key(p["site"]), p["question_id"]))
    pools_dir = args.pools or args.out.parent / "pools"
    filtered = [to_record(p, args.seed) for p in best_first(x for r in results for x in r.qualifying)]
    unfiltered = [to_record(p, args.seed) for p in best_first(x for r in results for x in r.unfiltered)]
    write_jsonl(pools_dir / "stackexchange.filtered.jsonl", filtered)
    write_jsonl(pools_dir / "stackexchange.unfiltered.jsonl", unfiltered)
    funnel.notes["pools"] = {"filtered": len(filtered), "unfiltered": len(unfiltered)}
    if args.dialogues_out:
        dialogues = sorted((d for r in results for d in r.dialogues), key=lambda d: d["id"])
        write_jsonl(args.dialogues_out, dialogues)
        funnel.notes["dialogues"] = {"chains": len(dialogues), "file": str(args.dialogues_out)}

    # ---- outputs: the stats, then the target file last (Make's stamp)
    inputs = [s.path / "Posts.xml" if s.kind == "folder" else s.path for s, *_ in jobs]
    write_stats(args.out, funnel, args=args,
                inputs=describe_inputs(inputs), seed=args.seed)
    write_jsonl(args.out, records)
    print(f"stackexchange: {len(records)} examples ({funnel.kept['stem']} STEM, {funnel.kept['other']} Other) "
          f"from {len(jobs)} sites -> {args.out}; pools {len(filtered)} filtered / {len(unfiltered)} unfiltered")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
