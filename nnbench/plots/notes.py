"""Figures that need no training: the activations' shapes (``nnbench plot-activations``)
and naive against max-shifted softmax as the logits grow (``nnbench overflow``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from nnbench.core.lse import DTYPES, FORMS, Sweep, overflow_threshold
from nnbench.core.shapes import Shape, intervals
from nnbench.plots.style import BASE, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


def fig_activation_shapes(shapes: Sequence[Shape]) -> Figure:
    """One column per activation: ``f(z)`` above, ``f'(z)`` below; grey bands where the unit
    is saturated (``f' < 5%`` of its maximum), the dashed line ``f' = 1/4`` (sigmoid's
    largest derivative, the notes' bound) on every derivative panel."""
    n = len(shapes)
    fig, axes = new_figure(2, n, w=3.2, h=2.6, sharex="col")
    for i, s in enumerate(shapes):
        top, bottom = axes[0, i], axes[1, i]
        colour = BASE[i % len(BASE)]
        top.plot(s.z, s.f, color=colour)
        bottom.plot(s.z, s.df, color=colour)
        bottom.axhline(0.25, color="black", ls="--", lw=0.8,
                       label="f' = 1/4 (sigmoid's largest)")
        if s.saturated is not None:
            for k, (a, b) in enumerate(intervals(s.saturated, s.z)):
                for ax in (top, bottom):
                    ax.axvspan(a, b, color="0.85", zorder=0,
                               label="saturated: f' < 5% of its max" if k == 0 else None)
        top.set_title(s.spec, fontsize="medium")
        top.grid(alpha=0.3)
        bottom.grid(alpha=0.3)
        bottom.set_xlabel("z")
        bottom.text(0.02, 0.95, f"max f' = {s.max_grad:.3g}", transform=bottom.transAxes,
                    va="top", fontsize="small")
    axes[0, 0].set_ylabel("f(z)")
    axes[1, 0].set_ylabel("f'(z)")
    handles, labels = {}, {}
    for ax in axes.ravel():
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(lab, h)
            labels[lab] = lab
    if handles:
        fig.legend(handles.values(), labels.values(), loc="outside lower center",
                   fontsize="small", frameon=False, ncols=2)
    return fig


def fig_overflow(sweep: Sweep) -> Figure:
    """Left: ``log10`` of the softmax's denominator ``sum_i e^(x_i - c)`` (``c = 0`` naive,
    the largest logit shifted) against the scale ``t`` of the logits ``t * pattern``, with
    each dtype's largest number (dotted); an inf is not drawn, a cross marks the first ``t``
    whose softmax or log-sum-exp is inf or NaN. Right: where each of the four computations
    gives a finite softmax and log-sum-exp (thick) and where not (thin, red)."""
    fig, axes = new_figure(1, 2, w=5.4, h=3.8)
    left, right = axes[0]
    t = sweep.scales
    colours = {"float32": BASE[0], "float64": BASE[1]}
    styles = {"naive": "-", "shifted": "--"}
    rows = [(d, f) for d in DTYPES for f in FORMS]
    for y, (dtype, form) in enumerate(rows):
        den = sweep.denominator[dtype, form].astype(np.float64)
        with np.errstate(divide="ignore"):
            v = np.where(np.isfinite(den), np.log10(den), np.nan)
        first = sweep.first_bad[dtype, form]
        where = f"inf/NaN from t = {first:g}" if first is not None else "finite"
        left.plot(t, v, color=colours[dtype], ls=styles[form], lw=3.5 if y == 0 else 1.5,
                  label=f"{dtype} {form} ({where})")
        ok = np.isfinite(sweep.prob[dtype, form]) & np.isfinite(sweep.lse[dtype, form])
        right.plot(t, np.where(ok, y, np.nan), color=colours[dtype], lw=6,
                   solid_capstyle="butt")
        right.plot(t, np.where(ok, np.nan, y), color=BASE[3], lw=1.5)
        if first is not None:
            i = int(np.searchsorted(t, first)) - 1
            left.plot([t[max(i, 0)]], [v[max(i, 0)]], "x", color="black", ms=7)
            right.annotate(f"t = {first:g}", (first, y), xytext=(4, 6),
                           textcoords="offset points", fontsize="small")
    for dtype in DTYPES:
        top = float(np.log10(np.finfo(np.dtype(dtype)).max))
        left.axhline(top, color=colours[dtype], ls=":", lw=0.8)
        left.text(t[-1], top, f"largest {dtype} = 10^{top:.1f} ", va="bottom", ha="right",
                  fontsize="small")
        x = overflow_threshold(dtype)
        right.axvline(x, color=colours[dtype], ls=":", lw=0.8)
    left.set_ylim(-15, 340)
    left.set_ylabel("log10 of the denominator sum e^(x_i - c)")
    left.set_xlabel("t (logits = t * " + str(list(sweep.pattern)) + ")")
    left.set_title("the softmax's denominator", fontsize="medium")
    right.set_yticks(range(len(rows)), [f"{d} {f}" for d, f in rows])
    right.set_ylim(-0.6, len(rows) - 0.4)
    right.set_xlabel("t")
    right.set_title("finite (thick) or inf/NaN (thin, red); dotted: log(max float)",
                    fontsize="medium")
    for ax in (left, right):
        ax.grid(alpha=0.3)
    h, lab = left.get_legend_handles_labels()
    fig.legend(h, lab, loc="outside lower center", fontsize="small", frameon=False, ncols=2)
    return fig
