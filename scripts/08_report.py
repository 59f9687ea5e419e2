"""Stage 08: assemble results/<run>/REPORT.md from the fragments the stages wrote (DESIGN.md §7).

Each stage writes its own `results/<run>/report/<part>.md` (data composition beside Table 1,
training beside §3, checkpoint selection, evaluation beside §4); this stage only puts them in order
under one header, so no stage depends on a shared reporter.

    python scripts/08_report.py --results results/sample
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lima.cli import StageError, run_main
from lima.io import atomic_write

PARTS = ("data", "train", "selection", "eval", "dialogue", "ablations", "format_ablation")
TITLES = {"data": "Data (Table 1)", "train": "Training (§3)", "selection": "Checkpoint selection (§3)",
          "eval": "Evaluation (§4)", "dialogue": "Multi-turn dialogue (§6)", "ablations": "Ablations (§5)",
          "format_ablation": "Format constraints (Appendix E)"}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--results", type=Path, required=True, help="results/<run>")
    p.add_argument("--out", type=Path, default=None, help="default: <results>/REPORT.md")
    p.add_argument("--require", default="data,train,selection,eval", help="fragments that must exist")
    args = p.parse_args(argv)
    out = args.out or args.results / "REPORT.md"
    frag_dir = args.results / "report"
    missing = [name for name in args.require.split(",") if name and not (frag_dir / f"{name}.md").exists()]
    if missing:
        raise StageError(frag_dir, f"missing report fragments: {', '.join(missing)} (run the stages that write them)")
    selection = json.loads((args.results / "selection.json").read_text()) if (args.results / "selection.json").exists() else {}
    present = [name for name in PARTS if (frag_dir / f"{name}.md").exists()]
    lines = [f"# LIMA reproduction: run `{args.results.name}`", "",
             "What this run did, stage by stage, with the paper's figures beside ours (PAPER.md of the "
             "project's shared notes holds every number and how sure we are of it).", ""]
    if selection:
        lines += [f"**Chosen checkpoint:** `{selection['choice']}` ({selection['mode']}"
                  f"{', fallback rule' if selection.get('fallback') else ''}).", ""]
    lines += ["Contents: " + " · ".join(f"[{TITLES[n]}](#{n})" for n in present), ""]
    for name in present:
        body = (frag_dir / f"{name}.md").read_text(encoding="utf-8").strip()
        lines += [f'<a id="{name}"></a>', "", body, ""]
    absent = [TITLES[n] for n in PARTS if n not in present]
    if absent:
        lines += ["---", "", "Not in this run: " + ", ".join(absent) + " (separate Make targets).", ""]
    with atomic_write(out) as f:
        f.write("\n".join(lines))
    print(f"report: {len(present)} parts -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
