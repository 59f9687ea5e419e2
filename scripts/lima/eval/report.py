"""The evaluation's report fragment (`report/eval.md`) with our figures beside the paper's, and the
win/tie/loss bars (`winrates.png`, drawn like the paper's Figure 1)."""
from __future__ import annotations

from pathlib import Path

from lima.io import atomic_write

# §4.2, Figs. 1-2: LIMA's win / tie / loss in percent against each baseline, human and GPT-4 judges.
PAPER_PAIRWISE = {
    "alpaca-65b": {"human": (53, 21, 26), "gpt4": (64, 19, 17)},
    "davinci003": {"human": (44, 21, 35), "gpt4": (54, 23, 23)},
    "bard": {"human": (33, 25, 42), "gpt4": (27, 26, 47)},
    "claude": {"human": (24, 22, 54), "gpt4": (14, 23, 63)},
    "gpt-4": {"human": (18, 25, 57), "gpt4": (19, 15, 66)},
}
PAPER_ABSOLUTE = {"excellent": 50, "pass": 38, "fail": 12}     # §4.3, 50 random test prompts
PAPER_SAFE_SHARE = 80                                           # §4.3, 30 sensitive prompts
PAPER_LIKERT = {"filtered stack exchange 2k (7B)": 3.83, "wikihow 2k (7B)": 3.49,
                "unfiltered stack exchange 2k (7B)": 3.33}      # §5, ChatGPT judge

NO_JUDGE_LINE = ("no judge configured, so nothing was judged: set JUDGE_BASE_URL (e.g. https://api.openai.com/v1) "
                 "and JUDGE_MODEL (e.g. gpt-4), with the key in JUDGE_API_KEY, then rerun `make eval`")


def paper_baseline(name: str) -> str | None:
    """The paper's baseline a file name refers to (`alpaca-65b.test.jsonl` -> alpaca-65b)."""
    n = name.lower().replace("_", "-")
    for key, needles in (("alpaca-65b", ("alpaca",)), ("davinci003", ("davinci", "text-davinci")),
                         ("bard", ("bard",)), ("claude", ("claude",)), ("gpt-4", ("gpt-4", "gpt4"))):
        if any(s in n for s in needles):
            return key
    return None


def _wtl(p: dict) -> str:
    c = p.get("percent") or {}
    if not p.get("n"):
        return "n/a"
    return f"{c['win']:.0f} / {c['tie']:.0f} / {c['loss']:.0f}"


def render_report(summary: dict) -> str:
    s = summary
    lines = [f"## Evaluation: `{s['generations']}`", ""]
    d = s["decoding"]
    lines.append(f"System `{s['checkpoint']}`, prompts `{s['prompts']}` ({s['n_prompts']} prompts x "
                 f"{s['samples']} sample(s)); nucleus p={d['top_p']}, temperature {d['temperature']}, repetition "
                 f"penalty {d['repetition_penalty']} on generated tokens only, at most {d['max_new_tokens']} new "
                 f"tokens, seed {s['seed']} (§4.1).")
    lines.append("")
    m = s["metrics"]
    lines += ["| metric | value |", "|---|---|",
              f"| responses | {m['n_responses']} |", f"| ended with EOT | {m['eot_rate']} |",
              f"| mean new tokens | {m['mean_new_tokens']} |", f"| mean words | {m['mean_words']} |",
              f"| distinct-2 | {m['distinct_2']} |", f"| repetition rate (4-grams) | {m['repetition_rate']} |", ""]
    judged = s.get("judged") or {}
    if not s.get("judge"):
        lines += [f"Judge: {NO_JUDGE_LINE}.", ""]
        return "\n".join(lines)
    lines += [f"Judge: `{s['judge']['model']}` at `{s['judge']['url']}` ({s['judge']['requests']} requests this "
              f"run, {s['judge']['cache_hits']} answers from the cache).", ""]
    for name, pw in (judged.get("pairwise") or {}).items():
        paper = PAPER_PAIRWISE.get(paper_baseline(name) or "", {})
        lines += [f"### Pairwise against `{name}` (win / tie / loss, %, our side)", "",
                  "| | ours | paper, GPT-4 judge | paper, human |", "|---|---|---|---|",
                  f"| order-debiased | {_wtl(pw['debiased'])} | {' / '.join(map(str, paper['gpt4'])) if paper else 'n/a'} | "
                  f"{' / '.join(map(str, paper['human'])) if paper else 'n/a'} |",
                  f"| ours shown first | {_wtl(pw['order_ab'])} | | |",
                  f"| ours shown second | {_wtl(pw['order_ba'])} | | |", "",
                  f"{pw['debiased']['n']} pairs judged in both orders; unparseable: "
                  f"{pw['order_ab']['unparseable']} (first order), {pw['order_ba']['unparseable']} (second). "
                  "The paper's template is used verbatim (Appendix C); a disagreement between orders is a tie.", ""]
    if "absolute" in judged:
        ab = judged["absolute"]
        p = ab["percent"]
        lines += ["### Absolute rating (§4.3)", "", "| | excellent | pass | fail | n |", "|---|---|---|---|---|",
                  f"| ours | {p['excellent']} | {p['pass']} | {p['fail']} | {ab['n']} |",
                  f"| paper | {PAPER_ABSOLUTE['excellent']} | {PAPER_ABSOLUTE['pass']} | {PAPER_ABSOLUTE['fail']} | 50 |", "",
                  f"Unparseable: {ab['unparseable']}. Our prompt states the paper's labels (its wording is not available).", ""]
    if "safety" in judged and not judged["safety"]["n"] and not judged["safety"]["unparseable"]:
        lines += ["No safety-flagged prompt (meta.safety) in this prompt file.", ""]
    elif "safety" in judged:
        sf = judged["safety"]
        lines += ["### Safety-flagged prompts (§4.3)", "",
                  f"Answered safely: {sf['percent']['safe']}% of {sf['n']} (paper: {PAPER_SAFE_SHARE}% of 30); "
                  f"unparseable: {sf['unparseable']}.", ""]
    if "likert" in judged:
        lk = judged["likert"]
        ci = lk["ci95"]
        ref = ", ".join(f"{k} {v}" for k, v in PAPER_LIKERT.items())
        mean = f"{lk['mean']:.2f}" if lk["mean"] is not None else "n/a"
        lines += ["### Helpfulness 1-6 (§5)", "",
                  f"Mean {mean} (95% CI {f'{ci[0]:.2f}-{ci[1]:.2f}' if ci else 'n/a'}, n={lk['n']}, "
                  f"unparseable {lk['unparseable']}); paper, ChatGPT judge: {ref}. Our prompt is a paraphrase of "
                  "the paper's Appendix D prompt with the same six levels.", ""]
    return "\n".join(lines)


def write_report(path: Path, summary: dict) -> None:
    with atomic_write(path) as f:
        f.write(render_report(summary))
        f.write("\n")


def plot_winrates(pairwise: dict, out: Path) -> Path:
    """Stacked horizontal bars per baseline (ours, and the paper's GPT-4-judge row when known)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bars = []
    for name, pw in pairwise.items():
        p = pw["debiased"]["percent"]
        if pw["debiased"]["n"]:
            bars.append((f"ours vs {name}", (p["win"], p["tie"], p["loss"])))
        key = paper_baseline(name)
        if key:
            bars.append((f"paper: LIMA vs {key} (GPT-4 judge)", PAPER_PAIRWISE[key]["gpt4"]))
    fig, ax = plt.subplots(figsize=(7, 0.6 * max(len(bars), 1) + 1.6))
    colors = ("#4c8c4a", "#c8c8c8", "#b5524b")
    for y, (label, (w, t, l)) in enumerate(reversed(bars)):
        left = 0
        for value, color, name in zip((w, t, l), colors, ("wins", "ties", "loses")):
            ax.barh(y, value, left=left, color=color, label=name if y == 0 else None)
            if value >= 6:
                ax.text(left + value / 2, y, f"{value:.0f}%", ha="center", va="center", fontsize=8)
            left += value
    ax.set_yticks(range(len(bars)), [b[0] for b in reversed(bars)], fontsize=8)
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of prompts (order-debiased)")
    ax.set_title("Pairwise preference, our side (cf. the paper's Figure 1)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=3, fontsize=8, frameon=False)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
