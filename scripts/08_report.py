"""Stage 08: assemble results/<run>/REPORT.md from the fragments the stages wrote (docs/design.md#results).

Each stage writes its own `results/<run>/report/<part>.md` (data composition beside Table 1,
training beside §3, checkpoint selection, evaluation beside §4); this stage only puts them in order
under one header, so no stage depends on a shared reporter.

    python scripts/08_report.py --results results/sample
"""
from __future__ import annotations

import argparse
import hashlib
import json
import platform
import re
import sys
from importlib import metadata
from pathlib import Path

from lima.errors import StageError
from lima.cli import run_main
from lima.io import atomic_write, read_jsonl, write_json

PARTS = ("data", "train", "selection", "eval", "dialogue", "ablations", "format_ablation")
TITLES = {"data": "Data (Table 1)", "train": "Training (§3)", "selection": "Checkpoint selection (§3)",
          "eval": "Evaluation (§4)", "dialogue": "Multi-turn dialogue (§6)", "ablations": "Ablations (§5)",
          "format_ablation": "Format constraints (Appendix E)"}


FUNNELS = ("stackexchange", "wikihow", "writingprompts", "askreddit")


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def funnels_md(interim: Path) -> list[str]:
    """The data stages' funnels: read, kept and the main drop reasons."""
    lines = ["## Data funnels", "", "| Stage | Read | Kept | Main drop reasons |", "|---|---|---|---|"]
    for name in FUNNELS:
        path = interim / f"{name}.stats.json"
        if not path.exists():
            continue
        st = json.loads(path.read_text())
        read = st.get("read", {})
        read_n = read.get("questions") or read.get("rows") or sum(v for v in read.values() if isinstance(v, int))
        kept = st.get("kept", {})
        kept_n = kept.get("total", sum(v for v in kept.values() if isinstance(v, int))) if isinstance(kept, dict) else kept
        drops = ", ".join(f"{k} {v}" for k, v in list(st.get("dropped", {}).items())[:5])
        lines.append(f"| {name} | {read_n} | {kept_n} | {drops} |")
    return lines + [""]


def plot_ppl_vs_quality(results: Path, selection: dict) -> Path | None:
    """The paper's Figure 9 analysis: perplexity and judged (or measured) quality per epoch."""
    cands = selection.get("candidates") or []
    quality = [((c.get("judge") or {}).get("win_rate") if selection.get("mode") == "judge" else c.get("score"))
               for c in cands]
    if not cands or all(q is None for q in quality):
        return None
    held = {}
    if (results / "train_metrics.jsonl").exists():
        held = {r["epoch"]: r.get("ppl_set_ppl") for r in read_jsonl(results / "train_metrics.jsonl", tolerate_torn_tail=True)
                if r.get("kind") == "epoch"}
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    epochs = [c["epoch"] for c in cands]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(epochs, [c.get("dev_ppl") for c in cands], marker="o", label="dev perplexity")
    if any(held.get(e) for e in epochs):
        ax.plot(epochs, [held.get(e) for e in epochs], marker="s", label="held-out SE perplexity")
    ax.set_xlabel("epoch")
    ax.set_ylabel("perplexity")
    ax2 = ax.twinx()
    label = "judge win rate" if selection.get("mode") == "judge" else "metric score (fallback rule)"
    ax2.plot(epochs, quality, marker="^", color="tab:red", label=label)
    ax2.set_ylabel(label)
    fig.legend(loc="upper center", ncol=3, fontsize=7)
    ax.set_title("Perplexity vs quality per epoch (the paper's Fig. 9)", fontsize=9, pad=22)
    fig.tight_layout()
    out = results / "ppl_vs_quality.png"
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def manifest(args, results: Path) -> dict:
    """What a reviewer needs to rebuild byte for byte: the exact command lines, package versions,
    seeds, and checksums of every input and output."""
    packages = {}
    req = Path(args.requirements)
    if req.exists():
        for line in req.read_text().splitlines():
            name = line.split("#")[0].strip().split("==")[0]
            if name:
                try:
                    packages[name] = metadata.version(name)
                except metadata.PackageNotFoundError:
                    packages[name] = None
    commands = {p.name[1:-5]: p.read_text().strip() for p in sorted(args.interim.glob(".*.args"))}
    files = {}
    for root in [*args.inputs, args.interim, args.lima_data, results]:
        root = Path(root)
        paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []
        for p in paths:
            if p.name in ("REPORT.md", "manifest.json") or p.name.startswith("."):
                continue
            files[p.as_posix()] = sha256(p)
    if args.checkpoint and Path(args.checkpoint).exists():
        for p in sorted(Path(args.checkpoint).resolve().glob("*")):
            if p.is_file():
                files[(Path(args.checkpoint) / p.name).as_posix()] = sha256(p)
    return {"python": platform.python_version(), "platform": platform.platform(), "packages": packages,
            "commands": commands, "seed": args.seed, "files": files}


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
                   help="fragments of the separate experiments' runs (results/<profile>-dialogue/report/dialogue.md, ...)")
    p.add_argument("--requirements", default="requirements.txt")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    out = args.out or args.results / "REPORT.md"
    frag_dir = args.results / "report"
    missing = [name for name in args.require.split(",") if name and not (frag_dir / f"{name}.md").exists()]
    if missing:
        raise StageError(frag_dir, f"missing report fragments: {', '.join(missing)} (run the stages that write them)")
    selection = json.loads((args.results / "selection.json").read_text()) if (args.results / "selection.json").exists() else {}
    fragments = {name: frag_dir / f"{name}.md" for name in PARTS if (frag_dir / f"{name}.md").exists()}
    for path in args.fragments:
        if path.stem not in PARTS:
            raise StageError(path, f"unknown report part (expected one of {', '.join(PARTS)})")
        fragments[path.stem] = path
    present = [name for name in PARTS if name in fragments]
    lines = [f"# LIMA reproduction: run `{args.results.name}`", "",
             "What this run did, stage by stage, with the paper's figures beside ours (docs/paper.md in the "
             "repository holds every number and how sure we are of it).", ""]
    if selection:
        lines += [f"**Chosen checkpoint:** `{selection['choice']}` ({selection['mode']}"
                  f"{', fallback rule' if selection.get('fallback') else ''}).", ""]
    lines += ["Contents: " + " · ".join(f"[{TITLES[n]}](#{n})" for n in present), ""]
    for name in present:
        body = fragments[name].read_text(encoding="utf-8").strip()
        run_dir = fragments[name].parent.parent
        if run_dir.resolve() != args.results.resolve():
            # another run's plots live in its own results folder
            body = re.sub(r"\]\((?!https?:|/|\.\./)([^)]+\.png)\)", rf"](../{run_dir.name}/\1)", body)
        lines += [f'<a id="{name}"></a>', "", body, ""]
        if name == "data":
            lines += funnels_md(args.interim)
        if name == "selection" and plot_ppl_vs_quality(args.results, selection):
            lines += ["![perplexity vs quality](ppl_vs_quality.png)", "",
                      "The paper (Appendix B, Fig. 9) saw perplexity rise while quality rose; the plot "
                      "shows the same two curves for this run's candidate epochs.", ""]
    man = manifest(args, args.results)
    write_json(args.results / "manifest.json", man)
    lines += ["## Manifest", "",
              f"`manifest.json` beside this report records the exact command line of every stage, the "
              f"package versions, the seed ({args.seed}) and the SHA-256 of {len(man['files'])} input and "
              f"output files. Python {man['python']}; " +
              ", ".join(f"{k} {v}" for k, v in man["packages"].items() if k in ("torch", "transformers", "tokenizers")) + ".", ""]
    lines += ["| Stage | Command-line arguments |", "|---|---|"]
    lines += [f"| {k} | `{v}` |" for k, v in man["commands"].items()]
    lines.append("")
    absent = [TITLES[n] for n in PARTS if n not in present]
    if absent:
        lines += ["---", "", "Not in this run: " + ", ".join(absent) + " (separate Make targets).", ""]
    with atomic_write(out) as f:
        f.write("\n".join(lines))
    print(f"report: {len(present)} parts -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
