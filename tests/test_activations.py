"""Activations: values against closed forms in Python's math module, derivatives against
finite differences, stability at |z| = 1e4, the registry."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from nnbench.core.activations import (
    ACTIVATIONS,
    SELU_ALPHA,
    SELU_SCALE,
    activation,
    erf,
    sigmoid,
)
from nnbench.core.errors import NNBenchError, UnknownNameError

GRAD_ACTS = [name for name in ACTIVATIONS.names() if name != "step"]


def _sig(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


#: the textbook formulas, one scalar at a time, with Python's math module
CLOSED_FORM = {
    "sigmoid": _sig,
    "tanh": math.tanh,
    "relu": lambda x: max(0.0, x),
    "leaky_relu": lambda x: x if x > 0 else 0.01 * x,
    "prelu": lambda x: x if x > 0 else 0.25 * x,
    "rrelu": lambda x: x if x > 0 else (1 / 8 + 1 / 3) / 2 * x,
    "softplus": lambda x: x if x > 20 else math.log1p(math.exp(x)),
    "elu": lambda x: x if x > 0 else math.expm1(x),
    "selu": lambda x: SELU_SCALE * (x if x > 0 else SELU_ALPHA * math.expm1(x)),
    "gelu": lambda x: 0.5 * x * (1.0 + math.erf(x / math.sqrt(2.0))),
    "silu": lambda x: x * _sig(x),
    "step": lambda x: 1.0 if x >= 0 else -1.0,  # the notes' symmetric step sign(x)
}

# avoid 0 (the kink of the ReLU family) and +-20 (softplus' threshold)
Z = np.concatenate([np.linspace(-30, -0.05, 301), np.linspace(0.05, 30, 301)])


@pytest.mark.parametrize("name", ACTIVATIONS.names())
def test_values_match_the_closed_form(name):
    act = activation(name)
    z = Z[np.abs(np.abs(Z) - 20) > 1e-3]
    expected = np.array([CLOSED_FORM[name](float(v)) for v in z])
    # gelu = z/2 (1 + erf): erf is accurate to ~1e-15 absolute, as math.erf's own formula
    atol = 1e-14 if name == "gelu" else 1e-300
    np.testing.assert_allclose(act(z), expected, rtol=1e-13, atol=atol)


@pytest.mark.parametrize("name", GRAD_ACTS)
def test_derivative_matches_finite_differences(name):
    act = activation(name)
    z = Z[np.abs(np.abs(Z) - 20) > 1e-2]
    h = 1e-5
    numeric = (act(z + h) - act(z - h)) / (2 * h)
    analytic = act.grad(z, act(z))
    np.testing.assert_allclose(analytic, numeric, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", ["leaky_relu", "prelu", "rrelu"])
def test_leaky_family_with_slope_arrays(name):
    act = activation(name)
    rng = np.random.default_rng(0)
    z = rng.normal(size=(2, 5, 3))
    slope = rng.uniform(0.1, 0.4, size=(2, 5, 3))
    np.testing.assert_array_equal(act(z, slope), np.where(z > 0, z, slope * z))
    np.testing.assert_array_equal(act.grad(z, act(z, slope), slope), np.where(z > 0, 1.0, slope))
    h = 1e-6  # d f / d slope = min(z, 0)
    numeric = (act(z, slope + h) - act(z, slope - h)) / (2 * h)
    np.testing.assert_allclose(act.slope_grad(z), numeric, atol=1e-9)


def test_rrelu_draws_from_each_runs_generator():
    act = activation("rrelu")
    draws = act.sample([np.random.default_rng(1), np.random.default_rng(2)], 50, 4, np.float64)
    assert draws.shape == (2, 50, 4)
    assert draws.min() >= 1 / 8 and draws.max() <= 1 / 3
    alone = act.sample([np.random.default_rng(2)], 50, 4, np.float64)
    np.testing.assert_array_equal(draws[1], alone[0])
    assert act.negative_slope == pytest.approx((1 / 8 + 1 / 3) / 2)
    assert abs(draws.mean() - (1 / 8 + 1 / 3) / 2) < 0.01


def test_erf_matches_math_erf():
    x = np.concatenate([np.linspace(-9, 9, 20001), [0.0, 2.5, -2.5, 1e-300, 40.0, -1e4]])
    expected = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(erf(x), expected, rtol=0, atol=2.5e-16)
    assert erf(np.float32(0.5) * np.ones(3, np.float32)).dtype == np.float32
    np.testing.assert_array_equal(erf(np.array([np.inf, -np.inf, 0.0])), [1.0, -1.0, 0.0])
    assert np.isnan(erf(np.array([np.nan]))).all()
    assert erf(np.zeros((2, 3))).shape == (2, 3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ACTIVATIONS.names())
def test_finite_and_quiet_at_large_inputs(name, dtype):
    """No overflow, invalid or divide warning at |z| = 1e4; an underflow of e^-1e4 to 0 is
    the exact answer rounded and is allowed."""
    act = activation(name)
    z = np.array([-1e4, -50.0, -1.0, 0.0, 1.0, 50.0, 1e4], dtype=dtype)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise",
                                                divide="raise", under="ignore"):
        warnings.simplefilter("error")
        a = act(z)
        assert a.dtype == dtype and np.isfinite(a).all()
        if name != "step":
            g = act.grad(z, a)
            assert g.dtype == dtype and np.isfinite(g).all()
    big = float(CLOSED_FORM[name](1e4))
    assert a[-1] == pytest.approx(big, rel=1e-6)
    expected_low = CLOSED_FORM[name](-1e4)
    assert a[0] == pytest.approx(expected_low, abs=1e-30)


def test_sigmoid_is_exact_in_both_tails():
    z = np.array([-700.0, -40.0, 40.0])
    np.testing.assert_allclose(sigmoid(z), [math.exp(-700.0), math.exp(-40.0), 1.0], rtol=1e-14)


def test_sigmoid_derivative_is_at_most_a_quarter():
    act = activation("sigmoid")
    z = np.linspace(-10, 10, 2001)
    g = act.grad(z, act(z))
    assert g.max() == pytest.approx(0.25) and g.max() <= 0.25


def test_registry_and_parameters():
    assert set(GRAD_ACTS) == {"sigmoid", "tanh", "relu", "leaky_relu", "prelu", "rrelu",
                              "softplus", "elu", "selu", "gelu", "silu"}
    assert ACTIVATIONS.get("leaky_relu").defaults == {"negative_slope": 0.01}
    assert all(entry.description and "\n" not in entry.description for entry in ACTIVATIONS)
    act = activation("leaky_relu", negative_slope=0.2)
    assert act(np.array([-1.0]))[0] == -0.2
    with pytest.raises(UnknownNameError, match="did you mean 'relu'"):
        activation("rleu")
    with pytest.raises(NNBenchError, match="negative_slope"):
        activation("leaky_relu", slope=0.1)
    with pytest.raises(NNBenchError, match=r"negative_slope must be in \[0, 1\]"):
        activation("leaky_relu", negative_slope=-1)
    with pytest.raises(NNBenchError, match="upper"):
        activation("rrelu", lower=0.3, upper=0.2)


def test_step_refuses_gradients():
    act = activation("step")
    assert not act.differentiable
    np.testing.assert_array_equal(act(np.array([-1.0, 0.0, 2.0])), [-1.0, 1.0, 1.0])
    with pytest.raises(NNBenchError, match="perceptron"):
        act.grad(np.zeros(2), np.zeros(2))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_accurate_to_two_ulps_over_the_whole_range(dtype):
    tiny, eps = np.finfo(dtype).tiny, np.finfo(dtype).eps
    z = np.linspace(-1000, 1000, 200001).astype(dtype)
    with np.errstate(all="raise"):
        a = sigmoid(z)
    assert a.dtype == dtype
    exact = np.array([1 / (1 + math.exp(-x)) if x > -700 else math.exp(x) for x in
                      z.astype(np.float64)])
    normal = exact >= tiny
    np.testing.assert_allclose(a[normal], exact[normal], rtol=2.5 * eps, atol=0)
    assert np.all((a[~normal] >= 0) & (a[~normal] < tiny))
