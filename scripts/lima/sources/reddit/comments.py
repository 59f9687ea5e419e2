"""Pass 2 over the comments files: the stories answering the candidate posts of pass 1 (`link_id`
decides by a byte scan before any JSON is parsed), at most STORIES_PER_POST per post."""
from __future__ import annotations

from typing import Iterable

from lima.sources.reddit.files import Dump
from lima.sources.reddit.pools import Sink, tiebreak
from lima.sources.reddit.prefilter import ValueLines
from lima.sources.reddit.rows import normalise_comment, parse_line
from lima.sources.reddit.rules import MIN_STORY_WORDS, story_reason
from lima.sources.reddit.submissions import Block
from lima.sources.reddit.text import clean_markup

STORIES_PER_POST = 3         # kept per candidate, so the author cap can fall back on a runner-up


class Stories:
    """Up to STORIES_PER_POST qualifying stories per candidate post, plus pinned stories."""

    def __init__(self, sink: Sink, min_words: int = MIN_STORY_WORDS):
        self.sink = sink
        self.min_words = min_words
        self.ids = {i.encode() for i in sink.candidate_ids()}
        self.pinned_comments = {p.comment_id: p.post_id for p in sink.pins.values() if p.comment_id}
        self.best: dict[str, list[dict]] = {}
        self.pinned: dict[str, dict] = {}

    def drop(self, reason: str, n: int = 1) -> None:
        self.sink.funnel.dropped[f"comment:{reason}"] += n

    def offer(self, row: dict, dump: Dump) -> None:
        c = normalise_comment(row)
        if c["subreddit"] and c["subreddit"] != self.sink.subreddit:
            return self.drop("other_subreddit")
        if self.pinned_comments.get(c["id"]) == c["link_id"]:
            if c["removed"] or not c["body"].strip():
                self.sink.pins_rejected[f"{self.sink.source}/{c['link_id']} {c['id']}"] = "story removed"
                return self.drop("removed")
            c.update(text=clean_markup(c["body"]), dump=dump.name, tb=tiebreak(self.sink.seed, c["id"] or ""))
            if c["link_id"] in self.pinned:
                return self.drop("duplicate")
            self.pinned[c["link_id"]] = c
            return None
        reason, text = story_reason(c, self.min_words)
        if reason:
            return self.drop(reason)
        c.update(text=text, dump=dump.name, tb=tiebreak(self.sink.seed, c["id"] or ""))
        slot = self.best.setdefault(c["link_id"], [])
        if any(s["id"] == c["id"] for s in slot):
            return self.drop("duplicate")
        slot.append(c)
        slot.sort(key=lambda s: (-s["score"], -s["tb"]))
        if len(slot) > STORIES_PER_POST:
            slot.pop()
            self.drop("outranked")


def scan_comments(dump: Dump, stories: Stories, file_stats: dict, blocks: Iterable[Block],
                  engine: str | None = None) -> None:
    """Keep only the comments that answer a candidate post (`link_id` decides before any JSON is
    parsed)."""
    stats = file_stats.setdefault(dump.name, {"kind": dump.kind, "lines": 0, "parsed": 0})
    linked, funnel = ValueLines(b"link_id", stories.ids, b"t3_", engine=engine), stories.sink.funnel
    for buf, first, end, n_lines in blocks:
        stats["lines"] += n_lines
        for start, _ in linked.find(buf, first, end):
            row, err = parse_line(buf[start:buf.find(b"\n", start, end)])
            stats["parsed"] += 1
            funnel.read["comment_lines"] += 1
            if err:
                stories.drop(err)
            else:
                stories.offer(row, dump)
