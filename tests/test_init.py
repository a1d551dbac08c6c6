"""Initializers: torch.nn.init's formulas (derived here from its gain and fan definitions),
checked on the bounds and the moments of large draws; one generator per run."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnbench.core.errors import NNBenchError, UnknownNameError
from nnbench.core.init import INITS, initializer
from nnbench.core.mlp import MLP

FAN_IN, FAN_OUT = 400, 300


def draw(name: str, **kwargs):
    return initializer(name, **kwargs)(np.random.default_rng(0), FAN_IN, FAN_OUT)


def kaiming_uniform_bound(a: float, fan_in: int) -> float:
    """torch.nn.init.kaiming_uniform_: gain = sqrt(2 / (1 + a^2)), bound = gain sqrt(3/fan_in)."""
    return math.sqrt(2.0 / (1.0 + a * a)) * math.sqrt(3.0 / fan_in)


def test_torch_default_is_kaiming_uniform_with_a_sqrt5():
    W, b = draw("torch")
    bound = kaiming_uniform_bound(math.sqrt(5.0), FAN_IN)
    assert bound == pytest.approx(1.0 / math.sqrt(FAN_IN))
    for x in (W, b):
        assert np.abs(x).max() <= bound and np.abs(x).max() > 0.98 * bound
    assert W.std() == pytest.approx(bound / math.sqrt(3.0), rel=0.01)  # std of U(-c, c)


@pytest.mark.parametrize(
    ("name", "kwargs", "bound"),
    [
        ("xavier_uniform", {}, math.sqrt(6.0 / (FAN_IN + FAN_OUT))),
        ("xavier_uniform", {"gain": 2.0}, 2.0 * math.sqrt(6.0 / (FAN_IN + FAN_OUT))),
        ("he_uniform", {}, kaiming_uniform_bound(0.0, FAN_IN)),
    ],
)
def test_uniform_bounds(name, kwargs, bound):
    W, b = draw(name, **kwargs)
    assert W.shape == (FAN_IN, FAN_OUT) and b.shape == (FAN_OUT,)
    assert np.abs(W).max() <= bound and np.abs(W).max() > 0.99 * bound
    np.testing.assert_array_equal(b, 0.0)


@pytest.mark.parametrize(
    ("name", "kwargs", "std", "bias_std"),
    [
        ("xavier_normal", {}, math.sqrt(2.0 / (FAN_IN + FAN_OUT)), 0.0),
        ("he_normal", {}, math.sqrt(2.0) / math.sqrt(FAN_IN), 0.0),
        ("normal", {}, 1.0, 1.0),
        ("normal", {"std": 0.1}, 0.1, 0.1),
    ],
)
def test_normal_moments(name, kwargs, std, bias_std):
    W, b = draw(name, **kwargs)
    assert abs(W.mean()) < 5 * std / math.sqrt(W.size)
    assert W.std() == pytest.approx(std, rel=0.01)
    if bias_std:
        assert b.std() == pytest.approx(bias_std, rel=0.15)
    else:
        np.testing.assert_array_equal(b, 0.0)


def test_zeros():
    W, b = draw("zeros")
    assert not W.any() and not b.any()


def test_each_run_draws_from_its_own_seed_sequence():
    net = MLP([3, 4, 2], init="he_normal", seed=[10, 20], runs=2, dtype="float64")
    for r, seed in enumerate([10, 20]):
        rng = np.random.default_rng(np.random.SeedSequence(seed))
        W1, b1 = initializer("he_normal")(rng, 3, 4)
        W2, _ = initializer("he_normal")(rng, 4, 2)
        np.testing.assert_array_equal(net.params[0][r], W1)
        np.testing.assert_array_equal(net.params[1][r, 0], b1)
        np.testing.assert_array_equal(net.params[2][r], W2)
    again = MLP([3, 4, 2], init="he_normal", seed=[10, 20], runs=2, dtype="float64")
    np.testing.assert_array_equal(net.params[2], again.params[2])


def test_float32_weights_are_the_rounded_float64_ones():
    a = MLP([3, 4, 2], seed=1)
    b = MLP([3, 4, 2], seed=1, dtype="float64")
    assert a.params[0].dtype == np.float32
    np.testing.assert_array_equal(a.params[0], b.params[0].astype(np.float32))


def test_registry_and_errors():
    assert set(INITS.names()) == {"torch", "xavier_uniform", "xavier_normal", "he_uniform",
                                  "he_normal", "normal", "constant", "zeros"}
    assert INITS.get("normal").defaults == {"std": 1.0}
    with pytest.raises(UnknownNameError, match="did you mean 'he_normal'"):
        initializer("he_norml")
    with pytest.raises(NNBenchError, match="std must be in"):
        initializer("normal", std=0.0)
    with pytest.raises(NNBenchError, match="has no parameter 'gain'"):
        initializer("torch", gain=1.0)
    with pytest.raises(NNBenchError, match="std"):
        MLP([2, 3, 1], init="normal", init_kwargs={"std": -1})
