"""Stage 08's assembly of results/<run>/REPORT.md from the fragments the stages wrote, and the
manifest beside it (command lines, package versions, seed, checksums).

Each stage writes its own `report/<part>.md`; this module only finds them, puts them in order under
one header and adds what belongs to no single stage (the data funnels, the perplexity-vs-quality
plot, the manifest), so no stage depends on a shared reporter.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import re
from importlib import metadata
from pathlib import Path

from lima.errors import StageError
from lima.io import read_jsonl

PARTS = ("data", "train", "selection", "eval", "dialogue", "ablations", "format_ablation")
TITLES = {"data": "Data (Table 1)", "train": "Training (§3)", "selection": "Checkpoint selection (§3)",
          "eval": "Evaluation (§4)", "dialogue": "Multi-turn dialogue (§6)", "ablations": "Ablations (§5)",
          "format_ablation": "Format constraints (Appendix E)"}
FUNNELS = ("stackexchange", "wikihow", "writingprompts", "askreddit")
# The report and manifest are outputs of this stage: never checksummed into themselves.
OWN_FILES = ("REPORT.md", "manifest.json")


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def collect_fragments(results: Path, extra: list[Path], require: list[str]) -> dict[str, Path]:
    """The fragments by part: <results>/report/<part>.md, then the ones named outright (another run's:
    the profile's data fragment under a variant RUN, the separate experiments'), which take precedence.
    A required part found in neither place is an error naming what is missing."""
    frag_dir = results / "report"
    fragments = {name: frag_dir / f"{name}.md" for name in PARTS if (frag_dir / f"{name}.md").exists()}
    for path in extra:
        if path.stem not in PARTS:
            raise StageError(path, f"unknown report part (expected one of {', '.join(PARTS)})")
        if not path.exists():
            raise StageError(path, "report fragment not found")
        fragments[path.stem] = path
    missing = [name for name in require if name and name not in fragments]
    if missing:
        raise StageError(frag_dir, f"missing report fragments: {', '.join(missing)} (run the stages that write them)")
    return fragments


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


def build_manifest(*, requirements: Path, interim: Path, roots: list[Path], checkpoint: Path | None,
                   seed: int) -> dict:
    """What a reviewer needs to rebuild byte for byte: the exact command lines (Make's
    <interim>/.<stage>.args records), package versions, seeds, and checksums of every input and
    output under `roots` (folders or files) and of the chosen checkpoint's files."""
    packages = {}
    if requirements.exists():
        for line in requirements.read_text().splitlines():
            name = line.split("#")[0].strip().split("==")[0]
            if name:
                try:
                    packages[name] = metadata.version(name)
                except metadata.PackageNotFoundError:
                    packages[name] = None
    commands = {p.name[1:-5]: p.read_text().strip() for p in sorted(interim.glob(".*.args"))}
    files = {}
    for root in map(Path, roots):
        paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []
        for p in paths:
            if p.name in OWN_FILES or p.name.startswith("."):
                continue
            files[p.as_posix()] = sha256(p)
    if checkpoint and checkpoint.exists():
        for p in sorted(checkpoint.resolve().glob("*")):
            if p.is_file():
                files[(checkpoint / p.name).as_posix()] = sha256(p)
    return {"python": platform.python_version(), "platform": platform.platform(), "packages": packages,
            "commands": commands, "seed": seed, "files": files}


def _relink_plots(body: str, fragment: Path, out_dir: Path) -> str:
    """A fragment from another run's folder names its plots relative to that folder: point them there."""
    run_dir = fragment.parent.parent
    if run_dir.resolve() == out_dir.resolve():
        return body
    rel = Path(os.path.relpath(run_dir.resolve(), out_dir.resolve())).as_posix()
    return re.sub(r"\]\((?!https?:|/|\.\./)([^)]+\.png)\)", lambda m: f"]({rel}/{m.group(1)})", body)


def render_report(*, run: str, out_dir: Path, fragments: dict[str, Path], selection: dict, interim: Path,
                  manifest: dict, seed: int, plot_dir: Path | None = None) -> str:
    """REPORT.md's text: the header, the fragments in the paper's order (the data funnels after the
    data part, the Figure 9 plot after the selection), the manifest summary, and what is absent."""
    present = [name for name in PARTS if name in fragments]
    lines = [f"# LIMA reproduction: run `{run}`", "",
             "What this run did, stage by stage, with the paper's figures beside ours (docs/paper.md "
             "lists every number of the paper and how sure we are of it).", ""]
    if selection:
        lines += [f"**Chosen checkpoint:** `{selection['choice']}` ({selection['mode']}"
                  f"{', fallback rule' if selection.get('fallback') else ''}).", ""]
    lines += ["Contents: " + " · ".join(f"[{TITLES[n]}](#{n})" for n in present), ""]
    for name in present:
        body = _relink_plots(fragments[name].read_text(encoding="utf-8").strip(), fragments[name], out_dir)
        lines += [f'<a id="{name}"></a>', "", body, ""]
        if name == "data":
            lines += funnels_md(interim)
        if name == "selection" and plot_ppl_vs_quality(plot_dir or out_dir, selection):
            lines += ["![perplexity vs quality](ppl_vs_quality.png)", "",
                      "The paper (Appendix B, Fig. 9) saw perplexity rise while quality rose; the plot "
                      "shows the same two curves for this run's candidate epochs.", ""]
    lines += ["## Manifest", "",
              f"`manifest.json` beside this report records the exact command line of every stage, the "
              f"package versions, the seed ({seed}) and the SHA-256 of {len(manifest['files'])} input and "
              f"output files. Python {manifest['python']}; " +
              ", ".join(f"{k} {v}" for k, v in manifest["packages"].items() if k in ("torch", "transformers", "tokenizers")) + ".", ""]
    lines += ["| Stage | Command-line arguments |", "|---|---|"]
    lines += [f"| {k} | `{v}` |" for k, v in manifest["commands"].items()]
    lines.append("")
    absent = [TITLES[n] for n in PARTS if n not in present]
    if absent:
        lines += ["---", "", "Not in this run: " + ", ".join(absent) + " (separate Make targets).", ""]
    return "\n".join(lines)
