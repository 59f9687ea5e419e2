"""Multi-turn evaluation (§6): scripted conversations answered turn by turn, every
assistant turn labelled Fail / Pass / Excellent by the judge (the whole-conversation comparison of
the two models is lima.eval.conversations).

Each model answers the user's k-th message with its *own* previous answers in the context (the
paper's live conversations, made repeatable: the user side is scripted, so both models meet the same
user messages). Conversations are batched per turn with the stage 06 decode loop, so a response's
random stream depends only on (seed, conversation, turn). The same generator answers single-turn
prompts (a conversation of one turn), which the format ablation uses.
"""
from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from pathlib import Path

from lima import paper
from lima.eval.generation.metrics import shares

log = logging.getLogger("lima.eval.dialogue")

# §6: Excellent / Pass / Fail over all assistant turns of 10 conversations (lima/paper.py).
PAPER_DIALOGUE = paper.DIALOGUE
LABELS = ("excellent", "pass", "fail")

# Ours, in the style of the absolute prompt (lima/eval/judge/prompts.py): the labels of §4.3 applied to one turn,
# read in the context of the whole conversation so far.
DIALOGUE_TEMPLATE = """You are reviewing one reply of an AI assistant in a conversation with a user. Judge the reply in the context of the whole conversation: it should answer the user's latest message and stay consistent with what was said before.

Conversation so far:
{history}

The user's latest message: {task}

Reply:
{response}

Label the reply with exactly one of three labels:
Fail - the reply does not meet the requirements of the user's latest message in this conversation.
Pass - the reply meets the requirements of the user's latest message in this conversation.
Excellent - the reply is an excellent response at this point of the conversation.

Give a short justification first. Then write the label on the last line in the form "Label: Fail", "Label: Pass" or "Label: Excellent"."""


def read_scripted_conversations(path: Path, counts: Counter) -> list[dict]:
    """Rows {"id", "turns": [user1, user2, ...]}; a row without an id or with an empty or non-string
    turn is skipped and counted; an unreadable file is a StageError."""
    from lima.errors import StageError
    from lima.io import load_jsonl

    path = Path(path)
    raw = load_jsonl(path)
    convs, seen = [], set()
    for row in raw:
        turns = row.get("turns") if isinstance(row, dict) else None
        if not (isinstance(row, dict) and isinstance(row.get("id"), str) and isinstance(turns, list) and turns
                and all(isinstance(t, str) and t.strip() for t in turns)):
            counts["bad_conversation"] += 1
            continue
        if row["id"] in seen:
            counts["duplicate_id"] += 1
            continue
        seen.add(row["id"])
        convs.append({"id": row["id"], "turns": [t.strip() for t in turns]})
    if not convs:
        raise StageError(path, "no usable conversation (rows need an id and a non-empty list of user turns)")
    return convs


def generate_turn_by_turn(model, tok, convs: list[dict], decoding, *, seed: int, batch_size: int, device,
                          counts: Counter, show_progress: bool = True) -> list[dict]:
    """Generation rows {"id", "turn", "prompt", "response", ...}, one per user turn, ordered by
    conversation then turn. Turn k of every conversation is decoded in one round, after turn k-1."""
    from lima.chat import EOT, prompt_ids
    from lima.progress import progress
    from lima.eval.generation.generate import Job, fit_prompt, generate_all

    eot = tok.convert_tokens_to_ids(EOT)
    pad = tok.pad_token_id if tok.pad_token_id is not None else eot
    max_pos = getattr(model.config, "max_position_embeddings", None) or 1 << 30
    history = {c["id"]: [] for c in convs}
    rows = []
    bar = progress(total=sum(len(c["turns"]) for c in convs), desc="turns", unit="turn",
                   disable=None if show_progress else True)
    for k in range(max(len(c["turns"]) for c in convs)):
        live = [c for c in convs if k < len(c["turns"])]
        jobs = []
        for i, c in enumerate(live):
            ids, trimmed = fit_prompt(prompt_ids(tok, history[c["id"]] + [c["turns"][k]]), max_pos)
            counts["context_trimmed_to_window"] += trimmed
            jobs.append(Job(i, f"{c['id']}#turn{k + 1}", 0, ids))
        results = generate_all(model, jobs, decoding, seed=seed, eot_id=eot, pad_id=pad, device=device,
                               batch_size=batch_size, show_progress=False)
        for res in results:
            c = live[res.index]
            text = tok.decode(res.new_ids, skip_special_tokens=True).strip()
            history[c["id"]] += [c["turns"][k], text]
            rows.append({"id": c["id"], "turn": k + 1, "prompt": c["turns"][k], "response": text, "sample_idx": 0,
                         "n_new_tokens": len(res.new_ids), "ended_eot": res.ended_eot,
                         "decoding": {**decoding.to_dict(), "seed": seed}})
        bar.update(len(live))
    bar.close()
    order = {c["id"]: i for i, c in enumerate(convs)}
    return sorted(rows, key=lambda r: (order[r["id"]], r["turn"]))


def generate_file(path: Path, ckpt: Path, convs: list[dict], decoding, *, seed: int, batch_size: int,
                  device_map: str | None, inputs: list[Path], record) -> list[dict]:
    """Generation rows of `ckpt` on `convs` written to `path` with its stats (`record`: the script's
    arguments); the file is reused when checkpoint, conversations, decoding and seed are unchanged."""
    import torch

    from lima.eval.generation.generate import load_checkpoint, require_eot
    from lima.eval.generation.reuse import reuse, reuse_key, write_generations
    from lima.funnel import Funnel, describe_inputs

    key = reuse_key(ckpt, (convs, decoding.to_dict(), seed))
    if (rows := reuse(path, key)) is not None:
        return rows
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model, tok = load_checkpoint(ckpt, device, device_map)
    require_eot(tok, ckpt)
    counts = Counter()
    log.info("%s: %d conversations, turn by turn", ckpt, len(convs))
    gens = generate_turn_by_turn(model, tok, convs, decoding, seed=seed, batch_size=batch_size,
                                 device=next(model.parameters()).device, counts=counts)
    funnel = Funnel("dialogue")
    funnel.read["conversations"] = len(convs)
    funnel.kept["turns"] = len(gens)
    funnel.dropped.update({k: v for k, v in counts.items() if v})
    write_generations(path, gens, funnel, key, args=record, inputs=describe_inputs(inputs), seed=seed)
    return gens


def render_history(turns: list[str]) -> str:
    if not turns:
        return "(nothing yet: this is the first message)"
    return "\n\n".join(f"{('User', 'Assistant')[i % 2]}: {t}" for i, t in enumerate(turns))


def judge_dialogue(client, gens: list[dict]) -> list[dict]:
    """One Fail/Pass/Excellent label per assistant turn, each read with the conversation before it
    (the model's own earlier answers included). Items: {"id", "turn", "verdict"}."""
    from lima.eval.judge.verdicts import parse_absolute

    before, jobs = {}, []
    for g in gens:
        ctx = before.setdefault(g["id"], [])
        jobs.append((g, render_history(ctx)))
        ctx += [g["prompt"], g["response"]]

    def one(job):
        g, history = job
        ans = client.complete("dialogue", DIALOGUE_TEMPLATE,
                              {"history": history, "task": g["prompt"], "response": g["response"]},
                              item={"id": f"{g['id']}#turn{g['turn']}", "sample_idx": 0}, parse=parse_absolute)
        return parse_absolute(ans.text)

    labels = client.map(one, jobs)
    return [{"id": g["id"], "turn": g["turn"], "verdict": lab} for (g, _), lab in zip(jobs, labels)]


def summarize_labels(items: list[dict], within: int = 3) -> dict:
    """Shares of the three labels over all turns, fails per turns (the paper's 15 / 42), and the
    conversations with a Fail in their first `within` turns (§6: 6 of 10 for zero-shot LIMA)."""
    out = shares(Counter(i["verdict"] for i in items), LABELS)
    out["fails_per_turns"] = f"{out['counts']['fail']} / {out['n']}"
    convs = {i["id"] for i in items}
    early = {i["id"] for i in items if i["verdict"] == "fail" and i["turn"] <= within}
    out[f"conversations_failing_within_{within}_turns"] = f"{len(early)} / {len(convs)}"
    return out


def responses_key(gens_by_system: dict[str, list[dict]]) -> str:
    """A fingerprint of both models' answers: judgments of other answers are out of date."""
    blob = json.dumps({k: sorted((g["id"], g["turn"], g["response"]) for g in gens)
                       for k, gens in sorted(gens_by_system.items())}, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def earlier_judgments(summary_path: Path, key: str, systems: dict) -> tuple[dict | None, dict | None]:
    """Without a judge this run, the judged figures of an earlier run of the same responses (`key`),
    so a rerun for another reason (a source change, the judge's URL unset) does not drop them from the
    report: each system's `judged` filled in; (the judge's record, the whole-conversation summary)."""
    try:
        old = json.loads(summary_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, None
    if not old.get("judge") or old.get("responses_key") != key or set(old.get("systems", {})) != set(systems):
        return None, None
    for name, s in systems.items():
        s["judged"] = old["systems"][name].get("judged")
    return {**old["judge"], "kept_from_earlier_run": True}, old.get("conversations_compared")


def render_report(summary: dict, no_judge_line: str) -> str:
    """report/dialogue.md: our labels beside the paper's (§6)."""
    systems = summary["systems"]
    lines = ["## Multi-turn dialogue (§6)", "",
             f"{summary['n_conversations']} scripted conversations (`{summary['conversations']}`, "
             f"{summary['n_turns']} user turns in all), answered turn by turn by each model with its own earlier "
             f"answers in the context; decoding as in §4.1 (at most {summary['decoding']['max_new_tokens']} new tokens). "
             "The paper held 10 live conversations; ours are scripted, so both models meet the same user messages.", ""]
    lines += ["| Model | Checkpoint | Excellent | Pass | Fail | Fails / turns | Ended with EOT | Mean words |",
              "|---|---|---:|---:|---:|---|---:|---:|"]
    for key, ref in PAPER_DIALOGUE.items():
        e, p, f = ref["percent"]
        lines.append(f"| paper: {ref['label']} | LLaMA 65B | {e} | {p} | {f} | {ref['fails']} | | |")
    for key, s in systems.items():
        j = s.get("judged")
        m = s["metrics"]
        if j and j["n"]:
            pc = j["percent"]
            cells = f"{pc['excellent']} | {pc['pass']} | {pc['fail']} | {j['fails_per_turns']}"
        else:
            cells = "n/a | n/a | n/a | n/a"
        lines.append(f"| ours: {PAPER_DIALOGUE[key]['label'].split(' (')[0]} ({s['run']}) | `{s['checkpoint']}` | "
                     f"{cells} | {m['eot_rate']} | {m['mean_words']} |")
    lines.append("")
    if summary.get("judge"):
        within = {k: s["judged"].get("conversations_failing_within_3_turns") for k, s in systems.items() if s.get("judged")}
        lines += ["Conversations with a Fail in their first 3 turns (the paper: 6 of 10 for zero-shot LIMA): "
                  + ", ".join(f"{k} {v}" for k, v in within.items()) + ".",
                  f"Judge `{summary['judge']['model']}`"
                  + (" (in an earlier run of these same responses: this run had no judge)"
                     if summary["judge"].get("kept_from_earlier_run") else "")
                  + " with our turn-level prompt (the §4.3 labels read in the "
                  "context of the conversation; the paper's annotators were people). Unparseable answers are "
                  "counted apart: " + ", ".join(f"{k} {s['judged']['unparseable']}" for k, s in systems.items()
                                               if s.get("judged")) + ".", ""]
    else:
        lines += [f"Judge: {no_judge_line}.", ""]
    from lima.eval.conversations import render_conversations
    lines += render_conversations(summary)
    lines += ["Departures: scripted user turns instead of live ones (both models meet the same messages, whatever "
              "they answered before); the judge and both its prompts are ours (the paper prints no §6 prompt).", ""]
    return "\n".join(lines)
