"""SWATS: Adam until the step size of SGD it projects settles, then SGD at that rate."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nnbench.core.optimizers.adam import _moments
from nnbench.core.optimizers.base import Hyper, Optimizer, _col, _zeros
from nnbench.core.optimizers.constraints import BETAS, NON_NEGATIVE


@dataclass
class SWATSState:
    """Algorithm 1's variables, one per run where they are scalars.

    ``exp_avg`` is ``m``, ``exp_avg_sq`` is ``a``, ``momentum_buffer`` is the SGD phase's
    ``v``; ``lam`` is ``lambda_k`` (R,); ``switch_step`` (R,) is the step ``k`` whose test
    switched the run to SGD (-1 while it is in its Adam phase) and ``sgd_lr`` (R,) the
    learning rate ``Lambda`` it switched with (NaN before)."""

    step: int = 0
    exp_avg: list[np.ndarray] = field(default_factory=list)
    exp_avg_sq: list[np.ndarray] = field(default_factory=list)
    momentum_buffer: list[np.ndarray] = field(default_factory=list)
    lam: np.ndarray = field(default_factory=lambda: np.zeros(0))
    switch_step: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    sgd_lr: np.ndarray = field(default_factory=lambda: np.zeros(0))


def _per_run_sum(x: np.ndarray) -> np.ndarray:
    """The sum of ``x`` over every axis but the runs axis: (R,)."""
    return np.sum(x, axis=tuple(range(1, x.ndim)))


class SWATS(Optimizer):
    """SWATS (Keskar and Socher, *Improving Generalization Performance by Switching from
    Adam to SGD*, arXiv:1712.07628, 2017), the paper's Algorithm 1, for each run::

        Adam phase (step k):
            m = beta1 m + (1 - beta1) g;   a = beta2 a + (1 - beta2) g^2
            p_k = -lr sqrt(1 - beta2^k) / (1 - beta1^k) * m / (sqrt(a) + eps)
            theta = theta + p_k
            if p_k . g != 0:
                gamma_k = (p_k . p_k) / (-p_k . g)
                lambda_k = beta2 lambda_{k-1} + (1 - beta2) gamma_k
                if k > 1 and |lambda_k / (1 - beta2^k) - gamma_k| < eps:
                    switch: v = 0, Lambda = lambda_k / (1 - beta2^k)
        SGD phase (after the switch):
            v = beta1 v + g;   theta = theta - (1 - beta1) Lambda v

    The dot products run over all the parameters of one run (the paper's vector ``x``),
    so each run of a group switches at its own step: ``state.switch_step`` (R,) holds it
    (-1 before a switch) and ``state.sgd_lr`` the ``Lambda`` it switched with. The test
    is the paper's (the reference implementation adds ``Lambda > 0`` and uses
    ``allclose`` instead). ``eps`` is the paper's 1e-9, both in Adam's denominator and
    in the switch test (as Algorithm 1 has one epsilon). A schedule scales ``lr`` in the
    Adam phase and ``Lambda`` in the SGD phase by the same factor (``lr_t / lr``), so
    with a constant rate the SGD phase is the paper's. ``weight_decay`` is coupled L2
    (``g + wd theta``) in both phases; the paper has none.

    The paper's (and the reference's) default lr is 1e-3, which is also ours.
    """

    name = "swats"
    _parameter_constraints = dict(betas=BETAS, eps=NON_NEGATIVE, weight_decay=NON_NEGATIVE)

    def __init__(self, lr: Hyper = 1e-3, betas=(0.9, 0.999), eps: Hyper = 1e-9,
                 weight_decay: Hyper = 0.0):
        super().__init__(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)

    def _init(self, params) -> SWATSState:
        runs = len(params[0])
        return SWATSState(0, _zeros(params), _zeros(params), _zeros(params), np.zeros(runs),
                          np.full(runs, -1, dtype=np.int64), np.full(runs, np.nan))

    def _update(self, params, grads, state: SWATSState, lr) -> None:
        state.step += 1
        k = state.step
        b1, b2 = (np.asarray(b) for b in self.betas)
        bc2 = 1.0 - b2 ** k
        step_size = np.asarray(lr) * np.sqrt(bc2) / (1.0 - b1 ** k)
        sgd = state.switch_step >= 0  # the runs in their SGD phase
        rate = np.where(sgd, state.sgd_lr, 0.0) * (np.asarray(lr) / np.asarray(self.lr))
        pg, pp = np.zeros(len(sgd)), np.zeros(len(sgd))
        for i, (p, grad) in enumerate(zip(params, grads, strict=True)):
            g = self._grad(grad, p, False, self.weight_decay)
            if sgd.any():
                v = state.momentum_buffer[i]
                v *= _col(b1, p)
                v += g
                sgd_step = _col((1.0 - b1) * rate, p) * v
                if sgd.all():
                    p -= sgd_step
                    continue
            m, a = state.exp_avg[i], state.exp_avg_sq[i]
            _moments(g, m, a, self.betas[0], self.betas[1])
            denom = np.sqrt(a)
            denom += _col(self.eps, p)
            step = -_col(step_size, p) * m / denom  # p_k
            pg += _per_run_sum(step * g)
            pp += _per_run_sum(step * step)
            if sgd.any():
                step = np.where(sgd.reshape((-1,) + (1,) * (p.ndim - 1)), -sgd_step, step)
            p += step
        if not sgd.all():
            self._test_switch(state, k, pg, pp, sgd, b2, bc2)

    def _test_switch(self, state: SWATSState, k: int, pg: np.ndarray, pp: np.ndarray,
                     sgd: np.ndarray, b2, bc2) -> None:
        """Algorithm 1's lines 14-24 for the runs still in their Adam phase: update
        ``lambda_k`` where ``p_k . g != 0`` and switch the runs whose estimate settled."""
        moving = ~sgd & (pg != 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            gamma = pp / -pg
            state.lam = np.where(moving, b2 * state.lam + (1.0 - b2) * gamma, state.lam)
            estimate = state.lam / bc2
            switch = moving & (k > 1) & (np.abs(estimate - gamma) < np.asarray(self.eps))
        if switch.any():
            state.switch_step[switch] = k
            state.sgd_lr[switch] = estimate[switch]
            for v in state.momentum_buffer:
                v[switch] = 0.0
