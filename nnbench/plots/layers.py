"""Figures across activations, depths and layers: loss curves per depth, the heatmap of
final losses, and the gradient norm (and saturated or dead fraction) per layer."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from nnbench.plots import style
from nnbench.plots.data import (
    Axes_,
    final_loss,
    final_loss_name,
    seed_stats,
    series,
    split_axes,
    tuned_runs,
    varies,
)
from nnbench.store import Results

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


def varies_activation_and_depth(res: Results) -> bool:
    """Whether both the activation and the depth vary (the activation x depth figures)."""
    return varies(res, "activation") and varies(res, "depth")


def has_layer_gradients(res: Results) -> bool:
    """Whether layers.csv has gradient norms of three or more layers (two hidden ones):
    with one hidden layer there is nothing to compare across depth."""
    L = res.layers
    if L.empty or "grad_norm" not in L.columns or not L["grad_norm"].notna().any():
        return False
    return bool(L["layer"].nunique() >= 3)


def activation_depth_table(res: Results, runs: pd.DataFrame | None = None,
                           value: str = "mean") -> pd.DataFrame:
    """Activation x depth (rows x columns): the mean final loss over the seeds that did not
    diverge (``value="mean"``), or the number of seeds that diverged (``"diverged"``)."""
    act, depth = res.col("activation"), res.col("depth")
    runs = tuned_runs(res) if runs is None else runs
    runs = runs.copy()
    runs["_final"] = final_loss(res).reindex(runs["run_id"]).to_numpy()
    runs["_div"] = runs["_final"].isna().astype(int)
    table = runs.pivot_table(index=act, columns=depth,
                             values="_final" if value == "mean" else "_div",
                             aggfunc="mean" if value == "mean" else "sum", dropna=False)
    return table.reindex(list(dict.fromkeys(res.runs[act])))


def fig_activation_depths(res: Results) -> Figure | None:
    """Small multiples: the loss curve of each activation, one panel per depth."""
    if not varies_activation_and_depth(res):
        return None
    act, depth = res.col("activation"), res.col("depth")
    other = [c for c in (res.col("optimizer"), res.col("init")) if c and varies(res, c)]
    ax_ = Axes_(act, None, depth, other)
    ss = series(res, ax_=ax_)
    facets = style.facet_values(ss)
    metric = "train_loss"
    ncols = 2 if len(facets) == 4 else min(len(facets), 3)
    nrows = math.ceil(len(facets) / ncols)
    fig, axes = style.new_figure(nrows, ncols, w=3.9, h=3.3, sharey=True)
    for ax in axes.ravel()[len(facets):]:
        ax.set_visible(False)
    ys = []
    for j, fv in enumerate(facets):
        ax = axes.ravel()[j]
        for s in (s for s in ss if s.facet == fv):
            xv, mean, lo, hi = seed_stats(res.metrics, s.run_ids, metric)
            if xv.size == 0:
                continue
            ys.append(mean)
            ax.plot(xv, mean, color=s.color, lw=1.5, label=s.label)
            if len(s.run_ids) > 1:
                ax.fill_between(xv, lo, hi, color=s.color, alpha=0.15, lw=0)
        ax.set_title(style.facet_title(res, depth, fv), fontsize="medium")
        if j >= len(facets) - ncols:
            ax.set_xlabel("step")
        if j % ncols == 0:
            ax.set_ylabel(style.y_label(metric))
        ax.grid(alpha=0.3)
    capped = False
    if style.all_positive(ys):
        for ax in axes.ravel():
            ax.set_yscale("log")
        capped = style.cap_log_top(axes, ys)
    clip = "; spikes clipped" if capped else ""
    style.suptitle(fig, f"{res.title}: activations across depths{style.task_phrase(res)} "
                 f"({style.seeds_phrase(res)}{clip})")
    style.add_legend(fig, axes)
    return fig


def fig_activation_heatmap(res: Results) -> Figure | None:
    """Heatmap of the mean final loss, activation (rows) x depth (columns), annotated."""
    if not varies_activation_and_depth(res):
        return None
    table = activation_depth_table(res)
    v = table.to_numpy(float)
    # tall enough for the colorbar's label, which runs along its height
    fig, axes = style.new_figure(1, 1, w=1.1 * v.shape[1] + 3.2,
                                 h=max(0.45 * v.shape[0] + 1.6, 3.6))
    ax = axes[0, 0]
    from matplotlib.colors import LogNorm, Normalize

    finite = v[np.isfinite(v)]
    norm = LogNorm(finite.min(), finite.max()) if finite.size and (finite > 0).all() \
        and finite.min() < finite.max() else Normalize()
    im = ax.imshow(np.ma.masked_invalid(v), cmap="viridis_r", norm=norm, aspect="auto")
    ax.set_xticks(range(v.shape[1]), [style.fmt_value(c) for c in table.columns])
    ax.set_yticks(range(v.shape[0]), [str(i) for i in table.index])
    ax.set_xlabel("hidden layers (depth)")
    ax.set_ylabel("activation")
    div = activation_depth_table(res, value="diverged").to_numpy(float)
    for (i, j), val in np.ndenumerate(v):
        txt = "diverged" if not np.isfinite(val) else f"{val:.3g}"
        if np.isfinite(val) and div[i, j] > 0:
            txt += f"\n({int(div[i, j])} diverged)"
        rgba = im.cmap(im.norm(val)) if np.isfinite(val) else (1, 1, 1, 1)
        dark = 0.299 * rgba[0] + 0.587 * rgba[1] + 0.114 * rgba[2] < 0.5
        ax.text(j, i, txt, ha="center", va="center", fontsize="small",
                color="white" if dark else "black")
    fig.colorbar(im, ax=ax, label=final_loss_name(res) + "\n(mean over the seeds that finished)")
    ax.set_title(f"{res.title}: {final_loss_name(res)}{style.task_phrase(res)}",
                 fontsize="medium")
    return fig


def _layer_frac_col(layers: pd.DataFrame) -> list[str]:
    return [c for c in ("saturated_frac", "dead_frac")
            if c in layers.columns and layers[c].notna().any()]


def layer_profile(res: Results, run_ids: Sequence[str], column: str,
                  where: str = "first") -> tuple[np.ndarray, np.ndarray]:
    """Mean over runs of ``column`` per layer at each run's first or last logged step."""
    L = res.layers[res.layers["run_id"].isin(run_ids)]
    if L.empty or column not in L.columns:
        return np.empty(0), np.empty(0)
    step = L.groupby("run_id")["step"].transform("min" if where == "first" else "max")
    L = L[L["step"] == step]
    v = L.groupby("layer")[column].mean()
    return v.index.to_numpy(float), v.to_numpy(float)


def fig_gradients(res: Results) -> Figure | None:
    """Vanishing and exploding gradients: the gradient norm of each layer against the
    layer index (log y) at initialization (first logged step) and after training (last
    step), one line per activation/initializer, one row per depth; beside them the
    saturated (sigmoid, tanh) or dead (ReLU family) fraction of each hidden layer after
    training. In Nielsen's words, the speed at which each layer learns."""
    L = res.layers
    if not has_layer_gradients(res):
        return None
    ax_ = split_axes(res)
    ss = series(res, ax_=ax_)
    facets = style.facet_values(ss)
    fracs = _layer_frac_col(L)
    ncols = 2 + (1 if fracs else 0)
    fig, axes = style.new_figure(len(facets), ncols, w=4.3, h=3.4)
    lo_layer = int(L["layer"].min())
    for i, fv in enumerate(facets):
        for s in (s for s in ss if s.facet == fv):
            for j, where in enumerate(("first", "last")):
                x, y = layer_profile(res, s.run_ids, "grad_norm", where)
                axes[i, j].plot(x, y, color=s.color, ls=s.linestyle, marker="o", ms=3.5,
                                label=s.label)
            if fracs:
                for c, mk in zip(fracs, ("o", "s"), strict=False):
                    x, y = layer_profile(res, s.run_ids, c, "last")
                    if np.isfinite(y).any():
                        axes[i, 2].plot(x, y, color=s.color, ls=s.linestyle, marker=mk,
                                        ms=3.5, label=s.label)
        t = style.facet_title(res, ax_.facet, fv)
        for j, name in enumerate(("at initialization", "after training")):
            ax = axes[i, j]
            ax.set_yscale("log")
            ax.set_title(", ".join(filter(None, [t, "gradient norm " + name])),
                         fontsize="medium")
            ax.set_ylabel("‖∂C/∂W‖ of the layer")
        if fracs:
            ax = axes[i, 2]
            ax.set_ylim(-0.03, 1.03)
            ax.set_title(", ".join(filter(None, [t, " / ".join(
                c.replace("_frac", "") for c in fracs) + " fraction after training"])),
                fontsize="medium")
            ax.set_ylabel("fraction of units")
        ids = [r for s in ss if s.facet == fv for r in s.run_ids]
        hi_layer = int(L.loc[L["run_id"].isin(ids), "layer"].max())
        for ax in axes[i]:
            ax.set_xlim(lo_layer - 0.3, hi_layer + 0.3)
            ax.set_xlabel(f"layer ({lo_layer} = nearest the input)")
            ax.xaxis.get_major_locator().set_params(integer=True)
            ax.grid(alpha=0.3, which="both")
    style.suptitle(fig, f"{res.title}: gradient norm per layer{style.task_phrase(res)} "
                 f"({'mean of seeds' if len(ss[0].run_ids) > 1 else 'one seed'})")
    style.add_legend(fig, axes)
    return fig


# the configuration a speed-of-learning figure may vary: one network per panel
_SPEED_COLUMNS = ("depth", "residual")


def _varying_config(res: Results) -> list[str]:
    cols = split_axes(res)
    return [c for c in (cols.hue, cols.style, cols.facet, *cols.other) if c]


def has_layer_speed(res: Results) -> bool:
    """Whether the runs are one network per depth (with or without skip connections), two
    or more hidden layers among them: the speed-of-learning figure, one panel per network."""
    if not has_layer_gradients(res):
        return False
    varying = _varying_config(res)
    return bool(varying) and all(res.col(c) in [res.col(k) for k in _SPEED_COLUMNS]
                                 for c in varying)


def fig_layer_speed(res: Results) -> Figure | None:
    """The speed of learning of each layer over training, as in Nielsen's chapter 5: the
    gradient norm of each layer's weights against the step (log y, mean over seeds), one
    panel per network (depth, with or without skips), one colour per layer."""
    if not has_layer_speed(res):
        return None
    cols = [res.col(c) for c in _SPEED_COLUMNS if res.col(c) and varies(res, c)]
    cells = res.runs.groupby(cols, sort=True, dropna=False)["run_id"].apply(list)
    ncols = 2 if len(cells) == 4 else min(len(cells), 3)
    nrows = math.ceil(len(cells) / ncols)
    fig, axes = style.new_figure(nrows, ncols, w=4.3, h=3.4, sharey=True)
    for ax in axes.ravel()[len(cells):]:
        ax.set_visible(False)
    import matplotlib as mpl

    cmap = mpl.colormaps["viridis"]
    L = res.layers
    for ax, (key, ids) in zip(axes.ravel(), cells.items(), strict=False):
        rows = L[L["run_id"].isin(ids)]
        layers = sorted(rows["layer"].unique())
        for i, layer in enumerate(layers):
            v = rows[rows["layer"] == layer].groupby("step")["grad_norm"].mean()
            v = v[v > 0]
            ax.plot(v.index, v.to_numpy(), lw=1.3,
                    color=cmap(i / max(1, len(layers) - 1) * 0.9),
                    label=f"layer {int(layer)}" + (" (output)" if layer == layers[-1] else ""))
        key = key if isinstance(key, tuple) else (key,)
        ax.set_title(", ".join(
            f"{style.facet_title(res, c, k)}" if c != res.col("residual")
            else ("residual" if str(k).lower() == "true" else "no skips")
            for c, k in zip(cols, key, strict=True)), fontsize="medium")
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize="x-small", loc="best")
    for ax in axes[:, 0]:
        ax.set_ylabel("‖∂C/∂W‖ of the layer")
    n = int(res.runs.groupby(cols, dropna=False)["run_id"].count().max())
    seeds = f"mean of {n} seeds" if n > 1 else "one seed"
    style.suptitle(fig, f"{res.title}: speed of learning of each layer"
                   f"{style.task_phrase(res)} ({seeds})")
    return fig
