"""Stage 06: generate with the paper's decoding, measure, and judge (§4).

One response per prompt (or --samples N: the ablations' 5) with nucleus p=0.9, temperature 0.7 and a
repetition penalty of 1.2 on generated tokens, stopping at EOT; automatic metrics; then, when a judge
is configured (the flags, else JUDGE_BASE_URL and JUDGE_MODEL; `--judge-url ""` = none; the key in
JUDGE_API_KEY), the paper's pairwise preference against each baseline (--baseline NAME=FILE, repeated;
one presentation per item with our side drawn at random, or --both-orders), the Fail/Pass/Excellent
rating of 50 prompts drawn from the whole prompt file plus the out-of-distribution ones, safe/unsafe
on the safety-flagged ones (flags of release rows from --flags FILE or the judge), and/or the 1-6
helpfulness score. One report for every baseline judged against these responses, human labels
(results/<run>/human/summary.json, from `make annotate`) beside the judge's. Agreement between two
judgment files: scripts/06_agreement.py.

    python scripts/06_eval.py --checkpoint checkpoints/sample/epoch_10 --prompts data/lima/test.jsonl \
        --out results/sample --max-new-tokens 128
    torchrun --nproc_per_node 8 scripts/06_eval.py --checkpoint checkpoints/paper/epoch_07 \
        --prompts data/lima/test.jsonl --out results/paper --baseline gpt-4=results/paper/generations/api-gpt-4.test.jsonl \
        --baseline alpaca-65b=results/alpaca/generations/epoch_03.test.jsonl --flags data/raw/lima/test.flags.csv
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
from lima.eval.preference.evaluate import KINDS, generation_file, generation_name, judge_generations, parse_baselines
from lima.eval.preference.flags import resolve_flags, write_flags
from lima.eval.judge.config import add_judge_args, judge_errors, resolve
from lima.eval.generation.metrics import generation_metrics
from lima.eval.preference.plots import plot_absolute, plot_winrates
from lima.eval.preference.report import NO_JUDGE_LINE, truncation_warnings, write_report
from lima.io import write_json

MODE = {False: "single", True: "both-orders"}


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
    p.add_argument("--baseline", action="append", default=[], metavar="NAME=FILE",
                   help="another system's responses {id, prompt, response} for the pairwise judge, named NAME "
                        "(a bare FILE is named after the file: alpaca-65b.test.jsonl -> alpaca-65b); repeat for several")
    p.add_argument("--both-orders", action="store_true",
                   help="judge each pair in both orders, a disagreement a tie (debiased); default: once, our side at random (§4.1)")
    p.add_argument("--flags", type=Path, default=None,
                   help="id -> flags (safety, format_constraint, ood) for prompts that carry none, JSONL or CSV "
                        "(docs/evaluation.md); without it a configured judge classifies them")
    p.add_argument("--judge", default="pairwise,absolute", help="comma list of pairwise, absolute (50 random prompts + the OOD ones; safe/unsafe on the safety-flagged ones), likert (1-6)")
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
    try:
        args.baselines = parse_baselines(args.baseline)
    except StageError as e:
        problems.append(str(e))
        args.baselines = []
    problems += [f"--baseline {name}={path}: no such file" for name, path in args.baselines if not path.is_file()]
    if args.flags and not args.flags.is_file():
        problems.append(f"--flags {args.flags}: no such file")
    if args.samples < 1 or args.max_new_tokens < 1 or args.batch_size < 1:
        problems.append("--samples, --max-new-tokens and --batch-size must be at least 1")
    if args.generate_via_api and not (args.api_url or judge.url):
        problems.append("--generate-via-api needs a server: --api-url or JUDGE_BASE_URL")
    return problems


def read_human(path: Path) -> dict | None:
    """`make annotate`'s summary ({"pairwise": {baseline: {win, tie, loss, n}}, ...}), or None; a file
    that cannot be read is said in one line and left out."""
    import json
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        data = e
    if not isinstance(data, dict) or not isinstance(data.get("pairwise", {}), dict):
        print(f"WARNING: {path}: not a human-label summary ({data if isinstance(data, Exception) else 'no pairwise object'}); "
              "shown as no human labels", file=sys.stderr)
        return None
    return data


def token_counter(checkpoint: Path | None):
    """Counts a baseline's tokens with our checkpoint's tokenizer, so both sides' mean tokens compare;
    None for an API system (words only)."""
    if checkpoint is None:
        return None
    loaded = []

    def count(texts: list[str]) -> list[int]:
        if not loaded:                      # loaded on first use: only a run with baselines needs it
            from transformers import AutoTokenizer
            loaded.append(AutoTokenizer.from_pretrained(str(checkpoint)))
        return [len(ids) for ids in loaded[0](texts, add_special_tokens=False)["input_ids"]] if texts else []
    return count


def main(argv=None) -> int:
    args = parse_args(argv)
    setup_logging(args.verbose)
    judge = resolve(args)
    if problems := check_args(args, judge):
        raise StageError("06_eval.py", "; ".join(problems))
    from lima.eval.generation.generate import Decoding
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

    judged, judge_info, flags = {}, None, None
    client = judge.client(args.out / "judgments" / "judge.jsonl") if judge.enabled else None
    if args.flags or "absolute" in args.kinds:          # the §4.3 slices need the flags
        with judge_errors():
            flags, origin = resolve_flags(rows, flag_file=args.flags, client=client, label=args.prompts.name)
        if flags["source"] != "rows":
            write_flags(args.out / "eval" / f"flags.{args.prompts.stem}.jsonl", rows, origin)
    if client is None:
        print(f"judge: {NO_JUDGE_LINE}")
    else:
        with judge_errors():
            judged = judge_generations(client, args.kinds, rows, gens, name, args.out / "eval",
                                       baselines=args.baselines, both_orders=args.both_orders, seed=args.seed,
                                       absolute_n=args.absolute_n, count_tokens=token_counter(args.checkpoint))
        judge_info = judge.record(client)
    human = read_human(args.out / "human" / "summary.json")

    summary = {"generations": gen_path.as_posix(), "checkpoint": str(args.checkpoint or args.generate_via_api),
               "prompts": args.prompts.as_posix(), "n_prompts": len(rows), "samples": args.samples,
               "decoding": decoding.to_dict(), "seed": args.seed, "metrics": metrics, "judge": judge_info,
               "judge_mode": MODE[args.both_orders], "flags": flags, "human": human, "judged": judged}
    write_json(args.out / "eval" / f"{name}.summary.json", summary)
    for line in truncation_warnings(summary):
        print(f"WARNING: {line}", file=sys.stderr)
    judge_model = (judge_info or {}).get("model")
    plot_winrates(judged.get("pairwise") or {}, args.out / "winrates.png", (human or {}).get("pairwise"), judge_model)
    plot_absolute(judged.get("absolute"), args.out / "absolute.png", f"judge {judge_model}", (human or {}).get("absolute"))
    write_report(args.report, summary)         # last: the Make target
    print(f"eval: {len(gens)} responses -> {gen_path} (EOT rate {metrics['eot_rate']}, distinct-2 "
          f"{metrics['distinct_2']}); {', '.join(judged) or 'not judged'}; report {args.report}")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
