"""The memory plan of a fine-tuning run, from `config.json` and the run's settings alone.

fp32 master weights, fp32 gradients and AdamW's two moments are 16 bytes a parameter: LLaMA-65B needs
~1.04 TB for them, more than one node of 8 × 80 GB holds. Loading takes many minutes, so stage 05
works this out before any weight is read and stops with one line naming a setting that fits
(docs/design.md#memory-plan). Figures are bytes per GPU (per process on CPU) and per host; GB = 1e9.

What is counted, per rank, for FSDP2 as lima.distributed.shard_model sets it up (every decoder layer,
then the root; bf16 compute over fp32 master weights on GPUs, fp32 everywhere on CPU):
- states: 4 (weights) + 4 (gradients) + 8 (AdamW moments) bytes per parameter, divided by the world
  size; on the host instead with CPU offload.
- gathered buffers: the layer being computed and the one prefetched, unsharded in the compute dtype,
  plus in backward the layer's unsharded gradient and its fp32 reduce-scatter input; the root module
  (embeddings, head) stays unsharded from forward to backward, with its gradient. When the layers are
  kept unsharded through the step (`keep_unsharded`, lima.distributed.hold_gathered): every layer's
  weights in the compute dtype and its gradient accumulated in fp32, plus one reduce-scatter input.
- activations per token and layer of HF's LlamaDecoderLayer, counted from the tensors autograd saves:
  two RMSNorms (an fp32 copy, the normalised and the scaled output), q/k/v with rotary (rotate_half
  copies), the attention output (SDPA saves no score matrix), the SwiGLU's four intermediate tensors,
  two bool dropout masks. With activation checkpointing only each layer's input is kept, plus one
  layer recomputed during backward.
- on CPU only: SDPA with a padding mask materialises fp32 scores and softmax (S² per head).
- logits: the head's output, micro_loss's reshaped fp32 copy, log-softmax's saved output and the
  gradient buffers of backward ((12 + compute bytes) × vocab per token).
- per host: the worker processes, and the embedding matrices rank 0 reads whole to start the new
  rows at their mean; every other weight is read by its own rank, slice by slice, into its shard.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from lima.errors import StageError

GB = 1e9
# Decoders whose layers have LLaMA's shape (RMSNorm, rotary attention, SwiGLU MLP).
KNOWN_TYPES = ("llama", "mistral", "qwen2", "qwen3", "olmo2", "granite")
NEEDED = ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "vocab_size")
NEW_TOKENS = 2          # EOT and PAD (lima.train.model.load_tokenizer)
# Not seen by torch.cuda.max_memory_allocated: CUDA context, NCCL buffers; and the caching allocator's
# fragmentation. A GPU plan must fit in device × (1 − FRAGMENTATION) − CONTEXT.
GPU_CONTEXT = 2 * GB
FRAGMENTATION = 0.08
GPU_PROCESS_HOST = 3 * GB      # host memory of one GPU worker (Python, torch, CUDA runtime)
# One CPU worker's resident memory before any model (Python, torch, transformers, gloo, tokenizer):
# 245 MB measured on the 2-core test machine; rounded up for the data and the tokenizer.
CPU_PROCESS = 0.35 * GB
# KEEP_UNSHARDED=auto keeps the layers gathered through the step only when that plan leaves this much room.
AUTO_SHARE = 0.8


@dataclass(frozen=True)
class Shape:
    """The model's shape as config.json gives it; vocabulary grown by our new tokens."""
    model_type: str
    hidden: int
    intermediate: int
    layers: int
    heads: int
    kv_heads: int
    vocab: int
    tied: bool

    @property
    def kv_hidden(self) -> int:
        return self.hidden // self.heads * self.kv_heads

    @property
    def layer_params(self) -> int:
        h, kv = self.hidden, self.kv_hidden
        return 2 * h * h + 2 * h * kv + 3 * h * self.intermediate + 2 * h

    @property
    def root_params(self) -> int:
        return self.vocab * self.hidden * (1 if self.tied else 2) + self.hidden

    @property
    def params(self) -> int:
        return self.layers * self.layer_params + self.root_params


def read_shape(config_json: Path) -> Shape:
    """A LLaMA-shaped decoder from config.json, or one line saying what the plan needs."""
    need = (f"the memory plan needs a LLaMA-shaped decoder: model_type one of {', '.join(KNOWN_TYPES)} "
            f"and {', '.join(NEEDED)} (num_key_value_heads, tie_word_embeddings optional)")
    try:
        cfg = json.loads(Path(config_json).read_text())
    except (FileNotFoundError, NotADirectoryError):
        raise StageError(config_json, "--model: no such file; a Hugging Face model folder "
                                      "(config.json, weights, tokenizer) is expected") from None
    except (OSError, ValueError) as e:
        raise StageError(config_json, f"not readable as JSON ({e}); {need}") from None
    if not isinstance(cfg, dict):
        raise StageError(config_json, f"not a JSON object; {need}")
    cfg = {**cfg.get("text_config", {}), **cfg} if isinstance(cfg.get("text_config"), dict) else cfg
    model_type = cfg.get("model_type")
    missing = [k for k in NEEDED if not isinstance(cfg.get(k), int) or cfg[k] <= 0]
    if model_type not in KNOWN_TYPES or missing:
        what = (f"unknown architecture {model_type!r}" if model_type not in KNOWN_TYPES
                else f"missing or not a positive integer: {', '.join(missing)}")
        raise StageError(config_json, f"{what}; {need}")
    return Shape(model_type, cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"],
                 cfg["num_attention_heads"], int(cfg.get("num_key_value_heads") or cfg["num_attention_heads"]),
                 cfg["vocab_size"] + NEW_TOKENS, bool(cfg.get("tie_word_embeddings", False)))


@dataclass(frozen=True)
class Settings:
    """The run's settings that decide memory. `gpu` False: a CPU run (fp32, the host is the device)."""
    nproc_per_node: int = 8
    nnodes: int = 1
    micro_batch: int = 1
    max_len: int = 2048
    batch_size: int = 32
    activation_checkpointing: bool = False
    cpu_offload: bool = False
    gpu: bool = True
    device_mem_gb: float = 80.0
    host_mem_gb: float = 0.0
    keep_unsharded: bool = False

    @property
    def world(self) -> int:
        return self.nproc_per_node * self.nnodes


@dataclass
class Plan:
    shape: Shape
    settings: Settings
    device: dict = field(default_factory=dict)     # row -> bytes per GPU (per process on CPU)
    host: dict = field(default_factory=dict)       # row -> bytes per host
    device_budget: float = 0.0
    host_budget: float = 0.0

    @property
    def device_total(self) -> float:
        return sum(self.device.values())

    @property
    def host_total(self) -> float:
        return sum(self.host.values())

    @property
    def fits_device(self) -> bool:
        return self.device_total <= self.device_budget

    @property
    def fits_host(self) -> bool:
        return self.host_total <= self.host_budget

    @property
    def fits(self) -> bool:
        return self.fits_device and self.fits_host


def layer_activation_bytes(shape: Shape, e: int) -> int:
    """Bytes autograd keeps per token for one decoder layer (module docstring), compute size `e`."""
    h, kv, i = shape.hidden, shape.kv_hidden, shape.intermediate
    norms = 2 * (4 * h + 2 * e * h)                  # fp32 copy, normalised, scaled output
    attention = e * (5 * h + 4 * kv)                 # q, rot(q), q_rope, out, o_proj input; k, rot(k), k_rope, v
    mlp = 4 * e * i                                  # gate, silu(gate), up, product
    dropout = 2 * h                                  # bool masks of the two residual dropouts
    return norms + attention + mlp + dropout


def make_plan(shape: Shape, s: Settings) -> Plan:
    e = 2 if s.gpu else 4                            # compute dtype: bf16 on GPUs, fp32 on CPU
    n, w = shape.params, s.world
    tokens = s.micro_batch * s.max_len
    plan = Plan(shape, s)
    states = {"weights, fp32 (sharded)": 4 * n / w, "gradients, fp32 (sharded)": 4 * n / w,
              "AdamW moments, fp32 (sharded)": 8 * n / w}
    offloaded = s.cpu_offload and s.gpu
    target = plan.host if offloaded else plan.device
    for k, v in states.items():
        target[k + (" on the host" if offloaded else "")] = v * (s.nproc_per_node if offloaded else 1)
    if s.keep_unsharded:
        plan.device["every layer kept unsharded (weights + fp32 gradients)"] = (
            (e + 4) * shape.layers + 4) * shape.layer_params
    else:
        plan.device["gathered layers (2 unsharded + grad + fp32 reduce-scatter)"] = (3 * e + 4) * shape.layer_params
    plan.device["root unsharded (embeddings, head) + its gradient"] = 2 * e * shape.root_params
    act = layer_activation_bytes(shape, e) * tokens
    if s.activation_checkpointing:
        plan.device["activations, checkpointed (layer inputs + 1 layer)"] = shape.layers * e * shape.hidden * tokens + act
    else:
        plan.device["activations (every layer)"] = shape.layers * act
    if not s.gpu:       # CPU SDPA with a padding mask takes the math path: scores and softmax, fp32
        plan.device["attention scores (CPU math path)"] = (
            (1 if s.activation_checkpointing else shape.layers) * 2 * 4 * shape.heads * s.max_len ** 2 * s.micro_batch)
    plan.device["logits and loss (head output, fp32 copies, gradients)"] = (
        (12 + e) * shape.vocab + (4 + 2 * e) * shape.hidden) * tokens
    if s.gpu:
        plan.device_budget = s.device_mem_gb * GB * (1 - FRAGMENTATION) - GPU_CONTEXT
        plan.host["worker processes"] = s.nproc_per_node * GPU_PROCESS_HOST
    else:
        plan.device["process (Python, torch, transformers)"] = CPU_PROCESS
        plan.device_budget = s.device_mem_gb * GB
    # Each rank reads only its own slices of the checkpoint (lima.train.model.load_sharded_weights),
    # into the states counted above; rank 0 alone also reads the matrices that grow by our new rows
    # whole, in fp32, to start those rows at their mean (0.4% of LLaMA-65B).
    plan.host["rank 0 reads the grown embedding matrices whole (fp32)"] = (
        4 * (shape.vocab - NEW_TOKENS) * shape.hidden * (1 if shape.tied else 2))
    plan.host_budget = (s.host_mem_gb or host_memory_gb()) * GB
    if not s.gpu:       # the host is the device: its column is every process plus the load
        plan.host["worker processes"] = s.nproc_per_node * plan.device_total
        plan.host_budget = plan.device_budget = (s.host_mem_gb or host_memory_gb()) * GB
    return plan


def host_memory_gb() -> float:
    """This machine's total memory (the plan runs on the node that trains), 0 when unknown."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GB
    except (ValueError, OSError, AttributeError):
        return 0.0


def valid_worlds(s: Settings):
    """Node counts whose world size divides the global batch into whole micro-batches."""
    for nodes in range(s.nnodes + 1, 257):
        if s.batch_size % (s.nproc_per_node * nodes * s.micro_batch) == 0:
            yield nodes
        if s.nproc_per_node * nodes * s.micro_batch > s.batch_size:
            return


def alternatives(shape: Shape, s: Settings) -> list[str]:
    """The smallest change that fits: gathering per micro-batch, checkpointing, more nodes, CPU offload."""
    if s.keep_unsharded and make_plan(shape, replace(s, keep_unsharded=False)).fits:
        return ["KEEP_UNSHARDED=no"]
    s, out = replace(s, keep_unsharded=False), []
    if not s.activation_checkpointing and make_plan(shape, replace(s, activation_checkpointing=True)).fits:
        return ["ACTIVATION_CHECKPOINTING=yes"]
    ac = replace(s, activation_checkpointing=True)
    ac_note = "" if s.activation_checkpointing else " with ACTIVATION_CHECKPOINTING=yes"
    for nodes in valid_worlds(ac):
        p = make_plan(shape, replace(ac, nnodes=nodes))
        if p.fits:
            out.append(f"NNODES={nodes} ({nodes * s.nproc_per_node} GPUs, {p.device_total / GB:.1f} GB each){ac_note}")
            break
    if s.gpu and not s.cpu_offload:
        p = make_plan(shape, replace(ac, cpu_offload=True))
        if p.fits:
            out.append(f"CPU_OFFLOAD=yes ({p.device_total / GB:.1f} GB per GPU, {p.host_total / GB:.0f} GB "
                       f"host memory per node){ac_note}")
        elif p.fits_device:
            out.append(f"CPU_OFFLOAD=yes on nodes with {p.host_total / GB:.0f} GB of memory "
                       f"(this one has {p.host_budget / GB:.0f} GB; HOST_MEM_GB sets it){ac_note}")
    return out


def billions(n: int) -> str:
    return f"{n / 1e9:.2f}B" if n >= 1e9 else f"{n / 1e6:.1f}M"


def verdict(plan: Plan) -> str:
    s, sh = plan.settings, plan.shape
    where = (f"{s.nnodes} node(s) × {s.nproc_per_node} GPUs of {s.device_mem_gb:g} GB" if s.gpu
             else f"{s.nproc_per_node} CPU process(es), {plan.device_budget / GB:.0f} GB host")
    head = f"{billions(sh.params)} parameters on {where}"
    if plan.fits:
        return f"fits: {head}: {plan.device_total / GB:.1f} GB of {plan.device_budget / GB:.1f} GB usable per " \
               f"{'GPU' if s.gpu else 'process'}, {plan.host_total / GB:.1f} of {plan.host_budget / GB:.0f} GB per host"
    short = (f"needs {plan.device_total / GB:.1f} GB per GPU, {plan.device_budget / GB:.1f} GB usable" if not plan.fits_device
             else f"needs {plan.host_total / GB:.0f} GB host memory per node, {plan.host_budget / GB:.0f} GB here")
    alt = alternatives(sh, s)
    return f"does not fit: {head} {short}; " + (f"fits with {' or '.join(alt)}" if alt else
                                                 "no setting tried fits (more GPUs or memory needed)")


def format_plan(plan: Plan, measured_mb: float | None = None) -> str:
    s, sh = plan.settings, plan.shape
    lines = [f"memory plan: {sh.model_type}, {billions(sh.params)} parameters ({sh.layers} layers, hidden "
             f"{sh.hidden}, intermediate {sh.intermediate}, heads {sh.heads}/{sh.kv_heads}, vocabulary {sh.vocab})",
             f"  settings: {s.nnodes} node(s) × {s.nproc_per_node} {'GPUs' if s.gpu else 'CPU processes'} "
             f"(world {s.world}), micro-batch {s.micro_batch} × {s.max_len} tokens, activation checkpointing "
             f"{'on' if s.activation_checkpointing else 'off'}, CPU offload {'on' if s.cpu_offload and s.gpu else 'off'}, "
             f"{'bf16 compute over fp32 weights' if s.gpu else 'fp32'}, layers "
             f"{'kept unsharded through each step' if s.keep_unsharded else 'gathered per micro-batch'}",
             f"  {'per GPU' if s.gpu else 'per process'}:"]
    lines += [f"    {k:<62} {v / GB:9.2f} GB" for k, v in plan.device.items()]
    lines.append(f"    {'total' + (' (what torch.cuda.max_memory_allocated reports)' if s.gpu else ''):<62} "
                 f"{plan.device_total / GB:9.2f} GB of {plan.device_budget / GB:.2f} usable")
    if measured_mb:
        lines.append(f"    {'measured peak (train_metrics.jsonl peak_mem_mb, rank 0)':<62} {measured_mb * 2**20 / GB:9.2f} GB "
                     f"(plan / measured = {plan.device_total / (measured_mb * 2**20):.2f})")
    lines.append("  per host:")
    lines += [f"    {k:<62} {v / GB:9.2f} GB" for k, v in plan.host.items()]
    lines.append(f"    {'total':<62} {plan.host_total / GB:9.2f} GB of {plan.host_budget / GB:.0f}")
    lines.append(verdict(plan))
    return "\n".join(lines)


def measured_peak_mb(metrics: Path) -> float | None:
    """The largest peak_mem_mb of a run's step rows, or None when it has none."""
    if not metrics.is_file():
        return None
    from lima.io import read_jsonl
    peaks = [r.get("peak_mem_mb", 0) for r in read_jsonl(metrics, tolerate_torn_tail=True) if r.get("kind") == "step"]
    return max(peaks) if peaks else None


def device_memory_gb(device) -> float | None:
    """The GPU's memory when training on one (torch.cuda.get_device_properties), else None."""
    import torch
    if getattr(device, "type", device) == "cuda" and torch.cuda.is_available():
        return torch.cuda.get_device_properties(device).total_memory / GB
    return None


def check_fits(plan: Plan, config_json: Path) -> None:
    """The one line training stops with when the plan does not fit."""
    if not plan.fits:
        raise StageError(config_json, verdict(plan) + " (make plan shows the breakdown; --ignore-plan runs anyway)")


def plan_for_run(args, device=None) -> Plan:
    """Stage 05's plan. Under torchrun the world comes from the launcher and the GPU from torch;
    in one plain process (--plan, --check) from --nproc-per-node, --nnodes and --plan-device."""
    shape = read_shape(Path(args.model) / "config.json")
    world, local = int(os.environ.get("WORLD_SIZE", 0)), int(os.environ.get("LOCAL_WORLD_SIZE", 0))
    nproc, nnodes = (local, max(world // local, 1)) if device is not None and world and local else \
        (args.nproc_per_node, args.nnodes)
    if device is not None:
        gpu = getattr(device, "type", str(device)) == "cuda"
    else:
        import torch
        gpu = {"gpu": True, "cpu": False}.get(args.plan_device, torch.cuda.is_available())
    mem = args.device_mem_gb or (device_memory_gb(device) if device is not None else None)
    if mem is None and gpu and args.plan_device == "auto":
        import torch
        mem = device_memory_gb(torch.device("cuda", 0))
    s = Settings(nproc_per_node=nproc, nnodes=nnodes, micro_batch=args.micro_batch_size, max_len=args.max_len,
                 batch_size=args.batch_size, activation_checkpointing=args.activation_checkpointing,
                 cpu_offload=args.cpu_offload, gpu=gpu, device_mem_gb=mem or 80.0, host_mem_gb=args.host_mem_gb or 0.0)
    return plan_with_gathering(shape, s, getattr(args, "keep_unsharded", "no"))


def plan_with_gathering(shape: Shape, s: Settings, mode: str) -> Plan:
    """KEEP_UNSHARDED: `yes`/`no` as asked; `auto` keeps the layers unsharded through each step (a speed-up:
    docs/benchmarks.md) when that plan stays within AUTO_SHARE of the memory, never with CPU offload."""
    kept = make_plan(shape, replace(s, keep_unsharded=True))
    roomy = kept.device_total <= AUTO_SHARE * kept.device_budget and kept.host_total <= AUTO_SHARE * kept.host_budget
    keep = mode == "yes" or (mode == "auto" and not (s.cpu_offload and s.gpu) and roomy)
    return kept if keep else make_plan(shape, replace(s, keep_unsharded=False))
