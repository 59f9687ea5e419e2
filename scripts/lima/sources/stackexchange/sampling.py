"""Draw the Stack Exchange examples: temperature sampling over exchanges (§2.1).

p(exchange e) ∝ n_e^(1/τ) with τ = 3 and n_e the exchange's qualifying pairs: large exchanges
still give more, but far less than in proportion, so the mix of domains is closer to uniform. Each
draw takes the chosen exchange's next-best question; an exhausted exchange leaves the draw.
The same sampler, with the STEM/Other balance, draws the held-out perplexity set (Appendix B) and
the §5 ablation sets (lima/eval/ablations/draws.py), so every Stack Exchange set is drawn one way.
"""
from __future__ import annotations

import random

from lima.rng import make_rng
from lima.sources.stackexchange.sites import site_key

TAU = 3.0   # §2.1: temperature sampling with τ = 3


def temperature_sample(pools: dict[str, list], quota: int, rng: random.Random, tau: float = TAU,
                       sizes: dict[str, int] | None = None) -> list:
    """Up to `quota` items drawn across `pools` (site -> items, in the order to take them). `sizes`
    gives n_e per site when it is not the pool's length (a draw paired with another pool's weights)."""
    weight = {s: (sizes[s] if sizes else len(items)) ** (1.0 / tau) for s, items in pools.items() if items}
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


def balanced_quotas(n: int, available: dict[str, int]) -> dict[str, int]:
    """n examples split STEM/Other as Table 1 (200 + 200; an odd one to STEM). A category with too few
    gives its shortfall to the other, so a set keeps its size while both can fill it."""
    stem = min(n - n // 2, available.get("stem", 0))
    other = min(n - stem, available.get("other", 0))
    stem = min(n - other, available.get("stem", 0))
    return {"stem": stem, "other": other}


def draw_balanced(groups: dict[str, dict[str, list]], n: int, seed: int, salt: tuple, tau: float = TAU,
                  sizes: dict[str, dict[str, int]] | None = None) -> list:
    """The stage-01 draw at size n: per category (groups: category -> site -> items), temperature
    sampling over its sites, the quota balanced by balanced_quotas. The random stream depends only
    on (seed, salt, category): within a category a smaller quota draws a prefix of a larger one."""
    avail = {c: sum(map(len, sites.values())) for c, sites in groups.items()}
    out = []
    for category, quota in balanced_quotas(n, avail).items():
        out += temperature_sample(groups.get(category, {}), quota, make_rng(seed, *salt, category), tau,
                                  (sizes or {}).get(category))
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


def record_id(pair: dict) -> str:
    return f"stackexchange/{site_key(pair['site'])}/{pair['question_id']}"


def to_record(pair: dict, seed: int) -> dict:
    """A pair as a data-contract row; the prompt is the title or the body, chosen at random per
    example (seeded by its id, so the choice does not depend on what else was drawn)."""
    rid = record_id(pair)
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
