"""Choosing the checkpoint between epochs 5 and 10 on the dev set (PAPER.md §6).

The paper chose by hand because perplexity did not track quality. Three ways here: a person reading
the candidates side by side (`review.html`), the stage 06 judge comparing candidates pairwise, or,
with no judge, a documented rule on the automatic metrics of the dev generations. Dev perplexity is
shown everywhere but, following the paper, never used to choose.
"""
from __future__ import annotations

import html
import itertools
import math
import re
from pathlib import Path

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
