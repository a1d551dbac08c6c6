"""Across tasks: the performance profile (Dolan and More, 2002) and the leaderboard of the
methods of a multi-task results directory (``--tasks``), from the scores of
:func:`nnbench.summary.task_scores`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from nnbench import summary
from nnbench.plots.style import BASE, PALETTE, STYLES, add_legend, new_figure
from nnbench.store import Results

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


def has_tasks(res: Results) -> bool:
    """Whether the results compare at least two methods on at least two tasks."""
    return summary.task_scores(res.runs) is not None


def profile_taus(ratios: pd.DataFrame, n: int = 400) -> np.ndarray:
    """The abscissas of the profile: 1 to a little past the largest finite ratio, evenly on
    a log scale, with every ratio itself (where the steps are)."""
    finite = ratios.to_numpy(dtype=float)
    finite = finite[np.isfinite(finite)]
    top = max(2.0, float(finite.max()) * 1.5) if finite.size else 2.0
    grid = np.geomspace(1.0, top, n)
    return np.unique(np.concatenate([grid, finite]))


def _colour(method: str, i: int) -> str:
    return PALETTE.get(method.split(", ")[0]) or BASE[i % len(BASE)]


def _what(res: Results) -> str:
    tuned = "phase" in res.runs.columns
    return "final seeds at each one's tuned rate" if tuned else "mean over seeds"


def fig_performance_profile(res: Results) -> Figure | None:
    """The fraction of tasks on which each method's score (its mean final loss, the
    validation loss where the task has one) is within a factor tau of the best method's,
    against tau on a log axis: a curve high on the left wins often, one that reaches 1
    soon is never far behind."""
    scores = summary.task_scores(res.runs)
    if scores is None:
        return None
    ratios = summary.performance_ratios(scores)
    taus = profile_taus(ratios)
    rho = summary.performance_profile(scores, taus)
    order = list(summary.leaderboard(scores).index)
    fig, axes = new_figure(1, 1, w=7.0, h=4.4)
    ax = axes[0, 0]
    for i, method in enumerate(order):
        ax.step(rho.index, rho[method], where="post", color=_colour(method, i),
                ls=STYLES[i % 2], lw=1.8,
                label=f"{method} ({rho[method].iloc[0]:.0%} best)")
    ax.set_xscale("log")
    ax.set_xlim(1.0, float(rho.index.max()))
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("tau: factor of the best method's score")
    ax.set_ylabel("fraction of tasks within tau of the best")
    ax.grid(alpha=0.3, which="both")
    ax.set_title(f"performance profile over {len(scores)} tasks ({', '.join(scores.index)}); "
                 f"{_what(res)}", fontsize="medium", wrap=True)
    add_legend(fig, axes)
    return fig


def fig_leaderboard(res: Results) -> Figure | None:
    """Each method's rank on each task (1: the lowest score there) and its mean rank, best
    first; every cell also shows the score."""
    scores = summary.task_scores(res.runs)
    if scores is None:
        return None
    board = summary.leaderboard(scores)
    tasks = [c for c in board.columns if c != "mean rank"]
    values = board[[*tasks, "mean rank"]].to_numpy(dtype=float)
    n_m, n_c = values.shape
    fig, axes = new_figure(1, 1, w=1.3 * n_c + 2.6, h=0.42 * n_m + 1.6)
    ax = axes[0, 0]
    im = ax.imshow(values, cmap="viridis_r", aspect="auto", vmin=1, vmax=len(board))
    for i, method in enumerate(board.index):
        for j, col in enumerate([*tasks, "mean rank"]):
            v = values[i, j]
            text = f"{v:.2g}" if col == "mean rank" else (
                f"{int(v)}\n{summary.fmt_num(scores.loc[col, method], 2)}")
            ax.text(j, i, text, ha="center", va="center", fontsize="x-small",
                    color="white" if v > (len(board) + 1) / 2 else "black")
    ax.set_xticks(range(n_c), [*tasks, "mean rank"], rotation=30, ha="right")
    ax.set_yticks(range(n_m), list(board.index))
    ax.axvline(n_c - 1.5, color="white", lw=3)
    fig.colorbar(im, ax=ax, label="rank (1: lowest loss)", shrink=0.8)
    ax.set_title(f"leaderboard: rank and score per task, {_what(res)}", fontsize="medium")
    return fig
