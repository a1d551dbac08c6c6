"""The multilayer perceptron, with a leading runs axis, and its exact backprop.

Notation of the notes (001, 003): layer ``l = 1..L`` has weights ``W^l`` of shape
``(fan_in, fan_out)`` and bias ``b^l``; with ``a^0 = X``,

    z^l = a^(l-1) W^l + b^l,     a^l = f(z^l)   (hidden layers),     out = z^L  (linear),

or, with ``out_act="sigmoid"`` (``--out-act sigmoid``, notes 003's output units),
``out = a^L = sigma(z^L)``: the loss is taken on ``a^L`` and BP1 multiplies its gradient by
``sigma'(z^L) = a^L (1 - a^L)`` (:func:`~nnbench.core.losses.output_loss`).

Every array carries a leading runs axis ``R``: ``W^l`` is ``(R, fan_in, fan_out)``, ``b^l``
``(R, 1, fan_out)``, ``a^l`` ``(R, n, width)``, so one ``np.matmul`` advances all runs and
all samples at once. The loss decides what the linear output means (a regression value,
logits, ...) and returns ``grad_out C``; backprop is then the notes' four equations.

Regularization and the notes' variants (004, 001), all off by default:

- ``l2 = lambda``: the coupled penalty ``lambda/2 sum_l ||W^l||^2`` on the weights, not the
  biases (004), added to the loss; its gradient ``lambda W^l`` is added to ``dC/dW^l``.
- ``dropout = p``: inverted dropout of the hidden units in training, ``a^l <- a^l m / (1 - p)``
  with ``m ~ Bernoulli(1 - p)`` from each run's generator; nothing at evaluation. Its
  expectation equals the notes' rule (scale the weights by ``1 - p`` at test time).
- ``binary = "weights"`` (or ``True``): the forward pass uses ``sign(W^l)`` in {-1, +1}
  (``sign(0) = +1``) for every weight matrix, the real ``W^l`` being the shadow weights
  trained with the straight-through gradient ``dC/dW = dC/dsign(W) 1[|W| <= 1]``
  (Courbariaux et al., 2016). ``"activations"``: every hidden unit outputs ``sign(z)``
  instead of its activation, its backward pass ``1[|z| <= 1]`` (the straight-through
  estimator of Hubara et al., 2016, :class:`~nnbench.core.activations.SignSTE`);
  ``"both"``: the binarized network of that paper.
- ``activation="maxout"`` (``pieces = k``): each hidden unit is the largest of ``k`` linear
  pieces, ``a_j = max_i z_(j k + i)``, so hidden weights are ``(fan_in, k width)``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from nnbench.core.activations import Activation, Layer, Maxout, SignSTE, sigmoid
from nnbench.core.activations import activation as make_activation
from nnbench.core.errors import NNBenchError, check_int, check_range
from nnbench.core.init import initializer
from nnbench.core.losses import LOSSES, OUTPUT_ACTIVATIONS, Loss, output_loss
from nnbench.core.narrow import NARROW, narrow_loss_and_grads, takes_narrow
from nnbench.core.parallel import Chunking, chunked_loss_and_grads, splittable
from nnbench.core.passes import Pass, check_input, matmul

_DTYPES = {"float32": np.float32, "float64": np.float64}


def _dtype(dtype) -> type:
    key = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    if key not in _DTYPES:
        raise NNBenchError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    return _DTYPES[key]


#: the values of ``binary``: what is +-1 in the forward pass
BINARY_MODES = ("weights", "activations", "both")


def binary_mode(binary: Any) -> str | None:
    """``binary`` as one of :data:`BINARY_MODES` or ``None`` (off): ``True`` is
    ``"weights"`` (binary weights came first), ``False`` and ``None`` are off."""
    if binary is None or binary is False:
        return None
    if binary is True:
        return "weights"
    if binary not in BINARY_MODES:
        raise NNBenchError(f"binary must be one of {', '.join(BINARY_MODES)}, got {binary!r}")
    return str(binary)


def _seeds(seed, runs: int) -> list[int]:
    """An int seed ``s`` means seeds ``s, s+1, ..., s+runs-1``; a list gives one per run."""
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        s = check_int("seed", seed, 0)
        return [s + r for r in range(runs)]
    try:
        seeds = list(seed)
    except TypeError:
        raise NNBenchError(
            f"seed must be an integer >= 0 or a list of {runs} of them, got {seed!r}"
        ) from None
    if len(seeds) != runs:
        raise NNBenchError(
            f"seed must be an int or a list of runs={runs} ints, got a list of {len(seeds)}"
        )
    return [check_int("seed", s, 0) for s in seeds]


class MLP:
    """A fully connected network, ``runs`` independent copies trained side by side.

    ``MLP(sizes, activation="sigmoid", init="torch", seed=0, runs=1, dtype="float32",
    init_kwargs=None, **act_kwargs)``

    - ``sizes``: layer widths, input first, e.g. ``[1, 100, 1]`` (one hidden layer of 100).
    - ``activation``: a name in ``ACTIVATIONS`` for every hidden layer (its parameters,
      e.g. ``negative_slope=0.1``, as keyword arguments); the output layer is linear
      unless ``out_act="sigmoid"`` (``a^L = sigma(z^L)``, :data:`OUTPUT_ACTIVATIONS`).
    - ``init``: a name in ``INITS`` (``init_kwargs`` e.g. ``{"std": 0.1}``).
    - ``seed``: an int ``s`` (run ``r`` gets seed ``s + r``) or a list of ``runs`` ints.
      Run ``r`` draws everything (initial weights, RReLU noise) from its own
      ``np.random.default_rng(np.random.SeedSequence(seed_r))``, so a run does not depend
      on the other runs of its group.
    - ``dtype``: ``"float32"`` (default) or ``"float64"``; everything returned has it.

    - ``l2``, ``dropout``, ``binary``: the L2 penalty on the weights, the dropout rate of
      the hidden units in training and the binary forward pass (see the module docstring);
      ``activation="maxout"`` with ``pieces=k`` (default 2) makes maxout hidden layers.
    - ``residual``: each hidden layer after the first whose input has its width adds its
      input to its output, ``h^l = h^(l-1) + f(z^l)`` (MNIST-1D's MLP; He et al. 2016), so the
      gradient reaches the early layers through the sum as well as through ``f'``.

    - ``record``: keep the last pass's hidden layers for :meth:`layer_stats` (default
      ``True``); a training loop that asks for statistics now and then sets it to ``False``
      in between, and each pass's memory is reused, still in the cache, by the next one.
    - ``chunking``: ``None`` (each pass in one piece) or a
      :class:`~nnbench.core.parallel.Chunking`: ``loss_and_grads`` in cache-sized blocks of
      runs and samples, on its thread pool; the same numbers up to float rounding.

    ``params`` is ``[W1, b1, ..., WL, bL]`` followed, for PReLU, by one slope array
    ``(runs, 1, width)`` per hidden layer. It may be changed in place or given new arrays
    of the same shapes; nothing derived from it is kept between calls.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str | Activation = "sigmoid",
        init: str = "torch",
        seed: int | Sequence[int] = 0,
        runs: int = 1,
        dtype: str = "float32",
        *,
        init_kwargs: Mapping | None = None,
        l2: float = 0.0,
        dropout: float = 0.0,
        binary: bool | str | None = False,
        residual: bool = False,
        out_act: str | None = "identity",
        **act_kwargs,
    ):
        try:
            sizes = [int(s) if int(s) == s else s for s in sizes]
        except (TypeError, ValueError):
            raise NNBenchError(
                f"sizes must be a list of positive integers, got {sizes!r}"
            ) from None
        if len(sizes) < 2 or any(not isinstance(s, int) or s < 1 for s in sizes):
            raise NNBenchError(
                f"sizes must list at least 2 positive integers (input, ..., output), got {sizes}"
            )
        self.sizes = sizes
        self.runs = check_int("runs", runs, 1)
        self.dtype = _dtype(dtype)
        if activation == "maxout":
            activation = Maxout(**act_kwargs)
        act = activation if isinstance(activation, (Activation, Maxout)) else make_activation(
            activation, **act_kwargs
        )
        if not act.differentiable:
            raise NNBenchError(
                f"activation '{act.name}' has no gradient, so an MLP cannot train with it; "
                "use a differentiable activation (sigmoid, tanh, relu, ...) or the "
                "perceptron rule (--model perceptron)"
            )
        check_range("l2", l2, 0.0, None)
        check_range("dropout", dropout, 0.0, 1.0, high_open=True)
        self.l2, self.dropout = float(l2), float(dropout)
        self.binary = binary_mode(binary)
        self.binary_weights = self.binary in ("weights", "both")
        if self.binary in ("activations", "both"):
            act = SignSTE()
        self.activation = act
        self.residual = bool(residual)
        out_act = "identity" if out_act is None else out_act
        if out_act not in OUTPUT_ACTIVATIONS:
            raise NNBenchError(f"out_act must be one of {', '.join(OUTPUT_ACTIVATIONS)}, "
                               f"got {out_act!r}")
        self.out_act = str(out_act)
        k = act.pieces if isinstance(act, Maxout) else 1
        self.seeds = _seeds(seed, self.runs)
        self.rngs = [np.random.default_rng(np.random.SeedSequence(s)) for s in self.seeds]
        self.n_layers = len(sizes) - 1
        init_fn = initializer(init, **dict(init_kwargs or {}))
        self.params: list[np.ndarray] = []
        fan_outs = [w * k for w in sizes[1:-1]] + [sizes[-1]]  # maxout: k pieces per unit
        for fan_in, fan_out in zip(sizes[:-1], fan_outs, strict=True):
            pairs = [init_fn(rng, fan_in, fan_out) for rng in self.rngs]
            self.params.append(np.stack([W for W, _ in pairs]).astype(self.dtype))
            self.params.append(np.stack([b[None, :] for _, b in pairs]).astype(self.dtype))
        if act.learnable:
            for width in sizes[1:-1]:
                self.params.append(np.full((self.runs, 1, width), act.init, dtype=self.dtype))
        self._shapes = [p.shape for p in self.params]
        self._losses: dict[str, Loss] = {}
        # keep each pass for layer_stats; False lets its memory go at once
        self.record = True
        self.last_pass: Pass | Any | None = None  # a Pass, or parallel's BlockedPass
        self.last_noise: list[np.ndarray] | None = None
        # blocked execution (nnbench.core.parallel): cache-sized blocks on one thread unless
        # a pool is given (the CLI's pass, also for library calls); None: in one piece
        self.chunking: Chunking | None = Chunking()
        # a compiled pass (nnbench.core.kernels) for the training passes of one loss, or None
        self.kernel: Any = None

    #: ``(fan_in + 1) x outputs`` at most for the one-hidden-layer pass (:mod:`narrow`)
    NARROW = NARROW
    #: the MLP trains until its step budget ends (the perceptron may finish sooner)
    can_finish = False

    @property
    def noisy(self) -> bool:
        """Whether a training pass draws random numbers (dropout, RReLU's slopes)."""
        return self.dropout > 0 or bool(self.activation.random)

    def finished(self, n_train: int) -> np.ndarray:
        """No run of a plain MLP finishes by itself."""
        return np.zeros(self.runs, dtype=bool)

    def extra_results(self, data: Any, loss: str) -> dict[str, np.ndarray]:
        """No columns beyond the engine's (the classic models add theirs)."""
        return {}

    # -- views of params ---------------------------------------------------------------
    @property
    def weights(self) -> list[np.ndarray]:
        """The weight matrices ``W^1..W^L``, each ``(runs, fan_in, fan_out)``."""
        return self.params[0 : 2 * self.n_layers : 2]

    def _slopes(self, train: bool, noise) -> list:
        """The negative-side slope of each hidden layer: None, PReLU's parameters, or
        RReLU's draws (training) / mean (evaluation)."""
        hidden = self.n_layers - 1
        act = self.activation
        if act.learnable:
            return self.params[2 * self.n_layers :]
        if act.random and train:
            return list(noise)
        return [None] * hidden

    # -- forward -----------------------------------------------------------------------
    def _check_params(self) -> None:
        """``params`` may be replaced, but only by arrays of the same shapes and dtype."""
        params = self.params
        if len(params) != len(self._shapes):
            raise NNBenchError(
                f"params must hold {len(self._shapes)} arrays, got {len(params)}"
            )
        for i, (p, shape) in enumerate(zip(params, self._shapes, strict=True)):
            if getattr(p, "shape", None) != shape or p.dtype != self.dtype:
                raise NNBenchError(
                    f"params[{i}] must be a {np.dtype(self.dtype).name} array of shape "
                    f"{shape}, got {getattr(p, 'dtype', type(p).__name__)} "
                    f"{getattr(p, 'shape', '')}"
                )

    def _input(self, X) -> np.ndarray:
        self._check_params()
        return check_input(X, self.dtype, self.sizes[0], self.runs)

    def _draw_noise(self, n: int) -> list[np.ndarray]:
        return [
            self.activation.sample(self.rngs, n, width, self.dtype)
            for width in self.sizes[1:-1]
        ]

    def _check_noise(self, noise, n: int) -> list[np.ndarray]:
        widths = self.sizes[1:-1]
        shapes = [(self.runs, n, w) for w in widths]
        noise = list(noise)
        if [np.shape(z) for z in noise] != shapes:
            raise NNBenchError(
                f"noise must be {len(widths)} arrays of shapes {shapes}, "
                f"got {[np.shape(z) for z in noise]}"
            )
        return [np.asarray(z, dtype=self.dtype) for z in noise]

    def _forward(self, X: np.ndarray, train: bool, noise=None) -> tuple[np.ndarray, Pass]:
        """``z^l = a^(l-1) W^l + b^l``, ``a^l = f(z^l)``: the output and the :class:`Pass`
        (every hidden layer's ``z``, ``a``, dropout mask and slope)."""
        act = self.activation
        if act.random and train:
            n = X.shape[-2]
            noise = self._draw_noise(n) if noise is None else self._check_noise(noise, n)
        else:
            noise = None
        slopes = self._slopes(train, noise)
        p = Pass(weights=self.used_weights(), noise=noise)
        a = X
        L = self.n_layers
        for l in range(L - 1):
            z = matmul(a, p.weights[l])
            z += self.params[2 * l + 1]
            skip = a if self.residual and l > 0 and a.shape[-1] == self.sizes[l + 1] else None
            layer = Layer(z, act(z, slopes[l]), slope=slopes[l], skip=skip)
            if train and self.dropout > 0:  # inverted dropout: keep with 1 - p, scale 1/(1 - p)
                layer.mask = self._dropout_mask(layer.a.shape)
            p.layers.append(layer)
            a = layer.out
        out = matmul(a, p.weights[L - 1])
        out += self.params[2 * L - 1]
        if self.out_act == "sigmoid":  # a^L = sigma(z^L); z^L kept for BP1
            p.out_z = out
            out = sigmoid(out)
        return out, p

    def _used_weight(self, W: np.ndarray) -> np.ndarray:
        """The weight matrix of the forward pass: ``W``, or ``sign(W)`` in {-1, +1}."""
        if not self.binary_weights:
            return W
        return np.where(W >= 0, 1.0, -1.0).astype(self.dtype)

    def _dropout_mask(self, shape: tuple[int, ...]) -> np.ndarray:
        """``m / (1 - p)`` with ``m ~ Bernoulli(1 - p)``, run ``r``'s rows from its generator."""
        keep = 1.0 - self.dropout
        m = np.stack([rng.random(shape[1:]) < keep for rng in self.rngs])
        return (m / keep).astype(self.dtype)

    def dropout_masks(self, n: int) -> np.ndarray | None:
        """Dropout's masks of a training pass over ``n`` samples for a compiled pass: every
        hidden layer's :meth:`_dropout_mask`, drawn in the order the NumPy pass draws them
        (so the runs' generators move as they would there), side by side in one
        ``(runs, n, sum of the widths)`` array; ``None`` without dropout."""
        if self.dropout <= 0:
            return None
        widths = self.sizes[1:-1]
        masks = np.empty((self.runs, n, sum(widths)), dtype=self.dtype)
        at = 0
        for width in widths:
            masks[:, :, at:at + width] = self._dropout_mask((self.runs, n, width))
            at += width
        return masks

    def penalty(self) -> np.ndarray:
        """The L2 term ``lambda/2 sum_l ||W^l||^2`` of each run ``(runs,)`` (biases left out)."""
        sq = sum(np.einsum("rij,rij->r", W, W) for W in self.weights)
        return (0.5 * self.l2 * np.asarray(sq)).astype(self.dtype)

    def forward(self, X, train: bool = False, noise=None) -> np.ndarray:
        """The network output ``(runs, n, out)`` for ``X`` ``(n, in)`` or ``(runs, n, in)``.

        ``train=True`` only matters for RReLU: random slopes instead of their mean, drawn
        unless ``noise`` (one ``(runs, n, width)`` array per hidden layer) fixes them."""
        out, p = self._forward(self._input(X), train, noise)
        self._keep(p)
        return out

    __call__ = forward

    def _keep(self, p: Any) -> None:
        """The end of a pass: keep it for :meth:`layer_stats` if ``record`` asks to."""
        self.last_pass = p if self.record else None
        self.last_noise = None if p is None else p.noise

    # -- loss and backprop -------------------------------------------------------------
    def _loss(self, loss) -> Loss:
        if isinstance(loss, Loss):
            return loss
        if loss not in self._losses:
            self._losses[loss] = LOSSES.create(loss)
        return self._losses[loss]

    def loss_and_grads(self, X, Y, loss: str | Loss = "mse", train: bool = True,
                       noise=None) -> tuple[np.ndarray, list[np.ndarray]]:
        """The loss ``(runs,)`` (mean over samples) and its gradient with respect to every
        array of ``params``, in the same order and shapes.

        ``noise`` (RReLU only, training mode) fixes the random slopes, one ``(runs, n, width)``
        array per hidden layer, instead of drawing them; the ones used are in ``last_noise``.
        With ``l2`` the loss includes :meth:`penalty` and ``dC/dW^l`` its ``lambda W^l``.
        With ``chunking`` (the default) the pass runs in cache-sized blocks where it may;
        with a ``kernel`` (:mod:`nnbench.core.kernels`) a training pass of its loss is
        compiled code, equal to the NumPy pass to float rounding.
        """
        loss_fn = self._loss(loss)
        X = self._input(X)
        self.last_pass = None  # let the previous pass's arrays go before this one allocates
        if self.kernel is not None and train and noise is None \
                and self.kernel.loss_name == loss_fn.name:
            masks = self.dropout_masks(X.shape[-2])
            if not self.record:
                C, grads = self.kernel.loss_and_grads(self.params, X, Y, masks=masks)
                self._keep(None)
                return C, grads
            # a recorded pass keeps the layer statistics the kernel counted
            C, grads, stats = self.kernel.loss_and_grads(self.params, X, Y, stats=True,
                                                         masks=masks)
            self._keep(stats)
            return C, grads
        if self.chunking is not None and noise is None and splittable(self, train, X):
            C, grads, p = chunked_loss_and_grads(self, X, Y, loss_fn, train, self.chunking)
        else:
            C, grads, p = self.compute(X, Y, loss_fn, train, noise)
        self._keep(p)
        return C, grads

    def compute(self, X: np.ndarray, Y, loss_fn: Loss, train: bool = True,
                noise=None) -> tuple[np.ndarray, list[np.ndarray], Pass]:
        """One pass in one piece over a checked ``X``: the loss, its gradients and the
        :class:`Pass`; nothing is kept in the network (blocks call this concurrently)."""
        if noise is None and takes_narrow(self, train):
            C, grads, p = narrow_loss_and_grads(self, X, Y, loss_fn)
        else:
            C, grads, p = self._backprop(X, Y, loss_fn, train, noise)
        return (*self._regularized(C, grads), p)

    def _backprop(self, X: np.ndarray, Y, loss_fn: Loss, train: bool,
                  noise) -> tuple[np.ndarray, list[np.ndarray], Pass]:
        """The notes' four equations over the stacked runs."""
        out, p = self._forward(X, train, noise)
        # (BP1) d^L = grad_a C * f'(z^L): f' = 1 for a linear output, sigma' for a sigmoid
        C, delta = output_loss(loss_fn, self.out_act, out, p.out_z, Y)
        act, L = self.activation, self.n_layers
        grads: list[np.ndarray] = [None] * len(self.params)  # type: ignore[list-item]
        skip = None  # dC/dh^(l-1) through the skip connection of a residual layer l
        for l in range(L - 1, -1, -1):  # layer l + 1 of the notes
            a_prev = X if l == 0 else p.layers[l - 1].out  # the (dropped-out) input it saw
            # (BP4) dC/dW^l = (a^(l-1))^T d^l, summed over the samples by the matmul
            grads[2 * l] = np.matmul(np.swapaxes(a_prev, -1, -2), delta)
            # (BP3) dC/db^l = d^l, summed over the samples
            grads[2 * l + 1] = delta.sum(axis=1, keepdims=True)
            if l == 0:
                break
            # (BP2) d^(l-1) = (d^l (W^l)^T) * f'(z^(l-1)): the activation's own backward
            # (through dropout's mask; PReLU also gives its slopes' gradient)
            g = matmul(delta, np.swapaxes(p.weights[l], -1, -2))
            if skip is not None:  # h^l = h^(l-1) + f(z^l): the skip's share of dC/dh^(l-1)
                g += skip
            layer = p.layers[l - 1]
            if layer.skip is not None:  # dC/dh of its sum, through dropout's mask
                skip = g * layer.mask if layer.mask is not None else g.copy()
            else:
                skip = None
            delta, dslope = act.backward(layer, g)
            if dslope is not None:
                grads[2 * L + l - 1] = dslope
        return C, grads, p

    def _regularized(self, C: np.ndarray, grads: list[np.ndarray]):
        """The straight-through gradient of ``binary`` and the L2 term, on a pass's result."""
        if self.binary_weights:  # straight-through: dC/dW = dC/dsign(W) where |W| <= 1
            for l, W in enumerate(self.weights):
                grads[2 * l] *= np.abs(W) <= 1
        if self.l2 > 0:  # coupled L2 on the weights only: C + lambda/2 ||W||^2
            C = C + self.penalty()
            for l, W in enumerate(self.weights):
                grads[2 * l] += self.l2 * W
        return C, grads

    def used_weights(self) -> list[np.ndarray]:
        """The weight matrices the forward pass multiplies by: ``W^l``, or ``sign(W^l)``."""
        return [self._used_weight(W) for W in self.weights]

    # -- diagnostics -------------------------------------------------------------------
    def layer_stats(self) -> list[dict[str, np.ndarray]]:
        """One dict per hidden layer from the most recent pass, each value ``(runs,)``:
        ``saturated_frac`` (sigmoid/tanh kind: the fraction of unit activations whose
        derivative is below 5% of its maximum) or ``dead_frac`` (ReLU family: the fraction
        of units with ``z <= 0`` on every sample of the pass)."""
        if self.last_pass is None:
            raise NNBenchError("layer_stats needs the last pass recorded: set record = True")
        return self.last_pass.layer_stats(self.activation)

    def subset(self, runs: slice) -> MLP:
        """A shallow copy that sees the runs ``runs`` only: views of the parameters, the
        runs' generators and seeds; no pass of its own. Blocks of a pass train on these."""
        part = copy.copy(self)
        part.chunking = None
        part.last_pass = None
        if runs.start in (0, None) and (runs.stop is None or runs.stop >= self.runs):
            return part
        part.params = [p[runs] for p in self.params]
        part._shapes = [p.shape for p in part.params]
        part.rngs = self.rngs[runs]
        part.seeds = self.seeds[runs]
        part.runs = len(part.rngs)
        return part

    def __repr__(self) -> str:
        return (
            f"MLP(sizes={self.sizes}, activation={self.activation!r}, runs={self.runs}, "
            f"dtype={np.dtype(self.dtype).name})"
        )
