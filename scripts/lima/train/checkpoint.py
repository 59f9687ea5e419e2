"""Per-epoch model-only exports and the resumable training state (DESIGN.md §6).

- `epoch_NN/`: safetensors + config + tokenizer (with the EOT chat template) + generation_config
  whose end token is EOT, loadable with `from_pretrained`. Written to a temp folder, renamed last.
- `state/`: torch.distributed.checkpoint of model and optimizer (sharded, any number of ranks can
  read it), per-rank RNG, the step to resume from and a fingerprint of data and arguments;
  `COMPLETE` is written last and the previous state is removed only after the new one is complete.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
from torch.distributed.checkpoint.state_dict import (StateDictOptions, get_model_state_dict,
                                                     get_state_dict, set_state_dict)
from transformers import GenerationConfig

from lima.chat import EOT
from lima.distributed import is_main, rank
from lima.io import write_json

# The paper's decoding (PAPER.md §7), written into each export so `generate()` uses it. The
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


def export_model(model, tokenizer, out_dir: Path, *, dtype: torch.dtype, info: dict) -> None:
    """Collective: every rank must call it."""
    full = get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    if is_main():
        tmp = out_dir.with_name(out_dir.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        full = {k: v.to(dtype) for k, v in full.items()}
        model.config.use_cache = True
        model.config.dtype = dtype
        model.save_pretrained(tmp, state_dict=full, safe_serialization=True)
        model.config.use_cache = False
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
