"""Whole conversations (§6): each scripted conversation as the dialogue model held it and as the
zero-shot model held it, side by side, compared once.

The paper's second §6 result is per conversation (the dialogue model clearly better in 7 of 10, tied
in 3). Here the judge sees both versions of a conversation with our prompt adapted from the paper's
pairwise template (lima.eval.judge.prompts.CONVERSATION_TEMPLATE), once, the dialogue model's side
drawn from the run seed and the conversation id (lima.eval.judge.judging.ours_side, the pairwise
judge's draw) and recorded with the verdict from the dialogue model's side; an answer that cannot
be read is counted, never guessed. The same pairs are items of the human study (lima.eval.annotate).
"""
from __future__ import annotations

from collections import Counter

from lima import paper
from lima.eval.stats import fmt_ci, share_ci

# The dialogue model's result against the zero-shot model, in the paper's words for §6.
OUTCOME_WORDS = {"win": "better", "tie": "tie", "loss": "worse"}
SYSTEMS = ("dialogue", "zero-shot")           # ours (the dialogue model) first


def pair_conversations(convs: list[dict], gens: dict[str, list[dict]]) -> tuple[list[dict], Counter]:
    """Rows {"id", "user": [...], "dialogue": [replies], "zero-shot": [replies]}, one per scripted
    conversation that both models answered turn for turn; any other is counted, not paired."""
    replies = {s: {} for s in SYSTEMS}
    for s in SYSTEMS:
        for g in gens[s]:
            replies[s].setdefault(g["id"], {})[g["turn"]] = g["response"]
    rows, counts = [], Counter()
    for c in convs:
        n = len(c["turns"])
        got = {s: [replies[s].get(c["id"], {}).get(k) for k in range(1, n + 1)] for s in SYSTEMS}
        if any(r is None for s in SYSTEMS for r in got[s]):
            counts["conversation_not_answered_by_both"] += 1
            continue
        rows.append({"id": c["id"], "user": list(c["turns"]), **got})
    return rows, counts


def conversation_text(user: list[str], replies: list[str]) -> str:
    """The conversation as the judge reads it: "User: ..." and "Assistant: ..." in turn."""
    from lima.eval.dialogue import render_history
    return render_history([t for pair in zip(user, replies) for t in pair])


def judge_conversations(client, pairs: list[dict], seed: int) -> list[dict]:
    """One verdict per conversation: {"id", "user_turns", "ours_side", "verdict"}, ours the dialogue
    model, the verdict win / tie / loss from its side or None when the judge's answer could not be read."""
    from lima.eval.judge.judging import OURS, OURS_SECOND, ours_side
    from lima.eval.judge.prompts import CONVERSATION_TEMPLATE
    from lima.eval.judge.verdicts import parse_conversation

    def one(pair):
        side = ours_side(seed, pair["id"])
        ours, theirs = (conversation_text(pair["user"], pair[s]) for s in SYSTEMS)
        a, b = (ours, theirs) if side == "A" else (theirs, ours)
        ans = client.complete("conversation", CONVERSATION_TEMPLATE, {"conversation_a": a, "conversation_b": b},
                              item={"id": pair["id"], "sample_idx": 0, "order": "ab" if side == "A" else "ba"},
                              parse=parse_conversation)
        v = parse_conversation(ans.text)
        return side, ((OURS if side == "A" else OURS_SECOND)[v] if v else None)

    return [{"id": p["id"], "user_turns": len(p["user"]), "ours_side": side, "verdict": verdict}
            for p, (side, verdict) in zip(pairs, client.map(one, pairs))]


def summarize_conversations(items: list[dict]) -> dict:
    """Better / tie / worse over the conversations (the dialogue model's side) with exact 95%
    intervals, the unreadable verdicts apart, and the counts with ours shown as A and as B apart."""
    counts = Counter(i["verdict"] for i in items)
    ci = share_ci(counts)
    by_side = {side: dict(Counter(i["verdict"] for i in items if i["ours_side"] == side and i["verdict"]))
               for side in ("A", "B")}
    return {"n": ci["win"]["n"], "unparseable": counts.get(None, 0),
            **{OUTCOME_WORDS[k]: ci[k] for k in ("win", "tie", "loss")},
            "by_side": {s: {OUTCOME_WORDS[k]: c.get(k, 0) for k in ("win", "tie", "loss")} for s, c in by_side.items()},
            "items": items}


def paper_shares() -> dict[str, float]:
    """The paper's 7 / 3 / 0 of 10 as percentages of its conversations."""
    better, tie, n = paper.DIALOGUE_PREFERRED
    return {"better": 100 * better / n, "tie": 100 * tie / n, "worse": 100 * (n - better - tie) / n}


def render_conversations(summary: dict) -> list[str]:
    """The report's whole-conversation part: ours beside the paper's 7 / 3 / 0, and each conversation."""
    better, tie, n = paper.DIALOGUE_PREFERRED
    lines = ["### Whole conversations (§6)", "",
             "Each scripted conversation as the dialogue model held it and as the zero-shot model held it, shown "
             "side by side once with our conversation-level prompt (adapted from the paper's pairwise template; "
             "the paper prints none for §6: docs/evaluation.md#whole-conversations-6); the dialogue model's side, "
             "A or B, drawn with the seed and recorded.", ""]
    conv = summary.get("conversations_compared")
    if not conv:
        why = "no judge" if not summary.get("judge") else "no conversation answered by both models"
        return lines + [f"Not judged ({why}); the pairs are in `eval/conversations.jsonl` "
                        "(items of `make annotate`).", ""]
    lines += ["| Dialogue model vs zero-shot | Better | Tie | Worse | Conversations |", "|---|---|---|---|---:|",
              f"| paper: LIMA + 30 dialogues vs LIMA (10 live conversations) | {better} | {tie} | "
              f"{n - better - tie} | {n} |"]
    cells = " | ".join(f"{conv[k]['k']} ({fmt_ci(conv[k])}%)" if conv["n"] else "n/a"
                       for k in ("better", "tie", "worse"))
    lines += [f"| ours ({summary['judge']['model']}; %, exact 95% interval) | {cells} | {conv['n']} |", ""]
    lines += ["| Conversation | User turns | Dialogue model shown as | Verdict (dialogue model) |", "|---|---:|---|---|"]
    for it in conv["items"]:
        lines.append(f"| `{it['id']}` | {it['user_turns']} | {it['ours_side']} | "
                     f"{OUTCOME_WORDS.get(it['verdict'], 'unreadable')} |")
    a, b = conv["by_side"]["A"], conv["by_side"]["B"]
    lines += ["", f"Shown as A: {a['better']} better, {a['tie']} tie, {a['worse']} worse; as B: {b['better']} better, "
              f"{b['tie']} tie, {b['worse']} worse (a position bias shows as a gap). Unreadable verdicts, left out: "
              f"{conv['unparseable']}. The user turns are scripted where the paper's were live: both models meet the "
              "same messages, whatever they answered before.", ""]
    return lines
