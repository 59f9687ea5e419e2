"""Stage 06, the human side: a preference study people can run on this machine (§4, Appendix C).

`serve` builds the study from our test generations and the baselines' responses (pairwise items with
our side drawn at random, seeded and recorded; 50 shared items for agreement, §4.1; Fail/Pass/Excellent
items on 50 random prompts, §4.3; with --conversations, §6's whole conversations of the dialogue and
zero-shot models side by side) into results/<run>/human/, and serves the labelling page on
127.0.0.1 until Ctrl-C. `export` writes the same items as CSV for a crowd platform, `import` reads its
answers back into the same label file, `summary` writes summary.json and the report fragment
(win/tie/loss per baseline, tie-discounted agreement between annotators and with the judge).

    python scripts/06_annotate.py serve --generations results/sample/generations/epoch_10.test.jsonl \
        --baseline alpaca=alpaca.jsonl --study results/sample/human --annotators alice,bob
    python scripts/06_annotate.py import answers.csv --study results/sample/human
    python scripts/06_annotate.py summary --study results/sample/human --eval results/sample/eval \
        --report results/sample/report/human.md
"""
from __future__ import annotations

import argparse
import logging
import re
import signal
import sys
from pathlib import Path

from lima.cli import run_main, setup_logging
from lima.errors import StageError
from lima.eval.annotate.study import ABSOLUTE_ITEMS, NAME_RULE, SHARED_ITEMS, build_study, load_study, \
    parse_baselines, write_study

log = logging.getLogger("lima.annotate")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)

    # ---- the study: what serve and export build -----------------------------------------------------
    build = argparse.ArgumentParser(add_help=False)
    build.add_argument("--generations", type=Path, required=True,
                       help="our test generations, results/<run>/generations/<epoch>.<split>.jsonl (sample_idx 0 is used)")
    build.add_argument("--baseline", action="append", default=[], metavar="NAME=FILE",
                       help="another system's responses, JSONL rows {id, prompt, response}; repeatable; "
                            "a bare FILE is named by its first dot-separated part")
    build.add_argument("--conversations", type=Path, default=None,
                       help="§6: make dialogue's results/<profile>-dialogue/eval/conversations.jsonl, one item per "
                            "scripted conversation (both models' whole conversations; every annotator labels them)")
    build.add_argument("--shared", type=int, default=SHARED_ITEMS, help="pairwise items every annotator labels (§4.1: 50)")
    build.add_argument("--absolute", type=int, default=ABSOLUTE_ITEMS,
                       help="Fail/Pass/Excellent items on random prompts (§4.3: 50; 0 = none)")
    build.add_argument("--annotators", default="",
                       help=f"the roster, separated by commas or spaces ({NAME_RULE}): the items outside the shared ones are "
                            "split among them; empty = an open study where anyone labels every item")
    build.add_argument("--seed", type=int, default=0)
    study = argparse.ArgumentParser(add_help=False)
    study.add_argument("--study", type=Path, required=True, help="the study's folder, results/<run>/human")

    s = sub.add_parser("serve", parents=[build, study], help="build the study and serve the labelling page")
    s.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (0 = any free port)")
    e = sub.add_parser("export", parents=[build, study],
                       help="build the study and write <study>/crowd/{pairwise,absolute,conversation}.csv")
    e.add_argument("--out", type=Path, default=None, help="folder for the CSV files (default: <study>/crowd)")
    i = sub.add_parser("import", parents=[study], help="append a crowd platform's answers (CSV) to the label file")
    i.add_argument("csv", type=Path, nargs="+", help="the platform's results CSV file(s)")
    m = sub.add_parser("summary", parents=[study], help="summary.json and the report fragment from the labels")
    m.add_argument("--eval", type=Path, default=None, help="stage 06's results/<run>/eval, for agreement with the judge")
    m.add_argument("--report", type=Path, required=True, help="the fragment to write, results/<run>/report/human.md")
    return p.parse_args(argv)


def build(args) -> tuple[dict, list[dict]]:
    roster = [a for a in re.split(r"[,\s]+", args.annotators) if a]
    study, items = build_study(args.generations, parse_baselines(args.baseline), shared=args.shared,
                               absolute=args.absolute, annotators=roster, seed=args.seed,
                               conversations=args.conversations)
    if not items:
        raise StageError(args.generations, "nothing to label: no baseline shares a prompt id, --absolute is 0 "
                                            "and no --conversations")
    write_study(args.study, study, items)
    n = study["n_items"]
    log.info("study %s: %d pairwise items (%d shared), %d absolute, %d conversations; annotators: %s", args.study,
             n["pairwise"], n["shared"], n["absolute"], n["conversation"],
             ", ".join(roster) or "open (anyone labels every item)")
    return study, items


def main(argv=None) -> int:
    args = parse_args(argv)
    setup_logging()
    if args.command == "serve":
        from lima.eval.annotate.labels import LabelStore
        from lima.eval.annotate.server import Study, serve
        study, items = build(args)
        store = LabelStore(args.study / "labels.jsonl")
        # Ctrl-C stops it even when started in the background (where the shell ignores SIGINT), and so does `kill`.
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.default_int_handler)
        try:
            serve(Study(study, items, store), args.port, announce=lambda line: print(line, flush=True))
        except OSError as e:
            raise StageError(f"127.0.0.1:{args.port}", f"cannot serve: {e.strerror or e} (choose another port: "
                                                       "--port, or ANNOTATE_PORT=... for make)") from None
        rows, skipped = store.rows()
        print(f"stopped; {len(rows)} label rows in {store.path}" + (f" ({dict(skipped)} unreadable)" if skipped else ""))
    elif args.command == "export":
        from lima.eval.annotate.crowd import export_csv
        _, items = build(args)
        out = args.out or args.study / "crowd"
        written = export_csv(items, out)
        print(f"exported to {out}: " + ", ".join(f"{k}.csv ({v} rows)" for k, v in written.items()))
    elif args.command == "import":
        from lima.eval.annotate.crowd import import_csv
        from lima.eval.annotate.labels import LabelStore
        _, items = load_study(args.study)
        store = LabelStore(args.study / "labels.jsonl")
        for path in args.csv:
            counts = import_csv(path, items, store)
            print(f"{path}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) if counts else f"{path}: no rows")
    else:
        from lima.eval.annotate.summary import summarise, write_outputs
        summary = summarise(args.study, args.eval)
        write_outputs(summary, args.study, args.report)
        wtl = "; ".join(f"{b} {c['win']}/{c['tie']}/{c['loss']}" for b, c in summary["pairwise"].items()) or "no baseline"
        hh, hj = summary["agreement"]["human_human"], summary["agreement"]["human_judge"]
        fmt = lambda r: f"{r['agreement']:.0%} on {r['n_items']}" if r["agreement"] is not None else "n/a"  # noqa: E731
        active = sum(1 for a in summary["annotators"] if a["labels"])
        print(f"human study: {summary['labels']['counted']} labels from {active} annotator(s); "
              f"win/tie/loss {wtl}; agreement annotators {fmt(hh)}, with the judge {fmt(hj)} "
              f"(paper 78-82%) -> {args.report}")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
