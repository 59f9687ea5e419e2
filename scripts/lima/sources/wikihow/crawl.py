"""Which wikiHow articles: the paper's draw, a category first and then an article in it (§2.1).

Discovery follows the site's category pages (docs/data.md#finding-articles): a top-level category page,
its `?pg=N` pages (`#large_pagination`), its sub-categories (`#subcats`) to a set depth, and the
article links of each (`#cat_all .responsive_thumb a`). A category is discovered only when the draw
first lands on it, so a 200-article crawl fetches the listings it needs and no more.

With the WikiHow dataset CSVs there are no categories: the draw is uniform over articles.
"""
from __future__ import annotations

import heapq
import logging
from typing import Callable, Iterable
from urllib.parse import quote, unquote

from bs4 import BeautifulSoup

from lima.rng import make_rng
from lima.funnel import Funnel
from lima.sources.wikihow.fetch import Fetcher, Page, key_of
from lima.sources.wikihow.article import ParseSkip
from lima.sources.wikihow.page import decode_page

log = logging.getLogger("lima.wikihow")

# The 19 top-level categories (docs/data.md#the-19-top-level-categories); the paper samples "out of 19" (§2.1).
CATEGORIES = (
    "Arts and Entertainment", "Cars & Other Vehicles", "Computers and Electronics",
    "Education and Communications", "Family Life", "Finance and Business",
    "Food and Entertaining", "Health", "Hobbies and Crafts", "Holidays and Traditions",
    "Home and Garden", "Personal Care and Style", "Pets and Animals", "Philosophy and Religion",
    "Relationships", "Sports and Fitness", "Travel", "Work World", "Youth",
)
# Namespaced pages (Category:, Special:, User:, ...) and site pages are never articles.
_NOT_ARTICLES = {"/Main-Page", "/index.php", "/api.php"}


def category_key(name: str) -> str:
    """`Cars & Other Vehicles` -> `/Category:Cars-%26-Other-Vehicles`."""
    return "/Category:" + quote(name.strip().replace(" ", "-"), safe="-'")


def is_article_key(key: str) -> bool:
    path = key.split("#")[0]
    return (path.startswith("/") and "?" not in path and path.count("/") == 1 and len(path) > 1
            and ":" not in unquote(path) and path not in _NOT_ARTICLES)


def parse_category_page(html: str, base_url: str) -> tuple[list[str], list[str], list[str]]:
    """(article keys, sub-category keys, other listing pages) of one category page, in page order."""
    soup = BeautifulSoup(html, "lxml")

    def keys(selector: str) -> list[str]:
        out = []
        for a in soup.select(selector):
            key = key_of(a.get("href", ""), base_url)
            key = key.split("#")[0] if key else None
            if key and key not in out:
                out.append(key)
        return out

    articles = [k for k in keys("#cat_all .responsive_thumb a, #cat_all a") if is_article_key(k)]
    subcats = [k for k in keys("#subcats a") if k.startswith("/Category:")]
    # Page 1 of a listing is the bare category URL; `?pg=1` would fetch it twice.
    pages = [k.removesuffix("?pg=1") for k in keys("#large_pagination a") if k.startswith("/Category:")]
    return articles, subcats, pages


def discover(fetcher: Fetcher, category: str, depth: int, funnel: Funnel) -> list[str]:
    """Article keys of a top-level category: its pages, then sub-categories down to `depth`."""
    start = category_key(category)
    queue, seen, articles = [(start, 0)], {start}, []
    while queue:
        key, level = queue.pop(0)
        page = fetcher.get(key, category=category)
        funnel.read["category_pages"] += 1
        if not page.ok:
            funnel.dropped[f"category_page_{page.status}"] += 1
            continue
        try:
            html = decode_page(page.body, page.content_type)
        except ParseSkip as e:
            funnel.dropped[f"category_page_{e.reason}"] += 1
            continue
        found, subcats, pages = parse_category_page(html, fetcher.base_url)
        articles.extend(k for k in found if k not in articles)
        nxt = [(k, level) for k in pages] + ([(k, level + 1) for k in subcats] if level < depth else [])
        for k, lv in nxt:
            if k not in seen:
                seen.add(k)
                queue.append((k, lv))
    return articles


def sample_crawl(fetcher: Fetcher, categories: Iterable[str], *, target: int, depth: int,
                 seed: int, build: Callable[[str, Page, str], dict], funnel: Funnel,
                 progress=None) -> list[dict]:
    """Draw a category uniformly, then an article in it, without replacement, until `target`
    articles parsed or every category ran dry. Returns the records in draw order."""
    rng = make_rng(seed, "wikihow-crawl")
    active = list(categories)
    funnel.read["categories"] = len(active)
    listings: dict[str, list[str]] = {}
    seen: set[str] = set()
    records: list[dict] = []
    while len(records) < target and active:
        category = rng.choice(active)
        if category not in listings:
            listings[category] = discover(fetcher, category, depth, funnel)
            funnel.read["articles_listed"] += len(listings[category])
            if not listings[category]:
                funnel.dropped["empty_category"] += 1
                log.warning("category %r lists no articles", category)
        remaining = listings[category]
        if not remaining:
            active.remove(category)
            continue
        key = remaining.pop(rng.randrange(len(remaining)))
        if key in seen:  # listed under two categories: drawn once
            funnel.dropped["duplicate_article"] += 1
            continue
        seen.add(key)
        funnel.read["articles_drawn"] += 1
        page = fetcher.get(key, category=category)
        if not page.ok:
            reason = {"disallowed": "robots_disallowed", "gave_up": "fetch_gave_up"}.get(
                page.status, f"http_{page.status}")
            funnel.dropped[reason] += 1
            continue
        try:
            records.append(build(key, page, category))
        except ParseSkip as e:
            funnel.dropped[e.reason] += 1
            log.info("skip %s: %s %s", key, e.reason, e.detail)
            continue
        if progress is not None:
            progress.update(1)
    return records


def sample_uniform(items: Iterable[tuple[str, dict]], *, target: int, seed: int) -> list[dict]:
    """The `target` records with the smallest seeded key per id: a uniform draw without
    replacement over a stream of any length, independent of the file's order, in O(target) memory."""
    heap: list[tuple[float, str, dict]] = []
    for ident, record in items:
        item = (-make_rng(seed, "wikihow-csv", ident).random(), ident, record)
        if len(heap) < target:
            heapq.heappush(heap, item)
        elif item > heap[0]:
            heapq.heapreplace(heap, item)
    return [r for _, _, r in sorted(heap, key=lambda t: (-t[0], t[1]))]
