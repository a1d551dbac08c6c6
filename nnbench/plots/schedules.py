"""Learning-rate schedules: the loss of each schedule beside the learning rate it trained
with, ``lr_t = lr * f(t)``, computed from the run's schedule (runs.csv's ``schedule``,
``schedule_kw``, ``warmup_steps`` and ``lr``), not read back from the logs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from nnbench.core.schedules import schedule
from nnbench.plots.data import Axes_, lr_swept, seed_stats, series, split_axes, varies
from nnbench.plots.style import (
    add_legend,
    all_positive,
    cap_log_top,
    facet_title,
    new_figure,
    seeds_phrase,
    suptitle,
    task_phrase,
    y_label,
)
from nnbench.store import Results, run_config

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


def has_schedules(res: Results) -> bool:
    """Whether the runs compare schedules (``schedule`` or ``warmup_steps`` varies)."""
    return not res.metrics.empty and (varies(res, "schedule") or varies(res, "warmup_steps"))


def lr_curve(row: Any) -> tuple[np.ndarray, np.ndarray]:
    """The steps ``0..steps`` of a runs.csv row and its learning rate at each,
    ``lr * f(step)`` with the row's schedule (float64)."""
    cfg = run_config(row)
    f = schedule(cfg.schedule, warmup_steps=cfg.warmup_steps, **cfg.schedule_kw)
    t = np.arange(int(cfg.steps) + 1)
    return t, float(cfg.lr) * np.broadcast_to(np.asarray(f(t), dtype=np.float64), t.shape)


def _axes(res: Results) -> Axes_:
    """Colour per schedule (or warmup length), one row of panels per value of the next
    varying column (the optimizer), the rest in the labels."""
    base = split_axes(res)
    sched = res.col("schedule") if varies(res, "schedule") else res.col("warmup_steps")
    rest = [c for c in (base.hue, base.style, base.facet, *base.other) if c and c != sched]
    return Axes_(hue=sched, style=None, facet=rest[0] if rest else None, other=rest[1:])


def fig_lr_schedule(res: Results, metric: str = "train_loss") -> Figure | None:
    """Per row (optimizer): ``metric`` against step for each schedule (mean over seeds,
    band min-max, each at its tuned learning rate when lrs were swept) and, beside it,
    the learning rate of each schedule at every step (the legend names the schedules,
    the learning-rate panel shows each one's tuned rate)."""
    if not has_schedules(res) or metric not in res.metrics.columns:
        return None
    ax_ = _axes(res)
    # the rows share one colour per schedule, so the tuned rate (which differs by row) is
    # left out of the labels: the learning-rate panel shows it
    ss = series(res, ax_=ax_, show_lr=False)
    facets = list(dict.fromkeys(s.facet for s in ss))
    fig, axes = new_figure(len(facets), 2, sharex=True)
    runs = res.runs.set_index(res.runs["run_id"].astype(str))
    curves = []
    for i, fv in enumerate(facets):
        loss_ax, lr_ax = axes[i, 0], axes[i, 1]
        for s in (s for s in ss if s.facet == fv):
            xv, mean, lo, hi = seed_stats(res.metrics, s.run_ids, metric, "step")
            if xv.size:
                curves.append(mean)
                loss_ax.plot(xv, mean, color=s.color, lw=1.6, label=s.label)
                if len(s.run_ids) > 1:
                    loss_ax.fill_between(xv, lo, hi, color=s.color, alpha=0.18, lw=0)
            t, lr = lr_curve(runs.loc[s.run_ids[0]])
            lr_ax.plot(t, lr, color=s.color, lw=1.6, label=s.label, gid="lr_curve")
        title = facet_title(res, ax_.facet, fv)
        for ax, what in ((loss_ax, y_label(metric)), (lr_ax, "learning rate")):
            ax.set_ylabel(what)
            ax.grid(alpha=0.3)
            if title:
                ax.set_title(title, fontsize="medium")
        lr_ax.set_yscale("log")
    for ax in axes[-1]:
        ax.set_xlabel("step")
    if all_positive(curves):
        for ax in axes[:, 0]:
            ax.set_yscale("log")
        cap_log_top(axes[:, 0], curves)
    tuned = "each at its tuned learning rate; " if lr_swept(res) else ""
    suptitle(fig, f"{res.title}: {y_label(metric)} and learning rate per schedule"
                  f"{task_phrase(res)} ({tuned}{seeds_phrase(res)})")
    add_legend(fig, axes)
    return fig
