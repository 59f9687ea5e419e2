"""The paper's numbers live in one place (lima/paper.py): docs/paper.md states the same values, and the
report prints them from there; the paper's bars stand beside a baseline only for an exact documented name.

Run: .venv/bin/python -m pytest -q tests/test_paper.py
"""
import re

from conftest import ROOT
from lima import paper
from lima.eval.preference.plots import bar_rows
from lima.eval.preference.report import render_pairwise
from lima.eval.stats import share_ci

DOC = (ROOT / "docs" / "paper.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    start = DOC.index(title)
    nxt = re.search(r"\n#{2,3} ", DOC[start + len(title):])
    return DOC[start:start + len(title) + (nxt.start() if nxt else len(DOC))]


def test_table1_in_the_docs_is_the_codes():
    rows = {}
    for line in section("## Composition").splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 5 and cells[2].replace(",", "").isdigit():
            rows[(cells[0], cells[1])] = cells[2:]
    fmt = lambda v: "N/A" if v is None else f"{v:,}"          # noqa: E731
    expect = {"se-stem": ("Train", "Stack Exchange (STEM)"), "se-other": ("Train", "Stack Exchange (Other)"),
              "wikihow": ("Train", "wikiHow"), "writingprompts": ("Train", "Pushshift r/WritingPrompts"),
              "nlp": ("Train", "Natural Instructions (Super-NI)"), "authors": ("Train", "Paper authors, Group A"),
              "dev": ("Dev", "Paper authors, Group A"), "askreddit": ("Test", "Pushshift r/AskReddit"),
              "test-authors": ("Test", "Paper authors, Group B")}
    for bucket, key in expect.items():
        _, n, mean_in, mean_out = paper.TABLE1[bucket]
        assert rows[key] == [fmt(n), fmt(mean_in), fmt(mean_out)], bucket
    assert (paper.TABLE1["dev"][2], paper.TABLE1["askreddit"][2], paper.TABLE1["test-authors"][2]) == (36, 30, 31)


def test_figures_1_and_2_the_abstract_and_section_4_3_in_the_docs_are_the_codes():
    results = section("### Results")
    names = {"alpaca-65b": "Alpaca 65B", "davinci003": "DaVinci003", "bard": "Bard", "claude": "Claude", "gpt-4": "GPT-4"}
    for key, label in names.items():
        human, gpt4 = (" / ".join(map(str, paper.PAIRWISE[key][w])) for w in ("human", "gpt4"))
        assert f"| {label} | {human} | {gpt4} |" in results, key
    assert "43% of cases against GPT-4, 58% against Bard and 65% against\nDaVinci003 (the abstract)" in results
    assert "46% against Claude (§4.2; Fig. 1: 24 + 22)" in results
    assert {k: v[0] for k, v in paper.EQUAL_OR_PREFERRED.items()} == {"gpt-4": 43, "claude": 46, "bard": 58, "davinci003": 65}
    assert paper.EQUAL_OR_PREFERRED["claude"][0] == sum(paper.PAIRWISE["claude"]["human"][:2])
    assert "one source" not in results
    absolute = section("### Absolute rating and safety")
    a, o = paper.ABSOLUTE, paper.OOD
    assert f"{a['excellent']}% Excellent, {a['pass']}% Pass, {a['fail']}% Fail" in absolute
    assert f"{paper.OOD_N} in all: {o['excellent']}% Excellent, {o['pass']}% Pass, {o['fail']}% Fail" in absolute
    assert f"of {paper.SAFETY_N} sensitive test prompts, {paper.SAFE_SHARE}% are answered safely" in absolute
    assert "{} of the {} with explicitly\n  malicious intent".format(*paper.SAFETY_EXPLICIT) in absolute
    agreement = section("### Agreement")
    for pair, value in paper.AGREEMENT.items():
        assert f"{value:.0%}" in agreement, pair


def test_appendix_b_the_recipe_the_ablations_and_dialogue_in_the_docs_are_the_codes():
    training = " ".join(section("## Training").split())          # the prose wraps lines
    f = paper.FIG9
    assert ", ".join(f"{v:g}" for v in f["ppl"]) in training
    assert ", ".join(f"{v:.2f}" for v in f["quality"][:6]) in training and "(the peak, at step 360), 4.10" in training
    assert f"steps {f['steps'][0]} to {f['steps'][-1]}" in training and "One point per 60 training steps" in training
    r = paper.RECIPE
    assert f"| Epochs | {r['epochs']} |" in training and f"| Batch | {r['batch_size']} examples" in training
    assert "1e-5 at the start, linear decay to 1e-6" in training and "rising linearly to 0.3" in training
    abl = section("## Ablations")
    for pool, value in paper.DIVERSITY.items():
        assert f"| {value} |" in abl, pool
    assert "about 3.8–3.9" in abl and paper.QUANTITY_BAND == (3.8, 3.9)
    dialogue = section("## Dialogue")
    for d in paper.DIALOGUE.values():
        assert " | ".join(f"{v}%" for v in d["percent"]) + f" | {d['fails']} |" in dialogue
    better, tie, n = paper.DIALOGUE_PREFERRED
    assert f"clearly better in {better} of {n} and tied in {tie}" in " ".join(dialogue.split())
    assert f"beside {better} / {tie} / {n - better - tie}" in " ".join(dialogue.split())


def test_april_labels_only_for_bard_claude_and_gpt4():
    assert [k for k, v in paper.BASELINE_LABELS.items() if "(April)" in v] == ["bard", "claude", "gpt-4"]
    assert 'only Bard, Claude and GPT-4 "(April)"' in DOC.replace("\n", " ")
    assert "empathy" not in section("### Pairwise judging").replace('no\n"exercise empathy"', "")


def test_the_paper_comparator_is_an_exact_documented_name_only():
    """Defect: `gpt4o-mini` (or any name containing "alpaca", "claude", ...) was shown beside the paper's
    April-2023 numbers."""
    assert paper.paper_baseline("alpaca65b") == "alpaca-65b" and paper.paper_baseline("Alpaca_65B") == "alpaca-65b"
    assert paper.paper_baseline("gpt-4") == "gpt-4" and paper.paper_baseline("text-davinci-003") == "davinci003"
    from lima.eval.preference.report import paper_baseline          # the name the report and the human study use
    for other in ("gpt4o-mini", "gpt-4o", "claude-3-opus", "my-alpaca", "bard-2", "davinci002"):
        assert paper_baseline(other) is None, other
    res = {"n": 4, "counts": {"win": 2, "tie": 1, "loss": 1}, "percent": {"win": 50.0, "tie": 25.0, "loss": 25.0},
           "unparseable": 0}
    pairwise = {"gpt4o-mini": {"result": res, "mode": "single", "ours_first": res, "ours_second": res},
                "alpaca65b": {"result": res, "mode": "single", "ours_first": res, "ours_second": res}}
    labels = [b[1] for b in bar_rows(pairwise, None)]
    assert not any("paper" in label for label in labels[:1]) and labels[1].startswith("ours vs alpaca65b")
    assert labels[2:] == ["paper: LIMA vs Alpaca 65B, GPT-4 (n=300)", "paper: LIMA vs Alpaca 65B, humans (n=300)"]
    text = "\n".join(render_pairwise(pairwise, None, "j", 0))
    row = next(line for line in text.splitlines() if line.startswith("| `gpt4o-mini`"))
    assert "not in the paper" in row and "19 / 15 / 66" not in row and "18 / 25 / 57" not in row
    alpaca = next(line for line in text.splitlines() if line.startswith("| `alpaca65b`"))
    assert " / ".join(map(str, paper.PAIRWISE["alpaca-65b"]["gpt4"])) in alpaca
    assert " / ".join(map(str, paper.PAIRWISE["alpaca-65b"]["human"])) in alpaca


def test_shares_carry_exact_intervals_and_n():
    ci = share_ci({"win": 5, "tie": 3, "loss": 2})
    assert ci["win"]["n"] == 10 and ci["equal_or_preferred"]["k"] == 8
    assert ci["win"]["ci95"] == (18.7, 81.3)                          # Clopper-Pearson, 5 of 10
    assert ci["equal_or_preferred"]["ci95"][0] < 80 < ci["equal_or_preferred"]["ci95"][1]
