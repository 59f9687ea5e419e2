"""wikiHow article -> one LIMA example (§2.1; the released data's shape, docs/paper.md#measured-in-the-release).

The response keeps what the paper keeps: the intro paragraph, then for each method or part a line
`## <title>`, then numbered steps `1. <headline>. <detail>` (a single-method article has no `##`
line). The markup is the site's desktop skin as served in 2020 (docs/data.md#article-html): the intro
is `#mf-section-0` alone, never the `#intro` block around it, which also holds the table of contents,
the co-author byline and its hover card ("This article was co-authored by ...", or the site's
"wikiHow is a wiki" blurb). A page whose article parts are not where that markup puts them is a
counted skip (no_intro, no_steps, method_without_steps), never a partial answer.

The paper says only that "a number of preprocessing heuristics" removed links, images and
certain sections; ours are: images (lazy `data-src` ones too), video, references and citation
`<sup>` markers, links (their text stays), Q&A, expert bylines, ratings, related articles, and by
default Tips / Warnings / Things You'll Need / Ingredients (kept with `keep=`). An opening
"This article ..." (or "This wikiHow ...") becomes "The following answer ..." (§2.1).

Two inputs give the same shape: a page of the crawler's cache (`parse_article`), or a row group of
the WikiHow dataset CSVs (`iter_csv_articles`, docs/data.md#the-wikihow-dataset-csvs), which lose some structure.
"""
from __future__ import annotations

import codecs
import csv
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator
from urllib.parse import unquote

from bs4 import BeautifulSoup

from lima.errors import StageError

# Sections that `keep=` can bring back, by their wikiHow section id (docs/data.md#article-html).
OPTIONAL_SECTIONS = ("ingredients", "thingsyoullneed", "tips", "warnings")
SECTION_TITLES = {"ingredients": "Ingredients", "thingsyoullneed": "Things You'll Need",
                  "tips": "Tips", "warnings": "Warnings"}

# Blocks that never reach the response, by id or class (docs/data.md#article-html). The value is what
# `meta.dropped_sections` records (None: page furniture, not a section). Generic class names
# (video, qa, ...) count only on a `section` block; the specific ones count anywhere.
_DROP_IDS = {"video": "video", "references": "references", "sourcesandcitations": "references",
             "qa": "qa", "relatedwikihows": "related", "byline_info": None, "article_rating": None,
             "quick_summary_section": None, "method_toc": None, "coauthor_byline": None,
             "byline_hover": None}
_DROP_SECTION_CLASSES = {"video": "video", "references": "references", "qa": "qa",
                         "relatedwikihows": "related"}
_DROP_CLASSES = {"embedvideocontainer": "video", "sourcesandcitations": "references",
                 "relatedwikihows": "related", "byline_info": None, "expert_coauthor": None,
                 "sp_stats_box": None, "sp_helpful_rating_count": None, "article_rating": None,
                 "quick_summary": None, "qz_container": None, "qy_cta": None, "addTipElement": None,
                 "wh_vote_container": None}
# Inline clutter removed wherever it sits (images include lazy ones whose URL is in `data-src`).
_NOISE_TAGS = frozenset("script style noscript sup img picture figure video iframe".split())
_NOISE_CLASSES = frozenset("mwimg image step_num clearall ad_label wh_ad_inner".split())
_TITLE_CLASSES = frozenset(("title_lg", "title_md", "title_sm"))
_MISSING = object()

# Credit and site text that has no place in an answer, should one sit in the intro block itself.
_CREDIT = re.compile(r"\b(?:was|were) co-authored by\b|^(?:To create this article|wikiHow is a [\"“']?wiki\b)"
                     r"|\bhas been viewed [\d,]+ times\b|^Learn more\b", re.I)
_METHOD_PREFIX = re.compile(r"^(?:method|part)\s+\d+\s+of\s+\d+\s*[:.\-]\s*", re.I)
_OPENING = re.compile(r"^This (?:wikiHow(?: article)?|article)\b")
_WAYS_TO = re.compile(r"^(?:\d+\s+)?(?:[A-Za-z]+\s+){0,3}?Ways? to\s+(.+)$")
_WS = re.compile(r"\s+")


class ParseSkip(Exception):
    """A page or row that yields no example; `reason` is the funnel's drop reason."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail


@dataclass
class Method:
    title: str
    steps: list[str] = field(default_factory=list)  # "Headline. detail" (numbered on rendering)


@dataclass
class Article:
    title: str
    intro: str
    methods: list[Method]
    kind: str = "steps"  # "steps" (single method), "method" or "part"
    extras: dict[str, list[str]] = field(default_factory=dict)  # tips, warnings, ... as bullets
    dropped: list[str] = field(default_factory=list)
    rewrote_opening: bool = False


# ---- text helpers ----------------------------------------------------------------------------

def clean_text(text: str) -> str:
    return _WS.sub(" ", text).strip()


def rewrite_opening(text: str) -> tuple[str, bool]:
    """"This article shows ..." -> "The following answer shows ..." (LIMA §2.1)."""
    new = _OPENING.sub("The following answer", text, count=1)
    return new, new != text


def to_prompt(title: str) -> str:
    """The article title as a "How to ...?" question (§2.1: "How to cook an omelette?")."""
    title = clean_text(title).rstrip(" .:")
    m = _WAYS_TO.match(title)
    if m and not title.lower().startswith("how to"):
        title = "How to " + m.group(1)
    return title if title.endswith("?") else title + "?"


def join_step(headline: str, detail: str) -> str:
    """`Headline. detail`: the headline ends with one sentence mark, the detail follows."""
    headline = clean_text(headline)
    if headline and headline[-1] not in ".!?:":
        headline += "."
    return f"{headline} {detail}".strip() if headline else detail.strip()


def render_response(article: Article, keep: tuple[str, ...] = ()) -> str:
    """The released data's layout: intro, then `## title` + numbered steps per method."""
    blocks = [article.intro] if article.intro else []
    if "ingredients" in keep and article.extras.get("ingredients"):
        blocks.append(_bullets("ingredients", article.extras["ingredients"]))
    for method in article.methods:
        steps = "\n".join(f"{i}. {s}" for i, s in enumerate(method.steps, 1))
        blocks.append(f"## {method.title}\n{steps}" if len(article.methods) > 1 else steps)
    for name in ("thingsyoullneed", "tips", "warnings"):
        if name in keep and article.extras.get(name):
            blocks.append(_bullets(name, article.extras[name]))
    return "\n\n".join(blocks)


def _bullets(name: str, items: list[str]) -> str:
    return f"## {SECTION_TITLES[name]}\n" + "\n".join(f"* {x}" for x in items)


def make_record(slug: str, article: Article, *, url: str | None, category: str | None,
                keep: tuple[str, ...] = (), **extra_meta) -> dict:
    """The data contract (docs/design.md#data-contract): id `wikihow/<slug>`, prompt and response, meta."""
    dropped = sorted(set(article.dropped) | {n for n in article.extras if n not in keep})
    return {
        "id": f"wikihow/{unquote(slug)}",
        "source": "wikihow",
        "conversations": [to_prompt(article.title), render_response(article, keep)],
        "meta": {"url": url, "category": category, "methods": len(article.methods),
                 "method_kind": article.kind, "steps": sum(len(m.steps) for m in article.methods),
                 "dropped_sections": dropped, "rewrote_opening": article.rewrote_opening,
                 "title": clean_text(article.title), **extra_meta},
    }


# ---- HTML pages ------------------------------------------------------------------------------

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.I)


def decode_page(raw: bytes, content_type: str | None = None) -> str:
    """Bytes -> text by the declared charset (HTTP header, then <meta>), else UTF-8.

    A page whose bytes do not match its declared (or the default) encoding is a counted skip,
    not a guess: mojibake in a training example is worse than one example fewer."""
    charset = None
    if content_type:
        m = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", content_type, re.I)
        charset = m.group(1) if m else None
    if charset is None:
        m = _META_CHARSET.search(raw[:4096])
        charset = m.group(1).decode("ascii") if m else "utf-8"
    try:
        codecs.lookup(charset)
        text = raw.decode(charset)
    except (LookupError, UnicodeDecodeError) as e:
        raise ParseSkip("bad_encoding", f"{charset}: {e}") from None
    return text.lstrip("\ufeff")


def is_truncated(html: str) -> bool:
    """A page cut in transit has no closing </html> (a whole page always ends with one)."""
    return "</html>" not in html[-512:].lower()


def _step_text(step) -> str:
    """One step: the bold headline, the detail, and sub-bullets as indented list lines."""
    sublists = [ul.extract() for ul in step.find_all(["ul", "ol"])]
    head = step.find("b", class_="whb") or step.find("b")
    headline = head.extract().get_text(" ") if head is not None else ""
    text = join_step(headline, clean_text(step.get_text(" ")))
    for ul in sublists:
        for li in ul.find_all("li"):
            item = clean_text(li.get_text(" "))
            if item:
                text += f"\n   * {item}"
    return _fix_spacing(text)


def _fraction(span) -> str:
    """`<span class="frac"><sup>1</sup>&frasl;<sub>4</sub></span>` -> "1/4" (as wikiHow writes "1/2 tsp"
    in plain text); a whole number glued before it ("1<span..>") keeps a space: "1 1/2"."""
    parts = [clean_text(t.get_text()) for t in span.find_all(["sup", "sub"])]
    text = "/".join(p for p in parts if p) if len(parts) == 2 else clean_text(span.get_text()).replace("\u2044", "/")
    prev = span.previous_sibling
    if isinstance(prev, str) and prev[-1:].isdigit():
        text = " " + text
    return text


def _fix_spacing(text: str) -> str:
    """get_text(" ") puts a space where a tag ended before punctuation: "eggs ." -> "eggs."."""
    return re.sub(r" +([.,;:!?)])", r"\1", re.sub(r"\( +", "(", text))


def _classify(soup):
    """One walk over the tree (CSS selectors cost 4x the parse here): the title, the blocks to
    drop, the optional sections, the intro and the step sections, in document order."""
    found = {"h1": None, "title": None, "drop": [], "dropped": [], "extras": {}, "intro": None,
             "steps": [], "frac": []}
    for tag in soup.find_all(True):
        tid, cls = tag.get("id"), tag.get("class") or ()
        if tag.name == "h1":
            found["h1"] = found["h1"] or tag
            if found["title"] is None and _TITLE_CLASSES.intersection(cls):
                found["title"] = tag
        if tid in ("cat_all", "cat_container"):
            raise ParseSkip("not_article")
        section = "section" in cls
        name = _DROP_IDS.get(tid, _MISSING)
        for c in cls:
            if name is not _MISSING:
                break
            name = _DROP_CLASSES.get(c, _DROP_SECTION_CLASSES.get(c, _MISSING) if section else _MISSING)
        if name is not _MISSING:
            found["drop"].append(tag)
            if name and name not in found["dropped"]:
                found["dropped"].append(name)
            continue
        if tag.name == "span" and "frac" in cls:
            found["frac"].append(tag)  # <sup>1</sup>&frasl;<sub>4</sub>: a quantity, not a citation
            continue
        if tag.name in _NOISE_TAGS or _NOISE_CLASSES.intersection(cls):
            if not (tag.name == "sup" and "frac" in (tag.parent.get("class") or ())):
                found["drop"].append(tag)
            continue
        optional = tid if tid in OPTIONAL_SECTIONS else \
            next((c for c in cls if c in OPTIONAL_SECTIONS), None) if section else None
        if optional:
            found["extras"].setdefault(optional, tag)
        elif tid == "mf-section-0" or "mf-section-0" in cls:
            found["intro"] = found["intro"] or tag
        elif tag.name == "div" and section and "steps" in cls:
            found["steps"].append(tag)
    return found


_STEP_ID = re.compile(r"^step")


def parse_article(html: str) -> Article:
    """A wikiHow article page -> Article, or ParseSkip with the reason."""
    if is_truncated(html):
        raise ParseSkip("truncated_page")
    soup = BeautifulSoup(html, "lxml")
    found = _classify(soup)
    h1 = found["title"] or found["h1"]
    if h1 is None:
        raise ParseSkip("not_article")
    title = clean_text(h1.get_text(" "))
    for tag in found["frac"]:
        tag.replace_with(_fraction(tag))
    for tag in found["drop"]:
        if not tag.decomposed:
            tag.decompose()

    extras = {}
    for name, block in sorted(found["extras"].items()):
        if not block.decomposed:
            items = [clean_text(li.get_text(" ")) for li in block.find_all("li")]
            extras[name] = [_fix_spacing(x) for x in items if x]
            block.decompose()

    intro, rewrote = "", False
    block = found["intro"]
    if block is not None and not block.decomposed:
        paras = [clean_text(p.get_text(" ")) for p in block.find_all("p")] or \
                [clean_text(block.get_text(" "))]
        paras = [_fix_spacing(p) for p in paras if p and not _CREDIT.search(p)]
        if paras:
            paras[0], rewrote = rewrite_opening(paras[0])
        intro = "\n\n".join(paras)

    methods, kinds = [], set()
    for sec in found["steps"]:
        if sec.decomposed:
            continue
        head = sec.find(class_="mw-headline")
        raw_title = clean_text(head.get_text(" ")) if head is not None else "Steps"
        # "Method 1 of 3: X" in older headlines, a separate "Method 1" / "Part 1" block in newer.
        prefix, altblock = _METHOD_PREFIX.match(raw_title), sec.find(class_="altblock")
        label = prefix.group(0) if prefix else clean_text(altblock.get_text(" ")) if altblock else ""
        if label:
            kinds.add(label.split()[0].lower())
        texts = []
        for li in sec.find_all("li", id=_STEP_ID) or sec.find_all("div", class_="step"):
            text = _step_text(li.find("div", class_="step") or li)
            if text:
                texts.append(text)
        methods.append(Method(_METHOD_PREFIX.sub("", raw_title) or raw_title, texts))
    if not any(m.steps for m in methods):
        raise ParseSkip("no_steps")
    if empty := [m.title for m in methods if not m.steps]:
        # Steps not where the markup puts them in one method: the answer would silently lack it,
        # so the page goes, not the method.
        raise ParseSkip("method_without_steps", ", ".join(empty))
    if not intro:
        raise ParseSkip("no_intro")  # the summary paragraph, never a credit box in its place
    kind = "steps" if len(methods) == 1 else ("part" if kinds == {"part"} else "method")
    return Article(title=title, intro=intro, methods=methods, kind=kind, extras=extras,
                   dropped=found["dropped"], rewrote_opening=rewrote)


# ---- the WikiHow dataset CSVs (Koupaee & Wang 2018) ------------------------------------------

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
    steps = [_fix_spacing(join_step(h, _csv_detail(t))) for h, t in zip(headlines, texts)]
    return Article(title=_TITLE_DUP_SUFFIX.sub("", clean_text(row["title"])), intro="",
                   methods=[Method("Steps", steps)])


def _article_from_sep(rows: list[dict]) -> Article:
    sections: dict[str, list[str]] = {}
    for row in rows:
        headline = clean_text(row["headline"] or "")
        detail = _csv_detail(row["text"] or "")
        if headline or detail:
            sections.setdefault(clean_text(row["sectionLabel"] or "Steps"), []).append(
                _fix_spacing(join_step(headline, detail)))
    if not sections:
        raise ParseSkip("no_steps")
    intro, rewrote = rewrite_opening(clean_text(rows[0]["overview"] or ""))
    methods = [Method(_METHOD_PREFIX.sub("", t), s) for t, s in sections.items()]
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
