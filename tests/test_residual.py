"""Residual hidden layers, ``h^l = h^(l-1) + f(z^l)``: the forward pass written out by hand,
gradients against central differences (also with dropout's masks held fixed, maxout and a
PReLU's slopes), and nothing changed without ``residual``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_regularization import _check, _data, _reseeder

from nnbench.core.mlp import MLP


def _net(sizes, act="tanh", seed=0, **kw):
    net = MLP(sizes, act, seed=seed, dtype="float64", residual=True, **kw)
    rng = np.random.default_rng(seed + 1)
    net.params = [p + rng.normal(0, 0.3, size=p.shape) for p in net.params]
    return net


def test_forward_adds_each_equal_width_hidden_layer_to_its_input():
    X, _ = _data(d=3)
    net = _net([3, 4, 4, 5, 5, 2], "relu")
    W1, b1, W2, b2, W3, b3, W4, b4, W5, b5 = (p[0] for p in net.params)
    relu = lambda z: np.maximum(z, 0)  # noqa: E731
    h1 = relu(X @ W1 + b1)  # 3 -> 4: no skip (the first hidden layer)
    h2 = h1 + relu(h1 @ W2 + b2)  # 4 -> 4: residual
    h3 = relu(h2 @ W3 + b3)  # 4 -> 5: widths differ, no skip
    h4 = h3 + relu(h3 @ W4 + b4)  # 5 -> 5: residual
    np.testing.assert_allclose(net.forward(X)[0], h4 @ W5 + b5, rtol=1e-13)
    plain = MLP(net.sizes, "relu", dtype="float64")
    plain.params = [p.copy() for p in net.params]
    assert not np.allclose(plain.forward(X)[0], h4 @ W5 + b5)


@pytest.mark.parametrize("act", ["sigmoid", "tanh", "softplus", "elu", "gelu"])
@pytest.mark.parametrize("loss", ["mse", "softmax_cross_entropy"])
def test_residual_gradients_match_finite_differences(act, loss):
    X, Y = _data(d=3, k=2)
    if loss == "softmax_cross_entropy":
        Y = np.array([0, 1, 1, 0, 1, 0, 0])
    _check(_net([3, 4, 4, 4, 2], act), X, Y, loss=loss)


def test_residual_with_dropout_maxout_and_prelu_slopes():
    X, Y = _data(d=3, k=2)
    drop = _net([3, 5, 5, 2], "tanh", dropout=0.3, seed=3)
    _check(drop, X, Y, reseed=_reseeder(drop))
    _check(_net([3, 4, 4, 2], "maxout", pieces=3, seed=4), X, Y)
    _check(_net([3, 4, 4, 2], "prelu", seed=5), X, Y)


def test_residual_network_equals_itself_on_the_runs_axis():
    X, Y = _data(d=3, k=2)
    group = MLP([3, 6, 6, 2], "sigmoid", seed=[4, 5, 6], runs=3, dtype="float64",
                residual=True)
    alone = MLP([3, 6, 6, 2], "sigmoid", seed=[5], dtype="float64", residual=True)
    Cg, gg = group.loss_and_grads(X, Y)
    Ca, ga = alone.loss_and_grads(X, Y)
    np.testing.assert_allclose(Cg[1:2], Ca, rtol=1e-13)
    for a, b in zip(gg, ga, strict=True):
        np.testing.assert_allclose(a[1:2], b, rtol=1e-12)


REFERENCE = Path(__file__).parent / "reference" / "residual.npz"


@pytest.mark.parametrize("act", ["relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("case", ["a", "b"])
def test_residual_matches_pytorch_autograd(act, case):
    """tests/reference/make_residual_fixture.py: MNIST-1D's residual MLP in torch."""
    with np.load(REFERENCE, allow_pickle=False) as ref:
        get = {k[len(f"{act}_{case}_"):]: ref[k] for k in ref.files
               if k.startswith(f"{act}_{case}_")}
    sizes = [int(s) for s in get["sizes"]]
    loss = "mse" if get["Y"].dtype.kind == "f" else "softmax_cross_entropy"
    net = MLP(sizes, act, dtype="float64", residual=True)
    net.params = [get[f"p{i}"][None] for i in range(len(net.params))]
    C, grads = net.loss_and_grads(get["X"], get["Y"], loss=loss)
    np.testing.assert_allclose(C[0], get["loss"], rtol=1e-12)
    for i, g in enumerate(grads):
        np.testing.assert_allclose(g[0], get[f"g{i}"], rtol=1e-10, atol=1e-14)
