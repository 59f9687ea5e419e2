"""Stage 07: choose the checkpoint between epochs 5 and 10 on the dev set (§3).

The paper chose by hand because perplexity did not track generation quality. `manual` builds a page
with every candidate's dev responses side by side and records a person's choice; `judge` compares the
candidates pairwise on the dev prompts with the stage 06 judge; `auto` (the default) uses the judge
when one is configured, otherwise a documented rule on the automatic metrics of the dev generations.
Beside the choice it records Appendix B's perplexity against quality over every exported epoch (the 1-6
helpfulness score with a judge, the metric fallback without), which stage 08 plots.

    python scripts/07_select_ckpt.py --checkpoints checkpoints/sample --results results/sample
    python scripts/07_select_ckpt.py --checkpoints checkpoints/paper --results results/paper --mode manual
    python scripts/07_select_ckpt.py --checkpoints checkpoints/paper --results results/paper --mode manual --choose epoch_07
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lima.cli import run_main, setup_logging
from lima.errors import StageError
from lima.eval.judge.config import add_judge_args, judge_errors, resolve
from lima.eval.selection.ppl_quality import ppl_vs_quality
from lima.eval.selection.choose import (Candidates, candidate_epochs, choose_by_hand, choose_by_judge, choose_by_metrics,
                                 link_selected, render_selection, review_html)
from lima.io import atomic_write, write_json


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
    add_judge_args(p)
    p.add_argument("-v", "--verbose", action="store_true")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    setup_logging(args.verbose)
    judge = resolve(args)
    if judge.problems:
        raise StageError("07_select_ckpt.py", "; ".join(judge.problems))
    lo, hi, epochs = candidate_epochs(args.checkpoints, args.window)
    mode = args.mode
    if mode == "judge" and not judge.enabled:
        raise StageError("--mode judge", "no judge configured: set JUDGE_BASE_URL and JUDGE_MODEL "
                         "(and JUDGE_API_KEY if the server needs one)")
    # A recorded manual choice does not need the generations; everything else reads them.
    cands = Candidates.read(args.results, epochs, args.split, required=not (mode == "manual" and args.choose))
    review = args.results / "selection" / "review.html"
    if cands.gens:
        with atomic_write(review) as f:
            f.write(review_html(args.results.name, cands.rows, cands.prompts, cands.gens))

    if mode == "manual" and args.choose is None:
        print(f"select: open {review} and record your choice with `make select CKPT=epoch_NN` "
              f"(candidates: {cands.names()})")
        return 0
    client = judge.client(args.results / "judgments" / "selection.jsonl") if judge.enabled else None
    if mode == "manual":
        choice, why, evidence = choose_by_hand(args.choose, cands)
    elif judge.enabled:
        mode = "judge"
        with judge_errors():
            choice, why, evidence = choose_by_judge(client, cands, args.results / "selection" / "judge_evidence.json")
    else:
        mode = "metrics"
        choice, why, evidence = choose_by_metrics(cands, args.dev)
    # Appendix B: perplexity against quality over every exported epoch (not only the window), the 1-6
    # helpfulness score when a judge is configured, the metric fallback otherwise; stage 08 draws it.
    with judge_errors():
        appendix_b = ppl_vs_quality(args.checkpoints, args.results, args.split, client=client, dev=args.dev,
                                    evidence=args.results / "selection" / "helpfulness.jsonl")

    fallback = mode == "metrics"
    record = {"run": args.results.name, "mode": mode, "fallback": fallback, "window": [lo, hi],
              "candidates": cands.rows, "choice": f"epoch_{choice:02d}", "why": why, **evidence,
              "review_page": str(review) if cands.gens else None,
              "checkpoint": str(args.checkpoints / f"epoch_{choice:02d}"), "ppl_vs_quality": appendix_b}
    link_selected(args.checkpoints, choice)
    with atomic_write(args.results / "report" / "selection.md") as f:
        f.write(render_selection(args.results.name, cands, choice, mode, why))
    write_json(args.results / "selection.json", record)
    print(f"select: epoch_{choice:02d} ({mode}{', fallback rule' if fallback else ''}) -> "
          f"{args.checkpoints / 'selected'}; record {args.results / 'selection.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
