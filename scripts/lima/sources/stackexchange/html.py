"""Stack Exchange post HTML -> the plain text of the released LIMA data (§2.1; docs/paper.md#measured-in-the-release).

The paper removes links, images and other HTML and keeps only code blocks and lists. In the released
file code appears as triple-backtick spans (blocks and inline code alike) and list items as `* ` or
`1. `, so that is what we render. Links keep their text, except a link whose text is a bare URL,
which goes entirely, as does a bare URL in prose.

Layout follows the release too: paragraphs and headings are separated by a single newline, line
breaks inside a paragraph (`<br>` or a newline in the HTML text) stay, and a blank line sets off
lists, code blocks, quotations, tables and rules. That is what the text of a current dump's HTML
gives (`<p>a</p>\\n<p>b</p>`, `<ul>\\n<li>`), so older dumps (`</p>\\n\\n<p>`) are rendered the
same way. An attribution whose only content was a removed link ("Source: <url>", "Sourced from
<url>", "See <url>.") would dangle, so it goes too and is counted (`attributions_removed`).

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
_SKIP = {"script", "style", "svg", "video", "audio", "iframe", "object", "embed", "input"}
_BLOCKS = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "dl", "dd", "dt", "section", "article",
           "details", "summary", "figure", "center", "aside", "header", "footer"}
_QUOTES = {"blockquote", "q"}

# Where a link or image was removed (a private-use character, never in the output): an attribution
# is dropped only when nothing but such marks follows it.
_GONE = "\ue000"
_ATTRIBUTION = (r"(?:sources?|sourced\s+from|credits?|via|see(?:\s+also)?|more\s+(?:info(?:rmation)?\s+)?(?:at|here)"
                r"|read\s+more(?:\s+at)?|(?:taken|adapted|quoted)\s+from|from|references?|found\s+at)")
_MARKS = rf"{_GONE}(?:\s*(?:,|and|&)?\s*{_GONE})*"
# A sentence (or line) that is just "<attribution> <removed link>", e.g. "... profit. Source: <url>".
_AFTER_SENTENCE = r"(?:^|(?<=[.!?:;\"”’')\]]))[ \t]*"
_ATTR_SENTENCE = re.compile(rf"{_AFTER_SENTENCE}{_ATTRIBUTION}\s*[:\-–—]?\s*{_MARKS}[ \t]*[.!:]?[ \t]*$", re.I | re.M)
# The same in parentheses, anywhere in a line: "... caffeine (source: <url>) than ...".
_ATTR_PAREN = re.compile(rf"\s*[(\[]\s*{_ATTRIBUTION}\s*[:\-–—]?\s*{_MARKS}\s*[)\]]", re.I)
_EMPTY_PAREN = re.compile(rf"\s*[(\[]\s*{_MARKS}\s*[)\]]")     # "the manual (<url>)"
_ATTR_TAIL = re.compile(rf"{_AFTER_SENTENCE}{_ATTRIBUTION}\s*[:\-–—]?\s*$", re.I)   # "... From" / "Source:"
_LEFT_PUNCT = re.compile(r"[,;:] +([.!?:;,])")      # "would help, <url>." leaves "help, ."

# Separators between rendered blocks: "para" blocks meet with one newline, "set" blocks (lists,
# code, quotations, tables, rules) are set off by a blank line.
PARA, SET = "para", "set"


@dataclass
class Cleaned:
    text: str     # what goes into the dataset
    prose: str    # words outside code and quotations, for the style rules
    attributions_removed: int = 0   # "Source: <url>"-style sentences left empty by link removal


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
    prose = _SPACES.sub(" ", " ".join(r.prose)).strip()
    return Cleaned(_join(r.blocks).strip(), prose, r.counts[0])


def _join(blocks: list[tuple[str, str]]) -> str:
    out: list[str] = []
    prev, rule = None, False
    for text, kind in blocks:
        if not text.strip():
            rule = rule or kind == SET          # an <hr>: nothing to show, but a blank line
            continue
        if out:
            out.append("\n\n" if rule or kind == SET or prev == SET else "\n")
        out.append(text)
        prev, rule = kind, False
    return "".join(out)


def paragraph_stats(texts) -> dict:
    """Line-break statistics of rendered answers: runs of exactly one newline (`single_breaks`)
    and runs of two or more (`blank_lines`), code included, as counted in the release."""
    n = single = blank = 0
    for t in texts:
        n += 1
        for run in re.findall(r"\n+", t):
            if len(run) == 1:
                single += 1
            else:
                blank += 1
    return format_summary(n, single, blank)


def format_summary(answers: int, single: int, blank: int) -> dict:
    """Totals, per-answer rates and the share of single-newline breaks among all breaks: the share
    and the blank-per-single ratio compare across answer sets of different lengths, the rates do not."""
    return {"answers": answers, "single_breaks": single, "blank_lines": blank,
            "single_per_answer": round(single / answers, 2) if answers else None,
            "blank_per_answer": round(blank / answers, 2) if answers else None,
            "single_share": round(single / (single + blank), 3) if single + blank else None,
            "blank_per_single": round(blank / single, 3) if single else None}


class _Renderer:
    def __init__(self, prose: list[str] | None = None, counts: list[int] | None = None) -> None:
        self.blocks: list[tuple[str, str]] = []
        self.inline: list[str] = []
        self.prose: list[str] = [] if prose is None else prose
        self.counts = [0] if counts is None else counts     # shared with nested renderers

    def flush(self, kind: str = PARA) -> None:
        text = _SPACES.sub(" ", "".join(self.inline))
        self.inline = []
        if _GONE in text:
            text, n1 = _ATTR_PAREN.subn("", text)
            text, n2 = _ATTR_SENTENCE.subn("", text)
            self.counts[0] += n1 + n2
            text = _EMPTY_PAREN.sub("", text)
        lines: list[str] = []
        for line in text.split("\n"):
            line = line.strip()
            if _GONE in line:
                if not line.replace(_GONE, "").strip(" .,;:"):
                    self._drop_label(lines)      # "Source:" then a line that was only a link
                    continue
                line = _SPACES.sub(" ", line.replace(_GONE, " ")).strip()
                line = _LEFT_PUNCT.sub(r"\1", line)
            line = _SPACE_PUNCT.sub(r"\1", line)
            if line:
                lines.append(line)
        if lines:
            self.blocks.append(("\n".join(lines), kind))

    def _drop_label(self, lines: list[str]) -> None:
        """A line that was only a removed link: an attribution ending the line before it goes."""
        if not lines and self.blocks and self.blocks[-1][1] == PARA:
            lines = self.blocks.pop()[0].split("\n")
            self._drop_label(lines)
            if lines:
                self.blocks.append(("\n".join(lines), PARA))
            return
        if lines:
            last, n = _ATTR_TAIL.subn("", lines[-1])
            if n:
                self.counts[0] += 1
                if last.strip():
                    lines[-1] = last.rstrip()
                else:
                    lines.pop()

    def text(self, s: str | None, quoted: bool) -> None:
        if not s:
            return
        self.inline.append(_URL.sub(_GONE, s))      # a newline in the text stays a line break
        if not quoted:
            self.prose.append(_URL.sub("", s).replace("\n", " "))

    def children(self, el, quoted: bool) -> None:
        self.text(el.text, quoted)
        for child in el:
            self.node(child, quoted)
            self.text(child.tail, quoted)

    def node(self, el, quoted: bool) -> None:
        tag = el.tag.lower() if isinstance(el.tag, str) else None
        if tag is None or tag in _SKIP:
            return
        if tag == "img":
            self.inline.append(_GONE)
        elif tag == "pre":
            self.flush()
            code = el.text_content().strip("\n")
            if code.strip():
                self.blocks.append((f"```\n{code}\n```", SET))
        elif tag == "code":
            code = el.text_content()
            if code.strip():
                self.inline.append(f"```{code}```")
        elif tag == "a":
            if _BARE_URL_TEXT.match(el.text_content() or ""):
                self.inline.append(_GONE)
            else:
                start = len(self.inline)
                self.children(el, quoted)
                if not "".join(self.inline[start:]).replace(_GONE, "").strip():
                    self.inline.append(_GONE)    # an image link or an empty one: nothing left
        elif tag == "br":
            self.inline.append("\n")
        elif tag in ("ul", "ol"):
            self.flush()
            self.blocks.append((_render_list(el, quoted, self.prose, self.counts), SET))
        elif tag == "blockquote":
            self.flush()
            sub = _Renderer(self.prose, self.counts)
            sub.children(el, True)
            sub.flush()
            self.blocks.append((_join(sub.blocks), SET))
        elif tag == "table":
            self.flush()
            self.blocks.append(("\n".join(_table_rows(el, quoted, self.prose)), SET))
        elif tag == "hr":
            self.flush()
            self.blocks.append(("", SET))
        elif tag in _BLOCKS:
            self.flush()
            self.children(el, quoted)
            self.flush()
        else:
            self.children(el, quoted or tag in _QUOTES)


def _table_rows(table, quoted: bool, prose: list[str]) -> list[str]:
    rows = []
    for tr in table.iter("tr"):
        cells = [_SPACES.sub(" ", _URL.sub("", c.text_content())).strip() for c in tr if isinstance(c.tag, str)]
        cells = [c for c in cells if c]
        if cells:
            rows.append(" | ".join(cells))
            if not quoted:
                prose.extend(cells)
    return rows


def _render_list(el, quoted: bool, prose: list[str], counts: list[int], depth: int = 0) -> str:
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
        sub = _Renderer(prose, counts)
        nested = []
        sub.text(li.text, quoted)
        for child in li:
            if isinstance(child.tag, str) and child.tag.lower() in ("ul", "ol"):
                sub.flush()
                nested.append(_render_list(child, quoted, prose, counts, depth + 1))
            else:
                sub.node(child, quoted)
            sub.text(child.tail, quoted)
        sub.flush()
        marker = f"{n}. " if ordered else "* "
        pad = indent + " " * len(marker)         # continuation lines under the item's text
        first, *rest = _join(sub.blocks).split("\n")
        lines.append(indent + marker + first + "".join("\n" + (pad + line if line else "") for line in rest))
        lines.extend(nested)
        n += 1
    return "\n".join(lines)
