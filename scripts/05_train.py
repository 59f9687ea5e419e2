"""Stage 05: supervised fine-tuning with the paper's recipe under torchrun + FSDP2 (§3).

Standard next-token loss on assistant tokens and their end-of-turn token, AdamW (β 0.9/0.95, weight
decay 0.1), no warmup, learning rate 1e-5 decaying linearly to 1e-6, 15 epochs, batch 32, texts
trimmed to 2,048 tokens, residual dropout rising from 0.0 at the bottom layer to 0.3 at the top.
Each epoch: dev perplexity, a model-only export (for the epochs kept), the resumable state.
`--recipe alpaca` trains §4.2's Alpaca-65B baseline by Stanford's recipe instead (lima/train/recipes.py).
Workers die with their launcher, and one training at a time holds `--out` (lima/train/lifeline.py);
`--check` validates the inputs in one plain process, which make runs before torchrun. Before any
weight is read, the memory plan (lima/train/memory_plan.py, from config.json alone) must fit the GPUs;
`--plan` prints it.

    torchrun --nproc_per_node 8 scripts/05_train.py --model /models/llama-65b \
        --train data/lima/train.jsonl --dev data/lima/dev.jsonl --out checkpoints/paper
    python scripts/05_train.py --model checkpoints/base --train data/lima/train.jsonl \
        --dev data/lima/dev.jsonl --out checkpoints/sample --epochs 10 --lr 1e-3   # one process
"""
from __future__ import annotations

# First, before torch: lifeline reads the launcher's pid at import (see lima/train/lifeline.py).
from lima.train.lifeline import catch_stop_signal, run_lock, stop_requested  # isort: skip

import argparse
import contextlib
import logging
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers.utils import logging as hf_logging

from lima.train.batching import collate, plan_epoch, steps_per_epoch
from lima.chat import Rendered, show_example
from lima.train.checkpoint import Resumable, export_model, parse_keep, restart_outputs, run_fingerprint
from lima.errors import StageError
from lima.progress import progress
from lima.cli import run_main, setup_logging
from lima.deps import project_sources
from lima.distributed import (all_reduce_sum, cleanup_distributed, gpu_peak_flops, hold_gathered, init_distributed,
                              is_main, log0, peak_mem_mb, rank, world_size)
from lima.funnel import args_record
from lima.io import atomic_write, read_jsonl, write_json
from lima.train.loss import evaluate, micro_loss
from lima.train.metrics_log import Board, MetricsLog, check_available
from lima.train.preflight import run_preflight
from lima.train.memory_plan import check_fits, format_plan, measured_peak_mb, plan_for_run, verdict
from lima.train.model import build_model, check_model_dir, load_tokenizer
from lima.train.recipes import RECIPES, learning_rate, recipe_defaults
from lima.train.data import read_conversations, render_all
from lima.train.report import plot_training, write_report_fragment

log = logging.getLogger("lima.train")
STOPPED_EXIT = 75       # EX_TEMPFAIL: not finished, run again (make stops here; a Slurm job requeues itself)


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
    p.add_argument("--recipe", choices=RECIPES, default="lima",
                   help="lima (§3, the default) or alpaca (§4.2's baseline: Stanford's prompt format, cosine "
                        "schedule with 3%% warmup, 3 epochs, batch 128, lr 2e-5, no weight decay, max length 512); "
                        "a flag given here still wins over the recipe's default")
    p.add_argument("--warmup-ratio", type=float, default=0.0, help="alpaca recipe: share of the steps warming up (0.03)")
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
    p.add_argument("--keep-unsharded", choices=("auto", "yes", "no"), default="auto", help="keep each layer's gathered "
                   "weights and gradients through the optimizer step (one gather and one reduce-scatter per step, not "
                   "three collectives per micro-batch); auto: when the memory plan fits with it")
    p.add_argument("--tensorboard", action="store_true", help="rank 0 also writes the metrics as TensorBoard event "
                   "files in --results/tensorboard (needs requirements-tensorboard.txt)")
    p.add_argument("--stop-after-steps", type=int, default=0, help="stop (as if killed) after this many steps of this run; for resume tests")
    p.add_argument("--check", action="store_true", help="only check the inputs and that no other training holds --out, "
                   "in one plain process (make runs it before torchrun), then exit")
    # ---- the memory plan (lima/train/memory_plan.py): from config.json and these settings, before any weight is read
    p.add_argument("--plan", action="store_true", help="print the memory plan per GPU and per host (reads only "
                   "--model/config.json; beside it the measured peak of --results/train_metrics.jsonl if any), then exit")
    p.add_argument("--nproc-per-node", type=int, default=1, help="plan and --check only: processes per node (torchrun's own in training)")
    p.add_argument("--nnodes", type=int, default=1, help="plan and --check only: nodes")
    p.add_argument("--plan-device", choices=("auto", "gpu", "cpu"), default="auto", help="plan and --check only: "
                   "plan for GPUs (bf16 compute) or CPU processes (fp32); auto: GPUs when this machine has one")
    p.add_argument("--device-mem-gb", type=float, default=0.0, help="memory of one GPU in GB (default: the GPU's own, else 80)")
    p.add_argument("--host-mem-gb", type=float, default=0.0, help="memory of one node in GB (default: this machine's)")
    p.add_argument("--ignore-plan", action="store_true", help="train even when the memory plan says it does not fit")
    p.add_argument("--preflight", type=Path, default=None, metavar="DIR", help="the check before the real run "
                   "(lima/train/preflight.py): plan, a few steps on --nproc-per-node ranks, export, template, reload, "
                   "EOT; writes only under DIR, never --out")
    p.add_argument("-v", "--verbose", action="store_true")
    known, _ = p.parse_known_args(argv)
    p.set_defaults(**recipe_defaults(known.recipe))
    args = p.parse_args(argv)
    args.results = args.results or Path("results") / args.out.name
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    setup_logging(args.verbose)
    if args.plan:
        plan = plan_for_run(args)
        print(format_plan(plan, measured_peak_mb(args.results / "train_metrics.jsonl")))
        return 0
    if args.check:
        return check_inputs(args)
    if args.preflight:
        return run_preflight(args, Path(__file__))
    device = init_distributed()
    try:
        return train(args, device)
    except StageError:
        if is_main():
            raise
        return 2            # every rank hit the same error; rank 0 says it, once
    finally:
        cleanup_distributed()


def check_inputs(args) -> int:
    """--check: the memory plan, the inputs and the run folder, in one plain process before a launcher
    starts the workers (make runs it first), so a bad input is one line rather than one traceback per rank."""
    plan_check(args)
    prepare_data(args)
    with run_lock(args.out):
        pass
    return 0


def plan_check(args, device=None):
    """Stop before loading when the memory plan does not fit (or only say so with --ignore-plan)."""
    check_model_dir(args.model)
    if args.tensorboard:
        check_available()
    plan = plan_for_run(args, device)
    if plan.fits or not args.ignore_plan:
        check_fits(plan, args.model / "config.json")
    else:
        log0("memory plan: %s (--ignore-plan: training anyway)", verdict(plan))
    return plan


@dataclass
class Data:
    tokenizer: object
    counts: Counter
    train: list         # (ids, labels, n_targets) per example
    dev: list
    ppl_set: list


def prepare_data(args) -> Data:
    """Validate the arguments and render the conversations; every problem is a StageError."""
    parse_keep(args.keep_epochs, args.epochs)
    check_model_dir(args.model)
    for flag, path in (("--train", args.train), ("--dev", args.dev)):
        if not path.exists():
            raise StageError(path, f"{flag}: no such file or directory")
    counts = Counter()
    tokenizer = load_tokenizer(args.model, args.recipe)
    train_conv = read_conversations(args.train, counts)
    dev_conv = read_conversations(args.dev, counts)
    data = Data(tokenizer, counts, render_all(tokenizer, train_conv, args.max_len, counts, "train", args.recipe),
                render_all(tokenizer, dev_conv, args.max_len, counts, "dev", args.recipe), [])
    if args.ppl_set:
        train_ids = {r["id"] for r in train_conv}
        held_out = [r for r in read_conversations(args.ppl_set, counts) if r["id"] not in train_ids]
        data.ppl_set = render_all(tokenizer, held_out[:args.ppl_set_size], args.max_len, counts, "ppl_set", args.recipe)
    if not data.train:
        raise StageError(args.train, f"every example was dropped (no target token within --max-len {args.max_len})")
    if not data.dev:
        raise StageError(args.dev, "no usable dev example")
    return data


@contextlib.contextmanager
def hold_run_folder(out: Path):
    """Rank 0 holds the run folder's lock for the whole training; every rank stops if it is taken."""
    with contextlib.ExitStack() as stack:
        error = [None]
        if is_main():
            try:
                stack.enter_context(run_lock(out))
            except StageError as e:
                error[0] = e
        torch.distributed.broadcast_object_list(error, src=0)
        if error[0] is not None:
            raise error[0]
        yield


def setup_model(args, device, tokenizer):
    """The sharded model with residual dropout, its AdamW, and what the logs report about them."""
    if args.cpu_offload and device.type != "cuda":
        log0("--cpu-offload ignored: without a GPU the weights already live in CPU memory")
        args.cpu_offload = False
    model, rates, held = build_model(args.model, tokenizer, device, resid_dropout=args.resid_dropout,
                                     activation_checkpointing=args.activation_checkpointing,
                                     cpu_offload=args.cpu_offload)
    held_by_rank = [None] * world_size()
    torch.distributed.all_gather_object(held_by_rank, held)
    log0("bytes of full weights each rank held before sharding: %s", held_by_rank)
    log0("residual dropout by layer: %s", [round(p, 3) for p in rates])
    torch.manual_seed(args.seed * 1000 + rank())       # dropout masks differ per rank
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, args.beta2),
                                  weight_decay=args.weight_decay)
    # Parameters are sharded: each rank counts its local shards, the sum is the model.
    n_params = int(all_reduce_sum([sum(p.to_local().numel() if hasattr(p, "to_local") else p.numel()
                                       for p in model.parameters())], device)[0])
    return model, optimizer, {"rates": rates, "held_by_rank": held_by_rank, "n_params": n_params}


def train(args, device) -> int:
    if not sys.stderr.isatty():
        hf_logging.disable_progress_bar()
    if not is_main():
        logging.getLogger("lima").setLevel(logging.WARNING)
    world = world_size()
    if args.batch_size % (world * args.micro_batch_size) != 0:
        raise StageError("--batch-size", f"{args.batch_size} is not a multiple of world size × micro-batch "
                         f"({world} × {args.micro_batch_size}); change --micro-batch-size or the number of processes")
    plan = plan_check(args, device)        # before any weight is read
    # Every rank must gather alike: the layers stay unsharded only where every rank's plan said so.
    args.keep_unsharded = all_reduce_sum([float(plan.settings.keep_unsharded)], device)[0] == world
    log0("layers %s", "kept unsharded through each step" if args.keep_unsharded else "gathered per micro-batch")
    # SIGTERM: save the state at the next step and stop (Slurm's requeue)
    with catch_stop_signal(), hold_run_folder(args.out):
        return train_locked(args, device, world)


def train_locked(args, device, world) -> int:
    data = prepare_data(args)
    keep = parse_keep(args.keep_epochs, args.epochs)
    train, pad_id = data.train, data.tokenizer.pad_token_id
    n_steps = steps_per_epoch(len(train), args.batch_size)
    total_steps = n_steps * args.epochs
    log0("%d train examples (%s), %d dev; %d steps/epoch × %d epochs = %d steps; world %d, accumulation %d",
         len(train), dict(data.counts), len(data.dev), n_steps, args.epochs, total_steps, world,
         args.batch_size // (world * args.micro_batch_size))
    log0("example with its supervised part in [[...]]: %s",
         show_example(data.tokenizer, Rendered(train[0][0], train[0][1], False)))
    model, optimizer, info = setup_model(args, device, data.tokenizer)
    peak_flops = gpu_peak_flops(device)

    # ---- resume a saved state of this very run, or start afresh
    fp = run_fingerprint(args, project_sources(__file__))   # the same import closure Make's prerequisites come from
    state = Resumable(args.out / "state", fp, world)
    start_step = state.resume(model, optimizer, total_steps)
    metrics_path = args.results / "train_metrics.jsonl"
    log_row = None
    if is_main():
        restart_outputs(args.out, metrics_path, start_step, n_steps)
        write_json(args.results / "train_start.json", {   # what `make status` needs beside the metrics
            "total_steps": total_steps, "steps_per_epoch": n_steps, "epochs": args.epochs, "start_step": start_step,
            "world_size": world, "started": time.time(), "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
            "slurm_restart": int(os.environ.get("SLURM_RESTART_COUNT") or 0)})
        board = Board(args.results / "tensorboard", start_step, n_steps) if args.tensorboard else None
        log_row = MetricsLog(metrics_path, board)
    torch.distributed.barrier()

    # ---- the loop
    model.train()
    lengths, targets = [len(i) for i, _, _ in train], [t for _, _, t in train]
    dummy = (train[0][0], train[0][1])
    steps_this_run, stop = 0, 0.0
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
            for k, slot in enumerate(step.slots[rank()]):
                hold_gathered(model, args.keep_unsharded, last=k == len(step.slots[rank()]) - 1)
                weight = 1.0 if slot else 0.0
                batch = collate([(train[i][0], train[i][1]) for i in slot] if slot else [dummy], pad_id)
                ce, n_real, n_all = micro_loss(model, batch, device)
                # Normalised by the target tokens of the whole global batch (not a mean of micro-batch
                # means); × world because FSDP averages gradients over ranks.
                (ce * (weight * world / step.n_target)).backward()
                ce_total += float(ce.detach()) * weight
                real += n_real if slot else 0
                padded += n_all if slot else 0
            hold_gathered(model, args.keep_unsharded, last=None)
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(),
                                                       args.max_grad_norm if args.max_grad_norm > 0 else float("inf"))
            grad_norm = float(grad_norm.full_tensor() if hasattr(grad_norm, "full_tensor") else grad_norm)
            lr = learning_rate(args, step.index, total_steps)
            for group in optimizer.param_groups:
                group["lr"] = lr
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            # Any rank's SIGTERM stops every rank after this same step.
            ce_total, real, padded, stop = all_reduce_sum([ce_total, real, padded, float(stop_requested())], device)
            dt = time.perf_counter() - t0
            if is_main():
                row = {"kind": "step", "step": step.index, "epoch": epoch + 1, "loss": round(ce_total / step.n_target, 6),
                       "lr": lr, "grad_norm": round(grad_norm, 6), "tokens_per_s": round(real / dt, 1),
                       "real_token_ratio": round(real / max(padded, 1), 4), "peak_mem_mb": round(peak_mem_mb(device), 1),
                       "step_s": round(dt, 4), "time": round(time.time(), 1)}
                if peak_flops:      # model FLOPs utilisation, 6·N per token (forward and backward)
                    row["mfu"] = round(6 * info["n_params"] * (padded / dt) / (peak_flops * world), 4)
                log_row(row)
                bar.update(1)
                bar.set_postfix(loss=f"{ce_total / step.n_target:.3f}", lr=f"{lr:.2e}")
            steps_this_run += 1
            last_of_epoch = step.index == (epoch + 1) * n_steps - 1
            if args.save_every and (step.index + 1) % args.save_every == 0 and not last_of_epoch:
                state.save(model, optimizer, step.index + 1)
            if args.stop_after_steps and steps_this_run >= args.stop_after_steps:
                log0("stopping after %d steps (--stop-after-steps)", steps_this_run)
                return 0
            if stop and not last_of_epoch:
                state.save(model, optimizer, step.index + 1)
                return stopped(args, step.index + 1, total_steps)
        end_of_epoch(args, model, data, epoch, keep, log_row, device,
                     info={"step": (epoch + 1) * n_steps, "fingerprint": fp})
        state.save(model, optimizer, (epoch + 1) * n_steps)
        if stop and epoch + 1 < args.epochs:        # asked during the epoch's last step: its end is done too
            return stopped(args, (epoch + 1) * n_steps, total_steps)

    if is_main():
        bar.close()
        log_row.close()
        finish(args, data, keep, metrics_path, total_steps, world, fp, info)
    torch.distributed.barrier()
    return 0


def stopped(args, next_step: int, total_steps: int) -> int:
    """After a SIGTERM, the state saved: rank 0 writes `STOPPED` (the Slurm job requeues itself on it)."""
    if is_main():
        with atomic_write(args.out / "STOPPED") as f:
            f.write(f"stopped by SIGTERM; resumes at step {next_step} of {total_steps}\n")
        log.warning("stopped by SIGTERM: state saved, a rerun resumes at step %d of %d", next_step, total_steps)
    torch.distributed.barrier()
    return STOPPED_EXIT


def end_of_epoch(args, model, data, epoch, keep, log_row, device, info) -> None:
    """Collective: dev (and --ppl-set) perplexity, and the model-only export of a kept epoch."""
    pad_id = data.tokenizer.pad_token_id
    dev_loss, dev_ppl = evaluate(model, data.dev, pad_id, args.micro_batch_size, device)
    row = {"kind": "epoch", "epoch": epoch + 1, "dev_loss": round(dev_loss, 6), "dev_ppl": round(dev_ppl, 4)}
    if data.ppl_set:
        ppl_loss, ppl = evaluate(model, data.ppl_set, pad_id, args.micro_batch_size, device)
        row.update({"ppl_set_loss": round(ppl_loss, 6), "ppl_set_ppl": round(ppl, 4)})
    log0("epoch %d: dev loss %.4f, perplexity %.3f", epoch + 1, dev_loss, dev_ppl)
    if epoch + 1 in keep:
        export_model(model, data.tokenizer, args.out / f"epoch_{epoch + 1:02d}", dtype=export_dtype(args, device),
                     info={"epoch": epoch + 1, "step": info["step"], **row,
                           "args": args_record(args), "fingerprint": info["fingerprint"]})
    if is_main():
        log_row(row)


def export_dtype(args, device) -> torch.dtype:
    return {"float32": torch.float32, "bfloat16": torch.bfloat16,
            "auto": torch.bfloat16 if device.type == "cuda" else torch.float32}[args.export_dtype]


def finish(args, data, keep, metrics_path, total_steps, world, fp, info) -> None:
    """Rank 0: curves, summary, report fragment, then `TRAINED` last."""
    rows = list(read_jsonl(metrics_path, tolerate_torn_tail=True))
    plot_training(rows, args.results)
    write_json(args.out / "train_summary.json", {
        "examples": len(data.train), "counts": dict(data.counts), "steps": total_steps, "world_size": world,
        "exported_epochs": sorted(keep), "fingerprint": fp, "weights_held_before_sharding": info["held_by_rank"],
        "args": args_record(args)})
    write_report_fragment(args, rows, len(data.train), total_steps, world, info["rates"], data.counts)
    with atomic_write(args.out / "TRAINED") as f:
        f.write(f"trained {args.epochs} epochs, {total_steps} steps, fingerprint {fp}\n")
    print(f"train: {args.epochs} epochs, {total_steps} steps on {world} rank(s) -> {args.out} "
          f"(exports: {', '.join(f'epoch_{e:02d}' for e in sorted(keep))})")


if __name__ == "__main__":
    sys.exit(run_main(main))
