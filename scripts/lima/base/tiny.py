"""A tiny pretrained model for the sample profile: the paper's "Pretrained Model" box in miniature.

The sample has no LLaMA on disk, so we make one: a byte-level BPE tokenizer (the `tokenizers`
library) and a small LLaMA-architecture model (`transformers.LlamaConfig`) trained with a plain
language-modelling loss on the raw text of the sample dumps. Both are saved in Hugging Face format,
so stage 05 loads this folder exactly as it loads LLaMA-65B.
"""
from __future__ import annotations

import math
import random
import time
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

BOS, EOS, UNK = "<s>", "</s>", "<unk>"


def train_tokenizer(texts: list[str], vocab_size: int) -> PreTrainedTokenizerFast:
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[BOS, EOS, UNK],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=BOS, eos_token=EOS, unk_token=UNK,
                                   model_max_length=4096, clean_up_tokenization_spaces=False)


def tiny_config(vocab_size: int, hidden: int = 128, layers: int = 4, heads: int = 4,
                max_positions: int = 2048) -> LlamaConfig:
    return LlamaConfig(vocab_size=vocab_size, hidden_size=hidden, intermediate_size=hidden * 8 // 3,
                       num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
                       max_position_embeddings=max_positions, tie_word_embeddings=False,
                       bos_token_id=0, eos_token_id=1, pad_token_id=None, rms_norm_eps=1e-5,
                       attn_implementation="sdpa")


def pack_corpus(tokenizer, texts: list[str], seq_len: int) -> torch.Tensor:
    """Documents joined with EOS and cut into equal blocks (no padding at all)."""
    ids: list[int] = []
    for t in texts:
        ids.extend(tokenizer.encode(t, add_special_tokens=False))
        ids.append(tokenizer.eos_token_id)
    n = len(ids) // seq_len
    return torch.tensor(ids[: n * seq_len], dtype=torch.long).view(n, seq_len)


def pretrain(model, blocks: torch.Tensor, *, steps: int, batch_size: int, lr: float, seed: int,
             log=None) -> list[float]:
    """Plain causal-LM training with AdamW and a cosine schedule; returns the losses."""
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.1)
    model.train()
    losses = []
    t0 = time.perf_counter()
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / max(steps - 1, 1))))
        idx = torch.randint(0, blocks.shape[0], (batch_size,), generator=g)
        batch = blocks[idx]
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
        if log and (step % 50 == 0 or step == steps - 1):
            log(step, losses[-1], time.perf_counter() - t0)
    return losses


def save_base(model, tokenizer, out: Path) -> None:
    model.config.use_cache = True
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)


def make_tiny_base(texts: list[str], out: Path, *, vocab_size: int = 512, hidden: int = 64, layers: int = 2,
                   heads: int = 2, seq_len: int = 64, steps: int = 0, batch_size: int = 8, lr: float = 3e-3,
                   seed: int = 0) -> Path:
    """Build (and optionally pretrain) a tiny base model in `out`; tests use it with steps=0."""
    random.seed(seed)
    torch.manual_seed(seed)
    tokenizer = train_tokenizer(texts, vocab_size)
    model = LlamaForCausalLM(tiny_config(len(tokenizer), hidden, layers, heads))
    if steps:
        pretrain(model, pack_corpus(tokenizer, texts, seq_len), steps=steps, batch_size=batch_size, lr=lr, seed=seed)
    save_base(model, tokenizer, out)
    return out
