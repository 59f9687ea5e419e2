"""Load a base model for fine-tuning: EOT and PAD tokens added, weights sharded without a full copy
per rank.

Every rank builds the model on the meta device and shards it; rank 0 alone reads the checkpoint into
CPU memory, and `set_model_state_dict(..., broadcast_from_rank0=True)` hands each rank its shards.
For LLaMA-65B that is one CPU copy per node instead of one per GPU (docs/design.md#pitfalls-the-training-code-avoids).
"""
from __future__ import annotations

import logging
from pathlib import Path

import torch
import torch.distributed as dist
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

from lima.chat import CHAT_TEMPLATE, EOT, PAD
from lima.distributed import rank, shard_model
from lima.errors import StageError
from lima.train.dropout import add_residual_dropout

log = logging.getLogger("lima.train")


def check_model_dir(model_dir: Path) -> None:
    """A Hugging Face model folder, or the one-line error naming what is missing (before any rank
    starts loading it: a failed load on rank 0 would leave the others waiting in a collective)."""
    if not model_dir.is_dir():
        raise StageError(model_dir, "--model: no such folder")
    if not (model_dir / "config.json").is_file():
        raise StageError(model_dir / "config.json", "--model: no such file; a Hugging Face model folder "
                                                    "(config.json, weights, tokenizer) is expected")
    if not any(model_dir.glob("*.safetensors")) and not any(model_dir.glob("*.bin")):
        raise StageError(model_dir, "--model: no weights (*.safetensors or *.bin)")


def load_tokenizer(model_dir):
    """The base tokenizer plus EOT and a pad token distinct from EOS and EOT (a pad equal to EOS
    gets EOS masked out of the loss and the model never learns to stop: docs/design.md#pitfalls-the-training-code-avoids)."""
    try:
        tok = AutoTokenizer.from_pretrained(model_dir)
    except (OSError, ValueError) as e:      # no tokenizer files, or ones transformers cannot read
        raise StageError(model_dir, f"no usable tokenizer: {str(e).splitlines()[0]}") from None
    added = []
    if EOT not in tok.get_vocab():
        added.append(EOT)
    if tok.pad_token is None or tok.pad_token in (tok.eos_token, EOT):
        tok.pad_token = PAD
    tok.add_special_tokens({"additional_special_tokens": [EOT]} if added else {})
    if PAD not in tok.get_vocab() and tok.pad_token == PAD:
        tok.add_special_tokens({"pad_token": PAD})
    tok.chat_template = CHAT_TEMPLATE
    return tok


def grow_vocab(model, new_size: int) -> int:
    """Resize input and output embeddings; new rows start at the mean of the existing ones, which
    keeps the first logits of a new token near the average instead of random."""
    old = model.get_input_embeddings().weight.shape[0]
    if new_size <= old:
        return 0
    model.resize_token_embeddings(new_size, mean_resizing=False)
    with torch.no_grad():
        emb = model.get_input_embeddings().weight
        emb[old:] = emb[:old].mean(dim=0, keepdim=True)
        out = model.get_output_embeddings()
        if out is not None and out.weight is not emb:
            out.weight[old:] = out.weight[:old].mean(dim=0, keepdim=True)
    return new_size - old


def build_model(model_dir, tokenizer, device: torch.device, *, resid_dropout: float,
                activation_checkpointing: bool = False, cpu_offload: bool = False):
    """Returns (sharded model, dropout rates per layer, bytes of real weights this rank held before
    sharding: 0 on every rank but 0)."""
    config = AutoConfig.from_pretrained(model_dir)
    new_vocab = max(config.vocab_size, len(tokenizer))
    full_sd, buffers, held = {}, {}, 0
    if rank() == 0:
        base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
        grew = grow_vocab(base, new_vocab)
        if grew:
            log.info("added %d token rows (EOT/PAD) initialised to the mean embedding", grew)
        full_sd = base.state_dict()
        buffers = {name: b.detach().clone() for name, b in base.named_buffers()}
        held = sum(t.numel() * t.element_size() for t in full_sd.values())
        del base
    config.vocab_size = new_vocab
    config.use_cache = False
    config.pad_token_id = tokenizer.pad_token_id
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    rates = add_residual_dropout(model, resid_dropout)
    if activation_checkpointing:
        model.activation_checkpointing_enable()
    shard_model(model, device, cpu_offload=cpu_offload)
    model.to_empty(device="cpu" if cpu_offload else device)
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_model_state_dict
    set_model_state_dict(model, full_sd, options=StateDictOptions(full_state_dict=True, broadcast_from_rank0=True))
    # Non-persistent buffers (rotary frequencies) are not in the state dict: copy them from rank 0.
    for name, buf in model.named_buffers():
        if rank() == 0:
            buf.copy_(buffers[name].to(buf.device))
        dist.broadcast(buf.data, src=0)
    return model, rates, held
