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

    def _row(self, x: Any) -> np.ndarray:
        """A factor as the NumPy rule applies it to the parameters (``_col``: a Python
        float rounded to the dtype, or one value per run in the dtype), as ``(R,)``."""
        c = _col(x, self._p)
        return np.broadcast_to(np.asarray(c, dtype=self.dtype).reshape(-1), (self.R,))

    def prepare(self, lr: Any) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
        """The kernel's arguments for one step at the learning rates ``lr`` (a float or
        ``(R,)``), the state's step advanced as the NumPy rule advances it."""
        o, st, row = self.opt, self.state, self._row
        flags = self.flags
        if self.code == SGD_CODE:
            flags[FIRST] = st.step == 0
            coef = [row(lr), row(o.weight_decay), row(o.momentum), row(o._keep)]
            st.step += 1
        elif self.code == ADAM_CODE:
            st.step += 1
            t = st.step
            b1, b2 = o.betas
            step_size = np.asarray(lr) / (1.0 - np.asarray(b1) ** t)
            bc2_sqrt = np.sqrt(1.0 - np.asarray(b2) ** t)
            shrink = 1.0 - np.asarray(lr) * np.asarray(o.weight_decay)
            coef = [row(1.0 - np.asarray(b1)), row(b2), row(1.0 - np.asarray(b2)),
                    row(bc2_sqrt), row(o.eps), row(step_size), row(o.weight_decay),
                    row(shrink)]
        elif self.code == RMSPROP_CODE:
            st.step += 1
            a = _col(o.alpha, self._p)
            coef = [row(o.alpha), row(1.0 - a), row(o.eps), row(lr), row(o.weight_decay),
                    row(o.momentum)]
        else:
            st.step += 1
            clr = np.asarray(lr) / (1.0 + (st.step - 1) * np.asarray(o.lr_decay))
            coef = [row(clr), row(o.eps), row(o.weight_decay)]
        return self.code, self.S, np.stack(coef), flags

    def apply(self, flat: np.ndarray, grads: np.ndarray, lr: Any) -> None:
        """One update of ``flat`` ``(R, N)`` with the gradients ``grads`` (the same layout)
        at ``lr``, compiled; the same numbers as the NumPy rule's ``update([flat],
        [grads], state, lr)``."""
        from nnbench.core.kernels import _kernel_module

        _kernel_module()
        from nnbench.core.kernels import _update

        code, S, coef, flags = self.prepare(lr)
        _update.apply_update(code, flat, np.ascontiguousarray(grads), S, coef, flags)


def update_plan(opt: Any, state: Any, flat: np.ndarray | None) -> UpdatePlan | None:
    """The compiled update of ``opt`` over ``flat`` (``None`` where
    :func:`update_missing` gives a reason)."""
    if update_missing(opt, state, flat) is not None:
        return None
    return UpdatePlan(opt, state, flat)
