"""The written forms of the update rules (``form=torch|book|lecture``): each form against
a hand-written loop of its algorithm box, the defaults each form takes, the forms on the
runs axis, and the one-line errors for a form a rule does not have."""

from __future__ import annotations

import math

import numpy as np
import pytest
from typer.testing import CliRunner

from nnbench.cli import app
from nnbench.core.errors import NNBenchError
from nnbench.core.optimizers import OPTIMIZERS, optimizer

runner = CliRunner()

STEPS = 30


def _gradients(shape=(2, 3), steps=STEPS, seed=5) -> np.ndarray:
    """A fixed gradient sequence with small and large coordinates (where the forms'
    deltas matter) for one run of parameters of ``shape``."""
    rng = np.random.default_rng(seed)
    scale = np.array([1e-5, 1e-2, 1.0])[: shape[-1]]
    return rng.normal(size=(steps, *shape)) * scale


def _run(opt, theta0: np.ndarray, gs: np.ndarray, lrs=None) -> np.ndarray:
    """``opt`` on one run (R = 1) from ``theta0`` through the gradients ``gs`` (with the
    learning rate ``lrs[t]`` at step ``t`` when given)."""
    p = [theta0[None].copy()]
    state = opt.init(p)
    for t, g in enumerate(gs):
        opt.update(p, [g[None]], state, lr=None if lrs is None else lrs[t])
    return p[0][0]


THETA0 = np.linspace(-1.0, 1.0, 6).reshape(2, 3)


# --------------------------------------------------------------------------- the boxes


def test_book_momentum_is_the_velocity_box_also_under_a_schedule():
    """Algorithm 8.2: v <- alpha v - eps g; theta <- theta + v, eps the step's rate."""
    gs, lrs = _gradients(), 0.05 * 0.9 ** np.arange(STEPS)
    theta, v = THETA0.copy(), np.zeros_like(THETA0)
    for g, eps in zip(gs, lrs, strict=True):
        v = 0.8 * v - eps * g
        theta = theta + v
    got = _run(optimizer("momentum", lr=0.05, momentum=0.8, form="book"), THETA0, gs, lrs)
    np.testing.assert_array_equal(got, theta)
    torch = _run(optimizer("momentum", lr=0.05, momentum=0.8), THETA0, gs, lrs)
    assert np.max(np.abs(torch - theta)) > 1e-6  # torch rescales past steps by the new rate
    constant = _run(optimizer("momentum", lr=0.05, momentum=0.8), THETA0, gs)
    book = _run(optimizer("momentum", lr=0.05, momentum=0.8, form="book"), THETA0, gs)
    np.testing.assert_allclose(book, constant, rtol=1e-12, atol=1e-15)


def test_book_adagrad_is_algorithm_8_4_with_delta_1e_7():
    gs, eps, delta = _gradients(), 0.05, 1e-7
    theta, r = THETA0.copy(), np.zeros_like(THETA0)
    for g in gs:
        r = r + g * g
        theta = theta + -(eps / (delta + np.sqrt(r))) * g
    opt = optimizer("adagrad", lr=eps, form="book")
    assert opt.eps == 1e-7
    np.testing.assert_array_equal(_run(opt, THETA0, gs), theta)


def test_book_rmsprop_is_algorithm_8_5_with_delta_inside_the_root():
    gs, eps, rho, delta = _gradients(), 1e-3, 0.9, 1e-6
    theta, r = THETA0.copy(), np.zeros_like(THETA0)
    for g in gs:
        r = rho * r + (1 - rho) * g * g
        theta = theta + -(eps / np.sqrt(delta + r)) * g
    opt = optimizer("rmsprop", lr=eps, alpha=rho, form="book")
    assert opt.eps == 1e-6
    np.testing.assert_allclose(_run(opt, THETA0, gs), theta, rtol=1e-14, atol=1e-16)


def test_book_adam_is_algorithm_8_7_with_delta_inside_the_root():
    gs, eps, rho1, rho2, delta = _gradients(), 1e-3, 0.9, 0.999, 1e-8
    theta, s, r = THETA0.copy(), np.zeros_like(THETA0), np.zeros_like(THETA0)
    for t, g in enumerate(gs, start=1):
        s = rho1 * s + (1 - rho1) * g
        r = rho2 * r + (1 - rho2) * g * g
        s_hat, r_hat = s / (1 - rho1**t), r / (1 - rho2**t)
        theta = theta + -eps * s_hat / np.sqrt(r_hat + delta)
    opt = optimizer("adam", lr=eps, form="book")
    np.testing.assert_allclose(_run(opt, THETA0, gs), theta, rtol=1e-14, atol=1e-16)


def test_lecture_rmsprop_starts_its_average_at_the_first_squared_gradient():
    """sigma^0 = |g^0|; sigma^t = sqrt(alpha (sigma^{t-1})^2 + (1 - alpha) (g^t)^2)."""
    gs, eta, alpha = _gradients(), 1e-3, 0.9
    w, sigma = THETA0.copy(), None
    for g in gs:
        sigma = np.abs(g) if sigma is None else np.sqrt(alpha * sigma**2 + (1 - alpha) * g**2)
        w = w - eta / sigma * g
    opt = optimizer("rmsprop", lr=eta, alpha=alpha, eps=0.0, form="lecture")
    np.testing.assert_allclose(_run(opt, THETA0, gs), w, rtol=1e-12, atol=1e-15)
    # the first step is eta sign(g) in the lecture's form (where eps is small beside g),
    # ten times torch's
    one = _gradients(steps=1)
    first = _run(optimizer("rmsprop", lr=eta, form="lecture"), THETA0, one) - THETA0
    np.testing.assert_allclose(first[:, 1:], -eta * np.sign(one[0][:, 1:]), rtol=1e-5)
    torch = _run(optimizer("rmsprop", lr=eta), THETA0, one) - THETA0
    np.testing.assert_allclose(first[:, 1:], torch[:, 1:] * math.sqrt(1 - 0.99), rtol=1e-5)


def test_lecture_adagrad_is_eta_t_over_sigma_t():
    """w^{t+1} = w^t - eta^t / sigma^t g^t, eta^t = eta / sqrt(t + 1), sigma^t the RMS of
    g^0 .. g^t (lecture t counts from 0)."""
    gs, eta = _gradients(), 0.05
    w = THETA0.copy()
    for t, g in enumerate(gs):
        sigma = np.sqrt(np.mean(gs[: t + 1] ** 2, axis=0))
        w = w - eta / math.sqrt(t + 1) / sigma * g
    opt = optimizer("adagrad", lr=eta, eps=0.0, form="lecture")
    np.testing.assert_allclose(_run(opt, THETA0, gs), w, rtol=1e-12, atol=1e-15)


def test_lecture_adagrad_is_the_trajectory_of_adagrad_without_epsilon():
    gs, eta = _gradients(steps=200), 0.05
    lecture = _run(optimizer("adagrad", lr=eta, eps=0.0, form="lecture"), THETA0, gs)
    torch = _run(optimizer("adagrad", lr=eta, eps=0.0), THETA0, gs)
    np.testing.assert_allclose(lecture, torch, rtol=1e-13, atol=1e-15)


def test_the_issues_first_steps():
    """At lr 1e-3: RMSProp on a gradient of 1e-4, Adam on one of 1e-9."""
    def first(name: str, g: float, form: str) -> float:
        return -float(_run(optimizer(name, lr=1e-3, form=form), np.zeros(1),
                           np.full((1, 1), g))[0])

    assert first("rmsprop", 1e-4, "torch") == pytest.approx(1.0e-2, rel=2e-3)
    assert first("rmsprop", 1e-4, "book") == pytest.approx(1.0e-4, rel=2e-3)
    assert first("adam", 1e-9, "torch") == pytest.approx(9.1e-5, rel=2e-3)
    assert first("adam", 1e-9, "book") == pytest.approx(1.0e-8, rel=2e-3)


@pytest.mark.parametrize("name", ["sgd", "momentum", "adagrad", "rmsprop", "adam", "adamw"])
def test_form_torch_is_the_default_and_changes_nothing(name):
    gs = _gradients()
    default = _run(optimizer(name), THETA0, gs)
    np.testing.assert_array_equal(_run(optimizer(name, form="torch"), THETA0, gs), default)


# --------------------------------------------------------------------------- defaults


@pytest.mark.parametrize(
    "name, form, eps",
    [("adagrad", "torch", 1e-10), ("adagrad", "book", 1e-7), ("adagrad", "lecture", 1e-10),
     ("rmsprop", "torch", 1e-8), ("rmsprop", "book", 1e-6), ("rmsprop", "lecture", 1e-8),
     ("adam", "book", 1e-8)],
)
def test_each_form_takes_its_own_delta_and_a_given_eps_still_applies(name, form, eps):
    assert optimizer(name, form=form).eps == eps
    assert optimizer(name, form=form, eps=1e-3).eps == 1e-3
    assert optimizer("lookahead", base=name, form=form).base.eps == eps


def test_the_registry_shows_torchs_eps_and_the_forms():
    assert OPTIMIZERS.get("rmsprop").defaults["eps"] == 1e-8
    assert OPTIMIZERS.get("adagrad").defaults["eps"] == 1e-10
    forms = {e.name: str(e.constraints["form"]) for e in OPTIMIZERS if "form" in e.defaults}
    assert forms == {"sgd": "torch/book", "momentum": "torch/book", "nesterov": "torch/book",
                     "adagrad": "torch/book/lecture", "rmsprop": "torch/book/lecture",
                     "adam": "torch/book", "amsgrad": "torch/book", "adamw": "torch/book"}
    assert all(e.defaults["form"] == "torch" for e in OPTIMIZERS if "form" in e.defaults)


# --------------------------------------------------------------------------- runs axis


@pytest.mark.parametrize(
    "name, forms, hypers",
    [("momentum", ["book", "torch", "book"], {}),
     ("adagrad", ["lecture", "torch", "book"], {"lr_decay": np.array([0.0, 0.1, 0.2])}),
     ("rmsprop", ["torch", "book", "lecture"], {"momentum": np.array([0.0, 0.5, 0.9])}),
     ("adam", ["book", "book", "torch"], {"amsgrad": True})],
)
def test_a_group_mixing_forms_equals_each_run_alone(name, forms, hypers):
    R, rng = len(forms), np.random.default_rng(11)
    lr = OPTIMIZERS.get(name).defaults["lr"] * np.array([0.5, 1.0, 2.0])
    p0 = [rng.normal(size=(R, 4, 3)), rng.normal(size=(R, 1, 3))]
    gs = [[rng.normal(size=p.shape) * 10.0 ** rng.integers(-6, 1) for p in p0]
          for _ in range(STEPS)]
    sched = 0.95 ** np.arange(STEPS)
    group = [p.copy() for p in p0]
    opt = optimizer(name, lr=lr, form=np.array(forms), **hypers)
    state = opt.init(group)
    for t in range(STEPS):
        opt.update(group, gs[t], state, lr=lr * sched[t])
    for r in range(R):
        one_h = {k: (float(v[r]) if isinstance(v, np.ndarray) else v) for k, v in hypers.items()}
        one = [p[r : r + 1].copy() for p in p0]
        o = optimizer(name, lr=np.array([lr[r]]), form=forms[r], **one_h)
        s = o.init(one)
        for t in range(STEPS):
            o.update(one, [g[r : r + 1] for g in gs[t]], s, lr=np.array([lr[r] * sched[t]]))
        for a, b in zip(group, one, strict=True):
            np.testing.assert_array_equal(a[r : r + 1], b)


def test_per_run_forms_take_per_run_deltas_and_must_match_the_runs():
    opt = optimizer("rmsprop", form=["torch", "book"])
    np.testing.assert_array_equal(opt.eps, [1e-8, 1e-6])
    with pytest.raises(NNBenchError, match="has 2 values but the parameters have 3 runs"):
        opt.init([np.zeros((3, 2))])
    same = optimizer("adam", form=np.array(["book", "book"]))
    assert type(same.init([np.zeros((2, 2))])).__name__ == "AdamState"  # one form: no split


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "name, hypers, message",
    [("adam", {"form": "lecture"}, "form must be one of torch, book, got 'lecture'"),
     ("sgd", {"form": "Book"}, "form must be one of torch, book, got 'Book'"),
     ("rmsprop", {"form": ["torch", "paper"]},
      "form must be one of torch, book, lecture, got 'paper'"),
     ("adam", {"form": 1}, "form must be one of torch, book or one of them per run, got 1"),
     ("nesterov", {"form": "book"}, "form=book (the notes' momentum box) has no nesterov"),
     ("sgd", {"form": "book", "momentum": 0.9, "dampening": 0.1},
      "form=book (the notes' momentum box) has no nesterov or dampening"),
     ("rmsprop", {"form": "lecture", "centered": True},
      "form=lecture (the course's RMSProp) has no centered variant"),
     ("rmsprop", {"lr": -1.0, "form": "x"}, "lr must be in (0, inf), got -1"),  # in order
     ("nadam", {"form": "book"}, "unknown hyperparameter 'form' for optimizer 'nadam'")],
)
def test_a_form_a_rule_does_not_have_is_a_one_line_error(name, hypers, message):
    with pytest.raises(NNBenchError) as info:
        optimizer(name, **hypers)
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


# --------------------------------------------------------------------------- command line


def test_list_optimizers_shows_the_forms_each_rule_accepts():
    result = runner.invoke(app, ["list", "optimizers"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if "form=torch" in line]
    assert len(rows) == 8  # sgd, momentum, nesterov, adagrad, rmsprop, adam, amsgrad, adamw
    assert sum("torch/book/lecture" in line for line in rows) == 2
    assert all("torch/book" in line for line in rows)


@pytest.mark.parametrize("optim, form", [("rmsprop", "book"), ("adagrad", "lecture"),
                                         ("momentum", "book")])
def test_hp_form_on_the_command_line_trains(optim, form, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["run", "--task", "sin-small", "--steps", "5", "--optim", optim,
                                 "--hp", f"form={form}", "--no-plot"])
    assert result.exit_code == 0, (result.output, result.exception)
    runs = next(tmp_path.rglob("runs.csv")).read_text()
    assert form in runs


def test_hp_form_the_rule_lacks_is_one_line_and_exit_2(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["run", "--task", "sin-small", "--steps", "5", "--optim",
                                 "adam", "--hp", "form=lecture", "--no-plot"])
    assert result.exit_code == 2, (result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert lines == ["nnbench: error: form must be one of torch, book, got 'lecture'"]
