"""Stage 00: the sample profile's tiny base model is built from the raw sample text, deterministically.

Run: .venv/bin/python -m pytest -q tests/test_tiny_base.py
"""
import json

from conftest import ROOT, run_script
from lima.base.corpus import reddit_texts, stackexchange_texts, wikihow_texts

SAMPLE = ROOT / "data" / "sample"


def test_corpus_holds_every_post_page_and_story_not_only_selected_ones():
    se = list(stackexchange_texts(SAMPLE / "stackexchange"))
    wh = list(wikihow_texts(SAMPLE / "wikihow"))
    rd = list(reddit_texts([SAMPLE / "reddit"]))
    assert len(se) > 100 and len(wh) >= 20 and len(rd) > 50
    assert not any("<p>" in t for t in se)
    assert not any(t.strip() in ("[deleted]", "[removed]") for t in rd)


def test_tiny_base_is_deterministic_and_loads_with_from_pretrained(tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    args = ["--stackexchange", SAMPLE / "stackexchange", "--wikihow", SAMPLE / "wikihow", "--reddit", SAMPLE / "reddit",
            "--steps", "3", "--hidden", "32", "--layers", "1", "--heads", "2", "--vocab-size", "300", "--seq-len", "32"]
    run_script("00_tiny_base.py", *args, "--out", tmp_path / "a")
    run_script("00_tiny_base.py", *args, "--out", tmp_path / "b")
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    summary = json.loads((tmp_path / "a" / "base_summary.json").read_text())
    assert summary["tokens"] > 10_000 and summary["documents"]["wikihow"] >= 20
    assert (tmp_path / "a" / "BASE").exists()
    tok = AutoTokenizer.from_pretrained(tmp_path / "a")
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "a")
    assert model.config.model_type == "llama" and len(tok) == model.config.vocab_size
    assert tok.decode(tok.encode("Bread needs flour.", add_special_tokens=False)) == "Bread needs flour."
