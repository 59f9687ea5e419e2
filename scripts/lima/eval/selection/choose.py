"""Choosing the checkpoint between epochs 5 and 10 on the dev set (§3).

The paper chose by hand because perplexity did not track quality. Three ways here: a person reading
the candidates side by side (`review.html`), the stage 06 judge comparing candidates pairwise, or,
with no judge, a documented rule on the automatic metrics of the dev generations. Dev perplexity is
shown everywhere but, following the paper, never used to choose.
"""
from __future__ import annotations

import html
import itertools
import logging
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from lima.errors import StageError
from lima.eval.generation.metrics import generation_metrics
from lima.io import read_jsonl, write_json

log = logging.getLogger("lima.select")

# The fallback rule (no judge configured): a response should end at EOT on its own, not loop, and be
# about as long as the dev references. score = eot_rate - repetition_rate - LENGTH_WEIGHT * |ln(mean
# response chars / mean reference chars)|; the highest score wins, ties go to the earlier epoch.
LENGTH_WEIGHT = 0.25


def parse_window(spec: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*-\s*(\d+)\s*", spec)
    if not m or int(m.group(1)) > int(m.group(2)):
        raise ValueError(f"--window must look like 5-10, got {spec!r}")
    return int(m.group(1)), int(m.group(2))


def exported_epochs(checkpoints: Path) -> list[int]:
    return sorted(int(p.name[6:]) for p in checkpoints.glob("epoch_[0-9][0-9]*")
                  if p.is_dir() and p.name[6:].isdigit() and (p / "config.json").exists())


def metric_score(metrics: dict, ref_chars: float | None, mean_chars: float) -> float:
    score = (metrics.get("eot_rate") or 0.0) - (metrics.get("repetition_rate") or 0.0)
    if ref_chars and mean_chars > 0:
        score -= LENGTH_WEIGHT * abs(math.log(mean_chars / ref_chars))
    return round(score, 6)


def choose_by_score(scores: dict[int, float]) -> int:
    """Highest score; ties to the earlier epoch."""
    return min(scores, key=lambda e: (-scores[e], e))


def round_robin(epochs: list[int]) -> list[tuple[int, int]]:
    return list(itertools.combinations(sorted(epochs), 2))


def win_rates(results: list[dict]) -> dict[int, dict]:
    """results: {"a": epoch, "b": epoch, "verdict": win|tie|loss|None (from a's side)}."""
    table: dict[int, dict] = {}
    for r in results:
        for side, other, v in ((r["a"], r["b"], r["verdict"]), (r["b"], r["a"], {"win": "loss", "loss": "win"}.get(r["verdict"], r["verdict"]))):
            row = table.setdefault(side, {"win": 0, "tie": 0, "loss": 0, "unparsed": 0})
            row[v if v else "unparsed"] += 1
    for row in table.values():
        judged = row["win"] + row["tie"] + row["loss"]
        row["win_rate"] = round((row["win"] + 0.5 * row["tie"]) / judged, 4) if judged else None
    return table


def review_html(run: str, candidates: list[dict], prompts: list[dict], generations: dict[int, dict]) -> str:
    """A static page: each dev prompt with every candidate's response side by side."""
    esc = html.escape
    head = "".join(f"<th>epoch {c['epoch']:02d}<br><small>dev ppl {c.get('dev_ppl', '–')}</small></th>"
                   for c in candidates)
    rows = []
    for p in prompts:
        cells = "".join(f"<td><pre>{esc(generations[c['epoch']].get(p['id'], '(no response)'))}</pre></td>"
                        for c in candidates)
        rows.append(f"<tr><td class='prompt'><b>{esc(p['id'])}</b><pre>{esc(p['prompt'])}</pre></td>{cells}</tr>")
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Checkpoint review: {esc(run)}</title>
<style>
body {{ font-family: sans-serif; margin: 1em; }}
table {{ border-collapse: collapse; table-layout: fixed; width: {200 + 320 * len(candidates)}px; }}
th, td {{ border: 1px solid #ccc; vertical-align: top; padding: 4px; width: 320px; }}
td.prompt {{ background: #f6f6f6; width: 200px; }}
pre {{ white-space: pre-wrap; font-size: 12px; margin: 0; }}
</style></head><body>
<h1>Choose the checkpoint of run <code>{esc(run)}</code></h1>
<p>The paper chose by hand between epochs 5 and 10 on its 50 dev prompts, because perplexity did not
track quality. Read the responses, then record your choice: <code>make select CKPT=epoch_NN</code>.</p>
<table><tr><th>dev prompt</th>{head}</tr>
{''.join(rows)}
</table></body></html>
"""


# ---- stage 07's steps ------------------------------------------------------------------------------

def candidate_epochs(checkpoints: Path, window: str) -> tuple[int, int, list[int]]:
    """(first, last, the exported epochs inside the window); fewer than two is an error."""
    try:
        lo, hi = parse_window(window)
    except ValueError as e:
        raise StageError("--window", str(e)) from None
    if not checkpoints.is_dir():
        raise StageError(checkpoints, "no such checkpoint folder (run make train first)")
    exported = exported_epochs(checkpoints)
    epochs = [e for e in exported if lo <= e <= hi]
    if len(epochs) < 2:
        have = ", ".join(f"epoch_{e:02d}" for e in exported) or "none"
        raise StageError(checkpoints, f"fewer than two exported epochs in the window {lo}-{hi} "
                         f"(exported: {have}); train with KEEP_EPOCHS covering the window")
    return lo, hi, epochs


def dev_perplexities(results: Path) -> dict[int, float]:
    path = results / "train_metrics.jsonl"
    if not path.exists():
        return {}
    return {r["epoch"]: r["dev_ppl"] for r in read_jsonl(path, tolerate_torn_tail=True) if r.get("kind") == "epoch"}


def generations_path(results: Path, epoch: int, split: str) -> Path:
    return results / "generations" / f"epoch_{epoch:02d}.{split}.jsonl"


def load_generations(results: Path, epoch: int, split: str) -> list[dict]:
    path = generations_path(results, epoch, split)
    if not path.exists():
        raise StageError(path, f"no {split} generations for epoch {epoch}: run stage 06 on this epoch first "
                         f"(make select generates them)")
    return [r for r in read_jsonl(path) if r.get("sample_idx", 0) == 0]


@dataclass
class Candidates:
    """The candidate epochs with their dev responses (when read) and automatic metrics."""
    epochs: list[int]
    rows: list[dict]                                   # one per epoch: epoch, checkpoint, dev_ppl, metrics
    gens: dict[int, dict[str, str]] = field(default_factory=dict)     # epoch -> id -> response
    prompts: list[dict] = field(default_factory=list)                 # {"id", "prompt"} in file order

    @classmethod
    def read(cls, results: Path, epochs: list[int], split: str, *, required: bool) -> "Candidates":
        """Reads every epoch's generations when all exist or when `required` (then a missing file is
        an error); a recorded manual choice does not need them."""
        ppl = dev_perplexities(results)
        have_all = all(generations_path(results, e, split).exists() for e in epochs)
        gens_rows = {e: load_generations(results, e, split) for e in epochs} if have_all or required else {}
        rows = []
        for e in epochs:
            c = {"epoch": e, "checkpoint": f"epoch_{e:02d}", "dev_ppl": ppl.get(e)}
            if e in gens_rows:
                c["metrics"] = generation_metrics(gens_rows[e])
                c["mean_chars"] = round(sum(len(r["response"]) for r in gens_rows[e]) / max(len(gens_rows[e]), 1), 1)
            rows.append(c)
        gens = {e: {r["id"]: r["response"] for r in g} for e, g in gens_rows.items()}
        prompts = [{"id": r["id"], "prompt": r["prompt"]} for r in gens_rows[epochs[0]]] if gens_rows else []
        return cls(epochs, rows, gens, prompts)

    def names(self) -> str:
        return ", ".join(c["checkpoint"] for c in self.rows)


def choose_by_hand(choose: str, cands: Candidates) -> tuple[int, str, dict]:
    if choose not in {c["checkpoint"] for c in cands.rows}:
        raise StageError("--choose", f"{choose} is not a candidate ({cands.names()})")
    return int(choose[6:]), "chosen by hand after reading the dev responses (the paper's procedure)", {}


def choose_by_judge(client, cands: Candidates, evidence_path: Path) -> tuple[int, str, dict]:
    """Round-robin pairwise comparisons on the dev prompts, each pair in both orders; the highest
    win rate wins. The comparisons are written to `evidence_path`."""
    from lima.eval.judge.judging import judge_pairwise

    results = []
    for a, b in round_robin(cands.epochs):
        pairs = [{"id": f"{p['id']}|epoch_{a:02d}-vs-epoch_{b:02d}", "sample_idx": 0, "prompt": p["prompt"],
                  "ours": cands.gens[a][p["id"]], "theirs": cands.gens[b][p["id"]]}
                 for p in cands.prompts if p["id"] in cands.gens[a] and p["id"] in cands.gens[b]]
        for row in judge_pairwise(client, pairs):
            results.append({"a": a, "b": b, "id": row["id"].split("|")[0], "verdict": row["verdict"],
                            "order_ab": row["order_ab"], "order_ba": row["order_ba"]})
    log.info("judge: %d calls sent, %d answered from the cache", client.requests_sent, client.cache_hits)
    table = win_rates(results)
    write_json(evidence_path, {"win_rates": table, "comparisons": results})
    for c in cands.rows:
        c["judge"] = table.get(c["epoch"])
    rated = {e: table[e]["win_rate"] for e in cands.epochs if table.get(e, {}).get("win_rate") is not None}
    if not rated:
        raise StageError("judge", f"the judge returned no usable verdict ({client.unreadable} of {client.judged} "
                                  f"answers unreadable; they are asked again on the next run; what the server "
                                  f"said is in {client.cache_path})")
    if warning := client.unreadable_warning():
        log.warning("%s", warning)
    choice = choose_by_score(rated)
    why = (f"highest win rate ({rated[choice]:.3f}) in round-robin pairwise comparisons on "
           f"{len(cands.prompts)} dev prompts, each pair judged in both orders (ties to the earlier epoch)")
    return choice, why, {"judge_model": client.model, "comparisons": len(results)}


def reference_chars(dev: Path | None) -> float | None:
    """Mean length in characters of the dev set's reference responses (the fallback rule's yardstick)."""
    if not dev or not dev.exists():
        return None
    refs = [r["conversations"][1] for r in read_jsonl(dev) if len(r.get("conversations", [])) > 1]
    return sum(map(len, refs)) / len(refs) if refs else None


def choose_by_metrics(cands: Candidates, dev: Path | None) -> tuple[int, str, dict]:
    """The fallback rule (no judge) on the automatic metrics of the dev generations."""
    ref_chars = reference_chars(dev)
    for c in cands.rows:
        c["score"] = metric_score(c["metrics"], ref_chars, c["mean_chars"])
    choice = choose_by_score({c["epoch"]: c["score"] for c in cands.rows})
    why = ("no judge configured, so the fallback rule on the automatic metrics of the dev generations: "
           f"score = EOT-termination rate - repetition rate - {LENGTH_WEIGHT} x |ln(mean length / mean "
           "reference length)|, highest wins, ties to the earlier epoch; dev perplexity is shown, not used (§3)")
    return choice, why, {"reference_mean_chars": round(ref_chars, 1) if ref_chars else None}


def render_selection(run: str, cands: Candidates, choice: int, mode: str, why: str) -> str:
    """report/selection.md: the choice, why, and every candidate's figures."""
    fallback = ", fallback" if mode == "metrics" else ""
    lines = [f"## Checkpoint selection ({run})", "", f"Chosen: **epoch {choice}** ({mode}{fallback}). {why}.", "",
             "| Epoch | Dev perplexity | EOT rate | Repetition | Mean words | Score / win rate |", "|---|---|---|---|---|---|"]
    for c in cands.rows:
        m = c.get("metrics", {})
        s = c.get("score", (c.get("judge") or {}).get("win_rate", "–"))
        mark = " **(chosen)**" if c["epoch"] == choice else ""
        lines.append(f"| {c['epoch']}{mark} | {c['dev_ppl'] if c['dev_ppl'] is not None else '–'} | "
                     f"{m.get('eot_rate', '–')} | {m.get('repetition_rate', '–')} | {m.get('mean_words', '–')} | {s} |")
    return "\n".join(lines) + "\n"


def link_selected(checkpoints: Path, epoch: int) -> None:
    """checkpoints/<run>/selected -> epoch_NN (relative), replaced atomically. A convenience: Make
    tracks results/<run>/selection.json, never the link."""
    link = checkpoints / "selected"
    tmp = checkpoints / ".selected.tmp"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(f"epoch_{epoch:02d}", tmp)
    os.replace(tmp, link)
