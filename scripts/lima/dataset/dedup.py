"""Exact and near-duplicate prompts, for deduplication within train and decontamination of train
against dev and test.

Two prompts are duplicates when their normalised text is equal (NFKC, lowercase, punctuation and
runs of white space folded to one space), or when the Jaccard similarity of their word 3-gram sets is
at least 0.5 (`NEAR_DUP_JACCARD`). One word changed in a 20-word prompt leaves 15 of 21 distinct
3-grams shared (0.71, caught); two unrelated questions on one topic share almost none. Prompts of
fewer than 3 words are compared exactly only (lima.similarity.ngrams). Candidates come from an inverted index on the
3-grams, so a check costs the prompts that share a 3-gram, not the whole index.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from lima.similarity import jaccard, ngrams, normalize_text

NGRAM = 3                 # word n-gram size
NEAR_DUP_JACCARD = 0.5    # documented threshold: |A ∩ B| / |A ∪ B| of the 3-gram sets
# A 3-gram that occurs in more prompts than this is boilerplate (a Super-NI definition shared by
# every instance of a task); it is left out of the index as a candidate key, not of the score.
MAX_POSTING = 500

@dataclass(frozen=True)
class Match:
    key: str          # the id of the prompt already in the index
    kind: str         # "exact" or "near"
    score: float      # 1.0 for exact, the Jaccard similarity for near


class PromptIndex:
    """Prompts seen so far; `find` returns the closest one that counts as a duplicate."""

    def __init__(self, threshold: float = NEAR_DUP_JACCARD):
        self.threshold = threshold
        self._exact: dict[str, str] = {}
        self._grams: dict[str, frozenset] = {}
        self._posting: dict[tuple, list[str]] = defaultdict(list)

    def __len__(self) -> int:
        return len(self._grams)

    def add(self, key: str, text: str) -> None:
        norm = normalize_text(text)
        self._exact.setdefault(norm, key)
        grams = ngrams(norm, NGRAM)
        self._grams[key] = grams
        for g in grams:
            posting = self._posting[g]
            if len(posting) <= MAX_POSTING:
                posting.append(key)

    def find(self, text: str) -> Match | None:
        norm = normalize_text(text)
        if norm in self._exact:
            return Match(self._exact[norm], "exact", 1.0)
        grams = ngrams(norm, NGRAM)
        if not grams:
            return None
        seen: set[str] = set()
        best: Match | None = None
        for g in sorted(grams):
            for key in self._posting.get(g, ()):
                if key in seen:
                    continue
                seen.add(key)
                score = jaccard(grams, self._grams[key])
                if score >= self.threshold and (best is None or (score, best.key) > (best.score, key)):
                    best = Match(key, "near", round(score, 4))
        return best
