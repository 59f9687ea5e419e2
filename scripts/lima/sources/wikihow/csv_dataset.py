"""The WikiHow dataset CSVs (Koupaee & Wang 2018; docs/data.md#the-wikihow-dataset-csvs) -> Articles.

The stage's other input besides the crawl: wikihowAll.csv (one row per article) or wikihowSep.csv
(one row per step). They lose some of the page's structure (no intro in wikihowAll.csv, no Tips).
"""
from __future__ import annotations

import csv
import re
import sys
from pathlib import Path
from typing import Iterator

from lima.errors import StageError
from lima.sources.wikihow.article import (METHOD_PREFIX, Article, Method, ParseSkip, clean_text, fix_spacing,
                                          join_step, rewrite_opening)


ALL_COLUMNS = {"headline", "title", "text"}
SEP_COLUMNS = {"overview", "headline", "text", "sectionLabel", "title"}
# In wikihowAll.csv the step texts of an article are joined with "," right after a sentence end
# (".," ";," "!," or a line break, then a space); an ordinary comma follows a word, not a mark.
_ALL_STEP_SPLIT = re.compile(r"(?<!e\.g\.)(?<!i\.e\.)(?<=[.!?;:\"')\]\n]),(?=\s)")
_TITLE_DUP_SUFFIX = re.compile(r"(?<=[A-Za-z)])\d+$")  # "How to Be an Organized Artist1"


def csv_slug(title: str) -> str:
    """`How to Be an Organized Artist1` -> `Be-an-Organized-Artist1` (the suffix keeps ids unique)."""
    t = re.sub(r"^how to\s+", "", title.strip(), flags=re.I)
    return re.sub(r"[^\w']+", "-", t).strip("-")


def _csv_detail(text: str) -> str:
    """A CSV step text: its first paragraph is the detail, later lines its sub-bullets."""
    lines = [clean_text(x) for x in text.strip().split("\n")]
    # The dataset's scraper left a ";" after the first paragraph of each article.
    lines = [re.sub(r"(?<=[.!?\w]);$", "", x) for x in lines]
    lines = [x for x in lines if x]
    if not lines:
        return ""
    return lines[0] + "".join(f"\n   * {x}" for x in lines[1:])


def _article_from_all(row: dict) -> Article:
    headlines = [clean_text(h).rstrip(",").strip() for h in row["headline"].split("\n")]
    headlines = [h for h in headlines if h]
    texts = [t for t in _ALL_STEP_SPLIT.split(row["text"] or "") if t.strip()]
    if not headlines:
        raise ParseSkip("no_steps")
    if len(texts) != len(headlines):
        # Pairing them anyway would put a detail under the wrong headline.
        raise ParseSkip("csv_step_count_mismatch")
    steps = [fix_spacing(join_step(h, _csv_detail(t))) for h, t in zip(headlines, texts)]
    return Article(title=_TITLE_DUP_SUFFIX.sub("", clean_text(row["title"])), intro="",
                   methods=[Method("Steps", steps)])


def _article_from_sep(rows: list[dict]) -> Article:
    sections: dict[str, list[str]] = {}
    for row in rows:
        headline = clean_text(row["headline"] or "")
        detail = _csv_detail(row["text"] or "")
        if headline or detail:
            sections.setdefault(clean_text(row["sectionLabel"] or "Steps"), []).append(
                fix_spacing(join_step(headline, detail)))
    if not sections:
        raise ParseSkip("no_steps")
    intro, rewrote = rewrite_opening(clean_text(rows[0]["overview"] or ""))
    methods = [Method(METHOD_PREFIX.sub("", t), s) for t, s in sections.items()]
    return Article(title=_TITLE_DUP_SUFFIX.sub("", clean_text(rows[0]["title"])), intro=intro,
                   methods=methods, kind="steps" if len(methods) == 1 else "method",
                   rewrote_opening=rewrote)


def iter_csv_articles(path: str | Path) -> Iterator[tuple[str, Article | ParseSkip]]:
    """Yield (raw title, Article or ParseSkip) for each article of wikihowAll.csv or wikihowSep.csv.

    wikihowSep.csv has one row per step; an article is a run of consecutive rows with one title.
    A file with other columns, or one the csv module cannot read, is a StageError."""
    path = Path(path)
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # article texts exceed the 128 KB default
    try:
        with open(path, encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            columns = set(reader.fieldnames or ())
            if ALL_COLUMNS == columns:
                for row in reader:
                    yield row["title"] or "", _try(_article_from_all, row)
            elif SEP_COLUMNS == columns:
                group: list[dict] = []
                for row in reader:
                    if group and row["title"] != group[0]["title"]:
                        yield group[0]["title"] or "", _try(_article_from_sep, group)
                        group = []
                    group.append(row)
                if group:
                    yield group[0]["title"] or "", _try(_article_from_sep, group)
            else:
                raise StageError(path, f"columns {sorted(columns)} are neither wikihowAll.csv "
                                       f"{sorted(ALL_COLUMNS)} nor wikihowSep.csv {sorted(SEP_COLUMNS)}")
    except (csv.Error, UnicodeDecodeError) as e:
        raise StageError(path, f"not a readable CSV ({e})") from None
    except OSError as e:
        raise StageError(path, f"cannot read ({e.strerror or e})") from None


def _try(fn, arg):
    try:
        return fn(arg)
    except ParseSkip as e:
        return e
