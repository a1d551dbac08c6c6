"""The notes' classic models, from linear regression to the MLP (000, 001, 004).

``MODELS`` maps ``--model NAME`` to a factory ``f(n_features, n_outputs, seed, runs, dtype,
init, **options) -> model`` with the MLP's interface (``params``, ``forward``,
``loss_and_grads``, ``layer_stats``, ``weights``). The models without hidden layers are one
code path, an :class:`~nnbench.core.mlp.MLP` of depth 0, ``out = X W + b``; what makes each
one is its output size and its loss (the entry's ``defaults``, which come before the task's):

- ``linear``: linear regression, ``C = mse`` (or ``half_sse``, the notes' ``1/2 sum``); also
  solved in closed form, :func:`closed_form` (the normal equations through ``lstsq``, ridge
  with ``l2``), reported as ``closed_form_loss``.
- ``logistic``: one logit, ``h = sigma(x)``, with ``bce_with_logits`` (the notes' log loss)
  or ``sigmoid_mse`` (the notes' squared error through the sigmoid).
- ``softmax``: ``k`` logits with the log-sum-exp cross-entropy.
- ``perceptron``: ``y = sign(w^T x + b)`` trained by the perceptron rule
  ``w <- w + eta t x`` on each misclassified point (``t = +-1``, ``t (w^T x + b) <= 0``),
  which is SGD with one point per step on the criterion ``max(0, -t x)`` (loss
  ``perceptron``), from zero weights; reports ``converged`` and ``updates``.
- ``mlp``: the core network (``--act maxout`` for maxout units).
- ``gaussian``: the generative classifier of notes 004, class Gaussians with a shared
  covariance fitted in closed form (``fit(data)``, called by the engine before the first
  step), ``P(C1|x) = sigma(w.x + b)``; not trained.
- ``threshold``: threshold units with weights set from a ``[threshold]`` table (notes 000,
  theorem 1 and its 2-2-1 XOR network); not trained.

``extra_results(data, loss)`` of a model gives its additional ``runs.csv`` columns.

:class:`Model` declares the interface the engine trains through; :func:`build_model` is
the one place a run's model is built (the engine, the figures and ``prune`` use it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from nnbench.core.activations import ACTIVATIONS
from nnbench.core.errors import NNBenchError, check_int, check_range
from nnbench.core.losses import LOSSES
from nnbench.core.mlp import MLP, _dtype, binary_mode
from nnbench.core.passes import check_input
from nnbench.core.registry import Registry

MODELS = Registry("model")


@runtime_checkable
class Model(Protocol):
    """What the engine trains: every model (the MLP family, a landscape's point) has these.

    - ``params``: the trained arrays, each with the runs axis first; ``runs``; ``n_layers``
      and ``weights`` (the weight matrices, for the layer statistics; ``[]`` for none);
    - ``loss_and_grads(X, Y, loss, train)`` -> ``(C (runs,), grads like params)``,
      ``forward(X, train)`` -> outputs, ``layer_stats()`` of the last recorded pass;
    - ``record``: keep the next passes for ``layer_stats`` (``False`` between logged steps);
    - ``chunking``: how a pass is split into blocks (``None``: in one piece; a model whose
      passes cannot be split keeps it ``None``);
    - ``noisy``: its training pass draws random numbers (dropout, RReLU), so its training
      loss is not the evaluation loss; ``l2`` and ``penalty()``: the L2 term in the loss;
    - ``can_finish`` and ``finished(n_train)``: a model that ends its own training (the
      perceptron after an epoch without an update);
    - ``extra_results(data, loss)``: additional ``runs.csv`` columns, ``(runs,)`` each;
    - ``kernel``: a compiled pass its training passes use (:mod:`nnbench.core.kernels`), or
      ``None``.
    """

    params: list[np.ndarray]
    runs: int
    n_layers: int
    record: bool
    chunking: Any
    l2: float
    can_finish: bool
    kernel: Any

    @property
    def weights(self) -> list[np.ndarray]: ...

    @property
    def noisy(self) -> bool: ...

    def forward(self, X: Any, train: bool = False) -> np.ndarray: ...

    def loss_and_grads(self, X: Any, Y: Any, loss: Any = ...,
                       train: bool = True) -> tuple[np.ndarray, list[np.ndarray]]: ...

    def layer_stats(self) -> list[dict[str, np.ndarray]]: ...

    def penalty(self) -> np.ndarray: ...

    def finished(self, n_train: int) -> np.ndarray: ...

    def extra_results(self, data: Any, loss: str) -> dict[str, np.ndarray]: ...

# losses whose minimizer is the least-squares solution, with C = scale * sum of squares
_SQUARED = {"mse": lambda n, k: 1.0 / (n * k), "half_sse": lambda n, k: 0.5 / n}


def closed_form(X: np.ndarray, Y: np.ndarray, l2: float = 0.0,
                loss: str = "mse") -> tuple[np.ndarray, np.ndarray]:
    """The minimizer ``(W (d, k), b (k,))`` of ``C(W, b) + l2/2 ||W||^2`` for the squared
    loss ``loss`` (``mse`` or ``half_sse``), in float64.

    The bias is not penalized, so it is eliminated by centring: ``Xc = X - mean(X)``,
    ``Yc = Y - mean(Y)``, then ``W`` solves ``(Xc^T Xc + alpha I) W = Xc^T Yc`` with
    ``alpha = l2 / (2 s)`` for ``C = s sum (XW + b - Y)^2``; it is computed stably as the
    least-squares solution of ``[Xc; sqrt(alpha) I] W = [Yc; 0]`` (``np.linalg.lstsq``, no
    normal matrix formed), and ``b = mean(Y) - mean(X) W``. With ``l2 = 0`` this is the
    notes' ``theta = (X^T X)^-1 X^T y`` with a column of ones for the bias.
    """
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    if Y.ndim == 1:
        Y = Y[:, None]
    if loss not in _SQUARED:
        raise NNBenchError(f"the closed form needs a squared loss (mse or half_sse), got {loss!r}")
    n, d = X.shape
    k = Y.shape[1]
    mx, my = X.mean(axis=0), Y.mean(axis=0)
    Xc, Yc = X - mx, Y - my
    if l2 > 0:
        alpha = l2 / (2.0 * _SQUARED[loss](n, k))
        Xc = np.vstack([Xc, np.sqrt(alpha) * np.eye(d)])
        Yc = np.vstack([Yc, np.zeros((d, k))])
    W = np.linalg.lstsq(Xc, Yc, rcond=None)[0]
    return W, my - mx @ W


class LinearModel(MLP):
    """``out = X W + b`` (an MLP without hidden layers) with the closed-form solution of
    its training data as an extra result (``closed_form_loss``, same loss and penalty), and
    that solution's loss on the validation set (``closed_form_val_loss``, no penalty, as
    the validation loss of training) where there is one."""

    def extra_results(self, data: Any, loss: str) -> dict[str, np.ndarray]:
        if loss not in _SQUARED or data is None:
            return {}
        W, b = closed_form(data.X_train, data.y_train, self.l2, loss)
        fn = LOSSES.create(loss)

        def loss_on(X: np.ndarray, Y: np.ndarray) -> float:
            out = (np.asarray(X, np.float64) @ W + b)[None]
            return float(fn(out, np.asarray(Y, np.float64))[0][0])

        value = loss_on(data.X_train, data.y_train) + 0.5 * self.l2 * float(np.sum(W * W))
        extra = {"closed_form_loss": np.full(self.runs, value)}
        if data.X_val is not None and len(data.X_val):
            extra["closed_form_val_loss"] = np.full(self.runs, loss_on(data.X_val, data.y_val))
        return extra


class Perceptron(MLP):
    """The single-layer perceptron ``y = sign(w^T x + b)`` (``sign(0) = +1``), from zero
    weights unless another ``init`` is given.

    Trained with the ``perceptron`` loss by SGD on one point per step, each step is the rule
    ``w <- w + eta t x`` when the point is misclassified (``t (w^T x + b) <= 0``) and nothing
    otherwise. ``updates`` counts the steps that changed the weights, ``epochs_done`` the
    passes over the training set until training ended; ``converged`` says whether the final
    weights classify every training point strictly correctly. :meth:`finished` tells the
    engine, at an epoch boundary, which runs made no update in the whole last epoch: no
    misclassified point is left, so those runs stop there (the notes' "until none is left").
    """

    def __init__(self, *args: Any, **kw: Any):
        super().__init__(*args, **kw)
        R = self.runs
        self.updates = np.zeros(R, dtype=np.int64)
        self.seen = np.zeros(R, dtype=np.int64)  # training points of the steps applied
        self.streak = np.zeros(R, dtype=np.int64)  # points since the last update
        self.stopped = np.zeros(R, dtype=bool)
        self._pending: tuple[np.ndarray, int] = (np.zeros(R, dtype=bool), 0)

    can_finish = True

    def loss_and_grads(self, X, Y, loss="perceptron", train=True, noise=None):
        C, grads = super().loss_and_grads(X, Y, loss=loss, train=train, noise=noise)
        if train:  # the previous step's gradient has been applied by now
            changed, n = self._pending
            live = ~self.stopped
            self.updates += changed & live
            self.seen += n * live
            self.streak = np.where(changed, 0, self.streak + n)
            changed = np.abs(grads[0]).sum(axis=(1, 2)) + np.abs(grads[1][:, 0, 0]) > 0
            self._pending = (changed, int(np.shape(X)[-2]))
        return C, grads

    def finished(self, n_train: int) -> np.ndarray:
        """Runs whose last ``n_train`` points (an epoch, when called at its end) changed
        nothing; once finished a run stays so and its counters stop."""
        self.stopped |= self.streak >= n_train
        return self.stopped.copy()

    def extra_results(self, data: Any, loss: str) -> dict[str, np.ndarray]:
        if data is None:
            return {}
        out = self.forward(data.X_train)[..., 0]
        t = 2.0 * np.asarray(data.y_train, dtype=out.dtype) - 1.0
        epochs = self.seen / len(data.X_train)
        return {"converged": (t * out > 0).all(axis=1), "updates": self.updates.copy(),
                "epochs_done": epochs}


class GaussianClassifier(MLP):
    """The generative classifier of notes 004 (ch. 4-5): each class ``c`` a Gaussian
    ``N(mu_c, Sigma)`` with one covariance ``Sigma`` shared by both classes, fitted in closed
    form by maximum likelihood (:func:`gaussian_fit`), and Bayes' rule, which makes the
    posterior ``P(C1 | x) = sigma(w . x + b)`` with

        w = Sigma^-1 (mu1 - mu0),
        b = -1/2 mu1^T Sigma^-1 mu1 + 1/2 mu0^T Sigma^-1 mu0 + ln(N1 / N0).

    The same form as logistic regression, with ``w`` and ``b`` from the class means, the
    covariance and the class counts instead of from gradient descent: its one output is the
    logit ``w . x + b``. :meth:`fit` sets them from the training data (the engine calls it
    once before the first step); its gradients are zero, so training leaves them as they
    are."""

    def fit(self, data: Any) -> None:
        w, b = gaussian_fit(data.X_train, data.y_train)
        self.params[0][...] = w.astype(self.dtype)[None, :, None]
        self.params[1][...] = self.dtype(b)

    def loss_and_grads(self, X, Y, loss="bce_with_logits", train=True, noise=None):
        C, grads = super().loss_and_grads(X, Y, loss=loss, train=train, noise=noise)
        return C, [np.zeros_like(g) for g in grads]


def gaussian_fit(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """``(w (d,), b)`` of the shared-covariance Gaussian classifier of labels ``y`` in {0, 1},
    in float64: the class means ``mu_c``, the pooled maximum-likelihood covariance
    ``Sigma = (N0 Sigma0 + N1 Sigma1) / N`` and the class counts ``N_c``, then ``w`` and
    ``b`` as in :class:`GaussianClassifier` (``Sigma`` solved, not inverted)."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y).astype(np.intp)
    counts = [int((y == c).sum()) for c in (0, 1)]
    if min(counts) < 1 or len(X) < 3:
        raise NNBenchError(f"the Gaussian classifier needs points of both classes, got "
                           f"{counts[0]} of class 0 and {counts[1]} of class 1")
    mu = [X[y == c].mean(axis=0) for c in (0, 1)]
    D = np.concatenate([X[y == c] - mu[c] for c in (0, 1)])
    sigma = D.T @ D / len(X)
    try:
        a = np.linalg.solve(sigma, np.stack(mu, axis=1))  # Sigma^-1 [mu0 mu1]
    except np.linalg.LinAlgError:
        raise NNBenchError("the shared covariance of the Gaussian classifier is singular "
                           "(a feature is constant or two are collinear); drop it") from None
    w = a[:, 1] - a[:, 0]
    b = -0.5 * mu[1] @ a[:, 1] + 0.5 * mu[0] @ a[:, 0] + np.log(counts[1] / counts[0])
    return w, float(b)


class ThresholdNetwork:
    """A network of threshold units whose weights are set, not trained (notes 000,
    theorem 1: three layers of threshold units implement any binary logic function).

    Each unit is the notes' ``y = f[w . u - theta]`` with ``f[s] = 1`` for ``s >= 0`` and 0
    otherwise; the hidden layer feeds one output unit. The output of the network is the
    output unit's ``w . y - theta``; its class is ``f`` of that (1 where it is ``>= 0``),
    the ``perceptron`` loss's prediction. The weights come from a table
    (:func:`threshold_weights`): the notes' 2-2-1 XOR network by default. ``params`` are
    ``[W1, b1, W2, b2]`` with ``b = -theta``, laid out as the MLP's; the gradients are zero.
    """

    def __init__(self, n_features: int, table: dict[str, Any] | None = None, runs: int = 1,
                 dtype: str = "float32"):

        self.dtype = _dtype(dtype)
        self.runs = int(runs)
        hidden, output = threshold_weights(table or {}, n_features)
        R = self.runs
        W1, b1 = hidden[:, :-1].T, -hidden[:, -1]
        W2, b2 = output[:-1, None], -output[-1:]
        self.params = [np.broadcast_to(a, (R, *a.shape)).astype(self.dtype).copy()
                       for a in (W1, b1[None, :], W2, b2[None, :])]
        self.sizes = [n_features, len(hidden), 1]
        self.n_layers = 2
        self.record = True
        self.chunking = None
        self.l2 = 0.0
        self.kernel = None

    can_finish = False
    noisy = False

    @property
    def weights(self) -> list[np.ndarray]:
        return [self.params[0], self.params[2]]

    def forward(self, X, train: bool = False, noise=None) -> np.ndarray:

        X = check_input(X, self.dtype, self.sizes[0], self.runs)
        z = np.matmul(X, self.params[0]) + self.params[1]
        h = (z >= 0).astype(self.dtype)
        return np.matmul(h, self.params[2]) + self.params[3]

    __call__ = forward

    def loss_and_grads(self, X, Y, loss="perceptron", train=True, noise=None):
        fn = loss if not isinstance(loss, str) else LOSSES.create(loss)
        C, _ = fn(self.forward(X), Y)
        return C, [np.zeros_like(p) for p in self.params]

    def layer_stats(self) -> list[dict[str, np.ndarray]]:
        return []

    def penalty(self) -> np.ndarray:
        return np.zeros(self.runs, dtype=self.dtype)

    def finished(self, n_train: int) -> np.ndarray:
        return np.zeros(self.runs, dtype=bool)

    def extra_results(self, data: Any, loss: str) -> dict[str, np.ndarray]:
        return {}


# the notes' 2-2-1 XOR network (000): y1 = f[u1 + u2 - 0.5] (OR), y2 = f[u1 + u2 - 1.5]
# (AND), y = f[y1 - y2 - 0.5] (OR and not AND); each row: weights, then theta
XOR_HIDDEN = ((1.0, 1.0, 0.5), (1.0, 1.0, 1.5))
XOR_OUTPUT = (1.0, -1.0, 0.5)


def truth_table_weights(table: Sequence[int], n_inputs: int) -> tuple[np.ndarray, np.ndarray]:
    """Theorem 1's construction: one hidden unit per input pattern whose output is 1 (it
    fires on that pattern only: ``w_i = 2 a_i - 1``, ``theta = sum a_i - 1/2``), and an
    output unit that is their OR (``w = 1``, ``theta = 1/2``). Row ``k`` of ``table`` is the
    output for the inputs given by the bits of ``k``, the first input the highest bit
    (00, 01, 10, 11 for two inputs). A function that is never 1 gets one unit that never
    fires."""
    rows = []
    for k, bit in enumerate(table):
        if bit:
            a = [(k >> (n_inputs - 1 - i)) & 1 for i in range(n_inputs)]
            rows.append([2.0 * v - 1.0 for v in a] + [sum(a) - 0.5])
    if not rows:
        rows = [[0.0] * n_inputs + [1.0]]
    return np.array(rows), np.array([1.0] * len(rows) + [0.5])


def threshold_weights(table: dict[str, Any], n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """The hidden rows ``(m, d + 1)`` (weights, theta) and the output row ``(m + 1,)`` of a
    ``[threshold]`` table: ``truth_table`` (``2^d`` outputs 0/1, a list or a string such as
    ``"0110"``), or ``hidden`` (a list of rows ``[w_1, ..., w_d, theta]``) with ``output``
    (``[v_1, ..., v_m, theta]``); empty: the notes' XOR network (two inputs)."""
    unknown = set(table) - {"truth_table", "hidden", "output"}
    if unknown:
        raise NNBenchError(f"unknown key '{sorted(unknown)[0]}' in the threshold table; valid: "
                           "truth_table, or hidden and output")
    if "truth_table" in table:
        if set(table) != {"truth_table"}:
            raise NNBenchError("give the threshold table either truth_table or hidden and "
                               "output, not both")
        bits = table["truth_table"]
        bits = list(bits) if isinstance(bits, (str, list, tuple)) else [bits]
        try:
            bits = [int(b) for b in bits]
        except (TypeError, ValueError):
            bits = [-1]
        if len(bits) != 2 ** n_features or any(b not in (0, 1) for b in bits):
            raise NNBenchError(f"truth_table must be {2 ** n_features} outputs 0 or 1 for "
                               f"{n_features} inputs (e.g. \"0110\" for XOR), got "
                               f"{table['truth_table']!r}")
        return truth_table_weights(bits, n_features)
    if not table:
        if n_features != 2:
            raise NNBenchError(f"the default threshold network is the notes' XOR of 2 inputs; "
                               f"the task has {n_features}: give a [threshold] table")
        return np.array(XOR_HIDDEN), np.array(XOR_OUTPUT)
    if set(table) != {"hidden", "output"}:
        raise NNBenchError("a threshold table of weights needs both hidden (rows "
                           "[w_1, ..., w_d, theta]) and output ([v_1, ..., v_m, theta])")
    try:
        hidden = np.array(table["hidden"], dtype=np.float64)
        output = np.array(table["output"], dtype=np.float64)
    except (TypeError, ValueError):
        hidden = output = np.zeros(0)
    if hidden.ndim != 2 or hidden.shape[1] != n_features + 1 or hidden.shape[0] < 1 \
            or output.shape != (hidden.shape[0] + 1,):
        m = f"{len(hidden) + 1}" if hidden.ndim == 2 else "m + 1"
        raise NNBenchError(f"threshold hidden must be rows of {n_features + 1} numbers "
                           f"(weights, theta) and output {m} numbers (one weight per hidden "
                           "unit, theta)")
    return hidden, output


def _two_classes(name: str, n_outputs: int) -> None:
    if n_outputs != 2:
        raise NNBenchError(f"model '{name}' separates two classes, the task has {n_outputs} "
                           "outputs; use --model softmax or mlp for more classes")


def _options(kw: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in kw.items() if k in ("l2", "binary") and v is not None}


def _linear(n_features: int, n_outputs: int, seed: Sequence[int] | int = 0, runs: int = 1,
            dtype: str = "float32", init: str = "torch", **kw: Any) -> LinearModel:
    return LinearModel([n_features, n_outputs], "sigmoid", init, seed, runs, dtype,
                       **_options(kw))


def _logistic(n_features: int, n_outputs: int, seed: Sequence[int] | int = 0, runs: int = 1,
              dtype: str = "float32", init: str = "torch", **kw: Any) -> MLP:
    _two_classes("logistic", n_outputs)
    return MLP([n_features, 1], "sigmoid", init, seed, runs, dtype, **_options(kw))


def _softmax(n_features: int, n_outputs: int, seed: Sequence[int] | int = 0, runs: int = 1,
             dtype: str = "float32", init: str = "torch", **kw: Any) -> MLP:
    return MLP([n_features, n_outputs], "sigmoid", init, seed, runs, dtype, **_options(kw))


def _perceptron(n_features: int, n_outputs: int, seed: Sequence[int] | int = 0, runs: int = 1,
                dtype: str = "float32", init: str = "zeros", **kw: Any) -> Perceptron:
    _two_classes("perceptron", n_outputs)
    return Perceptron([n_features, 1], "sigmoid", init, seed, runs, dtype, **_options(kw))


def _gaussian(n_features: int, n_outputs: int, seed: Sequence[int] | int = 0, runs: int = 1,
              dtype: str = "float32", init: str = "zeros", **kw: Any) -> GaussianClassifier:
    _two_classes("gaussian", n_outputs)
    return GaussianClassifier([n_features, 1], "sigmoid", "zeros", seed, runs, dtype)


def _threshold(n_features: int, n_outputs: int, seed: Sequence[int] | int = 0, runs: int = 1,
               dtype: str = "float32", init: str = "zeros", threshold: Any = None,
               **kw: Any) -> ThresholdNetwork:
    _two_classes("threshold", n_outputs)
    return ThresholdNetwork(n_features, threshold, runs, dtype)


def _mlp(n_features: int, n_outputs: int, seed: Sequence[int] | int = 0, runs: int = 1,
         dtype: str = "float32", init: str = "torch", depth: int = 1, width: int = 32,
         act: str = "sigmoid", **kw: Any) -> MLP:
    depth = check_int("depth", depth, 0)
    sizes = [n_features] + [check_int("width", width, 1)] * depth + [n_outputs]
    opts = {k: v for k, v in kw.items() if v is not None}
    if act != "maxout":
        opts.pop("pieces", None)
    return MLP(sizes, act if depth > 0 else "sigmoid", init, seed, runs, dtype, **opts)


MODELS.add("mlp", _mlp, "multilayer perceptron: --depth hidden layers of --width units "
           "(--act, maxout with --pieces)")
MODELS.add("linear", _linear, "linear regression out = XW + b, by gradient descent and in "
           "closed form (lstsq; ridge with --l2)", {"loss": "mse"})
MODELS.add("logistic", _logistic, "one sigmoid output: cross-entropy, or the notes' squared "
           "error (--loss sigmoid_mse)", {"loss": "bce_with_logits"})
MODELS.add("softmax", _softmax, "multiclass linear classifier with log-sum-exp "
           "cross-entropy", {"loss": "softmax_cross_entropy"})
MODELS.add("perceptron", _perceptron, "sign(w.x + b) by the perceptron rule w <- w + eta t x "
           "on misclassified points (SGD, one point per step)",
           {"loss": "perceptron", "optim": "sgd", "lr": 1.0, "batch_size": 1, "init": "zeros"})
# models whose weights are not trained: one step leaves them as set (gradients zero)
_SET = {"optim": "sgd", "lr": 1.0, "steps": 1, "batch_size": "full", "init": "zeros"}
MODELS.add("gaussian", _gaussian, "generative classifier: class Gaussians with a shared "
           "covariance, fitted in closed form, P(C1|x) = sigma(w.x + b) (not trained)",
           {"loss": "bce_with_logits", **_SET})
MODELS.add("threshold", _threshold, "threshold units f[w.u - theta] with weights set from "
           "a [threshold] table (truth_table, or hidden and output rows; default: the notes' "
           "XOR network), not trained", {"loss": "perceptron", **_SET})

# the losses each model accepts (None: any)
_LOSSES = {"linear": ("mse", "half_sse"), "logistic": ("bce_with_logits", "sigmoid_mse"),
           "softmax": ("softmax_cross_entropy", "hinge"), "perceptron": ("perceptron",),
           "gaussian": ("bce_with_logits", "sigmoid_mse"), "threshold": ("perceptron",)}


# losses of one output, a logit that separates two classes (an mlp then has one output)
ONE_OUTPUT_LOSSES = ("bce_with_logits", "sigmoid_mse", "perceptron")


def model_defaults(name: str | None) -> dict[str, Any]:
    """The run-config defaults of model ``name`` (``{}`` for an unknown name)."""
    return dict(MODELS.get(name).defaults) if name in MODELS else {}


def model_options(cfg: Any) -> dict[str, Any]:
    """The regularization keywords a run config gives the model (``l2``, ``dropout``,
    ``binary``; ``pieces`` of a maxout MLP, 2 unless given; ``residual`` and an
    ``out_act`` other than ``identity``, the mlp's only)."""
    out = {k: getattr(cfg, k) for k in ("l2", "dropout", "binary")
           if getattr(cfg, k, None) is not None}
    if getattr(cfg, "residual", None):  # skip connections: the mlp's only
        out["residual"] = True
    if getattr(cfg, "out_act", None) not in (None, "identity"):  # the mlp's only
        out["out_act"] = cfg.out_act
    if getattr(cfg, "model", None) == "threshold":
        out["threshold"] = dict(getattr(cfg, "threshold", None) or {})
    if getattr(cfg, "model", None) == "mlp" and getattr(cfg, "act", None) == "maxout":
        out["pieces"] = cfg.pieces if cfg.pieces is not None else 2
    return out


def check_options(cfg: Any, kind: str = "regression") -> None:
    """Raise NNBenchError when the model of ``cfg`` does not fit a task of ``kind`` or the
    regularization options do not fit the model."""
    model = cfg.model
    if model == "linear" and kind != "regression":
        raise NNBenchError("model 'linear' is linear regression: give a regression task "
                           "(linear, poly, sin) or use --model logistic or softmax for classes")
    if model in ("logistic", "softmax", "perceptron", "gaussian", "threshold") \
            and kind != "classification":
        raise NNBenchError(f"model '{model}' is a classifier: give a classification task "
                           "(blobs, xor, moons, ...) or use --model linear for regression")
    if cfg.l2 is not None:
        check_range("l2", cfg.l2, 0.0, None)
    if cfg.dropout is not None:
        check_range("dropout", cfg.dropout, 0.0, 1.0, high_open=True)
    if cfg.pieces is not None:
        check_int("pieces", cfg.pieces, 2)
    hidden = model == "mlp" and int(cfg.depth or 0) > 0
    if cfg.dropout and not hidden:
        raise NNBenchError(f"dropout acts on hidden units; model '{model}' with depth "
                           f"{cfg.depth} has none (use --model mlp --depth 1 or more)")
    if cfg.pieces is not None and not (hidden and cfg.act == "maxout"):
        raise NNBenchError("pieces is the number of linear pieces of a maxout unit; give it "
                           "with --model mlp --act maxout")
    if getattr(cfg, "residual", None) and model != "mlp":
        raise NNBenchError(f"residual connections join hidden layers of --model mlp, got "
                           f"model '{model}'")
    if cfg.binary is not None:
        binary_mode(cfg.binary)
    if getattr(cfg, "threshold", None) and model != "threshold":
        raise NNBenchError(f"the [threshold] table sets the weights of --model threshold, "
                           f"got model '{model}'")
    if model in ("gaussian", "threshold") and (cfg.l2 or cfg.binary):
        raise NNBenchError(f"model '{model}' is not trained: l2 and binary do not apply")
    if cfg.binary and model != "mlp":
        raise NNBenchError(f"binary weights apply to --model mlp, got model '{model}'")
    if cfg.binary in ("activations", "both") and not hidden:
        raise NNBenchError(f"binary activations act on hidden units; model '{model}' with "
                           f"depth {cfg.depth} has none (use --model mlp --depth 1 or more)")
    if model == "perceptron":
        if cfg.optim != "sgd" or cfg.hp or cfg.batch_size != 1 or cfg.l2:
            raise NNBenchError("the perceptron trains by its own rule: optim sgd without "
                               "hyperparameters, batch_size 1 and no l2 (the defaults); got "
                               f"optim {cfg.optim}, batch_size {cfg.batch_size}")
    valid = _LOSSES.get(model)
    if valid is not None and cfg.loss not in valid:
        raise NNBenchError(f"model '{model}' trains with loss {' or '.join(valid)}, got "
                           f"'{cfg.loss}'")


def model_names() -> list[str]:
    """The names ``--model`` accepts."""
    return MODELS.names()


def mlp_param_count(n_features: int, width: int, depth: int, n_outputs: int,
                    pieces: int = 1, learnable: bool = False) -> int:
    """The number of parameters of ``MLP([n_features] + [width] * depth + [n_outputs])``:
    each layer's ``(fan_in + 1) fan_out`` weights and biases, a hidden layer's ``fan_out``
    being ``pieces * width`` (maxout; 1 otherwise), plus ``width`` slopes per hidden layer
    for an activation with a learnable parameter (PReLU)."""
    sizes = [n_features] + [width] * depth + [n_outputs]
    fan_outs = [pieces * width] * depth + [n_outputs]
    count = sum((fan_in + 1) * fan_out for fan_in, fan_out in zip(sizes[:-1], fan_outs,
                                                                    strict=True))
    return count + (depth * width if learnable else 0)


def width_for_params(budget: int, n_features: int, depth: int, n_outputs: int,
                     pieces: int = 1, learnable: bool = False) -> int:
    """The width >= 1 whose network (:func:`mlp_param_count`) has the number of parameters
    closest to ``budget``; of two equally close, the narrower. The count grows with the
    width, so the answer is the first width reaching the budget or the one before it."""
    check_int("params", budget, 1)
    check_int("depth", depth, 1)

    def count(w: int) -> int:
        return mlp_param_count(n_features, w, depth, n_outputs, pieces, learnable)

    lo, hi = 1, 1
    while count(hi) < budget:  # an upper bound, doubling
        lo, hi = hi, 2 * hi
    while lo < hi:  # the first width whose count reaches the budget
        mid = (lo + hi) // 2
        if count(mid) < budget:
            lo = mid + 1
        else:
            hi = mid
    if hi > 1 and budget - count(hi - 1) <= count(hi) - budget:
        return hi - 1
    return hi


def mlp_shape(cfg: Any) -> tuple[int, bool]:
    """``(pieces, learnable)`` of the MLP of a resolved run config ``cfg``, as
    :func:`mlp_param_count` takes them (maxout's pieces, PReLU's slopes)."""
    pieces = int(model_options(cfg).get("pieces", 1))
    learnable = (cfg.act != "maxout" and int(cfg.depth) > 0
                 and bool(getattr(ACTIVATIONS.get(cfg.act).factory, "learnable", False)))
    return pieces, learnable


def build_model(cfg: Any, task: Any, n_features: int, n_outputs: int,
                seeds: Sequence[int]) -> Model:
    """The stacked model of a group of resolved run configs ``cfg``: one model with
    ``runs = len(seeds)``.

    ``mlp`` is ``MLP([d] + [width] * depth + [out], act, init, seed=seeds, runs=R,
    dtype)`` (``depth 0`` is a linear model, whose activation is unused); a
    landscape task gets ``task.model(runs, dtype)`` (the task was built with the run's
    ``start``); other names are looked up in ``MODELS`` and built with ``n_features,
    n_outputs, seed, runs, dtype, init``.
    """
    runs = len(seeds)
    if task.kind == "landscape":
        return task.model(runs, cfg.dtype)
    if cfg.model == "mlp":
        if getattr(cfg, "loss", None) in ONE_OUTPUT_LOSSES:  # one logit for two classes
            n_outputs = 1
        sizes = [n_features] + [int(cfg.width)] * int(cfg.depth) + [n_outputs]
        act = cfg.act if int(cfg.depth) > 0 else "sigmoid"  # unused without hidden layers
        return MLP(sizes, activation=act, init=cfg.init, seed=list(seeds), runs=runs,
                   dtype=cfg.dtype, **model_options(cfg))
    return MODELS.create(cfg.model, n_features=n_features, n_outputs=n_outputs,
                         seed=list(seeds), runs=runs, dtype=cfg.dtype, init=cfg.init,
                         **model_options(cfg))
