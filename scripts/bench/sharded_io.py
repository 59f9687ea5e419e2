"""Benchmark of stage 05's sharded loading and export: rank 0's peak host memory against the model's
full fp32 size, measured on CPU under torchrun.

A LLaMA-architecture model of ~58M parameters (hidden 512, 8 layers, 32k vocabulary, untied) is saved
in several safetensors shards; each rank then loads it with lima.train.model.build_model (its own
slices only, two new vocabulary rows) and exports it with lima.train.checkpoint.export_model
(sharded, consolidated by all ranks). Rank 0's peak resident memory (VmHWM, reset before each phase
through /proc/self/clear_refs) is reported as growth over the resident memory just before the phase,
and, for the load, also net of the rank's own shard of the model (on CPU the shard *is* host memory;
on GPUs it is not). The previous code path, `from_pretrained` in fp32 plus a full state dict on rank 0,
is measured in the same run for reference. Goal: growth <= 0.5x the full fp32 size (for the load, net
of the rank's own shard). This model is vocabulary-heavy (the two 32k matrices are 56% of it), so the
whole embedding matrix rank 0 reads to seed the new rows weighs far more here than in LLaMA-65B (0.4%).

    python scripts/bench/sharded_io.py --out results/bench/sharded_io.json [--nproc 2]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(SCRIPTS))


def rss_kb(field: str) -> int:
    return int(re.search(rf"{field}:\s+(\d+)", Path("/proc/self/status").read_text()).group(1))


def reset_peak() -> int:
    """Reset VmHWM to the current resident size; returns that size (bytes)."""
    Path("/proc/self/clear_refs").write_text("5")
    return rss_kb("VmRSS") * 1024


def peak() -> int:
    return rss_kb("VmHWM") * 1024


def config():
    from transformers import LlamaConfig
    return LlamaConfig(vocab_size=32000, hidden_size=512, intermediate_size=1376, num_hidden_layers=8,
                       num_attention_heads=8, num_key_value_heads=8, tie_word_embeddings=False)


class StubTokenizer:
    """What build_model and export_model ask of a tokenizer: its length (two new rows), pad, EOT."""
    pad_token_id, bos_token_id = 32001, 1

    def __len__(self):
        return 32002

    def convert_tokens_to_ids(self, token):
        return 32000

    def save_pretrained(self, folder):
        pass


def worker(model_dir: Path, out_dir: Path, result: Path) -> None:
    import torch
    from lima.distributed import cleanup_distributed, init_distributed, rank
    from lima.train.checkpoint import export_model
    from lima.train.model import build_model

    # Import the model classes first: what importing them costs (transformers loads scipy.optimize for
    # its detection losses when scipy is installed) is the library's, not the load's, and is paid by
    # every process that imports transformers whatever the model's size.
    from transformers import AutoModelForCausalLM, LlamaForCausalLM  # noqa: F401

    device = init_distributed()
    try:
        before = reset_peak()
        model, _, _ = build_model(model_dir, StubTokenizer(), device, resid_dropout=0.0)
        load_peak = peak() - before
        own = sum(p.to_local().numel() * 4 for p in model.parameters())
        before = reset_peak()
        export_model(model, StubTokenizer(), out_dir, dtype=torch.float32, info={}, shard_bytes=50 * 10**6)
        export_peak = peak() - before
        if rank() == 0:
            full = sum(p.numel() * 4 for p in model.parameters())
            result.write_text(json.dumps({"full_fp32_bytes": full, "own_shard_bytes": own, "load_peak_growth": load_peak,
                                          "export_peak_growth": export_peak}))
    finally:
        cleanup_distributed()


def old_path(model_dir: Path, result: Path) -> None:
    """The code this replaced: rank 0 read the whole model in fp32, then took a full state dict."""
    import torch
    from transformers import AutoModelForCausalLM
    before = reset_peak()
    base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    sd = {k: v.clone() for k, v in base.state_dict().items()}      # the full copy set_model_state_dict read
    result.write_text(json.dumps({"load_peak_growth": peak() - before, "tensors": len(sd)}))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--nproc", type=int, default=2)
    p.add_argument("--worker", nargs=3, type=Path, help=argparse.SUPPRESS)
    p.add_argument("--old", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker(*args.worker)
        return 0
    if args.old:
        old_path(*args.old)
        return 0
    import torch
    from transformers import LlamaForCausalLM
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(SCRIPTS)}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        torch.manual_seed(0)
        LlamaForCausalLM(config()).save_pretrained(tmp / "base", max_shard_size="50MB")
        shards = len(list((tmp / "base").glob("*.safetensors")))
        subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={args.nproc}",
                        __file__, "--out", str(args.out), "--worker", str(tmp / "base"), str(tmp / "export"),
                        str(tmp / "new.json")], check=True, env=env, capture_output=True)
        new = json.loads((tmp / "new.json").read_text())
        subprocess.run([sys.executable, __file__, "--out", str(args.out), "--old", str(tmp / "base"), str(tmp / "old.json")],
                       check=True, env=env, capture_output=True)
        old = json.loads((tmp / "old.json").read_text())
        reloaded = LlamaForCausalLM.from_pretrained(tmp / "export")
        export_files = len(list((tmp / "export").glob("*.safetensors")))
        assert reloaded.model.embed_tokens.weight.shape[0] == 32002
    full = new["full_fp32_bytes"]
    report = {"world": args.nproc, "parameters": full // 4, "base_shards": shards, "export_files": export_files,
              "full_fp32_mb": round(full / 2**20, 1), "own_shard_mb": round(new["own_shard_bytes"] / 2**20, 1),
              "load_peak_growth_x": round(new["load_peak_growth"] / full, 3),
              "load_peak_growth_beyond_own_shard_x": round((new["load_peak_growth"] - new["own_shard_bytes"]) / full, 3),
              "export_peak_growth_x": round(new["export_peak_growth"] / full, 3),
              "old_path_load_peak_growth_x": round(old["load_peak_growth"] / full, 3), "goal_x": 0.5}
    report["ok"] = report["load_peak_growth_beyond_own_shard_x"] <= 0.5 and report["export_peak_growth_x"] <= 0.5
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
