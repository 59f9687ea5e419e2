"""The raw text of the sample dumps, for pretraining the sample profile's tiny base model.

Everything the dumps hold (every post, page and story), not only the examples the stages select:
the stand-in for LLaMA's pretraining corpus.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from lima.sources.stackexchange.archive import find_sites, posts_blocks
from lima.sources.stackexchange.html import clean_html
from lima.sources.stackexchange.posts import filter_bad_chars, iter_rows


def stackexchange_texts(dumps: Path) -> Iterator[str]:
    from collections import Counter
    for src in find_sites(dumps):
        for row in iter_rows(filter_bad_chars(posts_blocks(src), Counter()), str(src.path)):
            if row.get("PostTypeId") not in ("1", "2"):
                continue
            text = clean_html(row.get("Body") or "").text
            title = row.get("Title") or ""
            if title or text:
                yield f"{title}\n\n{text}".strip()


def wikihow_texts(cache: Path) -> Iterator[str]:
    from lima.sources.wikihow.article import ParseSkip, render_response
    from lima.sources.wikihow.page import decode_page, parse_article
    for page in sorted((cache / "pages").glob("*.html")):
        if page.name.startswith("Category"):
            continue
        try:
            article = parse_article(decode_page(page.read_bytes()))
        except ParseSkip:
            continue
        yield f"{article.title}\n\n{render_response(article)}"


def reddit_texts(paths: list[Path]) -> Iterator[str]:
    from lima.sources.reddit.decode import iter_blocks
    from lima.sources.reddit.files import find_dumps
    from lima.sources.reddit.rows import parse_line
    for dump in find_dumps(paths):
        for buf, end in iter_blocks(dump.path):
            for line in buf[:end].splitlines():
                row, _ = parse_line(line)
                if row is None:
                    continue
                parts = [row.get(k) for k in ("title", "selftext", "body")]
                text = "\n\n".join(p for p in parts if isinstance(p, str) and p.strip()
                                   and p.strip() not in ("[deleted]", "[removed]"))
                if text:
                    yield text
