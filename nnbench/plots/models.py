"""Figures of the trained models themselves: decision regions over 2-D classification
data and the fitted curve over 1-D regression data.

A model is rebuilt as training built it: the run's configuration from its runs.csv row
(:func:`nnbench.store.run_config`), its task by :func:`nnbench.config.make_task`, the
network by :func:`nnbench.engine.build_model` (in float64), then the saved weights
``weights/<run_id>.npz`` put in.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from nnbench.core.errors import NNBenchError
from nnbench.engine import build_model
from nnbench.plots.data import Series, describe, series, split_axes
from nnbench.plots.style import (
    BASE,
    add_legend,
    facet_title,
    facet_values,
    new_figure,
    suptitle,
    task_phrase,
)
from nnbench.store import WEIGHTS, Results, run_config
from nnbench.tasks.build import make_task

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


def initial_model(res: Results, run_id: str, dtype: str | None = "float64"
                  ) -> tuple[Any, Any, Any] | None:
    """``(config, model, data set)`` of a run as training built them before its first
    step (in ``dtype``; ``None``: the run's own), ``None`` when the task or the model
    cannot be had (a landscape has no data to draw over)."""
    try:
        cfg = run_config(res.runs[res.runs["run_id"] == str(run_id)].iloc[0])
        task = make_task(cfg)
        if getattr(task, "kind", None) == "landscape":
            return None
        dtype = dtype or cfg.dtype
        ds = task.load(seed=cfg.data_seed, val_frac=cfg.val_frac, dtype=dtype)
        cfg = replace(cfg, model=cfg.model or "mlp", act=cfg.act or "sigmoid",
                      init=cfg.init or "torch", dtype=dtype)
        net = build_model(cfg, task, ds.n_features, ds.n_outputs, [int(cfg.seed)])
    except (NNBenchError, TypeError, ImportError, OSError):
        return None
    return cfg, net, ds


def _rebuild(res: Results, run_id: str) -> tuple[Any, Any] | None:
    """The trained model of a run and its data set (float64), ``None`` when the weights,
    the task or the model cannot be had (a landscape has no data to draw over)."""
    if not (res.path / WEIGHTS / f"{run_id}.npz").is_file():
        return None
    built = initial_model(res, run_id)
    if built is None:
        return None
    _, net, ds = built
    arrays = res.weights(run_id)
    if len(net.params) != len(arrays) or any(
            p.size != np.size(a) for p, a in zip(net.params, arrays, strict=True)):
        return None
    for p, a in zip(net.params, arrays, strict=True):
        p[...] = np.asarray(a, dtype=p.dtype).reshape(p.shape)
    return net, ds


def load_model(res: Results, run_id: str) -> Any | None:
    """The trained model of a run (float64, ``runs = 1``) rebuilt from its runs.csv row
    and ``weights/<run_id>.npz`` (arrays ``p0, p1, ...`` in ``params`` order); ``None``
    when the weights or the model are not available."""
    rebuilt = _rebuild(res, run_id)
    return None if rebuilt is None else rebuilt[0]


def model_panels(res: Results) -> list[tuple[Series, str, Any, Any]]:
    """One (series, run_id, model, dataset) per hue/facet value: its first seed's run."""
    out = []
    if not (res.path / WEIGHTS).is_dir():
        return out
    for s in series(res):
        rid = s.run_ids[0]
        rebuilt = _rebuild(res, rid)
        if rebuilt is not None:
            out.append((s, rid, *rebuilt))
    return out


def decision_panels(panels: list[Any]) -> list[Any]:
    """The panels with decision regions to draw: classification over 2-D inputs."""
    return [p for p in panels if getattr(p[3], "n_classes", None)
            and p[3].X_train.shape[1] == 2]


def fit_panels(panels: list[Any]) -> list[Any]:
    """The panels with a fitted curve to draw: regression of one output on one input."""
    return [p for p in panels if getattr(p[3], "n_classes", None) is None
            and p[3].X_train.shape[1] == 1 and np.asarray(p[3].y_train).ndim == 2
            and np.asarray(p[3].y_train).shape[1] == 1]


def _panel_title(res: Results, s: Series) -> str:
    ax_ = split_axes(res)
    if ax_.hue is None and ax_.facet is None:
        return describe(res, s.run_ids[0])
    t = facet_title(res, ax_.facet, s.facet) if ax_.facet else ""
    return ", ".join(filter(None, [s.label, t]))


def fig_decision(res: Results, panels: list | None = None) -> Figure | None:
    """Decision regions of the trained model over the 2-D data, one panel per
    configuration (its first seed), training points on top."""
    panels = model_panels(res) if panels is None else panels
    panels = decision_panels(panels)
    if not panels:
        return None
    if len(panels) > 12:  # many cells: the deepest (last facet value) only
        last = facet_values([p[0] for p in panels])[-1]
        panels = [p for p in panels if p[0].facet == last][:12]
    nrows = math.ceil(len(panels) / 5)
    ncols = math.ceil(len(panels) / nrows)
    fig, axes = new_figure(nrows, ncols, w=3.4, h=3.2)
    from matplotlib.colors import ListedColormap

    for ax in axes.ravel()[len(panels):]:
        ax.set_visible(False)
    for ax, (s, _rid, net, ds) in zip(axes.ravel(), panels, strict=False):
        X, y = np.asarray(ds.X_train, float), np.asarray(ds.y_train).astype(int)
        k = int(ds.n_classes)
        cls = ListedColormap(BASE[:max(k, 2)])
        lo, hi = X.min(0), X.max(0)
        pad = 0.1 * (hi - lo)
        n = 150
        gx, gy = np.meshgrid(np.linspace(lo[0] - pad[0], hi[0] + pad[0], n),
                             np.linspace(lo[1] - pad[1], hi[1] + pad[1], n))
        G = np.stack([gx.ravel(), gy.ravel()], 1)
        out = np.asarray(net.forward(G))[0]
        pred = out.argmax(1) if out.shape[1] > 1 else (out[:, 0] > 0).astype(int)
        ax.contourf(gx, gy, pred.reshape(n, n), levels=np.arange(k + 1) - 0.5, cmap=cls,
                    alpha=0.3)
        ax.scatter(X[:, 0], X[:, 1], c=y, cmap=cls, vmin=-0.5, vmax=max(k, 2) - 0.5,
                   s=float(np.clip(3000 / len(X), 9, 90)), edgecolors="black",
                   linewidths=0.3)
        acc = float((_predict(net, X) == y).mean())
        status = res.runs.loc[res.runs["run_id"] == _rid, "status"].astype(str) \
            if "status" in res.runs.columns else []
        div = " (diverged)" if len(status) and status.iloc[0] == "diverged" else ""
        ax.set_title(f"{_panel_title(res, s)}\ntraining accuracy {acc:.0%}{div}",
                     fontsize="small")
        ax.set_xticks([])
        ax.set_yticks([])
    suptitle(fig, f"{res.title}: decision regions{task_phrase(res)}")
    return fig


def _predict(net: Any, X: np.ndarray) -> np.ndarray:
    out = np.asarray(net.forward(X))[0]
    return out.argmax(1) if out.shape[1] > 1 else (out[:, 0] > 0).astype(int)


def fig_fit(res: Results, panels: list | None = None) -> Figure | None:
    """The fitted curve of each configuration (its first seed) over 1-D regression data."""
    panels = model_panels(res) if panels is None else panels
    panels = fit_panels(panels)
    if not panels:
        return None
    ds0 = panels[0][3]
    X = np.asarray(ds0.X_train, float)[:, 0]
    Y = np.asarray(ds0.y_train, float)[:, 0]
    fig, axes = new_figure(1, 1, w=7.5, h=4.0)
    ax = axes[0, 0]
    order = np.argsort(X)
    if len(X) > 400:
        ax.plot(X[order], Y[order], color="0.6", lw=4, alpha=0.6, label="data", zorder=1)
    else:
        ax.scatter(X, Y, color="0.5", s=10, label="data", zorder=1)
    grid = np.linspace(X.min(), X.max(), 800)[:, None]
    for s, _rid, net, _ds in panels:
        yhat = np.asarray(net.forward(grid))[0, :, 0]
        ax.plot(grid[:, 0], yhat, color=s.color, ls=s.linestyle, lw=1.5,
                label=_panel_title(res, s), zorder=2)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.grid(alpha=0.3)
    seed = " (first seed)" if res.col("seed") and res.runs[res.col("seed")].nunique() > 1 \
        else ""
    ax.set_title(f"{res.title}: fitted curve{task_phrase(res)}{seed}", fontsize="medium")
    add_legend(fig, axes, below=True)
    return fig
