"""How every table writes a number (the live table, the summary, ``show``, ``report``).

One rule for measured values: ``digits`` significant digits (4 for a loss or an accuracy, 3
for a time), trailing zeros kept so a column's numbers line up (``0.4550``, not
``0.455``), whole numbers from ``10**digits`` up (``12346`` steps, not ``1.235e+04``),
scientific notation below 1e-4; a spread (``±``) in 2 significant digits. Configuration
values (a learning rate, a width) and counts (epochs, updates) are written as they are
(``0.01``, ``100``, ``20``): they are not measurements to a precision. Pure Python, so
the console needs no NumPy or pandas for it.
"""

from __future__ import annotations

import math
from typing import Any


def _float(x: Any) -> float | None:
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def fmt_num(x: Any, digits: int = 4) -> str:
    """A measured value in ``digits`` significant digits; ``-`` for NaN/None; an integer
    as it is."""
    if x is None:
        return "-"
    if isinstance(x, int) and not isinstance(x, bool):
        return str(x)
    if type(x).__name__.startswith(("int", "uint")):  # a NumPy integer
        return str(int(x))
    f = _float(x)
    if f is None:
        return str(x)
    if math.isnan(f):
        return "-"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    if 10 ** digits <= abs(f) < 1e15:
        return f"{f:.0f}"
    text = f"{f:#.{digits}g}"
    return text if "e" in text else text.rstrip(".")


def fmt_pm(mean: Any, std: Any, digits: int = 4) -> str:
    """``mean ± std`` (the spread in 2 significant digits); the mean alone when the std
    is NaN (one seed)."""
    m = fmt_num(mean, digits)
    s = fmt_num(std, 2)
    return m if m == "-" or s == "-" else f"{m} ± {s}"


def fmt_value(x: Any) -> str:
    """A configuration value or a count as it is: ``0.01``, ``100``, ``adam``, ``20``
    epochs (a mean of counts ``12.5``), ``true``/``false`` for a switch; ``-`` for
    NaN/None."""
    if x is None:
        return "-"
    if isinstance(x, str):
        return x
    if type(x).__name__ in ("bool", "bool_"):  # a switch (standardize true,false)
        return str(bool(x)).lower()
    f = _float(x)
    if f is None:
        return str(x)
    if math.isnan(f):
        return "-"
    return f"{f:g}" if not f.is_integer() or abs(f) >= 1e16 else str(int(f))


__all__ = ["fmt_num", "fmt_pm", "fmt_value"]
