"""Notes 003's worked example: every error delta and partial derivative of one training
example of a 12-3-2 sigmoid network, computed three ways.

The notes number the layers 1 (the 12 inputs ``x_i = a^1_i``), 2 (3 hidden sigmoid units)
and 3 (2 sigmoid output units), write ``w^l_ji`` for the weight from unit ``i`` of layer
``l - 1`` to unit ``j`` of layer ``l`` (nnbench's ``W^l[i, j]``) and take, for one example
``k`` with one-hot targets ``t``, the squared error ``C_k = 1/2 sum_j (t_j - a^3_j)^2``:

    z^l_j = sum_i w^l_ji a^(l-1)_i + b^l_j,     a^l_j = sigma(z^l_j),
    delta^3_j = (a^3_j - t_j) sigma'(z^3_j),    delta^2_i = (sum_j delta^3_j w^3_ji) sigma'(z^2_i),
    dC_k/dw^l_ji = delta^l_j a^(l-1)_i,         dC_k/db^l_j = delta^l_j,

with ``sigma'(z) = sigma(z) (1 - sigma(z))``: 36 + 3 + 6 + 2 = 47 partial derivatives.
:func:`notes_pass` writes these formulas out neuron by neuron in plain Python floats (no
NumPy, no nnbench pass); :func:`worked_example` sets them beside nnbench's own backprop (the
MLP's vectorized pass with ``out_act="sigmoid"`` and ``half_sse``, on one example the mean
over samples is ``C_k``) and beside central finite differences of :func:`notes_loss`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nnbench.core.errors import NNBenchError, check_int
from nnbench.core.mlp import MLP
from nnbench.core.optimizers import optimizer

#: the notes' network: 12 inputs, 3 hidden units, 2 outputs
SIZES = (12, 3, 2)
#: the step of the central differences ``(C(p + h) - C(p - h)) / 2h``
FD_STEP = 1e-5

Matrix = list[list[float]]


def _sigma(z: float) -> float:
    """The notes' ``sigma(z) = 1 / (1 + e^-z)`` of one number, without overflow."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@dataclass
class NotesPass:
    """One example through the notes' formulas: each layer's ``z``, ``a`` and ``delta``
    (lists over its units), the loss ``C_k`` and the 47 partial derivatives (in the order of
    :func:`parameter_names`)."""

    z2: list[float]
    a2: list[float]
    delta2: list[float]
    z3: list[float]
    a3: list[float]
    delta3: list[float]
    loss: float
    partials: list[float]


def _layer(W: Matrix, b: Sequence[float], a_prev: Sequence[float]) -> tuple[list, list]:
    """``z_j = sum_i w_ji a_i + b_j``, ``a_j = sigma(z_j)`` over the units ``j`` of a layer
    (``W[i][j]`` is ``w_ji``)."""
    z = [sum(W[i][j] * a_prev[i] for i in range(len(a_prev))) + b[j] for j in range(len(b))]
    return z, [_sigma(v) for v in z]


def notes_loss(W2: Matrix, b2: Sequence[float], W3: Matrix, b3: Sequence[float],
               x: Sequence[float], t: Sequence[float]) -> float:
    """``C_k = 1/2 sum_j (t_j - a^3_j)^2`` of the notes' forward pass."""
    _, a2 = _layer(W2, b2, x)
    _, a3 = _layer(W3, b3, a2)
    return 0.5 * sum((t[j] - a3[j]) ** 2 for j in range(len(t)))


def notes_pass(W2: Matrix, b2: Sequence[float], W3: Matrix, b3: Sequence[float],
               x: Sequence[float], t: Sequence[float]) -> NotesPass:
    """The notes' forward pass, deltas and partials of one example, unit by unit."""
    z2, a2 = _layer(W2, b2, x)
    z3, a3 = _layer(W3, b3, a2)
    loss = 0.5 * sum((t[j] - a3[j]) ** 2 for j in range(len(t)))
    # the output layer: delta^3_j = dC/da^3_j sigma'(z^3_j) = (a^3_j - t_j) a^3_j (1 - a^3_j)
    delta3 = [(a3[j] - t[j]) * a3[j] * (1.0 - a3[j]) for j in range(len(a3))]
    # backwards: delta^2_i = (delta^3_1 w^3_1i + delta^3_2 w^3_2i) sigma'(z^2_i)
    delta2 = [sum(delta3[j] * W3[i][j] for j in range(len(delta3))) * a2[i] * (1.0 - a2[i])
              for i in range(len(a2))]
    partials = [delta2[j] * x[i] for j in range(len(a2)) for i in range(len(x))]
    partials += list(delta2)
    partials += [delta3[j] * a2[i] for j in range(len(a3)) for i in range(len(a2))]
    partials += list(delta3)
    return NotesPass(z2, a2, delta2, z3, a3, delta3, loss, partials)


def parameter_names(sizes: Sequence[int] = SIZES) -> list[str]:
    """``w2_ji`` (unit ``j`` of layer 2, input ``i``), ``b2_j``, ``w3_ji``, ``b3_j``: the
    notes' names of the 47 parameters, in the order of :attr:`NotesPass.partials`."""
    n_in, n_hid, n_out = sizes
    names = [f"w2_{j + 1},{i + 1}" for j in range(n_hid) for i in range(n_in)]
    names += [f"b2_{j + 1}" for j in range(n_hid)]
    names += [f"w3_{j + 1},{i + 1}" for j in range(n_out) for i in range(n_hid)]
    return names + [f"b3_{j + 1}" for j in range(n_out)]


def formulas(sizes: Sequence[int] = SIZES) -> list[str]:
    """Each partial's formula in the notes' symbols: ``d2_j x_i``, ``d2_j``, ``d3_j a2_i``,
    ``d3_j``."""
    n_in, n_hid, n_out = sizes
    out = [f"d2_{j + 1} x_{i + 1}" for j in range(n_hid) for i in range(n_in)]
    out += [f"d2_{j + 1}" for j in range(n_hid)]
    out += [f"d3_{j + 1} a2_{i + 1}" for j in range(n_out) for i in range(n_hid)]
    return out + [f"d3_{j + 1}" for j in range(n_out)]


def _as_lists(params: Sequence[np.ndarray]) -> tuple[Matrix, list, Matrix, list]:
    """``[W2, b2, W3, b3]`` of a one-run network as Python lists (``W[i][j] = w_ji``)."""
    W2, b2, W3, b3 = (np.asarray(p, dtype=np.float64)[0] for p in params[:4])
    return W2.tolist(), b2[0].tolist(), W3.tolist(), b3[0].tolist()


def finite_differences(params: Sequence[np.ndarray], x: Sequence[float], t: Sequence[float],
                       h: float = FD_STEP) -> np.ndarray:
    """The 47 central differences ``(C_k(p + h) - C_k(p - h)) / 2h`` of :func:`notes_loss`,
    one parameter at a time, in the order of :func:`parameter_names`."""
    W2, b2, W3, b3 = _as_lists(params)
    out = []

    def central(cell: list, index: int) -> float:
        keep = cell[index]
        cell[index] = keep + h
        up = notes_loss(W2, b2, W3, b3, x, t)
        cell[index] = keep - h
        down = notes_loss(W2, b2, W3, b3, x, t)
        cell[index] = keep
        return (up - down) / (2.0 * h)

    for W, b in ((W2, b2), (W3, b3)):
        n_in, n_out = len(W), len(b)
        out += [central(W[i], j) for j in range(n_out) for i in range(n_in)]
        out += [central(b, j) for j in range(n_out)]
    return np.array(out)


def _backprop_partials(net: MLP, x: np.ndarray, label: int) -> tuple[float, np.ndarray]:
    """nnbench's own pass on the one example: ``C_k`` and the gradients of ``W2, b2, W3,
    b3`` flattened in the notes' order (``w_ji`` by unit ``j``, then input ``i``)."""
    C, grads = net.loss_and_grads(x[None], np.array([label]), loss="half_sse")
    gW2, gb2, gW3, gb3 = (np.asarray(g, dtype=np.float64)[0] for g in grads[:4])
    flat = np.concatenate([gW2.T.ravel(), gb2.ravel(), gW3.T.ravel(), gb3.ravel()])
    return float(C[0]), flat


@dataclass
class WorkedExample:
    """The worked example of one training image: the image, its label and targets, the
    notes' pass, nnbench's loss and partials, the finite differences, and the largest
    differences between the three."""

    example: int
    image: np.ndarray
    label: int
    targets: list[float]
    steps: int
    seed: int
    notes: NotesPass
    names: list[str]
    formulas: list[str]
    backprop_loss: float
    backprop: np.ndarray
    finite_diff: np.ndarray

    @property
    def partials(self) -> np.ndarray:
        return np.array(self.notes.partials)

    @property
    def max_notes_fd(self) -> float:
        """``max |notes - finite difference|`` over the 47 partials."""
        return float(np.max(np.abs(self.partials - self.finite_diff)))

    @property
    def max_notes_backprop(self) -> float:
        """``max |notes - nnbench's backprop|`` over the 47 partials."""
        return float(np.max(np.abs(self.partials - self.backprop)))


def train(net: MLP, X: np.ndarray, y: np.ndarray, steps: int, lr: float) -> None:
    """``steps`` full-batch steps of gradient descent (SGD) on ``half_sse``, in place."""
    opt = optimizer("sgd", lr=lr)
    state = opt.init(net.params)
    for _ in range(steps):
        _, grads = net.loss_and_grads(X, y, loss="half_sse")
        opt.update(net.params, grads, state)


def worked_example(images: np.ndarray, labels: np.ndarray, example: int, seed: int = 0,
                   steps: int = 0, lr: float = 2.0, init: str = "torch") -> WorkedExample:
    """Notes 003's arithmetic for example ``example`` (1-based, the notes' ``k``) of
    ``images`` ``(n, 4, 3)``: a 12-3-2 sigmoid network with sigmoid outputs, float64, its
    weights drawn from ``seed`` (``init``) and trained ``steps`` full-batch steps of SGD at
    ``lr`` on ``half_sse`` over all the images first; then one example's pass three ways."""
    n = len(images)
    if isinstance(example, bool) or not isinstance(example, (int, np.integer)) \
            or not 1 <= example <= n:
        raise NNBenchError(f"--example must be an integer from 1 to {n} (the images of "
                           f"the zero-one task), got {example!r}")
    check_int("seed", seed, 0)
    check_int("steps", steps, 0)
    X = np.asarray(images, dtype=np.float64).reshape(n, -1)
    y = np.asarray(labels, dtype=np.int64)
    if X.shape[1] != SIZES[0]:
        raise NNBenchError(f"images must have {SIZES[0]} pixels, got {X.shape[1]}")
    net = MLP(list(SIZES), activation="sigmoid", init=init, seed=seed, dtype="float64",
              out_act="sigmoid")
    net.chunking = None
    train(net, X, y, steps, lr)
    k = int(example) - 1
    x, label = X[k], int(y[k])
    t = [1.0 if c == label else 0.0 for c in range(SIZES[-1])]  # notes: t1 = 1 for a 0
    W2, b2, W3, b3 = _as_lists(net.params)
    notes = notes_pass(W2, b2, W3, b3, x.tolist(), t)
    C, backprop = _backprop_partials(net, x, label)
    fd = finite_differences(net.params, x.tolist(), t)
    return WorkedExample(int(example), np.asarray(images)[k], label, t, steps, seed, notes,
                         parameter_names(), formulas(), C, backprop, fd)
