"""The data of §5's ablations (diversity, quality, quantity): the variants drawn from the pools.

Data variants are drawn from the candidate pools the data stages leave in data/interim/pools/. The
Stack Exchange sets are drawn with the stage-01 sampler's exchange draw (§2.1: temperature sampling
over exchanges with τ = 3, p(e) ∝ n_e^(1/τ), n_e the exchange's qualifying pairs; STEM/Other balanced):
- filtered at n: over the qualifying pairs; each size is its own draw (its own random streams), so
  the quantity series are independent samples of one distribution, not prefixes of one ranking;
- unfiltered: over every top answer, with no quality or style rule, sharing the filtered set's
  exchange stream and weights and cut per exchange to the filtered pool's count there, so both sets
  of one size hold the same exchanges with the same counts and the same STEM/Other split.
Inside an exchange the questions are taken at random (`order="random"`, the default): stage 01's
"next-best question" order would make larger sets lower-scored and leave the unfiltered set nearly
only answers that pass the score rule anyway; `order="best"` gives that order.
wikiHow sets are the first n rows of stage 02's pool (its own category-then-article draw). A pool
shorter than asked gives all it has, and the variant says so (`capped`). Scores come from stage 06's
1-6 helpfulness judge over 5 samples per test prompt; `lima.eval.ablations.report` turns them into the
two figures and the report fragment.
"""
from __future__ import annotations

import statistics
from collections import Counter

from lima.rng import make_rng
from lima.sources.stackexchange.sampling import TAU, draw_balanced

POOLS = ("se-filtered", "se-unfiltered", "wikihow")
CATEGORIES = ("stem", "other")
ORDERS = ("random", "best")        # inside an exchange: at random, or best first as stage 01


def parse_sizes(spec: str) -> list[int]:
    """'8,16,32' (or spaces) -> [8, 16, 32]; each at least 1, kept in the order given, no repeats."""
    out = []
    for part in spec.replace(",", " ").split():
        n = int(part)
        if n < 1:
            raise ValueError(f"sizes must be at least 1, got {n}")
        if n not in out:
            out.append(n)
    if not out:
        raise ValueError("no size given")
    return out


def variant_plan(size: int, sizes: list[int]) -> list[tuple[str, str, int]]:
    """(name, pool, n) of every variant: the three pools at `size` (diversity and quality), then the
    filtered Stack Exchange series (quantity); the filtered variant at `size` serves both."""
    plan = [(f"{pool}-{size}", pool, size) for pool in POOLS]
    plan += [(f"se-filtered-{n}", "se-filtered", n) for n in sizes if n != size]
    return plan


def se_groups(rows: list[dict], counts: Counter, label: str) -> dict[str, dict[str, list[dict]]]:
    """category -> site -> rows in pool order (best first inside a site, as stage 01 writes them);
    a row without meta.site or a STEM/Other meta.category cannot be drawn and is counted."""
    groups: dict[str, dict[str, list[dict]]] = {c: {} for c in CATEGORIES}
    for row in rows:
        meta = row.get("meta") or {}
        if not meta.get("site") or meta.get("category") not in CATEGORIES:
            counts[f"{label}:no_site_or_category"] += 1
            continue
        groups[meta["category"]].setdefault(meta["site"], []).append(row)
    return groups


def in_order(groups: dict, seed: int, salt: tuple, order: str = "random") -> dict:
    """The groups with each site's rows in the order a draw takes them: best first as the pool lists
    them, or shuffled by a stream keyed by (seed, salt, site)."""
    out = {}
    for category, sites in groups.items():
        out[category] = {}
        for site, rows in sites.items():
            rows = list(rows)
            if order == "random":
                make_rng(seed, "ablation-order", *salt, site).shuffle(rows)
            out[category][site] = rows
    return out


def paired_groups(unfiltered: dict, filtered: dict) -> dict:
    """The unfiltered rows laid out for a draw paired with the filtered one: only the filtered pool's
    sites, each under its filtered category and cut to the filtered pool's count there, so the shared
    random stream and weights pick the same sites in the same order (the same exhaustion too)."""
    by_site = {site: rows for sites in unfiltered.values() for site, rows in sites.items()}
    return {category: {site: by_site.get(site, [])[:len(rows)] for site, rows in sites.items()}
            for category, sites in filtered.items()}


def draw_se(pools: dict, pool: str, n: int, seed: int, tau: float = TAU, order: str = "random") -> list[dict]:
    """n rows of `pool` (se-filtered / se-unfiltered; pools holds se_groups of both) by the stage-01
    sampler, the exchanges weighted by their qualifying pairs. The streams are keyed by n, so each
    size is its own draw; the unfiltered set of size n shares the filtered set's exchange stream."""
    filtered = pools["se-filtered"]
    groups = in_order(pools[pool], seed, (pool, n), order)
    if pool == "se-unfiltered":
        groups = paired_groups(groups, filtered)
    return draw_balanced(groups, n, seed, ("ablation", n), tau, site_sizes(filtered))


def site_sizes(groups: dict) -> dict[str, dict[str, int]]:
    return {c: {s: len(rows) for s, rows in sites.items()} for c, sites in groups.items()}


def describe_set(rows: list[dict], pool: str) -> dict:
    """What a reader needs to see the intended contrasts: sites, STEM/Other, the median answer score
    and length (characters of the response), the share whose answer passes the §2.1 filters."""
    metas = [r.get("meta") or {} for r in rows]
    answers = [len(r["conversations"][-1]) for r in rows]
    scores = [m["answer_score"] for m in metas if isinstance(m.get("answer_score"), (int, float))]
    se = pool != "wikihow"
    cats = Counter(m.get("category") for m in metas)
    return {
        "sites": len({m.get("site") for m in metas}) if se else None,
        "stem": cats["stem"] if se else None,
        "other": cats["other"] if se else None,
        "median_answer_score": statistics.median(scores) if scores else None,
        "median_answer_chars": statistics.median(answers) if answers else None,
        "passes_filters": (round(sum(m.get("passes_filters", pool == "se-filtered") for m in metas) / len(rows), 3)
                           if se and rows else None),
    }


def build_variant(rows: list[dict], n: int, pool_size: int | None = None) -> tuple[list[dict], dict]:
    """The rows drawn for a variant (at most n), and what was asked and given (the pool's size when
    `rows` is already a draw from it)."""
    taken = rows[:n]
    pool_size = len(rows) if pool_size is None else pool_size
    return taken, {"requested": n, "kept": len(taken), "pool_size": pool_size, "capped": len(taken) < n}


def without_flag(rows: list[dict], flag: str) -> tuple[list[dict], list[dict]]:
    """(rows without meta[flag], the rows that had it)."""
    kept = [r for r in rows if not (r.get("meta") or {}).get(flag)]
    gone = [r for r in rows if (r.get("meta") or {}).get(flag)]
    return kept, gone
