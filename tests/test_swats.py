"""SWATS against a hand-written loop of the paper's Algorithm 1 (Keskar and Socher, 2017),
run by run on the runs axis, with runs switching to SGD at different steps."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from nnbench.cli import app
from nnbench.core.optimizers import OPTIMIZERS, optimizer

runner = CliRunner()

N, K = 15, 300  # parameters per run (a 4x3 weight and a 1x3 bias), steps


def swats_by_hand(x0, gs, lr=1e-3, b1=0.9, b2=0.999, eps=1e-9):
    """Algorithm 1 for one parameter vector ``x0`` and the gradients ``gs`` (K, N):
    the final point, the step that switched (-1 if none) and Lambda."""
    x, m, a, v = x0.copy(), np.zeros_like(x0), np.zeros_like(x0), np.zeros_like(x0)
    lam, phase, big_lambda, switched = 0.0, "adam", np.nan, -1
    for k, g in enumerate(gs, start=1):
        if phase == "sgd":
            v = b1 * v + g
            x = x - (1 - b1) * big_lambda * v
            continue
        m = b1 * m + (1 - b1) * g
        a = b2 * a + (1 - b2) * g * g
        p = -lr * np.sqrt(1 - b2**k) / (1 - b1**k) * m / (np.sqrt(a) + eps)
        x = x + p
        if p @ g != 0:
            gamma = (p @ p) / (-(p @ g))
            lam = b2 * lam + (1 - b2) * gamma
            if k > 1 and abs(lam / (1 - b2**k) - gamma) < eps:
                phase, v, big_lambda, switched = "sgd", np.zeros_like(x), lam / (1 - b2**k), k
    return x, switched, big_lambda


def _split(x: np.ndarray) -> list[np.ndarray]:
    """(R, 15) vectors as the parameters (R, 4, 3) and (R, 1, 3)."""
    return [x[:, :12].reshape(-1, 4, 3).copy(), x[:, 12:].reshape(-1, 1, 3).copy()]


def _flat(params: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([p.reshape(len(p), -1) for p in params], axis=1)


# per run: the switch threshold eps, the noise of its gradients around a common drift,
# its learning rate; the runs switch at different steps (one never does)
EPS = np.array([1e-9, 1e-6, 1e-5, 1e-9, 1e-4])
NOISE = np.array([0.0, 0.5, 0.1, 0.5, 0.5])
LR = np.array([1e-3, 2e-3, 1e-3, 5e-4, 1e-3])


@pytest.fixture(scope="module")
def sequence():
    rng = np.random.default_rng(1)
    drift = rng.normal(size=N)
    gs = np.stack([drift + s * rng.normal(size=(K, N)) for s in NOISE], axis=1)  # K, R, N
    return rng.normal(size=(len(EPS), N)), gs


@pytest.fixture(scope="module")
def group(sequence):
    """The runs of ``sequence`` trained as one group: its final parameters (R, N), its
    state, and the switch steps seen before each step."""
    x0, gs = sequence
    params = _split(x0)
    opt = optimizer("swats", lr=LR, eps=EPS)
    state = opt.init(params)
    seen = []
    for k in range(K):
        seen.append(state.switch_step.copy())
        opt.update(params, _split(gs[k]), state)
    return _flat(params), state, seen


def test_a_group_follows_algorithm_1_run_by_run(sequence, group):
    x0, gs = sequence
    got, state, seen = group
    assert all(np.all(s < k + 1) for k, s in enumerate(seen))  # no switch ahead of time
    steps = []
    for r in range(len(EPS)):
        x, switched, big_lambda = swats_by_hand(x0[r], gs[:, r], lr=LR[r], eps=EPS[r])
        steps.append(switched)
        np.testing.assert_allclose(got[r], x, rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(state.sgd_lr[r], big_lambda, rtol=1e-10)
    assert list(state.switch_step) == steps
    assert state.switch_step.dtype == np.int64 and state.switch_step.shape == (len(EPS),)
    assert -1 in steps and len(set(steps)) >= 4, steps  # runs switch at different steps
    assert max(steps) > 2


def test_each_run_alone_switches_as_in_the_group(sequence, group):
    x0, gs = sequence
    got, state, _ = group
    for r in range(len(EPS)):
        one = _split(x0[r : r + 1])
        o = optimizer("swats", lr=float(LR[r]), eps=float(EPS[r]))
        s = o.init(one)
        for k in range(K):
            o.update(one, _split(gs[k, r : r + 1]), s)
        assert s.switch_step[0] == state.switch_step[r]
        np.testing.assert_allclose(_flat(one)[0], got[r], rtol=1e-12, atol=1e-15)


def test_after_the_switch_it_is_sgd_with_momentum_beta1_at_the_estimated_rate(sequence):
    x0, gs = sequence
    params = _split(x0[:1])
    opt = optimizer("swats", eps=1e-4)
    state = opt.init(params)
    k = 0
    while state.switch_step[0] < 0:
        opt.update(params, _split(gs[k, :1]), state)
        k += 1
    big_lambda = float(state.sgd_lr[0])
    sgd = optimizer("sgd", lr=(1 - 0.9) * big_lambda, momentum=0.9)
    twin = [p.copy() for p in params]
    s = sgd.init(twin)
    for j in range(k, k + 50):
        opt.update(params, _split(gs[j, :1]), state)
        sgd.update(twin, _split(gs[j, :1]), s)
    for a, b in zip(params, twin, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_a_schedule_scales_lambda_in_the_sgd_phase():
    g = [np.ones((1, 3))]
    opt = optimizer("swats", lr=1e-3)
    p = [np.zeros((1, 3))]
    state = opt.init(p)
    opt.update(p, g, state)
    opt.update(p, g, state)
    assert state.switch_step[0] == 2  # a constant gradient settles at once
    before = p[0].copy()
    opt.update(p, g, state, lr=0.5e-3)  # v = g: the step is (1 - beta1) Lambda / 2 g
    np.testing.assert_allclose(before - p[0], 0.1 * state.sgd_lr[0] / 2, rtol=1e-12)


def test_registered_with_the_papers_defaults_and_under_lookahead():
    entry = OPTIMIZERS.get("swats")
    assert entry.defaults == {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-9,
                              "weight_decay": 0.0}
    la = optimizer("lookahead", base="swats", k=2)
    p = [np.zeros((2, 3))]
    state = la.init(p)
    for _ in range(3):
        la.update(p, [np.ones((2, 3))], state)
    assert list(state.base.switch_step) == [2, 2]


def test_nnbench_run_with_swats(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["run", "--task", "sin-small", "--steps", "20", "--optim",
                                 "swats", "--no-plot"])
    assert result.exit_code == 0, (result.output, result.exception)
