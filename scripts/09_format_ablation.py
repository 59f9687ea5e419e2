"""Format constraints (Appendix E): the model trained with the format-constraint examples
against the one trained without them, on the test prompts marked meta.format_constraint, judged
pairwise (the paper's prompt, both orders) when a judge is configured; responses side by side always.

    python scripts/09_format_ablation.py --full checkpoints/sample/selected \
        --ablated checkpoints/sample-no-format/selected --prompts data/lima/test.jsonl \
        --train data/lima/train.jsonl --out results/sample-no-format --max-new-tokens 128
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lima.cli import run_main, setup_logging
from lima.errors import StageError
from lima.eval.ablations.format import flagged_conversations, judge_format_pairs, render_format_report, side_by_side
from lima.eval.dialogue import generate_file
from lima.eval.judge.config import add_judge_args, judge_errors, resolve
from lima.eval.generation.metrics import generation_metrics
from lima.eval.preference.report import NO_JUDGE_LINE
from lima.io import atomic_write, write_json

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
    p.add_argument("--flags", type=Path, default=None,
                   help="id -> flags for rows that carry none (GAIR/lima release rows), JSONL or CSV (docs/evaluation.md); "
                        "without it a configured judge classifies the prompts")
    p.add_argument("--out", type=Path, required=True, help="results/<profile>-no-format")
    # ---- decoding (§4.1 defaults)
    p.add_argument("--max-new-tokens", type=int, default=2048, help="§4.1: 2,048 tokens")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=16, help="prompts decoded together")
    p.add_argument("--device-map", default=None, help="'auto' spreads a model too large for one GPU over the node's GPUs")
    add_judge_args(p)
    p.add_argument("--report", type=Path, default=None, help="report fragment, written last (default: <out>/report/format_ablation.md)")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    args.report = args.report or args.out / "report" / "format_ablation.md"
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    setup_logging(args.verbose)
    judge = resolve(args)
    problems = [f"--{flag} {path}: not an exported model folder (no config.json)"
                for flag, path in (("full", args.full), ("ablated", args.ablated)) if not (path / "config.json").is_file()]
    if problems := problems + list(judge.problems):
        raise StageError("09_format_ablation.py", "; ".join(problems))
    from lima.eval.generation.generate import Decoding
    decoding = Decoding(max_new_tokens=args.max_new_tokens)
    if args.flags and not args.flags.is_file():
        raise StageError("--flags", f"{args.flags}: no such file")
    client = judge.client(args.out / "judgments" / "format_ablation.jsonl") if judge.enabled else None
    with judge_errors():
        convs, n_examples, flags = flagged_conversations(args.prompts, args.train, args.flag, flag_file=args.flags,
                                                         client=client)

    gens = {}                   # one response per prompt per model (§4.1)
    for system, ckpt in (("full", args.full), ("ablated", args.ablated)):
        path = args.out / "generations" / f"{system}.{ckpt.resolve().name}.{args.prompts.stem}-{args.flag}.jsonl"
        gens[system] = generate_file(path, ckpt, convs, decoding, seed=args.seed, batch_size=args.batch_size,
                                     device_map=args.device_map, inputs=[args.prompts], record=args)
    pairwise, judge_info = None, None
    if not judge.enabled:
        print(f"judge: {NO_JUDGE}")
    else:
        with judge_errors():
            pairwise = judge_format_pairs(client, gens, args.out / "eval" / "format_ablation.jsonl")
        judge_info = judge.record(client)

    summary = {"full": f"{args.full.parent.name}/{args.full.resolve().name}",
               "ablated": f"{args.ablated.parent.name}/{args.ablated.resolve().name}",
               "prompts": args.prompts.as_posix(), "flag": args.flag, "n_prompts": len(convs),
               "format_examples": n_examples, "flags": flags, "decoding": decoding.to_dict(), "seed": args.seed,
               "metrics": {k: generation_metrics(v) for k, v in gens.items()}, "judge": judge_info,
               "pairwise": pairwise, "side_by_side": side_by_side(gens)}
    write_json(args.out / "eval" / "format_ablation.json", summary)
    with atomic_write(args.report) as f:       # last: the Make target
        f.write(render_format_report(summary, NO_JUDGE))
    result = (f"full vs ablated {pairwise['debiased']['counts']}" if pairwise else "not judged")
    print(f"format ablation: {len(convs)} prompts x 2 models; {result}; report {args.report}")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
