"""GPU training benchmark for the next person with a GPU: stage 05 itself on one GPU (NCCL, bf16 over
fp32 master weights) with a ~1B LLaMA-shaped model at --max-len 2048, with and without activation
checkpointing. Reports tokens/s per GPU and MFU from train_metrics.jsonl (goal: >= 35% MFU), the
memory plan's figure against torch.cuda.max_memory_allocated (peak_mem_mb), and an export + reload
with from_pretrained + a short generation.

    .venv/bin/python scripts/bench/gpu_train.py                  # on a GPU machine, ~10 minutes
    .venv/bin/python scripts/bench/gpu_train.py --dry-run        # tiny config on CPU: the plumbing only

The model is random-initialised and saved as a Hugging Face folder under --work (nothing downloaded);
its tokenizer is a small byte-level BPE, the embedding keeps LLaMA's 32,000 rows. 05's MFU counts
6·N FLOPs per token; `mfu_with_attention` adds the 12·L·H·S attention term (PaLM's formula).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

ONE_B = dict(hidden=2048, layers=18, heads=16, intermediate=5504, vocab=32000)     # 1.04B parameters
TINY = dict(hidden=64, layers=2, heads=2, intermediate=172, vocab=512)
WORDS = "the model reads long answers about bread flour water salt numbers even odd and writes them back".split()


def make_base(out: Path, shape: dict) -> None:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM
    from lima.base.tiny import save_base, train_tokenizer
    texts = [" ".join(WORDS[(i * 7 + j) % len(WORDS)] for j in range(200)) + f" {i}" for i in range(300)]
    tok = train_tokenizer(texts, 512)
    cfg = LlamaConfig(vocab_size=max(shape["vocab"], len(tok)), hidden_size=shape["hidden"],
                      intermediate_size=shape["intermediate"], num_hidden_layers=shape["layers"],
                      num_attention_heads=shape["heads"], num_key_value_heads=shape["heads"],
                      max_position_embeddings=4096, tie_word_embeddings=False, bos_token_id=0, eos_token_id=1,
                      rms_norm_eps=1e-5, attn_implementation="sdpa")
    torch.manual_seed(0)
    save_base(LlamaForCausalLM(cfg), tok, out)


def write_data(work: Path, n: int, words: int) -> None:
    row = lambda i: {"id": f"b/{i}", "source": "authors", "conversations": [  # noqa: E731
        f"Write about {i}.", " ".join(WORDS[(i + j) % len(WORDS)] for j in range(words))]}
    (work / "train.jsonl").write_text("".join(json.dumps(row(i)) + "\n" for i in range(n)))
    (work / "dev.jsonl").write_text("".join(json.dumps(row(i)) + "\n" for i in range(2)))


def run_05(work: Path, name: str, args, ac: bool) -> dict:
    out = work / name
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=1",
           str(ROOT / "scripts" / "05_train.py"), "--model", str(work / "base"), "--train", str(work / "train.jsonl"),
           "--dev", str(work / "dev.jsonl"), "--out", str(out / "ckpt"), "--results", str(out / "results"),
           "--epochs", "1", "--batch-size", str(args.micro_batch_size), "--micro-batch-size", str(args.micro_batch_size),
           "--max-len", str(args.max_len), "--keep-epochs", "last", "--lr", "1e-5"] + ["--activation-checkpointing"] * ac
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    (out / "train.log").parent.mkdir(parents=True, exist_ok=True)
    (out / "train.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode:
        raise SystemExit(f"error: {name}: 05_train.py exited {proc.returncode}; see {out / 'train.log'}")
    rows = [json.loads(ln) for ln in (out / "results" / "train_metrics.jsonl").read_text().splitlines()]
    steps = [r for r in rows if r["kind"] == "step"][2:] or [r for r in rows if r["kind"] == "step"]
    med = lambda k: statistics.median(r[k] for r in steps) if all(k in r for r in steps) else None  # noqa: E731
    return {"activation_checkpointing": ac, "seconds": round(time.perf_counter() - t0, 1), "steps_timed": len(steps),
            "tokens_per_s_per_gpu": med("tokens_per_s"), "mfu": med("mfu"),
            "peak_mem_gb": round(max(r["peak_mem_mb"] for r in steps) * 2**20 / 1e9, 2), "out": out}


def plan_gb(work: Path, args, ac: bool, gpu: bool) -> float:
    from lima.train.memory_plan import Settings, make_plan, read_shape
    import torch
    mem = torch.cuda.get_device_properties(0).total_memory / 1e9 if gpu else 80.0
    s = Settings(nproc_per_node=1, micro_batch=args.micro_batch_size, max_len=args.max_len,
                 batch_size=args.micro_batch_size, activation_checkpointing=ac, gpu=gpu, device_mem_gb=mem, host_mem_gb=1e4)
    plan = make_plan(read_shape(work / "base" / "config.json"), s)
    return round((plan.device_total - plan.device.get("process (Python, torch, transformers)", 0)) / 1e9, 2)


def reload_and_generate(export: Path) -> dict:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    t0 = time.perf_counter()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = AutoModelForCausalLM.from_pretrained(export, dtype="auto").to(device).eval()
    tok = AutoTokenizer.from_pretrained(export)
    ids = torch.tensor([tok.apply_chat_template([{"role": "user", "content": "Write about bread."}], tokenize=True,
                                                add_generation_prompt=True, return_dict=False)], device=device)
    out = model.generate(ids, max_new_tokens=16)
    return {"reload_and_generate_s": round(time.perf_counter() - t0, 1), "new_tokens": out.shape[1] - ids.shape[1],
            "dtype": str(next(model.parameters()).dtype)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=ROOT / "results" / "bench" / "gpu_train.json")
    p.add_argument("--work", type=Path, default=ROOT / "results" / "bench" / "gpu_train")
    p.add_argument("--steps", type=int, default=12, help="optimizer steps per run (the first 2 are not timed)")
    p.add_argument("--micro-batch-size", type=int, default=4)
    p.add_argument("--max-len", type=int, default=2048)
    p.add_argument("--dry-run", action="store_true", help="a tiny config at --max-len 128 on whatever device there is")
    args = p.parse_args(argv)
    import torch
    gpu = torch.cuda.is_available()
    if not gpu and not args.dry_run:
        raise SystemExit("error: no GPU here; --dry-run checks the plumbing on CPU")
    if args.dry_run:
        args.max_len, args.steps, args.micro_batch_size = 128, 3, 2
    args.work.mkdir(parents=True, exist_ok=True)
    make_base(args.work / "base", TINY if args.dry_run else ONE_B)
    write_data(args.work, args.steps * args.micro_batch_size, words=args.max_len * 2)
    from lima.train.memory_plan import read_shape
    shape = read_shape(args.work / "base" / "config.json")
    attention = 1 + 12 * shape.layers * shape.hidden * args.max_len / (6 * shape.params)
    runs = []
    for ac in (False, True):
        r = run_05(args.work, f"ac{int(ac)}", args, ac)
        r["plan_gb"] = plan_gb(args.work, args, ac, gpu)
        r["mfu_with_attention"] = round(r["mfu"] * attention, 4) if r["mfu"] else None
        runs.append(r)
        print(f"activation checkpointing {'on ' if ac else 'off'}: {r['tokens_per_s_per_gpu']} tokens/s per GPU, "
              f"MFU {r['mfu']} ({r['mfu_with_attention']} with attention), peak {r['peak_mem_gb']} GB "
              f"(max_memory_allocated{'' if gpu else ': RSS on CPU'}) vs plan {r['plan_gb']} GB")
    export = runs[-1]["out"] / "ckpt" / "epoch_01"
    reload = reload_and_generate(export)
    print(f"export {export}: reloaded and generated {reload['new_tokens']} tokens in {reload['reload_and_generate_s']} s")
    result = {"device": torch.cuda.get_device_name(0) if gpu else "cpu", "dry_run": args.dry_run,
              "params": shape.params, "max_len": args.max_len, "micro_batch_size": args.micro_batch_size,
              "goal_mfu": 0.35, "runs": [{k: (str(v) if isinstance(v, Path) else v) for k, v in r.items()} for r in runs],
              **reload}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"-> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
