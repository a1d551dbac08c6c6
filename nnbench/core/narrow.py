"""The one-hidden-layer pass for few inputs and outputs, in about half the passes.

The notes' 1-100-1 sin network and the sweeps' 1-32-1 spend every step in passes over the
``n x width`` hidden layer; with ``K`` inputs and ``O`` outputs, ``(K + 1) O`` small, most of
those passes can go. With ``X1 = [X, 1]`` and ``V = [W^1; b^1]`` the hidden layer is one
matmul, ``z = X1 V``. Backprop's ``d^1 = (d^2 (W^2)^T) * f'(z)`` is never formed:

    dC/dV_kj = sum_i X1_ik d^1_ij = sum_o W^2_jo sum_i f'(z_ij) X1_ik d^2_io,

so with ``P_i,(k,o) = X1_ik d^2_io`` (``n x (K+1) O``) it is the matmul ``f'(z)^T P`` and a
contraction with ``W^2``: the same sums as the four equations in another order (equal to
them at rtol 1e-10, tested). An activation with ``from_negated`` (sigmoid) gets ``-z`` from
the matmul with ``-V`` and saves the negation; its ``grad`` and statistic then use ``a``
only, and ``z`` is not kept.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnbench.core.activations import Layer, sigmoid
from nnbench.core.losses import output_loss
from nnbench.core.passes import Pass

#: ``(fan_in + 1) x outputs`` at most for :func:`narrow_loss_and_grads`
NARROW = 8


def takes_narrow(net: Any, train: bool) -> bool:
    """Whether :func:`narrow_loss_and_grads` computes this pass of the MLP ``net``: one
    hidden layer of an elementwise activation without learned or random slopes or dropout,
    and an input and output so narrow that ``(fan_in + 1) x outputs <= net.NARROW``
    (:data:`NARROW` unless the network sets its own)."""
    act = net.activation
    if net.n_layers != 2 or not act.elementwise or act.learnable:
        return False
    if train and (act.random or net.dropout > 0):
        return False
    return (net.sizes[0] + 1) * net.sizes[2] <= net.NARROW


def narrow_loss_and_grads(net: Any, X: np.ndarray, Y: Any,
                          loss_fn: Any) -> tuple[np.ndarray, list[np.ndarray], Pass]:
    """``net.compute`` of a one-hidden-layer network for which :func:`takes_narrow` holds:
    the loss ``(R,)``, the gradients of ``[W1, b1, W2, b2]`` (before regularization) and the
    pass (see the module)."""
    act = net.activation
    W1, W2 = net.used_weights()
    b1, b2 = net.params[1], net.params[3]
    K, R = net.sizes[0], net.runs
    X1 = np.empty(X.shape[:-1] + (K + 1,), dtype=net.dtype)
    X1[..., :K] = X
    X1[..., K] = 1.0
    V = np.concatenate([W1, b1], axis=1)  # (R, K + 1, width)
    negated = hasattr(act, "from_negated")
    if negated:
        np.negative(V, out=V)
    z = np.matmul(X1, V[0])[None] if R == 1 and X.ndim == 2 else np.matmul(X1, V)
    if negated:  # |z_ij| <= max |X| sum_k |W_kj| + |b_j|: a lower bound of -z, nearly free
        bound = float(np.abs(X).max()) * np.abs(W1).sum(axis=1) + np.abs(b1[:, 0])
        a = act.from_negated(z, low=-float(bound.max()) * (1 + 1e-3))
    else:
        a = act(z, None)
    z = None if negated else z
    out = np.matmul(a, W2)
    out += b2
    out_z = None
    if net.out_act == "sigmoid":  # a^2 = sigma(z^2)
        out_z, out = out, sigmoid(out)
    C, delta = output_loss(loss_fn, net.out_act, out, out_z, Y)  # (R, n, O)
    grads: list[np.ndarray] = [None] * 4  # type: ignore[list-item]
    grads[2] = np.matmul(np.swapaxes(a, -1, -2), delta)  # (BP4) (a^1)^T d^2
    grads[3] = delta.sum(axis=1, keepdims=True)  # (BP3)
    n, O = delta.shape[-2], delta.shape[-1]
    P = (X1[..., :, :, None] * delta[..., :, None, :]).reshape(R, n, (K + 1) * O)
    Q = np.matmul(np.swapaxes(act.grad(z, a, None), -1, -2), P)  # f'(z)^T P
    G = np.einsum("rjko,rjo->rkj", Q.reshape(R, -1, K + 1, O), W2)  # (R, K + 1, width)
    grads[0] = np.ascontiguousarray(G[:, :K])
    grads[1] = np.ascontiguousarray(G[:, K:])
    return C, grads, Pass(layers=[Layer(z, a)], weights=[W1, W2], out_z=out_z)
