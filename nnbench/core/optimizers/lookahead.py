"""Lookahead: a wrapper that moves slow weights towards the fast ones of any other rule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nnbench.core.errors import NNBenchError
from nnbench.core.optimizers.base import Hyper, Optimizer, _check_lengths, _check_params, _col
from nnbench.core.optimizers.constraints import (
    UNIT,
    Constraint,
    Integer,
    check_hyperparameters,
)


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
    _parameter_constraints = dict(k=Integer(1), alpha=UNIT)

    def __init__(self, base: Optimizer, k: int = 5, alpha: Hyper = 0.5):
        if not isinstance(base, Optimizer) or isinstance(base, Lookahead):
            raise NNBenchError(f"lookahead needs a base optimizer other than lookahead, "
                               f"got {base!r}")
        self.base = base
        self._store(check_hyperparameters(self._parameter_constraints, {"k": k, "alpha": alpha}))
        self.lr = base.lr

    @classmethod
    def constraints(cls) -> dict[str, Constraint]:
        """``k`` and ``alpha``; the learning rate and the rest are the base rule's."""
        return dict(cls._parameter_constraints)

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
