"""Per-coordinate step sizes from past squared gradients: AdaGrad, RMSProp, Adadelta."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from nnbench.core.errors import NNBenchError
from nnbench.core.optimizers.base import Hyper, Optimizer, _col, _is_zero, _zeros
from nnbench.core.optimizers.constraints import FLAG, NON_NEGATIVE, UNIT, Choice
from nnbench.core.optimizers.forms import BOOK, LECTURE, TORCH


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

    The notes give two forms. ``form="book"`` is Goodfellow's algorithm 8.4 as written,
    ``theta <- theta - epsilon / (delta + sqrt(r)) * g``, with the box's ``delta = 1e-7``
    as its default ``eps`` (torch's is 1e-10)::

        theta = theta - (clr / (eps + sqrt(r))) * g

    ``form="lecture"`` is the course's ``w <- w - eta^t / sigma^t g`` with
    ``eta^t = eta / sqrt(t + 1)`` and ``sigma^t = sqrt(mean of the squared past
    gradients)`` (lecture ``t`` counts from 0, so ``t + 1`` is the step count here)::

        theta = theta - (clr / sqrt(t) / (sqrt(r / t) + eps)) * g

    The two ``sqrt(t)`` cancel, so without ``eps`` it is torch's trajectory (up to
    rounding); the lecture writes no epsilon, its default ``eps`` is torch's (added to
    ``sigma^t``; give ``eps=0`` for the form as written). ``lr_decay`` and
    ``initial_accumulator_value`` act in every form as in torch.

    torch's default lr is 1e-2.
    """

    name = "adagrad"
    _parameter_constraints = dict(lr_decay=NON_NEGATIVE, weight_decay=NON_NEGATIVE,
                                  initial_accumulator_value=NON_NEGATIVE, eps=NON_NEGATIVE,
                                  maximize=FLAG, form=Choice((TORCH, BOOK, LECTURE)))
    _form_defaults = {"eps": {TORCH: 1e-10, BOOK: 1e-7, LECTURE: 1e-10}}

    def __init__(self, lr: Hyper = 0.05, lr_decay: Hyper = 0.0, weight_decay: Hyper = 0.0,
                 initial_accumulator_value: Hyper = 0.0, eps: Hyper | None = None,
                 maximize: bool = False, form: str = TORCH):
        """``eps=None`` is the form's default (torch and lecture 1e-10, book 1e-7)."""
        super().__init__(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                         initial_accumulator_value=initial_accumulator_value, eps=eps,
                         maximize=maximize, form=form)

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
            if self._form == LECTURE:  # eta^t / sigma^t, sigma^t the RMS of the g so far
                sigma = np.sqrt(r / float(state.step))
                sigma += _col(self.eps, p)
                p -= (_col(clr / math.sqrt(state.step), p) / sigma) * g
                continue
            std = np.sqrt(r)
            std += _col(self.eps, p)
            if self._form == BOOK:  # epsilon / (delta + sqrt(r)) * g, as the box writes it
                p -= (_col(clr, p) / std) * g
            else:
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

    ``form="book"`` is Goodfellow's algorithm 8.5 as written, which divides by
    ``sqrt(delta + r)`` (delta inside the root) with the box's ``delta = 1e-6`` as its
    default ``eps`` (torch's is 1e-8)::

        s = sqrt(eps + v)   (sqrt(eps + v - c * c) centered);   theta = theta - (lr / s) * g

    The two differ most near ``v = 0``: at lr 1e-3, on a gradient of 1e-4 the first step
    is 1.0e-2 in torch's form and 1.0e-4 in the book's. ``form="lecture"`` is the
    course's (``sigma^0 = |g^0|``, ``sigma^t = sqrt(alpha (sigma^{t-1})^2 + (1 - alpha)
    (g^t)^2)``): torch's form with the average started at the first squared gradient
    (``v = g * g`` at ``t = 1``) instead of at 0, and torch's ``eps`` (the lecture writes
    none: give ``eps=0`` for the form as written); it has no ``centered`` variant (a
    centered average started at ``g`` would divide by ``eps`` alone). ``momentum`` acts in
    every form as in torch.

    torch's default lr is 1e-2.
    """

    name = "rmsprop"
    _parameter_constraints = dict(alpha=UNIT, eps=NON_NEGATIVE, weight_decay=NON_NEGATIVE,
                                  momentum=UNIT, centered=FLAG, maximize=FLAG,
                                  form=Choice((TORCH, BOOK, LECTURE)))
    _form_defaults = {"eps": {TORCH: 1e-8, BOOK: 1e-6, LECTURE: 1e-8}}

    def __init__(self, lr: Hyper = 1e-3, alpha: Hyper = 0.99, eps: Hyper | None = None,
                 weight_decay: Hyper = 0.0, momentum: Hyper = 0.0, centered: bool = False,
                 maximize: bool = False, form: str = TORCH):
        """``eps=None`` is the form's default (torch and lecture 1e-8, book 1e-6)."""
        super().__init__(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                         centered=centered, maximize=maximize, form=form)

    def _check_together(self) -> None:
        """The lecture's form has no centered variant."""
        if self.centered and LECTURE in self._forms:
            raise NNBenchError("form=lecture (the course's RMSProp) has no centered variant; "
                               "use form=torch or form=book for centered=true")

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
            if self._form == LECTURE and state.step == 1:  # sigma^0 = |g^0|
                v[...] = g * g
            else:
                v *= a
                v += (1.0 - a) * g * g
            if self.centered:
                c = state.grad_avg[i]
                c += (1.0 - a) * (g - c)
                v = v - c * c
            if self._form == BOOK:  # sqrt(delta + r), delta inside the root
                s = np.sqrt(v + _col(self.eps, p))
            else:
                s = np.sqrt(v)
                s += _col(self.eps, p)
            if state.momentum_buffer:
                b = state.momentum_buffer[i]
                b *= _col(self.momentum, p)
                b += g / s
                p -= _col(lr, p) * b
            elif self._form == BOOK:
                p -= (_col(lr, p) / s) * g
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

