"""Tuning with a stated budget: random search over the learning rate, then final seeds.

The protocol of DeepOBS (Schneider et al., 2019) and of "Descending through a Crowded
Valley" (Schmidt et al., 2021): every optimizer gets the same number of trials
(``budget``), each trial a learning rate drawn log-uniformly from the optimizer's range,

    lr_i = exp( log LO + u_i (log HI - log LO) ),   u_i ~ U(0, 1),  i = 1..budget,

trained with one seed (the experiment's first); the trial with the lowest selection loss
(:func:`nnbench.summary.choose_lr`: the final validation loss, else the final training
loss; a diverged trial never wins) is then trained again with ``final_seeds`` new seeds
(the seeds after the tuning seed, so that the reported numbers are not the ones the choice
was made on). The ``u_i`` come from ``numpy.random.default_rng(seed)`` and are the same
for every optimizer and every task: the i-th trial of each optimizer sits at the same
quantile of its own range, and the same command draws the same rates.

The ranges (``--lr-range LO,HI`` for all, else :data:`LR_RANGES` per optimizer, else two
decades either side of the optimizer's default rate) and the budget are written to
``config.toml``; ``runs.csv``'s ``phase`` column says which runs were trials (``search``)
and which the final seeds (``final``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from nnbench.core.errors import NNBenchError
from nnbench.core.optimizers import OPTIMIZERS
from nnbench.schema import group_key

# the default range of each rule of the notes and of Adam's family: the plain gradient
# rules take larger steps than the ones that divide by a running gradient size
LR_RANGES: dict[str, tuple[float, float]] = {
    "sgd": (1e-3, 3.0),
    "momentum": (1e-4, 1.0),
    "nesterov": (1e-4, 1.0),
    "adagrad": (1e-3, 3.0),
    "rmsprop": (1e-5, 0.1),
    "adam": (1e-4, 1.0),
    "amsgrad": (1e-4, 1.0),
    "adamw": (1e-4, 1.0),
    "nadam": (1e-4, 1.0),
    "radam": (1e-4, 1.0),
    "adabound": (1e-4, 1.0),
}

DEFAULT_FINAL_SEEDS = 3

# the losses that choose a rate: the validation loss where the runs have one
SELECTION = ("final_val_loss", "final_train_loss")
SEARCH, FINAL = "search", "final"


def lr_range(optim: str, given: Sequence[float] | None = None) -> tuple[float, float]:
    """The range the rates of ``optim`` are drawn from: ``given``, else
    :data:`LR_RANGES`, else ``[lr0 / 100, lr0 * 100]`` around its default rate ``lr0``."""
    if given is not None:
        return float(given[0]), float(given[1])
    if optim in LR_RANGES:
        return LR_RANGES[optim]
    lr0 = float(OPTIMIZERS.get(optim).defaults["lr"])
    return lr0 / 100, lr0 * 100


def _num(x: Any) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def selection_name(val_losses: Any) -> str:
    """The loss that ranks learning rates: ``final_val_loss`` when any of ``val_losses``
    (the runs' final validation losses) is a number, else ``final_train_loss``."""
    return SELECTION[0] if any(not math.isnan(_num(v)) for v in val_losses) else SELECTION[1]


def trial_score(loss: Any, status: Any = "done") -> float:
    """A run's score for choosing a learning rate: its loss, ``+inf`` for a diverged run
    or a NaN or infinite loss."""
    x = _num(loss)
    return math.inf if str(status) == "diverged" or not math.isfinite(x) else x


def choose_rate(lrs: Sequence[Any], scores: Sequence[float]) -> tuple[Any, float]:
    """The rate whose runs have the lowest mean score, the first in order on a tie: the
    one rule that chooses a tuned rate (:func:`nnbench.summary.choose_lr` is it on
    pandas columns; a rate with a diverged seed, score ``+inf``, never wins)."""
    sums: dict[Any, list[float]] = {}
    for lr, sc in zip(lrs, scores, strict=True):
        sums.setdefault(lr, []).append(float(sc))
    means = {lr: (math.inf if math.inf in v else sum(v) / len(v)) for lr, v in sums.items()}
    best = min(means, key=lambda lr: means[lr])  # min keeps the first of equal means
    return best, means[best]


def ranges_of(exp: Any) -> Any:
    """``optimizer -> (lo, hi)`` of a tuned experiment (None for another)."""
    if exp is None or getattr(exp, "tune", None) is None:
        return None
    return lambda optim: lr_range(optim, exp.lr_range)


def quantiles(budget: int, seed: int) -> np.ndarray:
    """The ``u_i`` of the ``budget`` trials, the same for every optimizer and task."""
    return np.random.default_rng(seed).random(budget)


def trial_lrs(lo: float, hi: float, budget: int, seed: int) -> list[float]:
    """The ``budget`` learning rates drawn log-uniformly from ``[lo, hi]``."""
    u = quantiles(budget, seed)
    return [float(v) for v in np.exp(np.log(lo) + u * (np.log(hi) - np.log(lo)))]


def check(exp: Any) -> None:
    """A tuned experiment's keys make sense together (one line otherwise)."""
    if exp.tune is None:
        for key in ("budget", "final_seeds", "lr_range"):
            if getattr(exp, key) is not None:
                flag = "--" + key.replace("_", "-")
                raise NNBenchError(f"{flag} is a setting of the tuning; give --tune lr with "
                                   f"it (e.g. --tune lr --budget 8)")
        return
    if exp.budget is None:
        raise NNBenchError("--tune lr needs --budget N: the number of learning rates tried "
                           "per optimizer (e.g. --budget 8)")
    if exp.lrs is not None or exp.base.lr is not None:
        raise NNBenchError("--tune lr draws the learning rates itself; give no --lr or --lrs "
                           "with it (--lr-range LO,HI sets the range)")


def search_runs(exp: Any, combos: list[tuple[dict[str, Any], list[str]]],
                optim_of: Any) -> list[Any]:
    """The trials of a tuned experiment: for each combination of the other axes
    (``changes``, ``parts`` of its run id) ``budget`` runs at the rates drawn for its
    optimizer (``optim_of(cfg)``), with the first seed; run ids ``<parts>-tune<i>-s<seed>``."""
    check(exp)
    seed = exp.seed_values()[0]
    runs = []
    for changes, parts in combos:
        cfg = replace(exp.base, **changes, seed=seed, hp=dict(exp.base.hp),
                      schedule_kw=dict(exp.base.schedule_kw), task_kw=dict(exp.base.task_kw))
        lo, hi = lr_range(optim_of(cfg), exp.lr_range)
        for i, lr in enumerate(trial_lrs(lo, hi, exp.budget, seed)):
            runs.append(replace(cfg, lr=lr, run_id="-".join([*parts, f"tune{i}", f"s{seed}"]),
                                hp=dict(cfg.hp), schedule_kw=dict(cfg.schedule_kw),
                                task_kw=dict(cfg.task_kw)))
    return runs


def final_seeds(exp: Any) -> list[int]:
    """The seeds of the final runs: the ``final_seeds`` after the tuning seed."""
    first = exp.seed_values()[0]
    k = exp.final_seeds if exp.final_seeds is not None else DEFAULT_FINAL_SEEDS
    return list(range(first + 1, first + 1 + k))


def final_runs(exp: Any, search: Sequence[Any], rows: dict[str, dict[str, Any]]) -> list[Any]:
    """The final runs: each cell's best trial (by ``rows``, the runs.csv rows of the
    trials, chosen with :func:`nnbench.summary.choose_lr`) again with
    :func:`final_seeds`, run ids ``<parts>-final-s<seed>``."""
    cells: dict[tuple, list[Any]] = {}
    for r in search:
        cells.setdefault(group_key(r), []).append(r)
    seeds = final_seeds(exp)
    out = []
    for trials in cells.values():
        if any(t.run_id not in rows for t in trials):  # pragma: no cover - trained first
            raise NNBenchError("a trial of the tuning has no result; resume the experiment")
        recs = [rows[t.run_id] for t in trials]
        column = selection_name(r.get(SELECTION[0]) for r in recs)
        scores = [trial_score(r.get(column), r.get("status")) for r in recs]
        best_id, _ = choose_rate([t.run_id for t in trials], scores)  # one seed per trial
        best = next(t for t in trials if t.run_id == best_id)
        head = best.run_id.rpartition("tune")[0]  # the other axes' part, "adam-" or ""
        for s in seeds:
            run_id = f"{head}final-s{s}"
            out.append(replace(best, seed=s, run_id=run_id, hp=dict(best.hp),
                               schedule_kw=dict(best.schedule_kw), task_kw=dict(best.task_kw)))
    return out
