"""The one near-duplicate measure: Jaccard similarity of two n-gram sets.

Stage 04's prompt dedup (lima.dataset.dedup, word 3-grams) and stage 03's prompt diversity limit
(lima.sources.reddit.select, word bigrams) both score with this; each builds its own n-gram sets.
It sits apart from both so a source does not import the dataset layer.
"""
from __future__ import annotations


def jaccard(a: frozenset, b: frozenset) -> float:
    """|A ∩ B| / |A ∪ B|; 0.0 when either set is empty. The union's size comes from the two sizes
    and the intersection, without building it (the Reddit selection calls this per prompt pair)."""
    if not a or not b:
        return 0.0
    common = len(a & b)
    return common / (len(a) + len(b) - common)
