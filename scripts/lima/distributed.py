"""Process group, devices and FSDP2 wrapping: one code path for torchrun on GPUs (NCCL), torchrun on
CPU (gloo, the tests) and plain `python` (a one-rank group over an in-memory store, no port).

See docs/design.md#fsdp-on-cpu for what was measured: FSDP2 works on CPU; FSDP1 does not save reliably there.
"""
from __future__ import annotations

import datetime
import logging
import os
import resource

import torch
import torch.distributed as dist

from lima.train.lifeline import tie_to_launcher

log = logging.getLogger("lima.train")

# Rank-0 I/O (exports of a 65B model take minutes) must not trip the collective watchdog.
PG_TIMEOUT = datetime.timedelta(minutes=int(os.environ.get("LIMA_PG_TIMEOUT_MIN", "60")))


def init_distributed() -> torch.device:
    """Under a launcher (RANK set) the worker first ties its life to the launcher's (lima.train.lifeline)."""
    if "RANK" in os.environ:
        tie_to_launcher()
        if torch.cuda.is_available():
            local = int(os.environ["LOCAL_RANK"])
            torch.cuda.set_device(local)
            dist.init_process_group("cuda:nccl,cpu:gloo", timeout=PG_TIMEOUT)
            device = torch.device("cuda", local)
        else:
            dist.init_process_group("gloo", timeout=PG_TIMEOUT)
            device = torch.device("cpu")
    else:
        device = torch.device("cuda", 0) if torch.cuda.is_available() else torch.device("cpu")
        dist.init_process_group("gloo" if device.type == "cpu" else "cuda:nccl,cpu:gloo",
                                store=dist.HashStore(), rank=0, world_size=1, timeout=PG_TIMEOUT)
    if device.type == "cpu" and "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(1)   # 2-thread OpenMP stalls 10-25x on small shared hosts (docs/design.md#fsdp-on-cpu)
    return device


def cleanup_distributed() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def rank() -> int:
    return dist.get_rank() if dist.is_initialized() else 0


def world_size() -> int:
    return dist.get_world_size() if dist.is_initialized() else 1


def is_main() -> bool:
    return rank() == 0


def log0(msg: str, *args) -> None:
    if is_main():
        log.info(msg, *args)


def shard_model(model, device: torch.device, *, cpu_offload: bool = False) -> None:
    """FSDP2: each decoder layer, then the root. On GPUs compute runs in bf16 over fp32 master
    weights with fp32 gradient reduction: pure bf16 would drop most updates at LIMA's 1e-5..1e-6
    learning rates (docs/design.md#pitfalls-the-training-code-avoids)."""
    from torch.distributed.fsdp import CPUOffloadPolicy, MixedPrecisionPolicy, fully_shard

    kwargs = {}
    if device.type == "cuda":
        kwargs["mp_policy"] = MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32)
    if cpu_offload:
        kwargs["offload_policy"] = CPUOffloadPolicy()
    for layer in model.model.layers:
        fully_shard(layer, **kwargs)
    fully_shard(model, **kwargs)


def hold_gathered(model, keep: bool, last: bool | None) -> None:
    """Before each micro-batch of a step (`last` for the step's last one; None after the step, so a forward
    outside training, such as the dev loss, reshards as usual). With `keep`, each layer gathered in the
    first forward stays unsharded through the step and its gradient accumulates unsharded, reduce-scattered
    once after the last backward: one gather and one reduce-scatter per step instead of a gather in forward,
    another in backward and a reduce-scatter for every micro-batch (the memory plan counts what it holds)."""
    if not keep:
        return
    model.set_reshard_after_forward(last is None)
    model.set_requires_gradient_sync(last is not False)
    model.set_reshard_after_backward(last is not False)


def all_reduce_sum(values: list[float], device: torch.device) -> list[float]:
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


# Dense bf16 peak FLOP/s per GPU, for MFU (set LIMA_GPU_PEAK_TFLOPS for other devices).
PEAK_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "A800": 312.0, "L40S": 362.0, "A10": 125.0, "V100": 125.0}


def gpu_peak_flops(device) -> float | None:
    if device.type != "cuda":
        return None
    if os.environ.get("LIMA_GPU_PEAK_TFLOPS"):
        return float(os.environ["LIMA_GPU_PEAK_TFLOPS"]) * 1e12
    name = torch.cuda.get_device_name(device)
    return next((v * 1e12 for k, v in PEAK_TFLOPS.items() if k in name), None)


def peak_mem_mb(device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
