"""Learning-rate schedules: ``f = schedule(name, **kw)``; ``f(step)`` is the factor the
base learning rate is multiplied by at ``step`` (counted from 0)::

    f = schedule("cosine", T_max=1000, eta_min=0.01, warmup_steps=50)
    opt.update(params, grads, state, lr=base_lr * f(step))

The formulas are those of ``torch.optim.lr_scheduler`` (``lr_t = lr * f(t)`` where torch
updates ``lr`` once per step), except ``inverse_sqrt``, which is the notes'
``eta^t = eta / sqrt(t + 1)``; ``warmup`` is a linear warmup over ``total_iters`` steps,
then constant. Any schedule takes ``warmup_steps = W``: a linear warmup
in front of it, ``f(t) = (t + 1) / W`` for ``t < W``, after which the schedule starts
from its own step 0 (``g(t - W)``), as torch's ``SequentialLR([LinearLR(start_factor=1/W,
total_iters=W-1), g], milestones=[W])``. So a cosine over a run of ``n`` steps with a
warmup of ``W`` steps takes ``T_max = n - W``.

``f`` accepts an int or an integer array of steps (and then returns an array).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from nnbench.core.errors import NNBenchError, check_int, check_range
from nnbench.core.registry import BUILT_IN, Registry

__all__ = ["SCHEDULES", "Schedule", "schedule", "add_schedule"]

SCHEDULES = Registry("schedule")


def _steps(step) -> np.ndarray:
    t = np.asarray(step)
    if t.dtype.kind not in "iu" and not (t.dtype.kind == "f" and np.all(t == np.floor(t))):
        raise NNBenchError(f"a schedule's step must be an integer >= 0, got {step!r}")
    if np.any(t < 0):
        raise NNBenchError(f"a schedule's step must be an integer >= 0, got {step!r}")
    return t.astype(np.float64)


class Schedule:
    """A factor ``f(step)`` on the base learning rate; ``step`` counts from 0."""

    name = "schedule"

    def factor(self, t: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, step):
        t = _steps(step)
        f = self.factor(t)
        return float(f) if np.ndim(f) == 0 else f

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class Constant(Schedule):
    """``f(t) = 1``."""

    name = "constant"

    def factor(self, t):
        return np.ones_like(t)


class Step(Schedule):
    """``f(t) = gamma ** floor(t / step_size)`` (torch's ``StepLR``)."""

    name = "step"

    def __init__(self, step_size: int = 100, gamma: float = 0.5):
        self.step_size = check_int("step_size", step_size, 1)
        check_range("gamma", gamma, 0.0, 1.0, low_open=True)
        self.gamma = float(gamma)

    def factor(self, t):
        return self.gamma ** np.floor(t / self.step_size)


class Exponential(Schedule):
    """``f(t) = gamma ** t`` (torch's ``ExponentialLR``)."""

    name = "exponential"

    def __init__(self, gamma: float = 0.99):
        check_range("gamma", gamma, 0.0, 1.0, low_open=True)
        self.gamma = float(gamma)

    def factor(self, t):
        return self.gamma ** t


class Cosine(Schedule):
    """``f(t) = eta_min + (1 - eta_min) (1 + cos(pi t / T_max)) / 2`` for ``t <= T_max``,
    and ``eta_min`` after (torch's ``CosineAnnealingLR`` with ``eta_min`` given as a
    fraction of the base learning rate; torch's closed form would rise again after
    ``T_max``, this one stays at the floor)."""

    name = "cosine"

    def __init__(self, T_max: int | None = None, eta_min: float = 0.0):  # noqa: N803
        if T_max is None:
            raise NNBenchError("cosine needs T_max, the number of steps to anneal over "
                               "(usually the run's steps minus warmup_steps)")
        self.T_max = check_int("T_max", T_max, 1)
        check_range("eta_min", eta_min, 0.0, 1.0)
        self.eta_min = float(eta_min)

    def factor(self, t):
        c = np.cos(math.pi * np.minimum(t, self.T_max) / self.T_max)
        return self.eta_min + (1.0 - self.eta_min) * (1.0 + c) / 2.0


class InverseSqrt(Schedule):
    """``f(t) = 1 / sqrt(t + 1)``: the notes' ``eta^t = eta / sqrt(t + 1)`` (the decay the
    course pairs with AdaGrad)."""

    name = "inverse_sqrt"

    def factor(self, t):
        return 1.0 / np.sqrt(t + 1.0)


class LinearWarmup(Schedule):
    """``f(t) = min(1, (t + 1) / total_iters)``: a linear warmup to the base learning rate
    over ``total_iters`` steps, then constant (torch's ``LinearLR(start_factor=
    1/total_iters, total_iters=total_iters - 1)``; the same ramp ``warmup_steps`` puts in
    front of any schedule, as a schedule of its own, so that a grid of schedules can
    hold it)."""

    name = "warmup"

    def __init__(self, total_iters: int = 100):
        self.total_iters = check_int("total_iters", total_iters, 1)

    def factor(self, t):
        return np.minimum(1.0, (t + 1.0) / self.total_iters)


class Warmup(Schedule):
    """``f(t) = (t + 1) / warmup_steps`` for ``t < warmup_steps``, then
    ``inner(t - warmup_steps)``."""

    name = "warmup"

    def __init__(self, inner: Schedule, warmup_steps: int):
        self.inner = inner
        self.warmup_steps = check_int("warmup_steps", warmup_steps, 1)

    def factor(self, t):
        w = self.warmup_steps
        return np.where(t < w, (t + 1.0) / w, self.inner.factor(np.maximum(t - w, 0.0)))


_CLASSES: dict[str, tuple[type[Schedule], str, dict[str, Any]]] = {
    "constant": (Constant, "f = 1: the base learning rate throughout", {}),
    "step": (Step, "f = gamma ** (step // step_size) (StepLR)",
             {"step_size": 100, "gamma": 0.5}),
    "exponential": (Exponential, "f = gamma ** step (ExponentialLR)", {"gamma": 0.99}),
    "cosine": (Cosine, "half a cosine from 1 down to eta_min over T_max steps "
               "(CosineAnnealingLR)", {"T_max": None, "eta_min": 0.0}),
    "inverse_sqrt": (InverseSqrt, "f = 1 / sqrt(step + 1), the notes' eta / sqrt(t + 1)", {}),
    "warmup": (LinearWarmup, "f = min(1, (step + 1) / total_iters): a linear warmup, then "
               "constant (LinearLR)", {"total_iters": 100}),
}


def _make(name: str, cls: type[Schedule], defaults: dict[str, Any], warmup_steps: int = 0,
          **kw: Any) -> Schedule:
    unknown = [k for k in kw if k not in defaults]
    if unknown:
        valid = ", ".join([*defaults, "warmup_steps"])
        raise NNBenchError(f"unknown parameter '{unknown[0]}' for schedule '{name}'; "
                           f"valid: {valid}")
    inner = cls(**kw)
    warmup_steps = check_int("warmup_steps", warmup_steps, 0)
    return Warmup(inner, warmup_steps) if warmup_steps else inner


def add_schedule(name: str, cls: type[Schedule], description: str,
                 defaults: dict[str, Any], origin: str = BUILT_IN) -> None:
    """Register ``cls`` as the schedule ``name`` with its parameters' ``defaults`` (and
    ``warmup_steps``, which every schedule takes); built-in schedules and plugins'
    (:func:`nnbench.register_schedule`) alike."""
    defaults = dict(defaults)
    SCHEDULES.add(name, functools.partial(_make, name, cls, defaults), description,
                  {**defaults, "warmup_steps": 0}, origin=origin)


for _name, (_cls, _desc, _defaults) in _CLASSES.items():
    add_schedule(_name, _cls, _desc, _defaults)


def schedule(name: str, **kw: Any) -> Schedule:
    """Build the schedule ``name``; ``warmup_steps`` puts a linear warmup in front of it.

    Unknown names raise :class:`~nnbench.core.errors.UnknownNameError`; unknown or
    out-of-range parameters raise :class:`~nnbench.core.errors.NNBenchError`.
    """
    return SCHEDULES.create(name, **kw)
