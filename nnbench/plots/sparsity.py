"""Accuracy (or loss) against sparsity after magnitude pruning, from ``prune.csv``
(written by ``nnbench prune``, :mod:`nnbench.prune`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from nnbench.core.errors import plural
from nnbench.plots.style import BASE, add_legend, new_figure
from nnbench.store import Results, read_csv

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

PRUNE_CSV = "prune.csv"


def has_pruning(res: Results) -> bool:
    """Whether the directory holds a non-empty ``prune.csv``."""
    f = res.path / PRUNE_CSV
    return f.is_file() and f.stat().st_size > 0


def fig_sparsity(res: Results) -> Figure | None:
    """Accuracy against sparsity from ``prune.csv`` (:func:`draw_sparsity`)."""
    if not has_pruning(res):
        return None
    df = read_csv(res.path / PRUNE_CSV)
    return None if df.empty else draw_sparsity(df, res.title)


def draw_sparsity(df: pd.DataFrame, title: str) -> Figure:
    """Accuracy (loss for regression) on the evaluation set against sparsity, one line per
    configuration and stage (mean over seeds, shaded between the lowest and highest)."""
    df = df.assign(cell=df["cell"].astype(object).fillna("").astype(str))  # "" reads as NaN
    metric = "eval_acc" if df["eval_acc"].notna().any() else "eval_loss"
    fig, axes = new_figure(1, 1, w=6.5, h=4.2)
    ax = axes[0, 0]
    keys = list(dict.fromkeys(zip(df["cell"], df["finetune_steps"], strict=True)))
    for i, (cell, steps) in enumerate(keys):
        g = df[(df["cell"] == cell) & (df["finetune_steps"] == steps)]
        st = g.groupby("sparsity")[metric].agg(["mean", "min", "max"]).sort_index()
        tuned = f"pruned, fine-tuned {plural(int(steps), 'step')}" if steps else "pruned"
        label = ", ".join(filter(None, [cell, tuned]))
        color = BASE[(i // 2 if df["finetune_steps"].max() else i) % len(BASE)]
        ls = "--" if steps else "-"
        ax.plot(st.index, st["mean"], ls, marker="o", color=color, label=label)
        ax.fill_between(st.index, st["min"], st["max"], color=color, alpha=0.15, lw=0)
    ev = df["eval_set"].iloc[0]
    ax.set_xlabel("sparsity (fraction of weights set to 0)")
    ax.set_ylabel(f"{ev} {'accuracy' if metric == 'eval_acc' else 'loss'}")
    ax.grid(alpha=0.3)
    seeds = df.groupby(["cell", "finetune_steps", "sparsity"])["run_id"].nunique().max()
    over = f"mean of {seeds} seeds, band min-max" if seeds > 1 else "one seed"
    ax.set_title(f"{title}: magnitude pruning ({over})",
                 fontsize="medium")
    add_legend(fig, axes)
    return fig
