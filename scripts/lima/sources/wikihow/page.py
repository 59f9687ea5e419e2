"""A cached wikiHow page -> an Article (lima.sources.wikihow.article), or a counted skip.

The markup is the site's desktop skin as served in 2020 (docs/data.md#article-html): the intro is
`#mf-section-0` alone, never the `#intro` block around it, which also holds the table of contents,
the co-author byline and its hover card ("This article was co-authored by ...", or the site's
"wikiHow is a wiki" blurb). A page whose article parts are not where that markup puts them is a
counted skip (no_intro, no_steps, method_without_steps), never a partial answer.

The paper says only that "a number of preprocessing heuristics" removed links, images and
certain sections; ours are: images (lazy `data-src` ones too), video, references and citation
`<sup>` markers, links (their text stays), Q&A, expert bylines, ratings, related articles, and by
default Tips / Warnings / Things You'll Need / Ingredients (kept with `keep=`).
"""
from __future__ import annotations

import codecs
import re

from bs4 import BeautifulSoup

from lima.sources.wikihow.article import (METHOD_PREFIX, OPTIONAL_SECTIONS, Article, Method, ParseSkip, clean_text,
                                          fix_spacing, join_step, rewrite_opening)

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
    return fix_spacing(text)


def _fraction(span) -> str:
    """`<span class="frac"><sup>1</sup>&frasl;<sub>4</sub></span>` -> "1/4" (as wikiHow writes "1/2 tsp"
    in plain text); a whole number glued before it ("1<span..>") keeps a space: "1 1/2"."""
    parts = [clean_text(t.get_text()) for t in span.find_all(["sup", "sub"])]
    text = "/".join(p for p in parts if p) if len(parts) == 2 else clean_text(span.get_text()).replace("\u2044", "/")
    prev = span.previous_sibling
    if isinstance(prev, str) and prev[-1:].isdigit():
        text = " " + text
    return text



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
    extras = _extras(found["extras"])
    intro, rewrote = _intro(found["intro"])
    methods, kinds = _methods(found["steps"])
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


def _extras(blocks: dict) -> dict[str, list[str]]:
    """The optional sections' bullets (tips, warnings, ...), each block removed from the page."""
    extras = {}
    for name, block in sorted(blocks.items()):
        if not block.decomposed:
            items = [clean_text(li.get_text(" ")) for li in block.find_all("li")]
            extras[name] = [fix_spacing(x) for x in items if x]
            block.decompose()
    return extras


def _intro(block) -> tuple[str, bool]:
    """(the intro's paragraphs without credit lines, whether its opening was rewritten)."""
    if block is None or block.decomposed:
        return "", False
    paras = [clean_text(p.get_text(" ")) for p in block.find_all("p")] or [clean_text(block.get_text(" "))]
    paras = [fix_spacing(p) for p in paras if p and not _CREDIT.search(p)]
    rewrote = False
    if paras:
        paras[0], rewrote = rewrite_opening(paras[0])
    return "\n\n".join(paras), rewrote


def _methods(sections: list) -> tuple[list[Method], set[str]]:
    """Each steps section as a Method, and the kinds its headlines name ("method", "part")."""
    methods, kinds = [], set()
    for sec in sections:
        if sec.decomposed:
            continue
        head = sec.find(class_="mw-headline")
        raw_title = clean_text(head.get_text(" ")) if head is not None else "Steps"
        # "Method 1 of 3: X" in older headlines, a separate "Method 1" / "Part 1" block in newer.
        prefix, altblock = METHOD_PREFIX.match(raw_title), sec.find(class_="altblock")
        label = prefix.group(0) if prefix else clean_text(altblock.get_text(" ")) if altblock else ""
        if label:
            kinds.add(label.split()[0].lower())
        texts = []
        for li in sec.find_all("li", id=_STEP_ID) or sec.find_all("div", class_="step"):
            text = _step_text(li.find("div", class_="step") or li)
            if text:
                texts.append(text)
        methods.append(Method(METHOD_PREFIX.sub("", raw_title) or raw_title, texts))
    return methods, kinds
