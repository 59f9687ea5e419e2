"""Seeded random streams keyed by what they choose for, so outputs do not shift when inputs do."""
from __future__ import annotations

import hashlib
import random


def make_rng(seed: int, *salt) -> random.Random:
    """A random stream that depends only on the seed and the salt (e.g. an example id), so a
    choice made for one item does not shift when other items come or go."""
    key = "\x1f".join([str(seed), *map(str, salt)]).encode()
    return random.Random(int.from_bytes(hashlib.sha256(key).digest()[:8], "big"))
