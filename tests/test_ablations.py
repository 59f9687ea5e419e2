"""The paper's other experiments (§5, §6, Appendix E): ablation data variants from the pools, one tiny
training shared by every later test, the dialogue evaluation turn by turn, the 1-6 ablation report
and the format ablation, each judged by the stand-in judge server; and the Make plans.

Run: .venv/bin/python -m pytest -q tests/test_ablations.py
One training (a 2-layer tiny base, 2 epochs in-process, seconds) is shared through a module fixture.
"""
import json
import subprocess
from collections import Counter

import pytest
from safetensors.torch import load_file

from conftest import ROOT, run_script
from lima.eval.ablations.draws import describe_set, draw_se, parse_sizes, se_groups, variant_plan
from lima.eval.dialogue import render_history, summarize_labels
from lima.base.tiny import make_tiny_base
from test_eval_judge import StandIn

WORDS = "bread flour water salt tomato balcony sun leaves letter coffee plan market section list".split()
TEXTS = [f"How do I use {WORDS[i % len(WORDS)]}? Use {WORDS[(i * 7) % len(WORDS)]} with care, step {i}." for i in range(200)]


def load_weights(folder):
    """Every tensor of a model folder, one file or shards (stage 05 exports shards with an index)."""
    out = {}
    for f in sorted(folder.glob("model*.safetensors")):
        out.update(load_file(f))
    return out


def write_rows(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def read_rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def pair(source, i, words=12):
    q = f"How do I use {WORDS[i % len(WORDS)]} number {i}?"
    return {"id": f"{source}/{i}", "source": source, "conversations": [q, " ".join(WORDS[:words]) + f" {i}."],
            "meta": {}}


# Stack Exchange pool rows as stage 01 writes them: site and category in meta, best first per site.
SE_SITES = {"unix": ("stem", 5), "chemistry": ("stem", 2), "cooking": ("other", 4), "travel": ("other", 1)}


def se_pools(extra_per_site=2):
    """(filtered, unfiltered): each site's qualifying pairs, and those plus `extra_per_site` answers
    that fail the filters (low score, short), all ranked by question score inside the site."""
    filtered, unfiltered = [], []
    for k, (site, (cat, n)) in enumerate(SE_SITES.items()):
        for j in range(n + extra_per_site):
            passes = j < n
            row = pair("stackexchange", 100 * k + j, 12 if passes else 4)
            row["id"] = f"stackexchange/{site}/{100 * k + j}"
            row["meta"] = {"site": f"{site}.stackexchange.com", "category": cat, "question_score": 90 - j,
                           "answer_score": 40 - j if passes else 2, "passes_filters": passes}
            unfiltered.append(row)
            if passes:
                filtered.append({**row, "meta": {k2: v for k2, v in row["meta"].items() if k2 != "passes_filters"}})
    best = lambda rows: sorted(rows, key=lambda r: -r["meta"]["question_score"])    # noqa: E731 (across sites)
    return best(filtered), best(unfiltered)


class VariedStandIn(StandIn):
    """The stand-in judge, with 1-6 scores that vary with the submission (so a CI has a width)."""

    def answer(self, messages):
        text = messages[-1]["content"]
        if "[Criterion: helpfulness]" in text:
            sub = text.split("[Submission]\n", 1)[1].split("\n\n[Criterion", 1)[0]
            n = 1 + len(sub) % 6
            return f"Step 1.\n{n}\n{n}"
        return super().answer(messages)


@pytest.fixture(autouse=True)
def no_judge_env(monkeypatch):
    for var in ("JUDGE_BASE_URL", "JUDGE_MODEL", "JUDGE_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Pools, the ablation variants built from them, and one tiny training on dialogue data (the
    filtered 4-example variant plus three multi-turn chains), 2 epochs, both exported."""
    d = tmp_path_factory.mktemp("ablations")
    filtered, unfiltered = se_pools()
    pools = {"filtered": write_rows(d / "pools" / "stackexchange.filtered.jsonl", filtered),
             "unfiltered": write_rows(d / "pools" / "stackexchange.unfiltered.jsonl", unfiltered),
             "wikihow": write_rows(d / "pools" / "wikihow.jsonl", [pair("wikihow", i) for i in range(9)])}
    for out in ("ablations", "ablations-again"):
        run_script("09_ablation_data.py", "pools", "--filtered", pools["filtered"], "--unfiltered", pools["unfiltered"],
                   "--wikihow", pools["wikihow"], "--size", "4", "--sizes", "2,4,16", "--seed", "1", "--out", d / out)
    chains = [{"id": f"multi_turn/{i}", "source": "multi_turn",
               "conversations": ["Plan a market stall?", "Sell bread.", "And the list?", "Flour, water, salt.",
                                 f"Thanks {i}?", "You are welcome."][: 4 + 2 * (i % 2)], "meta": {}} for i in range(3)]
    dialogue_train = write_rows(d / "train_dialogue.jsonl", read_rows(d / "ablations" / "se-filtered-4" / "train.jsonl") + chains)
    write_rows(d / "dev.jsonl", [pair("authors", 500 + i) for i in range(4)])
    make_tiny_base(TEXTS, d / "base")
    run_script("05_train.py", "--model", d / "base", "--train", dialogue_train, "--dev", d / "dev.jsonl",
               "--out", d / "run", "--results", d / "run_results", "--epochs", "2", "--batch-size", "4",
               "--lr", "1e-2", "--final-lr", "1e-3", "--max-len", "64", "--keep-epochs", "all")
    convs = [{"id": "scripted/01", "turns": ["Where do I start with tomatoes?", "Only morning sun. Enough?",
                                             "Leaves turn yellow. Why?"]},
             {"id": "scripted/02", "turns": ["Write a short letter.", "Make it shorter."]},
             {"bad": "row"}]
    write_rows(d / "scripted.jsonl", convs)
    prompts = [{"id": "t/1", "source": "authors", "conversations": ["Write a marketing plan with sections."],
                "meta": {"format_constraint": True}},
               {"id": "t/2", "source": "authors", "conversations": ["How do I bake bread?"], "meta": {}},
               {"id": "t/3", "source": "authors", "conversations": ["Summarise bread making in three bullets."],
                "meta": {"format_constraint": True}}]
    write_rows(d / "test.jsonl", prompts)
    return d


# ---- data ----------------------------------------------------------------------------------------

def test_variant_plan_names_the_three_pools_then_the_quantity_series():
    assert parse_sizes("8, 16,32 16") == [8, 16, 32]
    with pytest.raises(ValueError):
        parse_sizes("0")
    assert [name for name, _, _ in variant_plan(16, [8, 16, 32])] == \
        ["se-filtered-16", "se-unfiltered-16", "wikihow-16", "se-filtered-8", "se-filtered-32"]


def test_each_ablation_dataset_has_the_stated_size_and_source(world):
    plan = json.loads((world / "ablations" / "variants.json").read_text())
    by_name = {v["name"]: v for v in plan["variants"]}
    assert sorted(by_name) == ["se-filtered-16", "se-filtered-2", "se-filtered-4", "se-unfiltered-4", "wikihow-4"]
    pools = {"se-filtered": read_rows(world / "pools" / "stackexchange.filtered.jsonl"),
             "se-unfiltered": read_rows(world / "pools" / "stackexchange.unfiltered.jsonl"),
             "wikihow": read_rows(world / "pools" / "wikihow.jsonl")}
    for name, v in by_name.items():
        rows = read_rows(world / "ablations" / name / "train.jsonl")
        expected = min(v["requested"], len(pools[v["pool"]]))
        assert len(rows) == v["kept"] == expected, name
        assert all(r in pools[v["pool"]] for r in rows) and len({r["id"] for r in rows}) == len(rows), name
        assert {r["source"] for r in rows} == {"wikihow" if v["pool"] == "wikihow" else "stackexchange"}
        stats = json.loads((world / "ablations" / name / "train.stats.json").read_text())
        assert stats["kept"]["examples"] == expected and stats["variant"]["pool_file"] == v["pool_file"]
        assert v["data"] == describe_set(rows, v["pool"]), name
    assert read_rows(world / "ablations" / "wikihow-4" / "train.jsonl") == pools["wikihow"][:4]
    assert by_name["se-filtered-16"]["capped"] and by_name["se-filtered-16"]["kept"] == 12
    assert not by_name["se-unfiltered-4"]["capped"]
    assert by_name["se-filtered-4"]["role"] == ["diversity", "quantity"] and by_name["wikihow-4"]["role"] == ["diversity"]
    # determinism: a second run writes the same bytes
    for f in sorted((world / "ablations").rglob("*.jsonl")) + [world / "ablations" / "data.md"]:
        assert f.read_bytes() == (world / "ablations-again" / f.relative_to(world / "ablations")).read_bytes(), f


def test_filtered_and_unfiltered_sets_share_their_sites_and_stem_other_split(world):
    """The quality contrast (Fig. 5): the same exchanges, the same counts per exchange, the same STEM/
    Other split; only the answers differ (the unfiltered ones need not pass the filters)."""
    sets = {p: read_rows(world / "ablations" / f"{p}-4" / "train.jsonl") for p in ("se-filtered", "se-unfiltered")}
    per_site = {p: Counter(r["meta"]["site"] for r in rows) for p, rows in sets.items()}
    split = {p: Counter(r["meta"]["category"] for r in rows) for p, rows in sets.items()}
    assert per_site["se-filtered"] == per_site["se-unfiltered"] and split["se-filtered"] == {"stem": 2, "other": 2}
    assert split["se-unfiltered"] == split["se-filtered"]
    # at a size where exchanges run out, and on a larger pool with many draws, the pairing holds
    filtered, unfiltered = se_pools(extra_per_site=30)
    counts = Counter()
    groups = {"se-filtered": se_groups(filtered, counts, "f"), "se-unfiltered": se_groups(unfiltered, counts, "u")}
    for n in (4, 9, 12):
        f, u = (draw_se(groups, p, n, seed=3) for p in ("se-filtered", "se-unfiltered"))
        assert Counter(r["meta"]["site"] for r in f) == Counter(r["meta"]["site"] for r in u), n
        assert describe_set(f, "se-filtered")["passes_filters"] == 1.0
    u = draw_se(groups, "se-unfiltered", 12, seed=3)
    assert describe_set(u, "se-unfiltered")["passes_filters"] < 0.5    # at random inside a site: mostly failing ones
    assert not counts


def test_quantity_sizes_are_independent_draws_of_one_distribution():
    """Fig. 6: each size its own draw (not a prefix of one ranking), so a larger set does not hold
    lower-scored questions; with stage 01's best-first order inside an exchange it would."""
    rows = []
    for site, cat, n in (("a", "stem", 900), ("b", "stem", 120), ("c", "other", 700), ("d", "other", 60)):
        for j in range(n):       # the score falls with the rank inside the site, the same scale everywhere
            rows.append({"id": f"stackexchange/{site}/{j}", "source": "stackexchange", "conversations": ["q?", "a."],
                         "meta": {"site": site, "category": cat, "answer_score": 100 - 100 * j // n}})
    groups = {"se-filtered": se_groups(rows, Counter(), "f")}
    median = lambda s: describe_set(s, "se-filtered")["median_answer_score"]      # noqa: E731
    small, large = draw_se(groups, "se-filtered", 64, 0), draw_se(groups, "se-filtered", 512, 0)
    assert len(small) == 64 and len(large) == 512
    assert not {r["id"] for r in small} <= {r["id"] for r in large}             # not nested
    assert 35 < median(small) < 65 and 35 < median(large) < 65                  # the pool's median: 50
    for s in (small, large):                                                    # τ = 3 over exchanges
        share_b = sum(r["meta"]["site"] == "b" for r in s) / sum(r["meta"]["category"] == "stem" for r in s)
        assert 0.2 < share_b < 0.5                                # 120^(1/3) / (120^(1/3) + 900^(1/3)) ≈ 0.34
    best_small, best_large = (draw_se(groups, "se-filtered", n, 0, order="best") for n in (64, 512))
    assert median(best_small) > 95 and median(best_large) < 90                  # the ranking's drift


def test_without_format_drops_exactly_the_flagged_rows(world, tmp_path, capsys):
    rows = [pair("authors", i) for i in range(5)]
    rows[1]["meta"]["format_constraint"] = True
    rows[3]["meta"]["format_constraint"] = True
    src = write_rows(tmp_path / "train.jsonl", rows)
    out = tmp_path / "no-format" / "train.jsonl"
    run_script("09_ablation_data.py", "without-format", "--train", src, "--out", out)
    assert [r["id"] for r in read_rows(out)] == ["authors/0", "authors/2", "authors/4"]
    assert json.loads((tmp_path / "no-format" / "train.stats.json").read_text())["dropped_ids"] == ["authors/1", "authors/3"]
    plain = write_rows(tmp_path / "plain.jsonl", [pair("authors", 9)])
    run_script("09_ablation_data.py", "without-format", "--train", plain, "--out", tmp_path / "x.jsonl", expect_exit=2)
    assert "nothing to ablate" in capsys.readouterr().err and not (tmp_path / "x.jsonl").exists()


def test_the_miniature_run_trains_on_the_multi_turn_examples_and_changes_the_weights(world):
    summary = json.loads((world / "run" / "train_summary.json").read_text())
    rows = read_rows(world / "train_dialogue.jsonl")
    assert sum(len(r["conversations"]) > 2 for r in rows) == 3 and summary["examples"] == len(rows)
    base = load_weights(world / "base")
    tuned = load_weights(world / "run" / "epoch_02")
    shared = [k for k in base if k in tuned and base[k].shape == tuned[k].shape]
    assert len(shared) >= 10
    assert sum(not base[k].equal(tuned[k]) for k in shared) >= len(shared) - 2


# ---- dialogue (§6) -------------------------------------------------------------------------------

def test_fail_pass_excellent_summary_counts_turns_and_early_fails():
    items = [{"id": "a", "turn": 1, "verdict": "fail"}, {"id": "a", "turn": 2, "verdict": "pass"},
             {"id": "b", "turn": 1, "verdict": "excellent"}, {"id": "b", "turn": 4, "verdict": "fail"},
             {"id": "b", "turn": 5, "verdict": None}]
    s = summarize_labels(items)
    assert s["counts"] == {"excellent": 1, "pass": 1, "fail": 2} and s["unparseable"] == 1
    assert s["fails_per_turns"] == "2 / 4" and s["conversations_failing_within_3_turns"] == "1 / 2"
    assert render_history([]).startswith("(nothing yet") and "Assistant: y" in render_history(["x", "y"])


def test_dialogue_turns_are_generated_in_context_and_each_is_labelled(world, tmp_path):
    out = tmp_path / "dialogue"
    with StandIn() as judge:
        run_script("10_dialogue.py", "--zero-shot", world / "run" / "epoch_01", "--dialogue", world / "run" / "epoch_02",
                   "--conversations", world / "scripted.jsonl", "--out", out, "--max-new-tokens", "12",
                   "--judge-url", judge.url, "--judge-model", "judge-1")
        asked = [r["body"]["messages"][0]["content"] for r in judge.requests]
    summary = json.loads((out / "eval" / "dialogue.json").read_text())
    assert summary["n_conversations"] == 2 and summary["n_turns"] == 5 and summary["skipped"] == {"bad_conversation": 1}
    for system in ("zero-shot", "dialogue"):
        gens = read_rows(out / summary["systems"][system]["generations"].split(str(out) + "/")[1])
        assert [(g["id"], g["turn"]) for g in gens] == [("scripted/01", 1), ("scripted/01", 2), ("scripted/01", 3),
                                                        ("scripted/02", 1), ("scripted/02", 2)]
        judged = summary["systems"][system]["judged"]
        assert judged["n"] + judged["unparseable"] == 5 and judged["fails_per_turns"].endswith("/ 5")
        labels = read_rows(out / "eval" / f"dialogue.{system}.jsonl")
        assert len(labels) == 5 and all(lab["verdict"] in ("fail", "pass", "excellent") for lab in labels)
    assert len(asked) == 12                    # 5 turns x 2 models, then each of 2 whole conversations once
    # the third turn is judged with the model's own first two answers in the conversation
    g = read_rows(out / summary["systems"]["dialogue"]["generations"].split(str(out) + "/")[1])
    third = [a for a in asked if "The user's latest message: Leaves turn yellow. Why?" in a]
    assert len(third) == 2 and any(f"Assistant: {g[1]['response']}" in a for a in third)
    report = (out / "report" / "dialogue.md").read_text()
    assert "45.2" in report and "76.1" in report and "judge-1" in report

    # the whole conversations, side by side: each pair once, the dialogue model's side recorded
    pairs = read_rows(out / "eval" / "conversations.jsonl")
    assert [p["id"] for p in pairs] == ["scripted/01", "scripted/02"]
    assert pairs[0]["user"][2] == "Leaves turn yellow. Why?" and pairs[0]["dialogue"][1] == g[1]["response"]
    whole = [a for a in asked if "\nConversation A:\n" in a]
    verdicts = read_rows(out / "eval" / "conversations.judged.jsonl")
    assert len(whole) == 2 and [v["id"] for v in verdicts] == ["scripted/01", "scripted/02"]
    for v, pair in zip(verdicts, pairs):
        text = next(a for a in whole if f"\nConversation A:\nUser: {pair['user'][0]}\n" in a)
        shown_a = text.split("\nConversation A:\n", 1)[1].split("\nConversation B:\n", 1)[0]
        ours = "\n\n".join(f"User: {u}\n\nAssistant: {r}" for u, r in zip(pair["user"], pair["dialogue"]))
        assert (shown_a == ours) == (v["ours_side"] == "A") and v["verdict"] in ("win", "tie", "loss")
    compared = summary["conversations_compared"]
    assert compared["n"] == 2 and sum(compared[k]["k"] for k in ("better", "tie", "worse")) == 2
    assert "| paper: LIMA + 30 dialogues vs LIMA (10 live conversations) | 7 | 3 | 0 | 10 |" in report
    assert "| `scripted/02` | 2 |" in report and "scripted where the paper's were live" in report

    # no judge, same responses (a rerun after a source change, the judge's URL unset): generations reused,
    # the earlier run's judged figures kept and said to be earlier
    before = {p.name: p.stat().st_mtime_ns for p in (out / "generations").glob("*.jsonl")}
    run_script("10_dialogue.py", "--zero-shot", world / "run" / "epoch_01", "--dialogue", world / "run" / "epoch_02",
               "--conversations", world / "scripted.jsonl", "--out", out, "--max-new-tokens", "12", "--judge-url", "",
               "--report", out / "report" / "kept.md")
    assert {p.name: p.stat().st_mtime_ns for p in (out / "generations").glob("*.jsonl")} == before
    kept = (out / "report" / "kept.md").read_text()
    assert "judge-1` (in an earlier run of these same responses" in kept and "n/a" not in kept
    again = json.loads((out / "eval" / "dialogue.json").read_text())
    assert again["conversations_compared"] == compared
    assert again["systems"]["dialogue"]["judged"] == summary["systems"]["dialogue"]["judged"]
    # no judge, other responses: nothing judged is shown, and one line says how to configure the judge
    run_script("10_dialogue.py", "--zero-shot", world / "run" / "epoch_01", "--dialogue", world / "run" / "epoch_02",
               "--conversations", world / "scripted.jsonl", "--out", out, "--max-new-tokens", "6", "--judge-url", "",
               "--report", out / "report" / "plain.md")
    plain = (out / "report" / "plain.md").read_text()
    assert "JUDGE_BASE_URL" in plain and "make dialogue" in plain and "n/a" in plain
    assert "Not judged (no judge)" in plain and json.loads((out / "eval" / "dialogue.json").read_text())[
        "conversations_compared"] is None


# ---- ablations report (§5) and format ablation (Appendix E) ----------------------------------------

def eval_variants(world, results, judge=None):
    """Every variant's run folder as stage 07 and 06 leave it, all pointing at the one trained export."""
    plan = json.loads((world / "ablations" / "variants.json").read_text())
    for v in plan["variants"]:
        run = results / f"mini-abl-{v['name']}"
        run.mkdir(parents=True, exist_ok=True)
        (run / "selection.json").write_text(json.dumps({"choice": "epoch_02"}))
        judge_args = ["--judge", "likert", "--judge-url", judge.url if judge else "", "--judge-model", "judge-1"] if judge \
            else ["--judge", "likert", "--judge-url", ""]
        run_script("06_eval.py", "--checkpoint", world / "run" / "epoch_02", "--prompts", world / "test.jsonl",
                   "--out", run, "--samples", "5", "--max-new-tokens", "8", *judge_args)
    return plan


def test_ablation_scores_are_plotted_with_their_ci_beside_the_paper(world, tmp_path):
    results = tmp_path / "results"
    with VariedStandIn() as judge:
        eval_variants(world, results, judge)
        likert_calls = sum("[Criterion: helpfulness]" in r["body"]["messages"][0]["content"] for r in judge.requests)
    assert likert_calls == 5 * 3 * 5                # 5 variants x 3 prompts x 5 samples
    out = tmp_path / "ablations"
    run_script("09_ablations.py", "--variants", world / "ablations" / "variants.json", "--results", results,
               "--run-prefix", "mini-abl-", "--prompts", world / "test.jsonl", "--model", "tiny", "--out", out)
    summary = json.loads((out / "ablations.json").read_text())
    assert summary["judged"] and summary["samples"] == 5 and len(summary["variants"]) == 5
    for v in summary["variants"]:
        assert v["likert"]["n"] == 15 and v["likert"]["ci95"][0] <= v["likert"]["mean"] <= v["likert"]["ci95"][1]
    for png in ("ablation_diversity.png", "ablation_quantity.png"):
        assert (out / png).stat().st_size > 5000
    report = (out / "report" / "ablations.md").read_text()
    assert "3.83" in report and "3.49" in report and "3.33" in report
    assert "se-filtered-16 (12 of 16)" in report                       # the capped variant is said so
    # what each set holds: filtered and unfiltered on the same sites and split, the share passing apart
    by_name = {v["name"]: v for v in summary["variants"]}
    f, u = by_name["se-filtered-4"]["data"], by_name["se-unfiltered-4"]["data"]
    assert (f["sites"], f["stem"], f["other"]) == (u["sites"], u["stem"], u["other"]) and f["passes_filters"] == 1.0
    assert f"(`se-unfiltered-4`) | 4 | {u['sites']} | 2 / 2 | " in report and "Answers passing the §2.1 filters" in report
    assert (world / "ablations" / "data.md").read_text().count("| filtered Stack Exchange") == 3


def test_ablations_without_a_judge_plot_nothing(world, tmp_path, capsys):
    results = tmp_path / "results"
    eval_variants(world, results)
    out = tmp_path / "ablations"
    run_script("09_ablations.py", "--variants", world / "ablations" / "variants.json", "--results", results,
               "--run-prefix", "mini-abl-", "--prompts", world / "test.jsonl", "--out", out)
    assert not list(out.glob("*.png"))
    report = (out / "report" / "ablations.md").read_text()
    assert "not judged" in report and "Nothing judged is plotted" in report and "make ablations" in report
    assert "make ablations" in capsys.readouterr().out
    run_script("09_ablations.py", "--variants", world / "ablations" / "variants.json", "--results", tmp_path / "none",
               "--run-prefix", "mini-abl-", "--prompts", world / "test.jsonl", "--out", out, expect_exit=2)


def test_format_ablation_compares_both_models_pairwise_on_the_flagged_prompts(world, tmp_path):
    out = tmp_path / "no-format"
    with StandIn() as judge:
        run_script("09_format_ablation.py", "--full", world / "run" / "epoch_02", "--ablated", world / "run" / "epoch_01",
                   "--prompts", world / "test.jsonl", "--out", out, "--max-new-tokens", "8",
                   "--judge-url", judge.url, "--judge-model", "judge-1")
        pairwise = [r["body"]["messages"][0]["content"] for r in judge.requests]
    assert len(pairwise) == 2 * 2 and all(p.startswith("Imagine that you have") for p in pairwise)
    assert all("marketing plan" in p or "three bullets" in p for p in pairwise)       # the flagged prompts only
    summary = json.loads((out / "eval" / "format_ablation.json").read_text())
    assert summary["n_prompts"] == 2 and [r["id"] for r in summary["side_by_side"]] == ["t/1", "t/3"]
    d = summary["pairwise"]["debiased"]
    assert d["n"] + d["unparseable"] == 2
    assert "Appendix E" in (out / "report" / "format_ablation.md").read_text()


# ---- Make ------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_make_plans_train_the_variant_runs_on_their_own_files():
    """Dry runs change nothing; they show each variant as its own sub-make with the right data."""
    def plan(target):
        proc = subprocess.run(["make", "-nB", "--no-print-directory", target], cwd=ROOT, capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]
        return proc.stdout

    dialogue = plan("dialogue")
    assert "select RUN=sample-dialogue TRAIN_FILE=data/lima/train_dialogue.jsonl" in dialogue
    assert "scripts/10_dialogue.py" in dialogue
    ablations = plan("ablations")
    for v in ("se-filtered-16", "se-unfiltered-16", "wikihow-16", "se-filtered-8", "se-filtered-32"):
        assert f"RUN=sample-abl-{v} TRAIN_FILE=data/ablations/{v}/train.jsonl" in ablations
    assert "--samples 5 --judge likert" in ablations and "scripts/09_ablations.py" in ablations
    fmt = plan("format-ablation")
    assert "RUN=sample-no-format TRAIN_FILE=data/ablations/no-format/train.jsonl" in fmt
