"""The supervised loss and perplexity, summed over target tokens so that any split of a batch into
micro-batches and ranks gives the same number (docs/design.md#pitfalls-the-training-code-avoids: not a mean of means)."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from lima.train.batching import collate
from lima.chat import IGNORE
from lima.distributed import all_reduce_sum, rank, world_size


def micro_loss(model, batch, device):
    """Sum of the token cross-entropies of one micro-batch, and its real and padded token counts."""
    batch = {k: v.to(device) for k, v in batch.items()}
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    ce = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]).float(),
                         batch["labels"][:, 1:].reshape(-1), ignore_index=IGNORE, reduction="sum")
    return ce, int(batch["attention_mask"].sum()), batch["attention_mask"].numel()


@torch.no_grad()
def evaluate(model, examples, pad_id, mbs, device) -> tuple[float, float]:
    """Mean loss per target token and perplexity over `examples`, split across ranks; every rank
    runs the same number of forwards (FSDP all-gathers are collectives)."""
    model.eval()
    world, r = world_size(), rank()
    mine = examples[r::world]
    n_batches = math.ceil(math.ceil(len(examples) / world) / mbs)
    ce_sum, tokens = 0.0, 0
    for b in range(n_batches):
        chunk = mine[b * mbs:(b + 1) * mbs]
        weight = 1.0 if chunk else 0.0
        chunk = chunk or examples[:1]
        ce, _, _ = micro_loss(model, collate([(i, l) for i, l, _ in chunk], pad_id), device)
        ce_sum += float(ce) * weight
        tokens += sum(t for _, _, t in chunk) if weight else 0
    ce_sum, tokens = all_reduce_sum([ce_sum, tokens], device)
    model.train()
    loss = ce_sum / max(tokens, 1)
    return loss, math.exp(min(loss, 50.0))
