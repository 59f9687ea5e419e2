"""Stack Exchange post HTML -> the plain text of the released LIMA data (§2.1; docs/paper.md#measured-in-the-release).

The paper removes links, images and other HTML and keeps only code blocks and lists. In the released
file code appears as triple-backtick spans (blocks and inline code alike) and list items as `* ` or
`1. `, so that is what we render. Links keep their text, except a link whose text is a bare URL,
which goes entirely, as does a bare URL in prose.

Besides the text, the walk collects the *prose*: the words outside code, preformatted text and
quotations. The first-person and reference rules read the prose, so an "I" inside a code sample or
a quoted sentence does not make an answer first-person.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import lxml.html
from lxml import etree

_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"]*[^\s<>\".,;:!?)\]'}]")
_BARE_URL_TEXT = re.compile(r"^\s*(?:https?://|www\.)\S*\s*$")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u200b]+")
_SPACE_PUNCT = re.compile(r" +([.,;:!?)])")   # "see <removed URL>." leaves "see ."
_SKIP = {"img", "script", "style", "svg", "video", "audio", "iframe", "object", "embed", "input"}
_BLOCKS = {"p", "div", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "table", "tbody", "thead",
           "tr", "hr", "dl", "dd", "dt", "section", "article", "details", "summary", "figure",
           "center", "aside", "header", "footer"}
_QUOTES = {"blockquote", "q"}


@dataclass
class Cleaned:
    text: str     # what goes into the dataset
    prose: str    # words outside code and quotations, for the style rules


def clean_html(html: str) -> Cleaned:
    if not html or not html.strip():
        return Cleaned("", "")
    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except (etree.ParserError, ValueError):
        return Cleaned("", "")
    r = _Renderer()
    r.children(root, quoted=False)
    r.flush()
    text = "\n\n".join(b for b in r.blocks if b.strip())
    prose = _SPACES.sub(" ", " ".join(r.prose)).strip()
    return Cleaned(text.strip(), prose)


class _Renderer:
    def __init__(self) -> None:
        self.blocks: list[str] = []
        self.inline: list[str] = []
        self.prose: list[str] = []

    def flush(self) -> None:
        text = "".join(self.inline)
        self.inline = []
        lines = [_SPACE_PUNCT.sub(r"\1", _SPACES.sub(" ", line)).strip() for line in text.split("\n")]
        text = "\n".join(line for line in lines if line)
        if text:
            self.blocks.append(text)

    def text(self, s: str | None, quoted: bool) -> None:
        if not s:
            return
        s = _URL.sub("", s).replace("\n", " ")    # a newline in HTML text is a space; <br> breaks
        self.inline.append(s)
        if not quoted:
            self.prose.append(s)

    def children(self, el, quoted: bool) -> None:
        self.text(el.text, quoted)
        for child in el:
            self.node(child, quoted)
            self.text(child.tail, quoted)

    def node(self, el, quoted: bool) -> None:
        tag = el.tag.lower() if isinstance(el.tag, str) else None
        if tag is None or tag in _SKIP:
            return
        if tag == "pre":
            self.flush()
            code = el.text_content().strip("\n")
            if code.strip():
                self.blocks.append(f"```\n{code}\n```")
        elif tag == "code":
            code = el.text_content()
            if code.strip():
                self.inline.append(f"```{code}```")
        elif tag == "a":
            if not _BARE_URL_TEXT.match(el.text_content() or ""):
                self.children(el, quoted)
        elif tag == "br":
            self.inline.append("\n")
        elif tag in ("ul", "ol"):
            self.flush()
            self.blocks.append(_render_list(el, quoted, self.prose))
        elif tag in _BLOCKS:
            self.flush()
            if tag == "tr":
                cells = [_SPACES.sub(" ", c.text_content()).strip() for c in el if isinstance(c.tag, str)]
                self.blocks.append(" | ".join(c for c in cells if c))
                if not quoted:
                    self.prose.extend(cells)
            else:
                self.children(el, quoted or tag in _QUOTES)
                self.flush()
        else:
            self.children(el, quoted or tag in _QUOTES)


def _render_list(el, quoted: bool, prose: list[str], depth: int = 0) -> str:
    ordered = el.tag.lower() == "ol"
    try:
        n = int(el.get("start", "1"))
    except ValueError:
        n = 1
    lines = []
    indent = "   " * depth
    for li in el:
        if not isinstance(li.tag, str) or li.tag.lower() != "li":
            continue
        sub = _Renderer()
        sub.prose = prose
        nested = []
        sub.text(li.text, quoted)
        for child in li:
            if isinstance(child.tag, str) and child.tag.lower() in ("ul", "ol"):
                sub.flush()
                nested.append(_render_list(child, quoted, prose, depth + 1))
            else:
                sub.node(child, quoted)
            sub.text(child.tail, quoted)
        sub.flush()
        marker = f"{n}. " if ordered else "* "
        body = "\n".join(sub.blocks).replace("\n", "\n" + indent + " " * len(marker))
        lines.append(indent + marker + body)
        lines.extend(nested)
        n += 1
    return "\n".join(lines)
