"""The memory a group of runs needs, estimated before anything is allocated.

:func:`check_memory` refuses, in one line, a group whose estimate exceeds the machine's
physical memory (``os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")``): a width
of 10^8 or a batch of millions fails there, before the results directory exists, rather
than with NumPy's allocation error in the middle of training.

The estimate (:func:`group_bytes`) counts what training holds at once:

- the data set (inputs and targets of every split, in the run's dtype);
- the parameters of the ``R`` runs and what has their size: the gradients, the
  optimizer's state (as many arrays as its ``init`` makes per parameter), a copy for the
  best or final weights;
- the largest pass, four arrays of every layer's outputs (``z`` and ``a`` kept by the
  forward pass, backprop's ``dC/da``, ``f'(z)`` and ``d``): of an evaluation pass over the
  training set (not split into blocks), or of the training pass over a batch (split into
  blocks of samples, :class:`nnbench.core.parallel.Chunking`, of which one is computed at a
  time per run).

It is a lower bound of the peak rather than a measurement: a refused group would not fit.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from nnbench.core.errors import NNBenchError
from nnbench.core.optimizers import optimizer
from nnbench.core.parallel import Chunking
from nnbench.engine import group_label
from nnbench.schema import FULL_BATCH


def machine_bytes() -> int | None:
    """The machine's physical memory in bytes (``None`` where the system does not say)."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, OSError, ValueError):
        return None


def human_bytes(n: float) -> str:
    """``n`` bytes as ``12.3 GB`` (powers of 1024: KB, MB, GB, TB, PB)."""
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if n < 1024 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError  # pragma: no cover


def layer_sizes(cfg: Any, n_features: int, n_outputs: int) -> list[tuple[int, int]]:
    """``(fan_in, fan_out)`` of every weight matrix of the run's model."""
    if cfg.model == "mlp":
        depth, width = int(cfg.depth), int(cfg.width)
        pieces = int(cfg.pieces or 2) if cfg.act == "maxout" else 1
        sizes, fan_in = [], n_features
        for _ in range(depth):
            sizes.append((fan_in, width * pieces))
            fan_in = width
        one = cfg.loss in ("bce_with_logits", "sigmoid_mse")  # one logit for two classes
        return [*sizes, (fan_in, 1 if one else n_outputs)]
    outputs = 1 if cfg.model in ("logistic", "perceptron") else n_outputs
    return [(n_features, outputs)]


def state_arrays(cfg: Any) -> int:
    """How many arrays of a parameter's size the run's optimizer keeps (Adam: 2)."""
    opt = optimizer(cfg.optim, lr=float(cfg.lr), **cfg.hp)
    probe = np.zeros((1, 3))
    state = opt.init([probe])

    def count(x: Any, seen: set[int]) -> int:
        if id(x) in seen:
            return 0
        seen.add(id(x))
        if isinstance(x, np.ndarray):
            return int(x.shape == probe.shape)
        if isinstance(x, dict):
            return sum(count(v, seen) for v in x.values())
        if isinstance(x, (list, tuple)):
            return sum(count(v, seen) for v in x)
        if hasattr(x, "__dict__"):
            return sum(count(v, seen) for v in vars(x).values())
        return 0

    return count(state, set())


def group_bytes(group: Sequence[Any], task: Any) -> dict[str, int]:
    """The estimate for a group of resolved runs (one model of ``len(group)`` runs):
    ``{"data", "parameters", "activations", "total"}`` in bytes."""
    cfg, R = group[0], len(group)
    if getattr(task, "kind", None) == "landscape":
        return {"data": 0, "parameters": 0, "activations": 0, "total": 0}
    item = np.dtype(cfg.dtype).itemsize
    n_train, n_val, n_test, n_features, n_outputs = task.sizes(cfg.data_seed, cfg.val_frac)
    data = (n_train + n_val + n_test) * (n_features + n_outputs) * item
    n_eval = max(n_val, n_test)
    layers = layer_sizes(cfg, n_features, n_outputs)
    n_params = sum((fan_in + 1) * fan_out for fan_in, fan_out in layers)
    copies = 3 + state_arrays(cfg)  # weights, gradients, a kept copy, the optimizer's
    parameters = R * n_params * copies * item
    hidden = [fan_out for _, fan_out in layers]  # z and a of every layer, out included
    widest = max(hidden)
    b = n_train if cfg.batch_size == FULL_BATCH else min(int(cfg.batch_size), n_train)
    rows = Chunking().rows(b, widest)  # a training pass in blocks of samples
    own = b == n_train and cfg.loss in ("mse", "half_sse")  # a step that is its evaluation
    evaluation = max(0 if own else n_train, n_eval)  # evaluation passes are not split
    # z and a kept by the pass, then dC/da, f'(z) and the delta of backprop
    activations = R * 4 * sum(hidden) * item * max(rows, evaluation)
    return {"data": data, "parameters": parameters, "activations": activations,
            "total": data + parameters + activations}


def check_memory(groups: Sequence[Sequence[Any]], task_of: Any,
                 available: int | None = None) -> None:
    """Raise NNBenchError (one line) when a group needs more memory than the machine has.

    ``task_of(cfg)`` builds a run's task; ``available`` defaults to :func:`machine_bytes`.
    """
    available = machine_bytes() if available is None else available
    if not available:
        return
    tasks: dict[Any, Any] = {}  # the runs of an experiment share their task: build it once
    for group in groups:
        key = (group[0].task, repr(sorted(group[0].task_kw.items())), group[0].data_dir,
               group[0].start)
        if key not in tasks:
            tasks[key] = _SizedTask(task_of(group[0]))
        need = group_bytes(group, tasks[key])
        if need["total"] > available:
            cfg, R = group[0], len(group)
            runs = f"{R} run{'s' if R != 1 else ''}"
            parts = ", ".join(f"{k} {human_bytes(need[k])}"
                              for k in ("parameters", "activations", "data") if need[k])
            raise NNBenchError(
                f"a group of {runs} ({group_label(cfg)}) needs about "
                f"{human_bytes(need['total'])} of memory ({parts}); this machine has "
                f"{human_bytes(available)}: make --width, --depth or --batch-size smaller, "
                "or train fewer runs together (--group-size)")


class _SizedTask:
    """A task whose :meth:`sizes` are computed once per data seed and validation split."""

    def __init__(self, task: Any):
        self.task, self.kind, self.cache = task, getattr(task, "kind", None), {}

    def sizes(self, seed: int, val_frac: float | None) -> tuple[int, ...]:
        if (seed, val_frac) not in self.cache:
            self.cache[seed, val_frac] = self.task.sizes(seed, val_frac)
        return self.cache[seed, val_frac]


__all__ = ["check_memory", "group_bytes", "human_bytes", "machine_bytes"]
