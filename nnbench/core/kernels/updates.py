"""The optimizer's update as the compiled kernels apply it: which rules are covered, and
their coefficients computed as the NumPy rules compute them (this module imports no numba;
the arithmetic is ``_update.update_row``).

``update_plan(opt, state, flat)`` gives an :class:`UpdatePlan` for SGD (plain, heavy-ball,
Nesterov, dampening), Adam (AdamW's decoupled decay, AMSGrad), RMSProp (with momentum) and
AdaGrad in torch's forms, with weight decay, ``maximize`` and every hyperparameter a scalar
or one value per run; ``update_missing`` says in one line why a rule is not covered (the
book's and lecture's forms, centered RMSProp, NAdam, RAdam, Adamax, Adadelta, AdaBound,
SWATS, Lookahead: they stay on NumPy's update). A plan shares the optimizer's state: its
moments become views of one ``(k, R, N)`` array the kernel reads, and the step counter
advances as the NumPy rule advances it, so a plan's updates and the NumPy rule's may take
turns on the same state.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnbench.core.kernels import compiled_update
from nnbench.core.optimizers import SGD, Adagrad, Adam, RMSprop
from nnbench.core.optimizers.base import _col, _is_zero
from nnbench.core.optimizers.forms import TORCH

SGD_CODE, ADAM_CODE, RMSPROP_CODE, ADAGRAD_CODE = range(4)  # those of _update
MAXIMIZE, DECAY, OWN, NESTEROV, FIRST = range(5)


def update_missing(opt: Any, state: Any, flat: np.ndarray | None) -> str | None:
    """``None`` when :func:`update_plan` covers ``opt`` over the flat parameters ``flat``
    (its state made by ``opt.init([flat])``), else one line naming what is missing."""
    name = getattr(opt, "name", type(opt).__name__)
    if flat is None:
        return "the parameters are not one flat array"
    if type(opt) not in (SGD, Adam, RMSprop, Adagrad):
        return f"no compiled update for optimizer {name}"
    if getattr(opt, "_form", None) != TORCH:
        return f"no compiled update for {name} in form {getattr(opt, 'form', '?')}"
    if type(opt) is RMSprop and opt.centered:
        return "no compiled update for centered rmsprop"
    lists = [v for v in vars(state).values() if isinstance(v, list)]
    if any(len(v) not in (0, 1) for v in lists) or any(
            v[0].shape != flat.shape or v[0].dtype != flat.dtype for v in lists if v):
        return "the optimizer's state is not over the flat parameters"
    return None


class UpdatePlan:
    """The compiled update of one optimizer over flat ``(R, N)`` parameters: :meth:`prepare`
    gives the kernel's ``(code, S, coef, flags)`` for one step (advancing the state's step
    as the NumPy rule does), :meth:`apply` makes the update itself."""

    def __init__(self, opt: Any, state: Any, flat: np.ndarray):
        self.opt, self.state = opt, state
        self._apply: Any = None  # the compiled update, imported on first use
        self.R, self.N = flat.shape
        self.dtype = flat.dtype
        self._p = np.zeros((self.R, 1), dtype=self.dtype)  # what _col shapes factors for
        o = opt
        self.flags = np.zeros(5, dtype=np.int64)
        self.flags[MAXIMIZE] = bool(o.maximize)
        if type(o) is SGD:
            self.code = SGD_CODE
            self.flags[OWN] = not _is_zero(o.momentum)
            self.flags[NESTEROV] = bool(o.nesterov)
            names = ["momentum_buffer"] if self.flags[OWN] else []
        elif type(o) is Adam:
            self.code = ADAM_CODE
            self.flags[OWN] = bool(o.amsgrad)
            names = ["exp_avg", "exp_avg_sq"] + (["max_exp_avg_sq"] if o.amsgrad else [])
        elif type(o) is RMSprop:
            self.code = RMSPROP_CODE
            self.flags[OWN] = not _is_zero(o.momentum)
            names = ["square_avg"] + (["momentum_buffer"] if self.flags[OWN] else [])
        else:
            self.code = ADAGRAD_CODE
            names = ["sum"]
        if not _is_zero(o.weight_decay):
            decoupled = type(o) is Adam and o.decoupled_weight_decay
            self.flags[DECAY] = 2 if decoupled else 1
        # the state's arrays become views of one (k, R, N) array, the kernel's S
        if names:
            self.S = np.stack([getattr(state, k)[0] for k in names])
            for i, k in enumerate(names):
                getattr(state, k)[0] = self.S[i]
        else:
            self.S = np.zeros((1, 1, 1), dtype=self.dtype)
        # the factors that do not change from step to step, in the kernel's rows
        if self.code == SGD_CODE:
            fixed = {1: o.weight_decay, 2: o.momentum, 3: o._keep}
        elif self.code == ADAM_CODE:
            b1, b2 = o.betas
            fixed = {0: 1.0 - np.asarray(b1), 1: b2, 2: 1.0 - np.asarray(b2), 4: o.eps,
                     6: o.weight_decay}
            # what prepare raises to the step's power, as arrays once (np.asarray each step
            # cost a third of it); the same NumPy power, so the same numbers
            self._betas = (np.asarray(b1), np.asarray(b2))
        elif self.code == RMSPROP_CODE:
            fixed = {0: o.alpha, 1: 1.0 - _col(o.alpha, self._p), 2: o.eps,
                     4: o.weight_decay, 5: o.momentum}
        else:
            fixed = {1: o.eps, 2: o.weight_decay}
        self.coef = np.zeros((8, self.R), dtype=self.dtype)
        for i, x in fixed.items():
            self._set(i, x)

    def _set(self, i: int, x: Any) -> None:
        """Row ``i`` of the coefficients: the factor ``x`` as the NumPy rule applies it to
        the parameters (``_col``: a Python float rounded to the dtype, or one value per run
        in the dtype)."""
        if np.ndim(x) == 0:  # as _col: a Python float, rounded to the dtype
            self.coef[i] = float(x)
        else:
            self.coef[i] = _col(x, self._p).reshape(-1)

    def prepare(self, lr: Any) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
        """The kernel's arguments for one step at the learning rates ``lr`` (a float or
        ``(R,)``), the state's step advanced as the NumPy rule advances it."""
        o, st = self.opt, self.state
        if self.code == SGD_CODE:
            self.flags[FIRST] = st.step == 0
            self._set(0, lr)
            st.step += 1
        elif self.code == ADAM_CODE:
            st.step += 1
            t = st.step
            b1, b2 = self._betas
            lr_ = np.asarray(lr)
            self._set(3, np.sqrt(1.0 - b2 ** t))
            self._set(5, lr_ / (1.0 - b1 ** t))
            if self.flags[DECAY] == 2:
                self._set(7, 1.0 - lr_ * np.asarray(o.weight_decay))
        elif self.code == RMSPROP_CODE:
            st.step += 1
            self._set(3, lr)
        else:
            st.step += 1
            self._set(0, np.asarray(lr) / (1.0 + (st.step - 1) * np.asarray(o.lr_decay)))
        return self.code, self.S, self.coef, self.flags

    def apply(self, flat: np.ndarray, grads: np.ndarray, lr: Any) -> None:
        """One update of ``flat`` ``(R, N)`` with the gradients ``grads`` (the same layout)
        at ``lr``, compiled; the same numbers as the NumPy rule's ``update([flat],
        [grads], state, lr)``."""
        if self._apply is None:
            self._apply = compiled_update()
        code, S, coef, flags = self.prepare(lr)
        self._apply(code, flat, np.ascontiguousarray(grads), S, coef, flags)


def update_plan(opt: Any, state: Any, flat: np.ndarray | None) -> UpdatePlan | None:
    """The compiled update of ``opt`` over ``flat`` (``None`` where
    :func:`update_missing` gives a reason)."""
    if update_missing(opt, state, flat) is not None:
        return None
    return UpdatePlan(opt, state, flat)
