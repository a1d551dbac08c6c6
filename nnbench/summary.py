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

Every loss and accuracy also gets a 95% confidence interval of its mean over seeds,
Student's t (:func:`mean_ci`):

    m ± t_{0.975, n-1} s / sqrt(n)                         (NaN when n = 1)

with the t quantile computed here, without SciPy (:func:`t_quantile`). With a baseline
(:func:`compare_to_baseline`, ``--baseline NAME``) every other cell is paired with the
baseline's cell at the same values of the other axes, seed by seed: the differences
``d_s = x_s - x_s(baseline)`` of the selection loss (:func:`selection_column`) get the
same t interval, and a verdict says whether it excludes 0 and in how many seeds the cell
was lower.

When learning rates were swept, :func:`best_lr` names, for every optimizer (and
every other varying axis), the learning rate with the lowest mean final
validation loss, or final training loss where there is no validation set.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from typing import Any

import numpy as np
import pandas as pd

from nnbench.core.errors import NNBenchError, plural
from nnbench.numfmt import fmt_num, fmt_pm, fmt_value
from nnbench.schema import config_columns
from nnbench.tune import choose_rate, selection_name, trial_score

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


def final_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs a summary is over: a tuned experiment's final seeds (``phase`` final, at
    each cell's tuned rate), else every run."""
    if "phase" not in runs.columns:
        return runs
    return runs[runs["phase"].astype(str) == "final"]


def search_runs(runs: pd.DataFrame) -> pd.DataFrame | None:
    """A tuned experiment's trials (``phase`` search), or None."""
    if "phase" not in runs.columns:
        return None
    return runs[runs["phase"].astype(str) == "search"]


def cell_columns(runs: pd.DataFrame) -> list[str]:
    """The columns that define a cell: the varying axes, or the optimizer (else the
    task) when nothing varies, so that the summary always has a readable label. Across
    tasks, what each task decides for itself (its activation, width, loss) is no axis."""
    axes = axis_columns(runs)
    if "task" in axes:
        per = runs.groupby(runs["task"].astype(str))
        axes = [c for c in axes if c in ("task", "lr", *OPTIMIZER_COLUMNS)
                or (per[c].nunique(dropna=False) > 1).any()]
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


# --------------------------------------------------------------- the t interval

CI_LEVEL = 0.95
CI_METHOD = "Student's t"


def t_two_sided(t: float, df: int) -> float:
    """``P(|T| <= t)`` for Student's t with ``df`` (an integer >= 1) degrees of freedom:
    the finite sums of Abramowitz and Stegun 26.7.3 (odd ``df``) and 26.7.4 (even), in
    ``theta = atan(t / sqrt(df))``."""
    if df < 1 or int(df) != df:
        raise ValueError(f"degrees of freedom must be an integer >= 1, got {df!r}")
    df = int(df)
    theta = math.atan(abs(t) / math.sqrt(df))
    c2 = math.cos(theta) ** 2
    if df % 2 == 0:  # sin(theta) [1 + 1/2 c^2 + 1*3/(2*4) c^4 + ...], df/2 terms
        term, total = 1.0, 1.0
        for j in range(1, df // 2):
            term *= c2 * (2 * j - 1) / (2 * j)
            total += term
        return math.sin(theta) * total
    if df == 1:
        return 2 * theta / math.pi
    # (2/pi) (theta + sin(theta) [c + 2/3 c^3 + 2*4/(3*5) c^5 + ...]), (df-1)/2 terms
    term = math.cos(theta)
    total = term
    for j in range(1, (df - 1) // 2):
        term *= c2 * (2 * j) / (2 * j + 1)
        total += term
    return 2 / math.pi * (theta + math.sin(theta) * total)


def t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile (``0.5 < p < 1``) of Student's t with ``df`` degrees of freedom:
    :func:`t_two_sided` inverted by bisection, to about 1e-12."""
    if not 0.5 < p < 1:
        raise ValueError(f"p must be in (0.5, 1), got {p!r}")
    level = 2 * p - 1
    lo, hi = 0.0, 1.0
    while t_two_sided(hi, df) < level:
        lo, hi = hi, 2 * hi
    for _ in range(200):
        mid = (lo + hi) / 2
        if t_two_sided(mid, df) < level:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-13 * max(1.0, hi):
            break
    return (lo + hi) / 2


def mean_ci(values: Any, level: float = CI_LEVEL) -> tuple[float, float]:
    """The Student's t interval ``m ± t_{(1+level)/2, n-1} s / sqrt(n)`` of the mean of
    ``values`` (NaN left out); ``(nan, nan)`` for fewer than two values."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    n = len(v)
    if n < 2:
        return math.nan, math.nan
    m = float(v.mean())
    half = t_quantile((1 + level) / 2, n - 1) * float(np.std(v, ddof=1)) / math.sqrt(n)
    return m - half, m + half


def summarize(runs: pd.DataFrame, metrics: pd.DataFrame | None = None,
              target: float | None = None, by: Sequence[str] | None = None,
              incomplete: Collection[str] = ()) -> pd.DataFrame:
    """One row per cell: mean and std over seeds of every result, and counts.

    Columns: the cell columns ``by`` (default :func:`cell_columns`), ``runs``,
    ``diverged``, ``interrupted``, then ``<stat>_mean``, ``<stat>_std`` and the 95%
    interval of the mean ``<stat>_ci_lo``/``<stat>_ci_hi`` (:func:`mean_ci`) for
    each statistic present, with a value in at least one run (``final_loss``,
    ``best_loss``, ``final_val_loss``, ``train_acc``, ``val_acc``, ``wall_s``), and,
    when ``target`` is given, ``steps_to_target_mean``/``_std`` over the runs that reached it and
    ``reached`` (how many did) and ``unknown`` (how many of the others have rows missing
    from metrics.csv, ``incomplete``, the reader's ``metrics_gaps``: whether they reached
    the target is not known, so they are not counted as missing it).
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
        runs["_unknown"] = runs["run_id"].astype(str).isin(set(incomplete)) \
            & runs["_steps_to_target"].isna()

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
            row[f"{name}_ci_lo"], row[f"{name}_ci_hi"] = mean_ci(vals)
        if target is not None:
            reached = cell["_steps_to_target"].dropna()
            row["reached"] = len(reached)
            row["unknown"] = int(cell["_unknown"].sum())
            row["steps_to_target_mean"] = float(reached.mean()) if len(reached) else math.nan
            row["steps_to_target_std"] = _sample_std(reached)
        if "wall_s" in cell.columns:
            wall = cell["wall_s"].astype(float).dropna()
            row["wall_s_mean"] = float(wall.mean()) if len(wall) else math.nan
            row["wall_s_std"] = _sample_std(wall)
        rows.append(row)
    return pd.DataFrame(rows)


# ------------------------------------------------------------ against a baseline

BASELINE_COLUMNS = ("baseline", "diff_mean", "diff_ci_lo", "diff_ci_hi", "pairs",
                    "lower", "verdict")


def baseline_column(runs: pd.DataFrame, baseline: str, by: Sequence[str]) -> str:
    """The cell column of which ``baseline`` is a value: the optimizer's when it is one
    there, else the first of ``by`` that has it. NNBenchError when none has it."""
    order = [c for c in OPTIMIZER_COLUMNS if c in by] + [c for c in by
                                                         if c not in OPTIMIZER_COLUMNS]
    for col in order:
        if baseline in set(runs[col].astype(str)):
            return col
    where = order[0] if order else "the runs"
    valid = ", ".join(sorted(set(runs[order[0]].astype(str)))) if order else ""
    raise NNBenchError(f"--baseline {baseline!r} is not a value of {where}; valid: {valid}"
                       if valid else f"--baseline {baseline!r}: the runs have no axis to "
                       "compare along")


def verdict(name: str, baseline: str, diffs: Any) -> str:
    """The plain words of one paired comparison: ``diffs`` are the per-seed differences
    ``x_s(name) - x_s(baseline)`` of a loss (NaN left out).

    ``adam lower than sgd in 5/5 seeds, difference 0.41 [0.39, 0.43]`` when the 95%
    interval of the mean difference excludes 0 (the difference and its interval are then
    given in the direction named: how much lower, or higher); ``not distinguishable with 3
    seeds (difference 0.01 [-0.02, 0.04])`` when it does not; with fewer than two seeds in
    common there is no interval.
    """
    d = np.asarray(diffs, dtype=float)
    d = d[~np.isnan(d)]
    n = len(d)
    if n == 0:
        return f"no seed of {name} has a finished run of {baseline} to pair with"
    lower = int((d < 0).sum())
    if n == 1:
        return (f"one seed in common with {baseline} (difference {fmt_num(d[0])}): too few "
                "for an interval")
    lo, hi = mean_ci(d)
    m = float(d.mean())
    if hi < 0:
        return (f"{name} lower than {baseline} in {lower}/{n} seeds, difference "
                f"{fmt_num(-m, 3)} [{fmt_num(-hi, 3)}, {fmt_num(-lo, 3)}]")
    if lo > 0:
        return (f"{name} higher than {baseline} in {n - lower}/{n} seeds, difference "
                f"{fmt_num(m, 3)} [{fmt_num(lo, 3)}, {fmt_num(hi, 3)}]")
    return (f"not distinguishable with {n} seeds (difference {fmt_num(m, 3)} "
            f"[{fmt_num(lo, 3)}, {fmt_num(hi, 3)}])")


def compare_to_baseline(runs: pd.DataFrame, baseline: str,
                        by: Sequence[str] | None = None,
                        column: str | None = None) -> pd.DataFrame:
    """Every cell against the baseline's cell, seed by seed: one row per cell of ``by``
    (default :func:`cell_columns`) with ``baseline``, the mean per-seed difference
    ``diff_mean`` of ``column`` (default :func:`selection_column`; cell minus baseline),
    its Student's t interval ``diff_ci_lo``/``diff_ci_hi``, ``pairs`` (seeds in which both
    runs finished without diverging), ``lower`` (of those, in how many the cell was lower)
    and the :func:`verdict`. The baseline's own rows hold ``verdict = "baseline"``.

    The baseline cell of a cell has ``baseline`` in :func:`baseline_column` and the
    cell's values in every other column of ``by`` that the rest of ``by`` does not decide
    (a learning rate that each optimizer has one of, its own default or the one tuned for
    it on each task, is not paired on); a diverged run leaves its seed out.
    """
    by = list(cell_columns(runs) if by is None else by)
    col = baseline_column(runs, baseline, by)
    column = column or selection_column(runs)
    # an axis that the others decide (each optimizer at its own default rate, or at the
    # rate tuned for it on each task) is part of the cell, not something to pair on; the
    # last axes are looked at first, so the rate goes before the task it was tuned on
    kept = list(by)
    for c in reversed(by):
        rest = [x for x in kept if x != c]
        if c != col and rest and runs.groupby([runs[x].astype(str) for x in rest])[c] \
                .nunique(dropna=False).max() <= 1:
            kept.remove(c)
    others = [c for c in kept if c != col]
    df = runs.assign(_x=lr_scores(runs, runs[column]).replace(np.inf, np.nan),
                     _key=runs[col].astype(str))
    ref = df[df["_key"] == baseline]
    ref_by = {}
    for key, part in (ref.groupby(others, sort=False, dropna=False) if others
                      else [((), ref)]):
        key = key if isinstance(key, tuple) else (key,)
        ref_by[tuple(str(k) for k in key)] = part.groupby("seed")["_x"].first()
    rows = []
    for key, cell in df.groupby(by, sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        row: dict[str, Any] = dict(zip(by, key, strict=True))
        row["baseline"] = baseline
        name = str(row[col])
        other_key = tuple(str(row[c]) for c in others)
        base = ref_by.get(other_key)
        if name == baseline:
            row.update(diff_mean=math.nan, diff_ci_lo=math.nan, diff_ci_hi=math.nan,
                       pairs=0, lower=0, verdict="baseline")
        elif base is None:
            row.update(diff_mean=math.nan, diff_ci_lo=math.nan, diff_ci_hi=math.nan,
                       pairs=0, lower=0,
                       verdict=f"{baseline} has no run at the same "
                               f"{', '.join(others) or 'setting'}")
        else:
            mine = cell.groupby("seed")["_x"].first()
            d = (mine - base.reindex(mine.index)).dropna()
            lo, hi = mean_ci(d)
            row.update(diff_mean=float(d.mean()) if len(d) else math.nan, diff_ci_lo=lo,
                       diff_ci_hi=hi, pairs=len(d), lower=int((d < 0).sum()),
                       verdict=verdict(name, baseline, d))
        rows.append(row)
    out = pd.DataFrame(rows)
    out.attrs["metric"] = column
    out.attrs["column"] = col
    return out


def with_baseline(summary: pd.DataFrame, paired: pd.DataFrame | None,
                  by: Sequence[str]) -> pd.DataFrame:
    """The summary with the :func:`compare_to_baseline` columns of each cell beside it."""
    if paired is None:
        return summary
    key = [str(c) for c in by]
    left = summary.assign(_k=summary[key].astype(str).agg("|".join, axis=1))
    right = paired.assign(_k=paired[key].astype(str).agg("|".join, axis=1))
    merged = left.merge(right[["_k", *BASELINE_COLUMNS]], on="_k", how="left")
    return merged.drop(columns="_k")


def fmt_interval(mean: Any, lo: Any, hi: Any, digits: int = 3) -> str:
    """``mean [lo, hi]``; ``mean`` alone when there is no interval."""
    m = fmt_num(mean, digits)
    if fmt_num(lo) == "-" or m == "-":
        return m
    return f"{m} [{fmt_num(lo, digits)}, {fmt_num(hi, digits)}]"


def baseline_lines(paired: pd.DataFrame | None) -> list[str]:
    """One line per cell compared (``adam: adam lower than sgd in 5/5 seeds, ...``),
    headed by what was compared."""
    if paired is None or paired.empty:
        return []
    keys = [c for c in paired.columns if c not in BASELINE_COLUMNS]
    metric = paired.attrs.get("metric", "loss")
    out = [f"against {paired['baseline'].iloc[0]} ({metric}, paired by seed, "
           f"{CI_LEVEL:.0%} {CI_METHOD} interval of the mean difference):"]
    for _, r in paired.iterrows():
        if r["verdict"] == "baseline":
            continue
        label = ", ".join(fmt_num(r[k]) for k in keys) or "all"
        out.append(f"  {label}: {r['verdict']}")
    return out


def selection_column(runs: pd.DataFrame) -> str:
    """The loss that ranks learning rates: final validation loss when the runs
    have one, final training loss otherwise (:func:`nnbench.tune.selection_name`)."""
    return selection_name(runs["final_val_loss"] if "final_val_loss" in runs.columns else [])


def lr_scores(runs: pd.DataFrame, loss: pd.Series | None = None) -> pd.Series:
    """Each run's score for choosing a learning rate: ``loss`` (default the column
    :func:`selection_column`), ``+inf`` for a diverged run or a NaN or infinite loss
    (:func:`nnbench.tune.trial_score`)."""
    loss = runs[selection_column(runs)] if loss is None else loss
    status = runs["status"] if "status" in runs else pd.Series("done", runs.index)
    return pd.Series([trial_score(x, st) for x, st in zip(loss, status, strict=True)],
                     index=loss.index, dtype=float)


def choose_lr(lrs: pd.Series, scores: pd.Series) -> tuple[Any, float]:
    """The tuned learning rate of one cell (one configuration, its seeds and rates) and
    its mean score: the rate whose runs have the lowest mean of ``scores`` (from
    :func:`lr_scores`, aligned with ``lrs``), the first in grid order on a tie.

    A rate that diverged for any seed scores ``+inf``, so it is never preferred to one
    that did not; when every rate diverged for some seed, the first rate is chosen.
    The summary (:func:`best_lr`) and the figures (``nnbench.plots.tuned_runs``) both
    choose with this function, so they always agree.
    """
    best, mean = choose_rate(list(lrs), list(scores))  # the one rule, on plain lists
    return best, float(mean)


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


# ------------------------------------------------------------------- tuning


def tuning_table(runs: pd.DataFrame, ranges: Any = None) -> pd.DataFrame | None:
    """What a tuned experiment's search did, one row per cell of the trials: ``budget``
    (its trials), the range ``lr_lo``/``lr_hi`` they were drawn from (``ranges(optimizer)``
    when given, else the smallest and largest rate drawn), ``best_lr`` (chosen with
    :func:`choose_lr`), its ``score`` on the tuning seed, ``criterion``, ``final_seeds``
    (runs at ``best_lr`` in the final phase) and ``edge`` (:func:`lr_edge` among the rates
    drawn). None for an experiment that was not tuned."""
    search = search_runs(runs)
    if search is None or search.empty:
        return None
    final = final_runs(runs)
    keys = [c for c in cell_columns(final if len(final) else search) if c != "lr"]
    keys = keys or [c for c in OPTIMIZER_COLUMNS if c in runs.columns][:1]
    col = selection_column(search)
    opt = next((c for c in OPTIMIZER_COLUMNS if c in runs.columns), None)
    rows = []
    for key, part in search.groupby(keys, sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        lr, score = choose_lr(part["lr"].astype(float), lr_scores(part))
        row: dict[str, Any] = dict(zip(keys, key, strict=True))
        lo, hi = (ranges(str(part[opt].iloc[0])) if ranges is not None and opt
                  else (part["lr"].min(), part["lr"].max()))
        mine = final
        for k, v in zip(keys, key, strict=True):
            mine = mine[mine[k].astype(str) == str(v)]
        row.update(budget=len(part), lr_lo=float(lo), lr_hi=float(hi), best_lr=float(lr),
                   score=score, criterion=col, final_seeds=len(mine),
                   edge=lr_edge(part["lr"], lr))
        rows.append(row)
    return pd.DataFrame(rows)


TUNING_COLUMNS = ("budget", "lr_lo", "lr_hi", "best_lr", "score", "criterion",
                  "final_seeds", "edge")


def tuning_lines(tuning: pd.DataFrame | None) -> list[str]:
    """One line per tuned cell: ``tuned lr for adam: 0.0353, the best of 8 trials drawn
    log-uniformly from [0.0001, 1] (final_train_loss 0.41 on the tuning seed); 3 final
    seeds``."""
    if tuning is None:
        return []
    keys = [c for c in tuning.columns if c not in TUNING_COLUMNS]
    out = []
    for _, r in tuning.iterrows():
        label = ", ".join(fmt_num(r[k]) for k in keys) or "all"
        edge = {"largest": "; the best trial is the largest rate drawn",
                "smallest": "; the best trial is the smallest rate drawn"}.get(r["edge"], "")
        out.append(f"tuned lr for {label}: {fmt_num(r['best_lr'], 3)}, the best of "
                   f"{plural(int(r['budget']), 'trial')} drawn log-uniformly from "
                   f"[{fmt_num(r['lr_lo'], 3)}, {fmt_num(r['lr_hi'], 3)}] ({r['criterion']} "
                   f"{fmt_num(r['score'])} on the tuning seed){edge}; "
                   f"{plural(int(r['final_seeds']), 'final seed')}")
    return out


# --------------------------------------------------- across tasks: leaderboard, profile


def task_scores(runs: pd.DataFrame) -> pd.DataFrame | None:
    """The score of every method on every task, tasks as rows and methods as columns:
    the mean over seeds of the task's selection loss (:func:`selection_column`, chosen per
    task; ``+inf`` when a seed diverged, :func:`lr_scores`), over a tuned experiment's
    final runs. A method is a cell of :func:`cell_columns` without the task (and without
    the learning rate when each method has one per task: its default or its tuned rate).
    None unless at least two tasks and two methods ran."""
    runs = final_runs(runs)
    if "task" not in runs.columns or runs["task"].nunique() < 2:
        return None
    by = cell_columns(runs)
    methods = [c for c in by if c != "task"]
    if "lr" in methods:
        per = runs.groupby([runs["task"].astype(str),
                            *[runs[c].astype(str) for c in methods if c != "lr"]])
        if (per["lr"].nunique() <= 1).all():
            methods.remove("lr")
    if not methods:
        return None
    parts = []
    for task, part in runs.groupby("task", sort=False):
        score = lr_scores(part)
        label = part[methods].astype(str).agg(", ".join, axis=1) \
            if len(methods) > 1 else part[methods[0]].map(fmt_num)
        means = score.groupby(label, sort=False).mean()
        parts.append(means.rename(task))
    table = pd.DataFrame(parts)
    if table.shape[1] < 2:
        return None
    table.index.name = "task"
    return table


def leaderboard(scores: pd.DataFrame) -> pd.DataFrame:
    """Ranks of every method (rows) on every task (columns; 1 the lowest score, ties
    sharing the lower rank), their ``mean rank``, best first (ties in the order the
    methods ran)."""
    ranks = scores.rank(axis=1, method="min").T
    ranks["mean rank"] = ranks.mean(axis=1)
    return ranks.sort_values("mean rank", kind="stable")


def performance_ratios(scores: pd.DataFrame) -> pd.DataFrame:
    """Dolan and More's ratios ``r_{p,s} = t_{p,s} / min_s t_{p,s}``: each method's score
    on task ``p`` over the best score there (``inf`` for a method that diverged there)."""
    best = scores.min(axis=1)
    if (best <= 0).any() or not np.isfinite(best).all():
        bad = ", ".join(str(t) for t in best.index[(best <= 0) | ~np.isfinite(best)])
        raise NNBenchError(f"a performance profile needs a positive finite best score on "
                           f"every task; {bad} has none")
    return scores.div(best, axis=0)


def performance_profile(scores: pd.DataFrame, taus: Sequence[float]) -> pd.DataFrame:
    """Dolan and More (2002): ``rho_s(tau) = |{p : r_{p,s} <= tau}| / |P|``, the fraction
    of tasks on which method ``s`` is within a factor ``tau`` of the best; rows ``taus``,
    columns the methods."""
    ratios = performance_ratios(scores)
    taus = np.asarray(taus, dtype=float)
    rho = {m: [(ratios[m] <= t).mean() for t in taus] for m in ratios.columns}
    return pd.DataFrame(rho, index=pd.Index(taus, name="tau"))


def leaderboard_lines(scores: pd.DataFrame | None) -> list[str]:
    """The leaderboard as lines: ``leaderboard (rank per task, mean rank):`` then one line
    per method, best first."""
    if scores is None:
        return []
    board = leaderboard(scores)
    tasks = [c for c in board.columns if c != "mean rank"]
    out = [f"leaderboard over {len(tasks)} tasks (rank per task: {', '.join(tasks)}; "
           "mean rank):"]
    for method, r in board.iterrows():
        ranks = " ".join(fmt_value(r[t]) for t in tasks)
        out.append(f"  {method}: {ranks}; mean rank {fmt_num(r['mean rank'], 3)}")
    return out


# ---------------------------------------------------------------- formatting


def primary_stat(summary: pd.DataFrame) -> str:
    """The statistic whose interval the table shows: the validation loss when there is
    one (it chooses learning rates), else the final training loss."""
    return "final_val_loss" if "final_val_loss_ci_lo" in summary.columns else "final_loss"


def display_rows(summary: pd.DataFrame, by: Sequence[str]) -> tuple[list[str], list[list[str]]]:
    """Headers and string cells of the summary as a person reads it: ``mean ± std`` of
    every statistic, ``[lo, hi]`` the 95% interval of the mean of :func:`primary_stat`,
    and with a baseline (:func:`with_baseline`) a column ``vs NAME``: the mean paired
    difference and its interval."""
    headers = [*by, "runs"]
    primary = primary_stat(summary)
    paired = "verdict" in summary.columns
    cols: list[tuple[str, str]] = []
    for name, label in (("final_loss", "final loss"), ("best_loss", "best loss"),
                        ("final_val_loss", "val loss"), ("train_acc", "train acc"),
                        ("val_acc", "val acc"), ("test_acc", "test acc"),
                        ("steps_to_target", "steps to target"),
                        ("wall_s", "time (s)")):
        if f"{name}_mean" in summary.columns:
            headers.append(label)
            cols.append((name, label))
    if paired:
        headers.append(f"vs {summary['baseline'].dropna().iloc[0]}")
    interrupted = "interrupted" in summary.columns and bool(summary["interrupted"].gt(0).any())
    if interrupted:
        headers.append("interrupted")
    headers.append("diverged")
    rows = []
    for _, r in summary.iterrows():
        cells = [fmt_value(r[c]) for c in by] + [str(int(r["runs"]))]
        for name, _label in cols:
            if name == "wall_s":  # runs of a group share their wall time: no spread
                text = fmt_num(r["wall_s_mean"], 3)
            else:
                text = fmt_pm(r[f"{name}_mean"], r[f"{name}_std"])
            if name == primary and f"{name}_ci_lo" in summary.columns \
                    and fmt_num(r[f"{name}_ci_lo"]) != "-":
                text += f" [{fmt_num(r[f'{name}_ci_lo'], 3)}, {fmt_num(r[f'{name}_ci_hi'], 3)}]"
            if name == "steps_to_target":
                unknown = int(r.get("unknown", 0) or 0)
                text = (f"{text} ({int(r['reached'])}/{int(r['runs'])}"
                        f"{f', {unknown} unknown' if unknown else ''})")
            cells.append(text)
        if paired:
            cells.append("baseline" if r["verdict"] == "baseline" else
                         fmt_interval(r["diff_mean"], r["diff_ci_lo"], r["diff_ci_hi"]))
        if interrupted:
            cells.append(str(int(r["interrupted"])))
        cells.append(str(int(r["diverged"])))
        rows.append(cells)
    return headers, rows


def interval_note(summary: pd.DataFrame) -> str | None:
    """The line that says what the brackets of the table are (None when it has none)."""
    primary = primary_stat(summary)
    col = f"{primary}_ci_lo"
    if col not in summary.columns or not summary[col].notna().any():
        return None
    label = "val loss" if primary == "final_val_loss" else "final loss"
    text = (f"[lo, hi]: {CI_LEVEL:.0%} confidence interval of the mean {label} over seeds "
            f"({CI_METHOD}, n-1 degrees of freedom)")
    if "verdict" in summary.columns:
        text += f"; vs {summary['baseline'].dropna().iloc[0]}: mean paired difference"
    return text


def format_text(summary: pd.DataFrame, by: Sequence[str],
                best: pd.DataFrame | None = None) -> str:
    """The summary as an aligned plain-text table (for pipes and files), then the line
    naming its interval and the best rates."""
    headers, rows = display_rows(summary, by)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    note = interval_note(summary)
    if note:
        lines.append(note)
    if best is not None and len(best):
        lines.append("")
        lines.extend(best_lr_lines(best))
    return "\n".join(lines)


def best_lr_lines(best: pd.DataFrame) -> list[str]:
    """One line per optimizer (cell): ``best lr for adam: 0.005 (final_val_loss 0.0012)``."""
    keys = [c for c in best.columns if c not in ("best_lr", "criterion", "mean_loss", "edge")]
    out = []
    for _, r in best.iterrows():
        label = ", ".join(f"{k} {fmt_value(r[k])}" if isinstance(r[k], (bool, np.bool_))
                          else str(r[k]) for k in keys) or "all"  # a switch: its name
        line = (f"best lr for {label}: {fmt_value(r['best_lr'])} "
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
            f"(best lr {fmt_value(r['best_lr'])})"
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
        label = ", ".join(f"{c} {fmt_value(v)}" for c, v in zip(by, key, strict=True)) or "all"
        shown = ", ".join(f"{r['run_id']} {fmt_num(r['_initial'])} -> {fmt_num(r['_final'])}"
                          for _, r in bad.head(3).iterrows())
        more = ", ..." if len(bad) > 3 else ""
        lines.append(f"{label}: {len(bad)} of {plural(len(cell), 'run')} ended above "
                     f"{factor:g}x their initial loss, though finite ({shown}{more})")
    return lines


def cross_lines(runs: pd.DataFrame, ranges: Any = None) -> list[str]:
    """What a tuned or multi-task experiment adds under its table: :func:`tuning_lines`
    and :func:`leaderboard_lines`."""
    return [*tuning_lines(tuning_table(runs, ranges)), *leaderboard_lines(task_scores(runs))]


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
                epochs = (f", {fmt_value(mean)} epoch{'' if mean == 1 else 's'}"
                          if mean is not None else "")
                lines.append(f"perceptron{where}: converged in every run after "
                             f"{fmt_value(gp['updates'].mean())} updates{epochs} on average")
            else:
                most = gp.loc[~conv, "epochs_done"].max() if "epochs_done" in gp.columns \
                    else None
                epochs = ("the epochs" if most is None else
                          f"{fmt_value(most)} epoch{'' if most == 1 else 's'}")
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
                                 f"{fmt_num(acc, 3)}%")  # a percentage in 3 digits
        if "closed_form_loss" in g.columns and g["closed_form_loss"].notna().any():
            gl = g[g["closed_form_loss"].notna()]
            lines.append(f"linear regression{where}: closed-form loss "
                         f"{fmt_num(gl['closed_form_loss'].mean(), 6)}, gradient descent "
                         f"reached {fmt_num(gl['final_train_loss'].mean(), 6)} (mean over runs)")
    return lines
