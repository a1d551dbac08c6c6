"""Feature scaling (notes 004): the loss contours of linear regression on two features in
the raw and in the standardized parameterization, and gradient descent's path on each.

The path is the run's own training replayed: the model rebuilt as training built it
(:func:`nnbench.plots.models.initial_model`, in the run's dtype), then the run's optimizer
for its steps on the full batch. The replay must end at the run's saved weights (relative
difference below 1e-6), else no path is drawn."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from nnbench.core.models import closed_form
from nnbench.core.optimizers import optimizer
from nnbench.plots.data import series, varies
from nnbench.plots.models import initial_model
from nnbench.plots.style import new_figure, suptitle, task_phrase
from nnbench.schema import FULL_BATCH, optimizer_hyper
from nnbench.store import WEIGHTS, Results

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


def has_scaling(res: Results) -> bool:
    """Raw and standardized inputs of a linear regression on two features (three
    parameters), with weights to check a replayed path against."""
    runs = res.runs
    model = res.col("model")
    return (varies(res, "standardize") and model is not None
            and (runs[model] == "linear").all() and "n_params" in runs.columns
            and (pd.to_numeric(runs["n_params"]) == 3).all()
            and (res.path / WEIGHTS).is_dir())


def replay(res: Results, run_id: str) -> tuple[np.ndarray, Any, Any] | None:
    """``(path (steps + 1, 3) of (w1, w2, b), config, data set)`` of a full-batch run
    with a constant rate and no clipping, replayed from its initial weights; ``None``
    when the run is not such a run, has no weights, or the replay does not end where the
    run did."""
    row = res.runs[res.runs["run_id"] == str(run_id)]
    if row.empty or row["status"].iloc[0] != "done":
        return None
    built = initial_model(res, run_id, dtype=None)
    if built is None:
        return None
    cfg, net, ds = built
    if (cfg.schedule != "constant" or cfg.batch_size != FULL_BATCH or cfg.clip
            or cfg.warmup_steps):
        return None
    opt = optimizer(cfg.optim, lr=cfg.lr, **optimizer_hyper(cfg))
    state = opt.init(net.params)

    def point() -> np.ndarray:
        W, b = net.params[0], net.params[1]
        return np.array([W[0, 0, 0], W[0, 1, 0], b[0, 0, 0]], dtype=np.float64)

    path = [point()]
    for _ in range(int(row["steps_done"].iloc[0])):
        _, grads = net.loss_and_grads(ds.X_train, ds.y_train, loss=cfg.loss)
        opt.update(net.params, grads, state)
        path.append(point())
    weights = res.weights(run_id)
    saved = np.array([*np.ravel(weights[0]), *np.ravel(weights[1])], dtype=np.float64)
    if not np.allclose(path[-1], saved, rtol=1e-6, atol=1e-9):
        return None
    return np.array(path), cfg, ds


def _contours(ax: Any, ds: Any, loss: str, path: np.ndarray) -> tuple[float, float]:
    """The training loss over (w1, w2) with the bias at its least-squares value, around
    the path and the optimum; returns the optimum."""
    X = np.asarray(ds.X_train, np.float64)
    y = np.asarray(ds.y_train, np.float64)[:, 0]
    W, b = closed_form(X, y[:, None], 0.0, loss)
    w_opt = W[:, 0]
    pts = np.vstack([path[:, :2], w_opt[None]])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    mid, half = (lo + hi) / 2, 0.6 * max(float((hi - lo).max()), 1e-3)  # a square window
    g1 = np.linspace(mid[0] - half, mid[0] + half, 200)
    g2 = np.linspace(mid[1] - half, mid[1] + half, 200)
    A, B = np.meshgrid(g1, g2)
    r = X[:, 0, None, None] * A + X[:, 1, None, None] * B + float(b[0]) - y[:, None, None]
    C = (r ** 2).mean(axis=0) * (0.5 * len(y) if loss == "half_sse" else 1.0)
    cmin = float(C.min())
    levels = cmin + (float(C.max()) - cmin) * np.geomspace(1e-3, 1, 14)
    ax.contour(A, B, C, levels=levels, cmap="viridis", linewidths=0.8)
    return float(w_opt[0]), float(w_opt[1])


def fig_feature_scaling(res: Results) -> Figure | None:
    """One panel per input scaling (raw, standardized): the loss contours over the two
    weights and gradient descent's path from its start (circle) towards the least-squares
    solution (star), each at its tuned learning rate (first seed)."""
    if not has_scaling(res):
        return None
    panels = []
    for s in series(res):
        replayed = replay(res, s.run_ids[0])
        if replayed is not None:
            panels.append((s, *replayed))
    if not panels:
        return None
    panels.sort(key=lambda p: bool(p[2].standardize))  # raw first
    fig, axes = new_figure(1, len(panels), w=4.6, h=4.4)
    for ax, (s, path, cfg, ds) in zip(axes[0], panels, strict=True):
        w1, w2 = _contours(ax, ds, cfg.loss, path)
        ax.plot(path[:, 0], path[:, 1], color=s.color, lw=1.2, marker=".", ms=3)
        ax.plot(path[0, 0], path[0, 1], "o", color=s.color, ms=7)
        ax.plot(w1, w2, "*", color="black", ms=11)
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_xlabel("w1")
        ax.set_ylabel("w2")
        what = "standardized inputs" if cfg.standardize else "raw inputs"
        ax.set_title(f"{what}: {cfg.optim} lr {cfg.lr:g}, {len(path) - 1} steps",
                     fontsize="small")
        ax.grid(alpha=0.2)
    suptitle(fig, f"{res.title}: loss contours and gradient descent's path{task_phrase(res)} "
                  "(bias at its least-squares value; star: the closed form)")
    return fig
