"""Stage 02: wikiHow articles -> data/interim/wikihow.jsonl (§2.1).

200 articles: a category drawn uniformly out of the 19, then an article in it (seeded, without
replacement), until the quota is met with articles that parse. Prompt = the title as "How to ...?",
response = intro, `## method` lines and numbered steps, with links, images and extra sections
removed and "This article..." rewritten as "The following answer...". Pages come from a polite
cached crawler (robots.txt, crawl delay, backoff); `--offline` reads only the cache. The WikiHow
dataset CSVs (wikihowAll.csv / wikihowSep.csv) are an offline alternative.

  python scripts/02_wikihow.py --cache data/sample/wikihow --offline --quota 12 \
      --out data/interim/wikihow.jsonl --pool-out data/interim/pools/wikihow.jsonl
  python scripts/02_wikihow.py --cache data/raw/wikihow --user-agent 'lima-repro/1.0 (you@example.org)' \
      --out data/interim/wikihow.jsonl --pool-out data/interim/pools/wikihow.jsonl
  python scripts/02_wikihow.py --csv data/raw/wikihowSep.csv --out data/interim/wikihow.jsonl
"""
import argparse
import sys
from pathlib import Path

from lima.cli import run_main, setup_logging
from lima.errors import StageError
from lima.funnel import Funnel
from lima.io import check_writable
from lima.sources.wikihow.crawl import CATEGORIES
from lima.sources.wikihow.fetch import BASE_URL, INDEX, Fetcher
from lima.sources.wikihow.article import OPTIONAL_SECTIONS
from lima.sources.wikihow.stage import from_csv, from_site, write_outputs

def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    # ---- inputs and outputs
    p.add_argument("--cache", type=Path, help="page cache folder (robots.txt, pages/, index.jsonl); "
                                              "required unless --csv")
    p.add_argument("--offline", action="store_true", help="read only the cache; a miss is an error")
    p.add_argument("--csv", type=Path, help="wikihowAll.csv or wikihowSep.csv instead of crawling "
                                            "(no URL or category; uniform over articles)")
    p.add_argument("--out", type=Path, required=True, help="output JSONL (stats beside it)")
    p.add_argument("--pool-out", type=Path, help="also write every parsed article drawn, up to "
                                                 "--pool-quota (the ablations' pool)")
    # ---- sampling
    p.add_argument("--quota", type=int, default=200, help="articles in --out (Table 1: 200)")
    p.add_argument("--pool-quota", type=int, default=2000,
                   help="articles in --pool-out (§5: the quantity ablation draws up to 2,000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the category/article draw")
    p.add_argument("--categories", default=",".join(CATEGORIES),
                   help="comma-separated top-level categories to draw from (default: the 19, §2.1)")
    p.add_argument("--category-depth", type=int, default=1,
                   help="sub-category levels listed below a top-level category (0 = its own pages)")
    # ---- shaping
    p.add_argument("--keep-sections", default="",
                   help=f"comma-separated sections kept instead of dropped: {','.join(OPTIONAL_SECTIONS)} "
                        "(default none; the paper removed 'certain sections', §2.1)")
    # ---- crawling etiquette
    p.add_argument("--base-url", default=BASE_URL, help="site root (tests point it at 127.0.0.1)")
    p.add_argument("--user-agent", help="descriptive User-Agent with a contact; required to crawl")
    p.add_argument("--delay", type=float, default=3.0,
                   help="seconds between requests, raised to robots.txt's Crawl-delay "
                        "(wikiHow asks <= 1 page / 3 s, docs/data.md#crawling-politely)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    p.add_argument("--tries", type=int, default=4, help="attempts per page before giving up on it")
    p.add_argument("--backoff", type=float, default=5.0,
                   help="seconds before the first retry, doubled each time (Retry-After wins if longer)")
    p.add_argument("--refetch-failed", action="store_true",
                   help="try again pages the cache records as given up (default: never refetch)")
    p.add_argument("-v", "--verbose", action="store_true")
    return p.parse_args(argv)


def check_args(args) -> tuple[list[str], tuple[str, ...]]:
    """Every configuration problem in one message, before any page is read."""
    problems = []
    categories = [c.strip() for c in args.categories.split(",") if c.strip()]
    keep = tuple(s.strip() for s in args.keep_sections.split(",") if s.strip())
    if args.csv is None and args.cache is None:
        problems.append("--cache DIR (or --csv FILE) is required")
    if args.csv is not None and not args.csv.is_file():
        problems.append(f"--csv {args.csv}: no such file")
    if args.csv is None and args.offline and args.cache is not None and not args.cache.is_dir():
        problems.append(f"--cache {args.cache}: no such folder (--offline reads only the cache)")
    if args.csv is None and not args.offline and not args.user_agent:
        problems.append("--user-agent: set a descriptive User-Agent with a contact to crawl, "
                        "e.g. 'lima-repro/1.0 (you@example.org)', or use --offline")
    if unknown := [s for s in keep if s not in OPTIONAL_SECTIONS]:
        problems.append(f"--keep-sections: unknown {unknown}; choose from {list(OPTIONAL_SECTIONS)}")
    if args.quota < 1 or args.pool_quota < 0 or args.tries < 1 or args.category_depth < 0:
        problems.append("--quota >= 1, --pool-quota >= 0, --tries >= 1, --category-depth >= 0")
    if not categories:
        problems.append("--categories: empty")
    if args.delay < 0 or args.timeout <= 0:
        problems.append("--delay >= 0 and --timeout > 0")
    if problems:
        raise StageError("02_wikihow.py", "; ".join(problems))
    return categories, keep


def main(argv=None):
    args = parse_args(argv)
    setup_logging(args.verbose)
    categories, keep = check_args(args)
    check_writable(args.out, *([args.pool_out] if args.pool_out else []))
    funnel = Funnel("wikihow")
    target = max(args.quota, args.pool_quota if args.pool_out else 0)
    if args.csv is not None:
        records = from_csv(args.csv, target=target, seed=args.seed, keep=keep, funnel=funnel)
    else:
        fetcher = Fetcher(args.cache, base_url=args.base_url, user_agent=args.user_agent, delay=args.delay,
                          timeout=args.timeout, tries=args.tries, backoff=args.backoff, offline=args.offline,
                          refetch_failed=args.refetch_failed)
        records = from_site(fetcher, categories, target=target, depth=args.category_depth, seed=args.seed,
                            keep=keep, funnel=funnel)
    out, pool = write_outputs(records, funnel, out=args.out, quota=args.quota, pool_out=args.pool_out,
                              pool_quota=args.pool_quota, args=args, seed=args.seed,
                              inputs=[args.csv] if args.csv is not None else [args.cache / INDEX])
    print(f"wikihow: {len(out)} articles -> {args.out}"
          + (f", pool {len(pool)} -> {args.pool_out}" if args.pool_out else "")
          + f"; dropped {sum(funnel.dropped.values())}"
          + (f"; {funnel.notes['crawl'].get('requests', 0)} requests" if args.csv is None else ""))
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
