"""Curves against step or wall time: the loss (or any metric), the accuracy, gradient
descent against the closed form, and the final loss against the learning rate."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from nnbench import summary
from nnbench.plots.data import final_loss, final_loss_name, lr_swept, seed_stats, series, split_axes
from nnbench.plots.style import (
    add_legend,
    all_positive,
    cap_log_top,
    facet_title,
    facet_values,
    new_figure,
    seeds_phrase,
    suptitle,
    task_phrase,
    y_label,
)
from nnbench.store import Results

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


#: under every wall-time panel: why a rule's steps can take longer than another's
WALL_NOTE = ("a step's time depends on its numbers: activations and gradients that\n"
             "underflow to subnormal floats slow a CPU down (plain SGD's often do)")

def has_curve(res: Results, metric: str = "train_loss") -> bool:
    """Whether metrics.csv has values of ``metric`` to draw against step."""
    m = res.metrics
    return not m.empty and metric in m.columns and bool(m[metric].notna().any())


def _accuracy_columns(res: Results) -> list[str]:
    m = res.metrics
    return [c for c in ("train_acc", "val_acc") if c in m.columns and m[c].notna().any()]


def has_accuracy(res: Results) -> bool:
    """Whether metrics.csv has a training or validation accuracy."""
    return bool(_accuracy_columns(res))


def has_closed_form(res: Results) -> bool:
    """Whether runs.csv has the closed-form loss of linear regression."""
    runs = res.runs
    return "closed_form_loss" in runs.columns and bool(runs["closed_form_loss"].notna().any())


def fig_curves(res: Results, metric: str = "train_loss",
               xs: Sequence[str] = ("step", "wall_s")) -> Figure | None:
    """``metric`` against step and against wall time: mean over seeds, min-max band,
    one colour per hue value, one row of panels per facet value; log y when positive."""
    m = res.metrics
    if not has_curve(res, metric):
        return None
    xs = [x for x in xs if x in m.columns]
    if not xs:
        return None
    ax_ = split_axes(res)
    ss = series(res, ax_=ax_)
    facets = facet_values(ss)
    fig, axes = new_figure(len(facets), len(xs), sharey="row")
    ys_all = []
    for i, fv in enumerate(facets):
        for j, x in enumerate(xs):
            ax = axes[i, j]
            for s in (s for s in ss if s.facet == fv):
                xv, mean, lo, hi = seed_stats(m, s.run_ids, metric, x)
                if xv.size == 0:
                    continue
                ys_all += [mean, lo]
                ax.plot(xv, mean, color=s.color, ls=s.linestyle, lw=1.6, label=s.label)
                if len(s.run_ids) > 1:
                    ax.fill_between(xv, lo, hi, color=s.color, alpha=0.18, lw=0)
                mark_switches(ax, res, s.run_ids, metric, x, s.color)
            ax.set_xlabel(y_label(x))
            if x == "wall_s" and i == len(facets) - 1:
                ax.annotate(WALL_NOTE, (0, 0), xycoords="axes fraction", xytext=(0, -34),
                            textcoords="offset points", fontsize="x-small", color="0.35",
                            va="top")
            if j == 0:
                landscape = metric == "train_loss" and "x0" in m.columns
                ax.set_ylabel("value f(x0, x1)" if landscape else y_label(metric))
            t = facet_title(res, ax_.facet, fv)
            if t:
                ax.set_title(t, fontsize="medium")
            ax.grid(alpha=0.3)
    capped = False
    if all_positive(ys_all) and "acc" not in metric:
        for ax in axes.ravel():
            ax.set_yscale("log")
        capped = cap_log_top(axes, ys_all[::2])
    elif ys_all and "acc" not in metric:
        v = np.abs(np.concatenate([np.ravel(y) for y in ys_all]))
        v = v[np.isfinite(v) & (v > 0)]
        low = float(np.percentile(v, 10)) if v.size else 0.0
        if v.size and v.max() > 100 * low:  # e.g. a saddle: f falls without bound
            for ax in axes.ravel():
                ax.set_yscale("symlog", linthresh=float(max(np.median(v), 1e-6)))
    tuned = "each at its tuned learning rate; " if lr_swept(res) else ""
    clip = "; spikes clipped" if capped else ""
    what = "value f(x0, x1)" if metric == "train_loss" and "x0" in m.columns \
        else y_label(metric)
    suptitle(fig, f"{res.title}: {what}{task_phrase(res)} "
                 f"({tuned}{seeds_phrase(res)}{clip})")
    add_legend(fig, axes)
    return fig


def switch_points(res: Results, run_ids: Sequence[str], metric: str = "train_loss",
                  x: str = "step") -> tuple[np.ndarray, np.ndarray]:
    """Where the runs ``run_ids`` switched rule (SWATS: from Adam to SGD), on their mean
    curve: one point per run with a ``switch_step >= 0`` in runs.csv, at that step (``x =
    "step"``) or at the mean wall time of that step (``x = "wall_s"``), and the mean
    curve's value there (linear between logged steps). Empty when none switched."""
    e = np.empty(0)
    runs = res.runs
    if "switch_step" not in runs.columns:
        return e, e
    rows = runs[runs["run_id"].astype(str).isin([str(r) for r in run_ids])]
    steps = rows["switch_step"].astype(float).to_numpy()
    steps = np.sort(steps[np.isfinite(steps) & (steps >= 0)])
    if steps.size == 0:
        return e, e
    sx, mean, _lo, _hi = seed_stats(res.metrics, run_ids, metric, "step")
    ok = np.isfinite(mean)
    if not ok.any():
        return e, e
    ys = np.interp(steps, sx[ok], mean[ok])
    if x == "step":
        return steps, ys
    wx, _m, _l, _h = seed_stats(res.metrics, run_ids, metric, x)
    return np.interp(steps, sx, wx), ys


def mark_switches(ax, res: Results, run_ids: Sequence[str], metric: str, x: str,
                  color: str) -> None:
    """A triangle on the mean curve at each run's switch step (:func:`switch_points`)."""
    xs, ys = switch_points(res, run_ids, metric, x)
    if xs.size:
        ax.plot(xs, ys, ls="none", marker="v", ms=7, color=color, mec="black", mew=0.7,
                zorder=5, gid="switch_step")


def fig_closed_form(res: Results) -> Figure | None:
    """Linear regression: the training loss of gradient descent against step (mean over
    seeds per configuration) approaching the closed-form loss, a horizontal line; on the
    right the relative gap ``(loss - closed form) / closed form`` on a log scale (left out
    where rounding puts the loss at or below the closed form)."""
    m, runs = res.metrics, res.runs
    if not has_closed_form(res):
        return None
    fig, axes = new_figure(1, 2, w=5.4)
    ax, gap_ax = axes[0, 0], axes[0, 1]
    ss = series(res)
    cf_done = set()
    for s in ss:
        xv, mean, _lo, _hi = seed_stats(m, s.run_ids, "train_loss", "step")
        if xv.size == 0:
            continue
        cf = float(runs[runs["run_id"].isin(s.run_ids)]["closed_form_loss"].mean())
        ax.plot(xv, mean, color=s.color, ls=s.linestyle, lw=1.6, label=s.label)
        if round(cf, 12) not in cf_done:
            cf_done.add(round(cf, 12))
            ax.axhline(cf, color="black", ls=":", lw=1.2,
                       label=f"closed form (lstsq) {cf:.4g}" if len(cf_done) == 1 else None)
        gap = (mean - cf) / abs(cf) if cf else mean - cf
        gap_ax.plot(xv, np.where(gap > 0, gap, np.nan), color=s.color, ls=s.linestyle, lw=1.6)
    ax.set_yscale("log")
    gap_ax.set_yscale("log")
    for a in (ax, gap_ax):
        a.set_xlabel("step")
        a.grid(alpha=0.3)
    ax.set_ylabel("training loss")
    gap_ax.set_ylabel("relative gap to the closed form")
    suptitle(fig, f"{res.title}: gradient descent against the closed form"
                   f"{task_phrase(res)} ({seeds_phrase(res)})")
    add_legend(fig, axes, handles_from=ax)
    return fig


def fig_accuracy(res: Results) -> Figure | None:
    """Training and validation accuracy against step (mean over seeds, band min-max)."""
    m = res.metrics
    cols = _accuracy_columns(res)
    if not cols:
        return None
    ax_ = split_axes(res)
    ss = series(res, ax_=ax_)
    facets = facet_values(ss)
    fig, axes = new_figure(len(facets), len(cols), sharey=True)
    for i, fv in enumerate(facets):
        for j, c in enumerate(cols):
            ax = axes[i, j]
            for s in (s for s in ss if s.facet == fv):
                xv, mean, lo, hi = seed_stats(m, s.run_ids, c)
                if xv.size == 0:
                    continue
                ax.plot(xv, mean, color=s.color, ls=s.linestyle, lw=1.6, label=s.label)
                if len(s.run_ids) > 1:
                    ax.fill_between(xv, lo, hi, color=s.color, alpha=0.18, lw=0)
            ax.set_xlabel("step")
            ax.set_ylabel(y_label(c))
            t = facet_title(res, ax_.facet, fv)
            ax.set_title(", ".join(filter(None, [t, y_label(c)])), fontsize="medium")
            ax.grid(alpha=0.3)
    suptitle(fig, f"{res.title}: accuracy{task_phrase(res)} ({seeds_phrase(res)})")
    add_legend(fig, axes)
    return fig


def fig_lr_sensitivity(res: Results) -> Figure | None:
    """Final loss against learning rate (log x), one line per hue value: the mean over
    seeds with min-max error bars; a cross at the top marks a learning rate at which
    some seed diverged, a star the tuned learning rate."""
    lr = res.col("lr")
    if not lr_swept(res):
        return None
    runs = res.runs.copy()
    runs["_final"] = final_loss(res).reindex(runs["run_id"]).to_numpy()
    ax_ = split_axes(res)
    ss = series(res, runs=runs, ax_=ax_, show_lr=False)
    facets = facet_values(ss)
    fig, axes = new_figure(1, len(facets), w=5.4, h=4.0, sharey=True)
    finite = runs["_final"].to_numpy(float)
    logy = all_positive([finite])
    for j, fv in enumerate(facets):
        ax = axes[0, j]
        for k, s in enumerate(s for s in ss if s.facet == fv):
            g = runs[runs["run_id"].isin(s.run_ids)]
            st = g.groupby(lr)["_final"].agg(["mean", "min", "max", "count", "size"])
            st = st.sort_index()
            x = st.index.to_numpy(float)
            mean = st["mean"].to_numpy(float)
            ax.errorbar(x, mean, yerr=[mean - st["min"].to_numpy(float),
                                       st["max"].to_numpy(float) - mean],
                        fmt="none", ecolor=s.color, capsize=2.5, lw=1.0)
            ax.plot(x, mean, color=s.color, ls=s.linestyle, marker="o", ms=4, lw=1.5,
                    label=s.label)
            bad = st["count"] < st["size"]
            if bad.any():
                y = 0.97 - 0.035 * k  # one row of crosses per series, so none hides another
                ax.plot(x[bad.to_numpy()], np.full(int(bad.sum()), y), "x", color=s.color,
                        ms=8, mew=2, transform=ax.get_xaxis_transform(), clip_on=False)
            b, score = summary.choose_lr(g[lr], summary.lr_scores(g, g["_final"]))
            if np.isfinite(score):  # the tuned lr, unless every lr diverged somewhere
                ax.plot([b], [st.loc[b, "mean"]], "*", color=s.color, ms=13,
                        mec="black", mew=0.6, zorder=5)
        ax.set_xscale("log")
        if logy:
            ax.set_yscale("log")
        ax.set_xlabel("learning rate")
        if j == 0:
            ax.set_ylabel(final_loss_name(res))
        t = facet_title(res, ax_.facet, fv)
        if t:
            ax.set_title(t, fontsize="medium")
        ax.grid(alpha=0.3, which="both")
    suptitle(fig, f"{res.title}: learning-rate sensitivity{task_phrase(res)} "
                 f"({seeds_phrase(res).replace('band', 'bars')}; x = a seed diverged, "
                 "* = best)")
    add_legend(fig, axes)
    return fig
