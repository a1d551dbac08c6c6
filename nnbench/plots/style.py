"""How every figure looks: the fixed palette, line styles, labels, the figure and legend
helpers, and :func:`save`, which writes the same bytes for the same data.

matplotlib is imported inside the functions and only its object-oriented
:class:`~matplotlib.figure.Figure` is used (no ``pyplot``): the Agg canvas renders it,
no window or global figure state is involved, and ``nnbench --help`` stays fast.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nnbench.core.errors import NNBenchError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from nnbench.store import Results

FORMATS = ("png", "svg", "pdf")
DPI = 150
# Fixed colours keyed by name (colour-blind friendly Okabe-Ito first, then Tol's and tab10's
# darker hues). Every two names of the optimizers, and every two of the activations, are at
# least 15 apart in CIEDE2000 (tested): momentum's orange has no second orange beside it.
BASE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
         "#000000", "#8c564b", "#7f7f7f", "#bcbd22", "#17becf", "#9467bd", "#2ca02c",
         "#332288", "#6b3e00", "#882255", "#005f5f", "#999933"]
PALETTE: dict[str, str] = {
    # optimizers
    "sgd": BASE[0], "momentum": BASE[1], "nesterov": BASE[15], "adagrad": BASE[2],
    "rmsprop": BASE[14], "adam": BASE[4], "adamw": BASE[5], "amsgrad": BASE[18],
    "nadam": BASE[16], "radam": BASE[17], "adadelta": BASE[9], "adamax": BASE[6],
    "lookahead": BASE[7], "lookahead-sgd": BASE[8], "adabound": BASE[12], "swats": BASE[3],
    # activations
    "sigmoid": BASE[0], "tanh": BASE[1], "relu": BASE[2], "leaky_relu": BASE[3],
    "prelu": BASE[4], "elu": BASE[8], "softplus": BASE[5], "gelu": BASE[7],
    "rrelu": BASE[10], "selu": BASE[16], "swish": BASE[12], "silu": BASE[12],
    "identity": BASE[9], "linear": BASE[9], "step": BASE[14],
}
#: the names whose colours are drawn side by side (aliases share a colour)
OPTIMIZER_NAMES = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw",
                   "amsgrad", "nadam", "radam", "adadelta", "adamax", "lookahead",
                   "lookahead-sgd", "adabound", "swats")
ACTIVATION_NAMES = ("sigmoid", "tanh", "relu", "leaky_relu", "prelu", "elu", "softplus",
                    "gelu", "rrelu", "selu", "silu", "linear", "step")
STYLES = ["-", "--", ":", "-."]


def fmt_value(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        return f"{float(v):g}"
    if isinstance(v, (np.integer,)):
        return str(int(v))
    return str(v)


def colours(res: Results, column: str | None) -> dict[Any, str]:
    """Value -> colour for one column: names from :data:`PALETTE`, others from the unused
    slots in sorted order, numbers along viridis by rank."""
    if column is None:
        return {}
    values = sorted(res.runs[column].dropna().unique(), key=lambda v: (str(type(v)), v))
    if values and all(isinstance(v, (int, float, np.integer, np.floating)) for v in values):
        from matplotlib import colormaps

        cmap = colormaps["viridis"]
        n = max(len(values) - 1, 1)
        return {v: _hex(cmap(0.85 * i / n)) for i, v in enumerate(values)}
    out: dict[Any, str] = {}
    used = {PALETTE[str(v)] for v in values if str(v) in PALETTE}
    free = [c for c in BASE if c not in used] + BASE
    for v in values:
        out[v] = PALETTE.get(str(v)) or free.pop(0)
    return out


def _hex(rgba: Sequence[float]) -> str:
    return "#" + "".join(f"{round(255 * x):02x}" for x in rgba[:3])


def linestyles(res: Results, column: str | None) -> dict[Any, str]:
    if column is None:
        return {}
    values = sorted(res.runs[column].dropna().unique(), key=lambda v: (str(type(v)), v))
    return {v: STYLES[i % len(STYLES)] for i, v in enumerate(values)}


def new_figure(nrows: int, ncols: int, w: float = 5.2, h: float = 3.8, **kw) -> tuple[Figure, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w * ncols, h * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes


def all_positive(values: Iterable[np.ndarray]) -> bool:
    vs = [np.asarray(v, float) for v in values]
    vs = [v[np.isfinite(v)] for v in vs]
    return any(v.size for v in vs) and all((v > 0).all() for v in vs if v.size)


def add_legend(fig: Figure, axes: Any, handles_from: Axes | None = None,
            below: bool = False) -> None:
    """One legend per figure: inside (``loc="best"``) for up to 4 entries and one panel,
    else outside on the right of the figure (``below``: under it)."""
    src = handles_from if handles_from is not None else np.ravel(axes)[0]
    handles, labels = src.get_legend_handles_labels()
    if not handles:
        return
    seen: dict[str, Any] = {}
    for h, lab in zip(handles, labels, strict=True):
        seen.setdefault(lab, h)
    if below:
        fig.legend(seen.values(), seen.keys(), loc="outside lower center", fontsize="small",
                   frameon=False, ncols=min(len(seen), 4))
    elif len(seen) <= 4 and np.size(axes) == 1:
        src.legend(seen.values(), seen.keys(), loc="best", fontsize="small", framealpha=0.8)
    else:
        fig.legend(seen.values(), seen.keys(), loc="outside right center", fontsize="small",
                   frameon=False)


def cap_log_top(axes: Any, curves: list[np.ndarray], factor: float = 30.0) -> bool:
    """On log-y panels, cap the top of the y axis at ``factor`` times the largest initial
    value of the curves when a spike (a step that nearly diverged) rises above it, so that
    one spike does not squash every curve to a line. Returns whether a cap was set."""
    starts = [c[np.isfinite(c)][0] for c in curves if np.isfinite(c).any()]
    peaks = [np.nanmax(c) for c in curves if np.isfinite(c).any()]
    if not starts:
        return False
    top = factor * max(starts)
    if max(peaks) <= top:
        return False
    for ax in np.ravel(axes):
        if ax.get_yscale() == "log":
            ax.set_ylim(top=top)
    return True


def suptitle(fig: Figure, text: str) -> None:
    """The figure's title, wrapped to the figure's width."""
    import textwrap

    width = max(40, int(fig.get_figwidth() * 11.5))
    fig.suptitle("\n".join(textwrap.wrap(text, width)), fontsize="medium")


def y_label(metric: str) -> str:
    return {"train_loss": "training loss", "val_loss": "validation loss",
            "train_acc": "training accuracy", "val_acc": "validation accuracy",
            "grad_norm": "gradient norm", "dist_to_min": "distance to the minimum",
            "wall_s": "wall time (s)", "step": "step"}.get(metric, metric.replace("_", " "))


def facet_title(res: Results, facet: str | None, value: Any) -> str:
    if facet is None:
        return ""
    if facet == res.col("depth"):
        v = int(value)
        return f"{v} hidden layer" + ("s" if v != 1 else "")
    return f"{facet} = {fmt_value(value)}"


def facet_values(ss: Sequence[Any]) -> list[Any]:
    vals = []
    for s in ss:
        if s.facet not in vals:
            vals.append(s.facet)
    try:
        return sorted(vals)
    except TypeError:
        return vals


def task_phrase(res: Results) -> str:
    c = res.col("task")
    if c is None:
        return ""
    tasks = list(dict.fromkeys(res.runs[c].astype(str)))
    title = res.title.lower()
    if all(re.search(rf"(?<![a-z0-9]){re.escape(t.lower())}(?![a-z0-9])", title)
           for t in tasks):
        return ""  # the title names the task already ("sin: loss", not "sin: loss on sin")
    return " on " + ", ".join(tasks) if len(tasks) <= 3 else ""


def seeds_phrase(res: Results) -> str:
    c = res.col("seed")
    n = res.runs[c].nunique() if c else 1
    return f"mean of {n} seeds, band min-max" if n > 1 else "one seed"


def save(fig: Figure, path: Path, fmt: str = "png") -> Path:
    """Write ``fig`` to ``path`` (suffix set from ``fmt``) without timestamps or
    software versions in the metadata, so the same data give the same bytes."""
    import matplotlib

    if fmt not in FORMATS:
        raise NNBenchError(f"figure format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    path = Path(path).with_suffix("." + fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"png": {"Software": None},
            "svg": {"Date": None, "Creator": None},
            "pdf": {"Creator": None, "Producer": None, "CreationDate": None}}[fmt]
    tmp = path.with_name(path.name + ".tmp")
    with matplotlib.rc_context({"svg.hashsalt": "nnbench", "svg.fonttype": "path"}):
        fig.savefig(tmp, format=fmt, dpi=DPI, metadata=meta)
    tmp.replace(path)
    return path
