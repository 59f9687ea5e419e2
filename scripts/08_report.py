"""Stage 08: assemble results/<run>/REPORT.md from the fragments the stages wrote (docs/design.md).

Each stage writes its own `results/<run>/report/<part>.md` (data composition beside Table 1,
training beside §3, checkpoint selection, evaluation beside §4); this stage only puts them in order
under one header (lima/report.py), so no stage depends on a shared reporter. A fragment that lives
in another run's folder is named with --fragments: the profile's data fragment when RUN is a
variant, the separate experiments' fragments.

    python scripts/08_report.py --results results/sample
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lima.cli import run_main
from lima.io import atomic_write, write_json
from lima.scorecard import build_scorecard, render_scorecard
from lima.report import build_manifest, collect_fragments, render_report, stage_outputs


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--results", type=Path, required=True, help="results/<run>")
    p.add_argument("--out", type=Path, default=None, help="default: <results>/REPORT.md")
    p.add_argument("--require", default="data,train,selection,eval", help="fragments that must exist")
    p.add_argument("--interim", type=Path, default=Path("data/interim"), help="stage outputs, their funnels and the Make .args records")
    p.add_argument("--lima-data", type=Path, default=Path("data/lima"))
    p.add_argument("--inputs", type=Path, nargs="*", default=[], help="raw inputs to checksum (dumps, authored data)")
    p.add_argument("--checkpoint", type=Path, default=None, help="the chosen checkpoint, checksummed in the manifest")
    p.add_argument("--fragments", type=Path, nargs="*", default=[],
                   help="fragments in another run's folder, taking precedence over <results>/report/<part>.md "
                        "(results/<profile>/report/data.md for a variant RUN, results/<profile>-dialogue/report/dialogue.md, ...)")
    p.add_argument("--requirements", type=Path, default=Path("requirements.txt"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval-split", default="test", help="the prompt file stage 06 evaluated the chosen checkpoint on (its stem)")
    p.add_argument("--toy", action="store_true", help="the model is a toy (the sample profile): the scorecard says its "
                                                      "numbers test the pipeline, not the paper")
    args = p.parse_args(argv)
    out = args.out or args.results / "REPORT.md"
    fragments = collect_fragments(args.results, args.fragments, args.require.split(","))
    sel_path = args.results / "selection.json"
    selection = json.loads(sel_path.read_text()) if sel_path.exists() else {}
    # Fragments from other folders are inputs of this report too: checksummed with the rest.
    roots = [*args.inputs, args.interim, args.lima_data, args.results, *fragments.values()]
    ckpt_root = args.checkpoint.parent.parent if args.checkpoint else None

    def ran(stage: str) -> bool:
        outs = stage_outputs(stage, run=args.results.name, interim=args.interim, lima_data=args.lima_data,
                             results=args.results, checkpoints=ckpt_root, fragments=fragments)
        return outs is None or any(p.exists() for p in outs)
    man = build_manifest(requirements=args.requirements, interim=args.interim, roots=roots,
                         checkpoint=args.checkpoint, seed=args.seed, ran=ran)
    write_json(args.results / "manifest.json", man)
    card = build_scorecard(results=args.results, lima_data=args.lima_data, checkpoint=args.checkpoint,
                           selection=selection, fragments=fragments, eval_split=args.eval_split, toy=args.toy)
    text = render_report(run=args.results.name, out_dir=out.parent, plot_dir=args.results, fragments=fragments,
                         selection=selection, interim=args.interim, manifest=man, seed=args.seed,
                         scorecard=render_scorecard(card, args.toy))
    with atomic_write(out) as f:
        f.write(text)
    print(f"report: {len(fragments)} parts -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
