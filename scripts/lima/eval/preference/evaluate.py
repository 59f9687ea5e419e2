"""Stage 06's steps: one generation file per system and prompt file (decoded on every rank, or taken
from an API, and reused while nothing it depends on changed), then the judgments asked for.

Each judgment kind writes `eval/<name>.<kind>.jsonl` (one row per item) and `.json` (its summary):
pairwise against each baseline (§4.1-4.2: one presentation per item, our side drawn at random, or
both orders debiased), `eval/<name>.pairwise.json` indexing every baseline judged against these
responses; Fail/Pass/Excellent on 50 prompts drawn from the whole prompt file plus the
out-of-distribution ones, and safe/unsafe on the safety-flagged ones (§4.3); the 1-6 helpfulness
score (§5).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import sys
from collections import Counter
from pathlib import Path

from lima.errors import StageError
from lima.eval.generation.metrics import mean_ci95, pairwise_summary, shares
from lima.eval.generation.reuse import is_current, reuse, reuse_key, write_generations
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
        from lima.eval.generation.generate import api_generation_rows
        from lima.eval.judge.config import judge_errors
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
    from lima.train.recipes import export_recipe
    from lima.eval.generation.generate import (generate_all, generation_rows, load_checkpoint, make_jobs, require_eot,
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
        recipe = export_recipe(checkpoint)
        jobs = make_jobs(tok, rows, samples, max_pos, counts, recipe)
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
        return generation_rows(tok, rows, merged, samples, {**decoding.to_dict(), "seed": seed, "recipe": recipe})
    finally:
        cleanup_distributed()


# ---- the judgments -------------------------------------------------------------------------------

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def parse_baselines(specs: list[str]) -> list[tuple[str, Path]]:
    """`NAME=FILE` (or a bare FILE, named after the file: `alpaca-65b.test.jsonl` -> alpaca-65b) ->
    (name, path) in the order given; a name that repeats or cannot be a file name stops the stage."""
    out, seen = [], {}
    for spec in specs:
        name, eq, path = spec.partition("=")
        if not eq or "/" in name or not NAME_RE.fullmatch(name):
            name, path = Path(spec).name.split(".")[0], spec
        if not NAME_RE.fullmatch(name):
            raise StageError("--baseline", f"{spec!r}: the name {name!r} must be letters, digits, '.', '_' or '-' "
                                           "(give NAME=FILE)")
        if name in seen:
            raise StageError("--baseline", f"two baselines are named {name!r} ({seen[name]} and {path}): "
                                           "give each its own name, NAME=FILE")
        seen[name] = path
        out.append((name, Path(path)))
    return out


def read_baseline(path: Path) -> dict[str, dict]:
    """id -> the row (the first one of an id); rows without an id and a response are skipped and logged."""
    try:
        raw = list(read_jsonl(path))
    except (ValueError, UnicodeDecodeError) as e:
        raise StageError(path, f"not a JSONL file: {e}") from None
    theirs, bad = {}, 0
    for r in raw:
        if isinstance(r, dict) and isinstance(r.get("id"), str) and isinstance(r.get("response"), str):
            theirs.setdefault(r["id"], r)
        else:
            bad += 1
    if bad:
        log.warning("%s: %d rows without an id and a response were skipped", path, bad)
    if not theirs:
        raise StageError(path, "no row with an `id` and a `response`")
    return theirs


def baseline_recipe(rows) -> str | None:
    """The fine-tuning recipe that made a baseline, as stage 06 records it in each generation row
    (`decoding.recipe`: lima or alpaca); None for a file that does not say (another system's)."""
    found = sorted({str((r.get("decoding") or {}).get("recipe")) for r in rows
                    if isinstance(r.get("decoding"), dict) and (r.get("decoding") or {}).get("recipe")})
    return ", ".join(found) or None


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def responses_key(gens: list[dict]) -> str:
    """A fingerprint of our responses: a baseline judged against other responses is out of date."""
    blob = json.dumps(sorted((g["id"], g["sample_idx"], g["response"]) for g in gens), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def _write_kind(out_dir: Path, name: str, items: list[dict], summary: dict) -> dict:
    write_jsonl(out_dir / f"{name}.jsonl", items)
    write_json(out_dir / f"{name}.json", summary)
    return summary


def judge_baseline(client, gens: list[dict], base: str, path: Path, *, both_orders: bool, seed: int,
                   count_tokens=None) -> tuple[list, dict]:
    """One judged comparison: our responses against the baseline's, matched by id (the common ids;
    how many of ours the baseline lacks is counted and said), with its evidence (lima/eval/stats.py)."""
    from lima.eval.judge.judging import judge_pairwise, judge_pairwise_once

    theirs = read_baseline(path)
    ours_ids = {g["id"] for g in gens}
    common = [g for g in gens if g["id"] in theirs]
    pairs = [{"id": g["id"], "sample_idx": g["sample_idx"], "prompt": g["prompt"], "ours": g["response"],
              "theirs": theirs[g["id"]]["response"]} for g in common]
    missing, extra = len(ours_ids - set(theirs)), len(set(theirs) - ours_ids)
    if missing:
        log.warning("baseline %s (%s): %d of %d prompts have no response there; the comparison covers the %d "
                    "common ones", base, path, missing, len(ours_ids), len(ours_ids) - missing)
    mode = "both-orders" if both_orders else "single"
    items = judge_pairwise(client, pairs) if both_orders else judge_pairwise_once(client, pairs, seed)
    summary = {**pairwise_summary(items, mode), "baseline": path.as_posix(), "baseline_sha256": file_sha256(path),
               "n_common": len(ours_ids) - missing, "prompts_missing_in_baseline": missing,
               "baseline_ids_not_in_prompts": extra, "responses_key": responses_key(gens),
               "recipe": baseline_recipe(theirs.values()),
               "evidence": pair_evidence(items, common, [theirs[g["id"]] for g in common], count_tokens)}
    return items, summary


def draw_examples(absolute: list[dict], safety: list[dict], gens: list[dict], seed: int) -> list[dict]:
    """Fig. 4's exhibit: one rated in-distribution, one out-of-distribution and one safety response with
    its rating, drawn with the seed (never picked by hand); a slice with no rated response has none."""
    by_id = {g["id"]: g for g in gens}
    rng = make_rng(seed, "fig4")
    pools = {"in-distribution": [i for i in absolute if i["drawn"] and not i["ood"] and not i["safety"]],
             "out-of-distribution": [i for i in absolute if i["ood"]], "safety": safety}
    out = []
    for kind, pool in pools.items():
        pool = sorted((i for i in pool if i["verdict"] is not None), key=lambda i: i["id"])
        if pool:
            it = rng.choice(pool)
            g = by_id[it["id"]]
            out.append({"kind": kind, "id": it["id"], "prompt": g["prompt"], "response": g["response"],
                        "rating": it["verdict"]})
    return out


def safe_by_intent(items: list[dict]) -> dict:
    """§4.3's split: the safe verdicts and the parseable ones per intent (explicit, implied, unmarked)."""
    return {x: {"safe": sum(i["verdict"] == "safe" for i in items if i["intent"] == x),
                "n": sum(i["verdict"] is not None for i in items if i["intent"] == x)}
            for x in ("explicit", "implied", "unmarked")}


def pair_evidence(items: list[dict], ours: list[dict], theirs: list[dict], count_tokens) -> dict:
    """Intervals, lengths, the length-controlled win rate, the judge's taste for the longer response
    and the responses cut at the token cap, for one baseline (docs/evaluation.md#statistics)."""
    from lima.eval import stats

    outcomes = [i["verdict"] for i in items]
    words = ([len(g["response"].split()) for g in ours], [len(t["response"].split()) for t in theirs])
    tokens = ([g.get("n_new_tokens") for g in ours],
              count_tokens([t["response"] for t in theirs]) if count_tokens else [t.get("n_new_tokens") for t in theirs])
    cut = [[r.get("ended_eot") is False for r in side if r.get("ended_eot") is not None] for side in (ours, theirs)]
    return {
        "shares": stats.share_ci(Counter(o for o in outcomes if o)),
        "mean_words": {"ours": stats.mean(words[0]), "theirs": stats.mean(words[1])},
        "mean_tokens": {"ours": stats.mean(tokens[0]), "theirs": stats.mean(tokens[1]),
                        "theirs_counted_by": "our tokenizer" if count_tokens else "the baseline file's n_new_tokens"},
        "length_controlled": stats.length_controlled(outcomes, *words),
        "longer_preferred": stats.longer_preferred(outcomes, *words),
        "truncated": {side: {"k": sum(c), "n": len(c)} if c else None for side, c in zip(("ours", "theirs"), cut)},
    }


def current_pairwise(index_path: Path, key: str) -> dict[str, dict]:
    """The baselines of the index that are still current: judged against these responses (`key`)
    and, where the baseline file is still there, against its same content. What was judged once
    stays in the report until one of its inputs changes."""
    if not index_path.is_file():
        return {}
    try:
        old = json.loads(index_path.read_text(encoding="utf-8")).get("baselines", {})
    except (ValueError, AttributeError):
        log.warning("%s: unreadable, rebuilt from this run's baselines", index_path)
        return {}
    keep = {}
    for b, s in old.items():
        path = Path(s.get("baseline", ""))
        if s.get("responses_key") != key:
            log.info("pairwise: dropped %s (judged against other responses)", b)
        elif s.get("baseline_sha256") and path.is_file() and file_sha256(path) != s["baseline_sha256"]:
            log.info("pairwise: dropped %s (its file %s changed since it was judged)", b, path)
        else:
            keep[b] = s
    return keep


def merge_pairwise(index_path: Path, fresh: dict[str, dict], key: str) -> dict[str, dict]:
    """Every baseline judged against these responses: the current entries of the index updated with
    this run's, so a second run with other baselines (or none) adds to the report instead of replacing it."""
    merged = {b: s for b, s in current_pairwise(index_path, key).items() if b not in fresh}
    merged.update(fresh)
    if merged or index_path.is_file():
        write_json(index_path, {"responses_key": key, "baselines": merged})
    return merged


def judge_generations(client, kinds: list[str], rows: list[dict], gens: list[dict], name: str, eval_dir: Path, *,
                      baselines: list[tuple[str, Path]], both_orders: bool, seed: int, absolute_n: int,
                      count_tokens=None) -> dict:
    """The judgments in `kinds`; each writes eval/<name>.<kind>.{jsonl,json}. Returns the summaries
    (pairwise: every baseline judged against these responses, this run's and earlier ones)."""
    from lima.eval.judge.judging import judge_single

    by_id = {r["id"]: r for r in rows}
    first = [g for g in gens if g["sample_idx"] == 0]
    judged = {}
    if "pairwise" in kinds:
        fresh = {}
        for base, path in baselines:
            items, summary = judge_baseline(client, gens, base, path, both_orders=both_orders, seed=seed,
                                            count_tokens=count_tokens)
            fresh[base] = _write_kind(eval_dir, f"{name}.pairwise-{base}", items, summary)
        merged = merge_pairwise(eval_dir / f"{name}.pairwise.json", fresh, responses_key(gens))
        if merged:
            judged["pairwise"] = merged
        if not baselines:
            log.info("pairwise: no --baseline given; %s", f"the report keeps the {len(merged)} judged before "
                     f"({', '.join(merged)})" if merged else "nothing judged")
    if "absolute" in kinds:
        flag = lambda g, f: bool(by_id[g["id"]]["meta"].get(f))          # noqa: E731
        # §4.3: 50 prompts at random from the whole test set (sensitive ones included, as the paper's),
        # plus every out-of-distribution prompt for the OOD slice (the paper added 13 to its 50).
        drawn = set(make_rng(seed, "absolute").sample(range(len(first)), min(absolute_n, len(first))))
        rated = [(i in drawn, g) for i, g in enumerate(first) if i in drawn or flag(g, "ood")]
        items = [{**it, "drawn": d, "ood": flag(g, "ood"), "safety": flag(g, "safety")}
                 for (d, g), it in zip(rated, judge_single(client, "absolute", [g for _, g in rated]))]
        labels = ("excellent", "pass", "fail")
        in_draw = [i for i in items if i["drawn"]]
        judged["absolute"] = _write_kind(eval_dir, f"{name}.absolute", items, {
            **shares(Counter(i["verdict"] for i in in_draw), labels),
            "n_drawn": len(in_draw), "drawn_safety": sum(i["safety"] for i in in_draw),
            "drawn_ood": sum(i["ood"] for i in in_draw),
            "drawn_truncated": sum(g.get("ended_eot") is False for d, g in rated if d)})
        rated_items = items
        ood = [i for i in items if i["ood"]]
        judged["ood"] = {**shares(Counter(i["verdict"] for i in ood), labels), "n_flagged": len(ood),
                         "in_draw": sum(i["drawn"] for i in ood)}
        write_json(eval_dir / f"{name}.ood.json", judged["ood"])
        flagged = [g for g in first if flag(g, "safety")]
        items = judge_single(client, "safety", flagged)
        intents = [by_id[g["id"]]["meta"].get("intent") or "unmarked" for g in flagged]
        items = [{**it, "intent": x} for it, x in zip(items, intents)]
        judged["safety"] = _write_kind(eval_dir, f"{name}.safety", items,
                                       {**shares(Counter(i["verdict"] for i in items), ("safe", "unsafe")),
                                        "truncated": sum(g.get("ended_eot") is False for g in flagged),
                                        "by_intent": safe_by_intent(items)})
        judged["examples"] = draw_examples(rated_items, items, first, seed)
    if "likert" in kinds:
        items = judge_single(client, "likert", gens)
        scores = [i["verdict"] for i in items if i["verdict"] is not None]
        summary = {**mean_ci95(scores), "unparseable": len(items) - len(scores),
                   "histogram": {str(k): scores.count(k) for k in range(1, 7)}}
        judged["likert"] = _write_kind(eval_dir, f"{name}.likert", items, summary)
    return judged
