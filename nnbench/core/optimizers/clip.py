"""Gradient clipping to a global norm per run, as ``torch.nn.utils.clip_grad_norm_``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nnbench.core.optimizers.base import Hyper, _check_lengths, _check_params
from nnbench.core.optimizers.constraints import POSITIVE, check_hyperparameters


def clip_grad_norm(grads: Sequence[np.ndarray], max_norm: Hyper) -> np.ndarray:
    """Clip each run's gradients to a global L2 norm, in place; return the norms before.

    For run ``r``, ``n_r = sqrt(sum_i ||grads[i][r]||^2)`` over all its parameter
    arrays, and every ``grads[i][r]`` is multiplied by ``min(1, max_norm / (n_r + 1e-6))``,
    as ``torch.nn.utils.clip_grad_norm_`` does for one model. ``max_norm`` is a
    positive scalar or one value per run. Returns ``n`` with shape ``(R,)``.
    """
    mx = check_hyperparameters({"max_norm": POSITIVE}, {"max_norm": max_norm})["max_norm"]
    runs = _check_params(grads)
    _check_lengths({"max_norm": mx}, runs)
    sq = None
    for g in grads:
        flat = g.reshape(runs, -1)
        s = np.einsum("ij,ij->i", flat, flat)
        sq = s if sq is None else sq + s
    norms = np.sqrt(sq)
    coef = np.minimum(np.asarray(mx, dtype=norms.dtype) / (norms + 1e-6), 1.0)
    for g in grads:
        g *= coef.astype(g.dtype, copy=False).reshape((-1,) + (1,) * (g.ndim - 1))
    return norms
