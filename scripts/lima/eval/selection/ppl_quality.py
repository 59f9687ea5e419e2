"""Appendix B (Fig. 9) as the paper ran it: perplexity against generation quality over every exported
epoch, so a reader can see whether perplexity would have picked the checkpoint that reads best.

Quality is the 1-6 helpfulness score (Appendix D) of each epoch's dev responses, judged by the stage 06
judge and reported as a mean with its 95% confidence interval, the way §5 reports the score. Without a
judge, the selection's metric rule (lima/eval/selection/choose.py) stands in; every record, plot and table of
it then says "metric fallback", since it measures termination, loops and length, not helpfulness.
Stage 07 computes it (it holds the dev generations and the judge); stage 08 draws it.
"""
from __future__ import annotations

import logging
from pathlib import Path

from lima.eval.selection.appendix_b import paper_observation
from lima.eval.generation.metrics import mean_ci95
from lima.eval.selection.choose import (Candidates, dev_perplexities, exported_epochs, generations_path, metric_score,
                                 reference_chars)
from lima.io import read_jsonl, write_jsonl

log = logging.getLogger("lima.select")

HELPFULNESS = "helpfulness"                 # the 1-6 judge score (Appendix D)
FALLBACK = "metric fallback"                # no judge: the selection's metric rule
def held_out_perplexities(results: Path) -> dict[int, float]:
    path = results / "train_metrics.jsonl"
    if not path.exists():
        return {}
    return {r["epoch"]: r["ppl_set_ppl"] for r in read_jsonl(path, tolerate_torn_tail=True)
            if r.get("kind") == "epoch" and r.get("ppl_set_ppl") is not None}


def judge_helpfulness(client, cands: Candidates, evidence: Path) -> dict[int, dict]:
    """Each epoch's dev responses rated 1-6 (one judge call each, cached); per epoch the mean, its 95%
    interval and the unparseable answers. Every rating goes to `evidence`."""
    from lima.eval.judge.judging import judge_single

    prompts = {p["id"]: p["prompt"] for p in cands.prompts}
    items = [{"id": f"{pid}|epoch_{e:02d}", "sample_idx": 0, "prompt": prompts[pid], "response": text}
             for e in cands.epochs for pid, text in cands.gens[e].items() if pid in prompts]
    rated = judge_single(client, "likert", items)
    write_jsonl(evidence, [{"epoch": int(r["id"].rsplit("|epoch_", 1)[1]), "id": r["id"].rsplit("|", 1)[0],
                            "score": r["verdict"]} for r in rated])
    out = {}
    for e in cands.epochs:
        scores = [r["verdict"] for r in rated if r["id"].endswith(f"|epoch_{e:02d}")]
        valid = [s for s in scores if s is not None]
        out[e] = {**mean_ci95(valid), "unparseable": len(scores) - len(valid)}
    return out


def pearson(xs: list[float], ys: list[float]) -> float | None:
    """Pearson's r, or None with fewer than three points or a constant series."""
    import numpy as np
    if len(xs) < 3 or len(set(xs)) < 2 or len(set(ys)) < 2:
        return None
    return round(float(np.corrcoef(xs, ys)[0, 1]), 4)


def ppl_vs_quality(checkpoints: Path, results: Path, split: str, *, client=None, dev: Path | None = None,
                   evidence: Path | None = None) -> dict:
    """The record stage 08 draws: per exported epoch with dev generations, its dev (and held-out)
    perplexity and its quality, helpfulness when `client` (a judge) is given, else the metric fallback.
    Exported epochs without generations are listed, never silently left out."""
    exported = exported_epochs(checkpoints)
    epochs = [e for e in exported if generations_path(results, e, split).exists()]
    missing = [e for e in exported if e not in epochs]
    if missing:
        log.warning("Appendix B: no %s generations for exported epoch(s) %s; they are left out of the plot "
                    "(make select generates every exported epoch's)", split, ", ".join(map(str, missing)))
    record = {"quality": HELPFULNESS if client else FALLBACK, "split": split, "missing_generations": missing,
              "paper": paper_observation(), "epochs": []}
    if not epochs:
        return record
    cands = Candidates.read(results, epochs, split, required=True)
    held = held_out_perplexities(results)
    if client:
        quality = judge_helpfulness(client, cands, evidence or results / "selection" / "helpfulness.jsonl")
        record["judge_model"] = client.model
        record["scale"] = "1-6 helpfulness (Appendix D), mean and 95% confidence interval per epoch"
    else:
        ref = reference_chars(dev)
        quality = {c["epoch"]: {"score": metric_score(c["metrics"], ref, c["mean_chars"])} for c in cands.rows}
        record["scale"] = ("metric fallback, no judge configured: the selection's rule on the dev responses "
                           "(EOT rate - repetition rate - length penalty), not helpfulness")
    ppl = dev_perplexities(results)
    for e in epochs:
        record["epochs"].append({"epoch": e, "dev_ppl": ppl.get(e), "ppl_set_ppl": held.get(e), **quality[e]})
    pts = [(r["dev_ppl"], r.get("mean", r.get("score"))) for r in record["epochs"]]
    pts = [(x, y) for x, y in pts if x is not None and y is not None]
    record["pearson_dev_ppl_quality"] = pearson([x for x, _ in pts], [y for _, y in pts])
    return record
