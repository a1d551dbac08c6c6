"""Optimizers: the update rules of the notes, with the names and semantics of ``torch.optim``.

Each rule is one small class with an explicit state (an ``init``/``update`` pair, as in
optax)::

    opt = optimizer("adam", lr=1e-3, betas=(0.9, 0.999))
    state = opt.init(params)                 # moments, step counter, ...
    opt.update(params, grads, state)         # params changed in place, state advanced
    opt.update(params, grads, state, lr=lr_t)  # this step with another learning rate

``params`` and ``grads`` are lists of arrays with a leading *runs* axis
(``W`` is ``(R, fan_in, fan_out)``, ``b`` is ``(R, 1, fan_out)``; any ``(R, ...)``
shape works). A numeric hyperparameter is a scalar or an ``(R,)`` array, one value
per run; it is reshaped to ``(R, 1, ..., 1)`` for each parameter. The arithmetic stays
in the parameters' dtype: state arrays are created with ``zeros_like(param)`` and
scalar coefficients (bias corrections, step sizes) are Python floats or are cast to
that dtype before they touch an array.

``g`` below is the gradient after ``maximize`` (``g = -grad``) and coupled L2 weight
decay (``g <- g + weight_decay * theta``), exactly as in ``torch.optim``; ``t`` counts
steps from 1. ``OPTIMIZERS.get(name).defaults`` holds each rule's hyperparameters
(torch's names) with their defaults; ``defaults["lr"]`` is a learning rate suited to
the rule on small problems, used when the user gives none (torch's own default is
given in each class's docstring).

``clip_grad_norm`` clips the gradients of each run to a global norm, as
``torch.nn.utils.clip_grad_norm_`` does for one model.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnbench.core.errors import NNBenchError, check_int, check_positive, check_range
from nnbench.core.registry import Registry

__all__ = [
    "OPTIMIZERS",
    "Optimizer",
    "SGD",
    "Adagrad",
    "RMSprop",
    "Adam",
    "NAdam",
    "RAdam",
    "Adamax",
    "Adadelta",
    "AdaBound",
    "Lookahead",
    "optimizer",
    "clip_grad_norm",
    "hyperparameter_names",
]

Params = list[np.ndarray]
Hyper = Any  # float or (R,) array

OPTIMIZERS = Registry("optimizer")


# --------------------------------------------------------------------------- helpers


def _hyper(name: str, value: Any) -> float | np.ndarray:
    """A numeric hyperparameter as a Python float or a 1-d float64 array (one per run)."""
    if isinstance(value, bool):
        raise NNBenchError(f"{name} must be a number or one number per run, got {value!r}")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise NNBenchError(
            f"{name} must be a number or one number per run, got {value!r}"
        ) from None
    if arr.ndim == 0:
        return float(arr)
    if arr.ndim != 1 or arr.size == 0:
        raise NNBenchError(
            f"{name} must be a number or a 1-d array with one value per run, "
            f"got shape {arr.shape}"
        )
    return arr.copy()


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise NNBenchError(f"{name} must be true or false, got {value!r}")
    return bool(value)


def _betas(value: Any) -> tuple[float | np.ndarray, float | np.ndarray]:
    try:
        b1, b2 = value
    except (TypeError, ValueError):
        raise NNBenchError(f"betas must be a pair (beta1, beta2), got {value!r}") from None
    b1, b2 = _hyper("betas[0]", b1), _hyper("betas[1]", b2)
    check_range("betas[0]", b1, 0.0, 1.0, high_open=True)
    check_range("betas[1]", b2, 0.0, 1.0, high_open=True)
    return b1, b2


def _is_zero(x: float | np.ndarray) -> bool:
    return bool(np.all(np.asarray(x) == 0))


def _col(x: float | np.ndarray, p: np.ndarray) -> float | np.ndarray:
    """``x`` as a factor for the parameter ``p``: a Python float (which NumPy applies in
    ``p``'s dtype), or an ``(R,)`` array reshaped to ``(R, 1, ..., 1)`` in ``p``'s dtype."""
    if np.ndim(x) == 0:
        return float(x)
    return np.asarray(x, dtype=p.dtype).reshape((-1,) + (1,) * (p.ndim - 1))


def _check_lengths(hypers: Mapping[str, Any], runs: int) -> None:
    for name, value in hypers.items():
        n = np.size(value) if np.ndim(value) == 1 else None
        if n is not None and n not in (1, runs):
            raise NNBenchError(
                f"{name} has {n} values but the parameters have {runs} runs; "
                f"give one value or {runs}"
            )


def _check_params(params: Sequence[np.ndarray]) -> int:
    if len(params) == 0:
        raise NNBenchError("params must be a non-empty list of arrays with a leading runs axis")
    runs = {np.shape(p)[0] if np.ndim(p) else None for p in params}
    if len(runs) != 1 or None in runs:
        raise NNBenchError(
            "every parameter array must have the same leading runs axis (R, ...), "
            f"got shapes {[np.shape(p) for p in params]}"
        )
    return runs.pop()


# --------------------------------------------------------------------------- base class


class Optimizer:
    """An update rule: ``state = init(params)``; ``update(params, grads, state, lr=None)``.

    ``lr`` in :meth:`update` (a scalar or one value per run) replaces the configured
    learning rate for that step only; schedules act through it.
    """

    name = "optimizer"

    def __init__(self, lr: Hyper):
        self.lr = _hyper("lr", lr)
        check_positive("lr", self.lr)

    def _per_run(self) -> dict[str, Any]:
        """The hyperparameters given as (R,) arrays, checked against R in ``init``."""
        out = {}
        for k, v in vars(self).items():
            for j, x in enumerate(v) if isinstance(v, tuple) else [(None, v)]:
                if isinstance(x, np.ndarray) and x.ndim == 1:
                    out[k if j is None else f"{k}[{j}]"] = x
        return out

    def init(self, params: Sequence[np.ndarray]) -> Any:
        runs = _check_params(params)
        _check_lengths(self._per_run(), runs)
        return self._init(params)

    def _init(self, params: Sequence[np.ndarray]) -> Any:
        raise NotImplementedError

    def update(self, params: Params, grads: Sequence[np.ndarray], state: Any,
               lr: Hyper | None = None) -> None:
        """Apply one step to ``params`` in place and advance ``state``."""
        if len(grads) != len(params):
            raise NNBenchError(f"got {len(grads)} gradients for {len(params)} parameters")
        if lr is None:
            lr = self.lr
        else:
            lr = _hyper("lr", lr)
            if np.ndim(lr) == 1 and lr.size not in (1, len(params[0])):
                raise NNBenchError(f"lr has {lr.size} values but the parameters have "
                                   f"{len(params[0])} runs; give one value or {len(params[0])}")
        self._update(params, grads, state, lr)

    def _update(self, params: Params, grads: Sequence[np.ndarray], state: Any,
                lr: Hyper) -> None:
        raise NotImplementedError

    def hyperparameters(self) -> dict[str, Any]:
        """The configured hyperparameters by their torch names."""
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({args})"

    def _grad(self, g: np.ndarray, p: np.ndarray, maximize: bool, wd: Hyper) -> np.ndarray:
        """``g = (-grad if maximize else grad) + weight_decay * theta`` (a new array when
        it differs from ``grad``, so the caller's gradients are never modified)."""
        if maximize:
            g = -g
        if not _is_zero(wd):
            g = g + _col(wd, p) * p
        return g


# --------------------------------------------------------------------------- SGD


@dataclass
class SGDState:
    """``momentum_buffer[i]`` is torch's ``b`` for parameter ``i``; ``step`` counts updates."""

    step: int = 0
    momentum_buffer: list[np.ndarray] = field(default_factory=list)


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum, as ``torch.optim.SGD``.

    ::

        g = grad + weight_decay * theta
        b = g                                   (t = 1)
        b = momentum * b + (1 - dampening) * g  (t > 1)
        d = g + momentum * b  if nesterov  else  b     (d = g when momentum = 0)
        theta = theta - lr * d

    The notes (Goodfellow et al., *Deep Learning*, algorithm 8.2) write momentum as
    ``v <- alpha v - epsilon g; theta <- theta + v``. With a constant learning rate this
    is the same trajectory (``v = -lr b``, ``alpha = momentum``, ``epsilon = lr``); when
    the learning rate changes, torch scales the whole buffer by the current ``lr``,
    whereas the book's form keeps past steps at their old rates. Nesterov momentum in
    torch's form is Sutskever et al. (2013), ICML, rewritten at the look-ahead point.

    Defaults: ``momentum=0, dampening=0, weight_decay=0, nesterov=False, maximize=False``
    (torch's default lr is 1e-3). A momentum of 0 for some runs of a group behaves as
    plain SGD for those runs (dampening is only applied where momentum > 0).
    """

    name = "sgd"

    def __init__(self, lr: Hyper = 0.1, momentum: Hyper = 0.0, dampening: Hyper = 0.0,
                 weight_decay: Hyper = 0.0, nesterov: bool = False, maximize: bool = False):
        super().__init__(lr)
        self.momentum = _hyper("momentum", momentum)
        self.dampening = _hyper("dampening", dampening)
        self.weight_decay = _hyper("weight_decay", weight_decay)
        self.nesterov = _flag("nesterov", nesterov)
        self.maximize = _flag("maximize", maximize)
        check_range("momentum", self.momentum, 0.0, 1.0)
        check_range("dampening", self.dampening, 0.0, 1.0)
        check_range("weight_decay", self.weight_decay, 0.0)
        if self.nesterov and (np.any(np.asarray(self.momentum) <= 0)
                              or not _is_zero(self.dampening)):
            raise NNBenchError(
                "nesterov=True needs momentum > 0 and dampening = 0, got "
                f"momentum={self.momentum!r}, dampening={self.dampening!r}"
            )
        # 1 - dampening where momentum > 0; 1 where momentum == 0 (plain SGD for that run)
        self._keep = np.where(np.asarray(self.momentum) > 0, 1.0 - np.asarray(self.dampening), 1.0)
        if self._keep.ndim == 0:
            self._keep = float(self._keep)

    def _init(self, params: Sequence[np.ndarray]) -> SGDState:
        bufs = [] if _is_zero(self.momentum) else [np.zeros_like(p) for p in params]
        return SGDState(0, bufs)

    def _update(self, params, grads, state: SGDState, lr) -> None:
        with_momentum = not _is_zero(self.momentum)
        for i, (p, grad) in enumerate(zip(params, grads, strict=True)):
            g = self._grad(grad, p, self.maximize, self.weight_decay)
            if with_momentum:
                buf = state.momentum_buffer[i]
                mu = _col(self.momentum, p)
                if state.step == 0:
                    buf[...] = g
                else:
                    buf *= mu
                    buf += _col(self._keep, p) * g
                g = g + mu * buf if self.nesterov else buf
            p -= _col(lr, p) * g
        state.step += 1


# --------------------------------------------------------------------------- AdaGrad


@dataclass
class AdagradState:
    step: int = 0
    sum: list[np.ndarray] = field(default_factory=list)


class Adagrad(Optimizer):
    """AdaGrad (Duchi, Hazan and Singer, JMLR 2011), as ``torch.optim.Adagrad``.

    ::

        clr = lr / (1 + (t - 1) * lr_decay)
        r = r + g * g                           (r starts at initial_accumulator_value)
        theta = theta - clr * g / (sqrt(r) + eps)

    The notes give two forms. Goodfellow's algorithm 8.4 is
    ``theta <- theta - epsilon / (delta + sqrt(r)) * g`` with ``delta ~ 1e-7``: this rule with
    ``eps = delta``. The course's form ``w <- w - eta^t / sigma^t g`` with
    ``eta^t = eta / sqrt(t + 1)`` and ``sigma^t = sqrt(mean of the squared past gradients)``
    is the same rule: the two ``sqrt(t + 1)`` cancel, leaving ``eta / sqrt(sum g^2)``.

    Defaults: ``lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
    maximize=False`` (torch's default lr is 1e-2).
    """

    name = "adagrad"

    def __init__(self, lr: Hyper = 0.05, lr_decay: Hyper = 0.0, weight_decay: Hyper = 0.0,
                 initial_accumulator_value: Hyper = 0.0, eps: Hyper = 1e-10,
                 maximize: bool = False):
        super().__init__(lr)
        self.lr_decay = _hyper("lr_decay", lr_decay)
        self.weight_decay = _hyper("weight_decay", weight_decay)
        self.initial_accumulator_value = _hyper("initial_accumulator_value",
                                                initial_accumulator_value)
        self.eps = _hyper("eps", eps)
        self.maximize = _flag("maximize", maximize)
        check_range("lr_decay", self.lr_decay, 0.0)
        check_range("weight_decay", self.weight_decay, 0.0)
        check_range("initial_accumulator_value", self.initial_accumulator_value, 0.0)
        check_range("eps", self.eps, 0.0)

    def _init(self, params) -> AdagradState:
        sums = []
        for p in params:
            r = np.zeros_like(p)
            r += _col(self.initial_accumulator_value, p)
            sums.append(r)
        return AdagradState(0, sums)

    def _update(self, params, grads, state: AdagradState, lr) -> None:
        state.step += 1
        clr = np.asarray(lr) / (1.0 + (state.step - 1) * np.asarray(self.lr_decay))
        for p, grad, r in zip(params, grads, state.sum, strict=True):
            g = self._grad(grad, p, self.maximize, self.weight_decay)
            r += g * g
            std = np.sqrt(r)
            std += _col(self.eps, p)
            p -= _col(clr, p) * g / std


# --------------------------------------------------------------------------- RMSProp


@dataclass
class RMSpropState:
    step: int = 0
    square_avg: list[np.ndarray] = field(default_factory=list)
    grad_avg: list[np.ndarray] = field(default_factory=list)
    momentum_buffer: list[np.ndarray] = field(default_factory=list)


class RMSprop(Optimizer):
    """RMSProp (Hinton, *Neural Networks for Machine Learning*, lecture 6e, 2012), as
    ``torch.optim.RMSprop``; ``centered`` is Graves (2013), arXiv:1308.0850.

    ::

        v = alpha * v + (1 - alpha) * g * g
        c = alpha * c + (1 - alpha) * g         (centered only)
        s = sqrt(v - c * c) if centered else sqrt(v);   s = s + eps
        b = momentum * b + g / s;  theta = theta - lr * b   (momentum > 0)
        theta = theta - lr * g / s                           (momentum = 0)

    Goodfellow's algorithm 8.5 divides by ``sqrt(delta + r)`` (``delta ~ 1e-6`` inside the
    root), torch by ``sqrt(v) + eps``; the two differ only near ``v = 0``. The course's
    form (``sigma^0 = g^0``) starts the average at the first squared gradient instead
    of at 0.

    Defaults: ``alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
    maximize=False`` (torch's default lr is 1e-2).
    """

    name = "rmsprop"

    def __init__(self, lr: Hyper = 1e-3, alpha: Hyper = 0.99, eps: Hyper = 1e-8,
                 weight_decay: Hyper = 0.0, momentum: Hyper = 0.0, centered: bool = False,
                 maximize: bool = False):
        super().__init__(lr)
        self.alpha = _hyper("alpha", alpha)
        self.eps = _hyper("eps", eps)
        self.weight_decay = _hyper("weight_decay", weight_decay)
        self.momentum = _hyper("momentum", momentum)
        self.centered = _flag("centered", centered)
        self.maximize = _flag("maximize", maximize)
        check_range("alpha", self.alpha, 0.0, 1.0)
        check_range("eps", self.eps, 0.0)
        check_range("weight_decay", self.weight_decay, 0.0)
        check_range("momentum", self.momentum, 0.0, 1.0)

    def _init(self, params) -> RMSpropState:
        zeros = [np.zeros_like(p) for p in params]
        return RMSpropState(
            0,
            zeros,
            [np.zeros_like(p) for p in params] if self.centered else [],
            [] if _is_zero(self.momentum) else [np.zeros_like(p) for p in params],
        )

    def _update(self, params, grads, state: RMSpropState, lr) -> None:
        state.step += 1
        for i, (p, grad) in enumerate(zip(params, grads, strict=True)):
            g = self._grad(grad, p, self.maximize, self.weight_decay)
            a = _col(self.alpha, p)
            v = state.square_avg[i]
            v *= a
            v += (1.0 - a) * g * g
            if self.centered:
                c = state.grad_avg[i]
                c += (1.0 - a) * (g - c)
                s = np.sqrt(v - c * c)
            else:
                s = np.sqrt(v)
            s += _col(self.eps, p)
            if state.momentum_buffer:
                b = state.momentum_buffer[i]
                b *= _col(self.momentum, p)
                b += g / s
                p -= _col(lr, p) * b
            else:
                p -= _col(lr, p) * (g / s)


# --------------------------------------------------------------------------- Adam family


@dataclass
class AdamState:
    step: int = 0
    exp_avg: list[np.ndarray] = field(default_factory=list)
    exp_avg_sq: list[np.ndarray] = field(default_factory=list)
    max_exp_avg_sq: list[np.ndarray] = field(default_factory=list)


def _decay_or_couple(p: np.ndarray, g: np.ndarray, lr, wd, decoupled: bool) -> np.ndarray:
    """Coupled L2 (``g + wd theta``) or decoupled decay (``theta *= 1 - lr wd``, AdamW)."""
    if _is_zero(wd):
        return g
    if decoupled:
        p *= _col(1.0 - np.asarray(lr) * np.asarray(wd), p)
        return g
    return g + _col(wd, p) * p


def _moments(g: np.ndarray, m: np.ndarray, v: np.ndarray, b1, b2) -> None:
    """``m = b1 m + (1 - b1) g`` (as torch's ``lerp``), ``v = b2 v + (1 - b2) g^2``, in place."""
    m += _col(1.0 - np.asarray(b1), g) * (g - m)
    v *= _col(b2, g)
    v += _col(1.0 - np.asarray(b2), g) * (g * g)


class Adam(Optimizer):
    """Adam (Kingma and Ba, ICLR 2015), as ``torch.optim.Adam``; ``amsgrad`` is Reddi,
    Kale and Kumar (ICLR 2018); ``decoupled_weight_decay`` is AdamW (Loshchilov and
    Hutter, ICLR 2019).

    ::

        theta = theta * (1 - lr * weight_decay)        (decoupled; else g += wd * theta)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        vmax = max(vmax, v);  v' = vmax if amsgrad else v
        theta = theta - lr / (1 - beta1^t) * m / (sqrt(v') / sqrt(1 - beta2^t) + eps)

    Goodfellow's algorithm 8.7 divides by ``sqrt(r_hat + delta)``; torch (and the paper)
    by ``sqrt(v_hat) + eps``.

    Defaults: ``betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False,
    decoupled_weight_decay=False, maximize=False`` (torch's default lr is 1e-3; the
    notes' sin(x) example uses 5e-3). ``adamw`` is this rule with
    ``decoupled_weight_decay=True, weight_decay=1e-2``.
    """

    name = "adam"

    def __init__(self, lr: Hyper = 5e-3, betas=(0.9, 0.999), eps: Hyper = 1e-8,
                 weight_decay: Hyper = 0.0, amsgrad: bool = False,
                 decoupled_weight_decay: bool = False, maximize: bool = False):
        super().__init__(lr)
        self.betas = _betas(betas)
        self.eps = _hyper("eps", eps)
        self.weight_decay = _hyper("weight_decay", weight_decay)
        self.amsgrad = _flag("amsgrad", amsgrad)
        self.decoupled_weight_decay = _flag("decoupled_weight_decay", decoupled_weight_decay)
        self.maximize = _flag("maximize", maximize)
        check_range("eps", self.eps, 0.0)
        check_range("weight_decay", self.weight_decay, 0.0)

    def _init(self, params) -> AdamState:
        z = [np.zeros_like(p) for p in params]
        return AdamState(0, z, [np.zeros_like(p) for p in params],
                         [np.zeros_like(p) for p in params] if self.amsgrad else [])

    def _update(self, params, grads, state: AdamState, lr) -> None:
        state.step += 1
        t = state.step
        b1, b2 = self.betas
        step_size = np.asarray(lr) / (1.0 - np.asarray(b1) ** t)
        bc2_sqrt = np.sqrt(1.0 - np.asarray(b2) ** t)
        for i, (p, grad) in enumerate(zip(params, grads, strict=True)):
            g = grad if not self.maximize else -grad
            g = _decay_or_couple(p, g, lr, self.weight_decay, self.decoupled_weight_decay)
            m, v = state.exp_avg[i], state.exp_avg_sq[i]
            _moments(g, m, v, b1, b2)
            if self.amsgrad:
                np.maximum(state.max_exp_avg_sq[i], v, out=state.max_exp_avg_sq[i])
                v = state.max_exp_avg_sq[i]
            denom = np.sqrt(v)
            denom /= _col(bc2_sqrt, p)
            denom += _col(self.eps, p)
            p -= _col(step_size, p) * m / denom


@dataclass
class NAdamState:
    step: int = 0
    mu_product: float | np.ndarray = 1.0
    exp_avg: list[np.ndarray] = field(default_factory=list)
    exp_avg_sq: list[np.ndarray] = field(default_factory=list)


class NAdam(Optimizer):
    """NAdam: Adam with Nesterov momentum (Dozat, ICLR 2016 workshop), as
    ``torch.optim.NAdam``, with its momentum schedule::

        mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay))
        m = beta1 m + (1 - beta1) g;   v = beta2 v + (1 - beta2) g^2
        d = sqrt(v / (1 - beta2^t)) + eps
        theta = theta - lr (1 - mu_t) / (1 - prod_{i<=t} mu_i) * g / d
                      - lr mu_{t+1} / (1 - prod_{i<=t+1} mu_i) * m / d

    ``decoupled_weight_decay=True`` decays ``theta *= 1 - lr * weight_decay`` (NAdamW)
    instead of adding ``weight_decay * theta`` to ``g``.

    Defaults: ``betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
    decoupled_weight_decay=False, maximize=False`` (torch's default lr is 2e-3).
    """

    name = "nadam"

    def __init__(self, lr: Hyper = 5e-3, betas=(0.9, 0.999), eps: Hyper = 1e-8,
                 weight_decay: Hyper = 0.0, momentum_decay: Hyper = 4e-3,
                 decoupled_weight_decay: bool = False, maximize: bool = False):
        super().__init__(lr)
        self.betas = _betas(betas)
        self.eps = _hyper("eps", eps)
        self.weight_decay = _hyper("weight_decay", weight_decay)
        self.momentum_decay = _hyper("momentum_decay", momentum_decay)
        self.decoupled_weight_decay = _flag("decoupled_weight_decay", decoupled_weight_decay)
        self.maximize = _flag("maximize", maximize)
        check_range("eps", self.eps, 0.0)
        check_range("weight_decay", self.weight_decay, 0.0)
        check_range("momentum_decay", self.momentum_decay, 0.0)

    def _init(self, params) -> NAdamState:
        return NAdamState(0, 1.0, [np.zeros_like(p) for p in params],
                          [np.zeros_like(p) for p in params])

    def _update(self, params, grads, state: NAdamState, lr) -> None:
        state.step += 1
        t = state.step
        b1, b2 = (np.asarray(b) for b in self.betas)
        psi = np.asarray(self.momentum_decay)
        mu = b1 * (1.0 - 0.5 * 0.96 ** (t * psi))
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
        state.mu_product = state.mu_product * mu
        lr = np.asarray(lr)
        c_grad = -lr * (1.0 - mu) / (1.0 - state.mu_product)
        c_avg = -lr * mu_next / (1.0 - state.mu_product * mu_next)
        bc2 = 1.0 - b2 ** t
        for i, (p, grad) in enumerate(zip(params, grads, strict=True)):
            g = grad if not self.maximize else -grad
            g = _decay_or_couple(p, g, lr, self.weight_decay, self.decoupled_weight_decay)
            m, v = state.exp_avg[i], state.exp_avg_sq[i]
            _moments(g, m, v, self.betas[0], self.betas[1])
            denom = v / _col(bc2, p)
            np.sqrt(denom, out=denom)
            denom += _col(self.eps, p)
            p += _col(c_grad, p) * (g / denom)
            p += _col(c_avg, p) * (m / denom)


class RAdam(Optimizer):
    """RAdam: rectified Adam (Liu et al., ICLR 2020), as ``torch.optim.RAdam``::

        m = beta1 m + (1 - beta1) g;   v = beta2 v + (1 - beta2) g^2
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)
        r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
        theta = theta - lr m / (1 - beta1^t) * r_t sqrt(1 - beta2^t) / (sqrt(v) + eps)
                                                                   if rho_t > 5
        theta = theta - lr m / (1 - beta1^t)                       otherwise (SGD with momentum)

    ``decoupled_weight_decay=True`` decays ``theta *= 1 - lr * weight_decay`` (RAdamW).
    The variance rectification replaces a learning-rate warmup.

    Defaults: ``betas=(0.9, 0.999), eps=1e-8, weight_decay=0, decoupled_weight_decay=False,
    maximize=False`` (torch's default lr is 1e-3).
    """

    name = "radam"

    def __init__(self, lr: Hyper = 5e-3, betas=(0.9, 0.999), eps: Hyper = 1e-8,
                 weight_decay: Hyper = 0.0, decoupled_weight_decay: bool = False,
                 maximize: bool = False):
        super().__init__(lr)
        self.betas = _betas(betas)
        self.eps = _hyper("eps", eps)
        self.weight_decay = _hyper("weight_decay", weight_decay)
        self.decoupled_weight_decay = _flag("decoupled_weight_decay", decoupled_weight_decay)
        self.maximize = _flag("maximize", maximize)
        check_range("eps", self.eps, 0.0)
        check_range("weight_decay", self.weight_decay, 0.0)

    def _init(self, params) -> AdamState:
        return AdamState(0, [np.zeros_like(p) for p in params],
                         [np.zeros_like(p) for p in params])

    def _update(self, params, grads, state: AdamState, lr) -> None:
        state.step += 1
        t = state.step
        b1, b2 = (np.asarray(b) for b in self.betas)
        bc1, bc2 = 1.0 - b1 ** t, 1.0 - b2 ** t
        with np.errstate(divide="ignore", invalid="ignore"):
            rho_inf = 2.0 / (1.0 - b2) - 1.0
            rho_t = rho_inf - 2.0 * t * b2 ** t / bc2
            rect = np.sqrt((rho_t - 4.0) * (rho_t - 2.0) * rho_inf
                           / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t))
        adaptive = rho_t > 5.0  # per run when beta2 is per run
        rect = np.where(adaptive, rect, 0.0)
        step_size = np.asarray(lr) / bc1
        for i, (p, grad) in enumerate(zip(params, grads, strict=True)):
            g = grad if not self.maximize else -grad
            g = _decay_or_couple(p, g, lr, self.weight_decay, self.decoupled_weight_decay)
            m, v = state.exp_avg[i], state.exp_avg_sq[i]
            _moments(g, m, v, self.betas[0], self.betas[1])
            if not np.any(adaptive):
                p -= _col(step_size, p) * m
                continue
            scale = np.sqrt(v)
            scale += _col(self.eps, p)
            np.divide(_col(rect * np.sqrt(bc2), p), scale, out=scale)
            if not np.all(adaptive):
                scale = np.where(_col(adaptive, p).astype(bool), scale, 1.0).astype(p.dtype)
            p -= _col(step_size, p) * m * scale


@dataclass
class AdamaxState:
    step: int = 0
    exp_avg: list[np.ndarray] = field(default_factory=list)
    exp_inf: list[np.ndarray] = field(default_factory=list)


class Adamax(Optimizer):
    """Adamax: Adam with the infinity norm (Kingma and Ba, ICLR 2015, section 7.1), as
    ``torch.optim.Adamax``::

        m = beta1 m + (1 - beta1) g
        u = max(beta2 u, |g| + eps)
        theta = theta - lr / (1 - beta1^t) * m / u

    Defaults: ``betas=(0.9, 0.999), eps=1e-8, weight_decay=0, maximize=False``
    (torch's default lr is 2e-3).
    """

    name = "adamax"

    def __init__(self, lr: Hyper = 1e-2, betas=(0.9, 0.999), eps: Hyper = 1e-8,
                 weight_decay: Hyper = 0.0, maximize: bool = False):
        super().__init__(lr)
        self.betas = _betas(betas)
        self.eps = _hyper("eps", eps)
        self.weight_decay = _hyper("weight_decay", weight_decay)
        self.maximize = _flag("maximize", maximize)
        check_range("eps", self.eps, 0.0)
        check_range("weight_decay", self.weight_decay, 0.0)

    def _init(self, params) -> AdamaxState:
        return AdamaxState(0, [np.zeros_like(p) for p in params],
                           [np.zeros_like(p) for p in params])

    def _update(self, params, grads, state: AdamaxState, lr) -> None:
        state.step += 1
        b1, b2 = self.betas
        clr = np.asarray(lr) / (1.0 - np.asarray(b1) ** state.step)
        for i, (p, grad) in enumerate(zip(params, grads, strict=True)):
            g = self._grad(grad, p, self.maximize, self.weight_decay)
            m, u = state.exp_avg[i], state.exp_inf[i]
            m += _col(1.0 - np.asarray(b1), p) * (g - m)
            u *= _col(b2, p)
            np.maximum(u, np.abs(g) + _col(self.eps, p), out=u)
            p -= _col(clr, p) * m / u


@dataclass
class AdadeltaState:
    step: int = 0
    square_avg: list[np.ndarray] = field(default_factory=list)
    acc_delta: list[np.ndarray] = field(default_factory=list)


class Adadelta(Optimizer):
    """Adadelta (Zeiler, arXiv:1212.5701, 2012), as ``torch.optim.Adadelta``::

        v = rho v + (1 - rho) g^2
        d = sqrt(u + eps) / sqrt(v + eps) * g
        u = rho u + (1 - rho) d^2
        theta = theta - lr * d

    Defaults: ``rho=0.9, eps=1e-6, weight_decay=0, maximize=False`` (torch's default lr
    is 1.0, which is also ours: the rule sets its own step size).
    """

    name = "adadelta"

    def __init__(self, lr: Hyper = 1.0, rho: Hyper = 0.9, eps: Hyper = 1e-6,
                 weight_decay: Hyper = 0.0, maximize: bool = False):
        super().__init__(lr)
        self.rho = _hyper("rho", rho)
        self.eps = _hyper("eps", eps)
        self.weight_decay = _hyper("weight_decay", weight_decay)
        self.maximize = _flag("maximize", maximize)
        check_range("rho", self.rho, 0.0, 1.0)
        check_range("eps", self.eps, 0.0)
        check_range("weight_decay", self.weight_decay, 0.0)

    def _init(self, params) -> AdadeltaState:
        return AdadeltaState(0, [np.zeros_like(p) for p in params],
                             [np.zeros_like(p) for p in params])

    def _update(self, params, grads, state: AdadeltaState, lr) -> None:
        state.step += 1
        for i, (p, grad) in enumerate(zip(params, grads, strict=True)):
            g = self._grad(grad, p, self.maximize, self.weight_decay)
            rho, eps = _col(self.rho, p), _col(self.eps, p)
            v, u = state.square_avg[i], state.acc_delta[i]
            v *= rho
            v += (1.0 - rho) * g * g
            d = np.sqrt(u + eps)
            d /= np.sqrt(v + eps)
            d *= g
            u *= rho
            u += (1.0 - rho) * d * d
            p -= _col(lr, p) * d


# --------------------------------------------------------------------------- AdaBound


class AdaBound(Optimizer):
    """AdaBound (Luo, Xiong, Liu and Sun, *Adaptive Gradient Methods with Dynamic Bound
    of Learning Rate*, ICLR 2019), as in the authors' reference implementation: Adam whose
    per-coordinate step size is clipped into bounds that both converge to ``final_lr``,
    so the rule moves from Adam towards SGD::

        m = beta1 m + (1 - beta1) g;   v = beta2 v + (1 - beta2) g^2
        v' = max(v', v) if amsbound else v                     (AMSBound)
        eta = lr sqrt(1 - beta2^t) / (1 - beta1^t) / (sqrt(v') + eps)
        f = final_lr * lr_t / lr               (a schedule scales the bounds too)
        eta = clip(eta, f (1 - 1 / (gamma t + 1)), f (1 + 1 / (gamma t)))
        theta = theta - eta * m

    Defaults: ``betas=(0.9, 0.999), final_lr=0.1, gamma=1e-3, eps=1e-8, weight_decay=0
    (coupled L2), amsbound=False`` (the reference's default lr is 1e-3).
    """

    name = "adabound"

    def __init__(self, lr: Hyper = 5e-3, betas=(0.9, 0.999), final_lr: Hyper = 0.1,
                 gamma: Hyper = 1e-3, eps: Hyper = 1e-8, weight_decay: Hyper = 0.0,
                 amsbound: bool = False):
        super().__init__(lr)
        self.betas = _betas(betas)
        self.final_lr = _hyper("final_lr", final_lr)
        self.gamma = _hyper("gamma", gamma)
        self.eps = _hyper("eps", eps)
        self.weight_decay = _hyper("weight_decay", weight_decay)
        self.amsbound = _flag("amsbound", amsbound)
        check_positive("final_lr", self.final_lr)
        check_range("gamma", self.gamma, 0.0, 1.0, low_open=True, high_open=True)
        check_range("eps", self.eps, 0.0)
        check_range("weight_decay", self.weight_decay, 0.0)

    def _init(self, params) -> AdamState:
        return AdamState(0, [np.zeros_like(p) for p in params],
                         [np.zeros_like(p) for p in params],
                         [np.zeros_like(p) for p in params] if self.amsbound else [])

    def _update(self, params, grads, state: AdamState, lr) -> None:
        state.step += 1
        t = state.step
        b1, b2 = (np.asarray(b) for b in self.betas)
        lr = np.asarray(lr)
        step_size = lr * np.sqrt(1.0 - b2 ** t) / (1.0 - b1 ** t)
        final_lr = np.asarray(self.final_lr) * lr / np.asarray(self.lr)
        gamma = np.asarray(self.gamma)
        lower = final_lr * (1.0 - 1.0 / (gamma * t + 1.0))
        upper = final_lr * (1.0 + 1.0 / (gamma * t))
        for i, (p, grad) in enumerate(zip(params, grads, strict=True)):
            g = self._grad(grad, p, False, self.weight_decay)
            m, v = state.exp_avg[i], state.exp_avg_sq[i]
            _moments(g, m, v, self.betas[0], self.betas[1])
            if self.amsbound:
                np.maximum(state.max_exp_avg_sq[i], v, out=state.max_exp_avg_sq[i])
                v = state.max_exp_avg_sq[i]
            eta = np.sqrt(v)
            eta += _col(self.eps, p)
            np.divide(_col(step_size, p), eta, out=eta)
            np.clip(eta, _col(lower, p), _col(upper, p), out=eta)
            eta *= m
            p -= eta


# --------------------------------------------------------------------------- Lookahead


@dataclass
class LookaheadState:
    """``base`` is the inner rule's state; ``slow`` the slow weights phi."""

    step: int
    base: Any
    slow: list[np.ndarray]


class Lookahead(Optimizer):
    """Lookahead (Zhang, Lucas, Hinton and Ba, *Lookahead Optimizer: k steps forward,
    1 step back*, NeurIPS 2019), a wrapper over any other rule::

        theta = base.update(theta)             (k fast steps with the inner rule)
        every k steps:  phi = phi + alpha (theta - phi);   theta = phi

    ``phi`` (the slow weights) starts at the initial parameters. The inner rule keeps
    its state across synchronizations (the paper's default).
    Build it as ``optimizer("lookahead", base="adam", k=5, alpha=0.5, lr=..., **base_hypers)``:
    every hyperparameter other than ``base``, ``k`` and ``alpha`` goes to the inner rule,
    and the learning rate is the inner rule's (its suited default when none is given).
    """

    name = "lookahead"

    def __init__(self, base: Optimizer, k: int = 5, alpha: Hyper = 0.5):
        if not isinstance(base, Optimizer) or isinstance(base, Lookahead):
            raise NNBenchError(f"lookahead needs a base optimizer other than lookahead, "
                               f"got {base!r}")
        self.base = base
        self.k = check_int("k", k, 1)
        self.alpha = _hyper("alpha", alpha)
        check_range("alpha", self.alpha, 0.0, 1.0)
        self.lr = base.lr

    def init(self, params) -> LookaheadState:
        runs = _check_params(params)
        _check_lengths(self._per_run(), runs)
        return LookaheadState(0, self.base.init(params), [np.array(p) for p in params])

    def _update(self, params, grads, state: LookaheadState, lr) -> None:
        self.base.update(params, grads, state.base, lr=lr)
        state.step += 1
        if state.step % self.k == 0:
            for p, phi in zip(params, state.slow, strict=True):
                phi += _col(self.alpha, p) * (p - phi)
                p[...] = phi

    def hyperparameters(self) -> dict[str, Any]:
        return {"base": self.base.name, "k": self.k, "alpha": self.alpha,
                **self.base.hyperparameters()}


# --------------------------------------------------------------------------- clipping


def clip_grad_norm(grads: Sequence[np.ndarray], max_norm: Hyper) -> np.ndarray:
    """Clip each run's gradients to a global L2 norm, in place; return the norms before.

    For run ``r``, ``n_r = sqrt(sum_i ||grads[i][r]||^2)`` over all its parameter
    arrays, and every ``grads[i][r]`` is multiplied by ``min(1, max_norm / (n_r + 1e-6))``,
    as ``torch.nn.utils.clip_grad_norm_`` does for one model. ``max_norm`` is a
    positive scalar or one value per run. Returns ``n`` with shape ``(R,)``.
    """
    mx = _hyper("max_norm", max_norm)
    check_positive("max_norm", mx)
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


# --------------------------------------------------------------------------- registry


def _make(cls: type[Optimizer], name: str, **hyper: Any) -> Optimizer:
    accepted = OPTIMIZERS.get(name).defaults
    unknown = [k for k in hyper if k not in accepted]
    if unknown:
        close = difflib.get_close_matches(unknown[0], list(accepted), n=1, cutoff=0.5)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise NNBenchError(
            f"unknown hyperparameter '{unknown[0]}' for optimizer '{name}'{hint} "
            f"valid: {', '.join(accepted)}"
        )
    return cls(**{**accepted, **hyper})


def _make_lookahead(**hyper: Any) -> Lookahead:
    base_name = hyper.pop("base", "adam")
    if base_name == "lookahead":
        raise NNBenchError("lookahead's base must be another optimizer, not lookahead")
    k = hyper.pop("k", 5)
    alpha = hyper.pop("alpha", 0.5)
    try:
        base = OPTIMIZERS.create(base_name, **hyper)
    except NNBenchError as err:
        if not str(err).startswith("unknown hyperparameter"):
            raise
        valid = ", ".join(["base", "k", "alpha", *OPTIMIZERS.get(base_name).defaults])
        raise NNBenchError(f"{str(err).split(' valid:')[0]} (lookahead over "
                           f"'{base_name}') valid: {valid}") from None
    return Lookahead(base, k=k, alpha=alpha)


_SGD = dict(momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False)
_ADAM = dict(betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
             decoupled_weight_decay=False, maximize=False)

_TABLE: list[tuple[str, type[Optimizer], str, dict[str, Any]]] = [
    ("sgd", SGD, "plain gradient descent: theta -= lr g (torch.optim.SGD)",
     dict(lr=0.1, **_SGD)),
    ("momentum", SGD, "SGD with heavy-ball momentum 0.9: b = 0.9 b + g; theta -= lr b",
     dict(lr=0.01, **{**_SGD, "momentum": 0.9})),
    ("nesterov", SGD, "SGD with Nesterov momentum 0.9 (torch.optim.SGD nesterov=True)",
     dict(lr=0.01, **{**_SGD, "momentum": 0.9, "nesterov": True})),
    ("adagrad", Adagrad, "AdaGrad: per-coordinate lr / sqrt(sum of squared gradients)",
     dict(lr=0.05, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
          eps=1e-10, maximize=False)),
    ("rmsprop", RMSprop, "RMSProp: lr / sqrt(running mean of squared gradients)",
     dict(lr=1e-3, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
          maximize=False)),
    ("adam", Adam, "Adam: bias-corrected momentum over RMSProp's scale (amsgrad optional)",
     dict(lr=5e-3, **_ADAM)),
    ("adamw", Adam, "AdamW: Adam with decoupled weight decay 1e-2",
     dict(lr=5e-3, **{**_ADAM, "weight_decay": 1e-2, "decoupled_weight_decay": True})),
    ("nadam", NAdam, "NAdam: Adam with Nesterov momentum and torch's momentum schedule",
     dict(lr=5e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
          decoupled_weight_decay=False, maximize=False)),
    ("radam", RAdam, "RAdam: Adam with the variance rectification instead of a warmup",
     dict(lr=5e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
          decoupled_weight_decay=False, maximize=False)),
    ("adamax", Adamax, "Adamax: Adam with the infinity norm of past gradients",
     dict(lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, maximize=False)),
    ("adadelta", Adadelta, "Adadelta: step = RMS of past steps / RMS of gradients",
     dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False)),
    ("adabound", AdaBound, "AdaBound: Adam with step sizes bounded towards SGD's final_lr",
     dict(lr=5e-3, betas=(0.9, 0.999), final_lr=0.1, gamma=1e-3, eps=1e-8,
          weight_decay=0.0, amsbound=False)),
]

for _name, _cls, _desc, _defaults in _TABLE:
    OPTIMIZERS.add(_name, functools.partial(_make, _cls, _name), _desc, _defaults)

OPTIMIZERS.add(
    "lookahead",
    _make_lookahead,
    "Lookahead: k fast steps of a base rule, then the slow weights move alpha of the way",
    # lr shown is the default base's (adam); with another base its own default is used
    dict(base="adam", k=5, alpha=0.5, lr=5e-3),
)


def optimizer(name: str, **hyper: Any) -> Optimizer:
    """Build the optimizer ``name`` with torch-named hyperparameters over its defaults.

    Unknown names raise :class:`~nnbench.core.errors.UnknownNameError`; unknown
    hyperparameters and out-of-range values raise
    :class:`~nnbench.core.errors.NNBenchError` naming the valid ones. A numeric
    hyperparameter may be an ``(R,)`` array, one value per run. ``lookahead`` takes
    ``base`` (another optimizer's name), ``k`` and ``alpha``, and passes the rest
    (``lr`` included) to its base.
    """
    return OPTIMIZERS.create(name, **hyper)


def hyperparameter_names(name: str, base: str | None = None) -> list[str]:
    """The hyperparameter names ``optimizer(name, ...)`` accepts (for ``--hp NAME=VALUE``).

    For ``lookahead`` these are ``base``, ``k``, ``alpha`` and the names of its base
    (``base``, default ``adam``).
    """
    names = list(OPTIMIZERS.get(name).defaults)
    if name == "lookahead":
        inner = OPTIMIZERS.get(base or OPTIMIZERS.get(name).defaults["base"]).defaults
        names += [k for k in inner if k not in names]
    return names
