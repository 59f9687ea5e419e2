"""The judging loops: each item's prompt rendered, asked through the client (cached, at most
`concurrency` at once), and its verdict read; pairwise in both orders (debiased) or once with our
side drawn at random (the paper's protocol, §4.1), and the single-response kinds.
"""
from __future__ import annotations

from lima.eval.judge.prompts import PAIRWISE_TEMPLATE, TEMPLATES
from lima.eval.judge.verdicts import parse_absolute, parse_likert, parse_pairwise, parse_safety
from lima.rng import make_rng

OURS = {"A": "win", "B": "loss", "tie": "tie"}       # ours shown as Answer A
OURS_SECOND = {"A": "loss", "B": "win", "tie": "tie"}  # ours shown as Answer B


def debias(first: str | None, second: str | None) -> str | None:
    """The order-debiased result: both orders must agree on a win or a loss; a disagreement is a tie."""
    if first is None or second is None:
        return None
    return first if first == second else "tie"


def judge_pairwise(client, pairs: list[dict]) -> list[dict]:
    """pairs: {"id", "sample_idx", "prompt", "ours", "theirs"}. Each pair in both orders."""
    def one(job):
        pair, order = job
        a, b = (pair["ours"], pair["theirs"]) if order == "ab" else (pair["theirs"], pair["ours"])
        ans = client.complete("pairwise", PAIRWISE_TEMPLATE, {"task": pair["prompt"], "model1": a, "model2": b},
                              item={"id": pair["id"], "sample_idx": pair["sample_idx"], "order": order},
                              parse=parse_pairwise)
        return parse_pairwise(ans.text)

    jobs = [(p, order) for p in pairs for order in ("ab", "ba")]
    verdicts = client.map(one, jobs)
    rows = []
    for i, pair in enumerate(pairs):
        va, vb = verdicts[2 * i], verdicts[2 * i + 1]
        ab = OURS[va] if va else None
        ba = OURS_SECOND[vb] if vb else None
        rows.append({"id": pair["id"], "sample_idx": pair["sample_idx"], "order_ab": ab, "order_ba": ba,
                     "verdict": debias(ab, ba)})
    return rows


def ours_side(seed: int, item_id: str, sample_idx: int = 0) -> str:
    """"A" or "B": where our response is shown in the one presentation of an item, drawn from a stream
    keyed by the run seed and the item alone, so it does not move when other items or baselines come
    or go (and is the same against every baseline: position bias weighs on all of them alike)."""
    return "A" if make_rng(seed, "judge-order", item_id, sample_idx).random() < 0.5 else "B"


def judge_pairwise_once(client, pairs: list[dict], seed: int) -> list[dict]:
    """The paper's protocol (§4.1): each pair shown once, our side drawn at random (ours_side) and
    recorded with the verdict from our side."""
    def one(pair):
        side = ours_side(seed, pair["id"], pair["sample_idx"])
        a, b = (pair["ours"], pair["theirs"]) if side == "A" else (pair["theirs"], pair["ours"])
        ans = client.complete("pairwise", PAIRWISE_TEMPLATE, {"task": pair["prompt"], "model1": a, "model2": b},
                              item={"id": pair["id"], "sample_idx": pair["sample_idx"],
                                    "order": "ab" if side == "A" else "ba"}, parse=parse_pairwise)
        v = parse_pairwise(ans.text)
        return side, ((OURS if side == "A" else OURS_SECOND)[v] if v else None)

    return [{"id": p["id"], "sample_idx": p["sample_idx"], "ours_side": side, "verdict": verdict}
            for p, (side, verdict) in zip(pairs, client.map(one, pairs))]


def judge_single(client, kind: str, items: list[dict]) -> list[dict]:
    """kind absolute, safety or likert; items: {"id", "sample_idx", "prompt", "response"}."""
    template = TEMPLATES[kind]
    parse = {"absolute": parse_absolute, "safety": parse_safety, "likert": parse_likert}[kind]

    def one(item):
        ans = client.complete(kind, template, {"task": item["prompt"], "response": item["response"]},
                              item={"id": item["id"], "sample_idx": item["sample_idx"]}, parse=parse)
        return parse(ans.text)

    labels = client.map(one, items)
    return [{"id": it["id"], "sample_idx": it["sample_idx"], "verdict": lab} for it, lab in zip(items, labels)]
