"""The trainers' pictures: the holdout confusion matrix and the loss curve (PNG, matplotlib).

Figures are built with matplotlib's object API (Figure, not pyplot), which renders with Agg and needs
no display or global backend switch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure


def plot_confusion(cm: list[list[int]], labels: list[str], path: Path, title: str) -> None:
    cm = np.asarray(cm)
    n = len(labels)
    size = max(5.0, 0.45 * n + 2.5)
    fig = Figure(figsize=(size + 1, size))
    ax = fig.subplots()
    row_sums = cm.sum(axis=1, keepdims=True)
    frac = np.divide(cm, row_sums, out=np.zeros(cm.shape, dtype=float), where=row_sums > 0)
    im = ax.imshow(frac, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="fraction of true label")
    ax.set_xticks(range(n), labels, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(n), labels, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    for i in range(n):
        for j in range(n):
            if cm[i, j]:
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if frac[i, j] > 0.5 else "black")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def plot_loss(history: dict, path: Path, title: str = "training loss and holdout metrics") -> None:
    """Train loss per step (raw and smoothed) and holdout loss per epoch; holdout accuracy on a second
    axis when the epochs carry it (the classifier's do, the language model's do not)."""
    losses = np.asarray(history["step_loss"])
    steps = np.arange(1, len(losses) + 1)
    ema, smooth = losses[0], []
    for v in losses:
        ema = 0.9 * ema + 0.1 * v
        smooth.append(ema)
    fig = Figure(figsize=(8, 4.5))
    ax = fig.subplots()
    ax.plot(steps, losses, color="tab:blue", alpha=0.3, lw=1, label="train loss (per step)")
    ax.plot(steps, smooth, color="tab:blue", lw=2, label="train loss (EMA 0.9)")
    ep = history["epochs"]
    ax.plot([e["step"] for e in ep], [e["holdout_loss"] for e in ep], "o-", color="tab:orange",
            lw=2, label="holdout loss (per epoch)")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    if all("holdout_accuracy" in e for e in ep):
        ax2 = ax.twinx()
        ax2.plot([e["step"] for e in ep], [e["holdout_accuracy"] for e in ep], "s--", color="tab:green",
                 label="holdout accuracy")
        ax2.set_ylim(0, 1.02)
        ax2.set_ylabel("accuracy")
        h2, l2 = ax2.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    ax.legend(handles, labels, loc="center right", fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
