"""What a figure draws from a results directory: which configuration columns vary and
become colour, line style and panels; the series (a configuration with its seeds), their
mean and band over seeds; final losses and the tuned learning rate.

- A *series* is one configuration with its seeds: the curve drawn is the mean over
  seeds, :math:`\\bar y_t = \\frac{1}{S}\\sum_s y_{s,t}`, with a band from
  :math:`\\min_s y_{s,t}` to :math:`\\max_s y_{s,t}` (NaN, i.e. a diverged run, is left
  out of all three).
- The *hue* is the first config column among optimizer, activation, init, ... that
  varies; a second varying name column sets the line style; ``depth`` (else ``task``)
  makes one panel per value.
- When the learning rate varies as well, a curve figure shows every series at its tuned
  learning rate, chosen as the summary chooses it (:func:`nnbench.summary.choose_lr`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nnbench import summary
from nnbench.plots.style import BASE, STYLES, colours, fmt_value, linestyles
from nnbench.schema import COLUMN_ALIASES, config_columns
from nnbench.store import Results, load_results, require_results_dir

_HUE_ORDER = ("optimizer", "activation", "init", "model", "loss", "schedule", "init_std",
              "width", "batch_size")
_FACET_ORDER = ("depth", "task")


def load(path: str | Path) -> Results:
    """Read a results directory for its figures (:func:`nnbench.store.load_results`,
    tolerating a config.toml or meta.json that does not parse); raise NNBenchError when
    it has no ``runs.csv``."""
    return load_results(require_results_dir(path), strict=False)


def varies(res: Results, name: str) -> bool:
    """Whether config field ``name`` takes more than one value across the runs."""
    c = res.col(name)
    return c is not None and res.runs[c].nunique(dropna=True) > 1


def _config_columns(res: Results) -> list[str]:
    """runs.csv columns that are configuration (not results), in file order."""
    return config_columns(res.runs.columns)


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
    sched = res.col("schedule")
    if sched in varying and "schedule_kw" in varying:  # cosine's T_max: the schedule's own
        per = res.runs.groupby(sched, dropna=False)["schedule_kw"]
        if not (per.nunique(dropna=False) > 1).any():
            varying.remove("schedule_kw")
    canon = {res.col(k): k for k in COLUMN_ALIASES if res.col(k)}
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
    style = rest[1] if len(rest) > 1 and res.runs[rest[1]].nunique() <= len(STYLES) else None
    other = [c for c in rest[2 if style else 1:]]
    return Axes_(hue, style, facet, other)


def final_loss(res: Results) -> pd.Series:
    """Final loss per run_id: validation loss when recorded, else training loss.

    From runs.csv (``final_val_loss``/``final_train_loss``) or the last logged step of
    metrics.csv. Diverged runs give NaN (an infinite loss counts as diverged).
    """
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
    rate is the summary's (:func:`nnbench.summary.choose_lr`): the lowest mean final loss
    over seeds (:func:`final_loss`), a diverged seed counting as worse than any finite
    loss, the first rate in grid order on a tie (so also when every rate diverged for
    some seed). A tuned experiment's are its final runs (:func:`nnbench.summary.final_runs`).
    """
    runs = res.runs.copy()
    if "phase" in runs.columns:  # a tuned experiment: its final seeds at the tuned rates
        return summary.final_runs(runs)
    lr = res.col("lr")
    if lr is None or runs[lr].nunique() <= 1:
        return runs
    scores = summary.lr_scores(runs, pd.Series(
        final_loss(res).reindex(runs["run_id"]).to_numpy(), index=runs.index))
    keys = [c for c in _config_columns(res) if c not in (lr,) and c != res.col("seed")]
    keep = []
    for _, g in runs.groupby(keys, dropna=False, sort=False) if keys else [(None, runs)]:
        best, _mean = summary.choose_lr(g[lr], scores[g.index])
        keep.append(g[g[lr] == best])
    return pd.concat(keep)


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
                       color=BASE[0], linestyle="-", facet=None,
                       run_ids=list(runs["run_id"].astype(str)))]
    out = []
    groups = runs.groupby(cols, dropna=False, sort=False) if cols else [((), runs)]
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        vals = dict(zip(cols, key, strict=True))
        parts = [fmt_value(vals[c]) for c in (ax_.hue, ax_.style) if c]
        parts += [f"{c}={fmt_value(vals[c])}" for c in ax_.other]
        if show_lr:
            lrs = sorted(g[lr].unique())
            parts.append("lr " + "/".join(fmt_value(v) for v in lrs))
        label = ", ".join(parts) if parts else (str(runs[res.col("task")].iloc[0])
                                                if res.col("task") else "run")
        out.append(Series(
            key=key, label=label,
            color=cmap.get(vals.get(ax_.hue), BASE[0]) if ax_.hue else BASE[0],
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
        parts.append(f"{opt}" + (f" lr {fmt_value(lr)}" if lr is not None else ""))
    if depth is not None and int(depth) == 0:
        parts.append("linear, no hidden layer")
    elif act is not None:
        arch = f" {int(depth)}x{int(width)}" if depth is not None and width is not None else ""
        parts.append(f"{act}{arch}")
    return ", ".join(parts) or str(run_id)


def pd_notna(v: Any) -> bool:
    """Whether a runs.csv cell holds a value (not None or NaN)."""
    try:
        return v is not None and not (isinstance(v, float) and math.isnan(v)) and v == v
    except (TypeError, ValueError):
        return True
