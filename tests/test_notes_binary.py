"""``--binary weights|activations|both``: sign units trained with the straight-through
estimator (Hubara et al. 2016), checked against the forward and backward pass written out
by hand, and against finite differences of the network whose units are hardtanh (the
function whose derivative the estimator takes) where every |z| < 1."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from nnbench.cli import app
from nnbench.config import RunConfig, resolve
from nnbench.core.errors import NNBenchError
from nnbench.core.mlp import MLP


def _sign(v):
    return np.where(v >= 0, 1.0, -1.0)


def _softmax_ce_grad(out, y):
    p = np.exp(out - out.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    n = len(y)
    C = -np.log(p[np.arange(n), y]).mean()
    p[np.arange(n), y] -= 1
    return C, p / n


def _by_hand(params, X, y, weights: bool):
    """Forward with sign(z) units (and sign(W) when ``weights``), backward with the
    straight-through estimators 1[|z| <= 1] and 1[|W| <= 1]."""
    Ws = [params[i][0] for i in range(0, len(params), 2)]
    bs = [params[i][0] for i in range(1, len(params), 2)]
    used = [_sign(W) if weights else W for W in Ws]
    a, zs, acts = X, [], [X]
    for W, b in zip(used[:-1], bs[:-1], strict=True):
        z = a @ W + b
        zs.append(z)
        a = _sign(z)
        acts.append(a)
    out = a @ used[-1] + bs[-1]
    C, d = _softmax_ce_grad(out, y)
    grads = [None] * len(params)
    for l in range(len(Ws) - 1, -1, -1):
        grads[2 * l] = acts[l].T @ d
        grads[2 * l + 1] = d.sum(axis=0, keepdims=True)
        if l:
            d = (d @ used[l].T) * (np.abs(zs[l - 1]) <= 1)
    if weights:
        grads = [g * (np.abs(p[0]) <= 1) if i % 2 == 0 else g
                 for i, (g, p) in enumerate(zip(grads, params, strict=True))]
    return C, grads


@pytest.mark.parametrize("mode", ["activations", "both"])
def test_sign_units_and_their_straight_through_gradient_by_hand(mode):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(9, 3))
    y = rng.integers(0, 2, size=9)
    net = MLP([3, 6, 5, 2], "relu", seed=1, dtype="float64", binary=mode)
    net.params = [p * 1.5 for p in net.params]
    out = net.forward(X)[0]
    C, grads = net.loss_and_grads(X, y, loss="softmax_cross_entropy")
    Ch, gh = _by_hand(net.params, X, y, weights=mode == "both")
    np.testing.assert_allclose(C[0], Ch, rtol=1e-12)
    for g, h in zip(grads, gh, strict=True):
        np.testing.assert_allclose(g[0], h, rtol=1e-12, atol=1e-15)
    hidden = net.last_pass.layers
    assert all(set(np.unique(layer.a)) <= {-1.0, 1.0} for layer in hidden)
    assert out.shape == (9, 2)


def test_the_estimator_is_the_gradient_of_hardtanh_where_no_unit_is_clipped():
    """With every |z| < 1, the straight-through gradient equals the true gradient of the
    network whose units are hardtanh(z) = z there: central differences of that network."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(6, 3)) * 0.3
    y = rng.integers(0, 2, size=6)
    net = MLP([3, 4, 2], "relu", seed=2, dtype="float64", binary="activations")
    net.params = [p * 0.5 for p in net.params]
    W1, b1, W2, b2 = (p[0] for p in net.params)
    assert (np.abs(X @ W1 + b1) < 1).all()
    _, grads = net.loss_and_grads(X, y, loss="softmax_cross_entropy")

    def hard_loss(p):  # hardtanh units, the forward pass still sign's for the output
        z = X @ p[0] + p[1]
        out = _sign(X @ W1 + b1) @ p[2] + p[3]
        return _softmax_ce_grad(out, y)[0], z

    # the output layer's gradient is exact (sign units are its inputs)
    eps = 1e-6
    for i in (2, 3):
        num = np.zeros_like(net.params[i][0])
        for idx in np.ndindex(num.shape):
            p = [q[0].copy() for q in net.params]
            p[i][idx] += eps
            up = hard_loss(p)[0]
            p[i][idx] -= 2 * eps
            num[idx] = (up - hard_loss(p)[0]) / (2 * eps)
        np.testing.assert_allclose(grads[i][0], num, rtol=1e-6, atol=1e-9)

    # the hidden layer's: d(out)/dz through hardtanh' = 1, i.e. the linear surrogate
    def surrogate(p):
        out = (X @ p[0] + p[1]) @ W2 + b2
        return _softmax_ce_grad(out + (_sign(X @ W1 + b1) - (X @ W1 + b1)) @ W2, y)[0]

    for i in (0, 1):
        num = np.zeros_like(net.params[i][0])
        for idx in np.ndindex(num.shape):
            p = [q[0].copy() for q in net.params]
            p[i][idx] += eps
            up = surrogate(p)
            p[i][idx] -= 2 * eps
            num[idx] = (up - surrogate(p)) / (2 * eps)
        np.testing.assert_allclose(grads[i][0], num, rtol=1e-6, atol=1e-9)


def test_true_is_binary_weights_and_bad_modes_are_refused():
    assert MLP([2, 3, 2], binary=True).binary == "weights"
    assert resolve(RunConfig(task="moons", binary=True)).binary == "weights"
    with pytest.raises(NNBenchError, match="binary must be one of"):
        resolve(RunConfig(task="moons", binary="yes"))
    with pytest.raises(NNBenchError, match="binary activations act on hidden units"):
        resolve(RunConfig(task="moons", depth=0, act="identity", binary="activations"))


def test_command_line_binary_activations(tmp_path):
    out = tmp_path / "b"
    res = CliRunner().invoke(app, ["run", "--task", "moons", "--binary", "both", "--width",
                                   "16", "--steps", "200", "--out", str(out), "--quiet",
                                   "--no-plot"])
    assert res.exit_code == 0, res.output
    row = pd.read_csv(out / "runs.csv").iloc[0]
    assert row["binary"] == "both" and row["final_train_acc"] > 0.75
    bad = CliRunner().invoke(app, ["run", "--task", "moons", "--binary", "half",
                                   "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "binary must be one of" in bad.output
