"""``nnbench prune DIR``: magnitude pruning of the trained networks of a results directory.

Every finished run with saved weights (``weights/<run_id>.npz``) is rebuilt from the
experiment's ``config.toml``, pruned to each sparsity level (:mod:`nnbench.core.prune`: the
smallest ``|W|`` of every weight matrix set to 0, biases kept) and evaluated on its data:
the loss and accuracy on the training set and on the test set (else the validation set).
With ``finetune = T`` each pruned network then trains ``T`` more full-batch steps with the
run's optimizer (fresh state) and learning rate, the pruned weights held at 0, and is
evaluated again. Results go to ``DIR/prune.csv`` (one row per run, level and stage) and the
figure ``DIR/figures/sparsity.png``: accuracy (or loss for regression) against sparsity,
mean and range over seeds per configuration.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nnbench import summary
from nnbench.config import resolve_experiment
from nnbench.core.errors import NNBenchError, check_int
from nnbench.core.losses import LOSSES
from nnbench.core.optimizers import optimizer
from nnbench.core.prune import prune_mask, sparsity_of
from nnbench.engine import build_model
from nnbench.plots import draw_sparsity, save
from nnbench.plots.sparsity import PRUNE_CSV
from nnbench.schema import optimizer_hyper
from nnbench.store import (
    CONFIG,
    FIGURES,
    WEIGHTS,
    atomic_write_text,
    load_results,
    locked,
    warn_once,
)
from nnbench.tasks.build import make_task

COLUMNS = ["run_id", "cell", "sparsity", "actual_sparsity", "finetune_steps", "train_loss",
           "train_acc", "eval_set", "eval_loss", "eval_acc"]


def _evaluate(net: Any, loss_obj: Any, X: np.ndarray, Y: np.ndarray) -> tuple[float, float]:
    out = net.forward(X, train=False)
    C, _ = loss_obj(out, Y)
    acc = float("nan")
    if loss_obj.labels_in(Y):
        acc = float((loss_obj.predict(out) == Y).mean())
    return float(np.asarray(C)[0]), acc


def _cell_columns(runs: Sequence[Any]) -> list[str]:
    """The config fields that vary across ``runs``: the summary's cells
    (:func:`nnbench.summary.axis_columns`), seeds excepted."""
    import pandas as pd

    return summary.axis_columns(pd.DataFrame([r.to_dict() for r in runs]))


def _cell(cfg: Any, varying: Sequence[str]) -> str:
    return ", ".join(f"{k} {getattr(cfg, k)}" for k in varying)


def prune_results(out_dir: str | Path, sparsities: Sequence[float],
                  finetune: int = 0) -> Any:
    """Prune every saved run of ``out_dir`` to each level of ``sparsities``; write and
    return ``prune.csv`` as a DataFrame (see the module docstring)."""
    import pandas as pd

    out_dir = Path(out_dir)
    finetune = check_int("finetune", finetune, 0)
    if not (out_dir / CONFIG).is_file():
        raise NNBenchError(f"{out_dir} is not a results directory (no config.toml); give a "
                           "directory written by nnbench run or compare")
    results = load_results(out_dir)
    _, runs = resolve_experiment(results.config)
    status = dict(zip(results.runs["run_id"], results.runs["status"], strict=True))
    missing = [r.run_id for r in runs if status.get(r.run_id) in ("done", "diverged")
               and not (out_dir / WEIGHTS / f"{r.run_id}.npz").is_file()]
    runs = [r for r in runs if (out_dir / WEIGHTS / f"{r.run_id}.npz").is_file()]
    if missing and runs:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more"
                                          if len(missing) > 5 else "")
        warn_once(f"{out_dir}: no weights file for finished run{'s' * (len(missing) > 1)} "
                  f"{shown} ({WEIGHTS}/<run_id>.npz missing): left out of the pruning")
    if any(r.binary for r in runs):
        raise NNBenchError(f"{out_dir} holds binary networks: every weight is +1 or -1 in "
                           "their forward pass, so there are no small weights to prune")
    if not runs:
        what = f" (missing for {', '.join(missing[:5])})" if missing else ""
        raise NNBenchError(f"{out_dir} has no saved weights (weights/<run_id>.npz) to "
                           f"prune{what}")
    varying = _cell_columns(runs)
    rows: list[dict[str, Any]] = []
    cache: dict[str, Any] = {}
    for cfg in runs:
        key = repr((cfg.task, sorted(cfg.task_kw.items()), cfg.data_seed, cfg.val_frac,
                    cfg.dtype))
        if key not in cache:
            task = make_task(cfg)
            if getattr(task, "kind", "") == "landscape":
                raise NNBenchError("pruning needs a network trained on data; "
                                   f"task '{cfg.task}' is a landscape")
            cache[key] = (task, task.load(seed=cfg.data_seed, val_frac=cfg.val_frac,
                                          dtype=cfg.dtype))
        task, data = cache[key]
        net = build_model(cfg, task, data.n_features, data.n_outputs, [int(cfg.seed)])
        if not getattr(net, "weights", None):
            raise NNBenchError(f"run {cfg.run_id}: model '{cfg.model}' has no weights to prune")
        saved = results.weights(cfg.run_id)
        loss_obj = LOSSES.create(cfg.loss)
        if data.X_test is not None and len(data.X_test):
            ev = ("test", data.X_test, data.y_test)
        elif data.X_val is not None and len(data.X_val):
            ev = ("val", data.X_val, data.y_val)
        else:
            ev = ("train", data.X_train, data.y_train)
        for s in sparsities:
            for i, a in enumerate(saved):
                net.params[i][...] = a
            masks = [prune_mask(W, s) for W in net.weights]
            for W, m in zip(net.weights, masks, strict=True):
                W *= m
            stages = [0] + ([finetune] if finetune else [])
            for steps in stages:
                if steps:
                    _finetune(net, cfg, loss_obj, data, masks, steps)
                tr_loss, tr_acc = _evaluate(net, loss_obj, data.X_train, data.y_train)
                ev_loss, ev_acc = _evaluate(net, loss_obj, ev[1], ev[2])
                rows.append({"run_id": cfg.run_id, "cell": _cell(cfg, varying),
                             "sparsity": float(s),
                             "actual_sparsity": sparsity_of(net.weights),
                             "finetune_steps": steps, "train_loss": tr_loss,
                             "train_acc": tr_acc, "eval_set": ev[0], "eval_loss": ev_loss,
                             "eval_acc": ev_acc})
    df = pd.DataFrame(rows, columns=COLUMNS)
    atomic_write_text(out_dir / PRUNE_CSV, df.to_csv(index=False, lineterminator="\n"))
    return df


def _finetune(net: Any, cfg: Any, loss_obj: Any, data: Any, masks: list[np.ndarray],
              steps: int) -> None:
    """``steps`` full-batch updates with the run's optimizer and lr; pruned weights stay 0
    (their gradient is masked and the mask applied again after every update)."""
    opt = optimizer(cfg.optim, lr=float(cfg.lr), **optimizer_hyper(cfg))
    state = opt.init(net.params)
    with np.errstate(all="ignore"):
        for _ in range(steps):
            _, grads = net.loss_and_grads(data.X_train, data.y_train, loss=loss_obj)
            for l, m in enumerate(masks):
                grads[2 * l] *= m
            opt.update(net.params, grads, state)
            for W, m in zip(net.weights, masks, strict=True):
                W *= m


def prune_dir(out_dir: str | Path, sparsities: Sequence[float], finetune: int = 0,
              fmt: str = "png") -> tuple[Path, Path]:
    """:func:`prune_results` then the figure; returns the CSV and figure paths."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise NNBenchError(f"{out_dir} is not a results directory (it does not exist); "
                           "give a directory written by nnbench run or compare")
    with locked(out_dir, "prune"):  # one writer at a time
        df = prune_results(out_dir, sparsities, finetune)
        fig = draw_sparsity(df, load_results(out_dir, strict=False).title)
        path = save(fig, out_dir / FIGURES / "sparsity", fmt)
    return out_dir / PRUNE_CSV, path
