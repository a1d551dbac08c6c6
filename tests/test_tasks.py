"""Tasks: registry, parameters, shapes, determinism, splits and standardization."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

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
        assert entry.description and "model" in entry.defaults or "optim" in entry.defaults
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
