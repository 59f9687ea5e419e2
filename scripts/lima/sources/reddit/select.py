"""Selection rules of the Reddit stage (§2.1): WritingPrompts prompt+story pairs for training,
AskReddit title-only questions for the test set.

The paper picked these by hand from the most upvoted posts; we pick by rules and keep a pin file
for a hand selection. Memory stays bounded whatever the dump size: pass 1 keeps the top
`quota x pool_factor` qualifying posts of each subreddit in a heap; pass 2 keeps at most
`STORIES_PER_POST` qualifying stories per candidate post.

Every row a rule looks at ends in exactly one funnel counter: `post:<reason>` / `comment:<reason>`
drops, or kept (`pairs`, `prompts`).
"""
from __future__ import annotations

import hashlib
import heapq
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from lima.errors import StageError
from lima.funnel import Funnel
from lima.sources.reddit.files import Dump
from lima.sources.reddit.rows import DELETED, normalise_comment, normalise_post, parse_line
from lima.sources.reddit.prefilter import ScoreLines, ValueLines, score_pattern
from lima.sources.reddit.text import (MEDIA_TAGS, META_TAGS, NSFW_TAGS, PROMPT_TAGS, clean_markup, count_words,
                              shingles, split_title_tags, strip_all_tags, unescape)
from lima.similarity import jaccard

Block = tuple[bytes, int, int, int]   # (buffer, start, end, lines): see lima.sources.reddit.decode.scan_blocks

MIN_STORY_WORDS = 100        # r/WritingPrompts' own rule for a response (docs/data.md#subreddit-rules)
FILL_STEP = 256              # lines parsed between two looks at a filling pool's threshold
STORIES_PER_POST = 3         # kept per candidate, so the author cap can fall back on a runner-up
BOTS = frozenset({"automoderator", "writingpromptsrobot"})
MOD_DISTINCTIONS = frozenset({"moderator", "admin"})
# A test prompt must stand alone for an assistant: no talk about Reddit itself or this thread.
_NOT_SELF_CONTAINED = re.compile(
    r"\b(?:reddit|redditors?|subreddits?|this sub|upvotes?|downvotes?|karma|this post|this thread|askreddit)\b"
    r"|(?:^|\s)/?[ru]/\w", re.I)
_NOT_SELF_CONTAINED_CASED = re.compile(r"\b(?:OP|AMA)\b")


# ---- rules ---------------------------------------------------------------------------------------
def wp_post_reason(post: dict) -> tuple[str | None, str]:
    """(drop reason or None, prompt) for a r/WritingPrompts submission."""
    if post["removed"]:
        return "removed", ""
    prompt, tags = split_title_tags(unescape(post["title"]))
    tagset = set(tags)
    if post["over_18"] or tagset & NSFW_TAGS:
        return "nsfw", prompt
    if post["stickied"] or post["distinguished"] in MOD_DISTINCTIONS or tagset & META_TAGS:
        return "meta", prompt
    if tagset & MEDIA_TAGS:
        return "needs_media", prompt
    if not tagset & PROMPT_TAGS:
        return "not_a_prompt", prompt
    if count_words(prompt) < 3:
        return "too_short", prompt
    return None, prompt


def ask_post_reason(post: dict) -> tuple[str | None, str]:
    """(drop reason or None, prompt) for a r/AskReddit submission: a self-contained title-only question."""
    if post["removed"]:
        return "removed", ""
    prompt, tags = strip_all_tags(unescape(post["title"]))
    tagset = set(tags)
    if post["over_18"] or tagset & NSFW_TAGS:
        return "nsfw", prompt
    if post["stickied"] or post["distinguished"] in MOD_DISTINCTIONS or tagset & META_TAGS:
        return "meta", prompt
    if not post["is_self"] or post["selftext"].strip():
        return "not_title_only", prompt
    if not prompt.endswith("?"):
        return "not_a_question", prompt
    if count_words(prompt) < 4:
        return "too_short", prompt
    if _NOT_SELF_CONTAINED.search(prompt) or _NOT_SELF_CONTAINED_CASED.search(prompt):
        return "not_self_contained", prompt
    return None, prompt


def story_reason(comment: dict, min_words: int = MIN_STORY_WORDS) -> tuple[str | None, str]:
    """(drop reason or None, plain-text story) for a comment on a candidate prompt."""
    if comment["removed"]:
        return "removed", ""
    if not comment["top_level"]:
        return "not_top_level", ""
    if comment["author"].lower() in BOTS or comment["stickied"] or comment["distinguished"] in MOD_DISTINCTIONS:
        return "bot_or_mod", ""
    text = clean_markup(comment["body"])
    if count_words(text) < min_words:
        return "too_short", text
    return None, text


def tiebreak(seed: int, post_id: str) -> int:
    """Equal scores (common in old months, where many rows score 0 or 1) are ordered by a seeded
    hash of the id, so the pick does not depend on file order."""
    return int.from_bytes(hashlib.blake2b(f"{seed}:{post_id}".encode(), digest_size=8).digest(), "big")


# ---- pins ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pin:
    source: str | None        # "writingprompts", "askreddit" or None (whichever holds the id)
    post_id: str
    comment_id: str | None    # a WritingPrompts pin may name the story to take

    @property
    def key(self) -> str:
        return f"{self.source or '*'}/{self.post_id}"


_PIN_URL = re.compile(r"/r/(\w+)/comments/([0-9a-z]+)(?:/[^/\s]*/([0-9a-z]+))?", re.I)


def read_pins(path: Path) -> list[Pin]:
    """One pin a line: `abc123`, `t3_abc123`, `writingprompts/abc123`, `askreddit/abc123` or a
    post URL, optionally followed by a story comment id (`t1_def456`). `#` starts a comment."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise StageError(path, f"cannot read the pin file ({e})") from e
    pins, seen = [], set()
    for n, raw in enumerate(lines, 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        m = _PIN_URL.search(parts[0])
        if m:
            source, post, comment = m.group(1).lower(), m.group(2), m.group(3)
        else:
            source, _, post = parts[0].rpartition("/")
            source, comment = source.lower() or None, None
            post = post[3:] if post.startswith("t3_") else post
        if len(parts) > 1:
            comment = parts[1][3:] if parts[1].startswith("t1_") else parts[1]
        if len(parts) > 2 or not re.fullmatch(r"[0-9a-z]+", post or "") or (comment and not re.fullmatch(r"[0-9a-z]+", comment)):
            raise StageError(path, f"line {n}: expected '<post id or URL> [<comment id>]', got {raw.strip()!r}")
        pin = Pin(source, post, comment)
        if pin.post_id not in seen:
            seen.add(pin.post_id)
            pins.append(pin)
    return pins


# ---- bounded pools -------------------------------------------------------------------------------
class Pool:
    """The top `size` posts by (score, tiebreak); at most one row per id (the higher-scored copy)."""

    def __init__(self, size: int):
        self.size = size
        self.heap: list[tuple[int, int, str]] = []
        self.items: dict[str, dict] = {}

    @staticmethod
    def _key(post: dict) -> tuple[int, int]:
        return post["score"], post["tb"]

    def _clean(self) -> None:
        while self.heap:
            score, tb, pid = self.heap[0]
            cur = self.items.get(pid)
            if cur is not None and self._key(cur) == (score, tb):
                return
            heapq.heappop(self.heap)       # an entry left behind by a replaced duplicate

    def offer(self, post: dict) -> str | None:
        """Take the post if it ranks; return the drop reason of the one row that lost, if any."""
        if self.size <= 0:
            return "not_top_scoring"
        pid, key = post["id"], self._key(post)
        old = self.items.get(pid)
        if old is not None:
            if key > self._key(old):
                self.items[pid] = post
                heapq.heappush(self.heap, (*key, pid))
            return "duplicate"
        lost = None
        if len(self.items) >= self.size:
            self._clean()
            if key <= self.heap[0][:2]:
                return "not_top_scoring"
            _, _, gone = heapq.heappop(self.heap)
            del self.items[gone]
            lost = "not_top_scoring"        # the evicted post, which was counted as pooled
        self.items[pid] = post
        heapq.heappush(self.heap, (*key, pid))
        return lost

    def threshold(self) -> int | None:
        """Lowest score still in a full pool (None while it has room)."""
        if len(self.items) < self.size:
            return None
        self._clean()
        return self.heap[0][0]

    def ranked(self) -> list[dict]:
        return sorted(self.items.values(), key=lambda p: (-p["score"], -p["tb"]))


@dataclass
class Sink:
    """Everything pass 1 keeps for one subreddit: funnel, candidate pool, pinned posts."""
    role: str                  # "wp" or "ask"
    source: str                # output label: "writingprompts" / "askreddit"
    subreddit: str             # lower-cased name
    pool: Pool
    seed: int
    pins: dict[str, Pin] = field(default_factory=dict)
    funnel: Funnel = None
    pinned: dict[str, dict] = field(default_factory=dict)
    pins_rejected: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        self.funnel = self.funnel or Funnel(self.source)

    def drop(self, reason: str, n: int = 1) -> None:
        self.funnel.dropped[f"post:{reason}"] += n

    def offer(self, row: dict, dump: Dump) -> None:
        post = normalise_post(row)
        if not post["id"]:
            return self.drop("no_id")
        if post["subreddit"] and post["subreddit"] != self.subreddit:
            return self.drop("other_subreddit")
        rule = wp_post_reason if self.role == "wp" else ask_post_reason
        reason, prompt = rule(post)
        post.update(prompt=prompt, dump=dump.name, tb=tiebreak(self.seed, post["id"]))
        pin = self.pins.get(post["id"])
        if pin is not None:
            # A hand pick skips the ranking and the style rules, not the integrity ones.
            hard = ("removed" if post["removed"] else "nsfw" if post["over_18"]
                    else "empty_prompt" if not prompt else None)
            if hard:
                self.pins_rejected[pin.key] = hard
                return self.drop(hard)
            old = self.pinned.get(post["id"])
            if old is not None:
                if post["score"] > old["score"]:
                    self.pinned[post["id"]] = post
                return self.drop("duplicate")
            self.pinned[post["id"]] = post
            return None
        if reason:
            return self.drop(reason)
        lost = self.pool.offer(post)
        if lost:
            self.drop(lost)

    def candidate_ids(self) -> set[str]:
        return set(self.pool.items) | set(self.pinned)


# ---- pass 1: submissions -------------------------------------------------------------------------
def scan_submissions(dump: Dump, sinks: dict[str, Sink], file_stats: dict, blocks: Iterable[Block],
                     engine: str | None = None) -> None:
    """Feed one submissions file to the sinks of the subreddits it holds, parsing only the lines
    that can matter: in a monthly file those naming a wanted subreddit, in a per-subreddit file
    (once the pool is full) those with a score that could enter it, or a pinned id."""
    stats = file_stats.setdefault(dump.name, {"kind": dump.kind, "lines": 0, "parsed": 0})
    if dump.subreddit is None:
        wanted = {name.encode(): sink for name, sink in sinks.items()}
        named = ValueLines(b"subreddit", wanted, caseless=True, engine=engine)
        for buf, first, end, n_lines in blocks:
            stats["lines"] += n_lines
            stats["parsed"] += _feed_monthly(buf, first, end, named, wanted, dump)
        return
    sink = sinks[dump.subreddit]
    scores = ScoreLines(engine)
    pinned = ValueLines(b"id", (p.encode() for p in sink.pins), b"t3_", engine=engine)
    for buf, first, end, n_lines in blocks:
        stats["lines"] += n_lines
        parsed, pos = 0, first
        while pos < end:
            # While the pool has room every line is parsed: take a few hundred lines at a time,
            # so the score prefilter starts as soon as the pool is full, not a block later.
            stop = end if sink.pool.threshold() is not None else _after_lines(buf, pos, end, FILL_STEP)
            for start, best in _lines_that_may_rank(buf, pos, stop, sink, scores, pinned):
                thr = sink.pool.threshold()
                if thr is not None and best < thr:
                    continue       # the better lines parsed before it have raised the bar
                row, err = parse_line(buf[start:buf.find(b"\n", start, stop)])
                if err:
                    sink.drop(err)
                else:
                    sink.offer(row, dump)
                parsed += 1
            pos = stop
        stats["parsed"] += parsed
        sink.funnel.read["submission_lines"] += n_lines
        if n_lines > parsed:               # their scores showed they cannot rank
            sink.drop("not_top_scoring", n_lines - parsed)


def _after_lines(buf: bytes, pos: int, end: int, n: int) -> int:
    """The offset after the next `n` lines of buf[pos:end] (whole lines), or `end`."""
    for _ in range(n):
        pos = buf.find(b"\n", pos, end) + 1
        if pos <= 0:
            return end
    return pos


def _lines_that_may_rank(buf: bytes, first: int, end: int, sink: Sink, scores: ScoreLines,
                         pinned: ValueLines) -> list[tuple[int, float]]:
    """The lines that may enter the pool, each with the highest score it holds: all of them, in
    file order, while the pool has room; once it is full, those holding some `"score"` >= its
    lowest, best first (file order among equals), after the pinned ids. A row's own score is at
    most its line's best (a nested copy may hold a higher one), so no line that could rank is
    lost; and parsing the best lines first raises the pool's bar sooner, so fewer need parsing."""
    thr = sink.pool.threshold()
    if thr is None or thr < 1:
        ranked, i = [], first
        while i < end:
            stop = buf.find(b"\n", i, end)
            if stop > i:
                ranked.append((i, math.inf))
            i = stop + 1
        return ranked
    pins = {start for start, _ in pinned.find(buf, first, end)}
    ranked = [(start, math.inf if start in pins else _best_score(buf, start, end))
              for start in sorted(set(scores.find(buf, first, end, thr)) | pins)]
    ranked.sort(key=lambda line: -line[1])
    return ranked


def _best_score(buf: bytes, start: int, end: int) -> int:
    stop = buf.find(b"\n", start, end)
    return max(map(int, score_pattern(1).findall(buf, start, end if stop < 0 else stop)), default=0)


def _feed_monthly(buf: bytes, first: int, end: int, named: ValueLines, wanted: dict[bytes, Sink], dump: Dump) -> int:
    """Route the rows of wanted subreddits in a block of a monthly file; returns lines parsed. A
    row of another subreddit that merely nests a wanted one (a crosspost) is parsed, then ignored."""
    parsed = 0
    for start, value in named.find(buf, first, end):
        sink = wanted[value]
        stop = buf.find(b"\n", start, end)
        line = buf[start:stop]
        parsed += 1
        row, err = parse_line(line)
        if err:
            sink.funnel.read["submission_lines"] += 1
            sink.drop(err)
            continue
        sub = row.get("subreddit")
        own = wanted.get(sub.lower().encode()) if isinstance(sub, str) else None
        if own is not None:
            own.funnel.read["submission_lines"] += 1
            own.offer(row, dump)
    return parsed


# ---- pass 2: comments ----------------------------------------------------------------------------
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


# ---- selection -----------------------------------------------------------------------------------
@dataclass
class Diversity:
    """The two diversity limits: stories per author, and prompt similarity (word bigram Jaccard)."""
    max_per_author: int
    max_similarity: float
    authors: Counter = field(default_factory=Counter)
    prompts: list = field(default_factory=list)

    def author_ok(self, author: str) -> bool:
        # A deleted account cannot be told apart from another one, so it is not capped.
        return author in DELETED or self.authors[author.lower()] < self.max_per_author

    def too_similar(self, prompt: str) -> bool:
        sh = shingles(prompt)
        return any(jaccard(sh, other) > self.max_similarity for other in self.prompts)

    def take(self, prompt: str, author: str | None = None) -> None:
        self.prompts.append(shingles(prompt))
        if author and author not in DELETED:
            self.authors[author.lower()] += 1


def _pinned_in_order(sink: Sink, pins: list[Pin]) -> list[dict]:
    return [sink.pinned[p.post_id] for p in pins if p.post_id in sink.pinned]


def select_wp(sink: Sink, stories: Stories, pins: list[Pin], quota: int, div: Diversity) -> list[dict]:
    """Pinned posts first (in pin order), then candidates by score: the best story whose author
    is under the cap, a prompt not too close to one already taken, until the quota is met."""
    chosen: list[tuple[dict, dict, bool]] = []
    for post in _pinned_in_order(sink, pins):
        if len(chosen) >= quota:
            sink.drop("over_quota")
            continue
        ranked = stories.best.get(post["id"], [])
        story = stories.pinned.get(post["id"]) or next((s for s in ranked if div.author_ok(s["author"])), None) \
            or (ranked[0] if ranked else None)
        if story is None:
            sink.pins_rejected[f"{sink.source}/{post['id']}"] = "no qualifying story"
            sink.drop("no_story")
            continue
        chosen.append((post, story, True))
        div.take(post["prompt"], story["author"])
    for post in sink.pool.ranked():
        if len(chosen) >= quota:
            sink.drop("over_quota")
            continue
        ranked = stories.best.get(post["id"], [])
        if not ranked:
            sink.drop("no_story")
            continue
        story = next((s for s in ranked if div.author_ok(s["author"])), None)
        if story is None:
            sink.drop("author_cap")
            continue
        if div.too_similar(post["prompt"]):
            sink.drop("similar_prompt")
            continue
        chosen.append((post, story, False))
        div.take(post["prompt"], story["author"])
    used = {id(s) for _, s, _ in chosen}
    unused = sum(1 for slot in stories.best.values() for s in slot if id(s) not in used)
    unused += sum(1 for s in stories.pinned.values() if id(s) not in used)
    if unused:
        stories.drop("unused", unused)
    sink.funnel.kept["pairs"] = len(chosen)
    return [wp_record(post, story, pinned) for post, story, pinned in chosen]


def select_ask(sink: Sink, pins: list[Pin], quota: int, div: Diversity) -> list[dict]:
    """Pinned posts first, then the most upvoted qualifying questions, skipping near-duplicates."""
    chosen = []
    for post in _pinned_in_order(sink, pins):
        if len(chosen) >= quota:
            sink.drop("over_quota")
            continue
        chosen.append((post, True))
        div.take(post["prompt"])
    for post in sink.pool.ranked():
        if len(chosen) >= quota:
            sink.drop("over_quota")
            continue
        if div.too_similar(post["prompt"]):
            sink.drop("similar_prompt")
            continue
        chosen.append((post, False))
        div.take(post["prompt"])
    sink.funnel.kept["prompts"] = len(chosen)
    return [ask_record(post, pinned) for post, pinned in chosen]


def wp_record(post: dict, story: dict, pinned: bool) -> dict:
    return {
        "id": f"writingprompts/{post['id']}",
        "source": "writingprompts",
        "conversations": [post["prompt"], story["text"]],
        "meta": {"post_id": post["id"], "post_score": post["score"], "comment_id": story["id"],
                 "comment_score": story["score"], "dump": post["dump"], "comment_dump": story["dump"],
                 "created_utc": post["created_utc"], "story_author": story["author"],
                 "story_words": count_words(story["text"]), "pinned": pinned},
    }


def ask_record(post: dict, pinned: bool) -> dict:
    return {
        "id": f"askreddit/{post['id']}",
        "source": "askreddit",
        "conversations": [post["prompt"]],
        "meta": {"post_id": post["id"], "post_score": post["score"], "num_comments": post["num_comments"],
                 "dump": post["dump"], "created_utc": post["created_utc"], "pinned": pinned},
    }
