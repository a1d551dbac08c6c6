"""Figures drawn from a results directory alone (``runs.csv``, ``metrics.csv``,
``layers.csv``, ``config.toml``, ``weights/``).

Each figure is one function ``fig_*(res) -> Figure | None`` that returns ``None`` when
the directory holds nothing it can draw; :func:`draw_all` picks those that apply and
writes them under ``<dir>/figures/``.

Conventions shared by every figure:

- A *series* is one configuration with its seeds: the curve drawn is the mean over
  seeds, :math:`\\bar y_t = \\frac{1}{S}\\sum_s y_{s,t}`, with a band from
  :math:`\\min_s y_{s,t}` to :math:`\\max_s y_{s,t}` (NaN, i.e. a diverged run, is left
  out of all three).
- The *hue* is the first config column among optimizer, activation, init, ... that
  varies; its colour comes from a fixed palette keyed by name, so ``sgd`` is the same
  colour in every figure (and in every experiment). A second varying name column sets
  the line style; ``depth`` (else ``task``) makes one panel per value.
- When the learning rate varies as well, a curve figure shows every series at its tuned
  learning rate: the one with the lowest mean final loss over seeds.

matplotlib is imported inside the functions and only its object-oriented
:class:`~matplotlib.figure.Figure` is used (no ``pyplot``): the Agg canvas renders it,
no window or global figure state is involved, and ``nnbench --help`` stays fast.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nnbench.core.errors import NNBenchError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

FORMATS = ("png", "svg", "pdf")
DPI = 150

# Fixed colours keyed by name (colour-blind friendly Okabe-Ito first, then tab10).
_BASE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
         "#000000", "#8c564b", "#7f7f7f", "#bcbd22", "#17becf", "#9467bd", "#2ca02c"]
PALETTE: dict[str, str] = {
    # optimizers
    "sgd": _BASE[0], "momentum": _BASE[1], "nesterov": _BASE[8], "adagrad": _BASE[2],
    "rmsprop": _BASE[3], "adam": _BASE[4], "adamw": _BASE[5], "amsgrad": _BASE[9],
    "nadam": _BASE[10], "radam": _BASE[11], "adadelta": _BASE[12], "adamax": _BASE[13],
    "lookahead": _BASE[7],
    # activations
    "sigmoid": _BASE[0], "tanh": _BASE[1], "relu": _BASE[2], "leaky_relu": _BASE[3],
    "prelu": _BASE[4], "elu": _BASE[8], "softplus": _BASE[5], "gelu": _BASE[7],
    "rrelu": _BASE[10], "selu": _BASE[11], "swish": _BASE[12], "silu": _BASE[12],
    "identity": _BASE[9], "linear": _BASE[9], "step": _BASE[13],
}
_STYLES = ["-", "--", ":", "-."]

# Config columns, first match wins; the spellings a results directory may use.
_ALIASES = {
    "optimizer": ("optimizer", "optim"),
    "activation": ("activation", "act"),
    "init": ("init",),
    "depth": ("depth",),
    "width": ("width",),
    "lr": ("lr",),
    "task": ("task",),
    "seed": ("seed",),
    "model": ("model",),
}
_HUE_ORDER = ("optimizer", "activation", "init", "model", "loss", "schedule", "init_std",
              "width", "batch_size")
_FACET_ORDER = ("depth", "task")
_NOT_CONFIG = {"run_id", "seed", "status", "steps_done", "wall_s", "group", "group_id",
               "diverged_step", "error", "stopped_early", "name", "message", "start_time",
               "end_time", "stopped_step", "closed_form_loss", "converged", "updates",
               "epochs_done"}


# --------------------------------------------------------------------------- loading
@dataclass
class Results:
    """The tables of one results directory (missing tables are empty frames)."""

    path: Path
    runs: pd.DataFrame
    metrics: pd.DataFrame
    layers: pd.DataFrame
    config: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def col(self, name: str) -> str | None:
        """The runs.csv column holding config field ``name`` (``optimizer``/``optim``)."""
        for c in _ALIASES.get(name, (name,)):
            if c in self.runs.columns:
                return c
        return None

    @property
    def title(self) -> str:
        """The experiment's name: config ``name`` or the directory's name."""
        name = self.config.get("name") if isinstance(self.config, dict) else None
        return str(name or self.path.name)


def load(path: str | Path) -> Results:
    """Read a results directory; raise NNBenchError when it has no ``runs.csv``."""
    import pandas as pd

    path = Path(path)
    if not (path / "runs.csv").is_file():
        raise NNBenchError(f"{path} is not a results directory: no runs.csv in it "
                           "(give the directory an `nnbench run`/`compare` wrote)")

    try:  # the store's reader drops a line left unfinished by a crash
        from nnbench.store import read_csv
    except ImportError:  # pragma: no cover
        read_csv = pd.read_csv

    def read(name: str) -> pd.DataFrame:
        f = path / name
        if not f.is_file() or f.stat().st_size == 0:
            return pd.DataFrame()
        return read_csv(f)

    config: dict[str, Any] = {}
    if (path / "config.toml").is_file():
        from nnbench.config import parse_toml

        try:
            config = parse_toml((path / "config.toml").read_text())
        except NNBenchError:  # figures from the CSVs alone
            config = {}
    meta: dict[str, Any] = {}
    if (path / "meta.json").is_file():
        try:
            meta = json.loads((path / "meta.json").read_text())
        except json.JSONDecodeError:
            meta = {}
    runs = read("runs.csv")
    runs["run_id"] = runs["run_id"].astype(str)
    metrics, layers = read("metrics.csv"), read("layers.csv")
    for df in (metrics, layers):
        if "run_id" in df.columns:
            df["run_id"] = df["run_id"].astype(str)
    return Results(path, runs, metrics, layers, config, meta)


# --------------------------------------------------------------------------- axes of variation
def _varying(res: Results, name: str) -> bool:
    c = res.col(name)
    return c is not None and res.runs[c].nunique(dropna=True) > 1


def _config_columns(res: Results) -> list[str]:
    """runs.csv columns that are configuration (not results), in file order."""
    out = []
    for c in res.runs.columns:
        if c in _NOT_CONFIG or c.startswith(("final_", "best_")):
            continue
        if c.endswith(("_acc", "_loss")) or c in ("train_loss", "val_loss"):
            continue
        out.append(c)
    return out


@dataclass
class Axes_:
    """How a figure splits the runs: colour, line style, panels, label-only columns."""

    hue: str | None
    style: str | None
    facet: str | None
    other: list[str]


def split_axes(res: Results, exclude: Iterable[str] = ()) -> Axes_:
    """Choose the hue, style and facet columns among the config columns that vary.

    ``lr`` and ``seed`` never become axes: seeds are averaged and learning rates tuned.
    """
    exclude = set(exclude)
    cols = [c for c in _config_columns(res) if c not in exclude]
    varying = [c for c in cols if res.runs[c].nunique(dropna=True) > 1]
    lr = res.col("lr")
    varying = [c for c in varying if c != lr]
    model = res.col("model")
    if model in varying:  # what a model decides (the perceptron's sgd, its loss) is no axis
        per = res.runs.groupby(model, dropna=False)
        varying = [c for c in varying
                   if c == model or (per[c].nunique(dropna=False) > 1).any()]
    canon = {res.col(k): k for k in _ALIASES if res.col(k)}
    order = {c: i for i, c in enumerate(varying)}

    def rank(c: str, prefs: Sequence[str]) -> int:
        k = canon.get(c, c)
        return prefs.index(k) if k in prefs else len(prefs) + order[c]

    facet = next((c for c in varying if canon.get(c, c) in _FACET_ORDER), None)
    if facet is not None:
        cands = [c for c in varying if canon.get(c, c) in _FACET_ORDER]
        facet = min(cands, key=lambda c: rank(c, _FACET_ORDER))
    rest = sorted((c for c in varying if c != facet), key=lambda c: rank(c, _HUE_ORDER))
    hue = rest[0] if rest else None
    style = rest[1] if len(rest) > 1 and res.runs[rest[1]].nunique() <= len(_STYLES) else None
    other = [c for c in rest[2 if style else 1:]]
    return Axes_(hue, style, facet, other)


def _fmt(v: Any) -> str:
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
    free = [c for c in _BASE if c not in used] + _BASE
    for v in values:
        out[v] = PALETTE.get(str(v)) or free.pop(0)
    return out


def _hex(rgba: Sequence[float]) -> str:
    return "#" + "".join(f"{round(255 * x):02x}" for x in rgba[:3])


def linestyles(res: Results, column: str | None) -> dict[Any, str]:
    if column is None:
        return {}
    values = sorted(res.runs[column].dropna().unique(), key=lambda v: (str(type(v)), v))
    return {v: _STYLES[i % len(_STYLES)] for i, v in enumerate(values)}


# --------------------------------------------------------------------------- statistics
def final_loss(res: Results) -> pd.Series:
    """Final loss per run_id: validation loss when recorded, else training loss.

    From runs.csv (``final_val_loss``/``final_train_loss``) or the last logged step of
    metrics.csv. Diverged runs give NaN (an infinite loss counts as diverged).
    """
    import pandas as pd

    runs = res.runs.set_index("run_id")
    for c in ("final_val_loss", "final_train_loss"):
        if c in runs.columns and runs[c].notna().any():
            s = runs[c].astype(float)
            break
    else:
        m = res.metrics
        if m.empty:
            return pd.Series(np.nan, index=runs.index)
        col = "val_loss" if "val_loss" in m.columns and m["val_loss"].notna().any() \
            else "train_loss"
        last = m.sort_values("step").groupby("run_id")[col].last()
        s = last.reindex(runs.index).astype(float)
    if "status" in runs.columns:
        s = s.where(runs["status"].astype(str) != "diverged")
    return s.where(np.isfinite(s))


def final_loss_name(res: Results) -> str:
    """Which loss :func:`final_loss` reports, for axis labels."""
    if "x0" in res.metrics.columns:
        return "final value f(x0, x1)"
    r = res.runs
    if "final_val_loss" in r.columns and r["final_val_loss"].notna().any():
        return "final validation loss"
    if "final_train_loss" in r.columns and r["final_train_loss"].notna().any():
        return "final training loss"
    m = res.metrics
    if "val_loss" in m.columns and m["val_loss"].notna().any():
        return "final validation loss"
    return "final training loss"


def lr_swept(res: Results) -> bool:
    """Whether some configuration ran at more than one learning rate (a sweep), as
    opposed to optimizers that each ran at their own default."""
    lr = res.col("lr")
    if lr is None or res.runs[lr].nunique() < 2:
        return False
    keys = [c for c in _config_columns(res) if c != lr]
    if not keys:
        return True
    return bool((res.runs.groupby(keys, dropna=False)[lr].nunique() > 1).any())


def tuned_runs(res: Results) -> pd.DataFrame:
    """runs.csv restricted to each configuration's best learning rate.

    A configuration is every config column except ``lr`` and ``seed``; its best learning
    rate is the one with the lowest mean final loss over seeds (diverged seeds count as
    worse than any finite loss).
    """
    runs = res.runs.copy()
    lr = res.col("lr")
    if lr is None or runs[lr].nunique() <= 1:
        return runs
    runs["_final"] = final_loss(res).reindex(runs["run_id"]).to_numpy()
    keys = [c for c in _config_columns(res) if c not in (lr,) and c != res.col("seed")]
    keep = []
    for _, g in runs.groupby(keys, dropna=False, sort=False) if keys else [(None, runs)]:
        score = g.groupby(lr)["_final"].agg(
            lambda v: np.inf if v.isna().any() or len(v) == 0 else float(v.mean()))
        if np.isinf(score).all():  # every lr diverged somewhere: the fewest failures
            score = g.groupby(lr)["_final"].agg(lambda v: float(v.isna().mean()))
        best = score.idxmin()
        keep.append(g[g[lr] == best])
    import pandas as pd

    return pd.concat(keep).drop(columns="_final")


@dataclass
class Series:
    """One configuration across its seeds."""

    key: tuple
    label: str
    color: str
    linestyle: str
    facet: Any
    run_ids: list[str]


def series(res: Results, runs: pd.DataFrame | None = None,
           ax_: Axes_ | None = None, show_lr: bool | None = None) -> list[Series]:
    """Group runs by hue/style/facet/other (seeds together), with label and style.

    The label names the hue and style values, the tuned learning rate when lr varies
    in the experiment, and ``name=value`` for any other varying column.
    """
    runs = tuned_runs(res) if runs is None else runs
    ax_ = ax_ or split_axes(res)
    cols = [c for c in (ax_.hue, ax_.style, ax_.facet, *ax_.other) if c]
    cmap, smap = colours(res, ax_.hue), linestyles(res, ax_.style)
    lr = res.col("lr")
    if show_lr is None:
        show_lr = lr is not None and res.runs[lr].nunique() > 1
    if not cols and len(runs):  # one configuration: say what it is
        return [Series(key=(), label=describe(res, str(runs["run_id"].iloc[0])),
                       color=_BASE[0], linestyle="-", facet=None,
                       run_ids=list(runs["run_id"].astype(str)))]
    out = []
    groups = runs.groupby(cols, dropna=False, sort=False) if cols else [((), runs)]
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        vals = dict(zip(cols, key, strict=True))
        parts = [_fmt(vals[c]) for c in (ax_.hue, ax_.style) if c]
        parts += [f"{c}={_fmt(vals[c])}" for c in ax_.other]
        if show_lr:
            lrs = sorted(g[lr].unique())
            parts.append("lr " + "/".join(_fmt(v) for v in lrs))
        label = ", ".join(parts) if parts else (str(runs[res.col("task")].iloc[0])
                                                if res.col("task") else "run")
        out.append(Series(
            key=key, label=label,
            color=cmap.get(vals.get(ax_.hue), _BASE[0]) if ax_.hue else _BASE[0],
            linestyle=smap.get(vals.get(ax_.style), "-") if ax_.style else "-",
            facet=vals.get(ax_.facet) if ax_.facet else None,
            run_ids=list(g["run_id"].astype(str)),
        ))
    return out


def seed_stats(metrics: pd.DataFrame, run_ids: Sequence[str], y: str,
               x: str = "step") -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean, min and max of column ``y`` over the runs at each step (NaN/inf ignored).

    Returns ``(x, mean, lo, hi)``; with ``x="wall_s"`` the abscissa is the mean wall time
    of the runs at that step.
    """
    m = metrics[metrics["run_id"].isin(run_ids)]
    if m.empty or y not in m.columns:
        e = np.empty(0)
        return e, e, e, e
    table = m.pivot_table(index="step", columns="run_id", values=y, aggfunc="last",
                          dropna=False).sort_index()
    v = np.array(table.to_numpy(dtype=float))  # a writable copy
    v[~np.isfinite(v)] = np.nan
    ok = ~np.all(np.isnan(v), axis=1)
    v = v[ok]
    with np.errstate(all="ignore"):
        mean, lo, hi = np.nanmean(v, 1), np.nanmin(v, 1), np.nanmax(v, 1)
    if x == "step":
        xs = table.index.to_numpy(dtype=float)[ok]
    else:
        xt = m.pivot_table(index="step", columns="run_id", values=x, aggfunc="last")
        xs = xt.reindex(table.index).to_numpy(dtype=float).mean(axis=1)[ok]
    return xs, mean, lo, hi


# --------------------------------------------------------------------------- drawing helpers
def _figure(nrows: int, ncols: int, w: float = 5.2, h: float = 3.8, **kw) -> tuple[Figure, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w * ncols, h * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes


def _positive(values: Iterable[np.ndarray]) -> bool:
    vs = [np.asarray(v, float) for v in values]
    vs = [v[np.isfinite(v)] for v in vs]
    return any(v.size for v in vs) and all((v > 0).all() for v in vs if v.size)


def _legend(fig: Figure, axes: Any, handles_from: Axes | None = None,
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


def _cap_log_top(axes: Any, curves: list[np.ndarray], factor: float = 30.0) -> bool:
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


def _suptitle(fig: Figure, text: str) -> None:
    """The figure's title, wrapped to the figure's width."""
    import textwrap

    width = max(40, int(fig.get_figwidth() * 11.5))
    fig.suptitle("\n".join(textwrap.wrap(text, width)), fontsize="medium")


def _y_label(metric: str) -> str:
    return {"train_loss": "training loss", "val_loss": "validation loss",
            "train_acc": "training accuracy", "val_acc": "validation accuracy",
            "grad_norm": "gradient norm", "dist_to_min": "distance to the minimum",
            "wall_s": "wall time (s)", "step": "step"}.get(metric, metric.replace("_", " "))


def _facet_title(res: Results, facet: str | None, value: Any) -> str:
    if facet is None:
        return ""
    if facet == res.col("depth"):
        v = int(value)
        return f"{v} hidden layer" + ("s" if v != 1 else "")
    return f"{facet} = {_fmt(value)}"


def _facets(ss: list[Series]) -> list[Any]:
    vals = []
    for s in ss:
        if s.facet not in vals:
            vals.append(s.facet)
    try:
        return sorted(vals)
    except TypeError:
        return vals


def _task_phrase(res: Results) -> str:
    c = res.col("task")
    if c is None:
        return ""
    tasks = list(dict.fromkeys(res.runs[c].astype(str)))
    return " on " + ", ".join(tasks) if len(tasks) <= 3 else ""


def _seeds_phrase(res: Results) -> str:
    c = res.col("seed")
    n = res.runs[c].nunique() if c else 1
    return f"mean of {n} seeds, band min-max" if n > 1 else "one seed"


# --------------------------------------------------------------------------- figures
def fig_curves(res: Results, metric: str = "train_loss",
               xs: Sequence[str] = ("step", "wall_s")) -> Figure | None:
    """``metric`` against step and against wall time: mean over seeds, min-max band,
    one colour per hue value, one row of panels per facet value; log y when positive."""
    m = res.metrics
    if m.empty or metric not in m.columns or not m[metric].notna().any():
        return None
    xs = [x for x in xs if x in m.columns]
    if not xs:
        return None
    ax_ = split_axes(res)
    ss = series(res, ax_=ax_)
    facets = _facets(ss)
    fig, axes = _figure(len(facets), len(xs), sharey="row")
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
            ax.set_xlabel(_y_label(x))
            if j == 0:
                landscape = metric == "train_loss" and "x0" in m.columns
                ax.set_ylabel("value f(x0, x1)" if landscape else _y_label(metric))
            t = _facet_title(res, ax_.facet, fv)
            if t:
                ax.set_title(t, fontsize="medium")
            ax.grid(alpha=0.3)
    capped = False
    if _positive(ys_all) and "acc" not in metric:
        for ax in axes.ravel():
            ax.set_yscale("log")
        capped = _cap_log_top(axes, ys_all[::2])
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
        else _y_label(metric)
    _suptitle(fig, f"{res.title}: {what}{_task_phrase(res)} "
                 f"({tuned}{_seeds_phrase(res)}{clip})")
    _legend(fig, axes)
    return fig


def fig_closed_form(res: Results) -> Figure | None:
    """Linear regression: the training loss of gradient descent against step (mean over
    seeds per configuration) approaching the closed-form loss, a horizontal line; on the
    right the relative gap ``(loss - closed form) / closed form`` on a log scale (left out
    where rounding puts the loss at or below the closed form)."""
    m, runs = res.metrics, res.runs
    if "closed_form_loss" not in runs.columns or not runs["closed_form_loss"].notna().any():
        return None
    fig, axes = _figure(1, 2, w=5.4)
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
    _suptitle(fig, f"{res.title}: gradient descent against the closed form"
                   f"{_task_phrase(res)} ({_seeds_phrase(res)})")
    _legend(fig, axes, handles_from=ax)
    return fig


def fig_sparsity(res: Results) -> Figure | None:
    """Accuracy against sparsity from ``prune.csv`` (written by ``nnbench prune``)."""
    f = res.path / "prune.csv"
    if not f.is_file() or f.stat().st_size == 0:
        return None
    from nnbench.prune import fig_sparsity as draw
    from nnbench.store import read_csv

    df = read_csv(f)
    return None if df.empty else draw(df, res.title)


def fig_accuracy(res: Results) -> Figure | None:
    """Training and validation accuracy against step (mean over seeds, band min-max)."""
    m = res.metrics
    cols = [c for c in ("train_acc", "val_acc") if c in m.columns and m[c].notna().any()]
    if not cols:
        return None
    ax_ = split_axes(res)
    ss = series(res, ax_=ax_)
    facets = _facets(ss)
    fig, axes = _figure(len(facets), len(cols), sharey=True)
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
            ax.set_ylabel(_y_label(c))
            t = _facet_title(res, ax_.facet, fv)
            ax.set_title(", ".join(filter(None, [t, _y_label(c)])), fontsize="medium")
            ax.grid(alpha=0.3)
    _suptitle(fig, f"{res.title}: accuracy{_task_phrase(res)} ({_seeds_phrase(res)})")
    _legend(fig, axes)
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
    facets = _facets(ss)
    fig, axes = _figure(1, len(facets), w=5.4, h=4.0, sharey=True)
    finite = runs["_final"].to_numpy(float)
    logy = _positive([finite])
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
            full = st[st["count"] == st["size"]]
            if not full.empty:
                b = full["mean"].idxmin()
                ax.plot([b], [full.loc[b, "mean"]], "*", color=s.color, ms=13,
                        mec="black", mew=0.6, zorder=5)
        ax.set_xscale("log")
        if logy:
            ax.set_yscale("log")
        ax.set_xlabel("learning rate")
        if j == 0:
            ax.set_ylabel(final_loss_name(res))
        t = _facet_title(res, ax_.facet, fv)
        if t:
            ax.set_title(t, fontsize="medium")
        ax.grid(alpha=0.3, which="both")
    _suptitle(fig, f"{res.title}: learning-rate sensitivity{_task_phrase(res)} "
                 f"({_seeds_phrase(res).replace('band', 'bars')}; x = a seed diverged, "
                 "* = best)")
    _legend(fig, axes)
    return fig


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
    if not (_varying(res, "activation") and _varying(res, "depth")):
        return None
    act, depth = res.col("activation"), res.col("depth")
    other = [c for c in (res.col("optimizer"), res.col("init")) if c and _varying(res, c)]
    ax_ = Axes_(act, None, depth, other)
    ss = series(res, ax_=ax_)
    facets = _facets(ss)
    metric = "train_loss"
    ncols = 2 if len(facets) == 4 else min(len(facets), 3)
    nrows = math.ceil(len(facets) / ncols)
    fig, axes = _figure(nrows, ncols, w=3.9, h=3.3, sharey=True)
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
        ax.set_title(_facet_title(res, depth, fv), fontsize="medium")
        if j >= len(facets) - ncols:
            ax.set_xlabel("step")
        if j % ncols == 0:
            ax.set_ylabel(_y_label(metric))
        ax.grid(alpha=0.3)
    capped = False
    if _positive(ys):
        for ax in axes.ravel():
            ax.set_yscale("log")
        capped = _cap_log_top(axes, ys)
    clip = "; spikes clipped" if capped else ""
    _suptitle(fig, f"{res.title}: activations across depths{_task_phrase(res)} "
                 f"({_seeds_phrase(res)}{clip})")
    _legend(fig, axes)
    return fig


def fig_activation_heatmap(res: Results) -> Figure | None:
    """Heatmap of the mean final loss, activation (rows) x depth (columns), annotated."""
    if not (_varying(res, "activation") and _varying(res, "depth")):
        return None
    table = activation_depth_table(res)
    v = table.to_numpy(float)
    fig, axes = _figure(1, 1, w=1.1 * v.shape[1] + 3.2, h=0.45 * v.shape[0] + 1.6)
    ax = axes[0, 0]
    from matplotlib.colors import LogNorm, Normalize

    finite = v[np.isfinite(v)]
    norm = LogNorm(finite.min(), finite.max()) if finite.size and (finite > 0).all() \
        and finite.min() < finite.max() else Normalize()
    im = ax.imshow(np.ma.masked_invalid(v), cmap="viridis_r", norm=norm, aspect="auto")
    ax.set_xticks(range(v.shape[1]), [_fmt(c) for c in table.columns])
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
    fig.colorbar(im, ax=ax, label=final_loss_name(res) + " (mean over seeds that finished)")
    ax.set_title(f"{res.title}: {final_loss_name(res)}{_task_phrase(res)}",
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
    if L.empty or "grad_norm" not in L.columns or not L["grad_norm"].notna().any():
        return None
    if L["layer"].nunique() < 3:  # one hidden layer: nothing to compare across depth
        return None
    ax_ = split_axes(res)
    ss = series(res, ax_=ax_)
    facets = _facets(ss)
    fracs = _layer_frac_col(L)
    ncols = 2 + (1 if fracs else 0)
    fig, axes = _figure(len(facets), ncols, w=4.3, h=3.4)
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
        t = _facet_title(res, ax_.facet, fv)
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
    _suptitle(fig, f"{res.title}: gradient norm per layer{_task_phrase(res)} "
                 f"({'mean of seeds' if len(ss[0].run_ids) > 1 else 'one seed'})")
    _legend(fig, axes)
    return fig


def task_kw(res: Results, row: pd.Series | None = None) -> dict[str, Any]:
    """The task's own parameters: a run's ``task_kw`` column (JSON) or config.toml's."""
    if row is not None and "task_kw" in row.index and isinstance(row["task_kw"], str) \
            and row["task_kw"].strip():
        try:
            kw = json.loads(row["task_kw"])
            if isinstance(kw, dict):
                return kw
        except json.JSONDecodeError:
            pass
    kw = res.config.get("task_kw") if isinstance(res.config, dict) else None
    return dict(kw) if isinstance(kw, dict) else {}


def _landscape(res: Results, task_name: str) -> Any | None:
    try:
        from nnbench.tasks import get_task
    except ImportError:
        return None
    tcol = res.col("task")
    rows = res.runs[res.runs[tcol].astype(str) == task_name] if tcol else res.runs
    row = rows.iloc[0] if len(rows) else None
    try:
        task = get_task(task_name, **task_kw(res, row))
    except (NNBenchError, TypeError):
        return None
    return task if getattr(task, "kind", None) == "landscape" else None


def fig_landscape(res: Results) -> Figure | None:
    """Contour of each landscape with every optimizer's trajectory (x0, x1 per step),
    its start (circle) and end (square), the minima (stars); and the distance to the
    nearest minimum against step (log y)."""
    m = res.metrics
    if m.empty or not {"x0", "x1"} <= set(m.columns) or not m["x0"].notna().any():
        return None
    tcol = res.col("task")
    tasks = list(dict.fromkeys(res.runs[tcol].astype(str))) if tcol else []
    ax_ = split_axes(res, exclude=[tcol] if tcol else [])
    ss = series(res, ax_=Axes_(ax_.hue, ax_.style, tcol, ax_.other))
    has_d = "dist_to_min" in m.columns and m["dist_to_min"].notna().any()
    fig, axes = _figure(len(tasks) or 1, 2 if has_d else 1, w=5.0, h=4.4)
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
            if _positive(ys):
                ax.set_yscale("log")
            ax.set_xlabel("step")
            ax.set_ylabel(_y_label("dist_to_min"))
            ax.set_title(f"{tname or ''} distance to the nearest minimum".strip(),
                         fontsize="medium")
            ax.grid(alpha=0.3, which="both")
    _suptitle(fig, f"{res.title}: optimizer trajectories")
    _legend(fig, axes)
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


_LINEAR_MODELS = ("linear", "logistic", "softmax", "perceptron")


def load_model(res: Results, run_id: str) -> Any | None:
    """Rebuild the trained :class:`nnbench.MLP` of a run from its config row and
    ``weights/<run_id>.npz`` (arrays ``p0, p1, ...`` in ``params`` order); ``None`` when
    the weights or the model kind are not available."""
    f = res.path / "weights" / f"{run_id}.npz"
    if not f.is_file():
        return None
    row = res.runs[res.runs["run_id"] == str(run_id)].iloc[0]
    mcol = res.col("model")
    model = str(row[mcol]) if mcol else "mlp"
    if model not in ("mlp", "nan", *_LINEAR_MODELS):
        return None
    with np.load(f, allow_pickle=False) as z:
        arrays = [z[f"p{i}"] for i in range(len(z.files)) if f"p{i}" in z.files]
    depth = int(row[res.col("depth")]) if res.col("depth") else (len(arrays) // 2 - 1)
    if model in _LINEAR_MODELS:  # networks without hidden layers
        depth = 0
    n_layers = depth + 1
    Ws = [arrays[2 * k] for k in range(n_layers)]
    sizes = [int(Ws[0].shape[-2])] + [int(W.shape[-1]) for W in Ws]
    from nnbench.core.mlp import MLP

    kw: dict[str, Any] = {}
    if res.col("activation") and depth > 0:  # without hidden layers it is unused
        kw["activation"] = str(row[res.col("activation")])
    if kw.get("activation") == "maxout":  # hidden weights hold k pieces per unit
        k = int(row["pieces"]) if "pieces" in row.index and pd_notna(row["pieces"]) else 2
        kw["pieces"] = k
        sizes = [sizes[0]] + [w // k for w in sizes[1:-1]] + [sizes[-1]]
    if "binary" in row.index and str(row["binary"]).lower() == "true":
        kw["binary"] = True
    try:
        net = MLP(sizes, seed=0, runs=1, dtype="float64", **kw)
    except NNBenchError:
        return None
    if len(net.params) != len(arrays):
        return None
    for p, a in zip(net.params, arrays, strict=True):
        p[...] = np.asarray(a, dtype=p.dtype).reshape(p.shape)
    return net


def _dataset(res: Results, row: pd.Series) -> Any | None:
    """The run's data set as the engine loaded it: its task with ``task_kw``, the data
    seed (``data_seed``, else the run's seed) and ``val_frac``, in float64."""
    try:
        from nnbench.tasks import get_task
    except ImportError:
        return None
    tcol = res.col("task")
    if tcol is None:
        return None
    seed = 0
    for c in ("data_seed", "seed"):
        if c in row.index and pd_notna(row[c]):
            seed = int(row[c])
            break
    val_frac = float(row["val_frac"]) if "val_frac" in row.index and pd_notna(
        row["val_frac"]) else None
    try:
        task = get_task(str(row[tcol]), **task_kw(res, row))
        if getattr(task, "kind", None) == "landscape":
            return None
        return task.load(seed=seed, val_frac=val_frac, dtype="float64")
    except (NNBenchError, TypeError, ImportError, OSError):
        return None


def pd_notna(v: Any) -> bool:
    try:
        return v is not None and not (isinstance(v, float) and math.isnan(v)) and v == v
    except (TypeError, ValueError):
        return True


def _model_panels(res: Results) -> list[tuple[Series, str, Any, Any]]:
    """One (series, run_id, model, dataset) per hue/facet value: its first seed's run."""
    out = []
    if not (res.path / "weights").is_dir():
        return out
    for s in series(res):
        rid = s.run_ids[0]
        net = load_model(res, rid)
        if net is None:
            continue
        ds = _dataset(res, res.runs[res.runs["run_id"] == rid].iloc[0])
        if ds is None:
            continue
        out.append((s, rid, net, ds))
    return out


def describe(res: Results, run_id: str) -> str:
    """A run's configuration in a few words: ``adam lr 0.005, sigmoid 1-100-1``."""
    row = res.runs[res.runs["run_id"] == str(run_id)].iloc[0]

    def get(name: str) -> Any:
        c = res.col(name)
        return row[c] if c and pd_notna(row[c]) else None

    opt, lr, act, depth, width = (get(k) for k in ("optimizer", "lr", "activation", "depth",
                                                    "width"))
    parts = []
    if opt is not None:
        parts.append(f"{opt}" + (f" lr {_fmt(lr)}" if lr is not None else ""))
    if depth is not None and int(depth) == 0:
        parts.append("linear, no hidden layer")
    elif act is not None:
        arch = f" {int(depth)}x{int(width)}" if depth is not None and width is not None else ""
        parts.append(f"{act}{arch}")
    return ", ".join(parts) or str(run_id)


def _panel_title(res: Results, s: Series) -> str:
    ax_ = split_axes(res)
    if ax_.hue is None and ax_.facet is None:
        return describe(res, s.run_ids[0])
    t = _facet_title(res, ax_.facet, s.facet) if ax_.facet else ""
    return ", ".join(filter(None, [s.label, t]))


def fig_decision(res: Results, panels: list | None = None) -> Figure | None:
    """Decision regions of the trained model over the 2-D data, one panel per
    configuration (its first seed), training points on top."""
    panels = _model_panels(res) if panels is None else panels
    panels = [p for p in panels if getattr(p[3], "n_classes", None)
              and p[3].X_train.shape[1] == 2]
    if not panels:
        return None
    if len(panels) > 12:  # many cells: the deepest (last facet value) only
        last = _facets([p[0] for p in panels])[-1]
        panels = [p for p in panels if p[0].facet == last][:12]
    nrows = math.ceil(len(panels) / 5)
    ncols = math.ceil(len(panels) / nrows)
    fig, axes = _figure(nrows, ncols, w=3.4, h=3.2)
    from matplotlib.colors import ListedColormap

    for ax in axes.ravel()[len(panels):]:
        ax.set_visible(False)
    for ax, (s, _rid, net, ds) in zip(axes.ravel(), panels, strict=False):
        X, y = np.asarray(ds.X_train, float), np.asarray(ds.y_train).astype(int)
        k = int(ds.n_classes)
        cls = ListedColormap(_BASE[:max(k, 2)])
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
    _suptitle(fig, f"{res.title}: decision regions{_task_phrase(res)}")
    return fig


def _predict(net: Any, X: np.ndarray) -> np.ndarray:
    out = np.asarray(net.forward(X))[0]
    return out.argmax(1) if out.shape[1] > 1 else (out[:, 0] > 0).astype(int)


def fig_fit(res: Results, panels: list | None = None) -> Figure | None:
    """The fitted curve of each configuration (its first seed) over 1-D regression data."""
    panels = _model_panels(res) if panels is None else panels
    panels = [p for p in panels if getattr(p[3], "n_classes", None) is None
              and p[3].X_train.shape[1] == 1 and np.asarray(p[3].y_train).ndim == 2
              and np.asarray(p[3].y_train).shape[1] == 1]
    if not panels:
        return None
    ds0 = panels[0][3]
    X = np.asarray(ds0.X_train, float)[:, 0]
    Y = np.asarray(ds0.y_train, float)[:, 0]
    fig, axes = _figure(1, 1, w=7.5, h=4.0)
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
    ax.set_title(f"{res.title}: fitted curve{_task_phrase(res)}{seed}", fontsize="medium")
    _legend(fig, axes, below=True)
    return fig


# --------------------------------------------------------------------------- saving
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


def draw_all(out_dir: str | Path, x: str | None = None, metric: str = "train_loss",
             fmt: str | Sequence[str] = "png") -> list[Path]:
    """Draw every figure that applies to the results in ``out_dir`` into
    ``out_dir/figures/`` and return their paths.

    ``x``: ``"step"`` or ``"wall_s"`` (also ``"time"``) to draw the curves against one
    abscissa only; ``None`` draws both. ``metric``: the metrics.csv column of the curve
    figure. ``fmt``: ``png``, ``svg``, ``pdf`` or several (a list or ``"png,svg"``).
    """
    res = load(out_dir)
    fmts = [f.strip() for f in fmt.split(",")] if isinstance(fmt, str) else list(fmt)
    for f in fmts:
        if f not in FORMATS:
            raise NNBenchError(f"figure format must be one of {', '.join(FORMATS)}, "
                               f"got {f!r}")
    xs: tuple[str, ...]
    if x is None:
        xs = ("step", "wall_s")
    elif x in ("step",):
        xs = ("step",)
    elif x in ("wall_s", "time", "wall"):
        xs = ("wall_s",)
    else:
        raise NNBenchError(f"x must be 'step' or 'wall_s', got {x!r}")
    if not res.metrics.empty and metric not in res.metrics.columns:
        valid = [c for c in res.metrics.columns if c not in ("run_id", "step", "wall_s")]
        raise NNBenchError(f"metric {metric!r} is not in metrics.csv; valid: "
                           + ", ".join(valid))
    panels = _model_panels(res)
    figures = {
        "loss" if "loss" in metric else metric: lambda: fig_curves(res, metric, xs),
        "accuracy": lambda: fig_accuracy(res),
        "lr_sensitivity": lambda: fig_lr_sensitivity(res),
        "activations_depths": lambda: fig_activation_depths(res),
        "activations_heatmap": lambda: fig_activation_heatmap(res),
        "gradients": lambda: fig_gradients(res),
        "landscape": lambda: fig_landscape(res),
        "decision_regions": lambda: fig_decision(res, panels),
        "fit": lambda: fig_fit(res, panels),
        "closed_form": lambda: fig_closed_form(res),
        "sparsity": lambda: fig_sparsity(res),
    }
    written = []
    for name, make in figures.items():
        fig = make()
        if fig is None:
            continue
        for f in fmts:
            written.append(save(fig, res.path / "figures" / name, f))
    return written
