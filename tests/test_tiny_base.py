"""Stage 00: the sample profile's tiny base model is built from the raw sample text, deterministically.

Run: .venv/bin/python -m pytest -q tests/test_tiny_base.py
"""
import json

import yaml
import zstandard

from conftest import ROOT, run_script
from lima.base.corpus import reddit_texts, stackexchange_texts, wikihow_texts

SAMPLE = ROOT / "data" / "sample"


def _reddit_rows_with_text() -> int:
    """The sample's Reddit rows holding a title, selftext or body that was not deleted, read directly."""
    n = 0
    for path in sorted((SAMPLE / "reddit").glob("*.zst")):
        with open(path, "rb") as f:
            data = zstandard.ZstdDecompressor(max_window_size=2**31).stream_reader(f).read()
        for line in data.splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            texts = [row.get(k) for k in ("title", "selftext", "body")] if isinstance(row, dict) else []
            n += any(isinstance(t, str) and t.strip() not in ("", "[deleted]", "[removed]") for t in texts)
    return n


def test_corpus_holds_every_post_page_and_story_not_only_selected_ones():
    se = list(stackexchange_texts(SAMPLE / "stackexchange"))
    wh = list(wikihow_texts(SAMPLE / "wikihow"))
    rd = list(reddit_texts([SAMPLE / "reddit"]))
    sites = yaml.safe_load((SAMPLE / "stackexchange_posts.yaml").read_text(encoding="utf-8"))
    posts = [r for site in sites.values() for r in site["posts"] if r.get("PostTypeId") in (1, 2)]
    assert len(se) == sum(1 for r in posts if r.get("Title") or r.get("Body", "").strip())   # every question and answer
    assert {r["Title"] for r in posts if "Title" in r} <= {t.split("\n")[0] for t in se}
    assert len(wh) == 22      # the sample cache's 27 article pages less the 5 the parser skips (test_wikihow_parse)
    assert len(rd) == _reddit_rows_with_text()
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
    assert summary["documents"] == {"stackexchange": 169, "wikihow": 22, "reddit": 132}   # the corpus test's counts
    assert summary["tokens"] > 10_000 and summary["args"]["steps"] == 3 and summary["args"]["out"] == str(tmp_path / "a")
    assert (tmp_path / "a" / "BASE").exists()
    tok = AutoTokenizer.from_pretrained(tmp_path / "a")
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "a")
    assert model.config.model_type == "llama" and len(tok) == model.config.vocab_size
    assert tok.decode(tok.encode("Bread needs flour.", add_special_tokens=False)) == "Bread needs flour."
