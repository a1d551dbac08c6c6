"""Log-sum-exp and softmax, naive and max-shifted (notes 001, section 15).

``softmax(x)_j = e^(x_j) / sum_i e^(x_i)`` computed as written overflows as soon as one
``e^(x_i)`` exceeds the largest float (``x_i > log(max)``: about 88.72 in float32, 709.78 in
float64) and gives ``inf / inf = NaN``. Subtracting ``c = max_i x_i`` first changes nothing
mathematically (``e^(x - c) / sum e^(x - c)``, ``LSE(x) = c + log sum e^(x - c)``) and keeps
every exponent at most 0, so the result stays finite. :func:`overflow_sweep` grows a logit
vector ``t * pattern`` and records, for each dtype and form, the values and the first
``t`` whose result is not finite.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nnbench.core.errors import NNBenchError

FORMS = ("naive", "shifted")
DTYPES = ("float32", "float64")
# the logits of the sweep: t * PATTERN (the notes' example has one large logit)
PATTERN = (1.0, 0.5, 0.0)


def softmax(x: np.ndarray, form: str = "shifted") -> np.ndarray:
    """Softmax over the last axis in ``x``'s dtype: ``naive`` is ``e^x / sum e^x`` as
    written, ``shifted`` subtracts the row's maximum first (log-sum-exp's ``c``)."""
    x = np.asarray(x)
    with np.errstate(over="ignore", invalid="ignore"):
        if form == "shifted":
            x = x - x.max(axis=-1, keepdims=True)
        elif form != "naive":
            raise NNBenchError(f"softmax form must be one of {', '.join(FORMS)}, got {form!r}")
        e = np.exp(x)
        return e / e.sum(axis=-1, keepdims=True)


def logsumexp(x: np.ndarray, form: str = "shifted") -> np.ndarray:
    """``log sum_i e^(x_i)`` over the last axis: ``naive`` as written, ``shifted`` as
    ``c + log sum e^(x_i - c)`` with ``c = max_i x_i`` (the notes' equation (2))."""
    x = np.asarray(x)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if form == "naive":
            return np.log(np.exp(x).sum(axis=-1))
        if form != "shifted":
            raise NNBenchError(f"log-sum-exp form must be one of {', '.join(FORMS)}, "
                               f"got {form!r}")
        c = x.max(axis=-1)
        return c + np.log(np.exp(x - c[..., None]).sum(axis=-1))


def overflow_threshold(dtype: str) -> float:
    """``log`` of the dtype's largest number: the exponent beyond which ``e^x`` is inf."""
    return float(np.log(np.finfo(np.dtype(dtype)).max))


@dataclass
class Sweep:
    """The sweep of :func:`overflow_sweep`: the scales ``t``, and per ``(dtype, form)`` the
    probability of the largest logit, the log-sum-exp, the softmax's denominator
    ``sum_i e^(x_i - c)`` (``c = 0`` naive, ``max_i x_i`` shifted) and the first ``t`` at
    which the probability or the log-sum-exp is not finite (``None``: finite throughout)."""

    scales: np.ndarray
    pattern: tuple[float, ...]
    prob: dict[tuple[str, str], np.ndarray]
    lse: dict[tuple[str, str], np.ndarray]
    denominator: dict[tuple[str, str], np.ndarray]
    first_bad: dict[tuple[str, str], float | None]


def overflow_sweep(scales: Sequence[float], pattern: Sequence[float] = PATTERN) -> Sweep:
    """Softmax and log-sum-exp of the logits ``t * pattern`` for every ``t`` of ``scales``,
    in float32 and float64, naive and shifted."""
    t = np.asarray(scales, dtype=np.float64)
    pat = tuple(float(p) for p in pattern)
    if t.ndim != 1 or t.size == 0 or len(pat) < 2:
        raise NNBenchError("the sweep needs a non-empty list of scales and at least 2 logits")
    top = int(np.argmax(pat))
    prob, lse, den, first = {}, {}, {}, {}
    for dtype in DTYPES:
        x = (t[:, None] * np.asarray(pat)[None, :]).astype(dtype)
        for form in FORMS:
            p = softmax(x, form)[:, top]
            v = logsumexp(x, form)
            prob[dtype, form], lse[dtype, form] = p, v
            c = x.max(axis=-1, keepdims=True) if form == "shifted" else 0
            with np.errstate(over="ignore"):
                den[dtype, form] = np.exp(x - c).sum(axis=-1)
            bad = ~(np.isfinite(p) & np.isfinite(v))
            first[dtype, form] = float(t[np.argmax(bad)]) if bad.any() else None
    return Sweep(t, pat, prob, lse, den, first)
