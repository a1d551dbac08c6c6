"""The summary of an experiment: pure pandas on ``runs.csv`` (and ``metrics.csv``).

Runs are grouped into *cells*: one cell per combination of the configuration
columns that vary across the experiment (the *axes*), seeds excepted. For every
cell the summary gives, over its seeds ``s = 1..n``,

    mean  m = (1/n) sum_s x_s
    std   s = sqrt( sum_s (x_s - m)^2 / (n - 1) )        (sample std, NaN when n = 1)

of the final and best training loss, the final validation loss and the accuracy
where the task has them, the number of steps to reach a target loss, and the wall
time. Runs whose status is ``diverged`` are counted (``diverged``) and left out of
the loss and accuracy statistics, whose NaN or inf would otherwise swamp them.

When learning rates were swept, :func:`best_lr` names, for every optimizer (and
every other varying axis), the learning rate with the lowest mean final
validation loss, or final training loss where there is no validation set.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from nnbench.core.errors import plural
from nnbench.schema import config_columns

# (summary name, runs.csv column), reported when the column is present.
STAT_COLUMNS = (
    ("final_loss", "final_train_loss"),
    ("best_loss", "best_train_loss"),
    ("final_val_loss", "final_val_loss"),
    ("train_acc", "final_train_acc"),
    ("val_acc", "final_val_acc"),
    ("test_acc", "final_test_acc"),
)

# Axes shown first, in this order, when they vary; others follow in file order.
AXIS_ORDER = ("task", "model", "optimizer", "optim", "activation", "act", "depth", "width",
              "init", "lr", "batch_size", "schedule", "loss")

# Column that names the optimizer in runs.csv (the first one present).
OPTIMIZER_COLUMNS = ("optimizer", "optim")


def axis_columns(runs: pd.DataFrame) -> list[str]:
    """The configuration columns of ``runs`` that take more than one value.

    Seeds, run ids, statuses and result columns are never axes.
    """
    candidates = config_columns(runs.columns)
    varying = [c for c in candidates if runs[c].astype(str).nunique(dropna=False) > 1]
    first = [c for c in AXIS_ORDER if c in varying]
    return first + [c for c in varying if c not in first]


def cell_columns(runs: pd.DataFrame) -> list[str]:
    """The columns that define a cell: the varying axes, or the optimizer (else the
    task) when nothing varies, so that the summary always has a readable label."""
    axes = axis_columns(runs)
    if axes:
        return axes
    for col in (*OPTIMIZER_COLUMNS, "task"):
        if col in runs.columns:
            return [col]
    return []


def steps_to_target(metrics: pd.DataFrame, target: float,
                    column: str = "train_loss") -> pd.Series:
    """First logged step at which ``column <= target``, per ``run_id`` (NaN if never)."""
    runs = pd.Index(metrics["run_id"].unique(), name="run_id")
    hit = metrics[metrics[column] <= target]
    first = hit.groupby("run_id")["step"].min()
    return first.reindex(runs).astype(float)


def _sample_std(values: pd.Series) -> float:
    v = values.to_numpy(dtype=float)
    return float(np.std(v, ddof=1)) if len(v) > 1 else math.nan


def summarize(runs: pd.DataFrame, metrics: pd.DataFrame | None = None,
              target: float | None = None, by: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per cell: mean and std over seeds of every result, and counts.

    Columns: the cell columns ``by`` (default :func:`cell_columns`), ``runs``,
    ``diverged``, ``interrupted``, then ``<stat>_mean`` and ``<stat>_std`` for
    each statistic present, with a value in at least one run (``final_loss``,
    ``best_loss``, ``final_val_loss``, ``train_acc``, ``val_acc``, ``wall_s``), and,
    when ``target`` is given, ``steps_to_target_mean``/``_std`` over the runs that reached it and
    ``reached`` (how many did).
    """
    runs = runs.copy()
    by = list(cell_columns(runs) if by is None else by)
    status = runs["status"].astype(str) if "status" in runs else pd.Series("done", runs.index)
    runs["_diverged"] = status.eq("diverged")
    runs["_interrupted"] = status.eq("interrupted")
    if target is not None:
        if metrics is None:
            raise ValueError("steps to a target need metrics.csv")
        reach = steps_to_target(metrics, target)
        runs["_steps_to_target"] = runs["run_id"].map(reach).astype(float)

    stats = [(name, col) for name, col in STAT_COLUMNS
             if col in runs.columns and runs[col].astype(float).notna().any()]
    rows: list[dict[str, Any]] = []
    groups = runs.groupby(by, sort=False, dropna=False) if by else [((), runs)]
    for key, cell in groups:
        key = key if isinstance(key, tuple) else (key,)
        row: dict[str, Any] = dict(zip(by, key, strict=True))
        row["runs"] = len(cell)
        row["diverged"] = int(cell["_diverged"].sum())
        row["interrupted"] = int(cell["_interrupted"].sum())
        ok = cell[~cell["_diverged"]]
        for name, col in stats:
            vals = ok[col].astype(float).dropna()
            row[f"{name}_mean"] = float(vals.mean()) if len(vals) else math.nan
            row[f"{name}_std"] = _sample_std(vals)
        if target is not None:
            reached = cell["_steps_to_target"].dropna()
            row["reached"] = len(reached)
            row["steps_to_target_mean"] = float(reached.mean()) if len(reached) else math.nan
            row["steps_to_target_std"] = _sample_std(reached)
        if "wall_s" in cell.columns:
            wall = cell["wall_s"].astype(float).dropna()
            row["wall_s_mean"] = float(wall.mean()) if len(wall) else math.nan
            row["wall_s_std"] = _sample_std(wall)
        rows.append(row)
    return pd.DataFrame(rows)


def selection_column(runs: pd.DataFrame) -> str:
    """The loss that ranks learning rates: final validation loss when the runs
    have one, final training loss otherwise."""
    if "final_val_loss" in runs.columns and runs["final_val_loss"].notna().any():
        return "final_val_loss"
    return "final_train_loss"


def lr_scores(runs: pd.DataFrame, loss: pd.Series | None = None) -> pd.Series:
    """Each run's score for choosing a learning rate: ``loss`` (default the column
    :func:`selection_column`), ``+inf`` for a diverged run or a NaN or infinite loss."""
    loss = runs[selection_column(runs)] if loss is None else loss
    score = loss.astype(float).replace(-np.inf, np.inf).fillna(np.inf)
    if "status" in runs:
        score = score.where(runs["status"].astype(str) != "diverged", np.inf)
    return score


def choose_lr(lrs: pd.Series, scores: pd.Series) -> tuple[Any, float]:
    """The tuned learning rate of one cell (one configuration, its seeds and rates) and
    its mean score: the rate whose runs have the lowest mean of ``scores`` (from
    :func:`lr_scores`, aligned with ``lrs``), the first in grid order on a tie.

    A rate that diverged for any seed scores ``+inf``, so it is never preferred to one
    that did not; when every rate diverged for some seed, the first rate is chosen.
    The summary (:func:`best_lr`) and the figures (``nnbench.plots.tuned_runs``) both
    choose with this function, so they always agree.
    """
    means = scores.groupby(lrs, sort=False, dropna=False).mean()
    best = means.idxmin()
    return best, float(means[best])


def lr_edge(lrs: pd.Series, best: Any) -> str | None:
    """``"largest"`` or ``"smallest"`` when ``best`` (from :func:`choose_lr`) is the largest
    or the smallest of the rates ``lrs`` swept (at least two), else ``None``: the optimum
    may lie beyond the range."""
    rates = pd.Series(lrs).astype(float).dropna().unique()
    if len(rates) < 2:
        return None
    if float(best) == rates.max():
        return "largest"
    if float(best) == rates.min():
        return "smallest"
    return None


def best_lr(runs: pd.DataFrame) -> pd.DataFrame | None:
    """The best learning rate per optimizer (and per other varying axis).

    For every combination of the varying axes other than ``lr``, the learning rate
    whose runs have the lowest mean (over seeds) of :func:`selection_column`; a
    diverged run, or a NaN loss, counts as ``+inf``, so a learning rate that
    diverged for any seed is never preferred to one that did not (:func:`choose_lr`).
    ``edge`` says when that rate is the largest or the smallest swept (:func:`lr_edge`).
    Returns None when no optimizer ran at more than one learning rate.
    """
    axes = axis_columns(runs)
    if "lr" not in axes:
        return None
    col = selection_column(runs)
    df = runs.assign(_loss=lr_scores(runs))
    others = [a for a in axes if a != "lr"]
    if not others:
        others = [c for c in OPTIMIZER_COLUMNS if c in runs.columns][:1]
    cells = df.groupby(others, sort=False, dropna=False) if others else [((), df)]
    if others and not cells["lr"].nunique().gt(1).any():
        return None  # each optimizer ran at one lr (its own default): nothing was swept
    rows = []
    for key, part in cells:
        key = key if isinstance(key, tuple) else (key,)
        lr, mean = choose_lr(part["lr"], part["_loss"])
        row = dict(zip(others, key, strict=True))
        row["best_lr"] = float(lr)
        row["criterion"] = col
        row["mean_loss"] = mean
        row["edge"] = lr_edge(part["lr"], lr)
        rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- formatting


def fmt_num(x: Any, digits: int = 4) -> str:
    """A number in ``digits`` significant digits; ``-`` for NaN/None."""
    if x is None:
        return "-"
    if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
        return str(int(x))
    try:
        f = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(f):
        return "-"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    return f"{f:.{digits}g}"


def fmt_pm(mean: Any, std: Any, digits: int = 4) -> str:
    """``mean ± std``; just the mean when the std is NaN (one seed)."""
    m = fmt_num(mean, digits)
    s = fmt_num(std, 2)
    return m if m == "-" or s == "-" else f"{m} ± {s}"


def display_rows(summary: pd.DataFrame, by: Sequence[str]) -> tuple[list[str], list[list[str]]]:
    """Headers and string cells of the summary as a person reads it."""
    headers = [*by, "runs"]
    cols: list[tuple[str, str]] = []
    for name, label in (("final_loss", "final loss"), ("best_loss", "best loss"),
                        ("final_val_loss", "val loss"), ("train_acc", "train acc"),
                        ("val_acc", "val acc"), ("test_acc", "test acc"),
                        ("steps_to_target", "steps to target"),
                        ("wall_s", "time (s)")):
        if f"{name}_mean" in summary.columns:
            headers.append(label)
            cols.append((name, label))
    interrupted = "interrupted" in summary.columns and bool(summary["interrupted"].gt(0).any())
    if interrupted:
        headers.append("interrupted")
    headers.append("diverged")
    rows = []
    for _, r in summary.iterrows():
        cells = [fmt_num(r[c]) for c in by] + [str(int(r["runs"]))]
        for name, _label in cols:
            if name == "wall_s":  # runs of a group share their wall time: no spread
                text = fmt_num(r["wall_s_mean"], 3)
            else:
                text = fmt_pm(r[f"{name}_mean"], r[f"{name}_std"])
            if name == "steps_to_target":
                text = f"{text} ({int(r['reached'])}/{int(r['runs'])})"
            cells.append(text)
        if interrupted:
            cells.append(str(int(r["interrupted"])))
        cells.append(str(int(r["diverged"])))
        rows.append(cells)
    return headers, rows


def format_text(summary: pd.DataFrame, by: Sequence[str],
                best: pd.DataFrame | None = None) -> str:
    """The summary as an aligned plain-text table (for pipes and files)."""
    headers, rows = display_rows(summary, by)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    if best is not None and len(best):
        lines.append("")
        lines.extend(best_lr_lines(best))
    return "\n".join(lines)


def best_lr_lines(best: pd.DataFrame) -> list[str]:
    """One line per optimizer (cell): ``best lr for adam: 0.005 (final_val_loss 0.0012)``."""
    keys = [c for c in best.columns if c not in ("best_lr", "criterion", "mean_loss", "edge")]
    out = []
    for _, r in best.iterrows():
        label = ", ".join(str(r[k]) for k in keys) or "all"
        line = (f"best lr for {label}: {fmt_num(r['best_lr'])} "
                f"(mean {r['criterion']} {fmt_num(r['mean_loss'])})")
        edge = EDGE_WORDS.get(r.get("edge"))
        out.append(f"{line}; {edge}" if edge else line)
    return out


EDGE_WORDS = {"largest": "the best rate is the largest swept: try larger",
              "smallest": "the best rate is the smallest swept: try smaller"}


def edge_lines(best: pd.DataFrame | None) -> list[str]:
    """For the notes: each cell whose best rate is at the edge of the sweep
    (``sgd: the best rate is the largest swept: try larger``)."""
    if best is None or "edge" not in best.columns:
        return []
    keys = [c for c in best.columns if c not in ("best_lr", "criterion", "mean_loss", "edge")]
    return [f"{', '.join(str(r[k]) for k in keys) or 'all'}: {EDGE_WORDS[r['edge']]} "
            f"(best lr {fmt_num(r['best_lr'])})"
            for _, r in best.iterrows() if r["edge"] in EDGE_WORDS]


def _jsonable(x: Any) -> Any:
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        f = float(x)
        return None if math.isnan(f) or math.isinf(f) else f
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def to_records(df: pd.DataFrame | None) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts (NaN and inf become null)."""
    if df is None:
        return []
    return [{k: _jsonable(v) for k, v in row.items()} for row in df.to_dict("records")]


GROWTH = 10.0  # a final loss this many times the initial one is reported


def growth_lines(runs: pd.DataFrame, metrics: pd.DataFrame | None,
                 factor: float = GROWTH) -> list[str]:
    """Runs that did not diverge but ended far above where they started: a finite final
    training loss more than ``factor`` times the loss logged at step 0, one line per cell
    (``adam, 1: 2 of 3 runs ended above 10x their initial loss (s0 0.71 -> 15.2, ...)``)."""
    if metrics is None or metrics.empty or "train_loss" not in metrics.columns:
        return []
    start = metrics[metrics["step"] == 0].groupby("run_id")["train_loss"].first()
    df = runs.assign(_initial=runs["run_id"].map(start).astype(float),
                     _final=runs["final_train_loss"].astype(float))
    status = df["status"].astype(str) if "status" in df.columns else pd.Series("done", df.index)
    grew = (status != "diverged") & np.isfinite(df["_final"]) & (df["_initial"] > 0) & (
        df["_final"] > factor * df["_initial"])
    if not grew.any():
        return []
    by = cell_columns(runs)
    cells = df.groupby(by, sort=False, dropna=False) if by else [((), df)]
    lines = []
    for key, cell in cells:
        bad = cell[grew.loc[cell.index]]
        if bad.empty:
            continue
        key = key if isinstance(key, tuple) else (key,)
        label = ", ".join(f"{c} {fmt_num(v)}" for c, v in zip(by, key, strict=True)) or "all"
        shown = ", ".join(f"{r['run_id']} {fmt_num(r['_initial'])} -> {fmt_num(r['_final'])}"
                          for _, r in bad.head(3).iterrows())
        more = ", ..." if len(bad) > 3 else ""
        lines.append(f"{label}: {len(bad)} of {plural(len(cell), 'run')} ended above "
                     f"{factor:g}x their initial loss, though finite ({shown}{more})")
    return lines


def notes(runs: pd.DataFrame, metrics: pd.DataFrame | None = None) -> list[str]:
    """The lines under the summary table: :func:`model_lines` and :func:`growth_lines`."""
    return [*model_lines(runs), *growth_lines(runs, metrics)]


def model_lines(runs: pd.DataFrame) -> list[str]:
    """What the classic models add to the summary: the perceptron's convergence
    (``converged after U updates`` or ``not separable within N epochs``, per task) and the
    closed-form loss of linear regression beside gradient descent's."""
    lines: list[str] = []
    ok = runs[runs["status"] == "done"] if "status" in runs.columns else runs
    by = "task" if "task" in ok.columns else None
    groups = ok.groupby(by, sort=False) if by else [("", ok)]
    for task, g in groups:
        where = f" on {task}" if by else ""
        if "converged" in g.columns and g["converged"].notna().any():
            gp = g[g["converged"].notna()]  # the perceptron's runs only
            conv = gp["converged"].astype(str).str.lower() == "true"
            if conv.all():
                mean = gp["epochs_done"].mean() if "epochs_done" in gp.columns else None
                epochs = (f", {fmt_num(mean)} epoch{'' if mean == 1 else 's'}"
                          if mean is not None else "")
                lines.append(f"perceptron{where}: converged in every run after "
                             f"{fmt_num(gp['updates'].mean())} updates{epochs} on average")
            else:
                most = gp.loc[~conv, "epochs_done"].max() if "epochs_done" in gp.columns \
                    else None
                epochs = ("the epochs" if most is None else
                          f"{fmt_num(most)} epoch{'' if most == 1 else 's'}")
                lines.append(f"perceptron{where}: not separable within {epochs} "
                             f"({int((~conv).sum())} of {plural(len(gp), 'run')} did not "
                             "converge)")
        if "model" in g.columns and "final_train_acc" in g.columns:
            for model, how in (("threshold", "weights set, not trained"),
                               ("gaussian", "fitted in closed form, not trained")):
                gm = g[g["model"] == model]
                if len(gm) and gm["final_train_acc"].notna().any():
                    acc = 100 * gm["final_train_acc"].mean()
                    lines.append(f"{model}{where} ({how}): training accuracy "
                                 f"{fmt_num(acc)}%")
        if "closed_form_loss" in g.columns and g["closed_form_loss"].notna().any():
            gl = g[g["closed_form_loss"].notna()]
            lines.append(f"linear regression{where}: closed-form loss "
                         f"{fmt_num(gl['closed_form_loss'].mean(), 6)}, gradient descent "
                         f"reached {fmt_num(gl['final_train_loss'].mean(), 6)} (mean over runs)")
    return lines
