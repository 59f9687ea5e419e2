"""What training reports: curves for a person who would rather look than read train_metrics.jsonl,
and the report fragment that sets the recipe as run beside the paper's."""
from __future__ import annotations

from pathlib import Path

from lima import paper
from lima.io import atomic_write


def smooth(values: list[float], weight: float = 0.9) -> list[float]:
    """Exponential moving average, bias-corrected at the start (as TensorBoard draws it)."""
    out, avg = [], 0.0
    for i, v in enumerate(values, 1):
        avg = weight * avg + (1 - weight) * v
        out.append(avg / (1 - weight ** i))
    return out


def draw_loss(plt, steps: list[dict], out: Path) -> None:
    """The per-step loss, raw and smoothed, with the epoch boundaries and the selection window (the
    checkpoints after epochs 5 to 10, §3) shaded."""
    xs, loss = [r["step"] for r in steps], [r["loss"] for r in steps]
    fig, ax = plt.subplots(figsize=(7, 3.8))
    ax.plot(xs, loss, lw=0.8, color="tab:blue", alpha=0.3, label="per step")
    ax.plot(xs, smooth(loss), lw=1.8, color="tab:blue", label="smoothed (EMA 0.9)")
    last_step = {}
    for r in steps:
        last_step[r["epoch"]] = max(last_step.get(r["epoch"], 0), r["step"])
    for e, s in sorted(last_step.items())[:-1]:
        ax.axvline(s, color="grey", lw=0.5, ls=":")
    lo, hi = paper.SELECT_WINDOW
    if lo in last_step:
        ax.axvspan(last_step[lo], last_step.get(hi, max(xs)), color="tab:orange", alpha=0.12,
                   label=f"selection window: checkpoints after epochs {lo}-{hi} (§3)")
    ax.set_xlabel(f"optimizer step (dotted: epoch boundaries; {len(last_step)} epochs, {len(xs)} steps)")
    ax.set_ylabel("train loss (per target token)")
    ax.set_title("Training loss", fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


def plot_training(rows: list[dict], out_dir: Path) -> list[Path]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r for r in rows if r.get("kind") == "step"]
    epochs = [r for r in rows if r.get("kind") == "epoch"]
    written = []
    if steps:
        draw_loss(plt, steps, out_dir / "train_loss.png")
        written.append(out_dir / "train_loss.png")
    if epochs:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot([r["epoch"] for r in epochs], [r["dev_ppl"] for r in epochs], marker="o", label="dev")
        if any("ppl_set_ppl" in r for r in epochs):
            ax.plot([r["epoch"] for r in epochs], [r.get("ppl_set_ppl") for r in epochs], marker="s",
                    label="held-out set")
        ax.axvspan(*paper.SELECT_WINDOW, color="grey", alpha=0.12, label="selection window (§3)")
        ax.set_xlabel("epoch")
        ax.set_ylabel("perplexity")
        ax.set_title("Perplexity per epoch (the paper: it does not track quality)")
        ax.legend()
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(out_dir / "dev_perplexity.png", dpi=120)
        plt.close(fig)
        written.append(out_dir / "dev_perplexity.png")
    return written


def write_report_fragment(args, rows, n_train, total_steps, world, rates, counts=None) -> None:
    """results/<run>/report/train.md: the recipe as run beside the paper's, and the epoch table (and,
    for an Alpaca training file, what its conversion kept and skipped)."""
    lines = [f"## Training ({args.out.name})", "",
             f"{n_train} examples, {total_steps} optimizer steps on {world} process(es), base model `{args.model}`.", ""]
    alpaca = {k: v for k, v in (counts or {}).items() if k.startswith("alpaca_")}
    if alpaca:
        skipped = ", ".join(f"{k[len('alpaca_skipped_'):]} {v}" for k, v in sorted(alpaca.items())
                            if k.startswith("alpaca_skipped_")) or "none"
        lines += [f"Training file `{args.train}` in the Alpaca format, converted on reading (the Alpaca-65B "
                  f"baseline of §4.1): {alpaca.get('alpaca_converted', 0)} rows converted, "
                  f"{alpaca.get('alpaca_repeated_prompt', 0)} of them repeated prompts; skipped: {skipped}.", ""]
    lines += ["| Setting | Here | Paper (§3) |", "|---|---|---|"]
    for key, value in paper.RECIPE.items():
        here = getattr(args, key)
        lines.append(f"| {key} | {here}{'' if here == value else ' (differs)'} | {value} |")
    lines += ["", f"Residual dropout by layer: {', '.join(f'{p:.2f}' for p in rates)}.", "",
              "| Epoch | Dev loss | Dev perplexity | Held-out SE perplexity | Mean train loss |", "|---|---|---|---|---|"]
    steps = [r for r in rows if r["kind"] == "step"]
    for r in (r for r in rows if r["kind"] == "epoch"):
        ep = [s["loss"] for s in steps if s["epoch"] == r["epoch"]]
        lines.append(f"| {r['epoch']} | {r['dev_loss']:.4f} | {r['dev_ppl']:.2f} | {r.get('ppl_set_ppl', '–')} | "
                     f"{sum(ep) / len(ep):.4f} |" if ep else f"| {r['epoch']} | {r['dev_loss']:.4f} | {r['dev_ppl']:.2f} | – | – |")
    lines += ["", "![training loss](train_loss.png) ![perplexity](dev_perplexity.png)", "",
              "The paper (Appendix B) found perplexity anti-correlated with generation quality late in "
              "training, which is why the checkpoint is chosen on dev generations, not on perplexity."]
    with atomic_write(args.results / "report" / "train.md") as f:
        f.write("\n".join(lines) + "\n")
