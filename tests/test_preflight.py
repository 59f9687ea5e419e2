"""make preflight (05_train.py --preflight, lima/train/preflight.py): the check before the real run.

Run: .venv/bin/python -m pytest -q tests/test_preflight.py
"""
import json

import pytest

from conftest import run_script
from lima.train.model import load_tokenizer
from lima.train.preflight import Check, check_template, format_verdict, pick_examples


def test_template_check_passes_on_our_template_and_catches_a_different_one(toy):
    tok = load_tokenizer(toy / "base")
    convs = [["Is 3 even?", "3 is odd."], ["Hi", "Hello", "Again?", "Yes."]]
    assert check_template(tok, convs, 64, "base").ok
    tok.chat_template = tok.chat_template.replace("{{ message['content'] }}", "{{ message['content'] + ' ' }}")
    bad = check_template(tok, convs, 64, "base")
    assert not bad.ok and "differ from training's at token" in bad.detail


def test_examples_are_the_longest_of_the_training_file_or_made_up(toy, tmp_path):
    rows = pick_examples(toy / "train.jsonl", 3)
    assert len(rows) == 3 and all(len(r["conversations"]) == 2 for r in rows)
    assert pick_examples(tmp_path / "absent.jsonl", 2)[0]["id"] == "preflight/0"


def test_verdict_names_the_failed_checks(tmp_path):
    text = format_verdict([Check("plan", True, "fits"), Check("train", False, "exited 1")], tmp_path)
    assert "  PASS  plan" in text and "  FAIL  train" in text and text.endswith("verdict: FAIL (train)")


def test_preflight_refuses_to_write_into_the_real_run(toy, tmp_path, capsys):
    run_script("05_train.py", "--preflight", tmp_path / "out" / "pre", "--model", toy / "base",
               "--train", toy / "train.jsonl", "--dev", toy / "dev.jsonl", "--out", tmp_path / "out", expect_exit=2)
    assert "must not be inside --out" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_preflight_passes_on_the_toy_base_with_two_ranks(toy, tmp_path, capsys):
    out = tmp_path / "results" / "preflight-toy"
    run_script("05_train.py", "--preflight", out, "--model", toy / "base", "--train", toy / "train.jsonl",
               "--dev", toy / "dev.jsonl", "--out", tmp_path / "checkpoints" / "toy", "--nproc-per-node", "2",
               "--plan-device", "cpu", "--max-len", "64", "--lr", "1e-3")
    screen = capsys.readouterr().out
    verdict = json.loads((out / "verdict.json").read_text())
    assert verdict["pass"], screen
    assert [c["name"] for c in verdict["checks"]] == ["plan", "train", "export", "template", "reload", "eot"]
    assert screen.strip().endswith("verdict: PASS") and (out / "verdict.txt").read_text().strip() == screen.strip()
    assert not (tmp_path / "checkpoints").exists()            # nothing in the real run's folders
    assert not (out / "work" / "ckpt").exists()               # the export is removed after the checks
    assert (out / "work" / "results" / "train_metrics.jsonl").exists() and (out / "plan.txt").exists()


def test_preflight_on_a_gguf_folder_is_the_one_line_that_says_to_convert(tmp_path, capsys):
    """It used to say "config.json: no such file" (or a cut-off tokenizer error) instead."""
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "smollm2.gguf").write_bytes(b"GGUF" + b"\0" * 60)
    run_script("05_train.py", "--preflight", tmp_path / "pre", "--model", folder, "--train", tmp_path / "t.jsonl",
               "--dev", tmp_path / "d.jsonl", "--out", tmp_path / "out", expect_exit=2)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "holds a GGUF file: convert it" in err[0] and "convert_smollm2.py" in err[0]
    assert not (tmp_path / "pre").exists()
