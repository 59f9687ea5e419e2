"""The hand-written examples in data/authored/ (the paper's Group A/B roles, §2.2, §6, App. E) keep
their contract: rows parse, ids are unique and well formed, turns alternate, the counts the
issues ask for are met, and no prompt is a near-duplicate of another anywhere in the folder.

Run: .venv/bin/python -m pytest -q tests/test_authored.py
"""
import itertools
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from lima.train.data import read_conversations

AUTHORED = Path(__file__).resolve().parents[1] / "data" / "authored"

# file -> (id pattern, source label or None for the scripted file)
FILES = {
    "train.jsonl": (r"authors/train/\d{3}", "authors"),
    "dev.jsonl": (r"authors/dev/\d{3}", "authors"),
    "test.jsonl": (r"authors/test/\d{3}", "authors"),
    "dialogues.jsonl": (r"multi_turn/authored/\d{2}", "multi_turn"),
    "scripted_conversations.jsonl": (r"scripted/\d{2}", None),
}
NEAR_DUP_SHARE = 0.5  # near-duplicates: more than half of the shorter prompt's word 3-grams shared (stricter than stage 04's Jaccard >= 0.5)


def load(name: str) -> list[dict]:
    """Every line of the file as JSON; a blank or broken line fails the test with its number."""
    rows = []
    text = (AUTHORED / name).read_text(encoding="utf-8")
    assert text.endswith("\n"), f"{name}: last line has no newline"
    for n, line in enumerate(text.split("\n")[:-1], 1):
        assert line.strip(), f"{name}:{n}: blank line"
        row = json.loads(line)
        assert isinstance(row, dict), f"{name}:{n}: not an object"
        rows.append(row)
    return rows


@pytest.fixture(scope="module")
def data() -> dict[str, list[dict]]:
    return {name: load(name) for name in FILES}


def user_turns(name: str, row: dict) -> list[str]:
    """The user-written texts of a row: every even utterance, or every scripted turn."""
    return row["turns"] if name == "scripted_conversations.jsonl" else row["conversations"][::2]


def trigrams(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z0-9']+", text.lower())
    return set(zip(words, words[1:], words[2:]))


def shared_share(a: str, b: str) -> float:
    """Share of the smaller prompt's word 3-grams that the other prompt also has (0 if either has none)."""
    ta, tb = trigrams(a), trigrams(b)
    if not ta or not tb:
        return 0.0
    return len(ta & tb) / min(len(ta), len(tb))


def test_every_file_parses_with_ids_well_formed_and_unique_across_files(data):
    ids = Counter()
    for name, (pattern, source) in FILES.items():
        assert data[name], f"{name} is empty"
        for row in data[name]:
            assert re.fullmatch(pattern, row.get("id", "")), f"{name}: bad id {row.get('id')!r}"
            ids[row["id"]] += 1
            if source is not None:
                assert row["source"] == source, f"{row['id']}: source {row['source']!r}"
            assert isinstance(row.get("meta"), dict) and row["meta"].get("topic"), f"{row['id']}: no meta.topic"
            for flag in ("safety", "format_constraint", "ood"):
                assert row["meta"].get(flag, True) is True, f"{row['id']}: meta.{flag} must be true or absent"
    assert not [i for i, n in ids.items() if n > 1], "ids repeat across files"


def test_ids_are_numbered_from_one_without_gaps(data):
    for name, rows in data.items():
        numbers = [int(r["id"].rsplit("/", 1)[1]) for r in rows]
        assert numbers == list(range(1, len(rows) + 1)), f"{name}: ids not 1..{len(rows)} in order"


def test_turns_are_non_empty_strings_and_alternate_ending_on_the_right_speaker(data):
    for name, rows in data.items():
        for row in rows:
            turns = row["turns"] if name == "scripted_conversations.jsonl" else row["conversations"]
            assert all(isinstance(t, str) and t.strip() == t and t for t in turns), f"{row['id']}: empty or padded turn"
            if name in ("train.jsonl", "dev.jsonl"):
                assert len(turns) == 2, f"{row['id']}: want prompt + response"
            elif name == "test.jsonl":
                assert len(turns) == 1, f"{row['id']}: test rows hold the prompt only"
            elif name == "dialogues.jsonl":
                assert 4 <= len(turns) <= 8 and len(turns) % 2 == 0, f"{row['id']}: {len(turns)} utterances"
            else:
                assert 3 <= len(turns) <= 5, f"{row['id']}: {len(turns)} user turns"
            # alternation: no two consecutive utterances are the same text (a pasted duplicate turn)
            assert all(a != b for a, b in zip(turns, turns[1:])), f"{row['id']}: repeated turn"


def flagged(rows: list[dict], flag: str) -> int:
    return sum(1 for r in rows if r["meta"].get(flag))


def test_counts_and_flags_meet_the_issue(data):
    train, dev, test = data["train.jsonl"], data["dev.jsonl"], data["test.jsonl"]
    assert len(train) >= 40
    assert len(dev) == 50
    assert len(test) >= 20
    assert flagged(train, "safety") >= 3
    assert flagged(test, "safety") >= 2
    assert flagged(train, "format_constraint") >= 3
    # §4.3's out-of-distribution slice: test prompts only, the paper's own Fig. 4 examples among them
    assert flagged(test, "ood") >= 2 and not flagged(train + dev, "ood")
    assert len(data["dialogues.jsonl"]) >= 6
    assert len(data["scripted_conversations.jsonl"]) == 10
    assert {r["meta"]["group"] for r in train + dev} == {"A"}
    assert {r["meta"]["group"] for r in test} == {"B"}


def test_safety_responses_decline(data):
    for row in data["train.jsonl"] + data["dev.jsonl"]:
        if row["meta"].get("safety"):
            opening = row["conversations"][1][:400].lower()
            assert re.search(r"can't|cannot|won't|not going to", opening), f"{row['id']}: does not decline"


def test_training_reader_accepts_train_dev_and_dialogues():
    counts = Counter()
    for name in ("train.jsonl", "dev.jsonl", "dialogues.jsonl"):
        convs = read_conversations(AUTHORED / name, counts)
        assert convs and all(len(c["conversations"]) >= 2 and len(c["conversations"]) % 2 == 0 for c in convs)
    assert not counts["dropped_trailing_user_turn"]


def test_near_duplicate_measure_flags_a_paraphrase_and_passes_distinct_prompts():
    a = "How do I clean and re-season a rusty cast iron pan?"
    assert shared_share(a, "How do I clean and re-season a rusty cast iron skillet?") > NEAR_DUP_SHARE
    assert shared_share(a, "Why does ice float on water?") == 0.0


def test_no_two_prompts_share_more_than_half_their_word_trigrams(data):
    prompts = [(f"{row.get('id')}#{k}", text)
               for name, rows in data.items() for row in rows
               for k, text in enumerate(user_turns(name, row))]
    grams = [(key, trigrams(text)) for key, text in prompts]
    clashes = []
    for (ka, ta), (kb, tb) in itertools.combinations(grams, 2):
        if ta and tb and len(ta & tb) / min(len(ta), len(tb)) > NEAR_DUP_SHARE:
            clashes.append((ka, kb))
    assert not clashes, f"near-duplicate prompts: {clashes[:5]}"
