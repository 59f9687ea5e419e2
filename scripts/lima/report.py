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


def ppl_quality_points(record: dict) -> list[dict]:
    """The points of Appendix B's plot and table, one per epoch with a dev perplexity and a quality:
    {"epoch", "ppl", "quality", "ci95"} (ci95 None for the metric fallback or a single rating)."""
    points = []
    for r in record.get("epochs", []):
        quality = r.get("mean") if record.get("quality") == "helpfulness" else r.get("score")
        if r.get("dev_ppl") is not None and quality is not None:
            points.append({"epoch": r["epoch"], "ppl": r["dev_ppl"], "quality": quality, "ci95": r.get("ci95")})
    return points


def plot_ppl_vs_quality(record: dict, out: Path) -> Path | None:
    """Appendix B's figure: x the dev perplexity of each exported epoch, y its quality (the mean 1-6
    helpfulness with its 95% interval, or the metric fallback, said so on the axis and in the title),
    the points joined in epoch order."""
    points = ppl_quality_points(record)
    if not points:
        return None
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fallback = record.get("quality") != "helpfulness"
    x, y = [p["ppl"] for p in points], [p["quality"] for p in points]
    err = [[p["quality"] - p["ci95"][0] if p["ci95"] else 0 for p in points],
           [p["ci95"][1] - p["quality"] if p["ci95"] else 0 for p in points]]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.errorbar(x, y, yerr=None if fallback else err, marker="o", capsize=3, color="tab:gray" if fallback else "tab:blue")
    for p in points:
        ax.annotate(f"ep {p['epoch']}", (p["ppl"], p["quality"]), textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.set_xlabel("dev perplexity")
    if fallback:
        ax.set_ylabel("metric fallback score (no judge; not helpfulness)")
        title = "Appendix B: perplexity vs quality per exported epoch - metric fallback, no judge"
    else:
        ax.set_ylabel(f"helpfulness 1-6 (judge {record.get('judge_model')}), mean ± 95% CI")
        title = "Appendix B (Fig. 9): perplexity vs helpfulness per exported epoch"
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    # The title also goes into the PNG's metadata, so a reader (or a test) can tell the kind without looking.
    fig.savefig(out, dpi=120, metadata={"Title": title})
    plt.close(fig)
    return out


def ppl_quality_md(record: dict, plotted: bool) -> list[str]:
    """Appendix B's section: the plot, the per-epoch table, the correlation, the paper's observation."""
    lines = ["### Perplexity against quality (Appendix B)", ""]
    points = ppl_quality_points(record)
    fallback = record.get("quality") != "helpfulness"
    if fallback:
        lines += ["**Metric fallback:** no judge was configured, so quality here is the selection's metric rule "
                  "on each epoch's dev responses (EOT rate - repetition rate - length penalty), not the paper's "
                  "1-6 helpfulness score (Appendix D); set JUDGE_BASE_URL and JUDGE_MODEL for the paper's measure.", ""]
    if plotted:
        lines += ["![perplexity vs quality](ppl_vs_quality.png)", ""]
    if points:
        by_epoch = {r["epoch"]: r for r in record["epochs"]}
        head = "Metric fallback score" if fallback else f"Helpfulness 1-6, mean [95% CI] (judge {record.get('judge_model')})"
        lines += [f"| Epoch | Dev perplexity | Held-out SE perplexity | {head} |" + ("" if fallback else " Rated |"),
                  "|---|---|---|---|" + ("" if fallback else "---|")]
        for p in points:
            r = by_epoch[p["epoch"]]
            held = r.get("ppl_set_ppl")
            if fallback:
                q = f"{p['quality']:.4f}"
            else:
                ci = f" [{p['ci95'][0]:.2f}, {p['ci95'][1]:.2f}]" if p["ci95"] else ""
                q = f"{p['quality']:.2f}{ci}"
            rated = "" if fallback else f" {r.get('n', 0)}" + (f" ({r['unparseable']} unparseable)" if r.get("unparseable") else "") + " |"
            lines.append(f"| {p['epoch']} | {p['ppl']:.2f} | {f'{held:.2f}' if held is not None else '–'} | {q} |{rated}")
        lines.append("")
        r = record.get("pearson_dev_ppl_quality")
        lines += [f"Over {len(points)} exported epochs, Pearson's r between dev perplexity and "
                  f"{'the metric fallback score' if fallback else 'mean helpfulness'}: "
                  f"{f'{r:+.2f}' if r is not None else 'not defined (fewer than three epochs or a constant series)'}.", ""]
    else:
        lines += ["No exported epoch has dev generations to set against its perplexity.", ""]
    no_ppl = [r["epoch"] for r in record.get("epochs", []) if r.get("dev_ppl") is None]
    if no_ppl:
        lines += ["Epochs with no dev perplexity in train_metrics.jsonl, left out: "
                  + ", ".join(f"epoch_{e:02d}" for e in no_ppl) + ".", ""]
    if record.get("missing_generations"):
        lines += ["Exported epochs without dev generations, left out: "
                  + ", ".join(f"epoch_{e:02d}" for e in record["missing_generations"]) + ".", ""]
    lines += [record.get("paper") or "", ""]
    return lines


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
    data part, Appendix B after the selection), the manifest summary, and what is absent."""
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
