"""Loss functions of the network output, each with its gradient.

A loss is called as ``loss(out, Y) -> (C, dC/dout)``: ``out`` is the network's output
``(runs, n, k)`` (linear, ``z^L``, unless ``--out-act`` makes it ``a^L``); ``Y`` the
targets, ``(n, k)`` or ``(runs, n, k)`` floats for a regression loss, or integer class
labels ``(n,)`` or ``(runs, n)`` for a classification loss (shared by all runs when they
have no runs axis). ``C`` is ``(runs,)``, the mean over the ``n`` samples; ``dC/dout`` has
the shape of ``out`` and already carries the ``1/n``.
This gradient is ``grad_a C`` in the first backprop equation ``d^L = grad_a C * f'(z^L)``
(``f' = 1`` for a linear output layer).

Attributes the engine reads: ``takes_labels`` (integer labels or float targets), ``kind``
(``"classification"`` or ``"regression"``) and, for classification, ``predict(out)``.
A loss of float targets with ``one_hot`` (``half_sse``, ``bce``) also trains on a
classification task: integer labels ``(n,)``/``(runs, n)`` are read as one-hot targets of
the ``k`` outputs (label ``c`` is ``t_c = 1``, the others 0: notes 003's ``t1, t2``) and
``predict`` is the argmax of the outputs.

With ``--out-act sigmoid`` the network's output is ``a^L = sigma(z^L)`` and the loss is
taken on it: :func:`output_delta` gives the output layer's error ``d^L = dC/dz^L`` (BP1
with ``f' = sigma'``), from a loss's ``of_logits`` where it has one (``bce``: ``a^L - t``,
computed stably from ``z^L``).
"""

from __future__ import annotations

import numpy as np

from nnbench.core.activations import sigmoid
from nnbench.core.errors import NNBenchError, plural
from nnbench.core.registry import Registry

LOSSES = Registry("loss")


class Loss:
    """Base class: ``loss(out, Y) -> (C (runs,), dC/dout (runs, n, k))``."""

    name = "loss"
    takes_labels = False
    kind = "regression"
    #: float targets that a classification task gives as one-hot rows of its labels
    one_hot = False

    def __call__(self, out: np.ndarray, Y) -> tuple[np.ndarray, np.ndarray]:
        out = np.asarray(out)
        if out.ndim != 3:
            raise NNBenchError(f"out must be (runs, n, outputs), got shape {out.shape}")
        Y = self.targets(Y, out)
        return self.value_and_grad(out, Y)

    def value_and_grad(self, out: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def targets(self, Y, out: np.ndarray) -> np.ndarray:
        """Check ``Y`` against ``out`` and return it as an array ready for the loss."""
        R, n, k = out.shape
        Y = np.asarray(Y)
        if self.one_hot and Y.dtype.kind in "iub":  # class labels: one-hot targets
            return self.one_hot_targets(Y, out)
        if self.takes_labels:
            if Y.shape not in ((n,), (R, n)):
                raise NNBenchError(
                    f"Y for loss '{self.name}' must be integer labels of shape ({n},) or "
                    f"({R}, {n}), got shape {Y.shape}"
                )
            if Y.dtype.kind not in "iub":
                if Y.dtype.kind != "f" or not np.all(Y == np.round(Y)):
                    raise NNBenchError(
                        f"Y for loss '{self.name}' must hold integer class labels, "
                        f"got dtype {Y.dtype}"
                    )
            Y = Y.astype(np.intp)
            high = self.n_classes(k)
            if Y.size and (Y.min() < 0 or Y.max() >= high):
                raise NNBenchError(
                    f"Y labels for loss '{self.name}' must be in [0, {high - 1}] for "
                    f"{plural(k, 'output')}, got {Y.min()}..{Y.max()}"
                )
            return np.broadcast_to(Y, (R, n))
        if Y.shape not in ((n, k), (R, n, k)):
            raise NNBenchError(
                f"Y for loss '{self.name}' must have shape ({n}, {k}) or ({R}, {n}, {k}), "
                f"got {Y.shape}"
            )
        return Y.astype(out.dtype, copy=False)

    def labels_in(self, Y) -> bool:
        """Whether ``Y`` holds class labels for this loss: always for a loss of labels, an
        integer array for a one-hot loss (read as one-hot targets)."""
        return bool(self.takes_labels) or (self.one_hot and np.asarray(Y).dtype.kind in "iub")

    def one_hot_targets(self, Y: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Integer labels ``(n,)`` or ``(runs, n)`` as one-hot targets ``(runs, n, k)``."""
        R, n, k = out.shape
        if Y.shape not in ((n,), (R, n)):
            raise NNBenchError(
                f"Y for loss '{self.name}' must be float targets of shape ({n}, {k}) or "
                f"integer labels of shape ({n},), got {Y.dtype} {Y.shape}"
            )
        if Y.size and (Y.min() < 0 or Y.max() >= k):
            raise NNBenchError(
                f"Y labels for loss '{self.name}' must be in [0, {k - 1}] for "
                f"{plural(k, 'output')} (one-hot targets), got {Y.min()}..{Y.max()}"
            )
        return one_hot(np.broadcast_to(Y, (R, n)), k, out.dtype)

    def n_classes(self, k: int) -> int:
        return k

    def predict(self, out: np.ndarray) -> np.ndarray:
        raise NNBenchError(f"loss '{self.name}' is a regression loss and predicts no labels")

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class MSE(Loss):
    """Mean squared error as ``torch.nn.MSELoss``: ``C = 1/(n k) sum_i sum_j (out_ij - y_ij)^2``,
    ``dC/dout = 2 (out - y) / (n k)``."""

    name = "mse"

    def value_and_grad(self, out, Y):
        diff = out - Y
        scale = 1.0 / (diff.shape[1] * diff.shape[2])
        loss = np.einsum("rij,rij->r", diff, diff) * scale
        diff *= 2.0 * scale
        return loss.astype(out.dtype, copy=False), diff


class HalfSSE(Loss):
    """The notes' squared error ``C_k = 1/2 sum_j (t_j - a_j)^2`` of one sample, averaged over
    the ``n`` samples: ``C = 1/n sum_k C_k``, so ``dC/dout = (out - y) / n``. On a
    classification task the targets are the one-hot rows of the labels (notes 003's ``t1,
    t2``) and ``predict`` is the argmax of the outputs.

    The notes (003) sum ``C_T = sum_k C_k`` over the data set; the average differs from it by
    the constant ``n`` only and keeps a learning rate meaningful across batch sizes, as the
    ``1/m`` of the cross-entropy in 001 does."""

    name = "half_sse"
    one_hot = True

    def value_and_grad(self, out, Y):
        diff = out - Y
        n = diff.shape[1]
        loss = np.einsum("rij,rij->r", diff, diff) * (0.5 / n)
        diff *= 1.0 / n
        return loss.astype(out.dtype, copy=False), diff

    def predict(self, out):
        """On one-hot targets: the output nearest 1, ``argmax_j a_j``."""
        return np.argmax(out, axis=-1)


class BCE(Loss):
    """Notes 001's binary cross-entropy summed over the ``k`` outputs ``a_j`` in (0, 1), for
    targets ``t_j`` in [0, 1] (one-hot rows of a classification task's labels):
    ``C = -1/n sum_i sum_j [t_ij ln a_ij + (1 - t_ij) ln(1 - a_ij)]``. It needs
    ``--out-act sigmoid``, ``a = sigma(z)``; the training pass then takes value and error
    from the logits (:meth:`of_logits`): ``max(z, 0) - z t + ln(1 + e^-|z|)`` and
    ``dC/dz = (a - t) / n`` (001's cancellation of ``sigma'``), exact where ``ln a`` would
    give ``-inf``. On the outputs themselves (evaluation) each log is held at >= -100, as
    torch's ``BCELoss``: the two agree until ``sigma(z)`` rounds to 0 or 1 (``|z|`` above
    about 17 in float32, 37 in float64). ``predict`` gives ``argmax_j a_j``."""

    name = "bce"
    kind = "classification"
    one_hot = True

    def value_and_grad(self, out, Y):
        n = out.shape[1]
        with np.errstate(divide="ignore"):
            log_a = np.maximum(np.log(out), -100.0)
            log_1a = np.maximum(np.log1p(-out), -100.0)
        loss = -(Y * log_a + (1.0 - Y) * log_1a).sum(axis=(1, 2)) / n
        grad = (out - Y) / (np.maximum(out * (1.0 - out), 1e-12) * n)
        return loss.astype(out.dtype, copy=False), grad.astype(out.dtype, copy=False)

    def of_logits(self, z: np.ndarray, Y) -> tuple[np.ndarray, np.ndarray]:
        """The loss of ``a = sigma(z)`` and ``dC/dz``, computed from the logits ``z``."""
        z = np.asarray(z)
        Y = self.targets(Y, z)
        n = z.shape[1]
        per = np.maximum(z, 0.0) - z * Y + np.log1p(np.exp(-np.abs(z)))
        loss = per.sum(axis=(1, 2)) / n
        grad = (sigmoid(z) - Y) / n
        return loss.astype(z.dtype, copy=False), grad.astype(z.dtype, copy=False)

    def predict(self, out):
        return np.argmax(out, axis=-1)


class BCEWithLogits(Loss):
    """Binary cross-entropy of the logit ``x`` (one output) and a label ``y`` in {0, 1}, as
    ``torch.nn.BCEWithLogitsLoss``: ``C = 1/n sum_i -[y log sigma(x) + (1-y) log(1-sigma(x))]``,
    evaluated stably as ``max(x, 0) - x y + log(1 + e^-|x|)``; ``dC/dx = (sigma(x) - y) / n``.
    ``predict`` gives ``x > 0``."""

    name = "bce_with_logits"
    takes_labels = True
    kind = "classification"

    def n_classes(self, k: int) -> int:
        if k != 1:
            raise NNBenchError(f"loss 'bce_with_logits' needs 1 output, the network has {k}")
        return 2

    def value_and_grad(self, out, Y):
        x = out[..., 0]
        y = Y.astype(out.dtype)
        n = x.shape[1]
        per = np.maximum(x, 0.0) - x * y + np.log1p(np.exp(-np.abs(x)))
        loss = per.sum(axis=1) / n
        grad = ((sigmoid(x) - y) / n)[..., None]
        return loss.astype(out.dtype, copy=False), grad.astype(out.dtype, copy=False)

    def predict(self, out):
        return (np.asarray(out)[..., 0] > 0).astype(np.intp)


class SigmoidMSE(BCEWithLogits):
    """The notes' squared error through a sigmoid (000): ``h = sigma(x)`` of the one logit,
    ``C = 1/n sum_i 1/2 (y_i - h_i)^2`` for labels ``y`` in {0, 1};
    ``dC/dx = (h - y) h (1 - h) / n``. The factor ``h (1 - h)`` vanishes when ``h``
    saturates, even at a wrong answer, which is why cross-entropy is preferred.
    ``predict`` gives ``x > 0``."""

    name = "sigmoid_mse"

    def n_classes(self, k: int) -> int:
        if k != 1:
            raise NNBenchError(f"loss 'sigmoid_mse' needs 1 output, the network has {k}")
        return 2

    def value_and_grad(self, out, Y):
        h = sigmoid(out[..., 0])
        r = h - Y.astype(out.dtype)
        n = h.shape[1]
        loss = 0.5 * np.einsum("ri,ri->r", r, r) / n
        grad = (r * h * (1.0 - h) / n)[..., None]
        return loss.astype(out.dtype, copy=False), grad.astype(out.dtype, copy=False)


class PerceptronCriterion(BCEWithLogits):
    """The perceptron's loss (000) on one output ``x`` with labels ``y`` in {0, 1} read as
    ``t = 2 y - 1`` in {-1, +1}: ``C = 1/n sum_i max(0, -t_i x_i)``, whose (sub)gradient
    ``dC/dx_i = -t_i / n`` on every point with ``t_i x_i <= 0`` (misclassified, or on the
    boundary) and 0 elsewhere. SGD with one point per step and learning rate ``eta`` is then
    the perceptron rule ``w <- w + eta t x`` on misclassified points. ``predict`` gives
    ``sign(x)`` with ``sign(0) = +1`` (the notes'), as the label ``x >= 0``."""

    name = "perceptron"

    def n_classes(self, k: int) -> int:
        if k != 1:
            raise NNBenchError(f"loss 'perceptron' needs 1 output, the network has {k}")
        return 2

    def value_and_grad(self, out, Y):
        x = out[..., 0]
        t = 2.0 * Y.astype(out.dtype) - 1.0
        n = x.shape[1]
        m = t * x
        loss = np.maximum(-m, 0.0).sum(axis=1) / n
        grad = (np.where(m <= 0, -t, 0.0) / n)[..., None]
        return loss.astype(out.dtype, copy=False), grad.astype(out.dtype, copy=False)

    def predict(self, out):
        return (np.asarray(out)[..., 0] >= 0).astype(np.intp)


class SoftmaxCrossEntropy(Loss):
    """Softmax cross-entropy of integer labels, as ``torch.nn.CrossEntropyLoss``:
    ``C = 1/n sum_i [LSE(x_i) - x_{i,y_i}]`` with the log-sum-exp of the notes' section on
    exponent overflow, ``LSE(x) = c + log sum_j e^(x_j - c)``, ``c = max_j x_j``;
    ``dC/dx = (softmax(x) - onehot(y)) / n``. ``predict`` gives ``argmax_j x_j``."""

    name = "softmax_cross_entropy"
    takes_labels = True
    kind = "classification"

    def value_and_grad(self, out, Y):
        n = out.shape[1]
        c = out.max(axis=2, keepdims=True)
        e = np.exp(out - c)
        s = e.sum(axis=2, keepdims=True)
        lse = (c + np.log(s))[..., 0]
        picked = np.take_along_axis(out, Y[..., None], axis=2)[..., 0]
        loss = (lse - picked).sum(axis=1) / n
        grad = e / s
        np.put_along_axis(grad, Y[..., None], np.take_along_axis(grad, Y[..., None], 2) - 1.0, 2)
        grad *= 1.0 / n
        return loss.astype(out.dtype, copy=False), grad.astype(out.dtype, copy=False)

    def predict(self, out):
        return np.argmax(out, axis=-1)


class MultiMarginHinge(Loss):
    """Multi-class hinge as ``torch.nn.MultiMarginLoss`` (p=1, margin=1):
    ``C = 1/n sum_i 1/k sum_{j != y_i} max(0, 1 - x_{i,y_i} + x_{i,j})``.
    Each active margin adds ``1/(n k)`` to ``dC/dx_j`` and subtracts it from
    ``dC/dx_{y_i}``. ``predict`` gives ``argmax_j x_j``."""

    name = "hinge"
    takes_labels = True
    kind = "classification"

    def n_classes(self, k: int) -> int:
        if k < 2:
            raise NNBenchError(f"loss 'hinge' needs at least 2 outputs, the network has {k}")
        return k

    def value_and_grad(self, out, Y):
        _, n, k = out.shape
        picked = np.take_along_axis(out, Y[..., None], axis=2)
        margins = 1.0 - picked + out
        np.put_along_axis(margins, Y[..., None], 0.0, 2)
        active = margins > 0
        loss = np.maximum(margins, 0.0).sum(axis=(1, 2)) / (n * k)
        grad = active.astype(out.dtype) * (1.0 / (n * k))
        np.put_along_axis(grad, Y[..., None], -grad.sum(axis=2, keepdims=True), 2)
        return loss.astype(out.dtype, copy=False), grad

    def predict(self, out):
        return np.argmax(out, axis=-1)


LOSSES.add("mse", MSE, "mean squared error over samples and outputs (torch MSELoss)")
LOSSES.add("half_sse", HalfSSE, "1/2 sum of squares over outputs, mean over samples (the notes')")
LOSSES.add("bce", BCE, "binary cross-entropy summed over outputs in (0, 1), "
           "--out-act sigmoid, one-hot targets (the notes')")
LOSSES.add("bce_with_logits", BCEWithLogits, "binary cross-entropy of one logit, labels 0/1")
LOSSES.add("sigmoid_mse", SigmoidMSE,
           "1/2 (y - sigmoid(x))^2 of one logit, labels 0/1 (the notes' logistic squared error)")
LOSSES.add("perceptron", PerceptronCriterion,
           "perceptron criterion max(0, -t x), t = +-1, of one output (the perceptron rule)")
LOSSES.add("softmax_cross_entropy", SoftmaxCrossEntropy,
           "softmax cross-entropy with log-sum-exp, integer labels")
LOSSES.add("hinge", MultiMarginHinge, "multi-class margin loss (torch MultiMarginLoss, p=1)")


def loss_fn(name: str) -> Loss:
    """The registered loss ``name``."""
    return LOSSES.create(name)


#: what the output layer applies to ``z^L`` (``--out-act``): nothing, or the sigmoid
OUTPUT_ACTIVATIONS = ("identity", "sigmoid")


def one_hot(labels: np.ndarray, k: int, dtype=np.float64) -> np.ndarray:
    """Labels ``(..., n)`` in ``0..k-1`` as one-hot rows ``(..., n, k)`` of ``dtype``."""
    labels = np.asarray(labels)
    return (labels[..., None] == np.arange(k)).astype(dtype)


def output_loss(loss_fn: Loss, out_act: str, out: np.ndarray, z: np.ndarray | None,
                Y) -> tuple[np.ndarray, np.ndarray]:
    """The loss of the network output ``out`` and the output error ``d^L = dC/dz^L``.

    ``identity``: ``out = z^L`` and ``d^L`` is the loss's gradient. ``sigmoid``: ``out =
    a^L = sigma(z^L)``, ``d^L = dC/da^L * a^L (1 - a^L)`` (notes 003's ``(a - t)
    sigma'(z)`` for ``half_sse``), or the loss's own ``of_logits(z^L, Y)``."""
    if out_act == "identity":
        return loss_fn(out, Y)
    of_logits = getattr(loss_fn, "of_logits", None)
    if of_logits is not None:
        return of_logits(z, Y)
    C, g = loss_fn(out, Y)
    g = g * (out * (1.0 - out))
    return C, g.astype(out.dtype, copy=False)
