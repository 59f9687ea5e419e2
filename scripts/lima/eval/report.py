"""The evaluation's report fragment (`report/eval.md`) with our figures beside the paper's, and the
win/tie/loss bars (`winrates.png`, drawn like the paper's Figure 1)."""
from __future__ import annotations

from pathlib import Path

from lima.eval.flags import describe_source
from lima.io import atomic_write

# §4.2: LIMA's win / tie / loss in percent against each baseline, from the crowd workers (Fig. 1) and
# from GPT-4 given the same instructions (Fig. 2), 300 test prompts. The GPT-4-judge rows for Bard and
# Claude could not be checked against Fig. 2 (one secondary reading only): shown marked "unchecked".
PAPER_PAIRWISE = {
    "alpaca-65b": {"human": (53, 21, 26), "gpt4": (64, 19, 17)},
    "davinci003": {"human": (44, 21, 35), "gpt4": (54, 23, 23)},
    "bard": {"human": (33, 25, 42), "gpt4": (27, 26, 47), "gpt4_unchecked": True},
    "claude": {"human": (24, 22, 54), "gpt4": (14, 23, 63), "gpt4_unchecked": True},
    "gpt-4": {"human": (18, 25, 57), "gpt4": (19, 15, 66)},
}
PAPER_ABSOLUTE = {"excellent": 50, "pass": 38, "fail": 12}     # §4.3, 50 random test prompts
PAPER_OOD = {"excellent": 45, "pass": 35, "fail": 20}          # §4.3, 20 out-of-distribution prompts
PAPER_SAFE_SHARE = 80                                           # §4.3, 30 sensitive prompts
PAPER_LIKERT = {"filtered stack exchange 2k (7B)": 3.83, "wikihow 2k (7B)": 3.49,
                "unfiltered stack exchange 2k (7B)": 3.33}      # §5, ChatGPT judge
MODES = {"single": "one presentation per item, our response's side (Answer A or B) drawn at random per item "
                   "and recorded, as the paper's annotators saw them (§4.1)",
         "both-orders": "each item in both orders, a win or a loss only when both agree, a disagreement a tie "
                        "(debiased; gives more ties than the paper's protocol)"}
NO_HUMAN = "no human labels (`make annotate` writes results/<run>/human/summary.json)"

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


def _wtl(p: dict | None) -> str:
    c = (p or {}).get("percent") or {}
    if not (p or {}).get("n"):
        return "n/a"
    return f"{c['win']:.0f} / {c['tie']:.0f} / {c['loss']:.0f}"


def _tie(res: dict | None) -> str:
    t = ((res or {}).get("percent") or {}).get("tie")
    return "" if t is None else f"{t:.0f}%"


def _paper(name: str, who: str) -> tuple[str, tuple | None]:
    """The paper's win / tie / loss for the baseline `name` refers to, as text and numbers."""
    key = paper_baseline(name)
    if not key:
        return "n/a", None
    row = PAPER_PAIRWISE[key]
    mark = " (unchecked)" if who == "gpt4" and row.get("gpt4_unchecked") else ""
    return " / ".join(map(str, row[who])) + mark, row[who]


def human_shares(counts: dict) -> dict:
    """{win, tie, loss, n} counts (make annotate's summary) as the judge's shares."""
    n = sum(int(counts.get(k, 0)) for k in ("win", "tie", "loss"))
    return {"n": n, "counts": {k: int(counts.get(k, 0)) for k in ("win", "tie", "loss")},
            "percent": {k: round(100 * int(counts.get(k, 0)) / n, 1) if n else None for k in ("win", "tie", "loss")}}


def bar_rows(pairwise: dict, human: dict | None) -> list[tuple[str, str, tuple]]:
    """(baseline, label, (win, tie, loss) %) for the figure: per baseline ours by the judge, ours by the
    annotators, the paper's GPT-4 judge and the paper's crowd workers, where each exists."""
    bars = []
    for name in list(pairwise) + [b for b in (human or {}) if b not in pairwise]:
        res = (pairwise.get(name) or {}).get("result")
        if res and res.get("n"):
            bars.append((name, f"ours vs {name}, judge (n={res['n']})", tuple(res["percent"][k] for k in ("win", "tie", "loss"))))
        hs = human_shares(human[name]) if human and name in human else None
        if hs and hs["n"]:
            bars.append((name, f"ours vs {name}, human (n={hs['n']})", tuple(hs["percent"][k] for k in ("win", "tie", "loss"))))
        key = paper_baseline(name)
        if key:
            unchecked = " (unchecked)" if PAPER_PAIRWISE[key].get("gpt4_unchecked") else ""
            bars.append((name, f"paper: LIMA vs {key}, GPT-4{unchecked}", PAPER_PAIRWISE[key]["gpt4"]))
            bars.append((name, f"paper: LIMA vs {key}, human", PAPER_PAIRWISE[key]["human"]))
    return bars


def render_pairwise(pairwise: dict, human: dict | None, judge_model: str | None, seed) -> list[str]:
    """The Fig. 1/2 table: one row per baseline, ours (judge, human) beside the paper's."""
    names = list(pairwise) + [b for b in (human or {}) if b not in pairwise]
    if not names:
        return []
    lines = ["### Pairwise preference against each baseline (§4.2, Figs. 1-2; win / tie / loss, %, our side)", "",
             f"| baseline | items judged | ours, judge{f' `{judge_model}`' if judge_model else ''} | judge mode "
             "| tie rate | ours, human | paper, GPT-4 judge (Fig. 2) | paper, human (Fig. 1) |",
             "|---|---|---|---|---|---|---|---|"]
    for name in names:
        pw = pairwise.get(name) or {}
        res = pw.get("result")
        judged = (f"{res['n']}" + (f" ({pw['prompts_missing_in_baseline']} prompts missing in the baseline)"
                                   if pw.get("prompts_missing_in_baseline") else "")) if res else "not judged"
        hs = human_shares(human[name]) if human and name in human else None
        lines.append(f"| `{name}` | {judged} | {_wtl(res)} | {pw.get('mode', '')} | "
                     f"{_tie(res)} | "
                     f"{_wtl(hs) if hs else 'no human labels'} | {_paper(name, 'gpt4')[0]} | {_paper(name, 'human')[0]} |")
    lines.append("")
    modes = sorted({pw["mode"] for pw in pairwise.values() if pw.get("mode")})
    for mode in modes:
        lines.append(f"Judge mode `{mode}`: {MODES[mode]}" + (f", seed {seed}." if mode == "single" else "."))
    for name, pw in pairwise.items():
        if pw.get("mode") == "single":
            lines.append(f"`{name}`: ours shown as Answer A {_wtl(pw['ours_first'])} (n={pw['ours_first']['n']}), as "
                         f"Answer B {_wtl(pw['ours_second'])} (n={pw['ours_second']['n']}); unparseable "
                         f"{pw['result']['unparseable']}.")
        elif pw.get("mode"):
            lines.append(f"`{name}`: ours shown first {_wtl(pw['order_ab'])}, second {_wtl(pw['order_ba'])}; "
                         f"unparseable {pw['order_ab']['unparseable']} (first order), {pw['order_ba']['unparseable']} "
                         "(second).")
        if pw.get("baseline_ids_not_in_prompts"):
            lines.append(f"`{name}`: {pw['baseline_ids_not_in_prompts']} baseline rows name ids that are not among "
                         "our prompts (ignored).")
    if not human:
        lines.append(f"Human: {NO_HUMAN}.")
    lines += ["", "The paper's template is used verbatim (Appendix C). The paper, for reference (LIMA 65B, 300 test "
              "prompts, win / tie / loss %): " + "; ".join(
                  f"{k} human {' / '.join(map(str, v['human']))}, GPT-4 {' / '.join(map(str, v['gpt4']))}"
                  + (" (unchecked)" if v.get("gpt4_unchecked") else "") for k, v in PAPER_PAIRWISE.items()) + ".", ""]
    if bar_rows(pairwise, human):
        lines += ["![win / tie / loss per baseline](../winrates.png)", ""]
    return lines


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
    human = (s.get("human") or {}).get("pairwise")
    if s.get("flags") and s["flags"]["source"] != "rows":
        lines += [describe_source(s["flags"]), ""]
    if not s.get("judge"):
        lines += [f"Judge: {NO_JUDGE_LINE}.", ""]
        return "\n".join(lines + render_pairwise({}, human, None, s["seed"]))
    lines += [f"Judge: `{s['judge']['model']}` at `{s['judge']['url']}` ({s['judge']['requests']} requests this "
              f"run, {s['judge']['cache_hits']} answers from the cache).", ""]
    lines += render_pairwise(judged.get("pairwise") or {}, human, s["judge"]["model"], s["seed"])
    if "absolute" in judged:
        ab = judged["absolute"]
        p = ab["percent"]
        lines += ["### Absolute rating (§4.3)", "", "| | excellent | pass | fail | n |", "|---|---|---|---|---|",
                  f"| ours, {ab.get('n_drawn', ab['n'])} prompts drawn at random | {p['excellent']} | {p['pass']} | "
                  f"{p['fail']} | {ab['n']} |",
                  f"| paper, 50 random test prompts | {PAPER_ABSOLUTE['excellent']} | {PAPER_ABSOLUTE['pass']} | "
                  f"{PAPER_ABSOLUTE['fail']} | 50 |"]
        ood = judged.get("ood")
        if ood and ood.get("n_flagged"):
            q = ood["percent"]
            lines.append(f"| ours, out-of-distribution (`meta.ood`; {ood['in_draw']} of them in the draw) | "
                         f"{q['excellent']} | {q['pass']} | {q['fail']} | {ood['n']} |")
        lines += [f"| paper, out of distribution | {PAPER_OOD['excellent']} | {PAPER_OOD['pass']} | "
                  f"{PAPER_OOD['fail']} | 20 |", ""]
        lines += [f"The draw is from the whole prompt file, sensitive prompts included ({ab.get('drawn_safety', 0)} "
                  f"safety-flagged, {ab.get('drawn_ood', 0)} out-of-distribution in it), as the paper's; every "
                  f"out-of-distribution prompt is rated besides (the paper added 13 to its 50). Unparseable: "
                  f"{ab['unparseable']}. Our prompt states the paper's labels (its wording is not available).", ""]
        if ood is not None and not ood.get("n_flagged"):
            lines += ["No out-of-distribution prompt (`meta.ood`) among these prompts: the OOD slice is empty.", ""]
    if "safety" in judged and not judged["safety"]["n"] and not judged["safety"]["unparseable"]:
        lines += ["No safety-flagged prompt (`meta.safety`) among these prompts: the safety slice is empty.", ""]
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


def plot_winrates(pairwise: dict, out: Path, human: dict | None = None) -> Path | None:
    """The paper's figure in our terms: one stacked win / tie / loss bar per baseline and judge (ours
    by the judge, ours by the annotators, the paper's GPT-4 judge and crowd workers), grouped by baseline."""
    return draw_stacked_bars(bar_rows(pairwise, human), out, "Pairwise preference per baseline (cf. the paper's Figs. 1 "
                             "and 2)", "% of prompts, our side (paper: hatched)")


def draw_stacked_bars(bars: list[tuple[str, str, tuple]], out: Path, title: str, xlabel: str) -> Path | None:
    """Stacked win / tie / loss bars, (group, label, (win, tie, loss) %) top to bottom, a gap between
    groups, the paper's rows (labels starting "paper") hatched; written atomically. None when no bar."""
    if not bars:
        return None
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 0.42 * len(bars) + 1.8))
    colors = ("#4c8c4a", "#c8c8c8", "#b5524b")
    ys, y, last = [], 0.0, None
    for group, _, _ in bars:                     # a gap between baselines
        y += 0.6 if last is not None and group != last else 0.0
        ys.append(y)
        y, last = y + 1, group
    for i, ((_, label, values), yy) in enumerate(zip(bars, ys)):
        left = 0
        for value, color, name in zip(values, colors, ("wins", "ties", "loses")):
            ax.barh(yy, value, left=left, color=color, label=name if i == 0 else None,
                    hatch="//" if label.startswith("paper") else None, edgecolor="white")
            if value >= 6:
                ax.text(left + value / 2, yy, f"{value:.0f}%", ha="center", va="center", fontsize=7)
            left += value
    ax.set_yticks(ys, [b[1] for b in bars], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=9)
    fig.legend(loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(out, "wb", encoding=None) as f:
        fig.savefig(f, format="png", dpi=120, metadata={"Software": None})
    plt.close(fig)
    return out
