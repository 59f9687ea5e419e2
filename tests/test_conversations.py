"""§6's whole conversations (lima/eval/conversations.py): both models' conversations paired, judged once
with the dialogue model's side drawn and recorded, summarised as better / tie / worse with exact
intervals beside the paper's 7 / 3 / 0; and the same pairs as items of the human study (study, page API,
summary, crowd CSV, `make annotate`).

Run: .venv/bin/python -m pytest -q tests/test_conversations.py
"""
import csv
import json
import os
import shutil
import subprocess
import threading
import urllib.request
from collections import Counter

import pytest

from conftest import ROOT
from judge_standin import StandIn
from lima.errors import StageError
from lima.eval.annotate.crowd import export_csv, import_csv
from lima.eval.annotate.labels import LabelStore
from lima.eval.annotate.server import INSTRUCTIONS, Study, make_server
from lima.eval.annotate.study import build_study, queue, write_study
from lima.eval.annotate.summary import render, summarise
from lima.eval.conversations import (conversation_text, judge_conversations, pair_conversations, render_conversations,
                                     summarize_conversations)
from lima.eval.judge.client import ChatClient
from lima.eval.judge.judging import ours_side
from lima.eval.judge.prompts import CONVERSATION_TEMPLATE
from lima.eval.judge.verdicts import parse_conversation
from lima.eval.stats import binom_ci


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def pair(i, ours="GOOD reply", theirs="BAD reply", turns=2):
    user = [f"Message {k + 1} of talk {i}?" for k in range(turns)]
    return {"id": f"scripted/{i:02d}", "user": user, "dialogue": [f"{ours} {k}" for k in range(turns)],
            "zero-shot": [f"{theirs} {k}" for k in range(turns)]}


# ---- pairing, reading, judging ---------------------------------------------------------------------

def test_pairs_hold_both_models_turns_and_skip_a_conversation_one_model_did_not_finish():
    convs = [{"id": "c1", "turns": ["u1", "u2"]}, {"id": "c2", "turns": ["v1"]}]
    gens = {"dialogue": [{"id": "c1", "turn": 2, "response": "d2"}, {"id": "c1", "turn": 1, "response": "d1"},
                         {"id": "c2", "turn": 1, "response": "e1"}],
            "zero-shot": [{"id": "c1", "turn": 1, "response": "z1"}, {"id": "c1", "turn": 2, "response": "z2"}]}
    pairs, skipped = pair_conversations(convs, gens)
    assert pairs == [{"id": "c1", "user": ["u1", "u2"], "dialogue": ["d1", "d2"], "zero-shot": ["z1", "z2"]}]
    assert skipped == {"conversation_not_answered_by_both": 1}
    assert conversation_text(["u1", "u2"], ["d1", "d2"]) == "User: u1\n\nAssistant: d1\n\nUser: u2\n\nAssistant: d2"


@pytest.mark.parametrize("text,verdict", [("**Conversation A is significantly better.**", "A"),
                                          ("Weighing both: Conversation B is significantly better.", "B"),
                                          ("◼ Neither is significantly better.", "tie"), ("B", "B"),
                                          ("Both have merits.", None),
                                          ("Conversation A is better early, but Conversation B is better overall.", None)])
def test_the_conversation_verdict_is_read_like_a_pairwise_one(text, verdict):
    assert parse_conversation(text) == verdict
    # the options the template lists are not a verdict by themselves
    assert parse_conversation(CONVERSATION_TEMPLATE.split("better?\n", 1)[1]) is None


def test_each_conversation_is_judged_once_with_the_dialogue_models_side_drawn_and_recorded(tmp_path):
    pairs = [pair(i) for i in range(8)] + [pair(8, ours="BIASED"), pair(9, ours="CONFUSE"), pair(10, "fine", "also fine")]
    with StandIn() as judge:
        client = ChatClient(judge.url, "judge-1", cache_path=tmp_path / "c.jsonl", concurrency=3)
        items = judge_conversations(client, pairs, seed=7)
        asked = [r for r in judge.requests if r["kind"] == "conversation"]
    assert len(asked) == len(judge.requests) == 11                    # each conversation once, nothing else
    sides = [it["ours_side"] for it in items]
    assert sides == [ours_side(7, p["id"]) for p in pairs] and {"A", "B"} == set(sides)
    for p, it in zip(pairs, items):                                  # the dialogue model shown on the recorded side
        text = next(r["body"]["messages"][0]["content"] for r in asked if r["task"] == p["user"][0])
        shown = text.split("\nConversation A:\n", 1)[1].split("\nConversation B:\n", 1)[0]
        assert (shown == conversation_text(p["user"], p["dialogue"])) == (it["ours_side"] == "A")
        assert it["user_turns"] == 2
    verdicts = [it["verdict"] for it in items]
    assert verdicts[:8] == ["win"] * 8                                # better whichever side it was shown on
    assert verdicts[8] == ("win" if items[8]["ours_side"] == "A" else "loss")     # a judge that always says A
    assert verdicts[9] is None and verdicts[10] == "tie"
    s = summarize_conversations(items)
    assert s["n"] == 10 and s["unparseable"] == 1
    assert s["better"]["k"] + s["tie"]["k"] + s["worse"]["k"] == 10 and s["tie"]["k"] == 1
    assert s["better"]["ci95"] == binom_ci(s["better"]["k"], 10)
    by_side = s["by_side"]
    assert sum(sum(v.values()) for v in by_side.values()) == 10


def test_the_report_sets_ours_beside_7_3_0_and_says_the_user_turns_are_scripted():
    items = [{"id": f"scripted/{i:02d}", "user_turns": 3, "ours_side": "AB"[i % 2], "verdict": v}
             for i, v in enumerate(["win"] * 6 + ["tie"] * 3 + ["loss"])]
    lines = "\n".join(render_conversations({"judge": {"model": "judge-1"},
                                            "conversations_compared": summarize_conversations(items)}))
    assert "| paper: LIMA + 30 dialogues vs LIMA (10 live conversations) | 7 | 3 | 0 | 10 |" in lines
    assert "| ours (judge-1; %, exact 95% interval) | 6 (60 [26-88]%) | 3 (30 [7-65]%) | 1 (10 [0-44]%) | 10 |" in lines
    assert "| `scripted/01` | 3 | B | better |" in lines and "| `scripted/09` | 3 | B | worse |" in lines
    assert "scripted where the paper's were live" in lines and "docs/evaluation.md#whole-conversations-6" in lines
    plain = "\n".join(render_conversations({"judge": None, "conversations_compared": None}))
    assert "Not judged (no judge)" in plain and "eval/conversations.jsonl" in plain


def test_the_prompt_is_quoted_in_the_docs_as_ours_and_the_page_asks_the_same():
    doc = (ROOT / "docs" / "evaluation.md").read_text(encoding="utf-8")
    part = doc[doc.index("## Whole conversations (§6)"):doc.index("## Running stage 06")]
    assert CONVERSATION_TEMPLATE in part and "The prompt is **ours**" in part
    assert "adapted from\nthe paper's pairwise template" in part and "**scripted**" in part
    flat = " ".join(CONVERSATION_TEMPLATE.split())
    page = INSTRUCTIONS["conversation"]
    assert page["question"] in flat and page["compare"] in flat and all(o in flat for o in page["options"].values())


# ---- the human study ---------------------------------------------------------------------------------

@pytest.fixture
def study_inputs(tmp_path):
    gens = write_jsonl(tmp_path / "epoch_10.test.jsonl", [{"id": f"t/{i}", "sample_idx": 0, "prompt": f"Prompt {i}?",
                                                           "response": f"ours {i}"} for i in range(6)])
    base = write_jsonl(tmp_path / "alpaca.jsonl", [{"id": f"t/{i}", "prompt": f"Prompt {i}?", "response": f"theirs {i}"}
                                                   for i in range(6)])
    convs = write_jsonl(tmp_path / "conversations.jsonl", [pair(i, "dlg", "zs", turns=1 + i % 3) for i in range(6)]
                        + [{"id": "scripted/x", "user": ["u"], "dialogue": ["a", "b"], "zero-shot": ["c"]}])
    return gens, base, convs


def test_conversation_items_show_both_conversations_with_the_side_recorded_for_every_annotator(tmp_path, study_inputs):
    gens, base, convs = study_inputs
    study, items = build_study(gens, {"alpaca": base}, shared=2, absolute=2, annotators=["alice", "bob"], seed=3,
                               conversations=convs)
    conv = [it for it in items if it["kind"] == "conversation"]
    assert len(conv) == 6 and study["n_items"]["conversation"] == 6 and study["skipped"] == {"conversations:bad_row": 1}
    assert {it["ours"] for it in conv} == {"A", "B"} and all(it["assigned"] == "*" and not it["shared"] for it in conv)
    for it in conv:
        ours, theirs = (it["a"], it["b"]) if it["ours"] == "A" else (it["b"], it["a"])
        assert all(r.startswith("dlg") for r in ours) and all(r.startswith("zs") for r in theirs)
        assert len(it["user"]) == len(it["a"]) == len(it["b"]) and it["item_id"] == f"conversation/{it['id']}"
    for who in ("alice", "bob"):                                     # after the pairwise items, before the absolute
        kinds = [it["kind"] for it in queue(items, who, 3) if not it["shared"]]
        assert kinds.count("conversation") == 6 and kinds == sorted(kinds, key=["pairwise", "conversation", "absolute"].index)
    again = build_study(gens, {"alpaca": base}, shared=2, absolute=2, annotators=["alice", "bob"], seed=3,
                        conversations=convs)
    assert again == (study, items)
    (tmp_path / "none.jsonl").write_text('{"id": "x"}\n')
    with pytest.raises(StageError, match="no row with an `id` and equal lists"):
        build_study(gens, {}, conversations=tmp_path / "none.jsonl")


def test_the_page_serves_conversation_items_and_the_summary_counts_the_dialogue_models_side(tmp_path, study_inputs):
    gens, base, convs = study_inputs
    study, items = build_study(gens, {"alpaca": base}, shared=2, absolute=0, annotators=None, conversations=convs)
    write_study(tmp_path / "human", study, items)
    store = LabelStore(tmp_path / "human" / "labels.jsonl")
    httpd = make_server(Study(study, items, store), port=0)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}"

    def call(path, body=None):
        req = urllib.request.Request(url + path, None if body is None else json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.load(r)
        except urllib.error.HTTPError as e:
            return e.code, json.load(e)
    try:
        _, info = call("/api/study")
        assert info["instructions"]["conversation"]["options"]["A"] == "Conversation A is significantly better."
        by_id = {it["item_id"]: it for it in items}
        pos = next(i for i, it in enumerate(queue(items, "carol")) if it["kind"] == "conversation")
        _, s = call(f"/api/item?annotator=carol&pos={pos}")
        item = s["item"]
        assert item["kind"] == "conversation" and item["user"] == by_id[item["item_id"]]["user"]
        assert (item["a"], item["b"]) == (by_id[item["item_id"]]["a"], by_id[item["item_id"]]["b"])
        status, err = call("/api/label", {"annotator": "carol", "item_id": item["item_id"], "digest": item["digest"],
                                          "label": "pass"})
        assert status == 400 and "A, B, neither" in err["error"]
        # carol picks the dialogue model's side on every conversation but the last, which she calls even
        for n, it in enumerate(it for it in items if it["kind"] == "conversation"):
            label = it["ours"] if n < 5 else "neither"
            assert call("/api/label", {"annotator": "carol", "item_id": it["item_id"], "digest": it["digest"],
                                       "label": label})[0] == 200
    finally:
        httpd.shutdown()
        httpd.server_close()
    summary = summarise(tmp_path / "human", None)
    assert summary["conversation"] == {"win": 5, "tie": 1, "loss": 0, "n": 6}
    assert summary["pairwise"]["alpaca"]["n"] == 0 and summary["agreement"]["human_human"]["n_items"] == 0
    text = render(summary, None)
    assert "| ours | 5 | 1 | 0 | 6 of 6 |" in text and "| paper | 7 | 3 | 0 | 10 (live conversations) |" in text
    assert "6 whole-conversation items (§6)" in text and INSTRUCTIONS["conversation"]["question"].startswith("Imagine")


def test_conversation_items_go_to_a_crowd_platform_and_come_back(tmp_path, study_inputs):
    gens, base, convs = study_inputs
    study, items = build_study(gens, {"alpaca": base}, shared=2, absolute=2, conversations=convs)
    write_study(tmp_path / "human", study, items)
    assert export_csv(items, tmp_path / "crowd") == {"pairwise": 6, "absolute": 2, "conversation": 6}
    with open(tmp_path / "crowd" / "conversation.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    first = next(it for it in items if it["item_id"] == rows[0]["item_id"])
    assert rows[0]["conversation_a"] == conversation_text(first["user"], first["a"])
    out = tmp_path / "answers.csv"
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["WorkerId", "Input.item_id", "Input.digest", "Answer.label"])
        for r, answer in zip(rows, ["Conversation A is significantly better.", "conversation b", "Neither", "B",
                                    "A", "Excellent"]):
            w.writerow(["W1", r["item_id"], r["digest"], answer])
    counts = import_csv(out, items, LabelStore(tmp_path / "human" / "labels.jsonl"))
    assert counts == {"imported": 5, "bad_answer": 1}
    assert summarise(tmp_path / "human", None)["conversation"]["n"] == 5


@pytest.mark.skipif(not (ROOT / ".git").exists() or shutil.which("make") is None, reason="needs make and a git checkout")
def test_make_annotate_adds_the_dialogue_runs_conversations_once_they_exist(tmp_path):
    (tmp_path / "ckpt" / "sample" / "epoch_07").mkdir(parents=True)
    (tmp_path / "ckpt" / "sample" / "selected").symlink_to("epoch_07")
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    res = tmp_path / "results"

    def serve_line():
        proc = subprocess.run(["make", "--no-print-directory", "-n", "annotate", f"RESULTS={res}",
                               f"CKPT_ROOT={tmp_path / 'ckpt'}", "-o", f"{res}/sample/report/eval.md"],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]
        return next(line for line in proc.stdout.splitlines() if "06_annotate.py serve" in line)

    assert "--conversations" not in serve_line()
    pairs = res / "sample-dialogue" / "eval" / "conversations.jsonl"
    pairs.parent.mkdir(parents=True)
    write_jsonl(pairs, [pair(1)])
    assert f"--conversations {pairs}" in serve_line()
