"""Stage 06: generate with the paper's decoding, measure, and judge (§4).

One response per prompt (or --samples N: the ablations' 5) with nucleus p=0.9, temperature 0.7 and a
repetition penalty of 1.2 on generated tokens, stopping at EOT; automatic metrics; then, when a judge
is configured (the flags, else JUDGE_BASE_URL and JUDGE_MODEL; `--judge-url ""` = none; the key in
JUDGE_API_KEY), the paper's pairwise preference against a baseline in both orders, the Fail/Pass/Excellent rating of 50 random
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
import sys
from collections import Counter
from pathlib import Path

from lima.cli import run_main, setup_logging
from lima.dataset.contract import read_contract_rows
from lima.errors import StageError
from lima.eval.evaluate import KINDS, generation_file, generation_name, judge_generations
from lima.eval.judge_config import add_judge_args, judge_errors, resolve
from lima.eval.metrics import generation_metrics
from lima.eval.report import NO_JUDGE_LINE, plot_winrates, write_report
from lima.io import write_json


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
    p.add_argument("--absolute-n", type=int, default=50, help="§4.3: 50 random test prompts get the absolute rating")
    add_judge_args(p)
    p.add_argument("--report", type=Path, default=None, help="report fragment, written last (default: <out>/report/eval.md; eval.api-<model>.md with --generate-via-api)")
    p.add_argument("-v", "--verbose", action="store_true")
    return p.parse_args(argv)


def check_args(args, judge) -> list[str]:
    """Every configuration problem, checked before anything is loaded."""
    problems = list(judge.problems)
    args.kinds = [k.strip() for k in args.judge.split(",") if k.strip()]
    if bad := [k for k in args.kinds if k not in KINDS]:
        problems.append(f"--judge: unknown kind(s) {bad}; choose from {', '.join(KINDS)}")
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
    if args.generate_via_api and not (args.api_url or judge.url):
        problems.append("--generate-via-api needs a server: --api-url or JUDGE_BASE_URL")
    return problems


def main(argv=None) -> int:
    args = parse_args(argv)
    setup_logging(args.verbose)
    judge = resolve(args)
    if problems := check_args(args, judge):
        raise StageError("06_eval.py", "; ".join(problems))
    from lima.eval.generate import Decoding
    decoding = Decoding(max_new_tokens=args.max_new_tokens)
    counts = Counter()
    rows = read_contract_rows(args.prompts, counts)
    if not rows:
        raise StageError(args.prompts, "no usable prompt row")
    name = generation_name(args.checkpoint, args.generate_via_api, args.prompts)
    # An API system's report gets its own name: report/eval.md (the Make target) is the checkpoint's.
    args.report = args.report or args.out / "report" / ("eval.md" if args.checkpoint else f"eval.{name.split('.')[0]}.md")
    gen_path = args.out / "generations" / f"{name}.jsonl"
    api = (judge.client(args.out / "judgments" / "generate.jsonl", url=args.api_url or judge.url,
                        model=args.generate_via_api) if args.generate_via_api else None)
    gens = generation_file(gen_path, rows, decoding, counts, prompts=args.prompts, checkpoint=args.checkpoint,
                           api_client=api, samples=args.samples, seed=args.seed, batch_size=args.batch_size,
                           device_map=args.device_map, record=args)
    if gens is None:
        return 0                  # a rank other than 0 under torchrun: rank 0 writes everything
    metrics = {**generation_metrics(gens), "generations": gen_path.as_posix(), "decoding": decoding.to_dict()}
    write_json(args.out / "metrics" / f"{name}.json", metrics)

    judged, judge_info = {}, None
    if not judge.enabled:
        print(f"judge: {NO_JUDGE_LINE}")
    else:
        client = judge.client(args.out / "judgments" / "judge.jsonl")
        with judge_errors():
            judged = judge_generations(client, args.kinds, rows, gens, name, args.out / "eval", baseline=args.baseline,
                                       seed=args.seed, absolute_n=args.absolute_n)
        judge_info = judge.record(client)

    summary = {"generations": gen_path.as_posix(), "checkpoint": str(args.checkpoint or args.generate_via_api),
               "prompts": args.prompts.as_posix(), "n_prompts": len(rows), "samples": args.samples,
               "decoding": decoding.to_dict(), "seed": args.seed, "metrics": metrics, "judge": judge_info,
               "judged": judged}
    write_json(args.out / "eval" / f"{name}.summary.json", summary)
    if judged.get("pairwise"):
        plot_winrates(judged["pairwise"], args.out / "winrates.png")
    write_report(args.report, summary)         # last: the Make target
    print(f"eval: {len(gens)} responses -> {gen_path} (EOT rate {metrics['eot_rate']}, distinct-2 "
          f"{metrics['distinct_2']}); {', '.join(judged) or 'not judged'}; report {args.report}")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
