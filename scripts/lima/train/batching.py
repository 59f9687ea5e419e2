"""Batches for supervised fine-tuning: length-grouped, identical for any number of ranks.

The plan of an epoch depends only on (seed, epoch, batch size): global batches are formed from
shuffled mega-batches sorted by length, so examples of similar length share a micro-batch and padding
waste stays small; the order of global batches is shuffled again. Each global batch is then dealt
to ranks and accumulation slots. Every rank runs the same number of micro-steps (an empty slot runs
a zero-weight micro-batch) so collectives stay symmetric.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass

import torch

from lima.chat import IGNORE

MEGA_BATCHES = 8   # global batches sorted together; larger = less padding, less randomness


@dataclass
class Step:
    index: int                     # global optimizer step (0-based, over all epochs)
    epoch: int                     # 0-based
    slots: list[list[list[int]]]   # [rank][accumulation slot] -> example indices (may be empty)
    n_target: int                  # target tokens in the whole global batch (loss normaliser)


def n_targets(labels: list[int]) -> int:
    """Tokens that contribute to the loss after the one-position shift."""
    return sum(1 for x in labels[1:] if x != IGNORE)


def plan_epoch(lengths: list[int], targets: list[int], *, batch_size: int, world: int,
               micro_batch_size: int, seed: int, epoch: int, first_step: int) -> list[Step]:
    rng = random.Random(f"{seed}/epoch/{epoch}")
    order = list(range(len(lengths)))
    rng.shuffle(order)
    mega = batch_size * MEGA_BATCHES
    batches = []
    for start in range(0, len(order), mega):
        chunk = sorted(order[start:start + mega], key=lambda i: (-lengths[i], i))
        batches.extend(chunk[b:b + batch_size] for b in range(0, len(chunk), batch_size))
    # the short remainder batch stays last so every other step has a full batch
    full = [b for b in batches if len(b) == batch_size]
    short = [b for b in batches if len(b) < batch_size]
    rng.shuffle(full)
    batches = full + short
    accum = math.ceil(batch_size / (world * micro_batch_size))
    steps = []
    for k, batch in enumerate(batches):
        micro = [batch[m:m + micro_batch_size] for m in range(0, len(batch), micro_batch_size)]
        slots = [[[] for _ in range(accum)] for _ in range(world)]
        for j, mb in enumerate(micro):
            slots[j % world][j // world] = mb
        steps.append(Step(first_step + k, epoch, slots, sum(targets[i] for i in batch)))
    return steps


def steps_per_epoch(n_examples: int, batch_size: int) -> int:
    return math.ceil(n_examples / batch_size)


def collate(examples: list[tuple[list[int], list[int]]], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad a micro-batch to its longest example."""
    width = max(len(ids) for ids, _ in examples)
    input_ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for row, (ids, lab) in enumerate(examples):
        input_ids[row, :len(ids)] = torch.tensor(ids)
        labels[row, :len(lab)] = torch.tensor(lab)
        mask[row, :len(ids)] = 1
    return {"input_ids": input_ids, "labels": labels, "attention_mask": mask}
