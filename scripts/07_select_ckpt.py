"""Stage 07: choose the checkpoint between epochs 5 and 10 on the dev set (PAPER.md §6).

The paper chose by hand because perplexity did not track generation quality. `manual` builds a page
with every candidate's dev responses side by side and records a person's choice; `judge` compares the
candidates pairwise on the dev prompts with the stage 06 judge; `auto` (the default) uses the judge
when one is configured, otherwise a documented rule on the automatic metrics of the dev generations.

    python scripts/07_select_ckpt.py --checkpoints checkpoints/sample --results results/sample
    python scripts/07_select_ckpt.py --checkpoints checkpoints/paper --results results/paper --mode manual
    python scripts/07_select_ckpt.py --checkpoints checkpoints/paper --results results/paper --mode manual --choose epoch_07
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from lima.errors import StageError
from lima.cli import run_main, setup_logging
from lima.eval.metrics import generation_metrics
from lima.io import atomic_write, read_jsonl, write_json
from lima.eval.selection import (LENGTH_WEIGHT, choose_by_score, exported_epochs, metric_score, parse_window,
                            review_html, round_robin, win_rates)

log = logging.getLogger("lima.select")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoints", type=Path, required=True, help="checkpoints/<run> with epoch_NN/ exports")
    p.add_argument("--results", type=Path, required=True, help="results/<run> with generations/epoch_NN.dev.jsonl")
    p.add_argument("--mode", choices=("auto", "manual", "judge"), default="auto")
    p.add_argument("--window", default="5-10", help="candidate epochs, one-based (§3: between the 5th and the 10th)")
    p.add_argument("--choose", default=None, help="manual mode: the chosen epoch, e.g. epoch_07")
    p.add_argument("--dev", type=Path, default=None, help="the dev set, for the reference lengths of the fallback rule")
    p.add_argument("--split", default="dev", help="which generations to read (generations/epoch_NN.<split>.jsonl)")
    p.add_argument("--judge-url", default=os.environ.get("JUDGE_BASE_URL", ""), help="OpenAI-compatible base URL (default $JUDGE_BASE_URL)")
    p.add_argument("--judge-model", default=os.environ.get("JUDGE_MODEL", ""), help="judge model name (default $JUDGE_MODEL)")
    p.add_argument("-v", "--verbose", action="store_true")
    return p.parse_args(argv)


def dev_perplexities(results: Path) -> dict[int, float]:
    path = results / "train_metrics.jsonl"
    if not path.exists():
        return {}
    return {r["epoch"]: r["dev_ppl"] for r in read_jsonl(path, tolerate_torn_tail=True) if r.get("kind") == "epoch"}


def load_generations(results: Path, epoch: int, split: str) -> list[dict]:
    path = results / "generations" / f"epoch_{epoch:02d}.{split}.jsonl"
    if not path.exists():
        raise StageError(path, f"no {split} generations for epoch {epoch}: run stage 06 on this epoch first "
                         f"(make select generates them)")
    return [r for r in read_jsonl(path) if r.get("sample_idx", 0) == 0]


def link_selected(checkpoints: Path, epoch: int) -> None:
    """checkpoints/<run>/selected -> epoch_NN (relative), replaced atomically. A convenience: Make
    tracks results/<run>/selection.json, never the link."""
    link = checkpoints / "selected"
    tmp = checkpoints / ".selected.tmp"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(f"epoch_{epoch:02d}", tmp)
    os.replace(tmp, link)


def judge_candidates(args, epochs, gens, prompts) -> tuple[dict, list[dict]]:
    from lima.eval.judge import ChatClient, api_key_from_env, judge_pairwise
    client = ChatClient(args.judge_url, args.judge_model, cache_path=args.results / "judgments" / "selection.jsonl",
                        api_key=api_key_from_env())
    results = []
    for a, b in round_robin(epochs):
        pairs = [{"id": f"{p['id']}|epoch_{a:02d}-vs-epoch_{b:02d}", "sample_idx": 0, "prompt": p["prompt"],
                  "ours": gens[a][p["id"]], "theirs": gens[b][p["id"]]}
                 for p in prompts if p["id"] in gens[a] and p["id"] in gens[b]]
        for row in judge_pairwise(client, pairs):
            results.append({"a": a, "b": b, "id": row["id"].split("|")[0], "verdict": row["verdict"],
                            "order_ab": row["order_ab"], "order_ba": row["order_ba"]})
    log.info("judge: %d calls sent, %d answered from the cache", client.requests_sent, client.cache_hits)
    return win_rates(results), results


def main(argv=None) -> int:
    args = parse_args(argv)
    setup_logging(args.verbose)
    try:
        lo, hi = parse_window(args.window)
    except ValueError as e:
        raise StageError("--window", str(e)) from None
    if not args.checkpoints.is_dir():
        raise StageError(args.checkpoints, "no such checkpoint folder (run make train first)")
    exported = exported_epochs(args.checkpoints)
    epochs = [e for e in exported if lo <= e <= hi]
    if len(epochs) < 2:
        have = ", ".join(f"epoch_{e:02d}" for e in exported) or "none"
        raise StageError(args.checkpoints, f"fewer than two exported epochs in the window {lo}-{hi} "
                         f"(exported: {have}); train with KEEP_EPOCHS covering the window")
    ppl = dev_perplexities(args.results)
    judge_ready = bool(args.judge_url and args.judge_model)
    mode = args.mode
    if mode == "judge" and not judge_ready:
        raise StageError("--mode judge", "no judge configured: set JUDGE_BASE_URL and JUDGE_MODEL "
                         "(and JUDGE_API_KEY if the server needs one)")
    # A recorded manual choice does not need the generations; everything else reads them.
    have_all = all((args.results / "generations" / f"epoch_{e:02d}.{args.split}.jsonl").exists() for e in epochs)
    needs = not (mode == "manual" and args.choose)
    gens_rows = {e: load_generations(args.results, e, args.split) for e in epochs} if have_all or needs else {}
    gens = {e: {r["id"]: r["response"] for r in rows} for e, rows in gens_rows.items()}
    prompts = []
    if gens_rows:
        first = gens_rows[epochs[0]]
        prompts = [{"id": r["id"], "prompt": r["prompt"]} for r in first]

    candidates = []
    for e in epochs:
        c = {"epoch": e, "checkpoint": f"epoch_{e:02d}", "dev_ppl": ppl.get(e)}
        if e in gens_rows:
            c["metrics"] = generation_metrics(gens_rows[e])
            c["mean_chars"] = round(sum(len(r["response"]) for r in gens_rows[e]) / max(len(gens_rows[e]), 1), 1)
        candidates.append(c)
    review = args.results / "selection" / "review.html"
    if gens_rows:
        with atomic_write(review) as f:
            f.write(review_html(args.results.name, candidates, prompts, gens))

    # ---- choose
    fallback = False
    evidence: dict = {}
    if mode == "manual":
        if args.choose is None:
            print(f"select: open {review} and record your choice with "
                  f"`make select CKPT=epoch_NN` (candidates: {', '.join(c['checkpoint'] for c in candidates)})")
            return 0
        if args.choose not in {c["checkpoint"] for c in candidates}:
            raise StageError("--choose", f"{args.choose} is not a candidate "
                             f"({', '.join(c['checkpoint'] for c in candidates)})")
        choice = int(args.choose[6:])
        why = "chosen by hand after reading the dev responses (the paper's procedure)"
    elif mode == "judge" or judge_ready:
        mode = "judge"
        table, rows = judge_candidates(args, epochs, gens, prompts)
        write_json(args.results / "selection" / "judge_evidence.json", {"win_rates": table, "comparisons": rows})
        for c in candidates:
            c["judge"] = table.get(c["epoch"])
        rated = {e: table[e]["win_rate"] for e in epochs if table.get(e, {}).get("win_rate") is not None}
        if not rated:
            raise StageError(args.judge_url, "the judge returned no usable verdict")
        choice = choose_by_score(rated)
        why = (f"highest win rate ({rated[choice]:.3f}) in round-robin pairwise comparisons on "
               f"{len(prompts)} dev prompts, each pair judged in both orders (ties to the earlier epoch)")
        evidence = {"judge_model": args.judge_model, "comparisons": len(rows)}
    else:
        mode, fallback = "metrics", True
        ref_chars = None
        if args.dev and args.dev.exists():
            refs = [r["conversations"][1] for r in read_jsonl(args.dev) if len(r.get("conversations", [])) > 1]
            ref_chars = sum(map(len, refs)) / len(refs) if refs else None
        scores = {}
        for c in candidates:
            c["score"] = metric_score(c["metrics"], ref_chars, c["mean_chars"])
            scores[c["epoch"]] = c["score"]
        choice = choose_by_score(scores)
        why = ("no judge configured, so the fallback rule on the automatic metrics of the dev generations: "
               f"score = EOT-termination rate - repetition rate - {LENGTH_WEIGHT} x |ln(mean length / mean "
               "reference length)|, highest wins, ties to the earlier epoch; dev perplexity is shown, not used (§6)")
        evidence = {"reference_mean_chars": round(ref_chars, 1) if ref_chars else None}

    record = {"run": args.results.name, "mode": mode, "fallback": fallback, "window": [lo, hi],
              "candidates": candidates, "choice": f"epoch_{choice:02d}", "why": why, **evidence,
              "review_page": str(review) if gens_rows else None,
              "checkpoint": str(args.checkpoints / f"epoch_{choice:02d}")}
    link_selected(args.checkpoints, choice)
    lines = [f"## Checkpoint selection ({args.results.name})", "",
             f"Chosen: **epoch {choice}** ({mode}{', fallback' if fallback else ''}). {why}.", "",
             "| Epoch | Dev perplexity | EOT rate | Repetition | Mean words | Score / win rate |", "|---|---|---|---|---|---|"]
    for c in candidates:
        m = c.get("metrics", {})
        s = c.get("score", (c.get("judge") or {}).get("win_rate", "–"))
        mark = " **(chosen)**" if c["epoch"] == choice else ""
        lines.append(f"| {c['epoch']}{mark} | {c['dev_ppl'] if c['dev_ppl'] is not None else '–'} | "
                     f"{m.get('eot_rate', '–')} | {m.get('repetition_rate', '–')} | {m.get('mean_words', '–')} | {s} |")
    with atomic_write(args.results / "report" / "selection.md") as f:
        f.write("\n".join(lines) + "\n")
    write_json(args.results / "selection.json", record)
    print(f"select: epoch_{choice:02d} ({mode}{', fallback rule' if fallback else ''}) -> "
          f"{args.checkpoints / 'selected'}; record {args.results / 'selection.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
