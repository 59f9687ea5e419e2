"""Training curves, for a person who would rather look than read train_metrics.jsonl."""
from __future__ import annotations

from pathlib import Path


def plot_training(rows: list[dict], out_dir: Path) -> list[Path]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r for r in rows if r.get("kind") == "step"]
    epochs = [r for r in rows if r.get("kind") == "epoch"]
    written = []
    if steps:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot([r["step"] for r in steps], [r["loss"] for r in steps], lw=1)
        ax.set_xlabel("optimizer step")
        ax.set_ylabel("train loss (per target token)")
        ax.set_title("Training loss")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(out_dir / "train_loss.png", dpi=120)
        plt.close(fig)
        written.append(out_dir / "train_loss.png")
    if epochs:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot([r["epoch"] for r in epochs], [r["dev_ppl"] for r in epochs], marker="o", label="dev")
        if any("ppl_set_ppl" in r for r in epochs):
            ax.plot([r["epoch"] for r in epochs], [r.get("ppl_set_ppl") for r in epochs], marker="s",
                    label="held-out set")
        ax.axvspan(5, 10, color="grey", alpha=0.12, label="selection window (§3)")
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
