"""Per-coordinate step sizes from past squared gradients: AdaGrad, RMSProp, Adadelta."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nnbench.core.optimizers.base import Hyper, Optimizer, _col, _is_zero, _zeros
from nnbench.core.optimizers.constraints import FLAG, NON_NEGATIVE, UNIT


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

    torch's default lr is 1e-2.
    """

    name = "adagrad"
    _parameter_constraints = dict(lr_decay=NON_NEGATIVE, weight_decay=NON_NEGATIVE,
                                  initial_accumulator_value=NON_NEGATIVE, eps=NON_NEGATIVE,
                                  maximize=FLAG)

    def __init__(self, lr: Hyper = 0.05, lr_decay: Hyper = 0.0, weight_decay: Hyper = 0.0,
                 initial_accumulator_value: Hyper = 0.0, eps: Hyper = 1e-10,
                 maximize: bool = False):
        super().__init__(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                         initial_accumulator_value=initial_accumulator_value, eps=eps,
                         maximize=maximize)

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

    torch's default lr is 1e-2.
    """

    name = "rmsprop"
    _parameter_constraints = dict(alpha=UNIT, eps=NON_NEGATIVE, weight_decay=NON_NEGATIVE,
                                  momentum=UNIT, centered=FLAG, maximize=FLAG)

    def __init__(self, lr: Hyper = 1e-3, alpha: Hyper = 0.99, eps: Hyper = 1e-8,
                 weight_decay: Hyper = 0.0, momentum: Hyper = 0.0, centered: bool = False,
                 maximize: bool = False):
        super().__init__(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                         centered=centered, maximize=maximize)

    def _init(self, params) -> RMSpropState:
        zeros = _zeros(params)
        return RMSpropState(
            0,
            zeros,
            _zeros(params) if self.centered else [],
            [] if _is_zero(self.momentum) else _zeros(params),
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



# --------------------------------------------------------------------------- Adadelta


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

    torch's default lr is 1.0, which is also ours: the rule sets its own step size.
    """

    name = "adadelta"
    _parameter_constraints = dict(rho=UNIT, eps=NON_NEGATIVE, weight_decay=NON_NEGATIVE,
                                  maximize=FLAG)

    def __init__(self, lr: Hyper = 1.0, rho: Hyper = 0.9, eps: Hyper = 1e-6,
                 weight_decay: Hyper = 0.0, maximize: bool = False):
        super().__init__(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)

    def _init(self, params) -> AdadeltaState:
        return AdadeltaState(0, _zeros(params), _zeros(params))

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

