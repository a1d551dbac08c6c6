"""Figures of a model's capacity (notes 004): training and validation error against the
fit degree (bias and variance), the same over-fitted model under L2 and dropout, and test
accuracy against depth at a fixed number of parameters (why deep)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from nnbench.plots.data import seed_stats, series, varies
from nnbench.plots.style import (
    BASE,
    add_legend,
    fmt_value,
    new_figure,
    seeds_phrase,
    suptitle,
    task_phrase,
)
from nnbench.store import Results

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


def per_value(runs: pd.DataFrame, x: str, y: str, centre: str = "mean"
              ) -> tuple[np.ndarray, ...]:
    """``(x values, centre, min, max)`` of column ``y`` over the runs of each value of
    ``x`` (sorted; ``centre`` ``mean`` or ``median``), runs with no finite ``y`` left
    out."""
    d = runs[[x, y]].apply(pd.to_numeric, errors="coerce")
    d = d[np.isfinite(d[y])]
    if d.empty:
        return (np.array([]),) * 4
    g = d.groupby(x)[y]
    mid = g.median() if centre == "median" else g.mean()
    return (mid.index.to_numpy(float), mid.to_numpy(), g.min().to_numpy(),
            g.max().to_numpy())


def has_degrees(res: Results) -> bool:
    """The fit degree varies and the runs have a validation loss."""
    return (varies(res, "degree") and "final_val_loss" in res.runs.columns
            and res.runs["final_val_loss"].notna().any())


def fig_bias_variance(res: Results) -> Figure | None:
    """Final training and validation loss against the fit degree (the median over the runs
    of a degree: its seeds and data sets, whose few wild fits would make a mean; band
    min-max; log scale), with the closed-form least-squares fit's where runs.csv has it:
    training error falls with the degree, validation error falls (bias) then rises
    (variance)."""
    if not has_degrees(res):
        return None
    runs = res.runs
    fig, axes = new_figure(1, 1, w=6.4, h=4.2)
    ax = axes[0, 0]
    lines = [("final_train_loss", "training (gradient descent)", BASE[0], "o"),
             ("final_val_loss", "validation (gradient descent)", BASE[1], "o"),
             ("closed_form_loss", "training (closed form, lstsq)", BASE[0], "x"),
             ("closed_form_val_loss", "validation (closed form, lstsq)", BASE[1], "x")]
    for col, label, color, marker in lines:
        if col not in runs.columns:
            continue
        xv, mean, lo, hi = per_value(runs, "degree", col, "median")
        if xv.size == 0:
            continue
        if marker == "o":
            ax.plot(xv, mean, color=color, marker=marker, ms=4, lw=1.6, label=label)
            ax.fill_between(xv, lo, hi, color=color, alpha=0.15, lw=0)
        else:
            ax.plot(xv, mean, color=color, marker=marker, ms=7, ls="none", label=label)
    ax.set_yscale("log")
    ax.set_xlabel("polynomial degree of the fit")
    ax.set_ylabel("final loss (MSE)")
    ax.set_xticks(sorted(pd.to_numeric(runs["degree"]).dropna().unique()))
    ax.grid(alpha=0.3)
    n = runs.groupby("degree").size().max()
    suptitle(fig, f"{res.title}: training and validation error against the degree"
                  f"{task_phrase(res)} (median of {n} runs per degree, band min-max)")
    add_legend(fig, axes, handles_from=ax)
    return fig


def has_regularizers(res: Results) -> bool:
    """L2 or dropout varies and the runs have a validation loss."""
    return ((varies(res, "l2") or varies(res, "dropout")) and not res.metrics.empty
            and "val_loss" in res.metrics.columns and res.metrics["val_loss"].notna().any())


def fig_regularization(res: Results) -> Figure | None:
    """Training and validation loss against step for each L2 penalty and dropout rate
    (mean over seeds, band min-max), the lowest point of each validation curve marked:
    where early stopping would keep the weights."""
    if not has_regularizers(res):
        return None
    m = res.metrics
    fig, axes = new_figure(1, 2, w=5.2)
    ss = series(res)
    runs = res.runs.set_index("run_id")
    for s in ss:
        first = runs.loc[s.run_ids[0]]
        label = ", ".join(f"{name} {fmt_value(first[col]) if pd.notna(first[col]) else 0}"
                          for col, name in (("l2", "L2"), ("dropout", "dropout"))
                          if col in runs.columns)
        for ax, col in zip(axes[0], ("train_loss", "val_loss"), strict=True):
            xv, mean, lo, hi = seed_stats(m, s.run_ids, col, "step")
            if xv.size == 0:
                continue
            ax.plot(xv, mean, color=s.color, ls=s.linestyle, lw=1.4, label=label)
            ax.fill_between(xv, lo, hi, color=s.color, alpha=0.12, lw=0)
            if col == "val_loss" and np.isfinite(mean).any():
                i = int(np.nanargmin(mean))
                ax.plot(xv[i], mean[i], marker="v", color=s.color, ms=7, ls="none")
    for ax, name in zip(axes[0], ("training loss", "validation loss"), strict=True):
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
    suptitle(fig, f"{res.title}: L2 and dropout on the over-fitted model{task_phrase(res)} "
                  f"({seeds_phrase(res)}; triangle: lowest validation loss, where early "
                  "stopping keeps the weights)")
    add_legend(fig, axes, handles_from=axes[0, 1])
    return fig


def has_budgets(res: Results) -> bool:
    """The parameter budget and the depth both vary."""
    return varies(res, "params") and varies(res, "depth")


def _score(res: Results) -> tuple[str, str]:
    """The column the why-deep figure plots and its axis label: test accuracy, else
    validation accuracy, else the final validation or training loss."""
    runs = res.runs
    for col, label in (("final_test_acc", "test accuracy"),
                       ("final_val_acc", "validation accuracy"),
                       ("final_test_loss", "test loss"),
                       ("final_val_loss", "validation loss"),
                       ("final_train_loss", "training loss")):
        if col in runs.columns and runs[col].notna().any():
            return col, label
    return "final_train_loss", "training loss"


def fig_why_deep(res: Results) -> Figure | None:
    """Test accuracy against depth, one line per parameter budget (each depth at the width
    whose network has closest to the budget's parameters; mean over seeds, band
    min-max), and the parameter counts the runs had."""
    if not has_budgets(res):
        return None
    runs = res.runs
    col, label = _score(res)
    fig, axes = new_figure(1, 1, w=6.4, h=4.2)
    ax = axes[0, 0]
    budgets = sorted(pd.to_numeric(runs["params"]).dropna().unique())
    for i, budget in enumerate(budgets):
        g = runs[pd.to_numeric(runs["params"]) == budget]
        xv, mean, lo, hi = per_value(g, "depth", col)
        if xv.size == 0:
            continue
        color = BASE[i % len(BASE)]
        counts = pd.to_numeric(g.get("n_params", pd.Series(dtype=float))).dropna()
        span = (f", {int(counts.min())}-{int(counts.max())} used" if len(counts) else "")
        ax.plot(xv, mean, color=color, marker="o", ms=4, lw=1.6,
                label=f"{int(budget)} parameters{span}")
        ax.fill_between(xv, lo, hi, color=color, alpha=0.15, lw=0)
    ax.set_xlabel("hidden layers (width set by the budget)")
    ax.set_ylabel(label)
    ax.set_xticks(sorted(pd.to_numeric(runs["depth"]).dropna().unique()))
    ax.grid(alpha=0.3)
    suptitle(fig, f"{res.title}: {label} against depth at a fixed number of parameters"
                  f"{task_phrase(res)} ({seeds_phrase(res)})")
    add_legend(fig, axes, handles_from=ax)
    return fig
