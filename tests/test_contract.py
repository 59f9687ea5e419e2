"""The data-contract validator (lima/dataset/contract.py) that stage 04 writes with and stage 05 reads with.

Run: .venv/bin/python -m pytest -q tests/test_contract.py
"""
import hashlib
import json
from collections import Counter

import pytest

from lima.errors import StageError
from lima.dataset.contract import (ContractError, check_row, check_rows, conversation_of, normalize_row,
                           read_contract_rows, release_id)


def test_release_row_gets_source_and_sha1_of_first_prompt_as_id():
    row = normalize_row({"conversations": ["How do I boil an egg?", "Put it in boiling water."],
                         "source": "authors"})
    expected = "authors/" + hashlib.sha1("How do I boil an egg?".encode()).hexdigest()[:12]
    assert row["id"] == expected == release_id("authors", "How do I boil an egg?")
    assert row["meta"] == {} and row["source"] == "authors"


def test_existing_id_and_meta_are_kept():
    row = normalize_row({"id": "authors/train/001", "source": "authors", "conversations": ["a", "b"],
                         "meta": {"group": "A"}})
    assert row["id"] == "authors/train/001" and row["meta"] == {"group": "A"}


def test_chat_format_roles_must_alternate_user_first():
    ok = {"source": "multi_turn", "messages": [{"role": "user", "content": "hi"},
                                               {"role": "assistant", "content": "hello"}]}
    assert normalize_row(ok)["conversations"] == ["hi", "hello"]
    bad = {"source": "multi_turn", "conversations": [{"role": "user", "content": "hi"},
                                                     {"role": "user", "content": "again"}]}
    with pytest.raises(ContractError, match="turn 2 has role 'user', expected 'assistant'"):
        normalize_row(bad)
    with pytest.raises(ContractError, match="expected 'user'"):
        conversation_of({"conversations": [{"role": "assistant", "content": "x"}]})


@pytest.mark.parametrize("conv, message", [
    (["prompt", "  "], "turn 2 is empty"),
    (["prompt", 3], "turn 2 is not a string"),
    ([], "non-empty list"),
    ("prompt", "non-empty list"),
])
def test_bad_conversations_are_rejected(conv, message):
    with pytest.raises(ContractError, match=message):
        normalize_row({"source": "authors", "conversations": conv})


def test_training_rows_need_an_exchange_and_end_on_the_assistant():
    check_row({"id": "x", "conversations": ["q"]}, training=False)
    with pytest.raises(ContractError, match="at least one user/assistant exchange"):
        check_row({"id": "x", "conversations": ["q"]}, training=True)
    with pytest.raises(ContractError, match="end on an assistant turn"):
        check_row({"id": "x", "conversations": ["q", "a", "q2"]}, training=True)
    check_row({"id": "x", "conversations": ["q", "a", "q2", "a2"]}, training=True)


def test_check_rows_names_the_row_and_catches_duplicate_ids():
    rows = [{"id": "a", "conversations": ["q", "r"]}, {"id": "a", "conversations": ["q2", "r2"]}]
    with pytest.raises(StageError, match="row 2: duplicate id 'a'"):
        check_rows(rows, training=True, name="train.jsonl")
    with pytest.raises(StageError, match=r"row 1 \(b\): .*exchange"):
        check_rows([{"id": "b", "conversations": ["q"]}], training=True, name="train.jsonl")


def test_reading_skips_and_counts_bad_rows_and_trims_a_trailing_user_turn(tmp_path):
    path = tmp_path / "train.jsonl"
    rows = [{"source": "multi_turn", "conversations": ["q1", "a1", "q2"]},
            {"source": "authors", "conversations": ["q", ""]},
            {"source": "authors", "conversations": ["q", "a"]},
            {"source": "authors", "conversations": ["q", "a"]}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    counts = Counter()
    out = read_contract_rows(path, counts, trim_trailing_user=True)
    assert [r["conversations"] for r in out] == [["q1", "a1"], ["q", "a"]]
    assert counts == Counter({"train.jsonl:bad_row": 1, "train.jsonl:trailing_user_turn_trimmed": 1,
                              "train.jsonl:duplicate_id": 1})


def test_unreadable_file_is_a_stage_error_naming_it(tmp_path):
    bad = tmp_path / "x.jsonl"
    bad.write_text('{"conversations": ["q", "a"]}\n{"conversations": [\n')
    with pytest.raises(StageError, match="not a JSONL file"):
        read_contract_rows(bad, Counter())
    with pytest.raises(StageError, match="no such file"):
        read_contract_rows(tmp_path / "missing.jsonl", Counter())
