"""Optimizers against torch.optim fixtures, closed forms and the runs-axis invariant.

The fixtures come from tests/reference/make_optim_fixtures.py (PyTorch 2.13); these
tests do not need torch.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnbench
from nnbench.core.errors import NNBenchError, UnknownNameError
from nnbench.core.mlp import MLP
from nnbench.core.optimizers import (
    OPTIMIZERS,
    clip_grad_norm,
    hyperparameter_names,
    optimizer,
)

REF = Path(__file__).parent / "reference"
TORCH_NAMES = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw",
               "nadam", "radam", "adamax", "adadelta"]
RTOL, ATOL = 1e-6, 1e-12


def _load(name: str) -> dict[str, np.ndarray]:
    with np.load(REF / f"optim_{name}.npz", allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def _cases() -> list[tuple[str, int]]:
    out = []
    for name in TORCH_NAMES:
        n = sum(1 for k in _load(name) if k.endswith("_hypers"))
        out += [(name, j) for j in range(n)]
    return out


def _hypers(data, j: int) -> dict:
    return json.loads(str(data[f"c{j}_hypers"]))


def _assert_close(actual, expected, what: str) -> None:
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL, err_msg=what)


def run_sequence(opt, p0, grads, snaps, dtype=np.float64):
    """Run ``opt`` on one run (R = 1) through the fixed gradient sequence; return the
    parameters at the steps ``snaps``."""
    params = [np.array(p, dtype=dtype)[None] for p in p0]
    state = opt.init(params)
    out = {0: [p[0].copy() for p in params]}
    for t in range(int(snaps[-1])):
        opt.update(params, [np.asarray(g[t], dtype=dtype)[None] for g in grads], state)
        if t + 1 in snaps:
            out[t + 1] = [p[0].copy() for p in params]
    return [np.stack([out[int(s)][i] for s in snaps]) for i in range(len(p0))]


@pytest.fixture(scope="module")
def sequence():
    with np.load(REF / "optim_grads.npz", allow_pickle=False) as f:
        n = sum(1 for k in f.files if k.startswith("p"))
        return [f[f"p{i}"] for i in range(n)], [f[f"g{i}"] for i in range(n)]


@pytest.fixture(scope="module")
def mlp_data():
    with np.load(REF / "optim_mlp.npz", allow_pickle=False) as f:
        n = sum(1 for k in f.files if k.startswith("p"))
        return f["X"], f["Y"], [f[f"p{i}"] for i in range(n)]


# --------------------------------------------------------------------------- torch parity


@pytest.mark.parametrize("name, j", _cases())
def test_fixed_gradient_sequence_matches_torch(name, j, sequence):
    data = _load(name)
    p0, grads = sequence
    opt = optimizer(name, **_hypers(data, j))
    got = run_sequence(opt, p0, grads, data["seq_steps"])
    for i, g in enumerate(got):
        _assert_close(g, data[f"c{j}_seq_p{i}"], f"{name} {_hypers(data, j)} param {i}")


def run_mlp(opt, X, Y, p0, snaps, dtype="float64"):
    net = MLP([3, 8, 8, 2], activation="tanh", runs=1, dtype=dtype)
    for p, v in zip(net.params, p0, strict=True):
        p[...] = v
    state = opt.init(net.params)
    out, losses = {0: [p[0].copy() for p in net.params]}, []
    for t in range(int(snaps[-1])):
        loss, grads = net.loss_and_grads(X, Y, loss="mse")
        losses.append(loss[0])
        opt.update(net.params, grads, state)
        if t + 1 in snaps:
            out[t + 1] = [p[0].copy() for p in net.params]
    return [np.stack([out[int(s)][i] for s in snaps]) for i in range(len(p0))], losses


@pytest.mark.parametrize("name, j", _cases())
def test_mlp_training_matches_torch(name, j, mlp_data):
    data = _load(name)
    X, Y, p0 = mlp_data
    opt = optimizer(name, **_hypers(data, j))
    got, losses = run_mlp(opt, X, Y, p0, data["mlp_steps"])
    _assert_close(losses, data[f"c{j}_mlp_loss"], f"{name} c{j} loss")
    for i, g in enumerate(got):
        _assert_close(g, data[f"c{j}_mlp_p{i}"], f"{name} {_hypers(data, j)} param {i}")


def test_every_torch_fixture_has_three_hyperparameter_sets_and_200_steps():
    for name in TORCH_NAMES:
        data = _load(name)
        assert sum(k.endswith("_hypers") for k in data) >= 3, name
        assert data["seq_steps"][-1] >= 200 and data["mlp_steps"][-1] >= 200


def test_float32_stays_float32_and_follows_the_float64_fixture(sequence):
    data = _load("adam")
    p0, grads = sequence
    snaps = np.array([0, 10, 50])
    for name in OPTIMIZERS.names():
        opt = optimizer(name, lr=np.array([1e-3], dtype=np.float64))
        params = [np.array(p, dtype=np.float32)[None] for p in p0]
        state = opt.init(params)
        for t in range(3):
            opt.update(params, [np.float32(g[t])[None] for g in grads], state, lr=1e-3)
        assert all(p.dtype == np.float32 for p in params), name
        arrays = [a for v in _arrays(state) for a in v]
        assert all(a.dtype == np.float32 for a in arrays), name
    got = run_sequence(optimizer("adam", lr=1e-3), p0, grads, snaps, dtype=np.float32)
    ref = [data[f"c0_seq_p{i}"][[0, 10, 14]] for i in range(len(p0))]  # steps 0, 10, 50
    assert list(data["seq_steps"][[0, 10, 14]]) == [0, 10, 50]
    for g, r in zip(got, ref, strict=True):
        np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-5)


def _arrays(state):
    """The lists of arrays in a (possibly nested) optimizer state."""
    for v in vars(state).values():
        if isinstance(v, list) and v and isinstance(v[0], np.ndarray):
            yield v
        elif hasattr(v, "__dataclass_fields__"):
            yield from _arrays(v)


# --------------------------------------------------------------------------- runs axis


def _per_run_hypers(name: str, R: int) -> tuple[dict, list[dict]]:
    """Hyperparameters that differ between runs: as (R,) arrays, and run by run."""
    rng = np.random.default_rng(len(name))
    lr = OPTIMIZERS.get(name).defaults["lr"] * rng.uniform(0.5, 2.0, R)
    group = {"lr": lr}
    d = OPTIMIZERS.get("adam" if name == "lookahead" else name).defaults
    if "betas" in d:
        group["betas"] = (rng.uniform(0.7, 0.95, R), rng.uniform(0.9, 0.999, R))
    if name in ("momentum", "nesterov"):
        group["momentum"] = rng.uniform(0.5, 0.95, R)
    if name == "sgd":
        group["momentum"] = np.array([0.0, 0.5, 0.9][:R] + [0.3] * (R - 3))
        group["dampening"] = rng.uniform(0.0, 0.5, R)
    if "weight_decay" in d:
        group["weight_decay"] = rng.uniform(0.0, 0.05, R)
    for key in ("alpha", "rho"):
        if key in d and name != "lookahead":
            group[key] = rng.uniform(0.8, 0.99, R)
    for key in ("eps", "lr_decay", "final_lr", "gamma", "momentum_decay",
                "initial_accumulator_value"):
        if key in d and name != "lookahead":
            group[key] = d[key] * rng.uniform(0.5, 1.5, R) if d[key] else rng.uniform(0, .1, R)
    if name == "rmsprop":
        group["momentum"] = np.array([0.0, 0.5, 0.9][:R])
        group["centered"] = True
    if name == "lookahead":
        group["alpha"] = rng.uniform(0.2, 1.0, R)
        group["k"] = 3
    singles = []
    for r in range(R):
        one = {}
        for k, v in group.items():
            if isinstance(v, tuple):
                one[k] = tuple(float(x[r]) for x in v)
            elif isinstance(v, np.ndarray):
                one[k] = float(v[r])
            else:
                one[k] = v
        singles.append(one)
    return group, singles


def _grads_of(params, t):
    """Gradients that depend on the parameters (a quadratic bowl) plus a drift over t."""
    return [np.sin(p + 0.1 * t) + 0.5 * p for p in params]


def _side_by_side(oa, ob, p0, steps, lr_a=None):
    """The parameters two optimizers reach from ``p0`` in ``steps`` steps of
    :func:`_grads_of` (``lr_a`` overriding the first one's learning rate)."""
    a, b = [p0.copy()], [p0.copy()]
    sa, sb = oa.init(a), ob.init(b)
    for t in range(steps):
        oa.update(a, _grads_of(a, t), sa, lr=lr_a)
        ob.update(b, _grads_of(b, t), sb)
    return a[0], b[0]


@pytest.mark.parametrize("name", OPTIMIZERS.names())
def test_a_group_of_runs_equals_the_runs_one_by_one(name):
    R, steps = 3, 25
    rng = np.random.default_rng(7)
    shapes = [(R, 4, 3), (R, 1, 3), (R, 2)]
    p0 = [rng.normal(size=s) for s in shapes]
    group_h, singles = _per_run_hypers(name, R)
    group = [p.copy() for p in p0]
    opt = optimizer(name, **group_h)
    state = opt.init(group)
    for t in range(steps):
        opt.update(group, _grads_of(group, t), state)
    for r in range(R):
        one = [p[r : r + 1].copy() for p in p0]
        o = optimizer(name, **singles[r])
        s = o.init(one)
        for t in range(steps):
            o.update(one, _grads_of(one, t), s)
        for a, b in zip(group, one, strict=True):
            np.testing.assert_allclose(a[r : r + 1], b, rtol=1e-10, atol=1e-14)


@settings(max_examples=30, deadline=None)
@given(
    name=st.sampled_from(["sgd", "momentum", "adagrad", "rmsprop", "adam", "nadam", "radam",
                          "adamax", "adadelta", "adabound", "swats", "lookahead"]),
    R=st.integers(1, 4),
    dims=st.lists(st.lists(st.integers(1, 3), min_size=0, max_size=3), min_size=1,
                  max_size=3),
    seed=st.integers(0, 2**16),
)
def test_per_run_hyperparameters_broadcast_over_any_parameter_shape(name, R, dims, seed):
    rng = np.random.default_rng(seed)
    p0 = [rng.normal(size=(R, *d)) for d in dims]
    lr = OPTIMIZERS.get(name).defaults["lr"] * rng.uniform(0.5, 2.0, R)
    group = [p.copy() for p in p0]
    opt = optimizer(name, lr=lr)
    state = opt.init(group)
    override = lr * 0.5
    for t in range(3):
        opt.update(group, _grads_of(group, t), state, lr=override if t == 2 else None)
    for r in range(R):
        one = [p[r : r + 1].copy() for p in p0]
        o = optimizer(name, lr=float(lr[r]))
        s = o.init(one)
        for t in range(3):
            o.update(one, _grads_of(one, t), s, lr=float(override[r]) if t == 2 else None)
        for a, b in zip(group, one, strict=True):
            assert a.shape == (R, *b.shape[1:])
            np.testing.assert_allclose(a[r : r + 1], b, rtol=1e-10, atol=1e-14)


def test_lr_override_acts_for_one_step_only():
    rng = np.random.default_rng(1)
    p0 = [rng.normal(size=(2, 3, 2))]
    a, b = [p0[0].copy()], [p0[0].copy()]
    oa, ob = optimizer("adam", lr=0.01), optimizer("adam", lr=0.003)
    sa, sb = oa.init(a), ob.init(b)
    oa.update(a, _grads_of(a, 0), sa, lr=0.003)   # as if configured with 0.003
    ob.update(b, _grads_of(b, 0), sb)
    np.testing.assert_array_equal(a[0], b[0])
    oa.update(a, _grads_of(a, 1), sa)             # back to 0.01
    ob.update(b, _grads_of(b, 1), sb, lr=0.01)
    np.testing.assert_array_equal(a[0], b[0])


# --------------------------------------------------------------------------- closed forms


def test_sgd_momentum_matches_the_books_velocity_form():
    """Goodfellow's v <- a v - e g; theta <- theta + v, with a constant rate."""
    rng = np.random.default_rng(3)
    gs = rng.normal(size=(20, 1, 5))
    theta = rng.normal(size=(1, 5))
    p = [theta.copy()]
    opt = optimizer("momentum", lr=0.05, momentum=0.8)
    s = opt.init(p)
    v = np.zeros_like(theta)
    for g in gs:
        v = 0.8 * v - 0.05 * g
        theta = theta + v
        opt.update(p, [g], s)
    np.testing.assert_allclose(p[0], theta, rtol=1e-12)


def test_adagrad_matches_the_notes_eta_over_sqrt_t_form():
    """w <- w - eta^t / sigma^t g with eta^t = eta / sqrt(t+1), sigma^t the RMS of g^0..g^t."""
    gs = np.array([0.5, -2.0, 1.0, 0.25, 3.0])
    w, eta = 1.0, 0.1
    p = [np.array([[w]])]
    opt = optimizer("adagrad", lr=eta, eps=0.0)
    s = opt.init(p)
    for t, g in enumerate(gs):
        sigma = math.sqrt(np.mean(gs[: t + 1] ** 2))
        w -= eta / math.sqrt(t + 1) / sigma * g
        opt.update(p, [np.array([[g]])], s)
    assert p[0][0, 0] == pytest.approx(w, rel=1e-12)


def _adabound_by_hand(gs, lr, final_lr, gamma, b1=0.9, b2=0.999, eps=1e-8, ams=False):
    """Luo et al. (2019), algorithm 2 with Adam's bias correction, for one scalar."""
    theta, m, v, vmax, out = 1.0, 0.0, 0.0, 0.0, []
    for t, g in enumerate(gs, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vmax = max(vmax, v)
        eta = lr * math.sqrt(1 - b2**t) / (1 - b1**t) / (math.sqrt(vmax if ams else v) + eps)
        lo, hi = final_lr * (1 - 1 / (gamma * t + 1)), final_lr * (1 + 1 / (gamma * t))
        theta -= min(max(eta, lo), hi) * m
        out.append(theta)
    return out


@pytest.mark.parametrize("amsbound", [False, True])
@pytest.mark.parametrize("gamma", [1e-3, 0.3])
def test_adabound_matches_its_recurrence(amsbound, gamma):
    gs = [0.5, -0.1, 2.0, 0.01, -3.0, 0.2, 0.0, 1.0]
    p = [np.array([[1.0]])]
    opt = optimizer("adabound", lr=0.01, final_lr=0.05, gamma=gamma, amsbound=amsbound)
    s = opt.init(p)
    got = []
    for g in gs:
        opt.update(p, [np.array([[g]])], s)
        got.append(p[0][0, 0])
    want = _adabound_by_hand(gs, 0.01, 0.05, gamma, ams=amsbound)
    np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("ams", [False, True])
def test_adabound_with_open_bounds_is_adam(ams):
    """gamma -> 0 opens the bounds to (0, inf); with eps = 0 the rule is Adam (AMSGrad)."""
    rng = np.random.default_rng(5)
    p0 = rng.normal(size=(2, 3, 4))
    oa = optimizer("adabound", lr=0.01, gamma=1e-14, final_lr=0.1, eps=0.0, amsbound=ams)
    ob = optimizer("adam", lr=0.01, eps=0.0, amsgrad=ams)
    a, b = _side_by_side(oa, ob, p0, 20)
    np.testing.assert_allclose(a, b, rtol=1e-10)


def test_adabound_steps_stay_within_the_bounds_and_reach_final_lr():
    """|delta theta| / |m| lies in [f(1 - 1/(gamma t + 1)), f(1 + 1/(gamma t))], which
    closes on f = final_lr: late in training AdaBound is SGD with momentum at final_lr."""
    rng = np.random.default_rng(9)
    gamma, f = 0.5, 0.02
    p = [rng.normal(size=(1, 50))]
    opt = optimizer("adabound", lr=1.0, final_lr=f, gamma=gamma)
    s = opt.init(p)
    for t in range(1, 401):
        before = p[0].copy()
        opt.update(p, [rng.normal(size=(1, 50)) * 10 ** rng.uniform(-3, 2)], s)
        ratio = np.abs(before - p[0]) / np.abs(s.exp_avg[0])
        lo, hi = f * (1 - 1 / (gamma * t + 1)), f * (1 + 1 / (gamma * t))
        assert np.all(ratio >= lo * (1 - 1e-9)) and np.all(ratio <= hi * (1 + 1e-9))
    assert np.allclose(ratio, f, rtol=0.01)


def test_adabound_schedules_scale_final_lr_too():
    rng = np.random.default_rng(2)
    p0 = rng.normal(size=(1, 3, 3))
    oa = optimizer("adabound", lr=0.01, final_lr=0.1, gamma=0.1)
    ob = optimizer("adabound", lr=0.005, final_lr=0.05, gamma=0.1)
    a, b = _side_by_side(oa, ob, p0, 10, lr_a=0.005)
    np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize("base", ["sgd", "adam", "rmsprop"])
def test_lookahead_with_alpha_one_is_its_base(base):
    rng = np.random.default_rng(4)
    p0 = rng.normal(size=(2, 4, 3))
    oa = optimizer("lookahead", base=base, k=3, alpha=1.0, lr=0.01)
    ob = optimizer(base, lr=0.01)
    a, b = _side_by_side(oa, ob, p0, 12)
    np.testing.assert_allclose(a, b, rtol=1e-13)


@pytest.mark.parametrize("name, hyper", [("lookahead", {"base": "sgd"}),
                                         ("lookahead-sgd", {})])
def test_lookahead_over_sgd_matches_its_recurrence(name, hyper):
    """k fast SGD steps, then phi <- phi + alpha (theta - phi), theta <- phi (lookahead-sgd
    is lookahead with base sgd)."""
    rng = np.random.default_rng(6)
    gs = rng.normal(size=(10, 1, 4))
    k, alpha, lr = 3, 0.4, 0.1
    theta = rng.normal(size=(1, 4))
    phi = theta.copy()
    p = [theta.copy()]
    opt = optimizer(name, k=k, alpha=alpha, lr=lr, **hyper)
    s = opt.init(p)
    for t, g in enumerate(gs, start=1):
        theta = theta - lr * g
        if t % k == 0:
            phi = phi + alpha * (theta - phi)
            theta = phi.copy()
        opt.update(p, [g], s)
        np.testing.assert_allclose(p[0], theta, rtol=1e-13)
    # k = 1: one SGD step of alpha * lr
    q = [np.ones((1, 2))]
    one = optimizer("lookahead", base="sgd", k=1, alpha=0.25, lr=0.2)
    one.update(q, [np.full((1, 2), 2.0)], one.init(q))
    np.testing.assert_allclose(q[0], 1.0 - 0.25 * 0.2 * 2.0)


def test_lookahead_sgd_defaults_to_sgds_rate_and_takes_sgds_hyperparameters():
    assert OPTIMIZERS.get("lookahead-sgd").defaults["lr"] == OPTIMIZERS.get("sgd").defaults["lr"]
    opt = optimizer("lookahead-sgd", momentum=0.9)
    assert type(opt.base).__name__ == "SGD" and opt.base.momentum == 0.9
    assert "momentum" in hyperparameter_names("lookahead-sgd")
    with pytest.raises(NNBenchError, match="base must be another optimizer"):
        optimizer("lookahead", base="lookahead-sgd")


def test_amsgrad_is_adam_over_the_running_maximum_of_its_second_moment():
    """AMSGrad (Reddi et al. 2018) in torch's form, written out: v_max = max(v_max, v_t),
    theta -= lr / (1 - beta1^t) m_t / (sqrt(v_max / (1 - beta2^t)) + eps)."""
    rng = np.random.default_rng(11)
    gs = rng.normal(size=(30, 1, 5)) * np.linspace(3.0, 0.1, 30)[:, None, None]
    lr, (b1, b2), eps = 0.01, (0.9, 0.999), 1e-8
    theta = rng.normal(size=(1, 5))
    m, v, vmax = np.zeros_like(theta), np.zeros_like(theta), np.zeros_like(theta)
    p = [theta.copy()]
    opt = optimizer("amsgrad", lr=lr)
    s = opt.init(p)
    for t, g in enumerate(gs, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vmax = np.maximum(vmax, v)
        theta = theta - lr / (1 - b1 ** t) * m / (np.sqrt(vmax / (1 - b2 ** t)) + eps)
        opt.update(p, [g], s)
        np.testing.assert_allclose(p[0], theta, rtol=1e-12)
    assert opt.amsgrad is True


# --------------------------------------------------------------------------- clipping


def test_clip_grad_norm_matches_torch():
    with np.load(REF / "optim_clip.npz", allow_pickle=False) as f:
        data = {k: f[k] for k in f.files}
    n = sum(1 for k in data if k.startswith("g"))
    for max_norm, key in ((1.0, "m1"), (2.5, "m2_5")):
        grads = [data[f"g{i}"].copy() for i in range(n)]
        norms = clip_grad_norm(grads, max_norm)
        _assert_close(norms, data[f"{key}_norms"], "norms")
        for i, g in enumerate(grads):
            _assert_close(g, data[f"{key}_g{i}"], f"grad {i}")


def test_clip_grad_norm_closed_form_per_run():
    rng = np.random.default_rng(8)
    grads = [rng.normal(size=(3, 4, 2)).astype(np.float32), rng.normal(size=(3, 1, 2))
             .astype(np.float32)]
    grads[0][0] *= 1e-3  # run 0 below the threshold
    before = [g.copy() for g in grads]
    max_norm = np.array([1.0, 0.5, 2.0])
    norms = clip_grad_norm(grads, max_norm)
    want = np.sqrt(sum((g.astype(np.float64) ** 2).sum(axis=(1, 2)) for g in before))
    np.testing.assert_allclose(norms, want, rtol=1e-6)
    after = np.sqrt(sum((g.astype(np.float64) ** 2).sum(axis=(1, 2)) for g in grads))
    for r in range(3):
        if want[r] <= max_norm[r]:
            assert all(np.array_equal(g[r], b[r]) for g, b in zip(grads, before, strict=True))
        else:
            assert after[r] == pytest.approx(max_norm[r] * want[r] / (want[r] + 1e-6),
                                             rel=1e-6)
    assert all(g.dtype == np.float32 for g in grads)


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "name, hyper, message",
    [
        ("sgd", {"lr": 0.0}, "lr must be in"),
        ("adam", {"lr": -1e-3}, "lr must be in"),
        ("adam", {"lr": np.array([0.1, 0.0])}, "lr must be in"),
        ("adam", {"betas": (0.9, 1.0)}, r"betas\[1\] must be in \[0, 1\)"),
        ("nadam", {"betas": (-0.1, 0.9)}, r"betas\[0\] must be in"),
        ("adam", {"betas": 0.9}, "betas must be a pair"),
        ("adam", {"eps": -1e-8}, "eps must be in"),
        ("momentum", {"momentum": -0.5}, "momentum must be in"),
        ("sgd", {"nesterov": True}, "nesterov=True needs momentum > 0"),
        ("nesterov", {"dampening": 0.1}, "nesterov=True needs momentum > 0 and dampening"),
        ("rmsprop", {"alpha": 1.5}, "alpha must be in"),
        ("lookahead", {"alpha": 2.0}, "alpha must be in"),
        ("lookahead", {"k": 0}, "k must be an integer"),
        ("adabound", {"gamma": 0.0}, "gamma must be in"),
        ("adam", {"amsgrad": "yes"}, "amsgrad must be true or false"),
        ("adam", {"lr": np.ones((2, 2))}, "lr must be a number or a 1-d array"),
        ("adagrad", {"lr_decay": -1.0}, "lr_decay must be in"),
        ("adadelta", {"rho": 1.1}, "rho must be in"),
    ],
)
def test_bad_hyperparameters_name_the_parameter_and_range(name, hyper, message):
    with pytest.raises(NNBenchError, match=message):
        optimizer(name, **hyper)


def test_unknown_hyperparameter_lists_the_valid_ones():
    with pytest.raises(NNBenchError) as info:
        optimizer("adam", beta1=0.9)
    msg = str(info.value)
    assert "unknown hyperparameter 'beta1' for optimizer 'adam'" in msg
    assert "valid: lr, betas, eps, weight_decay, amsgrad" in msg and "\n" not in msg
    with pytest.raises(NNBenchError, match="did you mean 'momentum'"):
        optimizer("sgd", momentun=0.9)
    with pytest.raises(NNBenchError, match=r"lookahead over 'sgd'.*valid: base, k, alpha, lr"):
        optimizer("lookahead", base="sgd", betas=(0.9, 0.99))


def test_unknown_optimizer_name_suggests_the_closest():
    with pytest.raises(UnknownNameError, match="did you mean 'rmsprop'"):
        optimizer("rmsporp")
    with pytest.raises(UnknownNameError):
        optimizer("lookahead", base="adma")


def test_per_run_arrays_must_match_the_runs_axis():
    opt = optimizer("adam", lr=np.array([1e-3, 2e-3, 3e-3]))
    with pytest.raises(NNBenchError, match="lr has 3 values but the parameters have 2 runs"):
        opt.init([np.zeros((2, 3))])
    ok = optimizer("sgd")
    params = [np.zeros((2, 3))]
    with pytest.raises(NNBenchError, match="lr has 3 values but the parameters have 2 runs"):
        ok.update(params, [np.ones((2, 3))], ok.init(params), lr=np.ones(3))
    with pytest.raises(NNBenchError, match="got 2 gradients for 1 parameters"):
        ok.update(params, [np.ones((2, 3))] * 2, ok.init(params))
    with pytest.raises(NNBenchError, match="max_norm has 2 values"):
        clip_grad_norm([np.zeros((3, 2))], np.array([1.0, 2.0]))
    with pytest.raises(NNBenchError, match="same leading runs axis"):
        optimizer("sgd").init([np.zeros((2, 3)), np.zeros((3, 3))])


def test_registry_defaults_are_the_accepted_names_and_build():
    for entry in OPTIMIZERS:
        assert entry.description and entry.defaults["lr"] > 0, entry.name
        opt = optimizer(entry.name, **entry.defaults)
        assert opt.lr == entry.defaults["lr"]
        assert set(hyperparameter_names(entry.name)) >= set(entry.defaults)
    assert "betas" in hyperparameter_names("lookahead")
    assert "momentum" in hyperparameter_names("lookahead", base="sgd")
    assert nnbench.optimizer("momentum").momentum == 0.9
    assert optimizer("lookahead", base="sgd").lr == OPTIMIZERS.get("sgd").defaults["lr"]
    assert optimizer("adamw").weight_decay == 1e-2
