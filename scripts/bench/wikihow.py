"""Benchmark of stage 02's parser: pages/s of the stage's per-page work against BeautifulSoup alone.

The sample cache's article pages are replicated to --pages pages (>= 2,000) and fed, in memory,
through what the stage does with a cached page (decode, parse, shape the record), then through
`BeautifulSoup(html, "lxml")` alone: the floor, since the stage cannot parse HTML faster than the
parser it builds on. Both run in the same process, best of --repeats, and the ratio stage/floor
is the figure to watch (1.0 would mean the shaping costs nothing).

  .venv/bin/python scripts/bench/wikihow.py --out results/bench/wikihow.json
"""
import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bs4 import BeautifulSoup  # noqa: E402

from lima.io import write_json  # noqa: E402
from lima.sources.wikihow.fetch import load_index  # noqa: E402
from lima.sources.wikihow.article import ParseSkip, make_record  # noqa: E402
from lima.sources.wikihow.page import decode_page, parse_article  # noqa: E402
from lima.sources.wikihow.crawl import is_article_key  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def stage_pass(pages) -> int:
    """The stage's work per cached page; returns how many became records."""
    n = 0
    for key, raw, ctype in pages:
        try:
            make_record(key.lstrip("/"), parse_article(decode_page(raw, ctype)), url=None, category=None)
            n += 1
        except ParseSkip:
            pass
    return n


def floor_pass(texts) -> int:
    for text in texts:
        BeautifulSoup(text, "lxml")
    return len(texts)


def best_rate(fn, arg, n_pages, repeats) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(arg)
        best = min(best, time.perf_counter() - t0)
    return n_pages / best


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cache", type=Path, default=ROOT / "data" / "sample" / "wikihow")
    p.add_argument("--pages", type=int, default=2000, help="pages per pass (the sample replicated)")
    p.add_argument("--repeats", type=int, default=3, help="passes per side; the best is kept")
    p.add_argument("--out", type=Path, default=ROOT / "results" / "bench" / "wikihow.json")
    args = p.parse_args(argv)

    index = load_index(args.cache)
    unique = [(e["key"], (args.cache / e["file"]).read_bytes(), e["content_type"])
              for e in index.values() if e["status"] == 200 and is_article_key(e["key"])]
    pages = [unique[i % len(unique)] for i in range(args.pages)]
    texts = []
    for _, raw, ctype in pages:
        try:
            texts.append(decode_page(raw, ctype))
        except ParseSkip:
            texts.append(raw.decode("utf-8", "replace"))
    records = stage_pass(pages[: len(unique)])  # warm-up, and a check that pages parse

    stage = best_rate(stage_pass, pages, len(pages), args.repeats)
    floor = best_rate(floor_pass, texts, len(texts), args.repeats)
    result = {
        "stage": "wikihow",
        "what": "pages/s: decode + parse + shape one cached page (stage) vs BeautifulSoup(html, 'lxml') alone (floor)",
        "pages": len(pages), "unique_pages": len(unique), "records_per_unique_pass": records,
        "mean_page_bytes": round(sum(len(r) for _, r, _ in pages) / len(pages)),
        "repeats": args.repeats,
        "stage_pages_per_s": round(stage, 1), "floor_pages_per_s": round(floor, 1),
        "ratio_stage_to_floor": round(stage / floor, 3),
        "python": platform.python_version(), "cpus": os.cpu_count(),
    }
    write_json(args.out, result)
    print(f"wikihow parse: {stage:.0f} pages/s vs BeautifulSoup alone {floor:.0f} pages/s "
          f"(ratio {stage / floor:.2f}) over {len(pages)} pages -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
