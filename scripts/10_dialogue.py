"""Multi-turn dialogue (§6): the main model (no dialogue data) and the model trained with the
dialogue chains answer the scripted conversations turn by turn; the judge labels every assistant
turn Fail / Pass / Excellent and compares each whole conversation of the two models once; the report
sets the shares beside the paper's 45.2/19.1/35.7 vs 76.1/21.7/2.2 and better / tie / worse beside 7/3/0.

    python scripts/10_dialogue.py --zero-shot checkpoints/sample/selected \
        --dialogue checkpoints/sample-dialogue/selected \
        --conversations data/authored/scripted_conversations.jsonl --out results/sample-dialogue --max-new-tokens 128
"""
from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from pathlib import Path

from lima.errors import StageError
from lima.cli import run_main, setup_logging
from lima.eval.conversations import judge_conversations, pair_conversations, summarize_conversations
from lima.eval.dialogue import (earlier_judgments, generate_file, judge_dialogue, read_scripted_conversations,
                                render_report, responses_key, summarize_labels)
from lima.eval.judge.config import add_judge_args, judge_errors, resolve
from lima.eval.generation.metrics import generation_metrics
from lima.eval.preference.report import NO_JUDGE_LINE
from lima.io import atomic_write, write_json, write_jsonl

log = logging.getLogger("lima.eval.dialogue")
NO_JUDGE = NO_JUDGE_LINE.replace("`make eval`", "`make dialogue`")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    # ---- the two models and the conversations
    p.add_argument("--zero-shot", type=Path, required=True, help="the main run's chosen export (trained without dialogues)")
    p.add_argument("--dialogue", type=Path, required=True, help="the dialogue run's chosen export (§6: 1,000 + 30 chains)")
    p.add_argument("--conversations", type=Path, required=True, help="rows {id, turns: [user1, user2, ...]} (§6: 10 conversations)")
    p.add_argument("--out", type=Path, required=True, help="results/<profile>-dialogue: generations/, eval/, judgments/, report/")
    # ---- decoding (§4.1 defaults)
    p.add_argument("--max-new-tokens", type=int, default=2048, help="§4.1: 2,048 tokens per turn")
    p.add_argument("--seed", type=int, default=0, help="with conversation and turn, seeds each response's random "
                   "stream; with the conversation, the dialogue model's side in the whole-conversation comparison")
    p.add_argument("--batch-size", type=int, default=16, help="conversations decoded together per turn")
    p.add_argument("--device-map", default=None, help="'auto' spreads a model too large for one GPU over the node's GPUs")
    add_judge_args(p)
    p.add_argument("--report", type=Path, default=None, help="report fragment, written last (default: <out>/report/dialogue.md)")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    args.report = args.report or args.out / "report" / "dialogue.md"
    return args


def check_args(args, judge) -> list[str]:
    problems = list(judge.problems) + [f"--{flag} {path}: not an exported model folder (no config.json)"
                for flag, path in (("zero-shot", args.zero_shot), ("dialogue", args.dialogue))
                if not (path / "config.json").is_file()]
    if not args.conversations.is_file():
        problems.append(f"--conversations {args.conversations}: no such file")
    if args.max_new_tokens < 1 or args.batch_size < 1:
        problems.append("--max-new-tokens and --batch-size must be at least 1")
    return problems


def judge_all(args, judge, systems: dict, pairs: list[dict]) -> tuple[dict, dict | None]:
    """Every assistant turn labelled (each system's `judged`), then each pair of whole conversations
    compared once; (the judge's record, the comparison's summary or None without pairs)."""
    client = judge.client(args.out / "judgments" / "dialogue.jsonl")
    for system, s in systems.items():
        with judge_errors():
            items = judge_dialogue(client, s["gens"])
        write_jsonl(args.out / "eval" / f"dialogue.{system}.jsonl", items)
        s["judged"] = summarize_labels(items)
    compared = None
    if pairs:
        with judge_errors():
            verdicts = judge_conversations(client, pairs, args.seed)
        write_jsonl(args.out / "eval" / "conversations.judged.jsonl", verdicts)
        compared = summarize_conversations(verdicts)
    return judge.record(client), compared


def main(argv=None) -> int:
    args = parse_args(argv)
    setup_logging(args.verbose)
    judge = resolve(args)
    if problems := check_args(args, judge):
        raise StageError("10_dialogue.py", "; ".join(problems))
    from lima.eval.generation.generate import Decoding
    decoding = Decoding(max_new_tokens=args.max_new_tokens)
    counts = Counter()
    convs = read_scripted_conversations(args.conversations, counts)
    if counts:
        log.warning("%s: skipped %s", args.conversations, dict(counts))

    # ---- generation, turn by turn, for both models
    systems = {}
    for system, ckpt in (("zero-shot", args.zero_shot), ("dialogue", args.dialogue)):
        path = args.out / "generations" / f"{system}.{ckpt.resolve().name}.{args.conversations.stem}.jsonl"
        gens = generate_file(path, ckpt, convs, decoding, seed=args.seed, batch_size=args.batch_size,
                             device_map=args.device_map, inputs=[args.conversations], record=args)
        systems[system] = {"run": ckpt.parent.name, "checkpoint": f"{ckpt.parent.name}/{ckpt.resolve().name}",
                           "generations": path.as_posix(), "metrics": generation_metrics(gens), "gens": gens}

    # ---- both models' whole conversations side by side (the judge's and the human study's items)
    pairs, unpaired = pair_conversations(convs, {k: s["gens"] for k, s in systems.items()})
    write_jsonl(args.out / "eval" / "conversations.jsonl", pairs)

    # ---- judge every assistant turn, then each whole conversation once
    key = responses_key({k: s["gens"] for k, s in systems.items()})
    if judge.enabled:
        judge_info, compared = judge_all(args, judge, systems, pairs)
    else:
        judge_info, compared = earlier_judgments(args.out / "eval" / "dialogue.json", key, systems)
        print(f"judge: {NO_JUDGE}" + ("; the judged figures of an earlier run of these same responses are kept"
                                      if judge_info else ""))

    # ---- summary, report (last: the Make target)
    for s in systems.values():
        s.pop("gens")
    summary = {"conversations": args.conversations.as_posix(), "n_conversations": len(convs),
               "n_turns": sum(len(c["turns"]) for c in convs), "skipped": dict(counts),
               "decoding": decoding.to_dict(), "seed": args.seed, "judge": judge_info, "systems": systems,
               "responses_key": key,
               "conversation_pairs": {"file": (args.out / "eval" / "conversations.jsonl").as_posix(), "n": len(pairs),
                                      "skipped": dict(unpaired)},
               "conversations_compared": compared}
    write_json(args.out / "eval" / "dialogue.json", summary)
    with atomic_write(args.report) as f:
        f.write(render_report(summary, NO_JUDGE))
    line = "; ".join(f"{k}: " + (f"{s['judged']['percent']} fails {s['judged']['fails_per_turns']}" if s.get("judged")
                                 else f"EOT rate {s['metrics']['eot_rate']}") for k, s in systems.items())
    if compared:
        line += "; whole conversations, dialogue model " + " / ".join(
            f"{k} {compared[k]['k']}" for k in ("better", "tie", "worse")) + " (paper 7 / 3 / 0)"
    print(f"dialogue: {summary['n_turns']} turns x 2 models; {line}; report {args.report}")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
