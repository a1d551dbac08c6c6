"""The base class of every update rule and the helpers the rules share: hyperparameter
conversion, per-run factors and the checks of the parameters' runs axis."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from nnbench.core.errors import NNBenchError, check_positive, check_range

Params = list[np.ndarray]
Hyper = Any  # float or (R,) array


# --------------------------------------------------------------------------- helpers


def _hyper(name: str, value: Any) -> float | np.ndarray:
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


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise NNBenchError(f"{name} must be true or false, got {value!r}")
    return bool(value)


def _betas(value: Any) -> tuple[float | np.ndarray, float | np.ndarray]:
    try:
        b1, b2 = value
    except (TypeError, ValueError):
        raise NNBenchError(f"betas must be a pair (beta1, beta2), got {value!r}") from None
    b1, b2 = _hyper("betas[0]", b1), _hyper("betas[1]", b2)
    check_range("betas[0]", b1, 0.0, 1.0, high_open=True)
    check_range("betas[1]", b2, 0.0, 1.0, high_open=True)
    return b1, b2


def _is_zero(x: float | np.ndarray) -> bool:
    return bool(np.all(np.asarray(x) == 0))


def _col(x: float | np.ndarray, p: np.ndarray) -> float | np.ndarray:
    """``x`` as a factor for the parameter ``p``: a Python float (which NumPy applies in
    ``p``'s dtype), or an ``(R,)`` array reshaped to ``(R, 1, ..., 1)`` in ``p``'s dtype."""
    if np.ndim(x) == 0:
        return float(x)
    return np.asarray(x, dtype=p.dtype).reshape((-1,) + (1,) * (p.ndim - 1))


def _check_lengths(hypers: Mapping[str, Any], runs: int) -> None:
    for name, value in hypers.items():
        n = np.size(value) if np.ndim(value) == 1 else None
        if n is not None and n not in (1, runs):
            raise NNBenchError(
                f"{name} has {n} values but the parameters have {runs} runs; "
                f"give one value or {runs}"
            )


def _check_params(params: Sequence[np.ndarray]) -> int:
    if len(params) == 0:
        raise NNBenchError("params must be a non-empty list of arrays with a leading runs axis")
    runs = {np.shape(p)[0] if np.ndim(p) else None for p in params}
    if len(runs) != 1 or None in runs:
        raise NNBenchError(
            "every parameter array must have the same leading runs axis (R, ...), "
            f"got shapes {[np.shape(p) for p in params]}"
        )
    return runs.pop()


# --------------------------------------------------------------------------- base class


class Optimizer:
    """An update rule: ``state = init(params)``; ``update(params, grads, state, lr=None)``.

    ``lr`` in :meth:`update` (a scalar or one value per run) replaces the configured
    learning rate for that step only; schedules act through it.
    """

    name = "optimizer"

    def __init__(self, lr: Hyper):
        self.lr = _hyper("lr", lr)
        check_positive("lr", self.lr)

    def _per_run(self) -> dict[str, Any]:
        """The hyperparameters given as (R,) arrays, checked against R in ``init``."""
        out = {}
        for k, v in vars(self).items():
            for j, x in enumerate(v) if isinstance(v, tuple) else [(None, v)]:
                if isinstance(x, np.ndarray) and x.ndim == 1:
                    out[k if j is None else f"{k}[{j}]"] = x
        return out

    def init(self, params: Sequence[np.ndarray]) -> Any:
        runs = _check_params(params)
        _check_lengths(self._per_run(), runs)
        return self._init(params)

    def _init(self, params: Sequence[np.ndarray]) -> Any:
        raise NotImplementedError

    def update(self, params: Params, grads: Sequence[np.ndarray], state: Any,
               lr: Hyper | None = None) -> None:
        """Apply one step to ``params`` in place and advance ``state``."""
        if len(grads) != len(params):
            raise NNBenchError(f"got {len(grads)} gradients for {len(params)} parameters")
        if lr is None:
            lr = self.lr
        else:
            lr = _hyper("lr", lr)
            if np.ndim(lr) == 1 and lr.size not in (1, len(params[0])):
                raise NNBenchError(f"lr has {lr.size} values but the parameters have "
                                   f"{len(params[0])} runs; give one value or {len(params[0])}")
        self._update(params, grads, state, lr)

    def _update(self, params: Params, grads: Sequence[np.ndarray], state: Any,
                lr: Hyper) -> None:
        raise NotImplementedError

    def hyperparameters(self) -> dict[str, Any]:
        """The configured hyperparameters by their torch names."""
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({args})"

    def _grad(self, g: np.ndarray, p: np.ndarray, maximize: bool, wd: Hyper) -> np.ndarray:
        """``g = (-grad if maximize else grad) + weight_decay * theta`` (a new array when
        it differs from ``grad``, so the caller's gradients are never modified)."""
        if maximize:
            g = -g
        if not _is_zero(wd):
            g = g + _col(wd, p) * p
        return g

