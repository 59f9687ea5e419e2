"""Stage 06's figures: the win / tie / loss bars per baseline with their 95% intervals (`winrates.png`,
drawn like the paper's Figures 1 and 2) and the Fail / Pass / Excellent bar of §4.3 (`absolute.png`,
like Fig. 3). Each says the n behind every bar and who rated it."""
from __future__ import annotations

from pathlib import Path

from lima import paper
from lima.eval.stats import share_ci
from lima.io import atomic_write

WTL = ("win", "tie", "loss")


def human_shares(counts: dict) -> dict:
    """{win, tie, loss, n} counts (make annotate's summary) as the judge's shares."""
    n = sum(int(counts.get(k, 0)) for k in WTL)
    return {"n": n, "counts": {k: int(counts.get(k, 0)) for k in WTL},
            "percent": {k: round(100 * int(counts.get(k, 0)) / n, 1) if n else None for k in WTL}}


def _errors(counts: dict) -> tuple:
    """(win CI, equal-or-preferred CI) in percent, drawn at the win and win+tie edges of a bar."""
    ci = share_ci(counts)
    return ci["win"]["ci95"], ci["equal_or_preferred"]["ci95"]


def bar_rows(pairwise: dict, human: dict | None, judge_model: str | None = None) -> list[tuple]:
    """(baseline, label, (win, tie, loss) %, errors) for the figure: per baseline ours by the judge,
    ours by the annotators, and, for a baseline the paper had (an exact name, lima/paper.py), the
    paper's GPT-4 judge and crowd workers (n=300, no interval published)."""
    bars = []
    who = f"judge {judge_model}" if judge_model else "judge"
    for name in list(pairwise) + [b for b in (human or {}) if b not in pairwise]:
        res = (pairwise.get(name) or {}).get("result")
        if res and res.get("n"):
            bars.append((name, f"ours vs {name}, {who} (n={res['n']})",
                         tuple(res["percent"][k] for k in WTL), _errors(res["counts"])))
        hs = human_shares(human[name]) if human and name in human else None
        if hs and hs["n"]:
            bars.append((name, f"ours vs {name}, humans (n={hs['n']})", tuple(hs["percent"][k] for k in WTL),
                         _errors(hs["counts"])))
        key = paper.paper_baseline(name)
        if key:
            label = paper.BASELINE_LABELS[key]
            bars.append((name, f"paper: LIMA vs {label}, GPT-4 (n={paper.N_TEST})", paper.PAIRWISE[key]["gpt4"], None))
            bars.append((name, f"paper: LIMA vs {label}, humans (n={paper.N_TEST})", paper.PAIRWISE[key]["human"], None))
    return bars


def plot_winrates(pairwise: dict, out: Path, human: dict | None = None, judge_model: str | None = None) -> Path | None:
    """The paper's figure in our terms, grouped by baseline; a figure left from an earlier run with
    bars that are no longer current is removed, never left behind."""
    drawn = draw_stacked_bars(bar_rows(pairwise, human, judge_model), out,
                              "Pairwise preference per baseline (cf. the paper's Figs. 1 and 2)",
                              "% of prompts, our side; whiskers: 95% interval of the win share and of win + tie "
                              "(paper: hatched)")
    if drawn is None and out.exists():
        out.unlink()
    return drawn


def draw_stacked_bars(bars: list[tuple], out: Path, title: str, xlabel: str,
                      labels: tuple[str, ...] = ("wins", "ties", "loses"),
                      colors: tuple[str, ...] = ("#4c8c4a", "#c8c8c8", "#b5524b")) -> Path | None:
    """Stacked bars, (group, label, values %[, errors]) top to bottom, a gap between groups, the
    paper's rows (labels starting "paper") hatched; errors = (first segment's CI, first two segments'
    CI) draws whiskers at those edges. Written atomically; None when there is no bar."""
    if not bars:
        return None
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 0.42 * len(bars) + 1.9))
    ys, y, last = [], 0.0, None
    for bar in bars:                     # a gap between baselines
        y += 0.6 if last is not None and bar[0] != last else 0.0
        ys.append(y)
        y, last = y + 1, bar[0]
    for i, (bar, yy) in enumerate(zip(bars, ys)):
        label, values = bar[1], bar[2]
        left = 0
        for value, color, name in zip(values, colors, labels):
            ax.barh(yy, value, left=left, color=color, label=name if i == 0 else None,
                    hatch="//" if label.startswith("paper") else None, edgecolor="white")
            if value >= 6:
                ax.text(left + value / 2, yy + 0.1, f"{value:.0f}%", ha="center", va="center", fontsize=7)
            left += value
        errors = bar[3] if len(bar) > 3 else None
        for edge, ci in zip((values[0], values[0] + values[1]), errors or ()):
            if ci:
                ax.errorbar(edge, yy - 0.22, xerr=[[edge - ci[0]], [ci[1] - edge]], fmt="none", ecolor="black",
                            capsize=2.5, lw=1)          # in the bar's upper part, clear of its label
    ax.set_yticks(ys, [b[1] for b in bars], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_title(title, fontsize=9)
    fig.legend(loc="lower center", ncol=len(labels), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(out, "wb", encoding=None) as f:
        fig.savefig(f, format="png", dpi=120, metadata={"Software": None})
    plt.close(fig)
    return out


def plot_absolute(absolute: dict | None, out: Path, rater: str, human: dict | None = None) -> Path | None:
    """Fig. 3 in our terms: Fail / Pass / Excellent stacked, ours (the judge; people when labelled)
    beside the paper's 50 prompts rated by its authors."""
    order = ("fail", "pass", "excellent")
    bars = []
    if absolute and absolute.get("n"):
        bars.append(("ours", f"ours, {rater} (n={absolute['n']})", tuple(absolute["percent"][k] for k in order)))
    if human and human.get("n"):
        bars.append(("ours", f"ours, humans (n={human['n']})", tuple(100 * human[k] / human["n"] for k in order)))
    if not bars:
        if out.exists():
            out.unlink()
        return None
    bars.append(("paper", f"paper: LIMA 65B, the authors (n={paper.ABSOLUTE_N})",
                 tuple(paper.ABSOLUTE[k] for k in order)))
    return draw_stacked_bars(bars, out, "Absolute rating of single responses (cf. the paper's Fig. 3, §4.3)",
                             "% of rated prompts (paper: hatched)", labels=("Fail", "Pass", "Excellent"),
                             colors=("#b5524b", "#e0c068", "#4c8c4a"))
