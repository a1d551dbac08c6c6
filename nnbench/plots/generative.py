"""The generative Gaussian classifier beside the discriminative models of the same results
(notes 004, ch. 4-5): every model's decision boundary over the same 2-D data in one
panel, with its training and test accuracy."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from nnbench.plots.models import _panel_title, _predict, decision_panels, model_panels
from nnbench.plots.style import BASE, new_figure, suptitle, task_phrase
from nnbench.store import Results

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


def has_gaussian(res: Results) -> bool:
    """Whether the results hold a ``gaussian`` run beside another model on 2-D data."""
    col = res.col("model")
    if col is None or "gaussian" not in set(res.runs[col].astype(str)):
        return False
    return res.runs[col].nunique() > 1 and bool(decision_panels(model_panels(res)))


def fig_boundaries(res: Results, panels: list | None = None) -> Figure | None:
    """Each model's boundary (first seed), the level set where its logit is 0, over the
    training points, labelled with its training and test accuracy."""
    panels = decision_panels(model_panels(res) if panels is None else panels)
    models = {str(_model(res, p[1])) for p in panels}
    if "gaussian" not in models or len(models) < 2:
        return None
    fig, axes = new_figure(1, 1, w=6.2, h=4.8)
    ax = axes[0, 0]
    ds = panels[0][3]
    X, y = np.asarray(ds.X_train, float), np.asarray(ds.y_train).astype(int)
    from matplotlib.colors import ListedColormap
    from matplotlib.lines import Line2D

    ax.scatter(X[:, 0], X[:, 1], c=y, cmap=ListedColormap(["0.55", "0.85"]), s=14,
               edgecolors="black", linewidths=0.3, zorder=1)
    lo, hi = X.min(0), X.max(0)
    pad = 0.1 * (hi - lo)
    n = 300
    gx, gy = np.meshgrid(np.linspace(lo[0] - pad[0], hi[0] + pad[0], n),
                         np.linspace(lo[1] - pad[1], hi[1] + pad[1], n))
    G = np.stack([gx.ravel(), gy.ravel()], 1)
    handles = []
    for i, (s, _rid, net, d) in enumerate(panels):
        out = np.asarray(net.forward(G))[0]
        logit = out[:, 1] - out[:, 0] if out.shape[1] > 1 else out[:, 0]
        colour = BASE[i % len(BASE)]
        ax.contour(gx, gy, logit.reshape(n, n), levels=[0.0], colors=[colour],
                   linewidths=2, linestyles=["-", "--", ":", "-."][i % 4], zorder=2)
        acc = [float((_predict(net, np.asarray(A, float)) == np.asarray(b).astype(int)).mean())
               for A, b in ((d.X_train, d.y_train), (d.X_test, d.y_test)) if A is not None]
        accs = f"train {acc[0]:.1%}" + (f", test {acc[1]:.1%}" if len(acc) > 1 else "")
        handles.append(Line2D([], [], color=colour, lw=2, ls=["-", "--", ":", "-."][i % 4],
                              label=f"{_panel_title(res, s)}: {accs}"))
    ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0), fontsize="small",
              frameon=False)
    ax.set_xticks([])
    ax.set_yticks([])
    suptitle(fig, f"{res.title}: decision boundaries{task_phrase(res)}")
    return fig


def _model(res: Results, run_id: str) -> Any:
    row = res.runs[res.runs["run_id"] == run_id]
    col = res.col("model")
    return row[col].iloc[0] if col and len(row) else None
