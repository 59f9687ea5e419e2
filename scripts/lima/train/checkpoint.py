"""Per-epoch model-only exports and the resumable training state (docs/design.md#checkpoints).

- `epoch_NN/`: sharded safetensors with `model.safetensors.index.json` (written by all ranks, no rank
  holding the whole model) + config + tokenizer (with the EOT chat template) + generation_config
  whose end token is EOT, loadable with `from_pretrained`. Written to a temp folder, renamed last.
- `state/` (`Resumable`): torch.distributed.checkpoint of model and optimizer (sharded, any number
  of ranks can read it), per-rank RNG, the step to resume from and a fingerprint of data and arguments;
  `COMPLETE` is written last and the previous state is removed only after the new one is complete.
"""
from __future__ import annotations

import copy
import hashlib
import json
import logging
import shutil
from pathlib import Path

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
from torch.distributed.checkpoint.state_dict import get_state_dict, set_state_dict
from transformers import GenerationConfig

from lima.chat import EOT
from lima.distributed import is_main, rank
from lima.io import atomic_write, read_jsonl, write_json

log = logging.getLogger("lima.train")

# The paper's decoding (§4.1), written into each export so `generate()` uses it. The
# repetition penalty (1.2 on generated tokens only) needs stage 06's processor: the stock one also
# penalises prompt tokens.
DECODING = {"do_sample": True, "top_p": 0.9, "temperature": 0.7, "max_new_tokens": 2048}


def fingerprint(files: list[Path], settings: dict) -> str:
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode())
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    h.update(json.dumps(settings, sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


# Largest export file; a 65B model in bf16 makes ~27 files (Hugging Face's own default is 5 GB too).
SHARD_BYTES = 5 * 10**9


def shard_plan(tensors: dict, dtype: torch.dtype, shard_bytes: int) -> dict[str, int]:
    """Tensor name -> export file number (1-based): in the model's order, a new file when the
    current one would pass `shard_bytes` (a bigger tensor gets a file of its own)."""
    plan, index, size = {}, 1, 0
    item = torch.empty((), dtype=dtype).element_size()
    for name, t in tensors.items():
        n = t.numel() * item
        if size and size + n > shard_bytes:
            index, size = index + 1, 0
        plan[name] = index
        size += n
    return plan


def export_model(model, tokenizer, out_dir: Path, *, dtype: torch.dtype, info: dict,
                 shard_bytes: int = SHARD_BYTES) -> None:
    """Collective: every rank must call it. Each rank writes its own slices (torch.distributed.checkpoint's
    Hugging Face writer), then the ranks consolidate them into standard `model-0000i-of-0000N.safetensors`
    files, each file by one rank, one tensor at a time, with `model.safetensors.index.json`: no rank ever
    holds the whole model. Rank 0 adds config, tokenizer and generation config, and renames the folder last."""
    from torch.distributed.checkpoint import HuggingFaceStorageWriter
    from torch.distributed.checkpoint._consolidate_hf_safetensors import consolidate_safetensors_files_on_every_rank

    tmp = out_dir.with_name(out_dir.name + ".tmp")
    if is_main():
        shutil.rmtree(tmp, ignore_errors=True)
        (tmp / "sharded").mkdir(parents=True)
    dist.barrier()
    # named_parameters lists a tied output matrix once, as the input embedding: the export stays tied.
    tensors = {name: p.detach().to(dtype) for name, p in model.named_parameters()}
    plan = shard_plan(tensors, dtype, shard_bytes)
    dcp.save(tensors, storage_writer=HuggingFaceStorageWriter(str(tmp / "sharded"), fqn_to_index_mapping=plan,
                                                              save_distributed=True))
    del tensors
    consolidate_safetensors_files_on_every_rank(str(tmp / "sharded"), str(tmp), plan)
    if is_main():
        shutil.rmtree(tmp / "sharded")
        config = copy.deepcopy(model.config)
        config.use_cache = True
        config.dtype = dtype
        config.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        eot = tokenizer.convert_tokens_to_ids(EOT)
        GenerationConfig(bos_token_id=tokenizer.bos_token_id, eos_token_id=eot,
                         pad_token_id=tokenizer.pad_token_id, **DECODING).save_pretrained(tmp)
        write_json(tmp / "lima_export.json", info)
        shutil.rmtree(out_dir, ignore_errors=True)
        tmp.rename(out_dir)
    dist.barrier()


def save_state(model, optimizer, state_dir: Path, meta: dict) -> None:
    """Collective. Writes `state.new/`, then swaps it in place of `state/`."""
    new = state_dir.with_name(state_dir.name + ".new")
    if is_main():
        shutil.rmtree(new, ignore_errors=True)
    dist.barrier()
    msd, osd = get_state_dict(model, optimizer)
    dcp.save({"model": msd, "optim": osd}, checkpoint_id=str(new))
    rng = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state()
    torch.save(rng, new / f"rng_rank{rank()}.pt")
    dist.barrier()
    if is_main():
        write_json(new / "meta.json", meta)
        (new / "COMPLETE").write_text("ok\n")
        old = state_dir.with_name(state_dir.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if state_dir.exists():
            state_dir.rename(old)
        new.rename(state_dir)
        shutil.rmtree(old, ignore_errors=True)
    dist.barrier()


def find_state(state_dir: Path) -> Path | None:
    """The newest complete state, also after a crash in the middle of the swap."""
    for d in (state_dir, state_dir.with_name(state_dir.name + ".new")):
        if (d / "COMPLETE").exists():
            return d
    return None


def load_state(model, optimizer, state: Path, world: int) -> dict:
    """Collective. Returns the saved meta; restores per-rank RNG when the world size is unchanged."""
    meta = json.loads((state / "meta.json").read_text())
    msd, osd = get_state_dict(model, optimizer)
    sd = {"model": msd, "optim": osd}
    dcp.load(sd, checkpoint_id=str(state))
    set_state_dict(model, optimizer, model_state_dict=sd["model"], optim_state_dict=sd["optim"])
    rng_file = state / f"rng_rank{rank()}.pt"
    if meta.get("world_size") == world and rng_file.exists():
        rng = torch.load(rng_file, weights_only=True)
        torch.set_rng_state(rng["cpu"])
        if "cuda" in rng and torch.cuda.is_available():
            torch.cuda.set_rng_state(rng["cuda"])
    dist.barrier()
    return meta


def parse_keep(spec: str, epochs: int) -> set[int]:
    """Which epochs to export: 'all', or ranges like '5-10,last' (one-based)."""
    if spec == "all":
        return set(range(1, epochs + 1))
    keep = set()
    for part in filter(None, (s.strip() for s in spec.split(","))):
        if part == "last":
            keep.add(epochs)
        elif "-" in part:
            a, b = map(int, part.split("-"))
            keep.update(range(a, b + 1))
        else:
            keep.add(int(part))
    return {e for e in keep if 1 <= e <= epochs}


# ---- resume bookkeeping ------------------------------------------------------------------------

# Arguments that say where and how a run is written, not which weights it ends with.
NOT_FINGERPRINTED = ("out", "results", "keep_epochs", "save_every", "stop_after_steps", "verbose",
                     "activation_checkpointing", "cpu_offload", "export_dtype", "check",
                     "plan", "nproc_per_node", "nnodes", "plan_device", "device_mem_gb", "host_mem_gb", "ignore_plan",
                     "preflight", "tensorboard", "keep_unsharded")


def run_fingerprint(args, code: list[Path]) -> str:
    """Data, base model config, recipe and `code` (the script's import closure, `lima.deps`): the code
    that shapes the weights is part of it, so a state saved by older code never passes for this run."""
    settings = {k: v for k, v in vars(args).items() if k not in NOT_FINGERPRINTED}
    files = [p for p in (args.train, args.dev, args.ppl_set, args.model / "config.json", *code) if p]
    return fingerprint(files, settings)


class Resumable:
    """The run's `state/`: saved with this run's fingerprint, resumed only when it matches."""

    def __init__(self, state_dir: Path, fp: str, world: int):
        self.dir, self.fp, self.world = state_dir, fp, world

    def resume(self, model, optimizer, total_steps: int) -> int:
        """Collective. Loads a state of this very run and returns its next step; 0 when there is none."""
        state = find_state(self.dir)
        if state is None:
            return 0
        saved_fp = json.loads((state / "meta.json").read_text()).get("fingerprint")
        if saved_fp != self.fp:
            if is_main():
                log.info("the saved state was made with other data or arguments (fingerprint %s, now %s): "
                         "starting afresh", saved_fp, self.fp)
            return 0
        start = load_state(model, optimizer, state, self.world)["next_step"]
        if is_main():
            log.info("resuming from %s at step %d of %d", state, start, total_steps)
        return start

    def save(self, model, optimizer, next_step: int) -> None:
        """Collective."""
        save_state(model, optimizer, self.dir, {"next_step": next_step, "fingerprint": self.fp,
                                                "world_size": self.world})


def restart_outputs(out: Path, metrics_path: Path, start_step: int, steps_per_epoch: int) -> None:
    """Rank 0, before the first step: the run is unfinished again (`TRAINED` goes) and the metrics
    keep only the rows of steps and epochs before `start_step`, so a resumed run logs each step once."""
    out.mkdir(parents=True, exist_ok=True)
    metrics_path.parent.mkdir(parents=True, exist_ok=True)
    (out / "TRAINED").unlink(missing_ok=True)
    (out / "STOPPED").unlink(missing_ok=True)
    kept = []
    if start_step and metrics_path.exists():
        done_epochs = start_step // steps_per_epoch
        kept = [r for r in read_jsonl(metrics_path, tolerate_torn_tail=True)
                if (r["kind"] == "step" and r["step"] < start_step)
                or (r["kind"] == "epoch" and r["epoch"] <= done_epochs)]
    with atomic_write(metrics_path) as f:
        for r in kept:
            f.write(json.dumps(r) + "\n")
