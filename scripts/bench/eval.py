"""Benchmark of stage 06's generation: batched decoding (prompts sorted by length, KV cache, finished
rows dropped) against one prompt at a time (our floor) and against transformers' batched
`model.generate()` (the peer), all measured in the same run.

Same tiny LLaMA (the sample profile's shape, 4 layers x 128 wide; random weights, or --checkpoint for
an export), same prompts (LIMA-like lengths: mostly short, a few long), same decoding (§4.1: p=0.9,
T=0.7, penalty 1.2 on generated tokens), same seed. Reports generated tokens per second of each and
their ratio (goal >= 3x), and whether both produced the same responses (they should: every prompt
has its own random stream). The peer decodes the same batches (same length-sorted order, left padding,
KV cache, one response per prompt) with `do_sample`, top-p 0.9, T 0.7, no top-k, the same
max new tokens and EOT as its end token; its `repetition_penalty=1.2` differs by design: transformers
penalises the prompt's tokens too, ours only the generated ones (§4.1). Goal: >= 1.0x of generate().
The two batched runs alternate, --repeats times, and each keeps its best (noise on a shared host only
slows a run down).

    python scripts/bench/eval.py --out results/bench/eval.json
"""
from __future__ import annotations

import argparse
import math
import os
import platform
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(SCRIPTS))
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

from lima.chat import EOT  # noqa: E402
from lima.eval.generation.generate import Decoding, generate_all, load_checkpoint, make_jobs, plan_batches  # noqa: E402
from lima.io import write_json  # noqa: E402

WORDS = ("how do I make bread at home without a mixer what is the best way to learn a language can you explain "
         "why the sky is blue write a short story about a lighthouse keeper who finds a letter tips for "
         "staying focused when working from home").split()


def tiny_checkpoint(folder: Path) -> Path:
    """A sample-shaped model with the stage-05 tokenizer (EOT, PAD), saved as an export would be."""
    from transformers import LlamaForCausalLM

    from lima.train.model import load_tokenizer
    from lima.base.tiny import make_tiny_base, tiny_config

    texts = [" ".join(random.Random(i).choices(WORDS, k=40)) for i in range(300)]
    make_tiny_base(texts, folder / "base", vocab_size=2048)
    tok = load_tokenizer(folder / "base")
    torch.manual_seed(0)
    # the sample export's shape: a 2,048-token vocabulary + EOT + PAD (rows past the tokenizer stay unused)
    model = LlamaForCausalLM(tiny_config(max(len(tok), 2050), hidden=128, layers=4, heads=4))
    out = folder / "epoch_01"
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    return out


def lima_like_prompts(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        words = max(4, min(int(rng.lognormvariate(math.log(18), 0.9)), 300))
        rows.append({"id": f"bench/{i:03d}", "source": "authors", "conversations": [" ".join(rng.choices(WORDS, k=words))]})
    return rows


def timed(model, tok, jobs, decoding, batch_size):
    eot = tok.convert_tokens_to_ids(EOT)
    t0 = time.perf_counter()
    results = generate_all(model, jobs, decoding, seed=0, eot_id=eot, pad_id=tok.pad_token_id,
                           device=torch.device("cpu"), batch_size=batch_size, show_progress=False)
    dt = time.perf_counter() - t0
    tokens = sum(len(r.new_ids) + r.ended_eot for r in results)
    return results, tokens, dt


def timed_hf_generate(model, tok, jobs, decoding, batch_size):
    """transformers' `generate()` on the batches stage 06 would form; generated tokens are counted up
    to and including the first EOT (the rest of a finished row is padding)."""
    eot, pad = tok.convert_tokens_to_ids(EOT), tok.pad_token_id
    torch.manual_seed(0)
    tokens = 0
    t0 = time.perf_counter()
    for batch in plan_batches(jobs, batch_size):
        width = max(len(j.ids) for j in batch)
        ids = torch.tensor([[pad] * (width - len(j.ids)) + j.ids for j in batch])
        mask = torch.tensor([[0] * (width - len(j.ids)) + [1] * len(j.ids) for j in batch])
        with torch.no_grad():
            out = model.generate(input_ids=ids, attention_mask=mask, do_sample=True, top_p=decoding.top_p,
                                 temperature=decoding.temperature, top_k=0,
                                 repetition_penalty=decoding.repetition_penalty,
                                 max_new_tokens=decoding.max_new_tokens, eos_token_id=eot, pad_token_id=pad)
        for row in out[:, width:].tolist():
            tokens += row.index(eot) + 1 if eot in row else len(row)
    return tokens, time.perf_counter() - t0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True, help="results JSON")
    p.add_argument("--checkpoint", type=Path, default=None, help="an exported epoch_NN/ (default: a random tiny model)")
    p.add_argument("--prompts", type=int, default=32, help="number of prompts")
    p.add_argument("--max-new-tokens", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=16, help="the batched run's batch size (06_eval.py's default)")
    p.add_argument("--repeats", type=int, default=2, help="runs of ours batched and of generate(), alternating")
    args = p.parse_args()
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

    with tempfile.TemporaryDirectory() as tmp:
        ckpt = args.checkpoint or tiny_checkpoint(Path(tmp))
        model, tok = load_checkpoint(ckpt, torch.device("cpu"))
    rows = lima_like_prompts(args.prompts, seed=0)
    jobs = make_jobs(tok, rows, 1, model.config.max_position_embeddings, Counter())
    decoding = Decoding(max_new_tokens=args.max_new_tokens)
    timed(model, tok, jobs[:2], Decoding(max_new_tokens=4), 2)                  # warm-up
    one, one_tokens, one_s = timed(model, tok, jobs, decoding, 1)
    best_b = best_g = None
    for _ in range(args.repeats):
        batched, b_tokens, b_s = timed(model, tok, jobs, decoding, args.batch_size)
        best_b = min(best_b or (b_tokens, b_s), (b_tokens, b_s), key=lambda r: r[1] / r[0])
        g = timed_hf_generate(model, tok, jobs, decoding, args.batch_size)
        best_g = min(best_g or g, g, key=lambda r: r[1] / r[0])
    (b_tokens, b_s), (g_tokens, g_s) = best_b, best_g
    ratio = (b_tokens / b_s) / (one_tokens / one_s)
    ratio_g = (b_tokens / b_s) / (g_tokens / g_s)
    result = {
        "benchmark": "stage 06 generation: batched vs one prompt at a time",
        "model_parameters": sum(t.numel() for t in model.parameters()),
        "prompts": len(jobs), "prompt_tokens": [min(len(j.ids) for j in jobs), max(len(j.ids) for j in jobs)],
        "max_new_tokens": args.max_new_tokens, "batch_size": args.batch_size,
        "one_at_a_time": {"tokens": one_tokens, "seconds": round(one_s, 3), "tokens_per_s": round(one_tokens / one_s, 1)},
        "batched": {"tokens": b_tokens, "seconds": round(b_s, 3), "tokens_per_s": round(b_tokens / b_s, 1)},
        "ratio": round(ratio, 2), "goal": 3.0, "meets_goal": ratio >= 3.0,
        "hf_generate": {"tokens": g_tokens, "seconds": round(g_s, 3), "tokens_per_s": round(g_tokens / g_s, 1),
                        "repetition_penalty": "1.2 on prompt and generated tokens (transformers); ours: generated only",
                        "top_k": 0},
        "ratio_vs_generate": round(ratio_g, 2), "goal_vs_generate": 1.0, "meets_goal_vs_generate": ratio_g >= 1.0,
        "repeats": args.repeats,
        "identical_responses": [r.new_ids for r in one] == [r.new_ids for r in batched],
        "threads": torch.get_num_threads(), "machine": platform.machine(), "python": platform.python_version(),
        "torch": torch.__version__,
    }
    write_json(args.out, result)
    print(f"eval bench: batched {result['batched']['tokens_per_s']} tok/s vs one at a time "
          f"{result['one_at_a_time']['tokens_per_s']} tok/s = {result['ratio']}x (goal >= 3x); "
          f"vs generate() {result['hf_generate']['tokens_per_s']} tok/s = {result['ratio_vs_generate']}x (goal >= 1x); "
          f"identical responses: {result['identical_responses']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
