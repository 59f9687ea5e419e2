"""The one near-duplicate measure: Jaccard similarity of two sets of word n-grams of normalised text.

Stage 04's prompt dedup (lima.dataset.dedup, word 3-grams) and stage 03's prompt diversity limit
(lima.sources.reddit.select, word bigrams) both build their n-grams and score them here. It sits
apart from both so a source does not import the dataset layer.
"""
from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalize_text(text: str) -> str:
    """Case, accents composed, punctuation and white space folded: 'How to Tie a Tie?!' and
    'how to tie a tie' are the same prompt ("n't" and "n t" alike)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return _NON_WORD.sub(" ", text).strip()


def ngrams(norm: str, n: int) -> frozenset:
    """The word n-grams of normalised text. A text of fewer than n words is one n-gram of all its
    words, so two equal short texts are as similar as two equal long ones (and no near-duplicate of
    any other text); an empty text has none."""
    words = norm.split()
    if len(words) < n:
        return frozenset([tuple(words)]) if words else frozenset()
    return frozenset(tuple(words[i:i + n]) for i in range(len(words) - n + 1))


def jaccard(a: frozenset, b: frozenset) -> float:
    """|A ∩ B| / |A ∪ B|; 0.0 when either set is empty. The union's size comes from the two sizes
    and the intersection, without building it (the Reddit selection calls this per prompt pair)."""
    if not a or not b:
        return 0.0
    common = len(a & b)
    return common / (len(a) + len(b) - common)
