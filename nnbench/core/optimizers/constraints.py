"""Hyperparameter constraints as data, and the one validator that checks them.

Each optimizer class declares what its hyperparameters may be, as scikit-learn's
``_parameter_constraints`` does::

    _parameter_constraints = {"momentum": Interval(0, 1, closed="both"), "nesterov": Flag()}

:func:`check_hyperparameters` converts every value (a number becomes a Python float or a
1-d float64 array, one value per run), then checks every converted value against its
range, so a scalar and an ``(R,)`` array are held to the same rule. The error messages
are those of :mod:`nnbench.core.errors` (``momentum must be in [0, 1], got -1``), one
line naming the hyperparameter.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from nnbench.core.errors import NNBenchError, check_int, check_range

__all__ = ["Constraint", "Interval", "Flag", "Pair", "Integer", "Choice", "number",
           "check_hyperparameters", "POSITIVE", "NON_NEGATIVE", "UNIT", "FLAG", "BETAS"]


def number(name: str, value: Any) -> float | np.ndarray:
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


class Constraint:
    """What one hyperparameter may be: ``convert`` checks its type and returns the value
    to store; ``check`` checks the stored value's range (a no-op by default)."""

    def convert(self, name: str, value: Any) -> Any:
        raise NotImplementedError

    def check(self, name: str, value: Any) -> None:
        """Raise NNBenchError if ``value`` (as ``convert`` returned it) is out of range."""


@dataclass(frozen=True)
class Interval(Constraint):
    """A number, or one number per run, in ``[low, high]``; ``closed`` says which ends
    belong to it ("left", "right", "both", "neither"). An infinite end is never checked
    (``inf`` itself passes ``Interval(0, inf, closed="left")``); NaN is always out."""

    low: float
    high: float
    closed: Literal["left", "right", "both", "neither"]

    def __post_init__(self) -> None:
        if self.closed not in ("left", "right", "both", "neither"):
            raise ValueError(f"closed must be left, right, both or neither, got {self.closed!r}")

    def convert(self, name: str, value: Any) -> float | np.ndarray:
        return number(name, value)

    def check(self, name: str, value: Any) -> None:
        check_range(
            name,
            value,
            None if math.isinf(self.low) else self.low,
            None if math.isinf(self.high) else self.high,
            low_open=self.closed in ("right", "neither"),
            high_open=self.closed in ("left", "neither"),
        )

    def __str__(self) -> str:
        left = "[" if self.closed in ("left", "both") and not math.isinf(self.low) else "("
        right = "]" if self.closed in ("right", "both") and not math.isinf(self.high) else ")"
        return f"{left}{self.low:g}, {self.high:g}{right}"


@dataclass(frozen=True)
class Flag(Constraint):
    """``True`` or ``False`` (one value for the whole group of runs)."""

    def convert(self, name: str, value: Any) -> bool:
        if not isinstance(value, (bool, np.bool_)):
            raise NNBenchError(f"{name} must be true or false, got {value!r}")
        return bool(value)

    def __str__(self) -> str:
        return "true/false"


@dataclass(frozen=True)
class Integer(Constraint):
    """An integer ``>= minimum`` (one value for the whole group of runs)."""

    minimum: int

    def convert(self, name: str, value: Any) -> int:
        return check_int(name, value, self.minimum)

    def __str__(self) -> str:
        return f"integer >= {self.minimum}"


@dataclass(frozen=True)
class Pair(Constraint):
    """A pair of numbers, each under ``item`` and named ``name[0]``, ``name[1]`` in its
    errors; ``parts`` are the names the "must be a pair" message gives the two.

    Each element's range is checked as it is converted: a bad ``betas[1]`` is reported
    before the types of the hyperparameters after ``betas`` are looked at."""

    item: Interval
    parts: tuple[str, str]

    def convert(self, name: str, value: Any) -> tuple[Any, Any]:
        try:
            first, second = value
        except (TypeError, ValueError):
            raise NNBenchError(f"{name} must be a pair ({', '.join(self.parts)}), "
                               f"got {value!r}") from None
        first = self.item.convert(f"{name}[0]", first)
        second = self.item.convert(f"{name}[1]", second)
        self.item.check(f"{name}[0]", first)
        self.item.check(f"{name}[1]", second)
        return first, second

    def __str__(self) -> str:
        return f"each {self.item}"


@dataclass(frozen=True)
class Choice(Constraint):
    """One of the names ``options`` (an update rule's ``form``), or one name per run: a
    1-d array of them, so that runs of one group may use different forms."""

    options: tuple[str, ...]

    def convert(self, name: str, value: Any) -> str | np.ndarray:
        if isinstance(value, str):
            return value
        arr = np.asarray(value, dtype=object) if isinstance(value, (list, tuple, np.ndarray)) \
            else None
        if arr is None or arr.ndim != 1 or arr.size == 0 \
                or not all(isinstance(v, str) for v in arr):
            raise NNBenchError(f"{name} must be one of {', '.join(self.options)} "
                               f"or one of them per run, got {value!r}")
        return np.array([str(v) for v in arr])

    def check(self, name: str, value: Any) -> None:
        for v in np.atleast_1d(value):
            if v not in self.options:
                raise NNBenchError(f"{name} must be one of {', '.join(self.options)}, "
                                   f"got {str(v)!r}")

    def __str__(self) -> str:
        return "/".join(self.options)


def check_hyperparameters(constraints: Mapping[str, Constraint],
                          values: Mapping[str, Any]) -> dict[str, Any]:
    """The ``values`` converted by their ``constraints``, in the constraints' order.

    Every type is checked before any range, so with several bad values the first one of
    the first kind is reported; each message is one line naming its hyperparameter.
    """
    out = {name: rule.convert(name, values[name]) for name, rule in constraints.items()}
    for name, rule in constraints.items():
        rule.check(name, out[name])
    return out


# The rules most hyperparameters share.
POSITIVE = Interval(0, math.inf, closed="neither")  # lr, final_lr, max_norm
NON_NEGATIVE = Interval(0, math.inf, closed="left")  # eps, weight_decay, decays
UNIT = Interval(0, 1, closed="both")  # momentum, dampening, alpha, rho
FLAG = Flag()
BETAS = Pair(Interval(0, 1, closed="left"), ("beta1", "beta2"))
