"""Where stage 05 loses to DDP-based trainers on CPU (docs/benchmarks.md): one process, no
communication, the same micro-batch through stage 05's FSDP2-sharded model and through the plain
model, forward and backward timed separately. Not in `make bench` (a diagnosis, not a goal).

    python scripts/bench/fsdp_overhead.py --model .cache/smollm2-135m --out /tmp/fsdp_overhead.json
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(SCRIPTS))

import torch  # noqa: E402
from transformers import AutoModelForCausalLM  # noqa: E402

from lima.distributed import cleanup_distributed, init_distributed  # noqa: E402
from lima.io import write_json  # noqa: E402
from lima.train.batching import collate  # noqa: E402
from lima.train.loss import micro_loss  # noqa: E402
from lima.train.model import build_model, load_tokenizer  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, required=True, help="a Hugging Face base folder")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--lengths", default="120,100", help="token counts of the micro-batch's examples")
    args = p.parse_args()
    torch.set_num_threads(1)
    device = init_distributed()                 # one rank over an in-memory store
    tok = load_tokenizer(args.model)
    sharded, _, _ = build_model(args.model, tok, device, resid_dropout=0.0)
    plain = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32)
    plain.resize_token_embeddings(len(tok))
    rng = random.Random(0)
    examples = [([rng.randrange(100, len(tok) - 2) for _ in range(n)],) * 2 for n in map(int, args.lengths.split(","))]
    batch = collate(examples, tok.pad_token_id)
    times = {"fsdp2": {"forward": [], "backward": []}, "plain": {"forward": [], "backward": []}}
    for _ in range(args.repeats + 1):           # the first round warms up and is dropped
        for name, model in (("fsdp2", sharded), ("plain", plain)):
            model.train()
            t0 = time.perf_counter()
            ce, _, _ = micro_loss(model, batch, device)
            t1 = time.perf_counter()
            ce.backward()
            t2 = time.perf_counter()
            model.zero_grad(set_to_none=True)
            times[name]["forward"].append(t1 - t0)
            times[name]["backward"].append(t2 - t1)
    cleanup_distributed()
    result = {name: {k: round(statistics.median(v[1:]), 3) for k, v in t.items()} for name, t in times.items()}
    result["tokens"] = int(batch["attention_mask"].sum())
    write_json(args.out, result)
    print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
