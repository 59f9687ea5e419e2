"""Automatic metrics of one generation file, and the statistics of judged results.

The metrics need no judge, so every evaluation has them: the share of responses that ended with EOT
(the rest hit --max-new-tokens: a model that never learned to stop), mean length, distinct-2 (unique
word bigrams over all bigrams of all responses: low when answers all look alike) and the repetition
rate (per response, the share of its word 4-grams that already occurred earlier in it; averaged).
Words are whitespace-split, so a baseline's text (another tokenizer, or none) is measured the same way.
"""
from __future__ import annotations

import math
from collections import Counter


def ngrams(words: list[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]


def repetition_rate(text: str, n: int = 4) -> float:
    grams = ngrams(text.split(), n)
    if not grams:
        return 0.0
    return 1.0 - len(set(grams)) / len(grams)


def generation_metrics(rows: list[dict]) -> dict:
    """The automatic metrics of generation rows ({"response", "n_new_tokens", "ended_eot", ...})."""
    n = len(rows)
    bigrams, distinct = 0, set()
    for r in rows:
        grams = ngrams(r["response"].split(), 2)
        bigrams += len(grams)
        distinct.update(grams)
    with_tokens = [r["n_new_tokens"] for r in rows if r.get("n_new_tokens") is not None]
    with_eot = [bool(r["ended_eot"]) for r in rows if r.get("ended_eot") is not None]
    return {
        "n_responses": n,
        "eot_rate": round(sum(with_eot) / len(with_eot), 4) if with_eot else None,
        # hit the token cap without EOT: the text was cut (judged as it is, and said so)
        "n_truncated": sum(not e for e in with_eot) if with_eot else None,
        "mean_new_tokens": round(sum(with_tokens) / len(with_tokens), 2) if with_tokens else None,
        "mean_words": round(sum(len(r["response"].split()) for r in rows) / n, 2) if n else None,
        "empty_responses": sum(1 for r in rows if not r["response"].strip()),
        "distinct_2": round(len(distinct) / bigrams, 4) if bigrams else None,
        "repetition_rate": round(sum(repetition_rate(r["response"]) for r in rows) / n, 4) if n else None,
    }


def t_quantile_975(df: int) -> float:
    """Student's t 97.5% quantile (scipy's `t.ppf`); NaN below one degree of freedom."""
    if df < 1:
        return float("nan")
    from scipy.stats import t
    return float(t.ppf(0.975, df))


def mean_ci95(values: list[float]) -> dict:
    """Mean with its two-sided 95% confidence interval (§5 reports the 1-6 scores this way)."""
    n = len(values)
    if n == 0:
        return {"n": 0, "mean": None, "ci95": None}
    mean = sum(values) / n
    if n == 1:
        return {"n": 1, "mean": mean, "ci95": None}
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = t_quantile_975(n - 1) * sd / math.sqrt(n)
    return {"n": n, "mean": round(mean, 4), "sd": round(sd, 4), "ci95": [round(mean - half, 4), round(mean + half, 4)]}


def shares(counts: dict[str, int], labels: tuple[str, ...]) -> dict:
    """Counts and percentages over the parseable answers; unparseable ones are reported, not spread."""
    total = sum(counts.get(k, 0) for k in labels)
    return {
        "n": total,
        "counts": {k: counts.get(k, 0) for k in labels},
        "percent": {k: round(100 * counts.get(k, 0) / total, 1) if total else None for k in labels},
        "unparseable": counts.get(None, 0),
    }


def pairwise_summary(items: list[dict], mode: str = "both-orders") -> dict:
    """Win/tie/loss shares of pairwise items, our side. `result` is the headline whatever the mode:
    - "single" (the paper's protocol): each item shown once, our side drawn at random; the shares
      with ours shown first and second are given apart, so a position bias shows;
    - "both-orders": each item in both orders, a disagreement between them a tie (`debiased`);
      this turns every position-biased verdict into a tie, so it gives more ties than the paper's.
    `tie_rate` is the share of ties in `result` (the paper's are 15-26%, Figs. 1-2)."""
    wtl = ("win", "tie", "loss")
    if mode == "single":
        summary = {"result": shares(Counter(i["verdict"] for i in items), wtl),
                   "ours_first": shares(Counter(i["verdict"] for i in items if i.get("ours_side") == "A"), wtl),
                   "ours_second": shares(Counter(i["verdict"] for i in items if i.get("ours_side") == "B"), wtl)}
    else:
        summary = {order: shares(Counter(i[order] for i in items), wtl) for order in ("order_ab", "order_ba")}
        summary["debiased"] = summary["result"] = shares(Counter(i["verdict"] for i in items), wtl)
    summary["mode"] = mode
    summary["tie_rate"] = summary["result"]["percent"]["tie"]
    return summary
