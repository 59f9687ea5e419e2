"""The §5 ablations' figures (Fig. 5: diversity and quality; Fig. 6: quantity) and report fragments,
our scores beside the paper's (lima/paper.py). Each figure states n (prompts x samples) and the rater."""
from __future__ import annotations

import textwrap
from pathlib import Path

from lima import paper

TITLES = {"se-filtered": "filtered Stack Exchange", "se-unfiltered": "unfiltered Stack Exchange",
          "wikihow": "wikiHow"}
# Fig. 6's plateau is drawn on our axis only when one of our sizes is at least half the paper's smallest.
COMPARABLE_SIZE = paper.QUANTITY_SIZES[0] // 2


def _label(v: dict) -> str:
    """A short tick label, wrapped, so neighbouring labels do not run into each other."""
    text = f"{TITLES[v['pool']]} {v['kept']:,}" + (f" (asked {v['requested']:,}; pool capped)" if v["capped"] else "")
    return textwrap.fill(text, 20)


def _who(variants: list[dict], rater: str | None) -> str:
    n = max((v["likert"].get("n") or 0) for v in variants)
    return f"n={n} ratings per set, rated by {f'judge {rater}' if rater else 'the judge'}"


def _errors(variants: list[dict]) -> tuple[list[float], list[float], list[float]]:
    means = [v["likert"]["mean"] for v in variants]
    lo = [m - v["likert"]["ci95"][0] if v["likert"].get("ci95") else 0 for m, v in zip(means, variants)]
    hi = [v["likert"]["ci95"][1] - m if v["likert"].get("ci95") else 0 for m, v in zip(means, variants)]
    return means, lo, hi


def _save(fig, out: Path) -> Path:
    from lima.io import atomic_write
    fig.tight_layout()
    with atomic_write(out, "wb", encoding=None) as f:
        fig.savefig(f, format="png", dpi=120, metadata={"Software": None})
    return out


def plot_diversity(variants: list[dict], out: Path, rater: str | None = None) -> Path:
    """Fig. 5 in our terms: mean helpfulness with its 95% CI per training set, the paper's (7B, 2,000
    examples each, ChatGPT) beside as diamonds."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    xs = list(range(len(variants)))
    means, lo, hi = _errors(variants)
    ax.bar(xs, means, yerr=[lo, hi], capsize=4, color="tab:blue", alpha=0.8, label="ours (mean, 95% CI)")
    ax.scatter(xs, [paper.DIVERSITY[v["pool"]] for v in variants], marker="D", color="tab:red", zorder=3,
               label=f"paper, LLaMA 7B, {paper.DIVERSITY_SIZE:,} examples each, ChatGPT (§5)")
    ax.set_xticks(xs, [_label(v) for v in variants], fontsize=7)
    ax.set_ylim(1, 6)
    ax.set_ylabel("helpfulness (1-6)")
    ax.set_title(f"Diversity and quality (the paper's Fig. 5); {_who(variants, rater)}", fontsize=8)
    ax.legend(fontsize=7)
    ax.grid(axis="y", alpha=0.3)
    out = _save(fig, out)
    plt.close(fig)
    return out


def plot_quantity(variants: list[dict], out: Path, rater: str | None = None) -> Path:
    """Fig. 6 in our terms: helpfulness against the number of filtered Stack Exchange examples. The
    paper's 2K-32K plateau is drawn over those sizes on our axis when our sizes reach them; otherwise
    on a panel of its own, named as the paper's, so a band never sits over sizes it was not measured at."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [v["kept"] for v in variants]
    comparable = max(xs) >= COMPARABLE_SIZE
    fig, axes = plt.subplots(1, 1 if comparable else 2, figsize=(7 if comparable else 9, 4),
                             squeeze=False, gridspec_kw=None if comparable else {"width_ratios": [3, 2]})
    ax = axes[0][0]
    means, lo, hi = _errors(variants)
    ax.errorbar(xs, means, yerr=[lo, hi], marker="o", capsize=4, label="ours (mean, 95% CI)")
    band = f"paper, LLaMA 7B: {paper.QUANTITY_SIZES[0] // 1000}K-{paper.QUANTITY_SIZES[-1] // 1000}K plateau (§5)"
    if comparable:
        ax.fill_between([paper.QUANTITY_SIZES[0], paper.QUANTITY_SIZES[-1]], *paper.QUANTITY_BAND, color="tab:red",
                        alpha=0.15, label=band)
    ax.set_xscale("log", base=2)
    ax.set_xticks(xs, [f"{x:,}" for x in xs])
    ax.minorticks_off()
    ax.set_ylim(1, 6)
    ax.set_xlabel("filtered Stack Exchange training examples (ours)")
    ax.set_ylabel("helpfulness (1-6)")
    ax.set_title(f"Quantity (the paper's Fig. 6); {_who(variants, rater)}", fontsize=8)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    if not comparable:
        axp = axes[0][1]
        sizes = list(paper.QUANTITY_SIZES)
        axp.fill_between(sizes, *paper.QUANTITY_BAND, color="tab:red", alpha=0.25)
        axp.set_xscale("log", base=2)
        axp.set_xticks(sizes, [f"{s // 1000}K" for s in sizes])
        axp.minorticks_off()
        axp.set_ylim(1, 6)
        axp.set_xlabel("the paper's training examples")
        axp.set_title(f"the paper's Fig. 6: LLaMA 7B, flat at about {paper.QUANTITY_BAND[0]:g}-{paper.QUANTITY_BAND[1]:g}\n"
                      "(our sizes are far smaller: not drawn on our axis)", fontsize=7)
        axp.grid(alpha=0.3)
    out = _save(fig, out)
    plt.close(fig)
    return out


def _num(x, fmt="{:,}") -> str:
    return "–" if x is None else fmt.format(x)


def render_data_table(variants: list[dict]) -> list[str]:
    """The training sets side by side, so the intended contrasts show: filtered and unfiltered Stack
    Exchange on the same sites and STEM/Other split, apart in answer score, length and the share
    passing the §2.1 filters; the quantity sizes alike in all but size."""
    lines = ["| Training set | Examples | Sites | STEM / Other | Median answer score | Median answer length (chars) "
             "| Answers passing the §2.1 filters |", "|---|---:|---:|---|---:|---:|---:|"]
    for v in variants:
        d = v.get("data") or {}
        split = f"{d['stem']:,} / {d['other']:,}" if d.get("stem") is not None else "–"
        share = f"{d['passes_filters']:.0%}" if d.get("passes_filters") is not None else "–"
        lines.append(f"| {TITLES[v['pool']]} (`{v['name']}`) | {v['kept']:,} | {_num(d.get('sites'))} | {split} | "
                     f"{_num(d.get('median_answer_score'), '{:g}')} | {_num(d.get('median_answer_chars'), '{:,.0f}')} | {share} |")
    return lines


def render_data_report(plan: dict) -> str:
    """data/ablations/data.md: how each set was drawn and what it holds, before any training."""
    lines = ["## Ablation training sets (§5)", "",
             f"Stack Exchange sets drawn by the §2.1 sampler (τ = {plan['tau']:g} over exchanges weighted by "
             f"their qualifying pairs, STEM/Other balanced, seed {plan['seed']}), questions inside an exchange "
             f"{'at random' if plan['order'] == 'random' else 'best first'}; each size is its own draw. The "
             "unfiltered set (top answers with no quality or style rule) shares the filtered set's draw of "
             "exchanges: the same sites, the same counts per site. wikiHow: the first rows of stage 02's pool.", ""]
    return "\n".join(lines + render_data_table(plan["variants"]) + [""])


def render_ablation_report(summary: dict, no_judge_line: str) -> str:
    model = f"`{summary['model']}`" if summary.get("model") else "the ablation base model"
    lines = ["## Ablations (§5)", "",
             f"Each variant trains {model} with the smaller-model recipe of this profile and is "
             f"evaluated at the epoch stage 07 chose, {summary['samples']} samples per test prompt "
             f"({summary['n_prompts']} prompts), helpfulness rated 1-6 by the judge (our paraphrase of the "
             "paper's Appendix D prompt). The paper used LLaMA 7B, 2,000 examples per set and ChatGPT.", ""]
    lines += ["| Training set | Examples | Epoch | Helpfulness (mean, 95% CI) | Paper (7B) | Ended with EOT |",
              "|---|---:|---|---|---:|---:|"]
    for v in summary["variants"]:
        lk = v.get("likert")
        score = (f"{lk['mean']:.2f} [{lk['ci95'][0]:.2f}, {lk['ci95'][1]:.2f}]" if lk and lk.get("ci95")
                 else f"{lk['mean']:.2f}" if lk and lk.get("mean") is not None else "not judged")
        paper_value = paper.DIVERSITY.get(v["pool"]) if v["role"] != "quantity" else "≈{:g}-{:g}".format(*paper.QUANTITY_BAND)
        kept = f"{v['kept']:,}" + (f" (asked {v['requested']:,}: the pool has {v['pool_size']:,})" if v["capped"] else "")
        lines.append(f"| {TITLES[v['pool']]} (`{v['name']}`) | {kept} | {v['epoch']} | {score} | {paper_value or ''} | {v['eot_rate']} |")
    lines.append("")
    if any(v.get("data") for v in summary["variants"]):
        lines += ["What each set holds (drawn by `scripts/09_ablation_data.py`; the filtered and unfiltered "
                  "sets of one size share their sites and STEM/Other split):", ""]
        lines += render_data_table(summary["variants"]) + [""]
    if summary.get("plots"):
        lines += [f"![{p}]({p})" for p in summary["plots"]] + [""]
    if not summary.get("judged"):
        lines += [f"Judge: {no_judge_line}. Nothing judged is plotted.", ""]
    capped = [v for v in summary["variants"] if v["capped"]]
    if capped:
        lines += ["Capped by the pools: " + ", ".join(f"{v['name']} ({v['kept']:,} of {v['requested']:,})"
                                                      for v in capped) + ".", ""]
    return "\n".join(lines)


