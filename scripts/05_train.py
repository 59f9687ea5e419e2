"""Stage 05: supervised fine-tuning with the paper's recipe under torchrun + FSDP2 (PAPER.md §6).

Standard next-token loss on assistant tokens and their end-of-turn token, AdamW (β 0.9/0.95, weight
decay 0.1), no warmup, learning rate 1e-5 decaying linearly to 1e-6, 15 epochs, batch 32, texts
trimmed to 2,048 tokens, residual dropout rising from 0.0 at the bottom layer to 0.3 at the top.
Each epoch: dev perplexity, a model-only export (for the epochs kept), the resumable state.

    torchrun --nproc_per_node 8 scripts/05_train.py --model /models/llama-65b \
        --train data/lima/train.jsonl --dev data/lima/dev.jsonl --out checkpoints/paper
    python scripts/05_train.py --model checkpoints/base --train data/lima/train.jsonl \
        --dev data/lima/dev.jsonl --out checkpoints/sample --epochs 10 --lr 1e-3   # one process
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections import Counter
from pathlib import Path

import torch
from transformers.utils import logging as hf_logging

from lima.train.batching import collate, plan_epoch, steps_per_epoch
from lima.chat import Rendered, show_example
from lima.train.checkpoint import export_model, find_state, fingerprint, load_state, parse_keep, save_state
from lima.errors import StageError
from lima.progress import progress
from lima.cli import run_main, setup_logging
from lima.deps import project_sources
from lima.distributed import (all_reduce_sum, cleanup_distributed, gpu_peak_flops, init_distributed, is_main,
                              log0, peak_mem_mb, rank, world_size)
from lima.io import append_jsonl, atomic_write, read_jsonl, write_json
from lima.train.loss import evaluate, micro_loss
from lima.train.model import build_model, load_tokenizer
from lima.train.schedule import lr_at
from lima.train.data import read_conversations, render_all
from lima.train.report import plot_training, write_report_fragment

log = logging.getLogger("lima.train")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    # ---- data and model
    p.add_argument("--model", type=Path, required=True, help="base model folder in Hugging Face format (nothing is downloaded)")
    p.add_argument("--train", type=Path, required=True, help="training conversations (our JSONL or GAIR/lima train.jsonl)")
    p.add_argument("--dev", type=Path, required=True, help="dev conversations: loss and perplexity each epoch")
    p.add_argument("--ppl-set", type=Path, default=None, help="a further held-out set scored each epoch; rows whose id is in --train are left out (Appendix B: held-out Stack Exchange examples)")
    p.add_argument("--ppl-set-size", type=int, default=2000, help="Appendix B: 2,000 examples")
    p.add_argument("--out", type=Path, required=True, help="checkpoints/<run>: epoch_NN/ exports, state/, TRAINED")
    p.add_argument("--results", type=Path, default=None, help="results/<run> (default: results/<name of --out>)")
    # ---- the recipe (defaults are the paper's, §3 and Appendix B)
    p.add_argument("--epochs", type=int, default=15, help="§3: 15")
    p.add_argument("--batch-size", type=int, default=32, help="examples per optimizer step (§3: 32; 64 for smaller models)")
    p.add_argument("--micro-batch-size", type=int, default=1, help="examples per forward pass on one rank")
    p.add_argument("--lr", type=float, default=1e-5, help="§3: starts at 1e-5, no warmup")
    p.add_argument("--final-lr", type=float, default=1e-6, help="§3: linear decay to 1e-6 at the last step")
    p.add_argument("--weight-decay", type=float, default=0.1, help="§3: 0.1")
    p.add_argument("--beta2", type=float, default=0.95, help="§3: AdamW β2 0.95 (β1 0.9)")
    p.add_argument("--max-len", type=int, default=2048, help="§3: texts longer than 2,048 tokens are trimmed (keeping the start)")
    p.add_argument("--resid-dropout", type=float, default=0.3, help="§3: residual dropout at the top layer (0.2 for smaller models), 0.0 at the bottom")
    p.add_argument("--max-grad-norm", type=float, default=1.0, help="gradient clipping (not stated in the paper; 0 = off)")
    p.add_argument("--seed", type=int, default=0)
    # ---- outputs and systems
    p.add_argument("--keep-epochs", default="5-10,last", help="epochs to export: 'all' or ranges like '5-10,last' (one-based)")
    p.add_argument("--save-every", type=int, default=0, help="also save the resumable state every N steps (0 = at epoch ends only)")
    p.add_argument("--export-dtype", choices=("auto", "float32", "bfloat16"), default="auto", help="auto: bfloat16 on GPU, float32 on CPU")
    p.add_argument("--activation-checkpointing", action="store_true")
    p.add_argument("--cpu-offload", action="store_true", help="FSDP2 CPU offload of parameters, gradients and optimizer state")
    p.add_argument("--stop-after-steps", type=int, default=0, help="stop (as if killed) after this many steps of this run; for resume tests")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    args.results = args.results or Path("results") / args.out.name
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    device = init_distributed()
    try:
        return train(args, device)
    finally:
        cleanup_distributed()


def train(args, device) -> int:
    setup_logging(args.verbose)
    if not sys.stderr.isatty():
        hf_logging.disable_progress_bar()
    if not is_main():
        logging.getLogger("lima").setLevel(logging.WARNING)
    world = world_size()
    if args.batch_size % (world * args.micro_batch_size) != 0:
        raise StageError("--batch-size", f"{args.batch_size} is not a multiple of world size × micro-batch "
                         f"({world} × {args.micro_batch_size}); change --micro-batch-size or the number of processes")
    for flag, path in (("--model", args.model), ("--train", args.train), ("--dev", args.dev)):
        if not path.exists():
            raise StageError(path, f"{flag}: no such file or directory")
    keep = parse_keep(args.keep_epochs, args.epochs)

    # ---- data
    counts = Counter()
    tokenizer = load_tokenizer(args.model)
    train_conv = read_conversations(args.train, counts)
    dev_conv = read_conversations(args.dev, counts)
    train = render_all(tokenizer, train_conv, args.max_len, counts, "train")
    dev = render_all(tokenizer, dev_conv, args.max_len, counts, "dev")
    ppl_set = []
    if args.ppl_set:
        train_ids = {r["id"] for r in train_conv}
        held_out = [r for r in read_conversations(args.ppl_set, counts) if r["id"] not in train_ids]
        ppl_set = render_all(tokenizer, held_out[:args.ppl_set_size], args.max_len, counts, "ppl_set")
    if not train:
        raise StageError(args.train, f"every example was dropped (no target token within --max-len {args.max_len})")
    if not dev:
        raise StageError(args.dev, "no usable dev example")
    lengths, targets = [len(i) for i, _, _ in train], [t for _, _, t in train]
    n_steps = steps_per_epoch(len(train), args.batch_size)
    total_steps = n_steps * args.epochs
    log0("%d train examples (%s), %d dev; %d steps/epoch × %d epochs = %d steps; world %d, accumulation %d",
         len(train), dict(counts), len(dev), n_steps, args.epochs, total_steps, world,
         args.batch_size // (world * args.micro_batch_size))
    log0("example with its supervised part in [[...]]: %s",
         show_example(tokenizer, Rendered(train[0][0], train[0][1], False)))

    # ---- model and optimizer
    if args.cpu_offload and device.type != "cuda":
        log0("--cpu-offload ignored: without a GPU the weights already live in CPU memory")
        args.cpu_offload = False
    model, rates, held = build_model(args.model, tokenizer, device, resid_dropout=args.resid_dropout,
                                     activation_checkpointing=args.activation_checkpointing,
                                     cpu_offload=args.cpu_offload)
    held_by_rank = [None] * world
    torch.distributed.all_gather_object(held_by_rank, held)
    log0("bytes of full weights each rank held before sharding: %s", held_by_rank)
    log0("residual dropout by layer: %s", [round(p, 3) for p in rates])
    torch.manual_seed(args.seed * 1000 + rank())       # dropout masks differ per rank
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, args.beta2),
                                  weight_decay=args.weight_decay)
    # Parameters are sharded: each rank counts its local shards, the sum is the model.
    n_params = int(all_reduce_sum([sum(p.to_local().numel() if hasattr(p, "to_local") else p.numel()
                                       for p in model.parameters())], device)[0])
    peak_flops = gpu_peak_flops(device)
    export_dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16,
                    "auto": torch.bfloat16 if device.type == "cuda" else torch.float32}[args.export_dtype]

    # ---- resume, or start afresh
    run_settings = {k: v for k, v in vars(args).items()
                    if k not in ("out", "results", "keep_epochs", "save_every", "stop_after_steps", "verbose",
                                 "activation_checkpointing", "cpu_offload", "export_dtype")}
    # The code that shapes the weights is part of the fingerprint: Make reruns training when it changes,
    # and a finished state made by older code must not pass for the new result.
    code = project_sources(__file__)     # the same import closure Make's prerequisites come from
    fp = fingerprint([p for p in (args.train, args.dev, args.ppl_set, args.model / "config.json", *code) if p],
                     run_settings)
    state_dir = args.out / "state"
    metrics_path = args.results / "train_metrics.jsonl"
    start_step = 0
    state = find_state(state_dir)
    if state is not None:
        saved_fp = json.loads((state / "meta.json").read_text()).get("fingerprint")
        if saved_fp == fp:
            meta = load_state(model, optimizer, state, world)
            start_step = meta["next_step"]
            log0("resuming from %s at step %d of %d", state, start_step, total_steps)
        else:
            log0("the saved state was made with other data or arguments (fingerprint %s, now %s): starting afresh",
                 saved_fp, fp)
    if is_main():
        args.out.mkdir(parents=True, exist_ok=True)
        args.results.mkdir(parents=True, exist_ok=True)
        (args.out / "TRAINED").unlink(missing_ok=True)
        kept_rows = []
        if start_step and metrics_path.exists():
            done_epochs = start_step // n_steps
            kept_rows = [r for r in read_jsonl(metrics_path, tolerate_torn_tail=True)
                         if (r["kind"] == "step" and r["step"] < start_step)
                         or (r["kind"] == "epoch" and r["epoch"] <= done_epochs)]
        with atomic_write(metrics_path) as f:
            for r in kept_rows:
                f.write(json.dumps(r) + "\n")
    torch.distributed.barrier()

    # ---- the loop
    model.train()
    pad_id = tokenizer.pad_token_id
    dummy = (train[0][0], train[0][1])
    steps_this_run = 0
    bar = progress(total=total_steps, initial=start_step, desc="train", unit="step", disable=not is_main() or None)
    for epoch in range(start_step // n_steps, args.epochs):
        plan = plan_epoch(lengths, targets, batch_size=args.batch_size, world=world,
                          micro_batch_size=args.micro_batch_size, seed=args.seed, epoch=epoch,
                          first_step=epoch * n_steps)
        for step in plan:
            if step.index < start_step:
                continue
            t0 = time.perf_counter()
            ce_total, real, padded = 0.0, 0, 0
            for slot in step.slots[rank()]:
                weight = 1.0 if slot else 0.0
                batch = collate([(train[i][0], train[i][1]) for i in slot] if slot else [dummy], pad_id)
                ce, n_real, n_all = micro_loss(model, batch, device)
                # Normalised by the target tokens of the whole global batch (not a mean of micro-batch
                # means); × world because FSDP averages gradients over ranks.
                (ce * (weight * world / step.n_target)).backward()
                ce_total += float(ce.detach()) * weight
                real += n_real if slot else 0
                padded += n_all if slot else 0
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(),
                                                       args.max_grad_norm if args.max_grad_norm > 0 else float("inf"))
            grad_norm = float(grad_norm.full_tensor() if hasattr(grad_norm, "full_tensor") else grad_norm)
            lr = lr_at(step.index, total_steps, args.lr, args.final_lr)
            for group in optimizer.param_groups:
                group["lr"] = lr
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            ce_total, real, padded = all_reduce_sum([ce_total, real, padded], device)
            dt = time.perf_counter() - t0
            if is_main():
                row = {"kind": "step", "step": step.index, "epoch": epoch + 1, "loss": round(ce_total / step.n_target, 6),
                       "lr": lr, "grad_norm": round(grad_norm, 6), "tokens_per_s": round(real / dt, 1),
                       "real_token_ratio": round(real / max(padded, 1), 4), "peak_mem_mb": round(peak_mem_mb(device), 1)}
                if peak_flops:      # model FLOPs utilisation, 6·N per token (forward and backward)
                    row["mfu"] = round(6 * n_params * (padded / dt) / (peak_flops * world), 4)
                append_jsonl(metrics_path, row)
                bar.update(1)
                bar.set_postfix(loss=f"{ce_total / step.n_target:.3f}", lr=f"{lr:.2e}")
            steps_this_run += 1
            last_of_epoch = step.index == (epoch + 1) * n_steps - 1
            if args.save_every and (step.index + 1) % args.save_every == 0 and not last_of_epoch:
                save_state(model, optimizer, state_dir, {"next_step": step.index + 1, "fingerprint": fp,
                                                         "world_size": world})
            if args.stop_after_steps and steps_this_run >= args.stop_after_steps:
                log0("stopping after %d steps (--stop-after-steps)", steps_this_run)
                return 0

        # ---- end of epoch: perplexity, export, resumable state
        dev_loss, dev_ppl = evaluate(model, dev, pad_id, args.micro_batch_size, device)
        row = {"kind": "epoch", "epoch": epoch + 1, "dev_loss": round(dev_loss, 6), "dev_ppl": round(dev_ppl, 4)}
        if ppl_set:
            ppl_loss, ppl = evaluate(model, ppl_set, pad_id, args.micro_batch_size, device)
            row.update({"ppl_set_loss": round(ppl_loss, 6), "ppl_set_ppl": round(ppl, 4)})
        log0("epoch %d: dev loss %.4f, perplexity %.3f", epoch + 1, dev_loss, dev_ppl)
        if epoch + 1 in keep:
            export_model(model, tokenizer, args.out / f"epoch_{epoch + 1:02d}", dtype=export_dtype,
                         info={"epoch": epoch + 1, "step": (epoch + 1) * n_steps, **row,
                               "args": {k: str(v) for k, v in vars(args).items()}, "fingerprint": fp})
        if is_main():
            append_jsonl(metrics_path, row)
        save_state(model, optimizer, state_dir, {"next_step": (epoch + 1) * n_steps, "fingerprint": fp,
                                                 "world_size": world})

    if is_main():
        bar.close()
        rows = list(read_jsonl(metrics_path, tolerate_torn_tail=True))
        plot_training(rows, args.results)
        write_json(args.out / "train_summary.json", {
            "examples": len(train), "counts": dict(counts), "steps": total_steps, "world_size": world,
            "exported_epochs": sorted(keep), "fingerprint": fp, "weights_held_before_sharding": held_by_rank,
            "args": {k: str(v) for k, v in vars(args).items()}})
        write_report_fragment(args, rows, len(train), total_steps, world, rates)
        with atomic_write(args.out / "TRAINED") as f:
            f.write(f"trained {args.epochs} epochs, {total_steps} steps, fingerprint {fp}\n")
        print(f"train: {args.epochs} epochs, {total_steps} steps on {world} rank(s) -> {args.out} "
              f"(exports: {', '.join(f'epoch_{e:02d}' for e in sorted(keep))})")
    torch.distributed.barrier()
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
