"""Stage 06: generate with the paper's decoding, measure, and judge (PAPER.md §4, sections 7-8 here).

One response per prompt (or --samples N: the ablations' 5) with nucleus p=0.9, temperature 0.7 and a
repetition penalty of 1.2 on generated tokens, stopping at EOT; automatic metrics; then, when a judge
is configured (JUDGE_BASE_URL, JUDGE_MODEL, key in JUDGE_API_KEY or OPENAI_API_KEY), the paper's
pairwise preference against a baseline in both orders, the Fail/Pass/Excellent rating of 50 random
prompts plus the safety-flagged ones, and/or the 1-6 helpfulness score. Agreement between two
judgment files: scripts/06_agreement.py.

    python scripts/06_eval.py --checkpoint checkpoints/sample/epoch_10 --prompts data/lima/test.jsonl \
        --out results/sample --max-new-tokens 128
    torchrun --nproc_per_node 8 scripts/06_eval.py --checkpoint checkpoints/paper/epoch_07 \
        --prompts data/lima/test.jsonl --out results/paper --baseline results/paper/generations/api-gpt-4.test.jsonl
    python scripts/06_eval.py --generate-via-api gpt-4 --prompts data/lima/test.jsonl --out results/paper
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import re
import sys
from collections import Counter
from pathlib import Path

from lima.errors import StageError
from lima.rng import make_rng
from lima.cli import run_main, setup_logging
from lima.dataset.contract import read_contract_rows
from lima.eval.metrics import generation_metrics, mean_ci95, shares
from lima.eval.report import NO_JUDGE_LINE, plot_winrates, write_report
from lima.funnel import Funnel, describe_inputs, stats_path, write_stats
from lima.eval.generate import Decoding
from lima.io import read_jsonl, write_json, write_jsonl

log = logging.getLogger("lima.eval")
KINDS = ("pairwise", "absolute", "likert")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    # ---- what to evaluate
    p.add_argument("--checkpoint", type=Path, help="an exported epoch_NN/ folder (or a link to one, e.g. selected)")
    p.add_argument("--prompts", type=Path, required=True, help="prompt file (data contract): test, or dev (its responses are ignored)")
    p.add_argument("--out", type=Path, required=True, help="results/<run>: generations/, metrics/, judgments/, eval/, report/")
    p.add_argument("--generate-via-api", metavar="MODEL", help="instead of a checkpoint, take the responses of MODEL on an OpenAI-compatible server (a baseline)")
    p.add_argument("--api-url", default=None, help="server for --generate-via-api (default: the judge's URL)")
    # ---- decoding (§4.1 defaults)
    p.add_argument("--samples", type=int, default=1, help="responses per prompt (§4.1: 1; the §5 ablations: 5)")
    p.add_argument("--max-new-tokens", type=int, default=2048, help="§4.1: 2,048 tokens")
    p.add_argument("--seed", type=int, default=0, help="with the prompt id and sample index, seeds each response's own random stream")
    p.add_argument("--batch-size", type=int, default=16, help="prompts decoded together on one rank (sorted by length)")
    p.add_argument("--device-map", default=None, help="'auto' spreads a model too large for one GPU over the node's GPUs (needs accelerate)")
    # ---- judge
    p.add_argument("--baseline", type=Path, default=None, help="another system's responses {id, prompt, response} for the pairwise judge")
    p.add_argument("--judge", default="pairwise,absolute", help="comma list of pairwise, absolute (50 random prompts + the safety-flagged ones), likert (1-6)")
    p.add_argument("--judge-url", default=None, help="OpenAI-compatible base URL, e.g. https://api.openai.com/v1 (default: $JUDGE_BASE_URL); the key only from $JUDGE_API_KEY or $OPENAI_API_KEY")
    p.add_argument("--judge-model", default=None, help="judge model name (default: $JUDGE_MODEL)")
    p.add_argument("--judge-concurrency", type=int, default=4, help="judge calls in flight at once")
    p.add_argument("--judge-budget", type=int, default=5000, help="at most this many HTTP requests per run (cached answers are free)")
    p.add_argument("--judge-timeout", type=float, default=120.0, help="seconds per request before it is retried")
    p.add_argument("--absolute-n", type=int, default=50, help="§4.3: 50 random test prompts get the absolute rating")
    p.add_argument("--report", type=Path, default=None, help="report fragment, written last (default: <out>/report/eval.md; eval.api-<model>.md with --generate-via-api)")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    args.judge_url = args.judge_url or os.environ.get("JUDGE_BASE_URL") or None
    args.judge_model = args.judge_model or os.environ.get("JUDGE_MODEL") or None
    return args


def check_args(args) -> list[str]:
    """Every configuration problem, checked before anything is loaded."""
    problems = []
    kinds = [k.strip() for k in args.judge.split(",") if k.strip()]
    if bad := [k for k in kinds if k not in KINDS]:
        problems.append(f"--judge: unknown kind(s) {bad}; choose from {', '.join(KINDS)}")
    args.kinds = kinds
    if bool(args.checkpoint) == bool(args.generate_via_api):
        problems.append("give exactly one of --checkpoint DIR and --generate-via-api MODEL")
    if args.checkpoint and not (args.checkpoint / "config.json").is_file():
        problems.append(f"--checkpoint {args.checkpoint}: not an exported model folder (no config.json)")
    if not args.prompts.is_file():
        problems.append(f"--prompts {args.prompts}: no such file")
    if args.baseline and not args.baseline.is_file():
        problems.append(f"--baseline {args.baseline}: no such file")
    if args.samples < 1 or args.max_new_tokens < 1 or args.batch_size < 1:
        problems.append("--samples, --max-new-tokens and --batch-size must be at least 1")
    if bool(args.judge_url) != bool(args.judge_model):
        problems.append("the judge needs both a URL (--judge-url or JUDGE_BASE_URL) and a model (--judge-model or JUDGE_MODEL)")
    if args.generate_via_api and not (args.api_url or args.judge_url):
        problems.append("--generate-via-api needs a server: --api-url or JUDGE_BASE_URL")
    return problems


def generation_name(args) -> str:
    """`<epoch_NN>.<split>`; a `selected` link is resolved to the epoch it points to."""
    system = args.checkpoint.resolve().name if args.checkpoint else "api-" + re.sub(r"[^A-Za-z0-9._-]+", "-", args.generate_via_api)
    return f"{system}.{args.prompts.stem}"


def reuse_key(args, decoding: Decoding) -> str:
    """Generation is the expensive part: a rerun (say, after the judge budget ran out) reuses the
    file when checkpoint, prompts and decoding are unchanged."""
    h = hashlib.sha256(args.prompts.read_bytes())
    if args.checkpoint:
        for name in sorted(os.listdir(args.checkpoint)):
            st = (args.checkpoint / name).stat()
            h.update(f"{name}:{st.st_size}:{st.st_mtime_ns}".encode())
    h.update(json.dumps([decoding.to_dict(), args.seed, args.samples, args.generate_via_api], sort_keys=True).encode())
    return h.hexdigest()[:16]


def generate_locally(args, rows, decoding, counts):
    """Collective under torchrun: each rank decodes its share; rank 0 gets every row, in order."""
    import torch.distributed as dist

    from lima.chat import EOT
    from lima.distributed import cleanup_distributed, init_distributed, is_main, rank, world_size
    from lima.eval.generate import generate_all, generation_rows, load_checkpoint, make_jobs, shard_jobs

    from transformers.utils import logging as hf_logging
    if not sys.stderr.isatty():
        hf_logging.disable_progress_bar()
    device = init_distributed()
    if not is_main():
        logging.getLogger("lima").setLevel(logging.WARNING)
    try:
        if args.device_map and importlib_missing("accelerate"):
            raise StageError("--device-map", "needs the accelerate package (pip install accelerate)")
        model, tok = load_checkpoint(args.checkpoint, device, args.device_map)
        eot = tok.convert_tokens_to_ids(EOT)
        if eot is None or eot == tok.unk_token_id:
            raise StageError(args.checkpoint, f"the tokenizer has no {EOT} token: not a stage-05 export")
        max_pos = getattr(model.config, "max_position_embeddings", None) or 1 << 30
        jobs = make_jobs(tok, rows, args.samples, max_pos, counts)
        mine = shard_jobs(jobs, rank(), world_size())
        log.info("rank %d: %d of %d responses, batches of %d", rank(), len(mine), len(jobs), args.batch_size)
        results = generate_all(model, mine, decoding, seed=args.seed, eot_id=eot,
                               pad_id=tok.pad_token_id if tok.pad_token_id is not None else eot,
                               device=next(model.parameters()).device, batch_size=args.batch_size,
                               show_progress=is_main())
        gathered = [None] * world_size()
        dist.all_gather_object(gathered, results)
        if not is_main():
            return None
        merged = [r for part in gathered for r in part]
        assert len(merged) == len(jobs), f"{len(merged)} results for {len(jobs)} jobs"
        return generation_rows(tok, rows, merged, args.samples, {**decoding.to_dict(), "seed": args.seed})
    finally:
        cleanup_distributed()


def importlib_missing(name: str) -> bool:
    import importlib.util
    return importlib.util.find_spec(name) is None


def write_kind(out_dir: Path, name: str, items: list[dict], summary: dict) -> dict:
    write_jsonl(out_dir / f"{name}.jsonl", items)
    write_json(out_dir / f"{name}.json", summary)
    return summary


def main(argv=None) -> int:
    args = parse_args(argv)
    setup_logging(args.verbose)
    if problems := check_args(args):
        raise StageError("06_eval.py", "; ".join(problems))
    decoding = Decoding(max_new_tokens=args.max_new_tokens)
    from lima.eval.judge import api_key_from_env
    api_key = api_key_from_env()        # never a flag, never written

    # ---- prompts
    counts = Counter()
    rows = read_contract_rows(args.prompts, counts)
    if not rows:
        raise StageError(args.prompts, "no usable prompt row")
    name = generation_name(args)
    # An API system's report gets its own name: report/eval.md (the Make target) is the checkpoint's.
    args.report = args.report or args.out / "report" / ("eval.md" if args.checkpoint else f"eval.{name.split('.')[0]}.md")
    gen_path = args.out / "generations" / f"{name}.jsonl"
    key = reuse_key(args, decoding)

    # ---- generation (reused when nothing it depends on changed)
    stats = stats_path(gen_path)
    reusable = gen_path.exists() and stats.exists() and json.loads(stats.read_text()).get("reuse_key") == key
    if os.environ.get("RANK", "0") != "0" and (reusable or args.generate_via_api):
        return 0                  # under torchrun only rank 0 has work when nothing is decoded locally
    if reusable:
        gens = list(read_jsonl(gen_path))
        log.info("reusing %s (same checkpoint, prompts and decoding)", gen_path)
    else:
        if args.generate_via_api:
            from lima.eval.generate import api_generation_rows
            from lima.eval.judge import ChatClient
            client = ChatClient(args.api_url or args.judge_url, args.generate_via_api, api_key=api_key,
                                cache_path=args.out / "judgments" / "generate.jsonl",
                                concurrency=args.judge_concurrency, budget=args.judge_budget, timeout=args.judge_timeout)
            gens = run_judge(lambda: api_generation_rows(client, rows, args.samples, decoding, args.seed))
        else:
            gens = generate_locally(args, rows, decoding, counts)
            if gens is None:
                return 0          # a rank other than 0: rank 0 writes everything
        funnel = Funnel("eval")
        funnel.read["prompts"] = len(rows)
        funnel.kept["responses"] = len(gens)
        funnel.dropped.update({k: v for k, v in counts.items() if v})
        funnel.notes["reuse_key"] = key
        write_jsonl(gen_path, gens)
        write_stats(gen_path, funnel, args={k: str(v) for k, v in vars(args).items()},
                    inputs=describe_inputs([args.prompts]), seed=args.seed)
    metrics = {**generation_metrics(gens), "generations": gen_path.as_posix(), "decoding": decoding.to_dict()}
    write_json(args.out / "metrics" / f"{name}.json", metrics)

    # ---- judge
    judged, judge_info = {}, None
    if not args.judge_url:
        print(f"judge: {NO_JUDGE_LINE}")
    else:
        from lima.eval.judge import ChatClient
        client = ChatClient(args.judge_url, args.judge_model, api_key=api_key, cache_path=args.out / "judgments" / "judge.jsonl",
                            concurrency=args.judge_concurrency, budget=args.judge_budget, timeout=args.judge_timeout)
        judged = run_judge(lambda: judge_all(args, client, rows, gens, name))
        judge_info = {"url": args.judge_url, "model": args.judge_model, "requests": client.requests_sent,
                      "cache_hits": client.cache_hits}

    # ---- summary, report (last: the Make target)
    summary = {"generations": gen_path.as_posix(), "checkpoint": str(args.checkpoint or args.generate_via_api),
               "prompts": args.prompts.as_posix(), "n_prompts": len(rows), "samples": args.samples,
               "decoding": decoding.to_dict(), "seed": args.seed, "metrics": metrics, "judge": judge_info,
               "judged": judged}
    write_json(args.out / "eval" / f"{name}.summary.json", summary)
    if judged.get("pairwise"):
        plot_winrates(judged["pairwise"], args.out / "winrates.png")
    write_report(args.report, summary)
    judged_line = ", ".join(judged) if judged else "not judged"
    print(f"eval: {len(gens)} responses -> {gen_path} (EOT rate {metrics['eot_rate']}, distinct-2 "
          f"{metrics['distinct_2']}); {judged_line}; report {args.report}")
    return 0


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


def run_judge(fn):
    from lima.eval.judge import JudgeError
    try:
        return fn()
    except JudgeError as e:
        raise StageError("judge", str(e)) from None


def judge_all(args, client, rows, gens, name) -> dict:
    """The judgments asked for with --judge; each writes eval/<name>.<kind>.{jsonl,json}."""
    from lima.eval.judge import judge_pairwise, judge_single

    eval_dir = args.out / "eval"
    by_id = {r["id"]: r for r in rows}
    first = [g for g in gens if g["sample_idx"] == 0]
    judged = {}
    if "pairwise" in args.kinds:
        if not args.baseline:
            log.info("pairwise: no --baseline given, skipped")
        else:
            theirs = read_baseline(args.baseline)
            pairs = [{"id": g["id"], "sample_idx": g["sample_idx"], "prompt": g["prompt"], "ours": g["response"],
                      "theirs": theirs[g["id"]]} for g in gens if g["id"] in theirs]
            missing = len({g["id"] for g in gens} - set(theirs))
            items = judge_pairwise(client, pairs)
            base = args.baseline.name.split(".")[0]
            summary = {order: shares(Counter(i[order] for i in items), ("win", "tie", "loss"))
                       for order in ("order_ab", "order_ba", "verdict")}
            summary["debiased"] = summary.pop("verdict")
            summary.update({"baseline": args.baseline.as_posix(), "prompts_missing_in_baseline": missing})
            judged["pairwise"] = {base: write_kind(eval_dir, f"{name}.pairwise-{base}", items, summary)}
    if "absolute" in args.kinds:
        plain = [g for g in first if not by_id[g["id"]]["meta"].get("safety")]
        chosen = sorted(make_rng(args.seed, "absolute").sample(range(len(plain)), min(args.absolute_n, len(plain))))
        items = judge_single(client, "absolute", [plain[i] for i in chosen])
        judged["absolute"] = write_kind(eval_dir, f"{name}.absolute", items,
                                        shares(Counter(i["verdict"] for i in items), ("excellent", "pass", "fail")))
        flagged = [g for g in first if by_id[g["id"]]["meta"].get("safety")]
        items = judge_single(client, "safety", flagged)
        judged["safety"] = write_kind(eval_dir, f"{name}.safety", items,
                                      shares(Counter(i["verdict"] for i in items), ("safe", "unsafe")))
    if "likert" in args.kinds:
        items = judge_single(client, "likert", gens)
        scores = [i["verdict"] for i in items if i["verdict"] is not None]
        summary = {**mean_ci95(scores), "unparseable": len(items) - len(scores),
                   "histogram": {str(k): scores.count(k) for k in range(1, 7)}}
        judged["likert"] = write_kind(eval_dir, f"{name}.likert", items, summary)
    return judged


if __name__ == "__main__":
    sys.exit(run_main(main))
