"""Load a base model for fine-tuning: EOT and PAD tokens added, weights read straight into the
sharded model.

Every rank builds the model on the meta device, shards it (FSDP2), and reads only its own slices
of the safetensors files through torch.distributed.checkpoint's Hugging Face storage reader: no
host ever holds the whole model (LLaMA-65B is ~260 GB in fp32; docs/design.md#pitfalls-the-training-code-avoids).
The vocabulary-sized matrices are the exception that proves the rule: they grow by the EOT/PAD rows,
which start at the mean of the existing rows, so rank 0 reads each such matrix once, alone, to take
that mean (under 1% of a LLaMA model), and every rank then reads its own rows of it.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import torch
import torch.distributed as dist
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

from lima.chat import EOT, PAD
from lima.distributed import rank, shard_model
from lima.errors import StageError
from lima.train.dropout import add_residual_dropout
from lima.train.recipes import chat_template

log = logging.getLogger("lima.train")

INDEX = "model.safetensors.index.json"
GGUF_HINT = ("a GGUF file: convert it to a Hugging Face folder first (scripts/tools/convert_smollm2.py for "
             "SmolLM2; in general AutoModelForCausalLM.from_pretrained(folder, gguf_file=...) then save_pretrained)")


def weight_files(model_dir: Path) -> list[Path]:
    """The safetensors files of a model folder: those its index names, or every *.safetensors."""
    index = model_dir / INDEX
    if index.is_file():
        try:
            names = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        except (ValueError, KeyError, AttributeError) as e:
            raise StageError(index, f"--model: unreadable index ({type(e).__name__}: {e})") from None
        missing = [n for n in names if not (model_dir / n).is_file()]
        if missing:
            raise StageError(index, f"--model: the index names {len(missing)} missing shard(s), e.g. {missing[0]}")
        return [model_dir / n for n in names]
    return sorted(model_dir.glob("*.safetensors"))


def is_gguf(path: Path) -> bool:
    if not path.is_file():
        return False
    with open(path, "rb") as f:
        return f.read(4) == b"GGUF"


def check_model_dir(model_dir: Path) -> None:
    """A Hugging Face model folder with safetensors weights, or the one-line error naming what is
    wrong (before any rank starts loading it: a failed load on one rank would leave the others
    waiting in a collective)."""
    if model_dir.suffix.lower() == ".gguf" or is_gguf(model_dir):
        raise StageError(model_dir, f"--model: {GGUF_HINT}")
    if not model_dir.is_dir():
        raise StageError(model_dir, "--model: no such folder")
    if not (model_dir / "config.json").is_file():
        if any(model_dir.glob("*.gguf")):
            raise StageError(model_dir, f"--model: holds {GGUF_HINT}")
        raise StageError(model_dir / "config.json", "--model: no such file; a Hugging Face model folder "
                                                    "(config.json, weights, tokenizer) is expected")
    if not weight_files(model_dir):
        if any(model_dir.glob("*.bin")):
            raise StageError(model_dir, "--model: only pickled *.bin weights, which cannot be read slice by slice; "
                                        "convert them once: from_pretrained(folder).save_pretrained(new_folder)")
        raise StageError(model_dir, "--model: no weights (*.safetensors)")


def load_tokenizer(model_dir, recipe: str = "lima"):
    """The base tokenizer plus EOT and a pad token distinct from EOS and EOT (a pad equal to EOS
    gets EOS masked out of the loss and the model never learns to stop: docs/design.md#pitfalls-the-training-code-avoids)."""
    try:
        tok = AutoTokenizer.from_pretrained(model_dir)
    except (OSError, ValueError, TypeError) as e:      # no tokenizer files, or ones transformers cannot read
        raise StageError(model_dir, f"no usable tokenizer: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    vocab = tok.get_vocab()
    for token in (EOT, PAD):
        # A base that already has the token as ordinary text (a word piece of its own) would train
        # our end-of-turn on a string the base reads differently: refuse rather than reuse it.
        added = tok.added_tokens_decoder.get(vocab[token]) if token in vocab else None
        if token in vocab and (added is None or not added.special):
            raise StageError(model_dir, f"the tokenizer's vocabulary already holds {token} (id {vocab[token]}) as an "
                                        "ordinary token, not a special one; it cannot serve as our marker")
    added = []
    if EOT not in vocab:
        added.append(EOT)
    if tok.pad_token is None or tok.pad_token in (tok.eos_token, EOT):
        tok.pad_token = PAD
    tok.add_special_tokens({"additional_special_tokens": [EOT]} if added else {})
    if PAD not in tok.get_vocab() and tok.pad_token == PAD:
        tok.add_special_tokens({"pad_token": PAD})
    tok.chat_template = chat_template(recipe)
    return tok


def checkpoint_shapes(files: list[Path]) -> dict[str, tuple[list[int], Path]]:
    """Tensor name -> (shape, file), from the safetensors headers only."""
    from safetensors import safe_open
    shapes = {}
    for f in files:
        with safe_open(f, framework="pt") as st:
            for key in st.keys():
                shapes[key] = (list(st.get_slice(key).get_shape()), f)
    return shapes


def local_rows(param) -> tuple[torch.Tensor, int]:
    """A parameter's local tensor and the global index of its first row (FSDP2 shards dim 0)."""
    if not hasattr(param, "to_local"):
        return param.data, 0
    from torch.distributed.tensor._utils import compute_local_shape_and_global_offset
    _, offset = compute_local_shape_and_global_offset(param.shape, param.device_mesh, param.placements)
    return param.to_local(), (offset[0] if offset else 0)


def load_sharded_weights(model, model_dir: Path) -> int:
    """Collective. Fill the sharded (already materialised) model from the checkpoint; returns the
    bytes of whole matrices this rank read (rank 0: the vocabulary matrices it averages)."""
    import torch.distributed.checkpoint as dcp
    from safetensors import safe_open
    from torch.distributed.checkpoint import HuggingFaceStorageReader

    shapes = checkpoint_shapes(weight_files(model_dir))
    params = dict(model.named_parameters())          # a tied output matrix appears once, as its input one
    missing = [n for n in params if n not in shapes]
    if missing:
        raise StageError(model_dir, f"--model: the weights lack {len(missing)} tensor(s) the config's model needs, "
                                    f"e.g. {missing[0]}")
    grown, wrong = {}, []
    for name, p in params.items():
        saved = shapes[name][0]
        if saved == list(p.shape):
            continue
        if len(saved) == 2 and saved[1] == p.shape[1] and saved[0] < p.shape[0]:
            grown[name] = saved[0]
        else:
            wrong.append(f"{name} {saved} vs {list(p.shape)}")
    if wrong:
        raise StageError(model_dir, f"--model: weights do not match config.json: {wrong[0]}")
    held = 0
    means = {}
    for name, old in grown.items():                # the mean first, before this rank's rows arrive
        mean = torch.empty(1, params[name].shape[1], dtype=torch.float32)
        if rank() == 0:
            with safe_open(shapes[name][1], framework="pt") as st:
                whole = st.get_tensor(name).to(torch.float32)
            held += whole.numel() * whole.element_size()
            mean = whole[:old].mean(dim=0, keepdim=True)
            del whole
        if dist.is_initialized():
            dist.broadcast(mean, src=0)
        means[name] = mean
    dcp.load({n: p for n, p in params.items() if n not in grown},
             storage_reader=HuggingFaceStorageReader(str(model_dir)))
    with torch.no_grad():
        for name, old in grown.items():
            local, start = local_rows(params[name])
            n_old = max(0, min(old - start, local.shape[0]))
            if n_old:
                with safe_open(shapes[name][1], framework="pt") as st:
                    local[:n_old].copy_(st.get_slice(name)[start:start + n_old])
            local[n_old:] = means[name].to(local.device)
    if grown:
        log.info("added %d token rows (EOT/PAD) initialised to the mean embedding", max(params[n].shape[0] - o for n, o in grown.items()))
    return held


def init_buffers(model) -> None:
    """Non-persistent buffers (rotary frequencies) are in no checkpoint: every rank recomputes them
    the way the model's constructor does, on the CPU."""
    for module in model.modules():
        own = dict(module.named_buffers(recurse=False))
        if not own:
            continue
        fresh = type(module)(model.config)
        for name, buf in own.items():
            buf.copy_(getattr(fresh, name).to(buf.device))


def build_model(model_dir, tokenizer, device: torch.device, *, resid_dropout: float,
                activation_checkpointing: bool = False, cpu_offload: bool = False):
    """Returns (sharded model, dropout rates per layer, bytes of whole weight matrices this rank
    read: the vocabulary matrices on rank 0, nothing elsewhere)."""
    model_dir = Path(model_dir)
    config = AutoConfig.from_pretrained(model_dir)
    config.vocab_size = max(config.vocab_size, len(tokenizer))
    config.use_cache = False
    config.pad_token_id = tokenizer.pad_token_id
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    rates = add_residual_dropout(model, resid_dropout)
    if activation_checkpointing:
        model.activation_checkpointing_enable()
    shard_model(model, device, cpu_offload=cpu_offload)
    model.to_empty(device="cpu" if cpu_offload else device)
    held = load_sharded_weights(model, model_dir)
    with torch.no_grad():
        init_buffers(model)
    return model, rates, held
