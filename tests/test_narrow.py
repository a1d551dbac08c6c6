"""The one-hidden-layer pass for few inputs and outputs (``MLP._narrow_loss_and_grads``)
against the general backprop, finite differences and a hand-written sigmoid; and the
``record`` switch that lets a pass's hidden layers go."""

from __future__ import annotations

import numpy as np
import pytest
from test_mlp import numerical_grads, relative_error, targets

from nnbench.core import mlp as mlp_module
from nnbench.core.activations import ACTIVATIONS, _sigmoid_of_negated, sigmoid
from nnbench.core.errors import NNBenchError
from nnbench.core.mlp import MLP
from nnbench.core.narrow import takes_narrow

NARROW_ACTS = [n for n in ACTIVATIONS.names() if n not in ("step", "prelu")]
# (inputs, outputs) with (inputs + 1) * outputs <= MLP.NARROW
SHAPES = [(1, 1), (2, 1), (3, 2), (1, 4)]


def _pair(sizes, act, runs, seed, **kw):
    """Two copies of one randomized net: the first takes the narrow pass, the second the
    general one (``NARROW = 0`` on the instance)."""
    rng = np.random.default_rng(seed)
    net = MLP(sizes, activation=act, seed=seed, runs=runs, dtype="float64", **kw)
    net.params = [p + rng.normal(0, 0.4, size=p.shape) for p in net.params]
    plain = MLP(sizes, activation=act, seed=seed, runs=runs, dtype="float64", **kw)
    plain.params = [p.copy() for p in net.params]
    plain.NARROW = 0
    return net, plain


@pytest.mark.parametrize("act", NARROW_ACTS)
@pytest.mark.parametrize(("k_in", "k_out"), SHAPES)
def test_narrow_pass_equals_general_backprop(act, k_in, k_out, monkeypatch):
    calls = []
    original = mlp_module.narrow_loss_and_grads
    monkeypatch.setattr(mlp_module, "narrow_loss_and_grads",
                        lambda *a: calls.append(1) or original(*a))
    for loss in (["mse", "half_sse"] + (["bce_with_logits"] if k_out == 1 else [])
                 + (["softmax_cross_entropy", "hinge"] if k_out >= 2 else [])):
        for shared in (True, False):
            runs = 3
            net, plain = _pair([k_in, 7, k_out], act, runs, seed=k_in * 10 + k_out)
            rng = np.random.default_rng(1)
            X = rng.normal(size=(11, k_in) if shared else (runs, 11, k_in)) * 2
            Y = targets(loss, rng, 11, k_out, None if shared else runs)
            before = len(calls)
            C1, g1 = net.loss_and_grads(X, Y, loss=loss, train=False)
            assert len(calls) == before + 1  # the narrow pass ran
            C2, g2 = plain.loss_and_grads(X, Y, loss=loss, train=False)
            assert len(calls) == before + 1  # and the plain one did not take it
            np.testing.assert_allclose(C1, C2, rtol=1e-12)
            for a, b in zip(g1, g2, strict=True):
                assert a.shape == b.shape and a.dtype == b.dtype
                np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13 * np.abs(b).max())
            s1, s2 = net.layer_stats(), plain.layer_stats()
            for d1, d2 in zip(s1, s2, strict=True):
                assert d1.keys() == d2.keys()
                for key in d1:
                    np.testing.assert_array_equal(d1[key], d2[key])


@pytest.mark.parametrize("kw", [{"l2": 0.3}, {"binary": True}])
def test_narrow_pass_with_l2_and_binary_weights(kw):
    net, plain = _pair([2, 5, 1], "tanh", 2, seed=3, **kw)
    rng = np.random.default_rng(2)
    X, Y = rng.normal(size=(9, 2)), rng.normal(size=(9, 1))
    C1, g1 = net.loss_and_grads(X, Y)
    C2, g2 = plain.loss_and_grads(X, Y)
    np.testing.assert_allclose(C1, C2, rtol=1e-12)
    for a, b in zip(g1, g2, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("act", ["sigmoid", "tanh", "gelu", "softplus"])
def test_narrow_pass_matches_finite_differences(act):
    rng = np.random.default_rng(5)
    net, _ = _pair([1, 6, 1], act, 1, seed=4)
    X = rng.uniform(-3, 3, size=(9, 1))
    Y = np.sin(X)
    _, grads = net.loss_and_grads(X, Y)
    assert relative_error(grads, numerical_grads(net, X, Y, "mse", True, None)) < 1e-6


def test_narrow_pass_is_not_taken_where_it_cannot_be():
    wide = MLP([4, 5, 2])  # (4 + 1) * 2 > NARROW
    deep = MLP([1, 4, 4, 1])
    drop = MLP([1, 4, 1], dropout=0.5)
    rrelu = MLP([1, 4, 1], activation="rrelu")
    assert not takes_narrow(wide, True) and not takes_narrow(deep, True)
    assert not takes_narrow(drop, True) and takes_narrow(drop, False)
    assert not takes_narrow(rrelu, True) and takes_narrow(rrelu, False)
    assert not takes_narrow(MLP([1, 4, 1], activation="prelu"), True)
    assert takes_narrow(MLP([1, 100, 1]), True)


def test_narrow_sigmoid_float32_on_the_sin_example():
    """The notes' 1-100-1 network in float32 against the same pass in float64."""
    X = np.linspace(0, 6 * np.pi, 2000, dtype=np.float32)[:, None]
    Y = np.sin(X)
    net = MLP([1, 100, 1], runs=2, seed=[0, 1])
    wide = MLP([1, 100, 1], runs=2, seed=[0, 1], dtype="float64")
    wide.params = [p.astype(np.float64) for p in net.params]
    C32, g32 = net.loss_and_grads(X, Y)
    C64, g64 = wide.loss_and_grads(X.astype(np.float64), Y.astype(np.float64))
    assert all(g.dtype == np.float32 for g in g32) and C32.dtype == np.float32
    np.testing.assert_allclose(C32, C64, rtol=1e-5)
    for a, b in zip(g32, g64, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5 * np.abs(b).max())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_without_the_raise_gives_the_same_numbers(dtype):
    """Raising ``-z`` to -50 changes speed only: with and without it, bit for bit, and
    equal to :func:`sigmoid`, over the whole range (tails, overflow, exact 0 and 1)."""
    z = np.concatenate([np.linspace(-120, 120, 100001), [0.0, -1e4, 1e4, 50.0, -50.0]])
    z = z.astype(dtype)
    with_raise = _sigmoid_of_negated(-z, True)
    without = _sigmoid_of_negated(-z, False)
    np.testing.assert_array_equal(with_raise, without)
    np.testing.assert_array_equal(with_raise, sigmoid(z))
    act = ACTIVATIONS.create("sigmoid")
    np.testing.assert_array_equal(act.from_negated(-z, low=-1e4), sigmoid(z))
    np.testing.assert_array_equal(act.from_negated(-z, low=-20.0), sigmoid(z))
    np.testing.assert_array_equal(act.from_negated(-z, low=float("nan")), sigmoid(z))


def test_a_diverged_run_keeps_the_others_exact():
    """A run whose weights are NaN (its bound is NaN too) leaves the other runs of the
    group with the numbers they get alone, pre-activations far beyond 50 included."""
    X = np.linspace(0, 6 * np.pi, 300)[:, None]
    Y = np.sin(X)
    group = MLP([1, 9, 1], runs=2, seed=[0, 1], dtype="float64")
    group.params = [p * 80 for p in group.params]  # pre-activations far beyond 50
    alone = MLP([1, 9, 1], seed=[0], dtype="float64")
    alone.params = [p[:1].copy() for p in group.params]
    group.params[0][1] = np.nan
    C, grads = group.loss_and_grads(X, Y)
    C1, grads1 = alone.loss_and_grads(X, Y)
    assert np.isnan(C[1]) and C[0] == C1[0]
    for g, g1 in zip(grads, grads1, strict=True):
        np.testing.assert_array_equal(g[:1], g1)


def test_record_false_forgets_the_hidden_layers_and_changes_no_number():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(20, 3)), rng.normal(size=(20, 2))
    for sizes in ([3, 5, 2], [3, 5, 4, 2]):
        kept = MLP(sizes, runs=2, dtype="float64")
        lean = MLP(sizes, runs=2, dtype="float64")
        lean.record = False
        C1, g1 = kept.loss_and_grads(X, Y)
        C2, g2 = lean.loss_and_grads(X, Y)
        np.testing.assert_array_equal(C1, C2)
        for a, b in zip(g1, g2, strict=True):
            np.testing.assert_array_equal(a, b)
        assert lean.last_pass is None
        with pytest.raises(NNBenchError, match="record"):
            lean.layer_stats()
        assert len(kept.layer_stats()) == len(sizes) - 2
        lean.record = True
        lean.loss_and_grads(X, Y)
        assert len(lean.layer_stats()) == len(sizes) - 2
