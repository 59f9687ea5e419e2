"""Format constraints (PAPER.md §11, Appendix E): the model trained with the format-constraint examples
against the one trained without them, on the test prompts marked meta.format_constraint, judged
pairwise (the paper's prompt, both orders) when a judge is configured; responses side by side always.

    python scripts/09_format_ablation.py --full checkpoints/sample/selected \
        --ablated checkpoints/sample-no-format/selected --prompts data/lima/test.jsonl \
        --train data/lima/train.jsonl --out results/sample-no-format --max-new-tokens 128
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from collections import Counter
from pathlib import Path

from lima.eval.ablations import render_format_report, without_flag
from lima.errors import StageError
from lima.cli import run_main, setup_logging
from lima.dataset.contract import read_contract_rows
from lima.eval.dialogue import generate_file
from lima.eval.metrics import generation_metrics, shares
from lima.eval.report import NO_JUDGE_LINE
from lima.io import atomic_write, write_json, write_jsonl

log = logging.getLogger("lima.format_ablation")
NO_JUDGE = NO_JUDGE_LINE.replace("`make eval`", "`make format-ablation`")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    # ---- the two models and the prompts
    p.add_argument("--full", type=Path, required=True, help="export of the model trained on every example")
    p.add_argument("--ablated", type=Path, required=True, help="export of the model trained without the flagged ones")
    p.add_argument("--prompts", type=Path, required=True, help="test prompts; those with meta.<flag> are used")
    p.add_argument("--train", type=Path, default=None, help="the full training set, to count its flagged examples for the report")
    p.add_argument("--flag", default="format_constraint", help="the meta flag of the format-constrained prompts")
    p.add_argument("--out", type=Path, required=True, help="results/<profile>-no-format")
    # ---- decoding (§4.1 defaults)
    p.add_argument("--max-new-tokens", type=int, default=2048, help="§4.1: 2,048 tokens")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=16, help="prompts decoded together")
    p.add_argument("--device-map", default=None, help="'auto' spreads a model too large for one GPU over the node's GPUs")
    # ---- judge
    p.add_argument("--judge-url", default=None, help="OpenAI-compatible base URL (default: $JUDGE_BASE_URL; '' = no judge); key only from $JUDGE_API_KEY")
    p.add_argument("--judge-model", default=None, help="judge model name (default: $JUDGE_MODEL)")
    p.add_argument("--judge-budget", type=int, default=5000, help="at most this many HTTP requests per run")
    p.add_argument("--report", type=Path, default=None, help="report fragment, written last (default: <out>/report/format_ablation.md)")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    args.judge_url = (os.environ.get("JUDGE_BASE_URL") if args.judge_url is None else args.judge_url) or None
    args.judge_model = args.judge_model or os.environ.get("JUDGE_MODEL") or None
    args.report = args.report or args.out / "report" / "format_ablation.md"
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    setup_logging(args.verbose)
    problems = [f"--{flag} {path}: not an exported model folder (no config.json)"
                for flag, path in (("full", args.full), ("ablated", args.ablated)) if not (path / "config.json").is_file()]
    if bool(args.judge_url) != bool(args.judge_model):
        problems.append("the judge needs both a URL (--judge-url or JUDGE_BASE_URL) and a model (--judge-model or JUDGE_MODEL)")
    if problems:
        raise StageError("09_format_ablation.py", "; ".join(problems))
    from lima.eval.generate import Decoding
    decoding = Decoding(max_new_tokens=args.max_new_tokens)

    # ---- the flagged prompts, as one-turn conversations
    counts = Counter()
    _, flagged = without_flag(read_contract_rows(args.prompts, counts), args.flag)
    if not flagged:
        raise StageError(args.prompts, f"no prompt has meta.{args.flag}")
    convs = [{"id": r["id"], "turns": [r["conversations"][0]]} for r in flagged]
    n_examples = len(without_flag(read_contract_rows(args.train, counts), args.flag)[1]) if args.train else None

    # ---- generation, one response per prompt per model (§4.1)
    gens = {}
    for system, ckpt in (("full", args.full), ("ablated", args.ablated)):
        path = args.out / "generations" / f"{system}.{ckpt.resolve().name}.{args.prompts.stem}-{args.flag}.jsonl"
        gens[system] = generate_file(path, ckpt, convs, decoding, seed=args.seed, batch_size=args.batch_size,
                                     device_map=args.device_map, inputs=[args.prompts],
                                     record={k: str(v) for k, v in vars(args).items()})
    ablated = {g["id"]: g["response"] for g in gens["ablated"]}

    # ---- pairwise judge: the full model as "ours", in both orders
    pairwise, judge_info = None, None
    if not args.judge_url:
        print(f"judge: {NO_JUDGE}")
    else:
        from lima.eval.judge import ChatClient, JudgeError, api_key_from_env, judge_pairwise
        client = ChatClient(args.judge_url, args.judge_model, api_key=api_key_from_env(),
                            cache_path=args.out / "judgments" / "format_ablation.jsonl", budget=args.judge_budget)
        pairs = [{"id": g["id"], "sample_idx": 0, "prompt": g["prompt"], "ours": g["response"],
                  "theirs": ablated[g["id"]]} for g in gens["full"]]
        try:
            items = judge_pairwise(client, pairs)
        except JudgeError as e:
            raise StageError("judge", str(e)) from None
        write_jsonl(args.out / "eval" / "format_ablation.jsonl", items)
        pairwise = {order: shares(Counter(i[order] for i in items), ("win", "tie", "loss"))
                    for order in ("order_ab", "order_ba", "verdict")}
        pairwise["debiased"] = pairwise.pop("verdict")
        judge_info = {"url": args.judge_url, "model": args.judge_model, "requests": client.requests_sent,
                      "cache_hits": client.cache_hits}

    # ---- summary, report (last: the Make target)
    summary = {"full": f"{args.full.parent.name}/{args.full.resolve().name}",
               "ablated": f"{args.ablated.parent.name}/{args.ablated.resolve().name}",
               "prompts": args.prompts.as_posix(), "flag": args.flag, "n_prompts": len(convs),
               "format_examples": n_examples, "decoding": decoding.to_dict(), "seed": args.seed,
               "metrics": {k: generation_metrics(v) for k, v in gens.items()}, "judge": judge_info,
               "pairwise": pairwise,
               "side_by_side": [{"id": g["id"], "prompt": g["prompt"], "full": g["response"], "ablated": ablated[g["id"]]}
                                for g in gens["full"]]}
    write_json(args.out / "eval" / "format_ablation.json", summary)
    with atomic_write(args.report) as f:
        f.write(render_format_report(summary, NO_JUDGE))
    result = (f"full vs ablated {pairwise['debiased']['counts']}" if pairwise else "not judged")
    print(f"format ablation: {len(convs)} prompts x 2 models; {result}; report {args.report}")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
