"""Losses: values against per-sample formulas written with Python's math module, gradients
against finite differences, stability of the logit losses, label checks."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from nnbench.core.errors import NNBenchError, UnknownNameError
from nnbench.core.losses import LOSSES, loss_fn


def _lse(row) -> float:
    c = max(row)
    return c + math.log(sum(math.exp(v - c) for v in row))


def _per_sample(name: str, x, y) -> float:
    """The loss of one sample, straight from its definition (torch's for the named ones)."""
    if name == "mse":
        return sum((a - b) ** 2 for a, b in zip(x, y, strict=True)) / len(x)
    if name == "half_sse":
        return 0.5 * sum((a - b) ** 2 for a, b in zip(x, y, strict=True))
    if name == "bce":  # notes 001: summed over the outputs a_j in (0, 1)
        return -sum(t * math.log(a) + (1 - t) * math.log(1 - a)
                    for a, t in zip(x, y, strict=True))
    if name == "bce_with_logits":
        p = 1.0 / (1.0 + math.exp(-x[0]))
        return -(y * math.log(p) + (1 - y) * math.log(1 - p))
    if name == "sigmoid_mse":  # the notes' 1/2 (y - h)^2, h = sigmoid(x)
        return 0.5 * (y - 1.0 / (1.0 + math.exp(-x[0]))) ** 2
    if name == "perceptron":  # max(0, -t x), t = 2 y - 1
        return max(0.0, -(2 * y - 1) * x[0])
    if name == "softmax_cross_entropy":
        return -math.log(math.exp(x[y]) / sum(math.exp(v) for v in x))
    if name == "hinge":  # torch.nn.MultiMarginLoss(p=1, margin=1)
        return sum(max(0.0, 1.0 - x[y] + x[j]) for j in range(len(x)) if j != y) / len(x)
    raise KeyError(name)


K = {"mse": 3, "half_sse": 3, "bce": 3, "bce_with_logits": 1, "sigmoid_mse": 1, "perceptron": 1,
     "softmax_cross_entropy": 4, "hinge": 4}


def _data(name: str, rng, runs=2, n=6, shared=False):
    k = K[name]
    out = rng.normal(0, 2, size=(runs, n, k))
    lead = () if shared else (runs,)
    if name == "bce":  # sigmoid outputs in (0, 1), targets in [0, 1]
        return rng.uniform(0.05, 0.95, size=out.shape), rng.uniform(size=lead + (n, k))
    if LOSSES.create(name).takes_labels:
        Y = rng.integers(0, max(k, 2), size=lead + (n,))
    else:
        Y = rng.normal(size=lead + (n, k))
    return out, Y


@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("name", LOSSES.names())
def test_value_is_the_mean_of_the_per_sample_loss(name, shared):
    out, Y = _data(name, np.random.default_rng(0), shared=shared)
    C, grad = loss_fn(name)(out, Y)
    Yr = np.broadcast_to(Y, out.shape[:2] + Y.shape[1:]) if shared else Y
    expected = [
        np.mean([_per_sample(name, list(out[r, i]), Yr[r, i].tolist()) for i in range(6)])
        for r in range(2)
    ]
    np.testing.assert_allclose(C, expected, rtol=1e-12)
    assert grad.shape == out.shape


@pytest.mark.parametrize("name", LOSSES.names())
def test_gradient_matches_finite_differences(name):
    rng = np.random.default_rng(1)
    out, Y = _data(name, rng)
    loss = loss_fn(name)
    _, grad = loss(out, Y)
    h = 1e-6
    numeric = np.zeros_like(out)
    for idx in np.ndindex(out.shape):
        plus, minus = out.copy(), out.copy()
        plus[idx] += h
        minus[idx] -= h
        numeric[idx] = (loss(plus, Y)[0][idx[0]] - loss(minus, Y)[0][idx[0]]) / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


def test_mse_and_half_sse_differ_by_the_output_count():
    out, Y = _data("mse", np.random.default_rng(2))
    mse, _ = loss_fn("mse")(out, Y)
    half, _ = loss_fn("half_sse")(out, Y)
    np.testing.assert_allclose(half, mse * K["mse"] / 2, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logit_losses_are_stable(dtype):
    """Log-sum-exp and the stable BCE form: exact, finite and quiet at logits of 1e4."""
    out = np.array([[[1e4, 0.0, -1e4], [-1e4, 1e4, 0.0]]], dtype=dtype)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise",
                                                divide="raise", under="ignore"):
        warnings.simplefilter("error")
        C, g = loss_fn("softmax_cross_entropy")(out, np.array([0, 0]))
        np.testing.assert_allclose(C, [(0.0 + 2e4) / 2], rtol=1e-6)
        np.testing.assert_allclose(g[0, 1], [-0.5, 0.5, 0.0], atol=1e-7)
        assert C.dtype == dtype and g.dtype == dtype
        logits = np.array([[[1e4], [-1e4], [1e4]]], dtype=dtype)
        C, g = loss_fn("bce_with_logits")(logits, np.array([1, 0, 0]))
        np.testing.assert_allclose(C, [1e4 / 3], rtol=1e-6)
        np.testing.assert_allclose(g[0, :, 0], [0.0, 0.0, 1 / 3], atol=1e-7)


def test_hinge_is_zero_beyond_the_margin_and_predicts_argmax():
    out = np.array([[[3.0, 1.5, 0.0], [0.0, 0.5, 1.0]]])
    C, g = loss_fn("hinge")(out, np.array([0, 2]))
    # sample 0 beyond the margin; sample 1: max(0, 1-1+0) + max(0, 1-1+0.5) = 0.5, over k=3
    np.testing.assert_allclose(C, [(0.0 + 0.5 / 3) / 2])
    np.testing.assert_allclose(g[0, 0], 0.0)
    np.testing.assert_allclose(g[0, 1], [0.0, 1 / 6, -1 / 6])
    np.testing.assert_array_equal(loss_fn("hinge").predict(out), [[0, 2]])


def test_attributes_for_the_engine():
    kinds = {e.name: (LOSSES.create(e.name).kind, LOSSES.create(e.name).takes_labels)
             for e in LOSSES}
    assert kinds == {
        "mse": ("regression", False),
        "half_sse": ("regression", False),
        "bce": ("classification", False),
        "bce_with_logits": ("classification", True),
        "sigmoid_mse": ("classification", True),
        "perceptron": ("classification", True),
        "softmax_cross_entropy": ("classification", True),
        "hinge": ("classification", True),
    }
    out = np.array([[[0.3, -1.0], [-0.2, 4.0]]])
    np.testing.assert_array_equal(loss_fn("softmax_cross_entropy").predict(out), [[0, 1]])
    np.testing.assert_array_equal(loss_fn("bce_with_logits").predict(out[..., :1]), [[1, 0]])
    with pytest.raises(NNBenchError, match="regression"):
        loss_fn("mse").predict(out)


def test_bad_targets():
    out = np.zeros((2, 5, 3))
    with pytest.raises(NNBenchError, match=r"\(5, 3\) or \(2, 5, 3\)"):
        loss_fn("mse")(out, np.zeros((5, 2)))
    with pytest.raises(NNBenchError, match=r"\(5,\) or \(2, 5\)"):
        loss_fn("softmax_cross_entropy")(out, np.zeros((5, 3)))
    with pytest.raises(NNBenchError, match="integer class labels"):
        loss_fn("softmax_cross_entropy")(out, np.full(5, 0.5))
    with pytest.raises(NNBenchError, match=r"\[0, 2\]"):
        loss_fn("hinge")(out, np.array([0, 1, 2, 3, 0]))
    with pytest.raises(NNBenchError, match="1 output"):
        loss_fn("bce_with_logits")(out, np.zeros(5, dtype=int))
    with pytest.raises(NNBenchError, match=r"\[0, 1\]"):
        loss_fn("bce_with_logits")(np.zeros((1, 3, 1)), np.array([0, 1, 2]))
    with pytest.raises(UnknownNameError, match="did you mean 'hinge'"):
        loss_fn("hinje")
