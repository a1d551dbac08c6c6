"""Magnitude pruning (the notes' sparse networks, 001): zero the smallest weights.

For a weight matrix ``W`` with ``N`` entries and a sparsity ``s`` in [0, 1], the
``k = round(s N)`` entries of smallest ``|W|`` become 0 (ties broken by position, so that
exactly ``k`` are removed); biases are kept. Each layer is pruned to the same sparsity, so
the network's sparsity over its weights is ``s`` up to the rounding of each layer.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nnbench.core.errors import NNBenchError, check_range


def prune_mask(W: np.ndarray, sparsity: float) -> np.ndarray:
    """The boolean mask of the weights kept when pruning ``W`` to ``sparsity``, computed per
    run along a leading runs axis when ``W`` has three dimensions ``(runs, fan_in, fan_out)``."""
    check_range("sparsity", sparsity, 0.0, 1.0)
    W = np.asarray(W)
    if W.ndim == 3:
        return np.stack([prune_mask(w, sparsity) for w in W])
    flat = np.abs(W).ravel()
    k = int(round(float(sparsity) * flat.size))
    keep = np.ones(flat.size, dtype=bool)
    keep[np.argsort(flat, kind="stable")[:k]] = False
    return keep.reshape(W.shape)


def prune_weights(weights: Sequence[np.ndarray], sparsity: float) -> list[np.ndarray]:
    """Copies of ``weights`` (the ``W`` matrices) with each pruned to ``sparsity``."""
    return [np.where(prune_mask(W, sparsity), W, 0).astype(np.asarray(W).dtype)
            for W in weights]


def sparsity_of(weights: Sequence[np.ndarray]) -> float:
    """The fraction of exact zeros over all entries of ``weights``."""
    total = sum(int(np.asarray(W).size) for W in weights)
    if total == 0:
        raise NNBenchError("sparsity of a network without weights is undefined")
    return sum(int(np.count_nonzero(np.asarray(W) == 0)) for W in weights) / total


def parse_sparsities(text: str) -> list[float]:
    """``"0,0.5,0.9"`` -> ``[0.0, 0.5, 0.9]``, each in [0, 1], without repeats."""
    try:
        values = [float(v) for v in str(text).split(",")]
    except ValueError:
        raise NNBenchError(f"sparsity must be comma-separated numbers in [0, 1] like "
                           f"0,0.5,0.9, got {text!r}") from None
    for v in values:
        check_range("sparsity", v, 0.0, 1.0)
    if len(set(values)) != len(values):
        raise NNBenchError(f"sparsity lists a level twice: {text!r}; give each once")
    return values
