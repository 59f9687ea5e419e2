"""Stage 01: Stack Exchange dumps -> LIMA's 200 STEM + 200 Other question/answer pairs (§2.1).

Reads one `<site>.7z` per site (Posts.xml streamed out of the archive) or extracted `<site>/Posts.xml`
folders, keeps title-only questions with a strongly positive top answer that passes the paper's
length and style rules, cleans the HTML, and draws the examples across exchanges with temperature
sampling (τ = 3). Also writes the pools the ablations draw on (every qualifying pair, and top
answers with no quality filter) and the held-out perplexity set (Appendix B), drawn by the same sampler.

    python scripts/01_stackexchange.py --dumps data/sample/stackexchange --out data/interim/stackexchange.jsonl
    python scripts/01_stackexchange.py --dumps /dumps/se --out data/interim/stackexchange.jsonl -j 8
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from lima.cli import run_main, setup_logging
from lima.errors import StageError
from lima.io import check_writable
from lima.sources.stackexchange.archive import READERS
from lima.sources.stackexchange.sampling import TAU
from lima.sources.stackexchange.stage import (ReadOptions, choose_sites, draw, read_sites, write_dialogues,
                                              write_pools, write_target)

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
                        "multi-turn dialogues (§6) to this JSONL")
    p.add_argument("--sites", default=None, help="comma-separated sites to read (domain or short name; default: all)")
    # ---- the paper's selection
    p.add_argument("--stem-quota", type=int, default=200, help="STEM examples to draw (Table 1: 200)")
    p.add_argument("--other-quota", type=int, default=200, help="Other examples to draw (Table 1: 200)")
    p.add_argument("--tau", type=float, default=TAU, help="sampling temperature over exchanges (§2.1: 3)")
    p.add_argument("--length-on", choices=("html", "text"), default="html",
                   help="measure the 1,200-4,096 character rule on the answer's HTML (default, see "
                        "docs/paper.md#measured-in-the-release) or on the cleaned text")
    p.add_argument("--max-questions-per-site", type=int, default=100_000,
                   help="hold at most this many of a site's best-scoring title-only questions (memory bound "
                        "for Stack Overflow; more than any quota or pool draws from one site)")
    p.add_argument("--default-category", choices=("stem", "other"), default=None,
                   help="category for a site missing from lima/sources/stackexchange/sites.py (default: such a site is an error)")
    # ---- running
    p.add_argument("--seed", type=int, default=0, help="seed of the sampling and of the title/body choice")
    p.add_argument("-j", "--jobs", type=int, default=1, help="sites read in parallel (output identical for any value)")
    p.add_argument("--reader", choices=READERS, default="auto",
                   help="how to stream Posts.xml out of a .7z: libarchive (default) or py7zr (small archives only)")
    p.add_argument("-v", "--verbose", action="store_true")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    setup_logging(args.verbose)
    if args.stem_quota < 0 or args.other_quota < 0 or args.jobs < 1 or args.max_questions_per_site < 1:
        raise StageError("arguments", "quotas must be >= 0, --jobs and --max-questions-per-site >= 1")
    pools_dir = args.pools or args.out.parent / "pools"
    check_writable(args.out, pools_dir / "stackexchange.filtered.jsonl", *([args.dialogues_out] if args.dialogues_out else []))

    sites = choose_sites(args.dumps, args.sites, args.default_category)
    log.info("%d sites to read (%d excluded), %d worker(s)", len(sites.jobs), len(sites.excluded), args.jobs)
    opts = ReadOptions(args.reader, args.length_on, args.max_questions_per_site, bool(args.dialogues_out), args.seed)
    results = read_sites(sites, opts, args.jobs)
    records, funnel = draw(results, {"stem": args.stem_quota, "other": args.other_quota}, args.seed, args.tau,
                           sites.excluded)
    pools = write_pools(results, pools_dir, args.seed, funnel, records, args.tau)
    if args.dialogues_out:
        write_dialogues(results, args.dialogues_out, funnel)
    write_target(args.out, records, funnel, sites, args, args.seed)
    print(f"stackexchange: {len(records)} examples ({funnel.kept['stem']} STEM, {funnel.kept['other']} Other) "
          f"from {len(sites.jobs)} sites -> {args.out}; pools {pools['filtered']} filtered / {pools['unfiltered']} unfiltered / "
          f"{pools['heldout']} held out")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
