"""Stage 02's steps: the articles from the dataset CSV or from the site (its cache), then the files.

The numbered script only parses its flags and calls these; the draw itself is in crawl.py.
"""
from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

from lima.funnel import Funnel, describe_inputs, write_stats
from lima.io import write_jsonl
from lima.progress import progress
from lima.sources.wikihow.crawl import sample_crawl, sample_uniform
from lima.sources.wikihow.fetch import Fetcher
from lima.sources.wikihow.article import ParseSkip, make_record
from lima.sources.wikihow.csv_dataset import csv_slug, iter_csv_articles
from lima.sources.wikihow.page import decode_page, parse_article

log = logging.getLogger("lima.wikihow")


def from_csv(csv: Path, *, target: int, seed: int, keep: tuple[str, ...], funnel: Funnel) -> list[dict]:
    """The WikiHow dataset CSV: uniform over articles (there are no categories)."""
    def parsed():
        seen = set()
        for title, article in progress(iter_csv_articles(csv), desc="csv", unit=" art"):
            funnel.read["csv_articles"] += 1
            if isinstance(article, ParseSkip):
                funnel.dropped[article.reason] += 1
                continue
            slug = csv_slug(title)
            if not slug or slug in seen:
                funnel.dropped["duplicate_title" if slug else "no_title"] += 1
                continue
            seen.add(slug)
            yield slug, make_record(slug, article, url=None, category=None, keep=keep, input=csv.name)
    return sample_uniform(parsed(), target=target, seed=seed)


def from_site(fetcher: Fetcher, categories: list[str], *, target: int, depth: int, seed: int,
              keep: tuple[str, ...], funnel: Funnel) -> list[dict]:
    """The site (or its cache): a category, then an article in it; the fetcher is closed after."""
    def build(key, page, category):
        article = parse_article(decode_page(page.body, page.content_type))
        return make_record(key.lstrip("/"), article, url=fetcher.url(key), category=category, keep=keep)

    with progress(total=target, desc="wikihow", unit=" art") as bar:
        try:
            records = sample_crawl(fetcher, categories, target=target, depth=depth, seed=seed, build=build,
                                   funnel=funnel, progress=bar)
        finally:
            fetcher.close()
    funnel.notes["crawl"] = dict(sorted(fetcher.stats.items()))
    funnel.notes["crawl_delay_s"] = fetcher.crawl_delay
    return records


def write_outputs(records: list[dict], funnel: Funnel, *, out: Path, quota: int, pool_out: Path | None,
                  pool_quota: int, inputs: list[Path], args, seed: int) -> tuple[list[dict], list[dict]]:
    """The pool first, the stage's target file last, each after its stats; returns (out, pool) rows."""
    rows = records[:quota]
    funnel.kept["articles"] = len(rows)
    funnel.notes["quota"] = quota
    funnel.notes["quota_met"] = len(rows) >= quota
    funnel.notes["by_category"] = dict(sorted(Counter(str(r["meta"]["category"]) for r in rows).items()))
    if len(rows) < quota:
        log.warning("only %d articles parsed, the quota is %d", len(rows), quota)
    stat_kw = dict(args=args, inputs=describe_inputs(p for p in inputs if p.exists()), seed=seed)
    pool = records[:pool_quota] if pool_out else []
    if pool_out:
        funnel.kept["pool"] = len(pool)
        write_stats(pool_out, funnel, **stat_kw)
        write_jsonl(pool_out, pool)
    write_stats(out, funnel, **stat_kw)
    write_jsonl(out, rows)
    return rows, pool
