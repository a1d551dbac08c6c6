"""Classification tasks: xor, blobs, moons, circles, spirals, digits, mnist1d, mnist,
fashion-mnist.

Labels are ``(n,)`` int64 in ``0..n_classes-1``; the default loss is
``softmax_cross_entropy`` (``bce_with_logits`` is also valid for two classes).
Inputs are standardized with training-set statistics unless a task says otherwise.
"""

from __future__ import annotations

import importlib
import random
from pathlib import Path
from typing import Any

import numpy as np

from nnbench.core.errors import NNBenchError, check_int, check_positive, check_range
from nnbench.tasks.base import BASE_DEFAULTS, DataTask, register, task_rng
from nnbench.tasks.cache import cache_dir, load_arrays, save_arrays
from nnbench.tasks.idx import find_files, idx_shape, load_idx_dataset

CLS_DEFAULTS: dict[str, Any] = {
    **BASE_DEFAULTS, "loss": "softmax_cross_entropy", "act": "tanh", "depth": 1,
    "width": 16, "optim": "adam", "lr": 0.01, "steps": 1000, "val_frac": 0.0,
}

SPLIT_PARAMS: dict[str, Any] = {"test_frac": 0.2, "standardize": True}


class ClassificationTask(DataTask):
    """Base of the classification tasks: ``n_classes`` and the common checks."""

    kind = "classification"
    n_classes = 2
    min_points = 4


def _shuffled(rng: np.random.Generator, X: np.ndarray, y: np.ndarray, dtype):
    """``generate``'s result: the points in an order drawn from ``rng``, no test set."""
    perm = rng.permutation(len(y))
    return X[perm].astype(dtype), y[perm], None, None


def _labels(n: int, k: int) -> np.ndarray:
    """``n`` labels as even as possible over ``k`` classes: 0,0,..,1,1,..."""
    return np.repeat(np.arange(k), [n // k + (c < n % k) for c in range(k)]).astype(np.int64)


class XorTask(ClassificationTask):
    """The four XOR points ``(0,0)->0, (0,1)->1, (1,0)->1, (1,1)->0``, raw inputs.

    No line separates the classes, so a single-layer perceptron (logistic regression,
    ``depth 0``) cannot fit them; one hidden layer can. ``repeat`` stacks copies.
    """

    salt = 201

    def generate(self, seed: int, dtype: np.dtype):
        r = check_int("repeat", self.params["repeat"], 1)
        X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=dtype)
        y = np.array([0, 1, 1, 0], dtype=np.int64)
        return np.tile(X, (r, 1)), np.tile(y, r), None, None


register(
    "xor", XorTask,
    "the four XOR points: no linear model separates them, one hidden layer does",
    {**CLS_DEFAULTS, "width": 4, "lr": 0.05, "steps": 500},
    {"repeat": 1, "standardize": False},
)


class BlobsTask(ClassificationTask):
    """Two Gaussian blobs (unit variance), linearly separable by construction.

    Class centres are ``-/+ sep/2 * u`` for a unit vector ``u`` drawn from the seed;
    every point whose signed distance ``x . u`` to the plane ``x . u = 0`` lies on
    the wrong side or within ``margin`` of it is redrawn, so the plane separates the
    classes with margin ``margin`` (the perceptron converges, logistic regression
    reaches zero training error). :meth:`direction` returns ``u``.
    """

    salt = 202

    def direction(self, seed: int = 0) -> np.ndarray:
        """The unit normal ``u`` of the separating plane (raw coordinates)."""
        d = int(self.params["n_features"])
        u = task_rng(seed, self.salt, 2).standard_normal(d)
        return u / np.linalg.norm(u)

    def generate(self, seed: int, dtype: np.dtype):
        n = int(self.params["n_points"])
        d = check_int("n_features", self.params["n_features"], 1)
        sep, margin = float(self.params["sep"]), float(self.params["margin"])
        check_positive("sep", sep)
        check_range("margin", margin, 0.0, sep / 2, high_open=True)
        u = self.direction(seed)
        rng = task_rng(seed, self.salt)
        y = _labels(n, 2)
        sign = np.where(y == 1, 1.0, -1.0)
        X = rng.standard_normal((n, d)) + (sign * sep / 2)[:, None] * u
        bad = sign * (X @ u) < margin
        while bad.any():
            X[bad] = rng.standard_normal((int(bad.sum()), d)) \
                + (sign[bad] * sep / 2)[:, None] * u
            bad = sign * (X @ u) < margin
        return _shuffled(rng, X, y, dtype)


register(
    "blobs", BlobsTask,
    "two Gaussian blobs, linearly separable (logistic regression, the perceptron)",
    {**CLS_DEFAULTS, "act": "identity", "depth": 0, "lr": 0.1, "steps": 300},
    {"n_points": 200, "n_features": 2, "sep": 4.0, "margin": 0.25, **SPLIT_PARAMS},
)


class MoonsTask(ClassificationTask):
    """Two interleaving half circles (as scikit-learn's ``make_moons``) plus N(0, noise^2).

    Class 0: ``(cos t, sin t)``; class 1: ``(1 - cos t, 1/2 - sin t)``, t ~ U(0, pi).
    """

    salt = 203

    def generate(self, seed: int, dtype: np.dtype):
        n = int(self.params["n_points"])
        rng = task_rng(seed, self.salt)
        y = _labels(n, 2)
        t = rng.uniform(0, np.pi, n)
        X = np.where((y == 0)[:, None],
                     np.stack([np.cos(t), np.sin(t)], 1),
                     np.stack([1 - np.cos(t), 0.5 - np.sin(t)], 1))
        X = X + float(self.params["noise"]) * rng.standard_normal(X.shape)
        return _shuffled(rng, X, y, dtype)


register(
    "moons", MoonsTask,
    "two interleaving half circles with noise (a curved boundary)",
    CLS_DEFAULTS,
    {"n_points": 400, "noise": 0.1, **SPLIT_PARAMS},
)


class CirclesTask(ClassificationTask):
    """Two concentric circles: class 0 radius 1, class 1 radius ``factor``, plus noise.

    Points at angle t ~ U(0, 2 pi); no line separates the classes.
    """

    salt = 204

    def generate(self, seed: int, dtype: np.dtype):
        n = int(self.params["n_points"])
        factor = float(self.params["factor"])
        check_range("factor", factor, 0.0, 1.0, low_open=True, high_open=True)
        rng = task_rng(seed, self.salt)
        y = _labels(n, 2)
        t = rng.uniform(0, 2 * np.pi, n)
        r = np.where(y == 0, 1.0, factor)
        X = r[:, None] * np.stack([np.cos(t), np.sin(t)], 1)
        X = X + float(self.params["noise"]) * rng.standard_normal(X.shape)
        return _shuffled(rng, X, y, dtype)


register(
    "circles", CirclesTask,
    "two concentric circles with noise (no linear boundary)",
    CLS_DEFAULTS,
    {"n_points": 400, "noise": 0.05, "factor": 0.5, **SPLIT_PARAMS},
)


class SpiralsTask(ClassificationTask):
    """``arms`` interleaved spirals, one class per arm (CS231n's spiral data).

    Arm ``c``: radius ``r ~ U(0, 1)`` and angle ``2 pi c / arms + turns * 2 pi r``
    plus ``N(0, noise^2)`` on the angle; point ``r (cos a, sin a)``.
    """

    salt = 205

    @property
    def n_classes(self) -> int:  # type: ignore[override]
        return int(self.params["arms"])

    def generate(self, seed: int, dtype: np.dtype):
        n = int(self.params["n_points"])
        k = check_int("arms", self.params["arms"], 2)
        turns = float(self.params["turns"])
        check_positive("turns", turns)
        rng = task_rng(seed, self.salt)
        y = _labels(n, k)
        r = rng.uniform(0, 1, n)
        a = 2 * np.pi * y / k + turns * 2 * np.pi * r \
            + float(self.params["noise"]) * rng.standard_normal(n)
        X = r[:, None] * np.stack([np.cos(a), np.sin(a)], 1)
        return _shuffled(rng, X, y, dtype)


register(
    "spirals", SpiralsTask,
    "k interleaved spiral arms, one class each (arms parameter)",
    {**CLS_DEFAULTS, "width": 64, "act": "relu", "steps": 2000},
    {"n_points": 600, "arms": 3, "turns": 0.75, "noise": 0.2, **SPLIT_PARAMS},
)


# -- optional data sets --------------------------------------------------------

EXTRA_HINT = "pip install -e '.[datasets]' in the nnbench checkout"


def _import_extra(module: str, task: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        raise NNBenchError(f"task '{task}' needs the optional package '{module.split('.')[0]}':"
                           f" {EXTRA_HINT}") from None


class DigitsTask(ClassificationTask):
    """The 8x8 handwritten digits shipped inside scikit-learn (1797 images, 64 pixels 0..16).

    Needs the optional ``datasets`` extra; read from scikit-learn's own
    package data, no download. ``n_classes`` 10.
    """

    salt = 206
    n_classes = 10

    def check_available(self) -> None:
        _import_extra("sklearn.datasets", self.name)

    def generate(self, seed: int, dtype: np.dtype):
        datasets = _import_extra("sklearn.datasets", self.name)
        d = datasets.load_digits()
        return (np.asarray(d.data, dtype=dtype), np.asarray(d.target, dtype=np.int64),
                None, None)


register(
    "digits", DigitsTask,
    "scikit-learn's 8x8 handwritten digits, 10 classes (needs the datasets extra)",
    {**CLS_DEFAULTS, "width": 32, "act": "relu", "lr": 0.005, "steps": 1000,
     "batch_size": 64, "val_frac": 0.1},
    {**SPLIT_PARAMS},
)


MNIST1D_FILE = "mnist1d-default.npz"


def mnist1d_arrays(cache: Path | None = None) -> dict[str, np.ndarray]:
    """MNIST-1D at the generator's default arguments: ``x (4000, 40)``, ``y``,
    ``x_test (1000, 40)``, ``y_test``.

    Generated offline with the ``mnist1d`` package's own ``make_dataset`` (its
    default arguments: 5000 samples, train split 0.8, 40 features, seed 42), never
    downloaded, and cached as ``.npz`` (``cache / mnist1d-default.npz``) with a
    checksum. The generator seeds NumPy's and Python's global generators; their
    states are restored afterwards.
    """
    path = (Path(cache) if cache is not None else cache_dir()) / MNIST1D_FILE
    if path.exists():
        return load_arrays(path)
    data_mod = _import_extra("mnist1d.data", "mnist1d")
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        d = data_mod.make_dataset(data_mod.get_dataset_args())
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    arrays = {"x": np.asarray(d["x"], dtype=np.float64),
              "y": np.asarray(d["y"], dtype=np.int64),
              "x_test": np.asarray(d["x_test"], dtype=np.float64),
              "y_test": np.asarray(d["y_test"], dtype=np.int64)}
    save_arrays(path, arrays)
    return arrays


class Mnist1dTask(ClassificationTask):
    """MNIST-1D (Greydanus, 2020): 1-D signals of the ten digits, 40 features.

    4000 training and 1000 test signals from the package's generator at its
    defaults (see :func:`mnist1d_arrays`); the paper reports test accuracy 32% for
    logistic regression and 68% for an MLP. Needs ``datasets`` extra.
    """

    salt = 207
    n_classes = 10

    def check_available(self) -> None:
        if not (cache_dir() / MNIST1D_FILE).exists():
            _import_extra("mnist1d.data", "mnist1d")

    def generate(self, seed: int, dtype: np.dtype):
        a = mnist1d_arrays()
        return a["x"].astype(dtype), a["y"], a["x_test"].astype(dtype), a["y_test"]


register(
    "mnist1d", Mnist1dTask,
    "MNIST-1D, 40 features, 10 classes, 4000/1000 (needs the datasets extra); suggested: "
    "the paper's MLP and training (models.py, train.py)",
    # the paper's MLP, 40-100-100-10 ReLU with a residual second hidden layer, trained as
    # its train.py does: Adam at 1e-2, batches of 100 in order, 8000 steps, every training
    # signal (no validation split)
    {**CLS_DEFAULTS, "depth": 2, "width": 100, "act": "relu", "residual": True, "lr": 0.01,
     "steps": 8000, "batch_size": 100, "shuffle": False, "val_frac": 0.0},
    {"standardize": True},
)


class IdxTask(ClassificationTask):
    """MNIST or Fashion-MNIST from IDX files: 28x28 uint8 images, 10 classes.

    Read from ``data_dir`` (gzipped or not) or from the cache, where
    ``nnbench data fetch NAME`` puts them. Pixels are scaled to ``[0, 1]`` then
    standardized per pixel with training statistics. ``n_train`` keeps only the
    first ``n_train`` training images (``None``: all 60000).
    """

    salt = 208
    n_classes = 10

    def check_available(self) -> None:
        find_files(self.name, self.params["data_dir"])

    def sizes(self, seed: int = 0, val_frac: float | None = None) -> tuple[int, ...]:
        """From the files' headers (60000/10000 images of 28x28 where they are not
        readable), without reading the images."""
        files = find_files(self.name, self.params["data_dir"])
        train, test = idx_shape(files["train_images"]), idx_shape(files["test_images"])
        train = train if train and len(train) == 3 else (60000, 28, 28)
        test = test if test and len(test) == 3 else (10000, 28, 28)
        n = train[0] if self.params["n_train"] is None else min(train[0],
                                                                 int(self.params["n_train"]))
        n_train, n_val, n_test = self.split_sizes(n, test[0], val_frac)
        return n_train, n_val, n_test, train[1] * train[2], int(self.n_classes)

    def generate(self, seed: int, dtype: np.dtype):
        Xtr, ytr, Xte, yte = load_idx_dataset(self.name, self.params["data_dir"])
        n_train = self.params["n_train"]
        if n_train is not None:
            n_train = check_int("n_train", n_train, 1)
            Xtr, ytr = Xtr[:n_train], ytr[:n_train]
        return (Xtr.astype(dtype) / dtype.type(255), ytr,
                Xte.astype(dtype) / dtype.type(255), yte)


for _name, _what in (("mnist", "handwritten digits"), ("fashion-mnist", "Zalando clothes")):
    register(
        _name, IdxTask,
        f"{_what}, 28x28, 10 classes, 60000/10000 from IDX files "
        f"('nnbench data fetch {_name}' or data_dir)",
        {**CLS_DEFAULTS, "width": 128, "act": "relu", "lr": 0.001, "steps": 3000,
         "batch_size": 128, "val_frac": 0.1},
        {"data_dir": None, "n_train": None, "standardize": True},
    )
