"""Objective landscapes for optimizer trajectories: the parameters are a 2-D point.

Each landscape task gives, for points ``P`` of shape ``(runs, 2)``:
``value(P) -> (runs,)``, ``grad(P) -> (runs, 2)`` and ``distance_to_min(P) -> (runs,)``
(the distance to the nearest known minimum), plus ``minima`` ``(k, 2)``, ``start``
``(2,)`` (a documented default, overridden by the ``start`` parameter) and
``model(runs, dtype)``: a :class:`LandscapeModel` the engine trains like a network.

Landscapes (``x, y`` the two coordinates):

- ``rosenbrock``: ``(1 - x)^2 + 100 (y - x^2)^2``; minimum ``(1, 1)``; a curved valley.
- ``beale``: ``(1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2``;
  minimum ``(3, 0.5)``.
- ``himmelblau``: ``(x^2 + y - 11)^2 + (x + y^2 - 7)^2``; four minima.
- ``saddle``: ``x^2 - y^2``; a saddle point at the origin and no minimum (unbounded
  below): ``minima`` is empty and ``distance_to_min`` is NaN.
- ``rastrigin``: ``20 + sum_i (x_i^2 - 10 cos(2 pi x_i))``; global minimum at the
  origin among many local minima.
- ``quadratic``: ``(x^2 + cond y^2) / 2``, Hessian ``diag(1, cond)``: condition number
  ``cond``; minimum at the origin.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from nnbench.core.errors import NNBenchError, check_range
from nnbench.tasks.base import Task, as_dtype, register


def parse_start(value: Any) -> tuple[float, float]:
    """``(x, y)`` from a pair of numbers or a string ``"X,Y"`` (the CLI's ``--start``)."""
    v = value
    if isinstance(v, str):
        v = v.replace("(", "").replace(")", "").split(",")
    try:
        pair = tuple(float(c) for c in v)
    except (TypeError, ValueError):
        pair = ()
    if len(pair) != 2 or not all(np.isfinite(pair)):
        raise NNBenchError(f"start must be two finite numbers 'X,Y', got {value!r}")
    return pair


def _points(P: Any) -> np.ndarray:
    P = np.asarray(P)
    if P.ndim != 2 or P.shape[1] != 2:
        raise NNBenchError(f"points must have shape (runs, 2), got {P.shape}")
    if not np.issubdtype(P.dtype, np.floating):
        P = P.astype(np.float64)
    return P


class LandscapeModel:
    """A 2-D point per run, trained like a network.

    ``params = [P]`` with ``P`` ``(runs, 1, 2)`` initialised at the task's start;
    ``loss_and_grads`` returns the landscape's value ``(runs,)`` and its gradient
    ``[(runs, 1, 2)]``; the data arguments are ignored. ``forward`` returns a copy
    of ``P``; there are no layers (``n_layers = 0``, ``layer_stats() = []``).
    """

    n_layers = 0
    record = True  # nothing to record: no layers
    chunking = None  # one point per run: nothing to split
    noisy = False
    l2 = 0.0
    can_finish = False
    kernel = None  # no compiled pass

    def __init__(self, task: LandscapeTask, runs: int = 1, dtype: Any = "float32"):
        if isinstance(runs, bool) or int(runs) != runs or int(runs) < 1:
            raise NNBenchError(f"runs must be an integer >= 1, got {runs!r}")
        self.task = task
        self.runs = int(runs)
        self.dtype = as_dtype(dtype)
        P = np.broadcast_to(np.asarray(task.start, dtype=self.dtype), (self.runs, 1, 2))
        self.params: list[np.ndarray] = [P.copy()]

    @property
    def weights(self) -> list[np.ndarray]:
        """No weight matrices (for weight-norm statistics and weight decay lists)."""
        return []

    def forward(self, X: Any = None, train: bool = False) -> np.ndarray:
        """The current points, ``(runs, 1, 2)``."""
        return self.params[0].copy()

    def loss_and_grads(self, X: Any = None, Y: Any = None, loss: Any = None,
                       train: bool = True) -> tuple[np.ndarray, list[np.ndarray]]:
        """``(f(P) (runs,), [grad f(P) (runs, 1, 2)])`` in the model's dtype."""
        P = self.params[0][:, 0, :]
        value = self.task.value(P).astype(self.dtype)
        grad = self.task.grad(P).astype(self.dtype)[:, None, :]
        return value, [grad]

    def layer_stats(self) -> list[dict[str, np.ndarray]]:
        return []

    def penalty(self) -> np.ndarray:
        return np.zeros(self.runs, dtype=self.dtype)

    def finished(self, n_train: int) -> np.ndarray:
        return np.zeros(self.runs, dtype=bool)

    def extra_results(self, data: Any, loss: str) -> dict[str, np.ndarray]:
        return {}


class LandscapeTask(Task):
    """A function of a 2-D point: ``value``, ``grad``, ``distance_to_min``, ``model``.

    Subclass parameters: ``f(x, y)`` and ``df(x, y) -> (df/dx, df/dy)`` on arrays,
    ``minima`` ``(k, 2)`` (float64; ``k = 0`` when there is none).
    """

    kind = "landscape"
    minima_default: np.ndarray = np.zeros((1, 2))

    def __init__(self, name: str, description: str, defaults: dict[str, Any],
                 params: dict[str, Any], f: Callable, df: Callable,
                 minima: Callable[[dict], np.ndarray]):
        super().__init__(name, description, defaults, params)
        self.params["start"] = parse_start(self.params["start"])
        self._f, self._df = f, df
        self.minima = np.asarray(minima(self.params), dtype=np.float64).reshape(-1, 2)

    @property
    def start(self) -> np.ndarray:
        """The start point ``(2,)`` (float64)."""
        return np.asarray(self.params["start"], dtype=np.float64)

    def value(self, P: Any) -> np.ndarray:
        """``f(P) -> (runs,)`` for points ``P`` ``(runs, 2)``."""
        P = _points(P)
        return self._f(P[:, 0], P[:, 1], self.params)

    def grad(self, P: Any) -> np.ndarray:
        """``grad f(P) -> (runs, 2)``."""
        P = _points(P)
        gx, gy = self._df(P[:, 0], P[:, 1], self.params)
        return np.stack([gx, gy], axis=1).astype(P.dtype)

    def distance_to_min(self, P: Any) -> np.ndarray:
        """Euclidean distance ``(runs,)`` to the nearest known minimum (NaN if none)."""
        P = _points(P)
        if len(self.minima) == 0:
            return np.full(len(P), np.nan)
        d = P[:, None, :].astype(np.float64) - self.minima[None, :, :]
        return np.sqrt((d ** 2).sum(-1)).min(axis=1)

    def model(self, runs: int = 1, dtype: Any = "float32") -> LandscapeModel:
        """A :class:`LandscapeModel` with ``runs`` copies of the start point."""
        return LandscapeModel(self, runs, dtype)


def _rosen(x, y, p):
    return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2


def _drosen(x, y, p):
    return -2 * (1 - x) - 400 * x * (y - x ** 2), 200 * (y - x ** 2)


def _beale_terms(x, y):
    return 1.5 - x + x * y, 2.25 - x + x * y ** 2, 2.625 - x + x * y ** 3


def _beale(x, y, p):
    a, b, c = _beale_terms(x, y)
    return a ** 2 + b ** 2 + c ** 2


def _dbeale(x, y, p):
    a, b, c = _beale_terms(x, y)
    gx = 2 * a * (y - 1) + 2 * b * (y ** 2 - 1) + 2 * c * (y ** 3 - 1)
    gy = 2 * a * x + 2 * b * 2 * x * y + 2 * c * 3 * x * y ** 2
    return gx, gy


def _himmel(x, y, p):
    return (x ** 2 + y - 11) ** 2 + (x + y ** 2 - 7) ** 2


def _dhimmel(x, y, p):
    u, v = x ** 2 + y - 11, x + y ** 2 - 7
    return 4 * x * u + 2 * v, 2 * u + 4 * y * v


# the four minima of Himmelblau's function (Newton-refined in float64; f = 0 there)
HIMMELBLAU_MINIMA = np.array([
    [3.0, 2.0],
    [-2.805118086952745, 3.131312518250573],
    [-3.779310253377747, -3.283185991286170],
    [3.584428340330492, -1.848126526964404],
])


def _saddle(x, y, p):
    return x ** 2 - y ** 2


def _dsaddle(x, y, p):
    return 2 * x, -2 * y


def _rastrigin(x, y, p):
    tau = 2 * np.pi
    return 20 + x ** 2 - 10 * np.cos(tau * x) + y ** 2 - 10 * np.cos(tau * y)


def _drastrigin(x, y, p):
    tau = 2 * np.pi
    return 2 * x + 10 * tau * np.sin(tau * x), 2 * y + 10 * tau * np.sin(tau * y)


def _quad(x, y, p):
    return 0.5 * (x ** 2 + p["cond"] * y ** 2)


def _dquad(x, y, p):
    return x, p["cond"] * y


def _quad_minima(p):
    check_range("cond", p["cond"], 1.0)
    return [[0.0, 0.0]]


LANDSCAPE_DEFAULTS: dict[str, Any] = {
    "model": "landscape", "optim": "adam", "batch_size": None, "val_frac": 0.0,
    "log_every": 1,
}

for _name, _desc, _f, _df, _minima, _start, _lr, _steps, _extra in (
    ("rosenbrock", "Rosenbrock's banana valley (1-x)^2 + 100(y-x^2)^2, minimum (1, 1)",
     _rosen, _drosen, lambda p: [[1.0, 1.0]], (-1.5, 2.0), 0.05, 2000, {}),
    ("beale", "Beale's function, minimum (3, 0.5), flat plateaus and steep walls",
     _beale, _dbeale, lambda p: [[3.0, 0.5]], (1.0, 1.5), 0.05, 1000, {}),
    ("himmelblau", "Himmelblau's function, four minima",
     _himmel, _dhimmel, lambda p: HIMMELBLAU_MINIMA, (0.0, 0.0), 0.05, 500, {}),
    ("saddle", "the saddle x^2 - y^2: escape along y (no minimum; distance is NaN)",
     _saddle, _dsaddle, lambda p: np.zeros((0, 2)), (1.0, 0.001), 0.01, 300, {}),
    ("rastrigin", "Rastrigin's function, global minimum (0, 0) among many local ones",
     _rastrigin, _drastrigin, lambda p: [[0.0, 0.0]], (2.2, -2.4), 0.05, 500, {}),
    ("quadratic", "ill-conditioned quadratic (x^2 + cond y^2)/2, minimum (0, 0)",
     _quad, _dquad, _quad_minima, (-4.0, 1.0), 0.05, 500, {"cond": 20.0}),
):
    register(
        _name, LandscapeTask, _desc,
        {**LANDSCAPE_DEFAULTS, "lr": _lr, "steps": _steps},
        {"start": _start, **_extra},
        f=_f, df=_df, minima=_minima,
    )
