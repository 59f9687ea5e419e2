"""Appendix B in the report: perplexity against generation quality per exported epoch (the record stage 07
wrote), drawn as the paper's Fig. 9 (x: perplexity on the held-out Stack Exchange set, points in
training order) with the paper's seven points beside ours, and its table."""
from __future__ import annotations

from pathlib import Path

from lima import paper


def ppl_quality_points(record: dict) -> list[dict]:
    """The points of Appendix B's plot and table, one per epoch with a dev perplexity and a quality:
    {"epoch", "ppl" (dev), "held" (held-out Stack Exchange, or None), "quality", "ci95", "n"} (ci95 None
    for the metric fallback or a single rating)."""
    points = []
    for r in record.get("epochs", []):
        quality = r.get("mean") if record.get("quality") == "helpfulness" else r.get("score")
        if r.get("dev_ppl") is not None and quality is not None:
            points.append({"epoch": r["epoch"], "ppl": r["dev_ppl"], "held": r.get("ppl_set_ppl"), "quality": quality,
                           "ci95": r.get("ci95"), "n": r.get("n")})
    return points


def constant(points: list[dict]) -> bool:
    return len(points) > 1 and len({round(p["quality"], 6) for p in points}) == 1


OFFSETS = ((5, 7), (-5, -13), (5, -13), (-5, 7), (5, 17), (-5, -23), (5, -23), (-5, 17))


def place_labels(ax, fig, points: list[tuple[float, float, str]]) -> None:
    """Annotate each point with the first of OFFSETS (points of text away) whose box overlaps no label
    placed before it, so labels of points that nearly coincide (two late epochs) never run into each other."""
    renderer = fig.canvas.get_renderer()
    placed = []
    for x, y, text in points:
        for dx, dy in OFFSETS:
            ann = ax.annotate(text, (x, y), textcoords="offset points", xytext=(dx, dy), fontsize=7,
                              ha="left" if dx > 0 else "right")
            box = ann.get_window_extent(renderer).expanded(1.05, 1.1)
            if not any(box.overlaps(b) for b in placed) or (dx, dy) == OFFSETS[-1]:
                placed.append(box)
                break
            ann.remove()


def plot_ppl_vs_quality(record: dict, out: Path) -> Path | None:
    """Fig. 9 in our terms, two panels: ours (x the held-out Stack Exchange perplexity when every epoch
    has it, else the dev perplexity, said on the axis; y the mean 1-6 helpfulness with its 95% interval,
    or the metric fallback, said so), and the paper's seven points of LIMA 65B. n and the rater are in
    the title; a constant quality series is said to be one."""
    points = ppl_quality_points(record)
    if not points:
        return None
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fallback = record.get("quality") != "helpfulness"
    held = all(p["held"] is not None for p in points)
    x = [p["held"] if held else p["ppl"] for p in points]
    y = [p["quality"] for p in points]
    err = [[p["quality"] - p["ci95"][0] if p["ci95"] else 0 for p in points],
           [p["ci95"][1] - p["quality"] if p["ci95"] else 0 for p in points]]
    fig, (ax, axp) = plt.subplots(1, 2, figsize=(10, 4.2), gridspec_kw={"width_ratios": [3, 2]})
    ax.errorbar(x, y, yerr=None if fallback else err, marker="o", capsize=3, color="tab:gray" if fallback else "tab:blue")
    ax.set_xlabel("perplexity, held-out Stack Exchange set" if held else "dev perplexity (no held-out set scored)")
    n = max((p["n"] or 0) for p in points)
    if fallback:
        ax.set_ylabel("metric fallback score (no judge; not helpfulness)")
        title = "Appendix B: perplexity vs quality per exported epoch - metric fallback, no judge"
        who = "no rater: the selection's metric rule"
    else:
        ax.set_ylabel("helpfulness 1-6, mean ± 95% CI")
        title = "Appendix B (Fig. 9): perplexity vs helpfulness per exported epoch"
        who = f"rated by judge {record.get('judge_model')}, n={n} dev prompts per epoch"
    if constant(points):
        ax.text(0.5, 0.92, f"constant series: every epoch scores {y[0]:.2f}", transform=ax.transAxes, ha="center",
                fontsize=8, color="tab:red")
    ax.set_title(f"ours, in training order ({who})", fontsize=8)
    ax.grid(alpha=0.3)
    ax.margins(x=0.12, y=0.1)
    fig9 = paper.FIG9
    axp.plot(fig9["ppl"], fig9["quality"], marker="s", color="tab:red")
    for i, (s, px, py) in enumerate(zip(fig9["steps"], fig9["ppl"], fig9["quality"])):
        axp.annotate(f"{s}", (px, py), textcoords="offset points", xytext=(0, 6 if i % 2 == 0 else -11),
                     fontsize=7, ha="center")
    axp.set_xlabel(f"perplexity, {paper.FIG9_HELDOUT:,} held-out SE examples")
    axp.margins(x=0.1, y=0.2)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()                       # the final layout first: label boxes are measured on it
    fig.subplots_adjust(wspace=0.3)
    place_labels(ax, fig, [(xx, p["quality"], f"ep {p['epoch']}") for p, xx in zip(points, x)])
    axp.set_ylabel("quality (1-6)")
    axp.set_title("the paper: LIMA 65B, labels = training steps (Fig. 9)", fontsize=8)
    axp.grid(alpha=0.3)
    # The title also goes into the PNG's metadata, so a reader (or a test) can tell the kind without looking.
    fig.savefig(out, dpi=120, metadata={"Title": title})
    plt.close(fig)
    return out


def paper_observation() -> str:
    f = paper.FIG9
    peak = f["steps"][f["quality"].index(max(f["quality"]))]
    return (f"The paper (Appendix B, Fig. 9, LIMA 65B): on {paper.FIG9_HELDOUT:,} held-out Stack Exchange examples, "
            f"perplexity rose during training ({f['ppl'][0]} at step {f['steps'][0]} to {f['ppl'][-1]} at step "
            f"{f['steps'][-1]}) while the quality of the generations rose too ({f['quality'][0]:.2f} to a peak of "
            f"{max(f['quality']):.2f} at step {peak}, 1-6 scale); similar trends for 7B and 30B and other data "
            "mixtures. Perplexity does not track quality, so the paper chose its checkpoint by reading dev generations.")


def ppl_quality_md(record: dict, plotted: bool) -> list[str]:
    """Appendix B's section: the plot, the per-epoch table, the correlation, the paper's observation."""
    lines = ["### Perplexity against quality (Appendix B)", ""]
    points = ppl_quality_points(record)
    fallback = record.get("quality") != "helpfulness"
    if fallback:
        lines += ["**Metric fallback:** no judge was configured, so quality here is the selection's metric rule "
                  "on each epoch's dev responses (EOT rate - repetition rate - length penalty), not the paper's "
                  "1-6 helpfulness score (Appendix D); set JUDGE_BASE_URL and JUDGE_MODEL for the paper's measure.", ""]
    if plotted:
        lines += ["![perplexity vs quality](ppl_vs_quality.png)", ""]
    if points:
        by_epoch = {r["epoch"]: r for r in record["epochs"]}
        head = "Metric fallback score" if fallback else f"Helpfulness 1-6, mean [95% CI] (judge {record.get('judge_model')})"
        lines += [f"| Epoch | Dev perplexity | Held-out SE perplexity | {head} |" + ("" if fallback else " Rated |"),
                  "|---|---|---|---|" + ("" if fallback else "---|")]
        for p in points:
            r = by_epoch[p["epoch"]]
            held = r.get("ppl_set_ppl")
            if fallback:
                q = f"{p['quality']:.4f}"
            else:
                ci = f" [{p['ci95'][0]:.2f}, {p['ci95'][1]:.2f}]" if p["ci95"] else ""
                q = f"{p['quality']:.2f}{ci}"
            rated = "" if fallback else f" {r.get('n', 0)}" + (f" ({r['unparseable']} unparseable)" if r.get("unparseable") else "") + " |"
            lines.append(f"| {p['epoch']} | {p['ppl']:.2f} | {f'{held:.2f}' if held is not None else '–'} | {q} |{rated}")
        lines.append("")
        if constant(points):
            lines += [f"Quality is a constant series: every epoch scores {points[0]['quality']:.2f}, so there is no "
                      "trend to set against perplexity.", ""]
        r = record.get("pearson_dev_ppl_quality")
        lines += [f"Over {len(points)} exported epochs, Pearson's r between dev perplexity and "
                  f"{'the metric fallback score' if fallback else 'mean helpfulness'}: "
                  f"{f'{r:+.2f}' if r is not None else 'not defined (fewer than three epochs or a constant series)'}.", ""]
    else:
        lines += ["No exported epoch has dev generations to set against its perplexity.", ""]
    no_ppl = [r["epoch"] for r in record.get("epochs", []) if r.get("dev_ppl") is None]
    if no_ppl:
        lines += ["Epochs with no dev perplexity in train_metrics.jsonl, left out: "
                  + ", ".join(f"epoch_{e:02d}" for e in no_ppl) + ".", ""]
    if record.get("missing_generations"):
        lines += ["Exported epochs without dev generations, left out: "
                  + ", ".join(f"epoch_{e:02d}" for e in record["missing_generations"]) + ".", ""]
    lines += [paper_observation(), ""]
    return lines
