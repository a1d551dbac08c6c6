"""Schedules against torch.optim.lr_scheduler fixtures and their closed forms; training
with clipping and a schedule against torch (fixtures from
tests/reference/make_optim_fixtures.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from nnbench.core.errors import NNBenchError, UnknownNameError
from nnbench.core.mlp import MLP
from nnbench.core.optimizers import clip_grad_norm, optimizer
from nnbench.core.schedules import SCHEDULES, schedule

REF = Path(__file__).parent / "reference"


def _load(name: str) -> dict[str, np.ndarray]:
    with np.load(REF / name, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def _spec(raw) -> tuple[str, dict]:
    spec = json.loads(str(raw))
    return spec.pop("name"), spec


def test_factors_match_torch_schedulers():
    data = _load("optim_schedules.npz")
    cases = sorted(k for k in data if k.endswith("_spec"))
    assert len(cases) >= 7
    for key in cases:
        name, kw = _spec(data[key])
        want = data[key.replace("_spec", "_factors")]
        if name == "cosine":  # torch's cosine rises again after T_max; ours holds eta_min
            want = want[: kw["T_max"] + kw.get("warmup_steps", 0) + 1]
        f = schedule(name, **kw)
        got = [f(t) for t in range(len(want))]
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15, err_msg=f"{name} {kw}")


def test_closed_forms():
    f = schedule("step", step_size=3, gamma=0.1)
    assert [f(t) for t in range(7)] == pytest.approx([1, 1, 1, 0.1, 0.1, 0.1, 0.01])
    f = schedule("exponential", gamma=0.5)
    assert [f(t) for t in range(4)] == [1.0, 0.5, 0.25, 0.125]
    f = schedule("cosine", T_max=10, eta_min=0.2)
    assert f(0) == 1.0 and f(10) == pytest.approx(0.2) and f(5) == pytest.approx(0.6)
    assert f(3) == pytest.approx(0.2 + 0.8 * (1 + math.cos(math.pi * 0.3)) / 2)
    assert f(25) == pytest.approx(0.2)  # holds the floor after T_max
    f = schedule("inverse_sqrt")
    assert [f(t) for t in (0, 3, 8)] == pytest.approx([1.0, 0.5, 1 / 3])
    assert schedule("constant")(1234) == 1.0
    f = schedule("warmup", total_iters=4)
    assert [f(t) for t in range(7)] == pytest.approx([0.25, 0.5, 0.75, 1, 1, 1, 1])
    assert schedule("warmup")(99) == 1.0 and schedule("warmup")(49) == pytest.approx(0.5)


def test_the_warmup_schedule_is_the_warmup_in_front_of_constant():
    a = schedule("warmup", total_iters=7)
    b = schedule("constant", warmup_steps=7)
    steps = np.arange(30)
    np.testing.assert_array_equal(a(steps), b(steps))
    with pytest.raises(NNBenchError, match="total_iters must be an integer"):
        schedule("warmup", total_iters=0)


def test_warmup_in_front_of_any_schedule():
    for name, kw in [("constant", {}), ("step", {"step_size": 2, "gamma": 0.5}),
                     ("exponential", {"gamma": 0.9}), ("cosine", {"T_max": 5}),
                     ("inverse_sqrt", {})]:
        inner = schedule(name, **kw)
        f = schedule(name, warmup_steps=4, **kw)
        assert [f(t) for t in range(4)] == pytest.approx([0.25, 0.5, 0.75, 1.0])
        assert [f(t) for t in range(4, 20)] == pytest.approx([inner(t) for t in range(16)])


def test_array_of_steps():
    f = schedule("cosine", T_max=50, eta_min=0.1, warmup_steps=5)
    steps = np.arange(80)
    np.testing.assert_array_equal(f(steps), [f(int(t)) for t in steps])
    assert isinstance(f(3), float)


@pytest.mark.parametrize(
    "name, kw, message",
    [
        ("step", {"gamma": 0.0}, "gamma must be in"),
        ("step", {"step_size": 0}, "step_size must be an integer"),
        ("exponential", {"gamma": 1.5}, "gamma must be in"),
        ("cosine", {}, "cosine needs T_max"),
        ("cosine", {"T_max": 10, "eta_min": 2.0}, "eta_min must be in"),
        ("constant", {"warmup_steps": -1}, "warmup_steps must be an integer >= 0"),
        ("exponential", {"step_size": 3}, r"unknown parameter 'step_size'.*valid: gamma, "
                                          "warmup_steps"),
    ],
)
def test_bad_parameters(name, kw, message):
    with pytest.raises(NNBenchError, match=message):
        schedule(name, **kw)


def test_unknown_schedule_and_bad_step():
    with pytest.raises(UnknownNameError, match="did you mean 'cosine'"):
        schedule("cosin")
    with pytest.raises(NNBenchError, match="step must be an integer >= 0"):
        schedule("constant")(-1)
    for entry in SCHEDULES:
        assert entry.description and "warmup_steps" in entry.defaults


def test_training_with_clipping_and_a_schedule_matches_torch():
    """torch: backward; clip_grad_norm_; step; scheduler.step() -- here: clip_grad_norm,
    then update with lr = base lr * f(step)."""
    data = _load("optim_sched.npz")
    with np.load(REF / "optim_mlp.npz", allow_pickle=False) as f:
        X, Y, p0 = f["X"], f["Y"], [f[f"p{i}"] for i in range(6)]
    snaps = data["steps"]
    cases = sorted(k[:-5] for k in data if k.endswith("_name"))
    assert len(cases) >= 3
    for c in cases:
        name, hypers = str(data[f"{c}_name"]), json.loads(str(data[f"{c}_hypers"]))
        sname, kw = _spec(data[f"{c}_sched"])
        f = schedule(sname, **kw)
        opt = optimizer(name, **hypers)
        net = MLP([3, 8, 8, 2], activation="tanh", runs=1, dtype="float64")
        for p, v in zip(net.params, p0, strict=True):
            p[...] = v
        state = opt.init(net.params)
        norms, lrs = [], []
        for t in range(int(snaps[-1])):
            if t in snaps:
                k = int(np.flatnonzero(snaps == t)[0])
                for i, p in enumerate(net.params):
                    np.testing.assert_allclose(p[0], data[f"{c}_p{i}"][k], rtol=1e-6,
                                               atol=1e-12, err_msg=f"{c} step {t}")
            _, grads = net.loss_and_grads(X, Y, loss="mse")
            norms.append(clip_grad_norm(grads, float(data[f"{c}_max_norm"]))[0])
            lrs.append(hypers["lr"] * f(t))
            opt.update(net.params, grads, state, lr=lrs[-1])
        np.testing.assert_allclose(norms, data[f"{c}_norms"], rtol=1e-6)
        np.testing.assert_allclose(lrs, data[f"{c}_lrs"], rtol=1e-12)
        assert np.any(np.array(norms) > float(data[f"{c}_max_norm"]))  # clipping acted
