"""Stage 05's sharded loading and export: the export's layout, bad model inputs as one line, and
rank 0's peak host memory (scripts/bench/sharded_io.py).

Run: .venv/bin/python -m pytest -q tests/test_sharded_io.py
"""
import json
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT, run_script
from lima.train.checkpoint import shard_plan


def check(tiny, model, tmp_path):
    return run_script("05_train.py", "--model", model, "--train", tiny / "train.jsonl", "--dev", tiny / "dev.jsonl",
                      "--out", tmp_path / "never", "--check", expect_exit=None)


def test_shard_plan_fills_files_in_order_and_gives_a_big_tensor_its_own():
    import torch
    tensors = {"a": torch.empty(10), "b": torch.empty(10), "big": torch.empty(100), "c": torch.empty(5)}
    assert shard_plan(tensors, torch.float32, 80) == {"a": 1, "b": 1, "big": 2, "c": 3}
    assert set(shard_plan(tensors, torch.bfloat16, 10**9).values()) == {1}


def test_an_index_naming_a_missing_shard_is_one_line(toy, tmp_path, capsys):
    model = tmp_path / "model"
    shutil.copytree(toy / "base", model)
    (model / "model.safetensors").rename(model / "model-00001-of-00002.safetensors")
    index = {"metadata": {}, "weight_map": {"model.embed_tokens.weight": "model-00001-of-00002.safetensors",
                                            "lm_head.weight": "model-00002-of-00002.safetensors"}}
    (model / "model.safetensors.index.json").write_text(json.dumps(index))
    assert check(toy, model, tmp_path) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing shard" in err[0] and "model-00002-of-00002.safetensors" in err[0]
    assert not (tmp_path / "never").exists()


def test_a_gguf_model_says_to_convert_it(toy, tmp_path, capsys):
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 60)
    assert check(toy, gguf, tmp_path) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "convert_smollm2.py" in err[0] and "gguf_file" in err[0]
    assert not (tmp_path / "never").exists()


def test_a_tokenizer_holding_eot_as_ordinary_text_is_one_line(toy, tmp_path, capsys):
    from transformers import AutoTokenizer
    model = tmp_path / "model"
    shutil.copytree(toy / "base", model)
    tok = AutoTokenizer.from_pretrained(model)
    tok.add_tokens(["<|eot|>"])
    tok.save_pretrained(model)
    assert check(toy, model, tmp_path) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "<|eot|>" in err[0] and "ordinary token" in err[0]


@pytest.mark.slow
def test_export_is_sharded_with_an_index_and_reloads(toy, tmp_path):
    """One process, tiny shards: several standard files, an index naming each tensor once, the
    weights equal to the trained model's."""
    import torch
    from transformers import AutoModelForCausalLM
    from lima.distributed import cleanup_distributed, init_distributed
    from lima.train.checkpoint import export_model
    from lima.train.model import build_model, load_tokenizer
    tok = load_tokenizer(toy / "base")
    device = init_distributed()
    try:
        model, _, _ = build_model(toy / "base", tok, device, resid_dropout=0.0)
        export_model(model, tok, tmp_path / "epoch_01", dtype=torch.bfloat16, info={"epoch": 1}, shard_bytes=40_000)
        params = {n: p.full_tensor() for n, p in model.named_parameters()}
    finally:
        cleanup_distributed()
    out = tmp_path / "epoch_01"
    index = json.loads((out / "model.safetensors.index.json").read_text())
    files = sorted(set(index["weight_map"].values()))
    assert len(files) >= 3 and files == sorted(p.name for p in out.glob("*.safetensors"))
    assert all(f.startswith("model-") and f.endswith(f"-of-{len(files):05d}.safetensors") for f in files)
    assert set(index["weight_map"]) == set(params) and not (out / "sharded").exists()
    assert not list(tmp_path.glob("*.tmp"))
    reloaded = AutoModelForCausalLM.from_pretrained(out)
    assert reloaded.config.dtype == torch.bfloat16 and len(tok) == reloaded.config.vocab_size
    for name, p in reloaded.named_parameters():
        assert torch.equal(p, params[name].to(torch.bfloat16)), name


@pytest.mark.slow
def test_rank0_peak_host_memory_stays_under_half_the_model(tmp_path):
    """A 58M-parameter model in 5 shards, 2 ranks: rank 0's memory beyond its own shard while loading,
    and while exporting, stays <= 0.5x the fp32 model; the old path took > 2x."""
    if not (ROOT / "scripts" / "bench" / "sharded_io.py").exists() or sys.platform != "linux":
        pytest.skip("needs /proc (Linux)")
    out = tmp_path / "sharded_io.json"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "bench" / "sharded_io.py"), "--out", str(out), "--nproc", "2"],
                   check=True, capture_output=True, timeout=600)
    report = json.loads(out.read_text())
    assert report["parameters"] >= 50_000_000 and report["base_shards"] >= 3
    assert report["ok"], report
    assert report["old_path_load_peak_growth_x"] > 1.0
