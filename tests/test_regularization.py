"""Regularization and the notes' layer variants: L2 and maxout gradients against finite
differences, dropout's expectation and its equality with the notes' (1 - p) weight scaling,
binary weights in the forward pass with straight-through gradients, and the engine's view."""

from __future__ import annotations

import numpy as np
import pytest

from nnbench.config import RunConfig, resolve
from nnbench.core.errors import NNBenchError
from nnbench.core.mlp import MLP
from nnbench.engine import ListSink, train_group


def _data(n=7, d=3, k=2, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(size=(n, k))


def _fd(net: MLP, X, Y, loss="mse", eps=1e-6, reseed=None) -> list[np.ndarray]:
    """Central differences of the training loss (runs summed) for every parameter."""
    out = []
    for p in net.params:
        g = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            vals = []
            for h in (eps, -eps):
                p[idx] = old + h
                if reseed:
                    reseed()
                vals.append(net.loss_and_grads(X, Y, loss=loss)[0].sum())
            p[idx] = old
            g[idx] = (vals[0] - vals[1]) / (2 * eps)
        out.append(g)
    return out


def _check(net, X, Y, loss="mse", reseed=None):
    if reseed:
        reseed()
    _, grads = net.loss_and_grads(X, Y, loss=loss)
    for g, f in zip(grads, _fd(net, X, Y, loss, reseed=reseed), strict=True):
        np.testing.assert_allclose(g, f, rtol=1e-6, atol=1e-8)


# --------------------------------------------------------------------------- L2


def test_l2_gradients_match_finite_differences():
    X, Y = _data()
    net = MLP([3, 5, 4, 2], "tanh", seed=0, runs=2, dtype="float64", l2=0.3)
    _check(net, X, Y)


def test_l2_penalizes_the_weights_not_the_biases():
    X, Y = _data()
    plain = MLP([3, 5, 2], "tanh", seed=4, dtype="float64")
    reg = MLP([3, 5, 2], "tanh", seed=4, dtype="float64", l2=0.25)
    C0, g0 = plain.loss_and_grads(X, Y)
    C1, g1 = reg.loss_and_grads(X, Y)
    sq = sum(float(np.sum(W ** 2)) for W in plain.weights)
    assert C1[0] == pytest.approx(C0[0] + 0.5 * 0.25 * sq, rel=1e-12)
    for i, (a, b) in enumerate(zip(g0, g1, strict=True)):
        if i % 2:  # biases: untouched
            np.testing.assert_array_equal(a, b)
        else:  # weights: + lambda W
            np.testing.assert_allclose(b, a + 0.25 * plain.params[i], rtol=1e-12)


# --------------------------------------------------------------------------- maxout


def test_maxout_forward_is_the_max_of_its_pieces():
    X, _ = _data()
    net = MLP([3, 4, 2], "maxout", seed=1, dtype="float64", pieces=3)
    W1, b1, W2, b2 = (p[0] for p in net.params)
    assert W1.shape == (3, 12)
    z = X @ W1 + b1
    a = np.array([[max(z[i, 3 * j:3 * j + 3]) for j in range(4)] for i in range(len(X))])
    np.testing.assert_allclose(net.forward(X)[0], a @ W2 + b2, rtol=1e-12)


@pytest.mark.parametrize("pieces", [2, 3])
def test_maxout_gradients_match_finite_differences(pieces):
    X, Y = _data()
    net = MLP([3, 4, 3, 2], "maxout", seed=2, runs=2, dtype="float64", pieces=pieces)
    _check(net, X, Y)


def test_maxout_from_the_engine():
    cfg = resolve(RunConfig(task="xor", act="maxout", pieces=3, steps=5, dtype="float64",
                            run_id="r"))
    res = train_group([cfg])
    assert res.runs[0].weights[0].shape == (1, 2, 4 * 3)  # xor's width 4, three pieces
    assert np.isfinite(res.runs[0].final_train_loss)


# --------------------------------------------------------------------------- dropout


def _reseeder(net: MLP):
    seeds = list(net.seeds)

    def reseed():
        net.rngs = [np.random.default_rng(np.random.SeedSequence(s)) for s in seeds]

    return reseed


def test_dropout_gradients_match_finite_differences_for_a_fixed_mask():
    X, Y = _data()
    net = MLP([3, 6, 5, 2], "sigmoid", seed=3, runs=2, dtype="float64", dropout=0.4)
    _check(net, X, Y, reseed=_reseeder(net))


def test_dropout_keeps_units_with_probability_1_minus_p_scaled_by_its_inverse():
    net = MLP([3, 200, 1], "relu", seed=0, runs=3, dtype="float64", dropout=0.3)
    net.forward(np.ones((50, 3)), train=True)
    m = net.last_pass.layers[0].mask
    assert set(np.unique(m)) == {0.0, 1 / 0.7}
    assert abs((m > 0).mean() - 0.7) < 0.01  # 30000 draws: 5 standard errors
    assert not np.array_equal(m[0], m[1])  # every run draws its own mask


def test_dropout_is_off_at_evaluation():
    X, _ = _data()
    net = MLP([3, 6, 2], "tanh", seed=0, dtype="float64", dropout=0.5)
    plain = MLP([3, 6, 2], "tanh", seed=0, dtype="float64")
    np.testing.assert_array_equal(net.forward(X), plain.forward(X))
    assert not np.allclose(net.forward(X, train=True), plain.forward(X))


def test_dropout_in_expectation_is_the_evaluation_network():
    """E[out_train] = out_eval: the output layer is linear in the dropped-out a^1."""
    X, _ = _data(n=3)
    net = MLP([3, 8, 2], "tanh", seed=5, dtype="float64", dropout=0.5)
    draws = np.stack([net.forward(X, train=True)[0] for _ in range(4000)])
    mean, se = draws.mean(0), draws.std(0) / np.sqrt(len(draws))
    assert np.all(np.abs(mean - net.forward(X)[0]) < 5 * se)


def test_inverted_dropout_is_the_notes_scaling_of_the_weights_by_1_minus_p():
    """Training with a^1 m / (1 - p) and weights W is the notes' dropout (a^1 m, no scaling)
    with weights W' = W / (1 - p); at test time the notes use (1 - p) W' = W, which is our
    evaluation network."""
    p = 0.3
    X, _ = _data()
    net = MLP([3, 6, 2], "sigmoid", seed=6, dtype="float64", dropout=p)
    W1, b1, W2, b2 = (q[0] for q in net.params)
    W2_notes = W2 / (1 - p)
    out = net.forward(X, train=True)[0]
    m = (net.last_pass.layers[0].mask[0] > 0).astype(float)  # the units kept in that pass
    a1 = 1 / (1 + np.exp(-(X @ W1 + b1)))
    np.testing.assert_allclose(out, (a1 * m) @ W2_notes + b2, rtol=1e-12)
    np.testing.assert_allclose(net.forward(X)[0], a1 @ ((1 - p) * W2_notes) + b2, rtol=1e-12)


def test_a_dropout_run_in_a_group_equals_the_run_alone():
    kw = dict(task="xor", dropout=0.5, width=8, steps=10, dtype="float64", log_every=1)
    group = train_group([resolve(RunConfig(seed=s, run_id=f"s{s}", **kw)) for s in (0, 1, 2)])
    alone = train_group([resolve(RunConfig(seed=1, run_id="s1", **kw))])
    for a, b in zip(group.runs[1].weights, alone.runs[0].weights, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10)


# --------------------------------------------------------------------------- binary


def test_binary_forward_pass_uses_only_plus_minus_one():
    X, _ = _data()
    net = MLP([3, 5, 2], "tanh", seed=0, dtype="float64", binary=True)
    out = net.forward(X)[0]
    for Wb in net.last_pass.weights:
        assert set(np.unique(Wb)) <= {-1.0, 1.0}
    W1, b1, W2, b2 = (q[0] for q in net.params)
    sign = lambda W: np.where(W >= 0, 1.0, -1.0)  # noqa: E731
    np.testing.assert_allclose(out, np.tanh(X @ sign(W1) + b1) @ sign(W2) + b2, rtol=1e-12)
    net.params[0][...] = 0.0  # sign(0) = +1
    assert np.all(net.forward(X)[0] == np.tanh(X.sum(1, keepdims=True) + b1) @ sign(W2) + b2)


def test_binary_gradients_are_straight_through():
    """dC/dW (shadow) = dC/dW_b of the network with the binarized weights, where |W| <= 1."""
    X, Y = _data()
    net = MLP([3, 5, 2], "tanh", seed=0, dtype="float64", binary=True)
    net.params[0][0, 0, :3] = [1.5, -2.0, 0.9]  # some shadow weights outside [-1, 1]
    _, grads = net.loss_and_grads(X, Y)
    twin = MLP([3, 5, 2], "tanh", seed=0, dtype="float64")
    twin.params = [np.where(q >= 0, 1.0, -1.0) if i % 2 == 0 else q.copy()
                   for i, q in enumerate(net.params)]
    _, g_twin = twin.loss_and_grads(X, Y)
    for i, (g, gt) in enumerate(zip(grads, g_twin, strict=True)):
        expected = gt * (np.abs(net.params[i]) <= 1) if i % 2 == 0 else gt
        np.testing.assert_allclose(g, expected, rtol=1e-12)
    assert np.all(grads[0][0, 0, :2] == 0) and grads[0][0, 0, 2] != 0


def test_a_binary_network_trains_from_the_cli_config():
    cfg = resolve(RunConfig(task="moons", binary=True, act="tanh", steps=60, run_id="r"))
    res = train_group([cfg])
    assert res.runs[0].final_train_acc > 0.7


# --------------------------------------------------------------------------- engine


def test_the_logged_training_loss_includes_the_penalty():
    cfg = resolve(RunConfig(task="sin-small", task_kw={"n_points": 32}, width=4, steps=3,
                            dtype="float64", l2=0.5, log_every=1, run_id="r"))
    sink = ListSink()
    train_group([cfg], sink=sink)
    from nnbench.tasks import get_task

    data = get_task("sin-small", n_points=32).load(seed=0, dtype="float64")
    net = MLP([1, 4, 1], cfg.act, seed=[0], dtype="float64")
    data_loss = np.mean((net.forward(data.X_train)[0] - data.y_train) ** 2)
    penalty = 0.25 * sum(np.sum(W ** 2) for W in net.weights)
    first = [m for m in sink.metrics if m["step"] == 0][0]
    assert first["train_loss"] == pytest.approx(data_loss + penalty, rel=1e-12)


def test_bad_rates_are_refused():
    with pytest.raises(NNBenchError, match="dropout"):
        MLP([2, 3, 1], dropout=1.0)
    with pytest.raises(NNBenchError, match="l2"):
        MLP([2, 3, 1], l2=-0.1)
    with pytest.raises(NNBenchError, match="pieces"):
        MLP([2, 3, 1], "maxout", pieces=1)


@pytest.mark.parametrize("extra", [["--binary", "weights", "--act", "tanh"], ["--act", "maxout",
                                                                  "--pieces", "3"]])
def test_figures_rebuild_binary_and_maxout_networks(tmp_path, extra):
    """The decision-region figure's network gives the engine's test accuracy."""
    import pandas as pd

    from nnbench import plots
    from nnbench.cli import _main
    from nnbench.tasks import get_task

    out = tmp_path / "res"
    assert _main(["run", "--task", "moons", "--steps", "30", "--dtype", "float64", "--out",
                  str(out), "--quiet", "--no-plot", *extra]) == 0
    res = plots.load(out)
    row = pd.read_csv(out / "runs.csv").iloc[0]
    net = plots.load_model(res, str(row["run_id"]))
    data = get_task("moons").load(seed=0, dtype="float64")
    acc = (net.forward(data.X_test)[0].argmax(1) == data.y_test).mean()
    assert acc == pytest.approx(row["final_test_acc"])
    assert net.binary == ("weights" if "--binary" in extra else None)
