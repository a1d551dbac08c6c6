"""Regression tasks: ``sin`` (the notes' PyTorch example), ``sin-small``, ``linear``, ``poly``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from nnbench.core.errors import NNBenchError, check_int
from nnbench.tasks.base import BASE_DEFAULTS, DataTask, register, task_rng


def torch_linspace(start: float, end: float, steps: int) -> np.ndarray:
    """``torch.linspace(start, end, steps)`` in float32, as the notes' example builds x.

    ``step = (end - start) / (steps - 1)`` in float32; the first half counts up from
    ``start``, the second half down from ``end``:
    ``x_i = start + i * step`` for ``i < steps // 2`` and
    ``x_i = end - (steps - 1 - i) * step`` otherwise, each rounded to float32 once
    (a fused multiply-add, as PyTorch's CPU kernel computes it; ``i * step`` is exact
    in float64). Tested bit for bit against ``torch.linspace``.
    """
    f = np.float32
    steps = check_int("n_points", steps, 2)
    s, e = f(start), f(end)
    step = np.float64(f((e - s) / f(steps - 1)))
    i = np.arange(steps, dtype=np.float64)
    half = steps // 2
    up = np.float64(s) + i[:half] * step
    down = np.float64(e) - (steps - 1 - i[half:]) * step
    return np.concatenate([up, down]).astype(f)


class SinTask(DataTask):
    """y = sin(x) (+ noise), x evenly spaced on ``[0, 6 pi]``; inputs left raw.

    The notes' example::

        X = torch.linspace(0, 6*np.pi, 10000); X = torch.unsqueeze(X, dim=1)
        Y = torch.sin(X)

    In float32 x follows :func:`torch_linspace`; in float64 ``np.linspace``.
    ``noise`` adds ``N(0, noise^2)`` to y, drawn from the seed.
    """

    kind = "regression"
    salt = 101

    def generate(self, seed: int, dtype: np.dtype):
        n = int(self.params["n_points"])
        if dtype == np.float32:
            x = torch_linspace(0.0, 6 * np.pi, n)
        else:
            x = np.linspace(0.0, 6 * np.pi, n, dtype=np.float64)
        X = x[:, None]
        Y = np.sin(X)
        noise = float(self.params["noise"])
        if noise > 0:
            Y = Y + noise * task_rng(seed, self.salt).standard_normal(Y.shape)
        return X.astype(dtype), Y.astype(dtype), None, None


SIN_DEFAULTS: dict[str, Any] = {
    **BASE_DEFAULTS,
    "loss": "mse", "act": "sigmoid", "depth": 1, "width": 100,
    "optim": "adam", "lr": 0.005, "steps": 10000,
}

register(
    "sin", SinTask,
    "sin(x), 10000 points on [0, 6 pi], 1-100-1 sigmoid, Adam lr 0.005, 10000 full-batch "
    "steps (the notes' PyTorch example)",
    SIN_DEFAULTS,
    {"n_points": 10000, "noise": 0.0, "standardize": False},
)
register(
    "sin-small", SinTask,
    "sin(x), 1000 points on [0, 6 pi], 1-32-1 sigmoid, 2000 steps (for sweeps)",
    {**SIN_DEFAULTS, "width": 32, "steps": 2000},
    {"n_points": 1000, "noise": 0.0, "standardize": False},
)


class LinearTask(DataTask):
    """y = X theta + noise, ``X ~ N(0, 1)^(n, d)``, ``theta ~ N(0, 1)^d``, noise ``N(0, s^2)``;
    ``scales`` (one number per feature) multiplies each feature, so that features come in
    very different units (feature scaling, notes 004) while ``y`` stays the same.

    Everything is drawn from the seed. :meth:`theta` gives the true coefficients,
    :meth:`lstsq` the least-squares solution ``(W, b)`` of ``min mean((X W + b - y)^2)``
    on a data set's training part: the minimum a linear model (``depth 0``) reaches.
    """

    kind = "regression"
    salt = 102

    def __init__(self, name: str, description: str, defaults: Mapping[str, Any],
                 params: Mapping[str, Any]):
        super().__init__(name, description, defaults, params)
        d = check_int("n_features", self.params["n_features"], 1)
        try:
            scales = tuple(float(v) for v in self.params["scales"])
        except (TypeError, ValueError):
            raise NNBenchError(f"scales must be a list of numbers, got "
                               f"{self.params['scales']!r}") from None
        if scales and (len(scales) != d or not all(v > 0 and np.isfinite(v) for v in scales)):
            raise NNBenchError(f"scales must give one number > 0 per feature ({d}), got "
                               f"{list(scales)}")
        self.params["scales"] = scales

    def theta(self, seed: int = 0) -> np.ndarray:
        """The true coefficients ``(n_features, 1)`` (float64) for ``seed``, of the inputs
        as given (feature ``j`` scaled by ``scales[j]`` has coefficient ``theta_j /
        scales[j]``)."""
        return self._draw(seed)[0]

    def _draw(self, seed: int):
        n, d = int(self.params["n_points"]), int(self.params["n_features"])
        rng = task_rng(seed, self.salt)
        theta = rng.standard_normal((d, 1))
        X = rng.standard_normal((n, d))
        y = X @ theta + float(self.params["noise"]) * rng.standard_normal((n, 1))
        if self.params["scales"]:  # the same data, each feature in its own units
            scales = np.asarray(self.params["scales"])
            X, theta = X * scales, theta / scales[:, None]
        return theta, X, y

    def generate(self, seed: int, dtype: np.dtype):
        _, X, y = self._draw(seed)
        return X.astype(dtype), y.astype(dtype), None, None

    @staticmethod
    def lstsq(data) -> tuple[np.ndarray, np.ndarray]:
        """``(W (d, out), b (out,))`` minimising the training MSE of ``X W + b`` (float64)."""
        X = np.asarray(data.X_train, dtype=np.float64)
        y = np.asarray(data.y_train, dtype=np.float64)
        A = np.hstack([X, np.ones((len(X), 1))])
        sol = np.linalg.lstsq(A, y, rcond=None)[0]
        return sol[:-1], sol[-1]


register(
    "linear", LinearTask,
    "y = X theta + noise with a known least-squares solution (linear regression)",
    {**BASE_DEFAULTS, "loss": "mse", "act": "identity", "depth": 0, "width": 1,
     "optim": "sgd", "lr": 0.1, "steps": 500},
    {"n_points": 200, "n_features": 5, "noise": 0.1, "test_frac": 0.2,
     "standardize": False, "scales": ()},
)


class PolyTask(DataTask):
    """y = p(x) + noise for a fixed polynomial p, x ~ U(-1, 1), for bias and variance.

    ``p(x) = sum_k coef[k] x^k``. The inputs are the powers ``x, x^2, ..., x^fit_degree``
    (so a linear model is a polynomial fit of that degree, the notes' "model
    complexity"), standardized with training statistics (feature scaling); with
    ``basis = "legendre"`` they are the Legendre polynomials ``P_1(x) .. P_k(x)`` instead,
    which span the same polynomials (the least-squares fit of a degree is the same
    polynomial) but are orthogonal on ``[-1, 1]``, so that gradient descent reaches that fit
    in few steps where the powers' near-collinear columns take it many. The true
    function is :meth:`true_fn`. Only x and the noise depend on the seed, so many
    seeds give the repeated experiments that show bias (mean fit vs p) and variance.
    """

    kind = "regression"
    salt = 103

    def __init__(self, name: str, description: str, defaults: Mapping[str, Any],
                 params: Mapping[str, Any]):
        super().__init__(name, description, defaults, params)
        check_int("fit_degree", self.params["fit_degree"], 1)
        try:
            coef = tuple(float(c) for c in self.params["coef"])
        except (TypeError, ValueError):
            raise NNBenchError(
                f"coef must be a sequence of numbers, got {self.params['coef']!r}") from None
        if not coef:
            raise NNBenchError("coef must have at least one coefficient, got ()")
        self.params["coef"] = coef
        if self.params["basis"] not in BASES:
            raise NNBenchError(f"basis must be one of {', '.join(BASES)}, got "
                               f"{self.params['basis']!r}")

    def true_fn(self, x: np.ndarray) -> np.ndarray:
        """``p(x) = sum_k coef[k] x^k`` (float64)."""
        return np.polynomial.polynomial.polyval(np.asarray(x, dtype=np.float64),
                                                self.params["coef"])

    def features(self, x: np.ndarray) -> np.ndarray:
        """``(n,) -> (n, fit_degree)``: the columns ``x^1 .. x^fit_degree`` (``legendre``:
        ``P_1(x) .. P_fit_degree(x)``)."""
        k = int(self.params["fit_degree"])
        x = np.asarray(x, dtype=np.float64)
        if self.params["basis"] == "legendre":
            return np.polynomial.legendre.legvander(x, k)[:, 1:]
        return x[:, None] ** np.arange(1, k + 1)

    def generate(self, seed: int, dtype: np.dtype):
        n = int(self.params["n_points"])
        rng = task_rng(seed, self.salt)
        x = rng.uniform(-1.0, 1.0, n)
        y = self.true_fn(x) + float(self.params["noise"]) * rng.standard_normal(n)
        return self.features(x).astype(dtype), y[:, None].astype(dtype), None, None


# the inputs of the poly task: powers of x, or Legendre polynomials of x
BASES = ("power", "legendre")

register(
    "poly", PolyTask,
    "y = cubic polynomial + noise, inputs x..x^fit_degree (bias and variance)",
    {**BASE_DEFAULTS, "loss": "mse", "act": "identity", "depth": 0, "width": 1,
     "optim": "adam", "lr": 0.05, "steps": 1000, "val_frac": 1 / 3},
    {"n_points": 30, "coef": (0.0, 1.0, 0.0, -2.0), "noise": 0.2, "fit_degree": 3,
     "test_frac": 0.0, "standardize": True, "basis": "power"},
)
