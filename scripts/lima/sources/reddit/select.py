"""The Reddit stage's final pick (§2.1) from the candidates the two passes kept: WritingPrompts
prompt+story pairs for training, AskReddit title-only questions for the test set.

The paper picked these by hand from the most upvoted posts; we take the pinned posts first (a hand
selection, lima.sources.reddit.pins), then the best-scoring candidates, under two diversity limits
(stories per author, prompt similarity). Every candidate not taken ends in one funnel counter
(`post:over_quota`, `post:similar_prompt`, ...); the taken ones are counted as `pairs` / `prompts`.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from lima.similarity import jaccard, ngrams, normalize_text
from lima.sources.reddit.comments import Stories
from lima.sources.reddit.pins import Pin
from lima.sources.reddit.pools import Sink
from lima.sources.reddit.records import ask_record, wp_record
from lima.sources.reddit.rows import DELETED


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
        sh = _bigrams(prompt)
        return any(jaccard(sh, other) > self.max_similarity for other in self.prompts)

    def take(self, prompt: str, author: str | None = None) -> None:
        self.prompts.append(_bigrams(prompt))
        if author and author not in DELETED:
            self.authors[author.lower()] += 1


def _bigrams(prompt: str) -> frozenset:
    return ngrams(normalize_text(prompt), 2)


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
