"""Stochastic gradient descent with (Nesterov) momentum, as ``torch.optim.SGD``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from nnbench.core.errors import NNBenchError
from nnbench.core.optimizers.base import Hyper, Optimizer, _col, _is_zero, _zeros
from nnbench.core.optimizers.constraints import FLAG, NON_NEGATIVE, UNIT, Choice
from nnbench.core.optimizers.forms import BOOK, TORCH


@dataclass
class SGDState:
    """``momentum_buffer[i]`` is torch's ``b`` for parameter ``i`` (the book's velocity
    ``v`` with ``form="book"``); ``step`` counts updates."""

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

    ``form="book"`` is the notes' box (Goodfellow et al., *Deep Learning*, algorithm 8.2,
    and the course's momentum)::

        v = momentum * v - lr * g;   theta = theta + v      (v starts at 0)

    With a constant learning rate this is the same trajectory (``v = -lr b``); when the
    learning rate changes, torch scales the whole buffer by the current ``lr``, whereas
    the book's form keeps past steps at their old rates. The box has neither dampening
    nor Nesterov momentum (torch's Nesterov is Sutskever et al. (2013), ICML, rewritten
    at the look-ahead point), so the book's form refuses them.

    torch's default lr is 1e-3. A momentum of 0 for some runs of a group behaves as
    plain SGD for those runs (dampening is only applied where momentum > 0).
    """

    name = "sgd"
    _parameter_constraints = dict(momentum=UNIT, dampening=UNIT, weight_decay=NON_NEGATIVE,
                                  nesterov=FLAG, maximize=FLAG, form=Choice((TORCH, BOOK)))

    def __init__(self, lr: Hyper = 0.1, momentum: Hyper = 0.0, dampening: Hyper = 0.0,
                 weight_decay: Hyper = 0.0, nesterov: bool = False, maximize: bool = False,
                 form: str = TORCH):
        super().__init__(lr=lr, momentum=momentum, dampening=dampening,
                         weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                         form=form)
        # 1 - dampening where momentum > 0; 1 where momentum == 0 (plain SGD for that run)
        self._keep = np.where(np.asarray(self.momentum) > 0, 1.0 - np.asarray(self.dampening), 1.0)
        if self._keep.ndim == 0:
            self._keep = float(self._keep)

    def _check_together(self) -> None:
        """Nesterov momentum needs a momentum and no dampening (as torch requires); the
        book's form has neither Nesterov momentum nor dampening."""
        if self.nesterov and (np.any(np.asarray(self.momentum) <= 0)
                              or not _is_zero(self.dampening)):
            raise NNBenchError(
                "nesterov=True needs momentum > 0 and dampening = 0, got "
                f"momentum={self.momentum!r}, dampening={self.dampening!r}"
            )
        if BOOK in self._forms and (self.nesterov or not _is_zero(self.dampening)):
            raise NNBenchError(
                "form=book (the notes' momentum box) has no nesterov or dampening; use "
                f"form=torch for them, got nesterov={self.nesterov!r}, "
                f"dampening={self.dampening!r}"
            )

    def _init(self, params: Sequence[np.ndarray]) -> SGDState:
        bufs = [] if _is_zero(self.momentum) else _zeros(params)
        return SGDState(0, bufs)

    def _update(self, params, grads, state: SGDState, lr) -> None:
        with_momentum = not _is_zero(self.momentum)
        for i, (p, grad) in enumerate(zip(params, grads, strict=True)):
            g = self._grad(grad, p, self.maximize, self.weight_decay)
            if with_momentum:
                buf = state.momentum_buffer[i]
                mu = _col(self.momentum, p)
                if self._form == BOOK:  # v = momentum v - lr g; theta = theta + v
                    buf *= mu
                    buf -= _col(lr, p) * g
                    p += buf
                    continue
                if state.step == 0:
                    buf[...] = g
                else:
                    buf *= mu
                    buf += _col(self._keep, p) * g
                g = g + mu * buf if self.nesterov else buf
            p -= _col(lr, p) * g
        state.step += 1

