"""Text rules of the Reddit stage: title tags, Reddit markdown to plain text.

The released LIMA WritingPrompts rows carry no `[WP]` tag and no Reddit markup (docs/paper.md#measured-in-the-release), so
titles lose their tags and stories are turned into plain paragraphs here.
(Near-duplicate prompts, common reposts on r/WritingPrompts, are found by lima.similarity.)
"""
from __future__ import annotations

import html
import re

# r/WritingPrompts title tags (docs/data.md#subreddit-rules). A post is a prompt if it carries one of these.
PROMPT_TAGS = frozenset({"WP", "SP", "EU", "CW", "TT", "RF", "PI", "FF"})
# Image and media prompts describe something the model cannot see.
MEDIA_TAGS = frozenset({"IP", "MP"})
# Requests for prompts, off-topic and moderator posts are not prompts.
META_TAGS = frozenset({"OT", "PM", "META", "MOD", "MODPOST", "MOD POST", "ANNOUNCEMENT"})
NSFW_TAGS = frozenset({"NSFW", "NSFL"})

# A leading or trailing tag: [WP], (WP), {WP}, [ Serious ], and the bare "WP:" form.
_LEAD_TAG = re.compile(r"^\s*(?:[\[(\{]\s*([^\]\)\}\n]{1,24}?)\s*[\])\}]|([A-Z]{2,4})\s*:(?=\s))\s*[:\-–—|]?\s*")
_CLOSERS = frozenset("])}")
_TRAIL_TAG = re.compile(r"\s*[\[(\{]\s*([^\]\)\}\n]{1,24}?)\s*[\])\}]\s*$")
# Any short bracketed tag left inside an AskReddit title ("[Serious]", "[Serious Replies Only]").
_ANY_TAG = re.compile(r"\s*\[\s*([A-Za-z][A-Za-z /&]{0,24}?)\s*\]\s*")


def split_title_tags(title: str) -> tuple[str, list[str]]:
    """Return (title without its leading/trailing tags, the tags upper-cased).

    Only bracketed words at the start or the end count as tags, so "a [redacted] file" keeps its
    brackets. `[WP][EU]` and `[WP] ... [Part 2]` both work.
    """
    tags: list[str] = []
    text = title
    while True:
        m = _LEAD_TAG.match(text)
        if not m or m.end() == 0:
            break
        tags.append((m.group(1) or m.group(2)).strip().upper())
        text = text[m.end():]
    while text.rstrip()[-1:] in _CLOSERS:        # (the search is slow; most titles end otherwise)
        m = _TRAIL_TAG.search(text)
        if not m or m.start() == 0:
            break
        tags.append(m.group(1).strip().upper())
        text = text[: m.start()]
    return normalise_space(text), tags


def strip_all_tags(title: str) -> tuple[str, list[str]]:
    """AskReddit: remove every short bracketed tag, wherever it sits ("[Serious]" is often last)."""
    text, tags = split_title_tags(title)
    inner = [m.group(1).strip().upper() for m in _ANY_TAG.finditer(text)]
    text = _ANY_TAG.sub(" ", text)
    return normalise_space(text), tags + inner


def normalise_space(text: str) -> str:
    return " ".join(text.replace("\u200b", "").split())     # str.split and re's \s agree on whitespace


def unescape(text: str) -> str:
    """Pushshift text is HTML-escaped once (`&amp;`, `&lt;`, `&gt;`); the new Reddit editor adds a
    double-escaped zero-width space (`&amp;#x200B;`) on empty lines, removed here."""
    text = html.unescape(text)
    if "&" in text:
        text = _LEFT_ESCAPES.sub(" ", text)
    return text.replace("\u200b", "").replace("\xa0", " ")


_LEFT_ESCAPES = re.compile(r"&#x200[bB];|&nbsp;")


# ---- Reddit markdown -> plain text ------------------------------------------------------------
_RULE = re.compile(r"^\s*(?:[-*_]\s*){3,}$")
_HEADER = re.compile(r"^\s{0,3}#{1,6}\s*(.*?)\s*#*\s*$")
_QUOTE = re.compile(r"^\s{0,3}(?:>\s?)+(?!!)")
_LIST_STAR = re.compile(r"^(\s*)[*+]\s+")
_LINK = re.compile(r"\[([^\]\n]+)\]\((?:[^()\s]|\([^()\s]*\))+(?:\s+\"[^\"]*\")?\)")
_SPOILER = re.compile(r">!(.+?)!<", re.S)
_BOLD_ITALIC = re.compile(r"(\*{1,3})(?=\S)(.+?)(?<=\S)\1")
_UNDERSCORE = re.compile(r"(?<![\w_])(_{1,3})(?=\S)(.+?)(?<=\S)\1(?![\w_])")
_STRIKE = re.compile(r"~~(.+?)~~")
_SUPER_PAREN = re.compile(r"\^\(([^)\n]*)\)")
_SUPER_WORD = re.compile(r"\^(?=\S)")
_CODE = re.compile(r"`([^`\n]+)`")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!>~^|])")
# Trailing paragraphs that are not story: "EDIT: thanks for the gold", "Part 2 on r/MyStories".
_TRAILER = re.compile(r"^\s*(?:edit|update|ps\b|p\.s\.|thanks\b|thank you\b)", re.I)
_SUB_LINK = re.compile(r"(?:^|[\s(/])/?r/\w+", re.I)


def clean_markup(text: str) -> str:
    """Reddit markdown as plain text: links keep their words, emphasis and quote marks go, list
    items stay as "- " / "1. " lines, paragraphs stay separated by one blank line. (Each rule
    runs only where its mark occurs: most stories have little markup, and this runs on every
    candidate story of a dump.)"""
    text = unescape(text).replace("\r\n", "\n").replace("\r", "\n")
    if ">!" in text:
        text = _SPOILER.sub(r"\1", text)
    lines = []
    for line in text.split("\n"):
        mark = line.lstrip()[:1]
        if not mark or mark not in "-*_#>+":      # no rule, header, quote or list item here
            lines.append(line.rstrip())
            continue
        if _RULE.match(line):
            lines.append("")
            continue
        m = _HEADER.match(line)
        if m:
            line = m.group(1)
        line = _QUOTE.sub("", line)
        line = _LIST_STAR.sub(r"\1- ", line)
        lines.append(line.rstrip())
    text = "\n".join(lines)
    for mark, pattern, repl in _INLINE:
        if mark in text:
            text = pattern.sub(repl, text)
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text)]
    paragraphs = [re.sub(r"[ \t]+", " ", p) for p in paragraphs if p]
    while paragraphs and is_trailer(paragraphs[-1]):
        paragraphs.pop()
    return "\n\n".join(paragraphs)


# The inline rules in the order they apply, each with a mark it cannot match without.
_INLINE = [("](", _LINK, r"\1"), ("`", _CODE, r"\1"), ("~~", _STRIKE, r"\1"), ("^(", _SUPER_PAREN, r"\1"),
           ("^", _SUPER_WORD, ""),
           ("*", _BOLD_ITALIC, r"\2"), ("_", _UNDERSCORE, r"\2"),    # ***both***, then
           ("*", _BOLD_ITALIC, r"\2"), ("_", _UNDERSCORE, r"\2"),    # nested **bold *italic***
           ("\\", _ESCAPE, r"\1")]


def is_trailer(paragraph: str) -> bool:
    """An edit note or a plug for the writer's own subreddit closing a story."""
    if _TRAILER.match(paragraph):
        return True
    return bool(_SUB_LINK.search(paragraph)) and len(paragraph.split()) <= 40


def count_words(text: str) -> int:
    return len(text.split())
