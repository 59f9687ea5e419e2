"""The study's figures from its labels: win/tie/loss per baseline (Fig. 1), Fail/Pass/Excellent
(§4.3), better/tie/worse of the dialogue model over whole conversations (§6), and tie-discounted
agreement (§4.1: 1, 0.5, 0, on the pairwise items) between annotators and between each annotator and
the judge; `summary.json`, a bars PNG and the report fragment `report/human.md`.

Counting rules (the paper gives none for several labels per item):
- the label that counts for one annotator and one item is their last one (lima.eval.annotate.labels);
- an item labelled by several annotators counts once: the majority verdict, a tie when there is none
  (for ratings: the lower median); agreement is measured on those same items before this merge;
- a label row that cannot count is skipped and counted by reason: unknown item, stale item (its text
  changed since it was labelled), a label outside the item's choices, an annotator name outside the
  safe set, or a torn line.
"""
from __future__ import annotations

import json
from collections import Counter
from itertools import combinations
from pathlib import Path

from lima.errors import StageError
from lima.eval.preference.agreement import PAPER_AGREEMENT, pool, read_judgments, tie_discounted_accuracy
from lima.eval.annotate.labels import LabelStore, latest
from lima.eval.annotate.study import LABELS, check_name, load_study
from lima.io import atomic_write, write_json

VERDICT = {("A", "A"): "win", ("A", "B"): "loss", ("B", "A"): "loss", ("B", "B"): "win"}
WTL = ("win", "tie", "loss")


def our_verdict(label: str, ours: str) -> str:
    """A pairwise label (A, B, neither) as our side's result, given the side ours was shown on."""
    return "tie" if label == "neither" else VERDICT[(label, ours)]


def valid_labels(items: dict[str, dict], rows: list[dict], counts: Counter) -> dict[tuple[str, str], dict]:
    """(annotator, item_id) -> the label that counts; the rest counted by reason in `counts`."""
    good = []
    for r in rows:
        item = items.get(r.get("item_id"))
        if check_name(r.get("annotator")):
            counts["bad_annotator"] += 1
        elif item is None:
            counts["unknown_item"] += 1
        elif r.get("digest") not in (None, item["digest"]):
            counts["stale_label"] += 1
        elif r.get("label") not in LABELS[item["kind"]]:
            counts["bad_label"] += 1
        else:
            good.append(r)
    return latest(good)


def merge(values: list[str], order: tuple[str, ...]) -> str:
    """One outcome for an item from several annotators' values (see the module docstring)."""
    if order == WTL:
        top = Counter(values).most_common()
        return top[0][0] if len(top) == 1 or top[0][1] > top[1][1] else "tie"
    ranked = sorted(values, key=order.index)
    return ranked[(len(ranked) - 1) // 2]


def summarise(study_dir: Path, eval_dir: Path | None) -> dict:
    study, item_list = load_study(study_dir)
    items = {it["item_id"]: it for it in item_list}
    counts: Counter = Counter()
    rows = LabelStore(Path(study_dir) / "labels.jsonl").read(counts)
    final = valid_labels(items, rows, counts)

    per_item: dict[str, dict[str, str]] = {}          # item_id -> annotator -> value (our side)
    for (who, iid), r in final.items():
        it = items[iid]
        value = r["label"] if it["kind"] == "absolute" else our_verdict(r["label"], it["ours"])
        per_item.setdefault(iid, {})[who] = value
    pairwise = {b: dict.fromkeys((*WTL, "n"), 0) for b in study["baselines"]}
    absolute = dict.fromkeys((*LABELS["absolute"], "n"), 0)
    conversation = dict.fromkeys((*WTL, "n"), 0)           # the dialogue model's side (§6)
    for iid, by in per_item.items():
        it = items[iid]
        if it["kind"] != "absolute":
            into = pairwise[it["baseline"]] if it["kind"] == "pairwise" else conversation
            into[merge(list(by.values()), WTL)] += 1
            into["n"] += 1
        else:
            absolute[merge(list(by.values()), LABELS["absolute"])] += 1
            absolute["n"] += 1

    annotators = sorted({who for who, _ in final} | set(study.get("annotators") or []))
    verdicts = {who: {iid: v for iid, v in ((i, by.get(who)) for i, by in per_item.items())
                      if v is not None and items[iid]["kind"] == "pairwise"} for who in annotators}
    pairs = {f"{a}~{b}": tie_discounted_accuracy(verdicts[a], verdicts[b]) for a, b in combinations(annotators, 2)}
    pairs = {k: v for k, v in pairs.items() if v["n_items"]}
    human_human = {**pool(list(pairs.values())), "pairs": pairs}
    human_judge = judge_agreement(study, items, verdicts, eval_dir)

    return {
        "pairwise": pairwise,
        "absolute": absolute,
        "conversation": conversation,
        "agreement": {"human_human": human_human, "human_judge": human_judge, "paper": PAPER_AGREEMENT,
                      "scoring": "tie-discounted accuracy (§4.1): 1 when both agree, 0.5 when exactly one chose "
                                 "a tie (neither), 0 otherwise"},
        "annotators": [{"name": who, "labels": sum(1 for w, _ in final if w == who),
                        "pairwise": len(verdicts[who]),
                        "shared": sum(1 for iid in verdicts[who] if items[iid]["shared"])} for who in annotators],
        "study": {k: study[k] for k in ("generations", "baselines", "missing", "n_items", "annotators", "seed")},
        "labels": {"rows": len(rows), "counted": len(final), "skipped": dict(sorted(counts.items()))},
    }


def judge_agreement(study: dict, items: dict, verdicts: dict[str, dict], eval_dir: Path | None) -> dict:
    """Each annotator against the judge's verdicts on the same pairs (stage 06's
    eval/<generations>.pairwise-<baseline>.jsonl), pooled over annotators and baselines."""
    files, skipped, per = {}, Counter(), {}
    for b in study["baselines"]:
        path = Path(eval_dir) / f"{study['generation_name']}.pairwise-{b}.jsonl" if eval_dir else None
        if path is None or not path.is_file():
            files[b] = None
            continue
        try:
            judge = read_judgments(path, "verdict", skipped)
        except StageError:
            files[b] = None
            continue
        files[b] = path.as_posix()
        for who, mine in verdicts.items():
            human = {(items[iid]["id"], items[iid]["sample_idx"]): v for iid, v in mine.items()
                     if items[iid]["baseline"] == b}
            res = tie_discounted_accuracy(human, judge)
            if res["n_items"]:
                per[(who, b)] = res
    by_annotator = {who: pool([r for (w, _), r in per.items() if w == who]) for who in sorted({w for w, _ in per})}
    by_baseline = {b: pool([r for (_, bb), r in per.items() if bb == b]) for b in sorted({b for _, b in per})}
    return {**pool(list(per.values())), "by_annotator": by_annotator, "by_baseline": by_baseline,
            "judge_files": files, "judge_rows_skipped": dict(skipped)}


# ---- the report fragment -----------------------------------------------------------------------------

def _pct(part: int, n: int) -> str:
    return f"{100 * part / n:.0f}" if n else "n/a"


def _agree(res: dict) -> str:
    return f"{res['agreement']:.0%}" if res.get("agreement") is not None else "n/a"


def render(summary: dict, png: str | None) -> str:
    from lima.eval.preference.report import PAPER_ABSOLUTE, PAPER_PAIRWISE, paper_baseline

    s, ag = summary, summary["agreement"]
    st = s["study"]
    who = ", ".join(f"{a['name']} ({a['labels']})" for a in s["annotators"]) or "none yet"
    lines = ["## Human preference study (§4)", "",
             f"Labels collected with `make annotate` on `{st['generations']}`: {st['n_items']['pairwise']} pairwise "
             f"items against {len(st['baselines'])} baseline(s), {st['n_items']['absolute']} absolute items, "
             + (f"{st['n_items']['conversation']} whole-conversation items (§6), " if st["n_items"].get("conversation") else "")
             + f"{st['n_items']['shared']} pairwise items shared by every annotator for agreement (§4.1: 50). "
             f"Annotators (labels counted): {who}.", ""]
    skipped = s["labels"]["skipped"]
    lines += [f"{s['labels']['counted']} labels counted of {s['labels']['rows']} rows in `labels.jsonl`"
              + (f"; skipped: {', '.join(f'{k} {v}' for k, v in skipped.items())}." if skipped else "."), ""]
    for b, miss in st["missing"].items():
        if miss["ours_without_baseline"]:
            lines += [f"Baseline `{b}` has no response for {miss['ours_without_baseline']} of our prompts: its "
                      "items cover the common ids only.", ""]
    if st["baselines"]:
        lines += ["### Pairwise preference (Fig. 1: win / tie / loss, %, our side)", "",
                  "| baseline | humans, ours | items labelled | paper, humans |", "|---|---|---|---|"]
        for b, c in s["pairwise"].items():
            paper = PAPER_PAIRWISE.get(paper_baseline(b) or "", {}).get("human")
            ours = " / ".join(_pct(c[k], c["n"]) for k in WTL) if c["n"] else "n/a"
            lines.append(f"| {b} | {ours} | {c['n']} | {' / '.join(map(str, paper)) if paper else 'n/a'} |")
        lines += ["", "An item labelled by several annotators counts once (the majority; no majority is a tie).", ""]
        if png:
            lines += [f"![human preference]({png})", ""]
    lines += _render_conversations(s.get("conversation"), st["n_items"].get("conversation"))
    ab = s["absolute"]
    if st["n_items"]["absolute"]:
        lines += ["### Absolute rating (§4.3, humans)", "", "| | excellent | pass | fail | n |", "|---|---|---|---|---|",
                  f"| ours | {_pct(ab['excellent'], ab['n'])} | {_pct(ab['pass'], ab['n'])} | {_pct(ab['fail'], ab['n'])} | {ab['n']} |",
                  f"| paper | {PAPER_ABSOLUTE['excellent']} | {PAPER_ABSOLUTE['pass']} | {PAPER_ABSOLUTE['fail']} | 50 |", ""]
    hh, hj, paper = ag["human_human"], ag["human_judge"], ag["paper"]
    lines += ["### Agreement (§4.1, tie-discounted accuracy: 1 / 0.5 / 0)", "",
              "| between | ours | items | paper |", "|---|---|---|---|",
              f"| annotators (pooled) | {_agree(hh)} | {hh['n_items']} | crowd–crowd {paper['crowd-crowd']:.0%}, "
              f"crowd–author {paper['crowd-author']:.0%}, author–author {paper['author-author']:.0%} |"]
    lines += [f"| {pair.replace('~', ' – ')} | {_agree(r)} | {r['n_items']} | |" for pair, r in hh["pairs"].items()]
    lines.append(f"| annotators – judge (pooled) | {_agree(hj)} | {hj['n_items']} | crowd–GPT-4 "
                 f"{paper['crowd-gpt4']:.0%}, author–GPT-4 {paper['author-gpt4']:.0%} |")
    lines += [f"| {w} – judge | {_agree(r)} | {r['n_items']} | |" for w, r in hj["by_annotator"].items()]
    no_judge = [b for b, f in hj["judge_files"].items() if f is None]
    lines.append("")
    if no_judge:
        lines += [f"No judge results for {', '.join(f'`{b}`' for b in no_judge)} (stage 06 writes "
                  "`eval/<generations>.pairwise-<baseline>.jsonl` when a judge is configured).", ""]
    return "\n".join(lines)


def _render_conversations(conv: dict | None, n_items: int | None) -> list[str]:
    """§6 by people: the dialogue model's whole conversations against the zero-shot model's."""
    if not n_items:
        return []
    from lima import paper
    better, tie, n = paper.DIALOGUE_PREFERRED
    c = conv or dict.fromkeys((*WTL, "n"), 0)
    return ["### Whole conversations (§6, humans: the dialogue model better / tie / worse)", "",
            "| | better | tie | worse | conversations labelled |", "|---|---|---|---|---|",
            f"| ours | {c['win']} | {c['tie']} | {c['loss']} | {c['n']} of {n_items} |",
            f"| paper | {better} | {tie} | {n - better - tie} | {n} (live conversations) |", "",
            "Our user turns are scripted (the same on both sides); the paper's were live.", ""]


def plot_bars(pairwise: dict, out: Path) -> Path | None:
    """Stacked win/tie/loss bars per baseline, ours (humans) above the paper's human row (Fig. 1)."""
    from lima.eval.preference.plots import draw_stacked_bars
    from lima.eval.preference.report import PAPER_PAIRWISE, paper_baseline

    bars = []
    for b, c in pairwise.items():
        if c["n"]:
            bars.append((b, f"ours vs {b} (humans, n={c['n']})", tuple(100 * c[k] / c["n"] for k in WTL)))
            if key := paper_baseline(b):
                bars.append((b, f"paper: LIMA vs {key} (humans)", PAPER_PAIRWISE[key]["human"]))
    return draw_stacked_bars(bars, Path(out), "Human preference (cf. the paper's Figure 1)", "% of items, our side")


def write_outputs(summary: dict, study_dir: Path, report: Path) -> None:
    """summary.json, the bars beside the fragment, then the fragment (Make's target) last.

    summary.json is rewritten only when its content changes: stage 06's report reads it (and is remade
    when it is newer) while this summary reads the judge's verdicts that stage 06 rewrites, so an
    unchanged summary keeping its time is what lets the two settle instead of remaking each other."""
    path = Path(study_dir) / "summary.json"
    try:
        same = json.loads(path.read_text(encoding="utf-8")) == json.loads(json.dumps(summary))
    except (OSError, ValueError):
        same = False
    if not same:
        write_json(path, summary)
    png = plot_bars(summary["pairwise"], Path(report).with_suffix(".png"))
    # REPORT.md lies in the run's folder, one above report/: the link is relative to it.
    link = f"{Path(report).parent.name}/{png.name}" if png else None
    with atomic_write(report) as f:
        f.write(render(summary, link) + "\n")
