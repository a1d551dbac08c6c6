"""Errors and argument validation shared by every layer.

Every mistake a user can make with a name or a value raises :class:`NNBenchError`
(a ``ValueError``), whose message is one line naming what is wrong and what would
be right. The command line turns it into that line on stderr and exit code 2.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

import numpy as np


def plural(n: float, noun: str, nouns: str | None = None) -> str:
    """``n`` and the noun in its number: ``1 run``, ``2 runs``, ``0 runs``, ``1.5 epochs``
    (``nouns`` when the plural is not ``noun + "s"``)."""
    text = f"{n:g}" if isinstance(n, float) else str(n)
    return f"{text} {noun if n == 1 else (nouns or noun + 's')}"


class NNBenchError(ValueError):
    """A one-line, user-facing error about a name or a value."""


class UnknownNameError(NNBenchError):
    """A name that is not in a registry; the message lists the valid ones."""

    def __init__(self, family: str, name: str, valid: Iterable[str]):
        valid = sorted(valid)
        close = difflib.get_close_matches(str(name), valid, n=1, cutoff=0.5)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        super().__init__(f"unknown {family} '{name}'{hint} valid: {', '.join(valid)}")
        self.family, self.name, self.valid = family, name, valid
        self.closest = close[0] if close else None


def _values(value) -> np.ndarray:
    return np.asarray(value, dtype=np.float64).ravel()


def check_range(
    name: str,
    value,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    """Raise NNBenchError unless every element of ``value`` lies in the range.

    ``low_open``/``high_open`` exclude the bound. A scalar or an array (one value
    per run) is accepted; NaN is always out of range.
    """
    v = _values(value)
    ok = ~np.isnan(v)
    if low is not None:
        ok &= (v > low) if low_open else (v >= low)
    if high is not None:
        ok &= (v < high) if high_open else (v <= high)
    if not ok.all():
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        left = "(" if low_open or low is None else "["
        right = ")" if high_open or high is None else "]"
        rng = f"{left}{lo}, {hi}{right}"
        bad = v[~ok][0]
        raise NNBenchError(f"{name} must be in {rng}, got {bad:g}")


def check_positive(name: str, value) -> None:
    """Raise NNBenchError unless every element of ``value`` is > 0."""
    check_range(name, value, 0.0, None, low_open=True)


def check_int(name: str, value, minimum: int = 1) -> int:
    """Return ``value`` as an int, or raise NNBenchError if it is not an int >= minimum."""
    if isinstance(value, bool) or int(value) != value or int(value) < minimum:
        raise NNBenchError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)
