"""Stage 08's assembly of results/<run>/REPORT.md from the fragments the stages wrote, and the
manifest beside it (command lines, package versions, seed, checksums).

Each stage writes its own `report/<part>.md`; this module only finds them, puts them in order under
one header and adds what belongs to no single stage (the data funnels, Appendix B's perplexity
against quality from the record stage 07 wrote, the manifest), so no stage depends on a shared reporter.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import re
from importlib import metadata
from pathlib import Path

from lima.eval.selection.appendix_b import plot_ppl_vs_quality, ppl_quality_md
from lima.errors import StageError

PARTS = ("data", "train", "selection", "eval", "human", "dialogue", "ablations", "format_ablation")
TITLES = {"data": "Data (Table 1)", "train": "Training (§3)", "selection": "Checkpoint selection (§3)",
          "eval": "Evaluation (§4)", "human": "Human preference study (§4, Appendix C)", "dialogue": "Multi-turn dialogue (§6)", "ablations": "Ablations (§5)",
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


def stage_outputs(stage: str, *, run: str, interim: Path, lima_data: Path, results: Path, checkpoints: Path | None,
                  fragments: dict[str, Path]) -> list[Path] | None:
    """The files a stage's run leaves, by its Make record's name (`.<stage>.args`), for this report:
    another run's stages count only when that run's fragment is in the report. None: a record this
    module does not know (listed, since it cannot tell)."""
    fixed = {"stackexchange": [interim / "stackexchange.jsonl"], "wikihow": [interim / "wikihow.jsonl"],
             "reddit": [interim / "writingprompts.jsonl"], "dataset": [lima_data / "train.jsonl"],
             "base": [checkpoints / "base" / "BASE"] if checkpoints else [],
             "ablation-data": [fragments["ablations"]] if "ablations" in fragments else [],
             "ablation-eval": [fragments["ablations"]] if "ablations" in fragments else [],
             "dialogue": [fragments["dialogue"]] if "dialogue" in fragments else [],
             "format-ablation": [fragments["format_ablation"]] if "format_ablation" in fragments else []}
    if stage in fixed:
        return fixed[stage]
    kind, _, other = stage.partition("-")
    per_run = {"train": "train_metrics.jsonl", "devgen": "report/dev", "select": "selection.json",
               "eval": "report/eval.md"}
    if kind not in per_run or not other:
        return None
    # another run's stages (the dialogue model, an ablation variant) belong to its experiment's fragment
    related = {p.parent.parent.name for part, p in fragments.items() if part != "data"}
    abl = "ablations" in fragments and "-abl-" in other
    if other != run and other not in related and not abl:
        return []
    return [results.parent / other / per_run[kind]]


def build_manifest(*, requirements: Path, interim: Path, roots: list[Path], checkpoint: Path | None,
                   seed: int, ran=None) -> dict:
    """What a reviewer needs to rebuild byte for byte: the exact command lines (Make's
    <interim>/.<stage>.args records) of the stages that produced files of this run (`ran(stage)`;
    Make writes a record for every stage when it reads the Makefile, run or not), package versions,
    seeds, and checksums of every input and output under `roots` (folders or files) and of the
    chosen checkpoint's files."""
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
    if ran is not None:
        commands = {k: v for k, v in commands.items() if ran(k)}
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
                  manifest: dict, seed: int, plot_dir: Path | None = None, scorecard: list[str] = ()) -> str:
    """REPORT.md's text: the header, the fragments in the paper's order (the data funnels after the
    data part, Appendix B after the selection), the manifest summary, and what is absent."""
    present = [name for name in PARTS if name in fragments]
    lines = [f"# LIMA reproduction: run `{run}`", "",
             "What this run did, stage by stage, with the paper's figures beside ours (docs/paper.md "
             "lists every number of the paper and how sure we are of it).", ""]
    if selection:
        lines += [f"**Chosen checkpoint:** `{selection['choice']}` ({selection['mode']}"
                  f"{', fallback rule' if selection.get('fallback') else ''}).", ""]
    lines += list(scorecard)
    lines += ["Contents: " + " · ".join(f"[{TITLES[n]}](#{n})" for n in present), ""]
    for name in present:
        body = _relink_plots(fragments[name].read_text(encoding="utf-8").strip(), fragments[name], out_dir)
        lines += [f'<a id="{name}"></a>', "", body, ""]
        if name == "data":
            lines += funnels_md(interim)
        if name == "selection" and selection.get("ppl_vs_quality"):
            record = selection["ppl_vs_quality"]
            plotted = plot_ppl_vs_quality(record, (plot_dir or out_dir) / "ppl_vs_quality.png") is not None
            lines += ppl_quality_md(record, plotted)
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
