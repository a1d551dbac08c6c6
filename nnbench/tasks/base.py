"""The task interface: a task supplies data (or an objective), its kind and its defaults.

A *data task* (``kind`` ``"regression"`` or ``"classification"``) builds a
:class:`Dataset` with :meth:`DataTask.load`; a *landscape task* (``kind``
``"landscape"``) is a function of a 2-D point, see :mod:`nnbench.tasks.landscapes`.

Every task is registered in :data:`TASKS` with a one-line description, the run
configuration it suggests (``defaults``: model, loss, act, depth, width, init,
optim, lr, steps, batch_size, val_frac, ...) and its own parameters (``params``),
which :func:`get_task` validates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnbench.core.errors import NNBenchError, check_int, check_range, plural
from nnbench.core.registry import BUILT_IN, Registry

TASKS = Registry("task")

KINDS = ("regression", "classification", "landscape")

# the run-configuration defaults every data task starts from
BASE_DEFAULTS: dict[str, Any] = {
    "model": "mlp",
    "init": "torch",
    "batch_size": None,
    "val_frac": 0.0,
}


def as_dtype(dtype: Any) -> np.dtype:
    """``"float32"`` or ``"float64"`` (or the NumPy types) as a ``np.dtype``."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise NNBenchError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    return dt


def task_rng(seed: int, *salt: int) -> np.random.Generator:
    """A generator determined by ``seed`` (and a task-specific ``salt``)."""
    if isinstance(seed, bool) or int(seed) != seed or int(seed) < 0:
        raise NNBenchError(f"seed must be an integer >= 0, got {seed!r}")
    return np.random.default_rng(np.random.SeedSequence([int(seed), *salt]))


@dataclass
class Dataset:
    """Arrays of one data task.

    ``X_*`` are ``(n, n_features)`` floats. Regression targets ``y_*`` are
    ``(n, n_outputs)`` floats; class labels are ``(n,)`` int64 in ``0..n_classes-1``.
    ``X_val``/``y_val`` and ``X_test``/``y_test`` are ``None`` when there is no such split.
    ``mean``/``std`` are the training-set statistics the inputs were standardized
    with, ``x <- (x - mean) / std`` (``None`` if the inputs are raw).
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray | None
    y_val: np.ndarray | None
    X_test: np.ndarray | None
    y_test: np.ndarray | None
    n_classes: int | None
    n_features: int
    n_outputs: int
    mean: np.ndarray | None = None
    std: np.ndarray | None = None


class Task:
    """Base of every task: ``name``, ``kind``, ``description``, ``defaults``, ``params``.

    ``defaults`` holds the run-configuration keys the task suggests; ``params`` the
    task's own parameters after validation (what :func:`get_task` was given, over
    the registered defaults).
    """

    kind: str = "regression"

    def __init__(self, name: str, description: str, defaults: Mapping[str, Any],
                 params: Mapping[str, Any]):
        self.name = name
        self.description = description
        self.defaults = dict(defaults)
        self.params = dict(params)

    def __repr__(self) -> str:
        p = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({self.name!r}, {p})"


class DataTask(Task):
    """A task with data. Subclasses implement :meth:`generate`.

    ``generate(seed, dtype)`` returns ``(X, y, X_test, y_test)`` (the last two
    ``None`` when the source has no fixed test set). :meth:`load` then carves the
    test split (``test_frac`` of the data, if the source has no test set and the
    task has a ``test_frac`` parameter) and the validation split (``val_frac`` of
    what remains) with a permutation drawn from ``seed``, and standardizes the
    inputs with training-set statistics unless the task's ``standardize`` is false.
    """

    n_classes: int | None = None
    salt: int = 0  # decorrelates the generators of different tasks for one seed
    min_points = 2  # the fewest ``n_points`` the task accepts

    def __init__(self, name: str, description: str, defaults: Mapping[str, Any],
                 params: Mapping[str, Any]):
        """Checks the parameters most tasks share, where the task has them: ``n_points``
        (at least :attr:`min_points`), ``noise`` (>= 0), ``test_frac`` (in [0, 1))."""
        super().__init__(name, description, defaults, params)
        if "n_points" in self.params:
            check_int("n_points", self.params["n_points"], self.min_points)
        if "noise" in self.params:
            check_range("noise", self.params["noise"], 0.0)
        if "test_frac" in self.params:
            check_range("test_frac", self.params["test_frac"], 0.0, 1.0, high_open=True)

    def generate(self, seed: int, dtype: np.dtype):
        raise NotImplementedError

    def sizes(self, seed: int = 0, val_frac: float | None = None) -> tuple[int, ...]:
        """``(n_train, n_val, n_test, n_features, n_outputs)`` of :meth:`load`'s data set
        (for the memory estimate; tasks read from files override it to read no data)."""
        d = self.load(seed=seed, val_frac=val_frac)
        return (len(d.X_train), 0 if d.X_val is None else len(d.X_val),
                0 if d.X_test is None else len(d.X_test), d.n_features, d.n_outputs)

    def split_sizes(self, n: int, n_test: int | None, val_frac: float | None
                    ) -> tuple[int, int, int]:
        """``(n_train, n_val, n_test)`` of a source of ``n`` rows (and ``n_test`` rows of
        its own test set, ``None`` for none) as :meth:`load` splits it."""
        if val_frac is None:
            val_frac = self.defaults.get("val_frac", 0.0) or 0.0
        test_frac = float(self.params.get("test_frac", 0.0) or 0.0)
        if n_test is None:
            n_test = _split_count(n, test_frac) if test_frac > 0 else 0
            n -= n_test
        n_val = _split_count(n, val_frac) if val_frac > 0 else 0
        return n - n_val, n_val, n_test

    def check_available(self) -> None:
        """Raise NNBenchError when the data cannot be loaded: its files or the optional
        package that makes it are missing (checked before a results directory exists;
        generated tasks have nothing to check)."""

    @property
    def standardize(self) -> bool:
        return bool(self.params.get("standardize", True))

    def load(self, seed: int = 0, val_frac: float | None = None,
             dtype: Any = "float32") -> Dataset:
        """The data set for ``seed``: same seed, same arrays.

        ``val_frac`` (default: ``defaults["val_frac"]``) is the fraction of the
        training data held out for validation, in ``[0, 1)``.
        """
        dt = as_dtype(dtype)
        if val_frac is None:
            val_frac = self.defaults.get("val_frac", 0.0) or 0.0
        check_range("val_frac", val_frac, 0.0, 1.0, high_open=True)
        X, y, X_test, y_test = self.generate(seed, dt)
        rng = task_rng(seed, self.salt, 1)
        test_frac = float(self.params.get("test_frac", 0.0) or 0.0)
        if X_test is None and test_frac > 0:
            X, y, X_test, y_test = _split(X, y, test_frac, rng)
        X_val = y_val = None
        if val_frac > 0:
            X, y, X_val, y_val = _split(X, y, val_frac, rng)
        mean = std = None
        if self.standardize:
            # statistics in float64, applied in the data's dtype (no float64 copy of MNIST)
            mean64 = X.mean(axis=0, dtype=np.float64, keepdims=True)
            std64 = X.std(axis=0, dtype=np.float64, keepdims=True)
            std64[std64 == 0] = 1.0  # constant features (e.g. blank pixels) stay at 0
            mean, std = mean64.astype(dt), std64.astype(dt)

            def scale(A):
                return None if A is None else ((A.astype(dt) - mean) / std).astype(dt)

            X, X_val, X_test = scale(X), scale(X_val), scale(X_test)
        if self.kind == "classification":
            n_outputs = int(self.n_classes)
        else:
            n_outputs = int(y.shape[1])
        return Dataset(X, y, X_val, y_val, X_test, y_test, self.n_classes,
                       int(X.shape[1]), n_outputs, mean, std)


def _split_count(n: int, frac: float) -> int:
    """The rows :func:`_split` holds out of ``n`` for ``frac``."""
    return min(max(int(round(frac * n)), 1), n - 1)


def _split(X: np.ndarray, y: np.ndarray, frac: float, rng: np.random.Generator):
    """Hold out ``round(frac * n)`` random rows (at least one, leaving at least one)."""
    n = len(X)
    k = _split_count(n, frac)
    if n < 2:
        raise NNBenchError(f"cannot split {plural(n, 'sample')}; use val_frac=0 and test_frac=0")
    perm = rng.permutation(n)
    hold, keep = np.sort(perm[:k]), np.sort(perm[k:])
    return X[keep], y[keep], X[hold], y[hold]


def check_params(task: str, given: Mapping[str, Any], valid: Mapping[str, Any]) -> dict:
    """``valid`` updated by ``given``; an unknown parameter name raises NNBenchError."""
    unknown = [k for k in given if k not in valid]
    if unknown:
        names = ", ".join(valid) if valid else "(none)"
        raise NNBenchError(f"unknown parameter '{unknown[0]}' for task '{task}'; "
                           f"valid: {names}")
    return {**valid, **given}


def format_value(v: Any) -> str:
    """A default as `nnbench list` shows it: floats short (``0.001``), tuples in brackets."""
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, tuple):
        return "(" + ", ".join(format_value(x) for x in v) + ")"
    return str(v)


def register(name: str, cls: type[Task], description: str, defaults: Mapping[str, Any],
             params: Mapping[str, Any], origin: str = BUILT_IN, **fixed: Any) -> None:
    """Add task ``name`` to :data:`TASKS`: ``cls(name, description, defaults, params, **fixed)``.

    The registry entry's ``defaults`` are the run-configuration defaults; the
    task's parameters and their defaults end its description (``; params: ...``) and are kept
    as ``factory.params``.
    """
    params = dict(params)

    def factory(**given: Any) -> Task:
        p = check_params(name, given, params)
        return cls(name, description, defaults, p, **fixed)

    factory.params = params  # type: ignore[attr-defined]
    factory.__doc__ = f"Build task '{name}': {description}"
    ptext = ", ".join(f"{k}={format_value(v)}" for k, v in params.items())
    full = f"{description}; params: {ptext}" if params else description
    TASKS.add(name, factory, full, dict(defaults), origin=origin)


def get_task(name: str, **params: Any) -> Task:
    """The task ``name`` built with its parameters (unknown names raise NNBenchError)."""
    return TASKS.get(name).factory(**params)


def task_params(name: str) -> dict[str, Any]:
    """The parameters task ``name`` accepts, with their defaults."""
    return dict(TASKS.get(name).factory.params)

