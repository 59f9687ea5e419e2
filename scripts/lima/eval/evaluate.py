"""Stage 06's steps: one generation file per system and prompt file (decoded on every rank, or taken
from an API, and reused while nothing it depends on changed), then the judgments asked for.

Each judgment kind writes `eval/<name>.<kind>.jsonl` (one row per item) and `.json` (its summary):
pairwise against a baseline in both orders (§4.2), Fail/Pass/Excellent on 50 random prompts plus the
safety-flagged ones (§4.3), and the 1-6 helpfulness score (§5).
"""
from __future__ import annotations

import logging
import os
import re
import sys
from collections import Counter
from pathlib import Path

from lima.errors import StageError
from lima.eval.metrics import mean_ci95, pairwise_summary, shares
from lima.eval.reuse import is_current, reuse, reuse_key, write_generations
from lima.funnel import Funnel, describe_inputs
from lima.io import read_jsonl, write_json, write_jsonl
from lima.rng import make_rng

log = logging.getLogger("lima.eval")
KINDS = ("pairwise", "absolute", "likert")


def generation_name(checkpoint: Path | None, api_model: str | None, prompts: Path) -> str:
    """`<epoch_NN>.<split>` (a `selected` link is resolved to its epoch), or `api-<model>.<split>`."""
    system = checkpoint.resolve().name if checkpoint else "api-" + re.sub(r"[^A-Za-z0-9._-]+", "-", api_model)
    return f"{system}.{prompts.stem}"


def generation_file(path: Path, rows: list[dict], decoding, counts: Counter, *, prompts: Path,
                    checkpoint: Path | None, api_client=None, samples: int, seed: int, batch_size: int,
                    device_map: str | None, record) -> list[dict] | None:
    """The generation rows of `path`, decoded (or asked of `api_client`) unless the file is current;
    `record` (the script's arguments) goes into its stats. Collective under torchrun; ranks other
    than 0 get None."""
    key = reuse_key(checkpoint, [decoding.to_dict(), seed, samples, api_client and api_client.model],
                    prefix=prompts.read_bytes())
    if os.environ.get("RANK", "0") != "0" and (api_client or is_current(path, key)):
        return None             # under torchrun only rank 0 has work when nothing is decoded locally
    if (gens := reuse(path, key)) is not None:
        return gens
    if api_client:
        from lima.eval.generate import api_generation_rows
        from lima.eval.judge_config import judge_errors
        with judge_errors():
            gens = api_generation_rows(api_client, rows, samples, decoding, seed)
    else:
        gens = generate_on_ranks(checkpoint, rows, decoding, counts, samples=samples, seed=seed,
                                 batch_size=batch_size, device_map=device_map)
        if gens is None:
            return None         # a rank other than 0: rank 0 writes everything
    funnel = Funnel("eval")
    funnel.read["prompts"] = len(rows)
    funnel.kept["responses"] = len(gens)
    funnel.dropped.update({k: v for k, v in counts.items() if v})
    write_generations(path, gens, funnel, key, args=record, inputs=describe_inputs([prompts]), seed=seed)
    return gens


def generate_on_ranks(checkpoint: Path, rows: list[dict], decoding, counts: Counter, *, samples: int, seed: int,
                      batch_size: int, device_map: str | None) -> list[dict] | None:
    """Collective under torchrun: each rank decodes its share; rank 0 gets every row, in order."""
    import importlib.util

    import torch.distributed as dist
    from transformers.utils import logging as hf_logging

    from lima.distributed import cleanup_distributed, init_distributed, is_main, rank, world_size
    from lima.eval.generate import (generate_all, generation_rows, load_checkpoint, make_jobs, require_eot,
                                    shard_jobs)

    if not sys.stderr.isatty():
        hf_logging.disable_progress_bar()
    device = init_distributed()
    if not is_main():
        logging.getLogger("lima").setLevel(logging.WARNING)
    try:
        if device_map and importlib.util.find_spec("accelerate") is None:
            raise StageError("--device-map", "needs the accelerate package (pip install accelerate)")
        model, tok = load_checkpoint(checkpoint, device, device_map)
        eot = require_eot(tok, checkpoint)
        max_pos = getattr(model.config, "max_position_embeddings", None) or 1 << 30
        jobs = make_jobs(tok, rows, samples, max_pos, counts)
        mine = shard_jobs(jobs, rank(), world_size())
        log.info("rank %d: %d of %d responses, batches of %d", rank(), len(mine), len(jobs), batch_size)
        results = generate_all(model, mine, decoding, seed=seed, eot_id=eot,
                               pad_id=tok.pad_token_id if tok.pad_token_id is not None else eot,
                               device=next(model.parameters()).device, batch_size=batch_size,
                               show_progress=is_main())
        gathered = [None] * world_size()
        dist.all_gather_object(gathered, results)
        if not is_main():
            return None
        merged = [r for part in gathered for r in part]
        assert len(merged) == len(jobs), f"{len(merged)} results for {len(jobs)} jobs"
        return generation_rows(tok, rows, merged, samples, {**decoding.to_dict(), "seed": seed})
    finally:
        cleanup_distributed()


# ---- the judgments -------------------------------------------------------------------------------

def read_baseline(path: Path) -> dict[str, str]:
    """id -> response (the first one of an id); rows without both are skipped and logged."""
    try:
        raw = list(read_jsonl(path))
    except (ValueError, UnicodeDecodeError) as e:
        raise StageError(path, f"not a JSONL file: {e}") from None
    theirs, bad = {}, 0
    for r in raw:
        if isinstance(r, dict) and isinstance(r.get("id"), str) and isinstance(r.get("response"), str):
            theirs.setdefault(r["id"], r["response"])
        else:
            bad += 1
    if bad:
        log.warning("%s: %d rows without an id and a response were skipped", path, bad)
    if not theirs:
        raise StageError(path, "no row with an `id` and a `response`")
    return theirs


def _write_kind(out_dir: Path, name: str, items: list[dict], summary: dict) -> dict:
    write_jsonl(out_dir / f"{name}.jsonl", items)
    write_json(out_dir / f"{name}.json", summary)
    return summary


def judge_generations(client, kinds: list[str], rows: list[dict], gens: list[dict], name: str, eval_dir: Path, *,
                      baseline: Path | None, seed: int, absolute_n: int) -> dict:
    """The judgments in `kinds`; each writes eval/<name>.<kind>.{jsonl,json}. Returns the summaries."""
    from lima.eval.judge import judge_pairwise, judge_single

    by_id = {r["id"]: r for r in rows}
    first = [g for g in gens if g["sample_idx"] == 0]
    judged = {}
    if "pairwise" in kinds and not baseline:
        log.info("pairwise: no --baseline given, skipped")
    elif "pairwise" in kinds:
        theirs = read_baseline(baseline)
        pairs = [{"id": g["id"], "sample_idx": g["sample_idx"], "prompt": g["prompt"], "ours": g["response"],
                  "theirs": theirs[g["id"]]} for g in gens if g["id"] in theirs]
        missing = len({g["id"] for g in gens} - set(theirs))
        items = judge_pairwise(client, pairs)
        base = baseline.name.split(".")[0]
        summary = {**pairwise_summary(items), "baseline": baseline.as_posix(), "prompts_missing_in_baseline": missing}
        judged["pairwise"] = {base: _write_kind(eval_dir, f"{name}.pairwise-{base}", items, summary)}
    if "absolute" in kinds:
        plain = [g for g in first if not by_id[g["id"]]["meta"].get("safety")]
        chosen = sorted(make_rng(seed, "absolute").sample(range(len(plain)), min(absolute_n, len(plain))))
        items = judge_single(client, "absolute", [plain[i] for i in chosen])
        judged["absolute"] = _write_kind(eval_dir, f"{name}.absolute", items,
                                         shares(Counter(i["verdict"] for i in items), ("excellent", "pass", "fail")))
        flagged = [g for g in first if by_id[g["id"]]["meta"].get("safety")]
        items = judge_single(client, "safety", flagged)
        judged["safety"] = _write_kind(eval_dir, f"{name}.safety", items,
                                       shares(Counter(i["verdict"] for i in items), ("safe", "unsafe")))
    if "likert" in kinds:
        items = judge_single(client, "likert", gens)
        scores = [i["verdict"] for i in items if i["verdict"] is not None]
        summary = {**mean_ci95(scores), "unparseable": len(items) - len(scores),
                   "histogram": {str(k): scores.count(k) for k in range(1, 7)}}
        judged["likert"] = _write_kind(eval_dir, f"{name}.likert", items, summary)
    return judged
