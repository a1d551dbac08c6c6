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

from nnbench.core.errors import NNBenchError, check_int
from nnbench.core.prune import prune_mask, sparsity_of

PRUNE_CSV = "prune.csv"
COLUMNS = ["run_id", "cell", "sparsity", "actual_sparsity", "finetune_steps", "train_loss",
           "train_acc", "eval_set", "eval_loss", "eval_acc"]


def _runs(out_dir: Path) -> list[Any]:
    from nnbench.config import load_toml, resolve_experiment

    _, runs = resolve_experiment(load_toml(out_dir / "config.toml"))
    return runs


def _evaluate(net: Any, loss_obj: Any, X: np.ndarray, Y: np.ndarray) -> tuple[float, float]:
    out = net.forward(X, train=False)
    C, _ = loss_obj(out, Y)
    acc = float("nan")
    if getattr(loss_obj, "takes_labels", False):
        acc = float((loss_obj.predict(out) == Y).mean())
    return float(np.asarray(C)[0]), acc


def _cell(cfg: Any, varying: Sequence[str]) -> str:
    return ", ".join(f"{k} {getattr(cfg, k)}" for k in varying)


def prune_results(out_dir: str | Path, sparsities: Sequence[float],
                  finetune: int = 0) -> Any:
    """Prune every saved run of ``out_dir`` to each level of ``sparsities``; write and
    return ``prune.csv`` as a DataFrame (see the module docstring)."""
    import pandas as pd

    from nnbench.config import make_task
    from nnbench.core.losses import LOSSES
    from nnbench.core.optimizers import optimizer
    from nnbench.engine import build_model
    from nnbench.store import atomic_write_text

    out_dir = Path(out_dir)
    finetune = check_int("finetune", finetune, 0)
    if not (out_dir / "config.toml").is_file():
        raise NNBenchError(f"{out_dir} is not a results directory (no config.toml); give a "
                           "directory written by nnbench run or compare")
    runs = [r for r in _runs(out_dir) if (out_dir / "weights" / f"{r.run_id}.npz").is_file()]
    if any(r.binary for r in runs):
        raise NNBenchError(f"{out_dir} holds binary networks: every weight is +1 or -1 in "
                           "their forward pass, so there are no small weights to prune")
    if not runs:
        raise NNBenchError(f"{out_dir} has no saved weights (weights/<run_id>.npz) to prune")
    varying = [k for k in ("model", "optim", "lr", "act", "depth", "width", "init",
                           "batch_size", "schedule", "l2", "dropout")
               if len({str(getattr(r, k)) for r in runs}) > 1]
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
        with np.load(out_dir / "weights" / f"{cfg.run_id}.npz", allow_pickle=False) as z:
            saved = [z[f"p{i}"] for i in range(len(net.params))]
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
                    _finetune(net, cfg, loss_obj, data, masks, steps, optimizer)
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
              steps: int, optimizer: Any) -> None:
    """``steps`` full-batch updates with the run's optimizer and lr; pruned weights stay 0
    (their gradient is masked and the mask applied again after every update)."""
    opt = optimizer(cfg.optim, lr=float(cfg.lr), **cfg.hp)
    state = opt.init(net.params)
    with np.errstate(all="ignore"):
        for _ in range(steps):
            _, grads = net.loss_and_grads(data.X_train, data.y_train, loss=loss_obj)
            for l, m in enumerate(masks):
                grads[2 * l] *= m
            opt.update(net.params, grads, state)
            for W, m in zip(net.weights, masks, strict=True):
                W *= m


def fig_sparsity(df: Any, title: str) -> Any:
    """Accuracy (loss for regression) on the evaluation set against sparsity, one line per
    configuration and stage (mean over seeds, shaded between the lowest and highest)."""
    from nnbench.plots import _BASE, _figure, _legend

    df = df.assign(cell=df["cell"].astype(object).fillna("").astype(str))  # "" reads as NaN
    metric = "eval_acc" if df["eval_acc"].notna().any() else "eval_loss"
    fig, axes = _figure(1, 1, w=6.5, h=4.2)
    ax = axes[0, 0]
    keys = list(dict.fromkeys(zip(df["cell"], df["finetune_steps"], strict=True)))
    for i, (cell, steps) in enumerate(keys):
        g = df[(df["cell"] == cell) & (df["finetune_steps"] == steps)]
        st = g.groupby("sparsity")[metric].agg(["mean", "min", "max"]).sort_index()
        label = ", ".join(filter(None, [cell, f"pruned, fine-tuned {steps} steps" if steps
                                        else "pruned"]))
        color = _BASE[(i // 2 if df["finetune_steps"].max() else i) % len(_BASE)]
        ls = "--" if steps else "-"
        ax.plot(st.index, st["mean"], ls, marker="o", color=color, label=label)
        ax.fill_between(st.index, st["min"], st["max"], color=color, alpha=0.15, lw=0)
    ev = df["eval_set"].iloc[0]
    ax.set_xlabel("sparsity (fraction of weights set to 0)")
    ax.set_ylabel(f"{ev} {'accuracy' if metric == 'eval_acc' else 'loss'}")
    ax.grid(alpha=0.3)
    seeds = df.groupby(["cell", "finetune_steps", "sparsity"])["run_id"].nunique().max()
    ax.set_title(f"{title}: magnitude pruning (mean of {seeds} seeds, band min-max)",
                 fontsize="medium")
    _legend(fig, axes)
    return fig


def prune_dir(out_dir: str | Path, sparsities: Sequence[float], finetune: int = 0,
              fmt: str = "png") -> tuple[Path, Path]:
    """:func:`prune_results` then the figure; returns the CSV and figure paths."""
    from nnbench.plots import load, save

    out_dir = Path(out_dir)
    df = prune_results(out_dir, sparsities, finetune)
    fig = fig_sparsity(df, load(out_dir).title)
    path = save(fig, out_dir / "figures" / "sparsity", fmt)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return out_dir / PRUNE_CSV, path
