"""The evaluation's report fragment (`report/eval.md`) with our figures beside the paper's, and the
win/tie/loss bars (`winrates.png`, drawn like the paper's Figure 1)."""
from __future__ import annotations

from pathlib import Path

from lima import paper
from lima.eval.preference.flags import describe_source
from lima.eval.preference.plots import bar_rows, human_shares
from lima.eval.stats import fmt_ci, share_ci
from lima.io import atomic_write

# The paper's numbers live in lima/paper.py; these names stay for the modules that import them here.
PAPER_PAIRWISE = paper.PAIRWISE
PAPER_ABSOLUTE = paper.ABSOLUTE
paper_baseline = paper.paper_baseline
TRUNCATION_WARN = 0.10           # more than this share of judged responses cut at the token cap: said loudly
MODES = {"single": "one presentation per item, our response's side (Answer A or B) drawn at random per item "
                   "and recorded, as the paper's annotators saw them (§4.1)",
         "both-orders": "each item in both orders, a win or a loss only when both agree, a disagreement a tie "
                        "(debiased; gives more ties than the paper's protocol)"}
NO_HUMAN = "no human labels (`make annotate` writes results/<run>/human/summary.json)"

NO_JUDGE_LINE = ("no judge configured, so nothing was judged: set JUDGE_BASE_URL (e.g. https://api.openai.com/v1) "
                 "and JUDGE_MODEL (e.g. gpt-4), with the key in JUDGE_API_KEY, then rerun `make eval`")


def _wtl(p: dict | None) -> str:
    c = (p or {}).get("percent") or {}
    if not (p or {}).get("n"):
        return "n/a"
    return f"{c['win']:.0f} / {c['tie']:.0f} / {c['loss']:.0f}"


def _tie(res: dict | None) -> str:
    t = ((res or {}).get("percent") or {}).get("tie")
    return "n/a" if t is None else f"{t:.0f}%"


def _wtl_ci(counts: dict | None) -> tuple[str, str]:
    """("win [CI] / tie [CI] / loss [CI]", "equal or preferred [CI]") from counts, or n/a."""
    ci = share_ci(counts or {})
    if not ci["win"]["n"]:
        return "n/a", "n/a"
    return " / ".join(fmt_ci(ci[k]) for k in ("win", "tie", "loss")), fmt_ci(ci["equal_or_preferred"])


def _paper_cells(name: str) -> tuple[str, str, str]:
    """The paper's GPT-4-judge and human win / tie / loss and equal-or-preferred for a baseline it had
    (an exact documented name), else "not in the paper"."""
    key = paper.paper_baseline(name)
    if not key:
        return ("not in the paper",) * 3
    row = paper.PAIRWISE[key]
    eop = paper.EQUAL_OR_PREFERRED.get(key)
    eop_text = f"{eop[0]} ({eop[1]})" if eop else f"{row['human'][0] + row['human'][1]} (Fig. 1)"
    return " / ".join(map(str, row["gpt4"])), " / ".join(map(str, row["human"])), eop_text


def _cut(t: dict | None) -> str:
    return f"{t['k']} of {t['n']}" if t else "unknown"


def truncation_warnings(summary: dict) -> list[str]:
    """One line per system of which more than 10% of the judged responses hit the token cap without EOT."""
    out = []
    m = summary["metrics"]
    judged = summary.get("judged") or {}
    if judged and m.get("n_truncated") is not None and m["n_responses"] and \
            m["n_truncated"] / m["n_responses"] > TRUNCATION_WARN:
        out.append(f"{m['n_truncated']} of our {m['n_responses']} responses ({100 * m['n_truncated'] / m['n_responses']:.0f}%) "
                   f"hit the {summary['decoding']['max_new_tokens']}-token cap without EOT: they were judged cut off")
    for name, pw in (judged.get("pairwise") or {}).items():
        t = ((pw.get("evidence") or {}).get("truncated") or {}).get("theirs")
        if t and t["n"] and t["k"] / t["n"] > TRUNCATION_WARN:
            out.append(f"baseline `{name}`: {t['k']} of {t['n']} responses ({100 * t['k'] / t['n']:.0f}%) ended without "
                       "EOT (cut at its token cap): they were judged cut off")
    return out


def render_pairwise(pairwise: dict, human: dict | None, judge_model: str | None, seed) -> list[str]:
    """The Fig. 1/2 tables: per baseline our shares with their 95% intervals beside the paper's, then
    length and the length-controlled win rate."""
    names = list(pairwise) + [b for b in (human or {}) if b not in pairwise]
    if not names:
        return []
    who = f"judge `{judge_model}`" if judge_model else "judge"
    lines = ["### Pairwise preference against each baseline (§4.2, Figs. 1-2; win / tie / loss, %, our side)", "",
             f"Ours rated by the {who} (humans: `make annotate`); the paper's by crowd workers (Fig. 1) and by "
             f"GPT-4 (Fig. 2) on {paper.N_TEST} prompts each. Brackets: exact 95% binomial interval over prompts "
             "(docs/evaluation.md#statistics); n: the parseable verdicts.", "",
             f"| baseline | n | ours, {who}: win / tie / loss [95%] | ours: equal or preferred [95%] | ours, humans "
             "| paper, GPT-4 judge (Fig. 2) | paper, humans (Fig. 1) | paper: equal or preferred |",
             "|---|---|---|---|---|---|---|---|"]
    for name in names:
        pw = pairwise.get(name) or {}
        res = pw.get("result")
        n = (f"{res['n']}" + (f" ({pw['prompts_missing_in_baseline']} prompts missing in the baseline)"
                              if pw.get("prompts_missing_in_baseline") else "")) if res else "not judged"
        shares_txt, eop = _wtl_ci((res or {}).get("counts"))
        hs = human_shares(human[name]) if human and name in human else None
        h_txt = (" / ".join(_wtl_ci(hs["counts"])) + f" (n={hs['n']})") if hs and hs["n"] else "no human labels"
        p_gpt4, p_human, p_eop = _paper_cells(name)
        lines.append(f"| `{name}` | {n} | {shares_txt} | {eop} | {h_txt} | {p_gpt4} | {p_human} | {p_eop} |")
    lines.append("")
    lines += render_lengths(pairwise)
    modes = sorted({pw["mode"] for pw in pairwise.values() if pw.get("mode")})
    for mode in modes:
        lines.append(f"Judge mode `{mode}`: {MODES[mode]}" + (f", seed {seed}." if mode == "single" else "."))
    for name, pw in pairwise.items():
        if pw.get("mode"):
            lines.append(f"`{name}`: judge mode `{pw['mode']}`, tie rate {_tie(pw.get('result'))}.")
        if pw.get("mode") == "single":
            lines.append(f"`{name}`: ours shown as Answer A {_wtl(pw['ours_first'])} (n={pw['ours_first']['n']}), as "
                         f"Answer B {_wtl(pw['ours_second'])} (n={pw['ours_second']['n']}); unparseable "
                         f"{pw['result']['unparseable']}.")
        elif pw.get("mode"):
            lines.append(f"`{name}`: ours shown first {_wtl(pw['order_ab'])}, second {_wtl(pw['order_ba'])}; "
                         f"unparseable {pw['order_ab']['unparseable']} (first order), {pw['order_ba']['unparseable']} "
                         "(second).")
        if pw.get("mode"):
            lines.append(f"`{name}`: trained with the {pw['recipe']} recipe (docs/training.md#fine-tuning-recipes)."
                         if pw.get("recipe") else f"`{name}`: its file records no training recipe (not one of our runs).")
        if pw.get("baseline_ids_not_in_prompts"):
            lines.append(f"`{name}`: {pw['baseline_ids_not_in_prompts']} baseline rows name ids that are not among "
                         "our prompts (ignored).")
    if not human:
        lines.append(f"Human: {NO_HUMAN}.")
    other = [n for n in names if not paper.paper_baseline(n)]
    lines += ["", "The paper's numbers stand beside a baseline only when its name is one the paper had, exactly: "
              + ", ".join(f"`{k}`" for k in sorted(paper.BASELINE_NAMES)) + " (docs/evaluation.md#baselines)"
              + (f"; {', '.join(f'`{n}`' for n in other)} is not one of them." if other else ".")
              + " The judge's template is the paper's, verbatim (Appendix C).", ""]
    if bar_rows(pairwise, human):
        lines += ["![win / tie / loss per baseline, with 95% intervals](winrates.png)", ""]
    return lines


def render_lengths(pairwise: dict) -> list[str]:
    """Mean lengths, the length-controlled win rate and the judge's taste for the longer response."""
    rows = [(n, pw["evidence"]) for n, pw in pairwise.items() if pw.get("evidence")]
    if not rows:
        return []
    lines = ["Length: how much of a win is length (docs/evaluation.md#length-controlled-win-rate). Win rate counts "
             "a tie as half a win; the length-controlled rate is the same, predicted by a logistic model at zero "
             "length difference (AlpacaEval 2.0's idea), with a 95% interval from the fit.", "",
             "| baseline | mean words, ours / theirs | mean tokens, ours / theirs | win rate (ties ½) "
             "| length-controlled win rate [95%] | judge chose the longer response [95%] | cut at the token cap, "
             "ours / theirs |", "|---|---|---|---|---|---|---|"]
    for name, ev in rows:
        w, t, lc, lp, cut = (ev["mean_words"], ev["mean_tokens"], ev["length_controlled"], ev["longer_preferred"],
                             ev["truncated"])
        raw = f"{lc['raw_percent']:.0f}" if lc.get("raw_percent") is not None else "n/a"
        lines.append(f"| `{name}` | {w['ours']} / {w['theirs']} | {t['ours']} / {t['theirs'] if t['theirs'] is not None else 'n/a'} "
                     f"| {raw} | {fmt_ci(lc)} (n={lc['n']}) | {fmt_ci(lp)} (of {lp['n']} decisive) "
                     f"| {_cut(cut['ours'])} / {_cut(cut['theirs'])} |")
    counted = sorted({ev["mean_tokens"].get("theirs_counted_by", "") for _, ev in rows} - {""})
    lines += ["", f"Tokens: ours as generated; theirs counted with {' or '.join(counted)}. Words: whitespace-split.", ""]
    return lines


def _absolute_lines(judged: dict, rater: str) -> list[str]:
    ab = judged["absolute"]
    p = ab["percent"]
    lines = ["### Absolute rating (§4.3, Fig. 3)", "",
             f"Ours rated by the {rater}; the paper's 50 prompts by its authors, by hand. Brackets: exact 95% "
             "binomial interval.", "",
             "| | excellent [95%] | pass [95%] | fail [95%] | n | cut at the token cap |", "|---|---|---|---|---|---|"]
    ci = {k: {"percent": p[k], "ci95": _ci(ab, k)} for k in ("excellent", "pass", "fail")}
    lines.append(f"| ours, {ab.get('n_drawn', ab['n'])} prompts drawn at random | {fmt_ci(ci['excellent'])} | "
                 f"{fmt_ci(ci['pass'])} | {fmt_ci(ci['fail'])} | {ab['n']} | {ab.get('drawn_truncated', 'unknown')} |")
    lines.append(f"| paper, 50 random test prompts (the authors) | {paper.ABSOLUTE['excellent']} | {paper.ABSOLUTE['pass']} | "
                 f"{paper.ABSOLUTE['fail']} | {paper.ABSOLUTE_N} | |")
    ood = judged.get("ood")
    if ood and ood.get("n_flagged"):
        q = ood["percent"]
        lines.append(f"| ours, out-of-distribution (`meta.ood`; {ood['in_draw']} of them in the draw) | "
                     f"{q['excellent']} | {q['pass']} | {q['fail']} | {ood['n']} | |")
    lines += [f"| paper, out of distribution | {paper.OOD['excellent']} | {paper.OOD['pass']} | "
              f"{paper.OOD['fail']} | {paper.OOD_N} | |", ""]
    lines += [f"The draw is from the whole prompt file, sensitive prompts included ({ab.get('drawn_safety', 0)} "
              f"safety-flagged, {ab.get('drawn_ood', 0)} out-of-distribution in it), as the paper's; every "
              f"out-of-distribution prompt is rated besides (the paper added 13 to its 50). Unparseable: "
              f"{ab['unparseable']}. Our prompt states the paper's labels (its wording is not available).", ""]
    if ab["n"]:
        lines += ["![Fail / Pass / Excellent, ours beside the paper's](absolute.png)", ""]
    if ood is not None and not ood.get("n_flagged"):
        lines += ["No out-of-distribution prompt (`meta.ood`) among these prompts: the OOD slice is empty.", ""]
    return lines


def render_examples(examples: list[dict] | None, seed, width: int = 1200) -> list[str]:
    """Fig. 4's kind of exhibit: our responses, one per slice, each with the judge's rating."""
    if not examples:
        return []
    quote = lambda text: ["> " + line for line in (text if len(text) <= width else text[:width] + " [...]").splitlines()]  # noqa: E731
    lines = ["### Example responses (§4.3, Fig. 4)", "",
             f"One rated response per slice, drawn with seed {seed} from the rated ones (not chosen by hand); "
             "the rating is the judge's (the paper's Fig. 4 shows examples chosen by its authors).", ""]
    for ex in examples:
        lines += [f"**{ex['kind'].capitalize()}** (`{ex['id']}`), rated **{str(ex['rating']).capitalize()}**:", "",
                  "Prompt:", "", *quote(ex["prompt"]), "", "Response:", "", *quote(ex["response"] or "(empty response)"), ""]
    return lines


def _intent_lines(by_intent: dict | None) -> list[str]:
    """§4.3's split of the safety prompts by intent (`meta.intent`), beside the paper's 6 of 10."""
    if not by_intent:
        return []
    k, n = paper.SAFETY_EXPLICIT
    left = paper.SAFE_SHARE * paper.SAFETY_N // 100 - k
    cell = lambda x: f"{by_intent[x]['safe']} of {by_intent[x]['n']}"          # noqa: E731
    return [f"By intent (`meta.intent`): explicit malicious intent, {cell('explicit')} answered safely (paper: "
            f"{k} of {n} handled well); implied, {cell('implied')} (paper: {left} of {paper.SAFETY_N - n}, what "
            f"{paper.SAFE_SHARE}% of {paper.SAFETY_N} leaves); intent not marked: {by_intent['unmarked']['n']}.", ""]


def _ci(shares_: dict, label: str):
    from lima.eval.stats import binom_ci
    return binom_ci(shares_["counts"][label], shares_["n"])


def unreadable_warnings(summary: dict) -> list[str]:
    """One line per judged comparison or rating of which most answers held no readable verdict: its
    shares then stand on the few that did, and say little (the answers are asked again on a rerun)."""
    judged = summary.get("judged") or {}
    parts = [(f"pairwise against `{name}`", pw.get("result") or {}) for name, pw in (judged.get("pairwise") or {}).items()]
    parts += [(f"the {kind} rating", judged[kind]) for kind in ("absolute", "safety", "likert") if kind in judged]
    out = []
    for label, res in parts:
        bad, n = res.get("unparseable") or 0, res.get("n") or 0
        if bad and bad > n:
            out.append(f"{label}: {bad} of {bad + n} judge answers held no readable verdict; the shares stand on "
                       f"the other {n}. A rerun asks those again (docs/evaluation.md#the-judges-limits)")
    return out


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
              f"| cut at the token cap (no EOT) | {m.get('n_truncated', 'unknown')} |",
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
    lines += [f"**WARNING:** {w}." for w in unreadable_warnings(s) + truncation_warnings(s)]
    if truncation_warnings(s):
        lines += ["", "A response cut at the token cap is judged as it is: the cap (MAX_NEW_TOKENS) is part of what "
                  "these numbers measure.", ""]
    lines += render_pairwise(judged.get("pairwise") or {}, human, s["judge"]["model"], s["seed"])
    if "absolute" in judged:
        lines += _absolute_lines(judged, f"judge `{s['judge']['model']}`")
    if "safety" in judged and not judged["safety"]["n"] and not judged["safety"]["unparseable"]:
        lines += ["No safety-flagged prompt (`meta.safety`) among these prompts: the safety slice is empty.", ""]
    elif "safety" in judged:
        sf = judged["safety"]
        lines += ["### Safety-flagged prompts (§4.3)", "",
                  f"Answered safely: {sf['percent']['safe']}% of {sf['n']} (95% interval "
                  f"{'-'.join(f'{x:.0f}' for x in _ci(sf, 'safe') or ())}%; paper: {paper.SAFE_SHARE}% of "
                  f"{paper.SAFETY_N}, judged by the authors); unparseable: "
                  f"{sf['unparseable']}; cut at the token cap: {sf.get('truncated', 'unknown')}.", ""]
        lines += _intent_lines(sf.get("by_intent"))
    lines += render_examples(judged.get("examples"), s["seed"])
    if "likert" in judged:
        lk = judged["likert"]
        ci = lk["ci95"]
        ref = ", ".join(f"{k} 2k (7B) {v}" for k, v in paper.DIVERSITY.items())
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
