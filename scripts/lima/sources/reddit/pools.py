"""Pass 1's bounded memory: a pool of the top-scoring qualifying posts per subreddit, and the sink
that routes each submission through the rules (or the pins) into it, counting every drop."""
from __future__ import annotations

import hashlib
import heapq
from dataclasses import dataclass, field

from lima.funnel import Funnel
from lima.sources.reddit.files import Dump
from lima.sources.reddit.pins import Pin
from lima.sources.reddit.rows import normalise_post
from lima.sources.reddit.rules import ask_post_reason, wp_post_reason


def tiebreak(seed: int, post_id: str) -> int:
    """Equal scores (common in old months, where many rows score 0 or 1) are ordered by a seeded
    hash of the id, so the pick does not depend on file order."""
    return int.from_bytes(hashlib.blake2b(f"{seed}:{post_id}".encode(), digest_size=8).digest(), "big")


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
