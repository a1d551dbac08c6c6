"""Activation functions and their derivatives, stable for any finite input.

Each activation is an object with

- ``act(z, slope=None) -> a``: the elementwise function ``a = f(z)``;
- ``act.grad(z, a, slope=None) -> f'(z)``: its derivative, which may reuse the
  output ``a`` (sigmoid's ``f' = a (1 - a)``) to save work on the training hot path;
- ``act.backward(layer, g) -> (dC/dz, dC/dparams or None)``: backprop through a hidden
  layer's forward record :class:`Layer` from ``g = dC/da`` (BP2's elementwise factor,
  through dropout's mask when the layer had one); PReLU also gives the gradient of its
  slopes, maxout routes each unit's gradient to its winning piece;
- ``act.stat``: the layer statistic it is watched with, ``"saturated_frac"`` for the
  sigmoid/tanh kind (the units whose derivative has fallen below 5% of its
  maximum) or ``"dead_frac"`` for the ReLU family (the units that are negative on
  every sample of the batch).

The leaky family (``leaky_relu``, ``prelu``, ``rrelu``) take the negative-side
slope as an argument: a constant, PReLU's learnable ``(runs, 1, width)`` parameter,
or RReLU's random ``(runs, n, width)`` draw.

Every function is finite at ``|z| = 1e4`` in float32 and float64 without overflow
(underflow to 0 of ``exp(-1e4)`` is the exact answer rounded, and is allowed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from nnbench.core.errors import NNBenchError, check_int, check_positive, check_range
from nnbench.core.registry import Registry

ACTIVATIONS = Registry("activation")

_SQRT_PI = math.sqrt(math.pi)
_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)

#: SELU constants (Klambauer et al. 2017), as in ``torch.nn.SELU``.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _erf_taylor_table(step: float, n_centers: int, order: int) -> np.ndarray:
    """Taylor coefficients of erf at the centers ``c_j = j * step``: row ``k`` holds
    ``erf^(k)(c_j) / k!``, with ``erf^(k)(c) = 2/sqrt(pi) (-1)^(k-1) H_(k-1)(c) e^(-c^2)``
    for ``k >= 1`` (``H`` the physicists' Hermite polynomials, ``H_(m+1) = 2c H_m - 2m H_(m-1)``)
    and row 0 ``erf(c_j)`` from ``math.erf``."""
    table = np.empty((order + 1, n_centers))
    for j in range(n_centers):
        c = j * step
        hermite = [1.0, 2.0 * c]
        for m in range(1, order):
            hermite.append(2.0 * c * hermite[m] - 2.0 * m * hermite[m - 1])
        g = 2.0 / _SQRT_PI * math.exp(-c * c)
        table[0, j] = math.erf(c)
        for k in range(1, order + 1):
            table[k, j] = g * (-1) ** (k - 1) * hermite[k - 1] / math.factorial(k)
    return table


_ERF_STEP = 0.125
_ERF_TABLE = _erf_taylor_table(_ERF_STEP, 49, 10)  # centers 0, 1/8, ..., 6
_ERF_LAST = 48 * _ERF_STEP + _ERF_STEP / 2  # from here on erf(x) = 1 in float64


def erf(x: np.ndarray) -> np.ndarray:
    """The error function ``erf(x) = 2/sqrt(pi) int_0^x exp(-t^2) dt``, vectorized.

    ``erf(|x|)`` is the degree-10 Taylor polynomial at the nearest center ``c = j/8``
    (``|x - c| <= 1/16``; coefficients from the closed-form derivatives, see
    ``_erf_taylor_table``), 1 beyond 6.06; ``erf(-x) = -erf(x)``. Computed in float64,
    within 2e-16 of ``math.erf``; the result has the dtype of ``x``.
    """
    x = np.asarray(x)
    ax = np.abs(x).astype(np.float64).reshape(-1)
    clipped = np.fmin(ax, _ERF_LAST)  # also maps NaN to a valid index
    centre = np.rint(clipped * (1.0 / _ERF_STEP))
    h = clipped - centre * _ERF_STEP
    j = centre.astype(np.intp)
    acc = _ERF_TABLE[-1].take(j)
    for k in range(_ERF_TABLE.shape[0] - 2, -1, -1):  # Horner in h
        acc *= h
        acc += _ERF_TABLE[k].take(j)
    acc[ax >= _ERF_LAST] = 1.0
    acc[np.isnan(ax)] = np.nan
    return np.copysign(acc.reshape(x.shape), x).astype(x.dtype, copy=False)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """``sigma(z) = 1 / (1 + e^-z)``, in four passes over a copy of ``z``.

    Accurate to two ulps everywhere, tails included: for ``z`` far below 0, ``e^-z`` is
    huge and ``1 / (1 + e^-z)`` keeps its relative precision; past the dtype's largest
    exponent it overflows to ``inf`` and the result is exactly 0 (the true value is then
    below the smallest normal number). ``-z`` is first raised to at least -50, where
    ``1 + e^-z`` is already exactly 1 in float32 and float64: below that ``np.exp`` would
    produce subnormal numbers, which it computes ten times slower (a network whose
    weights grew under SGD spends a third of its step there)."""
    return _sigmoid_of_negated(np.negative(z))


def _sigmoid_of_negated(e: np.ndarray, clamp: bool = True) -> np.ndarray:
    """``sigmoid(-e)``, overwriting ``e``: ``1 / (1 + exp(max(e, -50)))``. The raise to -50
    changes speed only (below -50 ``1 + exp(e)`` is 1 either way); ``clamp=False`` leaves
    it out, for callers that know ``e >= -50``."""
    if clamp:
        np.maximum(e, -50.0, out=e)
    with np.errstate(over="ignore", under="ignore"):
        np.exp(e, out=e)
        e += 1.0
        np.reciprocal(e, out=e)
    return e


@dataclass
class Layer:
    """What a hidden layer's forward pass keeps for backprop and for its statistics.

    ``z`` the pre-activation (``None`` where the activation's derivative and statistic need
    ``a`` only, as sigmoid's in the one-hidden-layer pass), ``a = f(z)``, ``mask`` dropout's
    ``m / (1 - p)`` in training (else ``None``), ``slope`` the negative-side slope the layer
    used (PReLU's parameter, RReLU's draw; else ``None``), ``skip`` the layer's input when it
    is residual (its output is then ``skip + f(z)``; else ``None``)."""

    z: np.ndarray | None
    a: np.ndarray
    mask: np.ndarray | None = None
    slope: np.ndarray | None = None
    skip: np.ndarray | None = None

    @property
    def out(self) -> np.ndarray:
        """What the next layer sees: ``h = a`` (or ``skip + a``), dropped out ``h m / (1 - p)``."""
        h = self.a if self.skip is None else self.skip + self.a
        return h if self.mask is None else h * self.mask


class Activation:
    """An elementwise activation ``a = f(z)`` with its derivative ``f'(z)``."""

    name = "activation"
    stat = "saturated_frac"
    differentiable = True
    learnable = False  # has a trained parameter (prelu's slopes)
    random = False  # draws noise in training mode (rrelu)
    elementwise = True  # a_j depends on z_j only (maxout's units do not)

    def __call__(self, z: np.ndarray, slope=None) -> np.ndarray:
        raise NotImplementedError

    def grad(self, z: np.ndarray, a: np.ndarray, slope=None) -> np.ndarray:
        raise NotImplementedError

    def backward(self, layer: Layer, g: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """``dC/dz = dC/da * f'(z)`` (BP2's factor) from ``g = dC/da``, computed in ``g``'s
        memory; through dropout's mask first when the layer had one. No parameters: the
        second value is ``None``."""
        if layer.mask is not None:
            g *= layer.mask
        g *= self.grad(layer.z, layer.a, layer.slope)
        return g, None

    def saturated(self, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        """Boolean mask of the entries whose derivative is below 5% of its maximum."""
        return self.grad(z, a) < 0.05 * self.max_grad

    max_grad = 1.0

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class SignSTE(Activation):
    """The binarized unit of Hubara et al. (2016), ``a = sign(z)`` in {-1, +1}
    (``sign(0) = +1``), trained with the straight-through estimator: the backward pass
    takes ``sign``'s derivative as that of ``hardtanh``, ``1[|z| <= 1]``, so that the
    gradient passes where the unit is not saturated and stops where it is. Not in
    ``ACTIVATIONS``: an MLP builds it for ``binary="activations"`` or ``"both"``."""

    name = "sign"
    max_grad = 1.0

    def __call__(self, z, slope=None):
        return np.where(z >= 0, 1.0, -1.0).astype(z.dtype)

    def grad(self, z, a, slope=None):
        return (np.abs(z) <= 1).astype(z.dtype)


class Sigmoid(Activation):
    """``f(z) = 1/(1+e^-z)``, ``f'(z) = f(z)(1 - f(z)) <= 1/4`` (the notes' vanishing factor)."""

    name = "sigmoid"
    max_grad = 0.25

    def __call__(self, z, slope=None):
        return sigmoid(z)

    def from_negated(self, nz, low=None):
        """``sigma(z)`` from ``nz = -z``, computed in ``nz``'s memory (see :func:`sigmoid`).
        ``low``: a lower bound of ``nz`` when the caller knows one; from -50 up the raise
        to -50 does nothing and is skipped."""
        return _sigmoid_of_negated(nz, not (low is not None and low >= -50.0))  # NaN: raise

    def grad(self, z, a, slope=None):
        g = np.subtract(1.0, a)
        g *= a
        return g


class Tanh(Activation):
    """``f(z) = tanh z``, ``f'(z) = 1 - f(z)^2``."""

    name = "tanh"

    def __call__(self, z, slope=None):
        return np.tanh(z)

    def grad(self, z, a, slope=None):
        return 1.0 - a * a


class ReLU(Activation):
    """``f(z) = max(0, z)``, ``f'(z) = 1 if z > 0 else 0`` (the notes' convention at 0)."""

    name = "relu"
    stat = "dead_frac"

    def __call__(self, z, slope=None):
        return np.maximum(z, 0.0)

    def grad(self, z, a, slope=None):
        return (z > 0).astype(z.dtype)


class LeakyReLU(Activation):
    """``f(z) = z if z > 0 else s z``, ``f'(z) = 1 if z > 0 else s``.

    ``s`` is ``negative_slope`` (0.01 as in torch) unless a ``slope`` array is given.
    """

    name = "leaky_relu"
    stat = "dead_frac"

    def __init__(self, negative_slope: float = 0.01):
        check_range("negative_slope", negative_slope, 0.0, 1.0)
        self.negative_slope = float(negative_slope)

    def _slope(self, slope):
        return self.negative_slope if slope is None else slope

    def __call__(self, z, slope=None):
        out = np.minimum(z, 0.0)  # max(z, 0) + s min(z, 0), without a branch per element
        out *= self._slope(slope)
        out += np.maximum(z, 0.0)
        return out

    def grad(self, z, a, slope=None):
        g = (z <= 0) * np.asarray(self._slope(slope), dtype=z.dtype)  # s where z <= 0
        g += z > 0  # 1 where z > 0
        return g

    def slope_grad(self, z: np.ndarray) -> np.ndarray:
        """``df/ds = min(z, 0)``: the derivative with respect to the slope itself."""
        return np.minimum(z, 0.0)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(negative_slope={self.negative_slope:g})"


class PReLU(LeakyReLU):
    """Parametric ReLU (He et al. 2015): ``f(z) = z if z > 0 else s_j z`` with one learnable
    slope ``s_j`` per unit, started at ``init`` (0.25, as ``torch.nn.PReLU``) and trained with
    the weights; ``df/ds_j = min(z_j, 0)``. The MLP keeps the slopes as ``(runs, 1, width)``
    arrays at the end of ``params``."""

    name = "prelu"
    learnable = True

    def __init__(self, init: float = 0.25):
        self.negative_slope = float(init)
        self.init = float(init)

    def backward(self, layer: Layer, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``dC/dz`` as every activation, and the slopes' ``dC/ds_j = sum_n dC/da min(z, 0)``
        ``(runs, 1, width)``."""
        if layer.mask is not None:
            g *= layer.mask
        ds = (g * self.slope_grad(layer.z)).sum(axis=1, keepdims=True)
        g *= self.grad(layer.z, layer.a, layer.slope)
        return g, ds

    def __repr__(self) -> str:
        return f"PReLU(init={self.init:g})"


class RReLU(LeakyReLU):
    """Randomized leaky ReLU (Xu et al. 2015), as ``torch.nn.RReLU``: in training each
    negative entry gets its own slope ``s ~ U(lower, upper)`` (1/8 and 1/3), drawn from the
    run's generator; at evaluation the fixed mean ``(lower + upper) / 2``."""

    name = "rrelu"
    random = True

    def __init__(self, lower: float = 1.0 / 8.0, upper: float = 1.0 / 3.0):
        check_range("lower", lower, 0.0, 1.0)
        check_range("upper", upper, float(lower), 1.0)
        self.lower, self.upper = float(lower), float(upper)
        self.negative_slope = (self.lower + self.upper) / 2.0

    def sample(self, rngs, n: int, width: int, dtype) -> np.ndarray:
        """Slopes ``(runs, n, width)``, run ``r``'s drawn from its own generator ``rngs[r]``."""
        return np.stack(
            [rng.uniform(self.lower, self.upper, size=(n, width)) for rng in rngs]
        ).astype(dtype, copy=False)

    def __repr__(self) -> str:
        return f"RReLU(lower={self.lower:g}, upper={self.upper:g})"


class Maxout:
    """Maxout units (004): ``a_j = max_{i < k} z_(j k + i)`` over ``k`` linear pieces.

    Not elementwise: a layer of ``width`` units has ``k width`` pre-activations, and its
    backward gives each unit's gradient to its largest piece (the first one on a tie), the
    others 0. Not in ``ACTIVATIONS`` (the MLP builds it for ``activation="maxout"``)."""

    name = "maxout"
    stat = None
    differentiable = True
    learnable = False
    random = False
    elementwise = False

    def __init__(self, pieces: int = 2):
        self.pieces = check_int("pieces", pieces, 2)

    def _split(self, z: np.ndarray) -> np.ndarray:
        return z.reshape(*z.shape[:-1], z.shape[-1] // self.pieces, self.pieces)

    def __call__(self, z: np.ndarray, slope=None) -> np.ndarray:
        return self._split(z).max(axis=-1)

    def backward(self, layer: Layer, g: np.ndarray) -> tuple[np.ndarray, None]:
        """``dC/dz`` from ``dC/da`` ``g``: ``g_j`` at the winning piece of unit ``j``."""
        if layer.mask is not None:
            g *= layer.mask
        zs = self._split(layer.z)
        win = zs.argmax(axis=-1)[..., None]
        dz = np.zeros_like(zs)
        np.put_along_axis(dz, win, g[..., None], axis=-1)
        return dz.reshape(layer.z.shape), None

    def __repr__(self) -> str:
        return f"Maxout(pieces={self.pieces})"


class Softplus(Activation):
    """``f(z) = log(1 + e^z)`` (torch's beta=1, threshold=20: ``f(z) = z`` for ``z > 20``),
    ``f'(z) = sigma(z)`` (1 above the threshold)."""

    name = "softplus"
    stat = "dead_frac"
    threshold = 20.0

    def __call__(self, z, slope=None):
        soft = np.log1p(np.exp(np.minimum(z, self.threshold)))
        return np.where(z > self.threshold, z, soft)

    def grad(self, z, a, slope=None):
        return np.where(z > self.threshold, 1.0, sigmoid(z)).astype(z.dtype, copy=False)


class ELU(Activation):
    """``f(z) = z if z > 0 else alpha (e^z - 1)``, ``f'(z) = 1 if z > 0 else f(z) + alpha``."""

    name = "elu"
    stat = "dead_frac"

    def __init__(self, alpha: float = 1.0):
        check_positive("alpha", alpha)
        self.alpha = float(alpha)
        self.scale = 1.0

    def __call__(self, z, slope=None):
        out = np.minimum(z, 0.0)  # alpha (e^min(z,0) - 1) + max(z, 0), times scale
        np.expm1(out, out=out)
        out *= self.alpha
        out += np.maximum(z, 0.0)
        if self.scale != 1.0:
            out *= self.scale
        return out

    def grad(self, z, a, slope=None):
        g = a + self.scale * self.alpha
        g *= z <= 0
        g += (z > 0) * np.asarray(self.scale, dtype=z.dtype)
        return g

    def __repr__(self) -> str:
        return f"ELU(alpha={self.alpha:g})"


class SELU(ELU):
    """``f(z) = scale * elu_alpha(z)`` with torch's constants alpha = 1.6732632423543772,
    scale = 1.0507009873554805; ``f'(z) = scale if z > 0 else f(z) + scale * alpha``."""

    name = "selu"

    def __init__(self):
        self.alpha = SELU_ALPHA
        self.scale = SELU_SCALE

    def __repr__(self) -> str:
        return "SELU()"


class GELU(Activation):
    """Exact GELU, torch's default: ``f(z) = z Phi(z) = z/2 (1 + erf(z/sqrt 2))``,
    ``f'(z) = Phi(z) + z phi(z)`` with ``phi(z) = e^(-z^2/2) / sqrt(2 pi)``.

    The derivative takes ``Phi`` from the output, ``Phi = a / z``, and for ``|z| < 1/64``
    from its series ``1/2 + phi(0) (z - z^3/6 + z^5/40)`` (error below 1e-15), so the
    backward pass needs no second erf."""

    name = "gelu"
    stat = "dead_frac"

    def __call__(self, z, slope=None):
        return 0.5 * z * (1.0 + erf(z * _INV_SQRT2))

    def grad(self, z, a, slope=None):
        small = np.abs(z) < 1.0 / 64.0
        z2 = z * z
        series = 0.5 + _INV_SQRT_2PI * z * (1.0 - z2 * (1.0 / 6.0 - z2 / 40.0))
        cdf = np.where(small, series, a / np.where(small, 1.0, z))
        return cdf + z * (_INV_SQRT_2PI * np.exp(-0.5 * z2))


class SiLU(Activation):
    """SiLU / swish: ``f(z) = z sigma(z)``, ``f'(z) = sigma(z) (1 + z (1 - sigma(z)))``."""

    name = "silu"
    stat = "dead_frac"

    def __call__(self, z, slope=None):
        return z * sigmoid(z)

    def grad(self, z, a, slope=None):
        s = sigmoid(z)
        return s * (1.0 + z * (1.0 - s))


class Step(Activation):
    """The perceptron's symmetric step of the notes (000), ``sign(z) = +1 if z >= 0 else -1``:
    its derivative is 0 wherever it exists, so gradient training refuses it."""

    name = "step"
    differentiable = False

    def __call__(self, z, slope=None):
        out = (z >= 0).astype(z.dtype)
        out *= 2.0
        out -= 1.0
        return out

    def grad(self, z, a, slope=None):
        raise NNBenchError(
            "activation 'step' has no gradient; use a differentiable activation "
            "(sigmoid, tanh, relu, ...) or the perceptron rule (--model perceptron)"
        )

    def saturated(self, z, a):
        return np.zeros(np.shape(z), dtype=bool)


ACTIVATIONS.add("sigmoid", Sigmoid, "logistic 1/(1+e^-z); derivative at most 1/4")
ACTIVATIONS.add("tanh", Tanh, "hyperbolic tangent; derivative 1 - tanh^2")
ACTIVATIONS.add("relu", ReLU, "max(0, z)")
ACTIVATIONS.add("leaky_relu", LeakyReLU, "z if z > 0 else negative_slope * z",
                {"negative_slope": 0.01})
ACTIVATIONS.add("prelu", PReLU, "leaky ReLU with a learnable slope per unit", {"init": 0.25})
ACTIVATIONS.add("rrelu", RReLU, "leaky ReLU with random slopes U(lower, upper) in training",
                {"lower": 1.0 / 8.0, "upper": 1.0 / 3.0})
ACTIVATIONS.add("softplus", Softplus, "log(1 + e^z), linear above 20 (torch's threshold)")
ACTIVATIONS.add("elu", ELU, "z if z > 0 else alpha (e^z - 1)", {"alpha": 1.0})
ACTIVATIONS.add("selu", SELU, "scaled ELU with torch's self-normalizing constants")
ACTIVATIONS.add("gelu", GELU, "z Phi(z), exact erf form")
ACTIVATIONS.add("silu", SiLU, "z sigma(z) (swish)")
ACTIVATIONS.add("step", Step, "perceptron sign: +1 if z >= 0 else -1; not for gradient training")


def activation(name: str, **kwargs) -> Activation:
    """Build the registered activation ``name`` with its keyword arguments."""
    return ACTIVATIONS.build(name, **kwargs)
