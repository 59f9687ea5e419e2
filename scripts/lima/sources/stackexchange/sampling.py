"""Draw the Stack Exchange examples: temperature sampling over exchanges (§2.1).

p(exchange e) ∝ n_e^(1/τ) with τ = 3 and n_e the exchange's qualifying pairs: large exchanges
still give more, but far less than in proportion, so the mix of domains is closer to uniform. Each
draw takes the chosen exchange's next-best question; an exhausted exchange leaves the draw.
"""
from __future__ import annotations

import random

from lima.rng import make_rng
from lima.sources.stackexchange.sites import site_key

TAU = 3.0   # §2.1: temperature sampling with τ = 3


def temperature_sample(pools: dict[str, list], quota: int, rng: random.Random, tau: float = TAU) -> list:
    """Up to `quota` items drawn across `pools` (site -> items, best first)."""
    weight = {s: len(items) ** (1.0 / tau) for s, items in pools.items() if items}
    taken = {s: 0 for s in weight}
    active = sorted(weight)
    out = []
    while len(out) < quota and active:
        site = rng.choices(active, weights=[weight[s] for s in active])[0]
        out.append(pools[site][taken[site]])
        taken[site] += 1
        if taken[site] == len(pools[site]):
            active.remove(site)
    return out


def to_dialogue(chain: dict, seed: int) -> dict:
    """A comment chain as a multi_turn row: the pair's prompt and answer, then the chain's turns."""
    first = to_record(chain["pair"], seed)
    pair = chain["pair"]
    return {
        "id": f"multi_turn/stackexchange/{site_key(pair['site'])}/{pair['question_id']}",
        "source": "multi_turn",
        "conversations": first["conversations"] + chain["turns"],
        "meta": {"site": pair["site"], "category": pair["category"], "question_id": pair["question_id"],
                 "answer_id": pair["answer_id"], "comment_ids": chain["comment_ids"],
                 "prompt_field": first["meta"]["prompt_field"], "edits": chain["edits"]},
    }


def to_record(pair: dict, seed: int) -> dict:
    """A pair as a data-contract row; the prompt is the title or the body, chosen at random per
    example (seeded by its id, so the choice does not depend on what else was drawn)."""
    rid = f"stackexchange/{site_key(pair['site'])}/{pair['question_id']}"
    use_body = bool(pair["question_text"]) and make_rng(seed, "prompt_field", rid).random() < 0.5
    return {
        "id": rid,
        "source": "stackexchange",
        "conversations": [pair["question_text"] if use_body else pair["title"], pair["answer"]],
        "meta": {
            "site": pair["site"], "category": pair["category"],
            "question_id": pair["question_id"], "answer_id": pair["answer_id"],
            "question_score": pair["question_score"], "answer_score": pair["answer_score"],
            "prompt_field": "body" if use_body else "title", "title": pair["title"],
            "tags": pair["tags"], "answer_html_chars": pair["answer_html_chars"],
        },
    }
