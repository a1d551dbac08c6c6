"""Optimizer trajectories over an objective landscape and their distance to the minimum."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from nnbench.config import RunConfig
from nnbench.core.errors import NNBenchError
from nnbench.plots.data import Axes_, seed_stats, series, split_axes
from nnbench.plots.style import add_legend, all_positive, new_figure, suptitle, y_label
from nnbench.store import Results, run_config
from nnbench.tasks.build import make_task

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def has_trajectories(res: Results) -> bool:
    """Whether metrics.csv has the points (x0, x1) of runs on a landscape."""
    m = res.metrics
    return not m.empty and {"x0", "x1"} <= set(m.columns) and bool(m["x0"].notna().any())


def _landscape(res: Results, task_name: str) -> Any | None:
    """The landscape task of the first run on ``task_name``, built as training built it
    (:func:`nnbench.config.make_task`); ``None`` when it is not a landscape."""
    tcol = res.col("task")
    rows = res.runs[res.runs[tcol].astype(str) == task_name] if tcol else res.runs
    try:
        cfg = run_config(rows.iloc[0]) if len(rows) else RunConfig(task=task_name)
        task = make_task(replace(cfg, task=task_name))
    except (NNBenchError, TypeError):
        return None
    return task if getattr(task, "kind", None) == "landscape" else None


def fig_landscape(res: Results) -> Figure | None:
    """Contour of each landscape with every optimizer's trajectory (x0, x1 per step),
    its start (circle) and end (square), the minima (stars); and the distance to the
    nearest minimum against step (log y)."""
    m = res.metrics
    if not has_trajectories(res):
        return None
    tcol = res.col("task")
    tasks = list(dict.fromkeys(res.runs[tcol].astype(str))) if tcol else []
    ax_ = split_axes(res, exclude=[tcol] if tcol else [])
    ss = series(res, ax_=Axes_(ax_.hue, ax_.style, tcol, ax_.other))
    has_d = "dist_to_min" in m.columns and m["dist_to_min"].notna().any()
    fig, axes = new_figure(len(tasks) or 1, 2 if has_d else 1, w=5.0, h=4.4)
    for i, tname in enumerate(tasks or [None]):
        ax = axes[i, 0]
        mine = [s for s in ss if tname is None or str(s.facet) == tname]
        pts = []
        for s in mine:
            for k, rid in enumerate(s.run_ids[:3]):
                t = m[m["run_id"] == rid].sort_values("step")
                xy = t[["x0", "x1"]].to_numpy(float)
                xy = xy[np.isfinite(xy).all(axis=1)]
                if len(xy) == 0:
                    continue
                pts.append(xy)
                ax.plot(xy[:, 0], xy[:, 1], color=s.color, ls=s.linestyle, lw=1.4,
                        alpha=1.0 if k == 0 else 0.5, label=s.label if k == 0 else None,
                        zorder=3)
                ax.plot(*xy[0], "o", color=s.color, mec="black", ms=6, zorder=4)
                ax.plot(*xy[-1], "s", color=s.color, mec="black", ms=6, zorder=4)
        task = _landscape(res, tname) if tname else None
        if task is not None:
            minima = np.asarray(getattr(task, "minima", np.empty((0, 2))), float).reshape(-1, 2)
            start = np.asarray(getattr(task, "start", np.empty(0)), float).reshape(-1, 2)
            core = np.concatenate([p for p in (minima, start) if len(p)])
            _contour(ax, task, core, np.concatenate([p for p in pts if len(p)] or [core]))
            if len(minima):
                ax.plot(minima[:, 0], minima[:, 1], "*", color="white", mec="black",
                        ms=14, zorder=5, label="minimum")
        ax.set_xlabel("x0")
        ax.set_ylabel("x1")
        ax.set_title(f"{tname or 'trajectories'} (o start, ■ end)", fontsize="medium")
        if has_d:
            ax = axes[i, 1]
            ys = []
            for s in mine:
                xv, mean, lo, hi = seed_stats(m, s.run_ids, "dist_to_min")
                ys.append(mean)
                ax.plot(xv, mean, color=s.color, ls=s.linestyle, lw=1.5, label=s.label)
            if all_positive(ys):
                ax.set_yscale("log")
            ax.set_xlabel("step")
            ax.set_ylabel(y_label("dist_to_min"))
            ax.set_title(f"{tname or ''} distance to the nearest minimum".strip(),
                         fontsize="medium")
            ax.grid(alpha=0.3, which="both")
    suptitle(fig, f"{res.title}: optimizer trajectories")
    add_legend(fig, axes)
    return fig


def _contour(ax: Axes, task: Any, core: np.ndarray, path: np.ndarray, n: int = 160) -> None:
    """Filled contour of ``task.value`` over a box around the start and the minima
    (``core``), widened to take in the trajectories (``path``) up to twice the core's
    size, so that a run that escapes far (a saddle) does not shrink the landscape to a
    line; levels at quantiles of the values in the box, so that any landscape shows detail.
    """
    core = core[np.isfinite(core).all(axis=1)]
    path = path[np.isfinite(path).all(axis=1)]
    span = np.maximum(core.max(0) - core.min(0), 1.0)
    lo, hi = core.min(0) - 0.5 * span, core.max(0) + 0.5 * span
    near = path[((path >= core.min(0) - 2 * span) & (path <= core.max(0) + 2 * span)).all(1)]
    if len(near):
        lo, hi = np.minimum(lo, near.min(0) - 0.1 * span), np.maximum(hi, near.max(0) + 0.1 * span)
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n))
    P = np.stack([gx.ravel(), gy.ravel()], axis=1)
    Z = np.asarray(task.value(P), float).reshape(n, n)
    Zf = Z[np.isfinite(Z)]
    levels = np.unique(np.quantile(Zf, np.linspace(0, 1, 22) ** 1.5))
    if levels.size < 3:
        return
    ax.contourf(gx, gy, Z, levels=levels, cmap="Greys", alpha=0.5, zorder=0,
                extend="both")
    ax.contour(gx, gy, Z, levels=levels, colors="0.45", linewidths=0.4, zorder=1)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
