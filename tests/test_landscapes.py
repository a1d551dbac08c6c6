"""Landscape tasks: gradients against finite differences, minima, the point model."""

from __future__ import annotations

import numpy as np
import pytest

from nnbench.core.errors import NNBenchError
from nnbench.tasks import TASKS, get_task

LANDSCAPES = ["rosenbrock", "beale", "himmelblau", "saddle", "rastrigin", "quadratic"]

# the functions written out independently of the implementation
REFERENCE = {
    "rosenbrock": lambda x, y: (1 - x) ** 2 + 100 * (y - x * x) ** 2,
    "beale": lambda x, y: sum((c - x * (1 - y ** k)) ** 2
                              for k, c in ((1, 1.5), (2, 2.25), (3, 2.625))),
    "himmelblau": lambda x, y: (x * x + y - 11) ** 2 + (x + y * y - 7) ** 2,
    "saddle": lambda x, y: x * x - y * y,
    "rastrigin": lambda x, y: 20 + sum(t * t - 10 * np.cos(2 * np.pi * t) for t in (x, y)),
    "quadratic": lambda x, y: 0.5 * (x * x + 20.0 * y * y),
}


def test_all_registered():
    kinds = {e.name: e.factory().kind for e in TASKS}
    assert {n for n, k in kinds.items() if k == "landscape"} == set(LANDSCAPES)


@pytest.mark.parametrize("name", LANDSCAPES)
def test_value_matches_the_formula(name):
    task = get_task(name)
    P = np.random.default_rng(0).uniform(-3, 3, (50, 2))
    np.testing.assert_allclose(task.value(P), REFERENCE[name](P[:, 0], P[:, 1]), rtol=1e-12)


@pytest.mark.parametrize("name", LANDSCAPES)
def test_grad_matches_central_differences(name):
    task = get_task(name)
    P = np.random.default_rng(1).uniform(-3, 3, (40, 2))
    h = 1e-6
    fd = np.empty_like(P)
    for j in range(2):
        e = np.zeros(2)
        e[j] = h
        fd[:, j] = (task.value(P + e) - task.value(P - e)) / (2 * h)
    g = task.grad(P)
    assert g.shape == (40, 2) and g.dtype == np.float64
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("name", [n for n in LANDSCAPES if n != "saddle"])
def test_minima_are_stationary_and_lowest(name):
    task = get_task(name)
    M = task.minima
    assert M.ndim == 2 and M.shape[1] == 2 and len(M) >= 1
    np.testing.assert_allclose(task.grad(M), 0, atol=1e-9)
    np.testing.assert_allclose(task.value(M), 0, atol=1e-12)  # all these have min value 0
    np.testing.assert_allclose(task.distance_to_min(M), 0, atol=0)
    P = np.random.default_rng(2).uniform(-4, 4, (500, 2))
    assert (task.value(P) >= -1e-12).all()


def test_himmelblau_has_four_minima_and_distance_is_to_the_nearest():
    task = get_task("himmelblau")
    assert len(task.minima) == 4
    P = task.minima + np.array([[0.3, -0.4]])
    np.testing.assert_allclose(task.distance_to_min(P), 0.5)


def test_saddle_has_no_minimum():
    task = get_task("saddle")
    assert task.minima.shape == (0, 2)
    assert np.isnan(task.distance_to_min(np.zeros((3, 2)))).all()
    np.testing.assert_array_equal(task.grad(np.zeros((1, 2))), 0)  # the saddle point


def test_quadratic_condition_number_from_the_hessian():
    task = get_task("quadratic", cond=100.0)
    h = 1e-4
    H = np.empty((2, 2))
    for j in range(2):
        e = np.zeros((1, 2))
        e[0, j] = h
        H[:, j] = ((task.grad(e) - task.grad(-e)) / (2 * h))[0]
    ev = np.linalg.eigvalsh(H)
    np.testing.assert_allclose(ev.max() / ev.min(), 100.0, rtol=1e-6)
    with pytest.raises(NNBenchError, match="cond"):
        get_task("quadratic", cond=0.5)


def test_start_default_and_override():
    task = get_task("rosenbrock")
    assert task.start.shape == (2,)
    np.testing.assert_array_equal(task.start, [-1.5, 2.0])
    np.testing.assert_array_equal(get_task("rosenbrock", start="0.5,-1").start, [0.5, -1])
    np.testing.assert_array_equal(get_task("beale", start=(2, 3)).start, [2, 3])
    for bad in ("1", "a,b", (1, 2, 3), "nan,1"):
        with pytest.raises(NNBenchError, match="start must be two finite numbers"):
            get_task("beale", start=bad)
    with pytest.raises(NNBenchError, match="unknown parameter 'cond'.*valid: start"):
        get_task("beale", cond=2)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_model_interface(dtype):
    task = get_task("himmelblau", start=(1.0, -2.0))
    model = task.model(runs=3, dtype=dtype)
    assert model.n_layers == 0 and model.layer_stats() == [] and model.runs == 3
    (P,) = model.params
    assert P.shape == (3, 1, 2) and P.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(P[:, 0], [[1.0, -2.0]] * 3)
    P[1, 0] = [2.0, 2.5]  # runs are independent
    value, (g,) = model.loss_and_grads(None, None, loss=None, train=True)
    assert value.shape == (3,) and g.shape == (3, 1, 2) and g.dtype == np.dtype(dtype)
    pts = P[:, 0].astype(np.float64)
    np.testing.assert_allclose(value, REFERENCE["himmelblau"](pts[:, 0], pts[:, 1]), rtol=1e-6)
    np.testing.assert_allclose(g[:, 0], task.grad(pts), rtol=1e-6)
    np.testing.assert_array_equal(model.forward(None), P)
    assert model.forward(None) is not P


def test_gradient_descent_on_the_model_reaches_the_minimum():
    # plain GD with step 1/L on the quadratic converges at rate (1 - 1/cond)
    task = get_task("quadratic", cond=10.0)
    model = task.model(runs=1, dtype="float64")
    for _ in range(400):
        _, (g,) = model.loss_and_grads()
        model.params[0] -= 0.1 * g
    assert task.distance_to_min(model.params[0][:, 0])[0] < 1e-8


@pytest.mark.parametrize("name", LANDSCAPES)
def test_defaults(name):
    d = get_task(name).defaults
    assert d["log_every"] == 1 and d["optim"] == "adam" and d["lr"] > 0
    assert 100 <= d["steps"] <= 5000


def test_bad_points_and_runs():
    task = get_task("beale")
    with pytest.raises(NNBenchError, match=r"shape \(runs, 2\)"):
        task.value(np.zeros(2))
    with pytest.raises(NNBenchError, match="runs"):
        task.model(runs=0)
