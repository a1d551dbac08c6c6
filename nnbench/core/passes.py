"""The pass object: what a network's forward pass keeps for backprop and for statistics.

A network's ``compute`` returns the loss, the gradients and a :class:`Pass`; nothing of a
pass is written into the network, so the same network can run many passes at once (the
blocks of :mod:`nnbench.core.parallel`, a compiled backend) and the training loop decides
which pass to keep (``record``) for :meth:`Pass.layer_stats`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnbench.core.activations import Layer
from nnbench.core.errors import NNBenchError


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` over the stacked runs. With an inner size of 1 (a 1-input or 1-output layer,
    as in the notes' 1-100-1 sin network) it is an outer product, computed as a broadcast
    product: the same numbers, which numpy's matmul would compute without BLAS, slower."""
    if a.shape[-1] == 1:
        return a * b
    return np.matmul(a, b)


def layer_stat(act: Any, layer: Layer) -> np.ndarray | None:
    """The statistic ``act.stat`` of one layer of one pass, ``(runs,)`` float64: the fraction
    of saturated entries, or of units dead (``z <= 0``) on every sample; ``None`` for an
    activation without one (maxout)."""
    if act.stat is None:
        return None
    if act.stat == "dead_frac":
        value = (layer.z <= 0).all(axis=1).mean(axis=1)
    else:
        value = act.saturated(layer.z, layer.a).mean(axis=(1, 2))
    return value.astype(np.float64)


@dataclass
class Pass:
    """One forward pass of a network over one batch.

    ``layers``: a :class:`~nnbench.core.activations.Layer` per hidden layer (``z``, ``a``,
    dropout's mask, the slope used); ``weights``: the weight matrices the pass multiplied by
    (``W``, or ``sign(W)`` for binary weights); ``noise``: RReLU's slopes drawn in training
    (``None`` otherwise); ``out_z``: the output layer's ``z^L`` when an output activation
    (``out_act="sigmoid"``) made the output ``a^L = sigma(z^L)`` (``None`` otherwise)."""

    layers: list[Layer] = field(default_factory=list)
    weights: list[np.ndarray] = field(default_factory=list)
    noise: list[np.ndarray] | None = None
    out_z: np.ndarray | None = None

    def layer_stats(self, act: Any) -> list[dict[str, np.ndarray]]:
        """One dict per hidden layer, each value ``(runs,)``: ``{act.stat: value}``, or
        ``{}`` for an activation without a statistic."""
        out = []
        for layer in self.layers:
            value = layer_stat(act, layer)
            out.append({} if value is None else {act.stat: value})
        return out


def check_input(X, dtype, d: int, runs: int) -> np.ndarray:
    """``X`` as an array of ``dtype``, checked to be ``(n, d)`` (every run's input) or
    ``(runs, n, d)`` (one per run) with ``n >= 1``: the one check and wording of a network's
    input, for the NumPy pass and the kernels alike."""
    X = np.asarray(X, dtype=dtype)
    if not (
        (X.ndim == 2 and X.shape[1] == d)
        or (X.ndim == 3 and X.shape[0] == runs and X.shape[2] == d)
    ) or X.shape[-2] < 1:
        raise NNBenchError(
            f"X must have shape (n, {d}) or (runs={runs}, n, {d}) with n >= 1, got {X.shape}"
        )
    return X
