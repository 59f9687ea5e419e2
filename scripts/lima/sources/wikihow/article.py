"""A wikiHow article as the stage holds it, and the LIMA example made from it (§2.1; the released
data's shape, docs/paper.md#measured-in-the-release).

The response keeps what the paper keeps: the intro paragraph, then for each method or part a line
`## <title>`, then numbered steps `1. <headline>. <detail>` (a single-method article has no `##`
line). An opening "This article ..." (or "This wikiHow ...") becomes "The following answer ..."
(§2.1). Tips / Warnings / Things You'll Need / Ingredients are left out unless `keep=` names them.

Two readers fill an Article: a page of the crawler's cache (lima.sources.wikihow.page) or a row
group of the WikiHow dataset CSVs (lima.sources.wikihow.csv_dataset).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote

# Sections that `keep=` can bring back, by their wikiHow section id (docs/data.md#article-html).
OPTIONAL_SECTIONS = ("ingredients", "thingsyoullneed", "tips", "warnings")
SECTION_TITLES = {"ingredients": "Ingredients", "thingsyoullneed": "Things You'll Need",
                  "tips": "Tips", "warnings": "Warnings"}
METHOD_PREFIX = re.compile(r"^(?:method|part)\s+\d+\s+of\s+\d+\s*[:.\-]\s*", re.I)
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


def fix_spacing(text: str) -> str:
    """get_text(" ") puts a space where a tag ended before punctuation: "eggs ." -> "eggs."."""
    return re.sub(r" +([.,;:!?)])", r"\1", re.sub(r"\( +", "(", text))
