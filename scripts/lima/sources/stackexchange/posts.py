"""Stream one site's Posts.xml and join each kept question with its top answer.

One pass, any row order: questions that pass the question rules are kept (title, body, score);
answers keep only the best-scoring candidates per parent. Memory is bounded by the questions kept,
not by the file: rows are cleared as they are parsed, answers to questions already rejected are
dropped on sight (a bitmap of seen question ids), and only answers whose question has not been seen
yet wait for it (rare: real dumps list a question before its answers). On the largest sites (Stack
Overflow has millions of title-only questions) only the `max_questions` best-scoring questions are
held; the paper takes the highest-scoring questions, so the rest could never be drawn.
"""
from __future__ import annotations

import heapq
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from lxml import etree

from lima.sources.stackexchange import rules as se_rules
from lima.errors import StageError
from lima.sources.stackexchange.html import clean_html

WATERMARK_MIN_ID = 1_000_000_000   # fabricated rows of the 2025-06-30 dumps (docs/data.md#quirks-by-era)

# Character references that XML 1.0 forbids (the first July 2024 dumps carry &#x1E; and &#x00;).
# Valid ones (&#xA; in every Body) are left alone, so the common path costs one C-level scan.
_BAD_CHAR_REF = re.compile(
    rb"&#[xX]0*(?:[0-8bBcCeEfF]|1[0-9a-fA-F]|[dD][89a-fA-F][0-9a-fA-F]{2}|[fF]{3}[eEfF]"
    rb"|1[1-9a-fA-F][0-9a-fA-F]{4}|[2-9a-fA-F][0-9a-fA-F]{5}|[0-9a-fA-F]{7,});"
    rb"|&#0*(?:[0-8]|1[124-9]|2[0-9]|3[01]|5529[6-9]|55[3-9][0-9]{2}|56[0-9]{3}|57[0-2][0-9]{2}"
    rb"|573[0-3][0-9]|5734[0-3]|6553[45]|[0-9]{8,});")
_RAW_CONTROL = bytes(c for c in range(32) if c not in (9, 10, 13))


def filter_bad_chars(blocks: Iterable[bytes], counts: Counter) -> Iterator[bytes]:
    """Remove XML-invalid character references and raw control bytes, block by block, without a
    recovering parser (which could hide a truncated file). A reference split across two blocks is
    carried over to the next one."""
    carry = b""
    for block in blocks:
        block = carry + block
        amp = block.rfind(b"&", max(0, len(block) - 16))
        if amp >= 0 and b";" not in block[amp:]:
            block, carry = block[:amp], block[amp:]
        else:
            carry = b""
        block, n = _BAD_CHAR_REF.subn(b"", block)
        clean = block.translate(None, _RAW_CONTROL)
        counts["invalid_char_refs_removed"] += n
        counts["control_bytes_removed"] += len(block) - len(clean)
        counts["bytes"] += len(clean)
        yield clean
    if carry:
        counts["bytes"] += len(carry)
        yield carry


def iter_rows(blocks: Iterable[bytes], name: str, table: str = "posts") -> Iterator[etree._Element]:
    """Yield each <row> element of a Posts.xml byte stream; the caller reads what it needs before
    asking for the next one (the element is cleared then). A document cut before its closing root
    tag is a fatal error, never a silently shorter result."""
    parser = etree.XMLPullParser(events=("end",), tag="row", resolve_entities=False,
                                 no_network=True, remove_comments=True)
    try:
        for block in blocks:
            parser.feed(block)
            for _, elem in parser.read_events():
                yield elem
                elem.clear(keep_tail=False)
                parent = elem.getparent()
                if parent is not None:
                    while elem.getprevious() is not None:
                        del parent[0]
    except etree.XMLSyntaxError as e:
        raise StageError(name, f"{table.capitalize()}.xml is not well-formed XML ({e})") from e
    try:
        root = parser.close()
    except etree.XMLSyntaxError as e:
        # Everything fed so far parsed; the document just never closed.
        raise StageError(name, f"{table.capitalize()}.xml is cut before its closing </{table}> tag, truncated? ({e})") from e
    if root is None or root.tag != table:
        raise StageError(name, f"not a {table.capitalize()}.xml table (root element <{getattr(root, 'tag', None)}>)")


@dataclass
class SiteResult:
    site: str
    category: str
    read: Counter = field(default_factory=Counter)
    dropped: Counter = field(default_factory=Counter)
    qualifying: list[dict] = field(default_factory=list)    # pairs passing every rule, best first
    unfiltered: list[dict] = field(default_factory=list)    # every kept question's top answer
    dialogues: list[dict] = field(default_factory=list)     # comment chains under qualifying answers


def _tags(raw: str | None) -> list[str]:
    """Both encodings: `<a><b>` (older dumps) and `|a|b|` (2024 on)."""
    if not raw:
        return []
    return [t for t in re.split(r"[<>|]+", raw) if t]


class _SeenIds:
    """A bitmap of every question id met so far: on Stack Overflow a set of millions of ints would
    cost far more than the questions kept."""

    def __init__(self) -> None:
        self.bits = bytearray()

    def add(self, qid: int) -> None:
        byte = qid >> 3
        if byte >= len(self.bits):
            self.bits.extend(bytes(byte - len(self.bits) + 1 + (len(self.bits) >> 1)))
        self.bits[byte] |= 1 << (qid & 7)

    def __contains__(self, qid: int) -> bool:
        byte = qid >> 3
        return byte < len(self.bits) and bool(self.bits[byte] & (1 << (qid & 7)))


@dataclass
class _Join:
    """What one pass keeps to join questions with their top answers at the end."""
    max_questions: int
    questions: dict[int, dict] = field(default_factory=dict)   # kept questions by id
    seen: _SeenIds = field(default_factory=_SeenIds)
    best: dict[int, list] = field(default_factory=dict)        # parent id -> [score, [(answer id, body, owner), ...ties]]
    lowest: list[tuple[int, int]] = field(default_factory=list)  # min-heap of (score, -id) over `questions`


def collect_site(blocks: Iterable[bytes], name: str, site: str, category: str,
                 length_on: str = "html", max_questions: int = 100_000) -> SiteResult:
    """Read one site's Posts.xml and return its pairs, every row counted in `read` or `dropped`."""
    res = SiteResult(site, category)
    join = _Join(max_questions)
    for row in iter_rows(filter_bad_chars(blocks, res.read), name):
        res.read["rows"] += 1
        _read_row(row, join, res.read, res.dropped)
    res.read["questions_kept_for_join"] = len(join.questions)
    res.read["answers_without_question"] = sum(1 for p in join.best if p not in join.questions)
    _pair_up(join, res, length_on)
    return res


def _read_row(row: etree._Element, join: _Join, read: Counter, dropped: Counter) -> None:
    get = row.get
    try:
        pid, ptype = int(get("Id")), int(get("PostTypeId"))
    except (TypeError, ValueError):
        dropped["malformed_row"] += 1
        return
    if pid >= WATERMARK_MIN_ID:
        dropped["watermark_row"] += 1
    elif ptype == 1:
        read["questions"] += 1
        join.seen.add(pid)
        _read_question(pid, get, join, dropped)
    elif ptype == 2:
        read["answers"] += 1
        _read_answer(pid, get, join, read, dropped)
    else:
        read["other_post_types"] += 1


def _read_question(pid: int, get, join: _Join, dropped: Counter) -> None:
    """Keep the question if it passes the question rules; past `max_questions`, the best-scoring."""
    try:
        score = int(get("Score"))
    except (TypeError, ValueError):
        dropped["malformed_row"] += 1
        return
    title = " ".join((get("Title") or "").split())
    if get("ClosedDate"):
        dropped["question_closed"] += 1
    elif get("CommunityOwnedDate"):
        dropped["question_community_wiki"] += 1
    elif title_reason := se_rules.title_drop_reason(title):
        dropped[title_reason] += 1          # title_too_short, title_deictic, ... (rules.TITLE_RULES)
    else:
        accepted = get("AcceptedAnswerId")
        join.questions[pid] = {"score": score, "title": title, "body": get("Body") or "",
                               "owner": get("OwnerUserId"), "tags": _tags(get("Tags")),
                               "accepted": int(accepted) if accepted and accepted.isdigit() else None}
        heapq.heappush(join.lowest, (score, -pid))
        if len(join.questions) > join.max_questions:
            _, neg = heapq.heappop(join.lowest)       # lowest score; among equals the newest
            del join.questions[-neg]
            join.best.pop(-neg, None)
            dropped["question_below_site_cap"] += 1


def _read_answer(pid: int, get, join: _Join, read: Counter, dropped: Counter) -> None:
    """Keep the answer if it is among the best-scoring of its question so far."""
    try:
        parent, score = int(get("ParentId")), int(get("Score"))
    except (TypeError, ValueError):
        dropped["malformed_row"] += 1
        return
    if parent not in join.questions and parent in join.seen:
        read["answers_to_dropped_questions"] += 1
        return
    cur = join.best.get(parent)
    if cur is None or score > cur[0]:
        join.best[parent] = [score, [(pid, get("Body") or "", get("OwnerUserId"))]]
    elif score == cur[0]:
        cur[1].append((pid, get("Body") or "", get("OwnerUserId")))


def _pair_up(join: _Join, res: SiteResult, length_on: str) -> None:
    """Each kept question with its top answer, best-scoring question first, through the answer rules."""
    read, dropped = res.read, res.dropped
    for qid in sorted(join.questions, key=lambda q: (-join.questions[q]["score"], q)):
        q = join.questions[qid]
        top = join.best.get(qid)
        if top is None:
            dropped["question_without_answer"] += 1
            continue
        score, ties = top
        # The top answer: highest score; among equals the accepted one, then the earliest.
        aid, body, answerer = min(ties, key=lambda t: (t[0] != q["accepted"], t[0]))
        answer = clean_html(body)
        read["answer_attributions_removed"] += answer.attributions_removed   # "Source: <url>" left empty
        pair = {"site": res.site, "category": res.category, "question_id": qid, "answer_id": aid,
                "question_score": q["score"], "answer_score": score, "title": q["title"],
                "question_text": clean_html(q["body"]).text, "answer": answer.text,
                "tags": q["tags"], "answer_html_chars": len(body), "answer_text_chars": len(answer.text),
                "asker": q["owner"], "answerer": answerer}
        if not answer.text:
            dropped["answer_empty_after_cleaning"] += 1
            continue
        res.unfiltered.append(pair)
        length = len(body) if length_on == "html" else len(answer.text)
        reason = se_rules.answer_drop_reason(score, length, answer.prose)
        if reason:
            dropped[reason] += 1
        else:
            res.qualifying.append(pair)


def read_comments(blocks: Iterable[bytes], name: str, answer_ids: set[int], read: Counter) -> list[dict]:
    """The comments under the given answers, from a streamed Comments.xml."""
    out = []
    for row in iter_rows(filter_bad_chars(blocks, Counter()), name, table="comments"):
        read["comments"] += 1
        try:
            post = int(row.get("PostId"))
        except (TypeError, ValueError):
            read["malformed_comments"] += 1
            continue
        if post in answer_ids:
            out.append({"id": int(row.get("Id") or 0), "post_id": post, "user_id": row.get("UserId"),
                        "text": row.get("Text") or "", "created": row.get("CreationDate") or ""})
    return out
