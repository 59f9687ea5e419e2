"""Training files in the Alpaca format (§4.1's Alpaca-65B baseline is our recipe on them): conversion
into the data contract, stage 05 reading the fixture (--check and a one-epoch run on the toy base), bad
files and bad rows.

Run: .venv/bin/python -m pytest -q tests/test_alpaca.py
"""
import json
from collections import Counter

import pytest

from conftest import ROOT, run_script, write_rows
from lima.dataset.alpaca import convert_alpaca, detect_format, load_records
from lima.dataset.contract import release_id
from lima.errors import StageError
from lima.train.data import read_conversations

FIXTURE = ROOT / "tests" / "fixtures" / "alpaca" / "alpaca_data.json"


def test_the_fixture_converts_to_user_and_assistant_turns():
    raw = json.loads(FIXTURE.read_text())
    counts = Counter()
    rows = read_conversations(FIXTURE, counts)
    assert counts == Counter({"alpaca_converted": 8, "alpaca_repeated_prompt": 1})
    assert len(rows) == 8 and all(r["source"] == "alpaca" and len(r["conversations"]) == 2 for r in rows)
    # no input: the instruction alone; an input: after a blank line; the output is the assistant turn
    assert rows[0]["conversations"] == [raw[0]["instruction"], raw[0]["output"]]
    assert rows[1]["conversations"] == ["Translate the sentence into French.\n\nThe library opens at nine.",
                                        "La bibliothèque ouvre à neuf heures."]
    assert rows[1]["id"] == release_id("alpaca", rows[1]["conversations"][0])
    assert rows[5]["id"] == rows[1]["id"] + "-2"                   # the repeated prompt is kept, its id unique
    assert len({r["id"] for r in rows}) == 8
    assert [r["meta"]["alpaca_row"] for r in rows] == list(range(1, 9))
    assert read_conversations(FIXTURE, Counter()) == rows          # deterministic


def test_jsonl_alpaca_reads_like_the_json_array(tmp_path):
    jsonl = write_rows(tmp_path / "alpaca.jsonl", json.loads(FIXTURE.read_text()))
    assert read_conversations(jsonl, Counter()) == read_conversations(FIXTURE, Counter())


def test_bad_rows_are_skipped_and_counted_by_reason(tmp_path):
    rows = [{"instruction": "Name a colour.", "input": "", "output": "Blue."},
            "not an object",
            {"instruction": "Say hi.", "input": ""},                           # no output key... nor conversations
            {"instruction": "  ", "input": "", "output": "x"},
            {"instruction": "Add.", "input": 3, "output": "4"},
            {"instruction": "Add.", "input": None, "output": "4"},             # null input: no input
            {"instruction": "Say hi.", "input": "", "output": "   "}]
    path = tmp_path / "alpaca.json"
    path.write_text(json.dumps(rows))
    counts = Counter()
    got = read_conversations(path, counts)
    assert [r["conversations"] for r in got] == [["Name a colour.", "Blue."], ["Add.", "4"]]
    assert counts == Counter({"alpaca_converted": 2, "alpaca_skipped_not_an_object": 1,
                              "alpaca_skipped_no_output": 1, "alpaca_skipped_empty_instruction": 1,
                              "alpaca_skipped_input_not_a_string": 1, "alpaca_skipped_empty_output": 1})


@pytest.mark.parametrize("text, message", [
    ('[{"question": "Why?", "answer": "Because."}]', "neither the data contract .* first object's keys: answer, question"),
    ('{"prompt": "Why?"}\n', "neither the data contract"),
    ('[1, 2, 3]', "neither the data contract .* no JSON object"),
    ('[{"instruction": "Say hi.", "output": "Hi."},\n {"instruction": "Sa', "not a JSON array"),
    ('{"instruction": "Say hi.", "output": "Hi."}\n{"instr', "not a JSONL file"),
    ('[{"instruction": "", "input": "", "output": "Hi."}]', r"Alpaca format, but no usable row \({'alpaca_skipped_empty_instruction': 1}\)"),
])
def test_a_bad_file_is_one_line_naming_it(tmp_path, text, message):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(StageError, match=message) as e:
        read_conversations(path, Counter())
    assert str(e.value).startswith(str(path))


def test_detection_is_per_file_and_leaves_the_contract_path_alone(tmp_path):
    contract = [{"source": "authors", "conversations": ["Q?", "A."]}]
    assert detect_format(contract, tmp_path) == "contract"
    assert detect_format([{"instruction": "Q?", "input": "", "output": "A."}], tmp_path) == "alpaca"
    assert detect_format([], tmp_path) == "contract"               # an empty file: the caller's error
    # a contract file with one broken row still stops on that row, as before
    path = write_rows(tmp_path / "train.jsonl", [*contract, {"source": "authors", "conversations": ["Q?", ""]}])
    with pytest.raises(StageError, match="row 2: turn 2 is empty"):
        read_conversations(path, Counter())
    # an Alpaca object inside a contract file is a broken contract row, not a conversion
    mixed = write_rows(tmp_path / "mixed.jsonl", [*contract, {"instruction": "Q?", "output": "A."}])
    with pytest.raises(StageError, match="row 2: `conversations` must be a non-empty list"):
        read_conversations(mixed, Counter())
    assert convert_alpaca(load_records(FIXTURE), Counter())[0]["id"].startswith("alpaca/")


def test_stage_05_checks_then_trains_on_the_alpaca_file(toy, tmp_path, capsys):
    common = ["--model", toy / "base", "--train", FIXTURE, "--dev", toy / "dev.jsonl", "--out", tmp_path / "alpaca65b",
              "--results", tmp_path / "results", "--epochs", "1", "--batch-size", "4", "--lr", "1e-2",
              "--final-lr", "1e-3", "--max-len", "256", "--keep-epochs", "last", "--resid-dropout", "0"]
    run_script("05_train.py", "--check", *common)
    assert not (tmp_path / "alpaca65b" / "TRAINED").exists()
    run_script("05_train.py", *common)
    summary = json.loads((tmp_path / "alpaca65b" / "train_summary.json").read_text())
    assert summary["examples"] == 8 and summary["steps"] == 2
    assert summary["counts"]["alpaca_converted"] == 8 and summary["counts"]["alpaca_repeated_prompt"] == 1
    assert (tmp_path / "alpaca65b" / "epoch_01" / "config.json").exists()
    fragment = (tmp_path / "results" / "report" / "train.md").read_text()
    assert "in the Alpaca format, converted on reading" in fragment and "8 rows converted, 1 of them repeated" in fragment

    bad = tmp_path / "neither.json"
    bad.write_text('[{"question": "Why?", "answer": "Because."}]')
    run_script("05_train.py", "--check", *common[:2], "--train", bad, *common[4:], expect_exit=2)
    err = capsys.readouterr().err
    assert f"error: {bad}: neither the data contract" in err and "Traceback" not in err


@pytest.mark.parametrize("data, message", [
    (b"", r"bad.json: is empty: no conversation"),                      # was "no target token within --max-len"
    (b"\n\n", r"bad.json: is empty: no conversation"),
    (b'{"source": "authors", "conversations": ["Q?", "A."]}\n{"source": "authors", "conversations": ["Q?", "caf\xe9"]}\n',
     r"bad.json: not a JSONL file: line is not valid utf-8.*\(line 2\)"),
    (b'[{"instruction": "Say hi.", "output": "Hi."},\n {"instruction": "Say \xff", "output": "Hi."}]',
     r"bad.json: line 2 is not UTF-8 \(byte 0xff\)"),                   # was a byte offset
])
def test_an_empty_or_non_utf8_training_file_says_what_and_where(tmp_path, data, message):
    path = tmp_path / "bad.json"
    path.write_bytes(data)
    with pytest.raises(StageError, match=message):
        read_conversations(path, Counter())


def test_a_repeated_training_row_is_dropped_and_a_shared_id_is_kept_both_said(tmp_path, caplog):
    rows = [{"id": "a", "source": "authors", "conversations": ["Q?", "A."]},
            {"id": "b", "source": "authors", "conversations": ["R?", "B."]},
            {"id": "a", "source": "authors", "conversations": ["Q?", "A."]},
            {"id": "b", "source": "authors", "conversations": ["R?", "Other."]}]
    counts = Counter()
    got = read_conversations(write_rows(tmp_path / "train.jsonl", rows), counts)
    assert [r["conversations"][1] for r in got] == ["A.", "B.", "Other."]
    assert counts == Counter(duplicate_row_dropped=1, duplicate_id_kept=1)
    assert "row 3 has the id 'a' of row 1, and the same conversation: dropped" in caplog.text
    assert "row 4 has the id 'b' of row 2 but another conversation: kept" in caplog.text
