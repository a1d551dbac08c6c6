"""Tasks: registry, parameters, shapes, determinism, splits and standardization."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnbench.core.errors import NNBenchError, UnknownNameError
from nnbench.tasks import TASKS, get_task, task_params


def test_sin_defaults_match_the_notes_example():
    # notes, file 000: X = torch.linspace(0, 6*np.pi, 10000); nn.Linear(1, 100), sigmoid,
    # nn.Linear(100, 1); Adam lr=0.005; MSELoss; 10000 full-batch steps
    task = get_task("sin")
    d = task.defaults
    assert task.kind == "regression"
    assert (d["model"], d["depth"], d["width"], d["act"]) == ("mlp", 1, 100, "sigmoid")
    assert (d["loss"], d["optim"], d["lr"], d["steps"]) == ("mse", "adam", 0.005, 10000)
    assert d["batch_size"] is None and d["val_frac"] == 0 and d["init"] == "torch"
    data = task.load(seed=0)
    assert data.X_train.shape == (10000, 1) and data.y_train.shape == (10000, 1)
    assert data.X_train.dtype == np.float32 and data.y_train.dtype == np.float32
    assert data.X_val is None and data.X_test is None
    assert data.n_classes is None and data.n_features == 1 and data.n_outputs == 1
    # raw inputs, evenly spaced on [0, 6 pi]
    x = data.X_train[:, 0]
    assert x[0] == 0 and x[-1] == np.float32(6 * np.pi)
    np.testing.assert_allclose(np.diff(x.astype(np.float64)), 6 * np.pi / 9999, rtol=1e-3)
    np.testing.assert_allclose(data.y_train[:, 0], np.sin(x.astype(np.float64)), atol=1e-6)
    assert data.mean is None


def test_sin_small_defaults():
    task = get_task("sin-small")
    assert (task.defaults["width"], task.defaults["steps"]) == (32, 2000)
    assert task.load().X_train.shape == (1000, 1)


def test_sin_float64_and_noise_are_deterministic():
    task = get_task("sin", n_points=50, noise=0.1)
    a, b, c = task.load(seed=3, dtype="float64"), task.load(seed=3, dtype="float64"), \
        task.load(seed=4, dtype="float64")
    assert a.X_train.dtype == np.float64
    np.testing.assert_array_equal(a.y_train, b.y_train)
    assert not np.array_equal(a.y_train, c.y_train)
    np.testing.assert_array_equal(a.X_train, c.X_train)


def test_unknown_task_and_parameter():
    with pytest.raises(UnknownNameError, match="did you mean 'sin'"):
        get_task("sinn")
    with pytest.raises(NNBenchError, match="unknown parameter 'foo'.*valid: n_points"):
        get_task("sin", foo=1)
    with pytest.raises(NNBenchError, match="n_points"):
        get_task("sin", n_points=1)
    with pytest.raises(NNBenchError, match="dtype"):
        get_task("sin-small").load(dtype="int8")
    with pytest.raises(NNBenchError, match="val_frac"):
        get_task("sin-small").load(val_frac=1.0)


def test_every_entry_documents_its_parameters():
    for entry in TASKS:
        assert entry.description and "optim" in entry.defaults and "lr" in entry.defaults
        for name, default in task_params(entry.name).items():
            assert f"{name}=" in entry.description, (entry.name, name, default)


FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("n", [10000, 1000, 7, 2])
def test_sin_data_equal_torch_linspace_and_sin(n):
    # fixture written by tests/fixtures/make_tasks_fixtures.py with PyTorch
    with np.load(FIXTURES / "tasks_torch.npz", allow_pickle=False) as z:
        X, Y = z[f"X_{n}"], z[f"Y_{n}"]
    data = get_task("sin", n_points=n).load(seed=0)
    np.testing.assert_array_equal(data.X_train, X)
    # sin itself: NumPy's and PyTorch's float32 sin agree to an ulp or so
    np.testing.assert_allclose(data.y_train, Y, rtol=0, atol=2e-7)


# -- every data task -------------------------------------------------------------

GENERATED = ["sin-small", "linear", "poly", "xor", "blobs", "moons", "circles", "spirals"]


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NNBENCH_CACHE", str(tmp_path / "cache"))


@pytest.mark.parametrize("name", GENERATED)
def test_generated_tasks_are_deterministic_per_seed(name):
    task = get_task(name)
    a, b = task.load(seed=5, val_frac=0.25), task.load(seed=5, val_frac=0.25)
    for field in ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test"):
        x, y = getattr(a, field), getattr(b, field)
        assert (x is None) == (y is None)
        if x is not None:
            np.testing.assert_array_equal(x, y)
    if name not in ("xor", "sin-small"):  # the four XOR points and sin have no noise
        c = task.load(seed=6, val_frac=0.25)
        assert not np.array_equal(a.X_train, c.X_train)


@pytest.mark.parametrize("name", GENERATED)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_shapes_dtypes_and_labels(name, dtype):
    task = get_task(name)
    d = task.load(seed=0, dtype=dtype)
    assert d.X_train.dtype == np.dtype(dtype)
    assert d.X_train.ndim == 2 and d.X_train.shape[1] == d.n_features
    if task.kind == "classification":
        assert d.y_train.dtype == np.int64 and d.y_train.shape == (len(d.X_train),)
        assert d.n_outputs == d.n_classes >= 2
        assert d.y_train.min() >= 0 and d.y_train.max() < d.n_classes
        assert task.defaults["loss"] == "softmax_cross_entropy"
    else:
        assert d.n_classes is None
        assert d.y_train.dtype == np.dtype(dtype)
        assert d.y_train.shape == (len(d.X_train), d.n_outputs)


@pytest.mark.parametrize("name", ["linear", "poly", "blobs", "moons", "circles", "spirals"])
def test_splits_partition_the_data_and_standardize_with_train_stats(name):
    task = get_task(name)
    n = task.params["n_points"]
    raw = task.generate(3, np.dtype(np.float64))[0]
    d = task.load(seed=3, val_frac=0.25, dtype="float64")
    n_test = len(d.X_test) if d.X_test is not None else 0
    assert len(d.X_train) + len(d.X_val) + n_test == n
    assert n_test == round(task.params.get("test_frac", 0) * n)
    assert len(d.X_val) == round(0.25 * (n - n_test))
    if task.params.get("standardize", True):
        np.testing.assert_allclose(d.X_train.mean(0), 0, atol=1e-12)
        np.testing.assert_allclose(d.X_train.std(0), 1, atol=1e-12)
        # the splits are the raw rows, mapped with the training statistics
        back = np.vstack([A * d.std + d.mean for A in (d.X_train, d.X_val, d.X_test)
                          if A is not None])
    else:
        assert d.mean is None
        back = np.vstack([A for A in (d.X_train, d.X_val, d.X_test) if A is not None])
    key = np.lexsort(back.T)
    np.testing.assert_allclose(back[key], raw[np.lexsort(raw.T)], atol=1e-12)
    # a different seed gives a different split
    other = get_task(name).load(seed=4, val_frac=0.25, dtype="float64")
    assert not np.array_equal(other.X_val, d.X_val)


def test_xor_is_the_truth_table():
    d = get_task("xor").load()
    table = {tuple(x): int(y) for x, y in zip(d.X_train.tolist(), d.y_train, strict=True)}
    assert table == {(0.0, 0.0): 0, (0.0, 1.0): 1, (1.0, 0.0): 1, (1.0, 1.0): 0}


def _perceptron_mistakes(X, y, epochs):
    """Rosenblatt's perceptron; returns the mistakes of the last epoch."""
    Xb = np.hstack([X, np.ones((len(X), 1))])
    s = np.where(y == 1, 1.0, -1.0)
    w = np.zeros(Xb.shape[1])
    for _ in range(epochs):
        mistakes = 0
        for xi, si in zip(Xb, s, strict=True):
            if si * (xi @ w) <= 0:
                w += si * xi
                mistakes += 1
        if mistakes == 0:
            break
    return mistakes


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_blobs_are_linearly_separable(seed):
    # the perceptron converges (no mistakes in an epoch) iff the data are separable
    task = get_task("blobs", sep=2.0, margin=0.2, n_points=300)
    d = task.load(seed=seed, dtype="float64")
    X = np.vstack([d.X_train, d.X_test])
    y = np.concatenate([d.y_train, d.y_test])
    assert _perceptron_mistakes(X, y, epochs=1000) == 0
    assert set(np.unique(y)) == {0, 1}


def test_xor_and_circles_are_not_linearly_separable():
    d = get_task("xor").load(dtype="float64")
    assert _perceptron_mistakes(d.X_train, d.y_train, epochs=200) > 0
    d = get_task("circles").load(dtype="float64")
    assert _perceptron_mistakes(d.X_train, d.y_train, epochs=50) > 0


def test_spirals_arms_parameter():
    d = get_task("spirals", arms=5, n_points=100).load(val_frac=0)
    assert d.n_classes == 5 and d.n_outputs == 5
    assert set(np.unique(np.concatenate([d.y_train, d.y_test]))) == set(range(5))


def test_linear_lstsq_solves_the_normal_equations_and_is_near_theta():
    task = get_task("linear", noise=0.01)
    d = task.load(seed=2, dtype="float64")
    W, b = task.lstsq(d)
    r = d.X_train @ W + b - d.y_train  # residual orthogonal to the columns and to 1
    np.testing.assert_allclose(d.X_train.T @ r, 0, atol=1e-10)
    np.testing.assert_allclose(r.sum(), 0, atol=1e-10)
    np.testing.assert_allclose(W, task.theta(seed=2), atol=0.01)
    np.testing.assert_allclose(b, 0, atol=0.01)
    # the data are y = X theta + noise
    np.testing.assert_allclose(d.y_train, d.X_train @ task.theta(2), atol=0.06)


def test_poly_targets_follow_the_polynomial():
    task = get_task("poly", noise=0.0, fit_degree=2, coef=(1.0, -2.0, 0.5), standardize=False)
    d = task.load(seed=0, dtype="float64")
    x = d.X_train[:, 0]
    np.testing.assert_allclose(d.X_train[:, 1], x ** 2)
    np.testing.assert_allclose(d.y_train[:, 0], 1.0 - 2.0 * x + 0.5 * x ** 2, atol=1e-12)
    assert d.X_val is not None  # the notes: hold out a third for validation
    with pytest.raises(NNBenchError, match="coef"):
        get_task("poly", coef="abc")


@pytest.mark.parametrize("bad", [{"noise": -1.0}, {"test_frac": 1.0}, {"n_points": 2.5}])
def test_bad_values_raise(bad):
    with pytest.raises(NNBenchError):
        get_task("moons", **bad).load()


# -- optional data sets --------------------------------------------------------------


def test_digits_matches_scikit_learn():
    datasets = pytest.importorskip("sklearn.datasets")
    ref = datasets.load_digits()
    task = get_task("digits", standardize=False)
    d = task.load(seed=0, val_frac=0.1, dtype="float64")
    X = np.vstack([d.X_train, d.X_val, d.X_test])
    y = np.concatenate([d.y_train, d.y_val, d.y_test])
    assert X.shape == (1797, 64) and d.n_classes == 10
    rows = {tuple(r): int(t) for r, t in zip(ref.data, ref.target, strict=True)}
    assert all(rows[tuple(r)] == t for r, t in zip(X, y, strict=True))


@pytest.mark.parametrize("name,module", [("digits", "sklearn.datasets"),
                                         ("mnist1d", "mnist1d.data")])
def test_missing_extra_names_the_install_command(name, monkeypatch, module):
    import sys

    monkeypatch.setitem(sys.modules, module, None)  # import raises ImportError
    with pytest.raises(NNBenchError, match=r"pip install -e '\.\[datasets\]'"):
        get_task(name).load()


@pytest.fixture(scope="session")
def mnist1d_cache(tmp_path_factory):
    pytest.importorskip("mnist1d")
    from nnbench.tasks.classification import mnist1d_arrays

    cache = tmp_path_factory.mktemp("mnist1d")
    mnist1d_arrays(cache)  # generates once (a few seconds)
    return cache


def test_mnist1d_default_generator(mnist1d_cache, monkeypatch):
    import random

    monkeypatch.setenv("NNBENCH_CACHE", str(mnist1d_cache))
    np.random.seed(123)
    random.seed(7)
    before = np.random.random(), random.random()
    np.random.seed(123)
    random.seed(7)
    d = get_task("mnist1d").load(seed=0, val_frac=0.1)
    assert (np.random.random(), random.random()) == before  # global generators untouched
    assert d.X_train.shape == (3600, 40) and d.X_val.shape == (400, 40)
    assert d.X_test.shape == (1000, 40) and d.y_test.shape == (1000,)
    assert d.n_classes == 10 and d.y_test.dtype == np.int64
    assert set(np.unique(d.y_test)) == set(range(10))
    np.testing.assert_allclose(d.X_train.mean(0), 0, atol=1e-5)


def test_mnist1d_is_the_package_generator_at_its_defaults(mnist1d_cache):
    from mnist1d.data import get_dataset_args

    from nnbench.tasks.cache import load_arrays
    from nnbench.tasks.classification import MNIST1D_FILE

    args = get_dataset_args()
    assert (args.num_samples, args.train_split, args.final_seq_length) == (5000, 0.8, 40)
    a = load_arrays(mnist1d_cache / MNIST1D_FILE)
    assert a["x"].shape == (4000, 40) and a["x_test"].shape == (1000, 40)
    assert np.bincount(np.concatenate([a["y"], a["y_test"]])).tolist() == [500] * 10


def test_corrupt_cache_file_is_a_one_line_error(mnist1d_cache, tmp_path, monkeypatch):
    from nnbench.tasks.classification import MNIST1D_FILE

    data = (mnist1d_cache / MNIST1D_FILE).read_bytes()
    monkeypatch.setenv("NNBENCH_CACHE", str(tmp_path))
    target = tmp_path / MNIST1D_FILE
    target.write_bytes(data[: len(data) // 2])
    with pytest.raises(NNBenchError, match=MNIST1D_FILE + ".*truncated or corrupt") as e:
        get_task("mnist1d").load()
    assert "\n" not in str(e.value)


def test_cache_checksum_detects_changed_arrays(tmp_path):
    from nnbench.tasks.cache import arrays_digest, load_arrays, save_arrays

    path = tmp_path / "a.npz"
    save_arrays(path, {"x": np.arange(5.0)})
    np.testing.assert_array_equal(load_arrays(path)["x"], np.arange(5.0))
    # a file with the right structure but other contents
    np.savez_compressed(path, x=np.arange(6.0), _sha256=np.array(arrays_digest(
        {"x": np.arange(5.0)})))
    with pytest.raises(NNBenchError, match="checksum mismatch"):
        load_arrays(path)
    np.savez_compressed(path, x=np.array([{"a": 1}], dtype=object))
    with pytest.raises(NNBenchError, match="a.npz"):
        load_arrays(path)


def test_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    from nnbench.tasks.cache import cache_dir

    monkeypatch.setenv("NNBENCH_CACHE", str(tmp_path / "x"))
    assert cache_dir() == tmp_path / "x"
    monkeypatch.delenv("NNBENCH_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "nnbench"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "nnbench"


def test_mnist1d_logistic_regression_accuracy_is_the_papers(mnist1d_cache, monkeypatch):
    # Greydanus (2020) reports 32% test accuracy for logistic regression on MNIST-1D;
    # softmax regression by full-batch gradient descent, written out here
    monkeypatch.setenv("NNBENCH_CACHE", str(mnist1d_cache))
    d = get_task("mnist1d").load(seed=0, val_frac=0, dtype="float64")
    X = np.hstack([d.X_train, np.ones((len(d.X_train), 1))])
    Y = np.eye(10)[d.y_train]
    W = np.zeros((X.shape[1], 10))
    for _ in range(100):
        Z = X @ W
        P = np.exp(Z - Z.max(1, keepdims=True))
        P /= P.sum(1, keepdims=True)
        W -= 1.0 * X.T @ (P - Y) / len(X)
    Xt = np.hstack([d.X_test, np.ones((len(d.X_test), 1))])
    acc = (np.argmax(Xt @ W, 1) == d.y_test).mean()
    assert 0.29 <= acc <= 0.36


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_fuzz_damaged_cache_files_raise_only_the_documented_error(tmp_path_factory, data):
    from nnbench.tasks.cache import load_arrays, save_arrays

    d = tmp_path_factory.mktemp("npz")
    path = d / "a.npz"
    save_arrays(path, {"x": np.arange(40.0).reshape(4, 10), "y": np.arange(4)})
    raw = bytearray(path.read_bytes())
    cut = data.draw(st.integers(0, len(raw)))
    raw = raw[:cut]
    if raw and data.draw(st.booleans()):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] ^= data.draw(st.integers(1, 255))
    path.write_bytes(bytes(raw))
    try:
        arrays = load_arrays(path)
    except NNBenchError as e:
        assert "a.npz" in str(e) and "\n" not in str(e)
    else:  # only an undamaged file loads, and then with the right contents
        np.testing.assert_array_equal(arrays["x"], np.arange(40.0).reshape(4, 10))
