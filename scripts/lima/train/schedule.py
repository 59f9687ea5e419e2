"""Learning rate and residual dropout schedules of the paper (§3), and the Alpaca recipe's cosine (§4.2)."""
from __future__ import annotations

import math


def lr_at(step: int, total_steps: int, lr: float, final_lr: float) -> float:
    """No warmup; linear decay from `lr` at the first step to `final_lr` at the last (§3:
    1e-5 -> 1e-6)."""
    if total_steps <= 1:
        return lr
    frac = min(max(step, 0), total_steps - 1) / (total_steps - 1)
    return lr + (final_lr - lr) * frac


def cosine_lr_at(step: int, total_steps: int, lr: float, warmup_ratio: float) -> float:
    """Stanford Alpaca's schedule (the Hugging Face trainer's cosine with warmup): a linear rise from 0
    over the first ceil(warmup_ratio × steps) steps, then a half cosine from `lr` down to 0."""
    warmup = math.ceil(warmup_ratio * total_steps)
    if step < warmup:
        return lr * step / warmup
    frac = (step - warmup) / max(1, total_steps - warmup)
    return lr * 0.5 * (1.0 + math.cos(math.pi * frac))


def resid_dropout_rates(n_layers: int, p_top: float) -> list[float]:
    """0.0 at the bottom layer rising linearly to `p_top` at the last (§3: 0.3; 0.2 for smaller
    models)."""
    if n_layers == 1:
        return [p_top]
    return [p_top * i / (n_layers - 1) for i in range(n_layers)]
