"""Residual dropout by layer (§3, "following Ouyang et al."), added with hooks.

Each decoder layer's attention and MLP outputs pass through dropout before they join the residual
stream. Forward hooks plus a parameter-free `nn.Dropout` child keep the state-dict keys unchanged, so
checkpoints stay loadable with `from_pretrained`; it works under FSDP2 and activation checkpointing
(docs/design.md#fsdp-on-cpu). Dropout is active in train() and off in eval().
"""
from __future__ import annotations

from torch import nn

from lima.train.schedule import resid_dropout_rates


def add_residual_dropout(model, p_top: float) -> list[float]:
    layers = model.model.layers
    rates = resid_dropout_rates(len(layers), p_top)
    for layer, p in zip(layers, rates):
        layer.resid_dropout = nn.Dropout(p)

        def attn_hook(module, args, out, layer=layer):
            if isinstance(out, tuple):          # LlamaAttention returns (output, weights)
                return (layer.resid_dropout(out[0]),) + tuple(out[1:])
            return layer.resid_dropout(out)

        def mlp_hook(module, args, out, layer=layer):
            return layer.resid_dropout(out)

        layer.self_attn.register_forward_hook(attn_hook)
        layer.mlp.register_forward_hook(mlp_hook)
    return rates
