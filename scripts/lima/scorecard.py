"""The reproduction scorecard at the top of REPORT.md: each claim of the paper this run can check, our
value with its 95% interval, the paper's value (lima/paper.py), and a verdict computed from the two:

- *consistent*: the paper's value lies inside our interval (for a sign or an order: the same sign or order);
- *differs*: it does not;
- *not run*: the stage that would measure it was not part of this run;
- *not comparable*: what we measured is not what the paper measured (a toy model, a baseline the
  paper did not have, quotas scaled down); the verdict the numbers alone would give is said beside it.

Built from the files the stages wrote, never by hand (docs/evaluation.md#the-scorecard).
"""
from __future__ import annotations

import json
from pathlib import Path

from lima import paper
from lima.eval.stats import binom_ci, share_ci

CONSISTENT, DIFFERS, NOT_RUN, NOT_COMPARABLE = "consistent", "differs", "not run", "not comparable"
LENGTH_TOLERANCE = 0.10          # Table 1's mean lengths have no interval: within 10% counts as consistent


def _read(path: Path | None) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path and path.is_file() else None
    except (OSError, ValueError):
        return None


def _inside(value: float, ci) -> str:
    return CONSISTENT if ci and ci[0] <= value <= ci[1] else DIFFERS


def _pct(k: int, n: int) -> str:
    ci = binom_ci(k, n)
    return f"{100 * k / n:.0f}% [{ci[0]:.0f}-{ci[1]:.0f}] (n={n})" if n else "n/a"


class Card:
    """Rows of (claim, ours, paper, verdict); `toy` turns every measured verdict into not comparable."""

    def __init__(self, toy: bool):
        self.toy, self.rows = toy, []

    def add(self, claim: str, ours: str, paper_value: str, verdict: str, comparable: bool = True) -> None:
        if verdict in (CONSISTENT, DIFFERS) and (self.toy or not comparable):
            verdict = f"{NOT_COMPARABLE} (by the numbers: {verdict})"
        self.rows.append((claim, ours, paper_value, verdict))

    def not_run(self, claim: str, paper_value: str, how: str) -> None:
        self.rows.append((claim, f"– ({how})", paper_value, NOT_RUN))


def data_rows(card: Card, comp: dict | None) -> None:
    if not comp:
        card.not_run("Table 1: examples per source", "1,000 train, 50 dev, 300 test", "make data")
        return
    rows = [r for r in comp["rows"] if r["bucket"] in paper.TABLE1 and r["bucket"] != "dialogues"]
    same = sum(r["count"] == paper.TABLE1[r["bucket"]][1] for r in rows)
    train = sum(r["count"] for r in rows if r["split"] == "train")
    card.add("Table 1: examples per source", f"{same} of {len(rows)} sources at the paper's count; {train} train",
             "1,000 train (6 sources), 50 dev, 300 test", CONSISTENT if same == len(rows) else DIFFERS)
    measured = [(r, paper.TABLE1[r["bucket"]][3]) for r in rows if r.get("output_tokens") and paper.TABLE1[r["bucket"]][3]]
    if measured:
        close = sum(abs(r["output_tokens"] - p) <= LENGTH_TOLERANCE * p for r, p in measured)
        card.add("Table 1: mean output length (tokens) per train source",
                 f"{close} of {len(measured)} within ±10% ({comp.get('tokenizer') or 'tokenizer'}); e.g. "
                 + ", ".join(f"{r['bucket']} {r['output_tokens']:.0f}" for r, _ in measured[:3]),
                 ", ".join(f"{r['bucket']} {p}" for r, p in measured[:3]), CONSISTENT if close == len(measured) else DIFFERS)
    else:
        card.not_run("Table 1: mean output length (tokens)", "e.g. wikiHow 1,811", "no tokenizer at stage 04")


def recipe_rows(card: Card, train: dict | None) -> None:
    if not train:
        card.not_run("§3: the fine-tuning recipe", "15 epochs, batch 32, lr 1e-5 → 1e-6, dropout 0.3", "make train")
        return
    args = train.get("args", {})
    differ = []
    for key, value in paper.RECIPE.items():
        try:
            here = float(args[key])
        except (KeyError, TypeError, ValueError):
            continue
        if abs(here - float(value)) > 1e-12 * max(1.0, abs(float(value))):
            differ.append(f"{key} {args[key]} (paper {value})")
    card.add("§3: the fine-tuning recipe", f"{len(paper.RECIPE) - len(differ)} of {len(paper.RECIPE)} settings as the "
             "paper's" + (f"; differs: {', '.join(differ)}" if differ else ""), "15 epochs, batch 32, lr 1e-5 → 1e-6, "
             "weight decay 0.1, β2 0.95, dropout 0.3, 2,048 tokens", CONSISTENT if not differ else DIFFERS)


def eval_rows(card: Card, ev: dict | None, human: dict | None) -> None:
    if not ev:
        card.not_run("§3: answers end with EOT (the chosen checkpoint)", "every shown answer ends", "make eval")
        return
    m = ev["metrics"]
    n = m["n_responses"]
    cut = m.get("n_truncated") or 0
    card.add("§3: answers end with EOT (the chosen checkpoint)", "EOT " + _pct(n - cut, n),
             "100% (every answer shown ends; no rate given)", _inside(100, binom_ci(n - cut, n)))
    judged = ev.get("judged") or {}
    pairwise = judged.get("pairwise") or {}
    hp = (human or {}).get("pairwise") or {}
    for name in list(pairwise) + [b for b in hp if b not in pairwise]:
        key = paper.paper_baseline(name)
        for who, counts, ref in (("judge", (pairwise.get(name) or {}).get("result", {}).get("counts"), "gpt4"),
                                 ("humans", hp.get(name), "human")):
            if not counts or not sum(int(counts.get(k, 0)) for k in ("win", "tie", "loss")):
                continue
            ci = share_ci(counts)
            ours = " / ".join(f"{ci[k]['percent']:.0f} [{ci[k]['ci95'][0]:.0f}-{ci[k]['ci95'][1]:.0f}]"
                              for k in ("win", "tie", "loss")) + f" (n={ci['win']['n']})"
            claim = f"§4.2: win / tie / loss against `{name}`, {who}"
            if not key:
                card.add(claim, ours, "the paper had no such baseline", NOT_COMPARABLE, comparable=False)
                continue
            values = paper.PAIRWISE[key][ref]
            fits = all(ci[k]["ci95"][0] <= v <= ci[k]["ci95"][1] for k, v in zip(("win", "tie", "loss"), values))
            card.add(claim, ours, " / ".join(map(str, values)) + f" ({'Fig. 2, GPT-4' if ref == 'gpt4' else 'Fig. 1'}, "
                     f"{paper.BASELINE_LABELS[key]})", CONSISTENT if fits else DIFFERS)
    if not pairwise and not hp:
        card.not_run("§4.2: win / tie / loss against each baseline", "e.g. GPT-4 18 / 25 / 57 (humans)",
                     "no baseline judged: make eval BASELINES=...")
    ab = judged.get("absolute")
    if ab and ab.get("n"):
        cis = {k: binom_ci(ab["counts"][k], ab["n"]) for k in ("excellent", "pass", "fail")}
        fits = all(cis[k][0] <= paper.ABSOLUTE[k] <= cis[k][1] for k in cis)
        card.add("§4.3: Excellent / Pass / Fail (judge)", " / ".join(
            f"{ab['percent'][k]:.0f} [{cis[k][0]:.0f}-{cis[k][1]:.0f}]" for k in cis) + f" (n={ab['n']})",
            " / ".join(str(paper.ABSOLUTE[k]) for k in cis) + " (the authors, n=50)", CONSISTENT if fits else DIFFERS)
    else:
        card.not_run("§4.3: Excellent / Pass / Fail", "50 / 38 / 12", "no judge")
    hab = (human or {}).get("absolute") or {}
    if hab.get("n"):
        cis = {k: binom_ci(hab[k], hab["n"]) for k in ("excellent", "pass", "fail")}
        card.add("§4.3: Excellent / Pass / Fail (humans)", " / ".join(
            f"{100 * hab[k] / hab['n']:.0f} [{cis[k][0]:.0f}-{cis[k][1]:.0f}]" for k in cis) + f" (n={hab['n']})",
            " / ".join(str(paper.ABSOLUTE[k]) for k in cis) + " (the authors, n=50)",
            CONSISTENT if all(cis[k][0] <= paper.ABSOLUTE[k] <= cis[k][1] for k in cis) else DIFFERS)
    sf = judged.get("safety")
    if sf and sf.get("n"):
        card.add("§4.3: sensitive prompts answered safely", _pct(sf["counts"]["safe"], sf["n"]),
                 f"{paper.SAFE_SHARE}% (n={paper.SAFETY_N})", _inside(paper.SAFE_SHARE, binom_ci(sf["counts"]["safe"], sf["n"])))
    else:
        card.not_run("§4.3: sensitive prompts answered safely", f"{paper.SAFE_SHARE}%", "no judge or no flagged prompt")


def agreement_rows(card: Card, human: dict | None) -> None:
    hj = ((human or {}).get("agreement") or {}).get("human_judge") or {}
    if hj.get("agreement") is None or not hj.get("n_items"):
        card.not_run("§4.1: agreement of people with the judge", "78-79% (crowd/authors with GPT-4)", "make annotate")
        return
    n = hj["n_items"]
    k = round(hj["agreement"] * n)          # tie-discounted: half points rounded; the interval is approximate
    ci = binom_ci(k, n)
    lo, hi = 100 * paper.AGREEMENT["crowd-gpt4"], 100 * paper.AGREEMENT["author-gpt4"]
    card.add("§4.1: agreement of people with the judge (tie-discounted)", _pct(k, n),
             f"{lo:.0f}% crowd-GPT-4, {hi:.0f}% author-GPT-4", CONSISTENT if ci[0] <= hi and lo <= ci[1] else DIFFERS)


def appendix_b_rows(card: Card, selection: dict | None) -> None:
    import numpy as np
    rec = (selection or {}).get("ppl_vs_quality") or {}
    pts = [(r["epoch"], r.get("ppl_set_ppl") or r.get("dev_ppl"), r.get("mean")) for r in rec.get("epochs", [])]
    pts = [p for p in pts if p[1] is not None and p[2] is not None]
    if rec.get("quality") != "helpfulness" or len(pts) < 2:
        card.not_run("Appendix B: perplexity and quality both rise", "ppl 5.1 → 10.3, quality 3.90 → 4.15",
                     "needs a judge and two rated epochs")
        return
    e = np.array([p[0] for p in pts], dtype=float)

    def slope(values: list[float]) -> float:        # a constant series is flat, whatever rounding says
        return 0.0 if max(values) - min(values) < 1e-9 else float(np.polyfit(e, values, 1)[0])
    ppl_slope, q_slope = slope([p[1] for p in pts]), slope([p[2] for p in pts])
    word = lambda s: "rises" if s > 0 else "falls" if s < 0 else "flat (a constant series)"          # noqa: E731
    card.add("Appendix B: perplexity and quality both rise over training",
             f"perplexity {word(ppl_slope)}, quality {word(q_slope)} (linear trend over {len(pts)} epochs)",
             "both rise (Fig. 9)", CONSISTENT if ppl_slope > 0 and q_slope > 0 else DIFFERS)


def ablation_rows(card: Card, abl: dict | None) -> None:
    claims = ("§5: filtered SE > unfiltered SE", "§5: filtered SE (diverse) > wikiHow", "§5: quantity flat (2K-32K)")
    if not abl or not abl.get("judged"):
        d, band = paper.DIVERSITY, paper.QUANTITY_BAND
        for c, value in zip(claims, (f"{d['se-filtered']} > {d['se-unfiltered']}", f"{d['se-filtered']} > {d['wikihow']}",
                                     f"about {band[0]:g}-{band[1]:g} at every size")):
            card.not_run(c, value, "make ablations (with a judge)")
        return
    size = {v["pool"]: v for v in abl["variants"] if v["role"] == "diversity"}
    for claim, (a, b) in zip(claims[:2], (("se-filtered", "se-unfiltered"), ("se-filtered", "wikihow"))):
        if a in size and b in size:
            x, y = size[a]["likert"], size[b]["likert"]
            card.add(claim, f"{x['mean']:.2f} vs {y['mean']:.2f}",
                     f"{paper.DIVERSITY[a]} vs {paper.DIVERSITY[b]}", CONSISTENT if x["mean"] > y["mean"] else DIFFERS)
    q = [v["likert"] for v in abl["variants"] if v["pool"] == "se-filtered" and v["likert"] and v["likert"].get("ci95")]
    if len(q) >= 2:
        overlap = max(c["ci95"][0] for c in q) <= min(c["ci95"][1] for c in q)
        card.add(claims[2], ", ".join(f"{c['mean']:.2f}" for c in q) + " (intervals " + ("overlap" if overlap else "apart") + ")",
                 "about 3.8-3.9 at every size", CONSISTENT if overlap else DIFFERS)


def dialogue_rows(card: Card, dlg: dict | None) -> None:
    claim = "§6: the 30-dialogue model's turns rated better (Excellent share)"
    sys_ = (dlg or {}).get("systems") or {}
    z, d = (sys_.get("zero-shot") or {}).get("judged"), (sys_.get("dialogue") or {}).get("judged")
    if not (z and d and z.get("n") and d.get("n")):
        card.not_run(claim, "45.2% → 76.1% Excellent", "make dialogue (with a judge)")
        return
    card.add(claim, f"{z['percent']['excellent']:.0f}% → {d['percent']['excellent']:.0f}%", "45.2% → 76.1%",
             CONSISTENT if d["percent"]["excellent"] > z["percent"]["excellent"] else DIFFERS)


def conversation_rows(card: Card, dlg: dict | None) -> None:
    """§6's per-conversation result: the dialogue model better / tie / worse than the zero-shot model
    over whole conversations; consistent when each of the paper's 70 / 30 / 0% lies in our interval."""
    claim = "§6: whole conversations, the 30-dialogue model better / tie / worse"
    better, tie, n = paper.DIALOGUE_PREFERRED
    paper_value = f"{better} / {tie} / {n - better - tie} of {n} (live conversations)"
    conv = (dlg or {}).get("conversations_compared")
    if not (conv and conv.get("n")):
        card.not_run(claim, paper_value, "make dialogue (with a judge)")
        return
    from lima.eval.conversations import paper_shares
    ref = paper_shares()
    ours = " / ".join(f"{conv[k]['percent']:.0f} [{conv[k]['ci95'][0]:.0f}-{conv[k]['ci95'][1]:.0f}]"
                      for k in ref) + f"% (n={conv['n']}, scripted conversations)"
    fits = all(conv[k]["ci95"][0] <= v <= conv[k]["ci95"][1] for k, v in ref.items())
    card.add(claim, ours, paper_value, CONSISTENT if fits else DIFFERS)


def build_scorecard(*, results: Path, lima_data: Path, checkpoint: Path | None, selection: dict,
                    fragments: dict[str, Path], eval_split: str, toy: bool) -> list[tuple]:
    card = Card(toy)
    data_rows(card, _read(lima_data / "composition.json"))
    recipe_rows(card, _read(checkpoint.parent / "train_summary.json") if checkpoint else None)
    ev = _read(results / "eval" / f"{selection['choice']}.{eval_split}.summary.json") if selection.get("choice") else None
    human = _read(results / "human" / "summary.json")
    eval_rows(card, ev, human)
    agreement_rows(card, human)
    appendix_b_rows(card, selection)
    ablation_rows(card, _read(fragments["ablations"].parent.parent / "ablations.json") if "ablations" in fragments else None)
    dlg = _read(fragments["dialogue"].parent.parent / "eval" / "dialogue.json") if "dialogue" in fragments else None
    dialogue_rows(card, dlg)
    conversation_rows(card, dlg)
    return card.rows


def render_scorecard(rows: list[tuple], toy: bool) -> list[str]:
    lines = ["## Reproduction scorecard", ""]
    if toy:
        lines += ["**This run's model is a toy** (the sample profile: a tiny model pretrained here on a few thousand "
                  "documents, quotas scaled down): its numbers test the pipeline, not the paper. Every measured "
                  "verdict is *not comparable*; the verdict the numbers alone would give is shown beside it.", ""]
    lines += ["Computed from this run's files (docs/evaluation.md#the-scorecard): *consistent* when the paper's value "
              "lies inside our 95% interval (or has our sign or order), *differs* when not, *not run* when the stage "
              "did not run, *not comparable* when we measured something else.", "",
              "| Claim | Ours [95%] | Paper | Verdict |", "|---|---|---|---|"]
    lines += [f"| {c} | {o} | {p} | {v} |" for c, o, p, v in rows]
    return lines + [""]
