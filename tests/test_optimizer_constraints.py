"""Optimizer defaults and hyperparameter constraints: what each rule declares, and that a
bad value generated from every declared constraint is refused with a one-line message
naming the hyperparameter (through the library and through ``nnbench run --hp``)."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from nnbench.cli import app
from nnbench.core.errors import NNBenchError
from nnbench.core.optimizers import OPTIMIZERS, Optimizer, optimizer
from nnbench.core.optimizers.constraints import Choice, Flag, Integer, Interval, Pair

runner = CliRunner()

# What `nnbench list optimizers` shows: every name's defaults and allowed values. The
# defaults are those the registry has always had (config uses defaults["lr"]), with the
# written forms of the four rules that have them (torch's by default).
_F, _N, _P, _U = "true/false", "[0, inf)", "(0, inf)", "[0, 1]"
_SGD = dict(lr=(0.1, _P), momentum=(0.0, _U), dampening=(0.0, _U), weight_decay=(0.0, _N),
            nesterov=(False, _F), maximize=(False, _F), form=("torch", "torch/book"))
_ADAM = dict(lr=(5e-3, _P), betas=((0.9, 0.999), "each [0, 1)"), eps=(1e-8, _N),
             weight_decay=(0.0, _N), amsgrad=(False, _F), decoupled_weight_decay=(False, _F),
             maximize=(False, _F), form=("torch", "torch/book"))
_FORMS3 = ("torch", "torch/book/lecture")
EXPECTED = {
    "sgd": _SGD,
    "momentum": {**_SGD, "lr": (0.01, _P), "momentum": (0.9, _U)},
    "nesterov": {**_SGD, "lr": (0.01, _P), "momentum": (0.9, _U), "nesterov": (True, _F)},
    "adagrad": dict(lr=(0.05, _P), lr_decay=(0.0, _N), weight_decay=(0.0, _N),
                    initial_accumulator_value=(0.0, _N), eps=(1e-10, _N), maximize=(False, _F),
                    form=_FORMS3),
    "rmsprop": dict(lr=(1e-3, _P), alpha=(0.99, _U), eps=(1e-8, _N), weight_decay=(0.0, _N),
                    momentum=(0.0, _U), centered=(False, _F), maximize=(False, _F),
                    form=_FORMS3),
    "adam": _ADAM,
    "amsgrad": {**_ADAM, "amsgrad": (True, _F)},
    "adamw": {**_ADAM, "weight_decay": (1e-2, _N), "decoupled_weight_decay": (True, _F)},
    "nadam": dict(lr=(5e-3, _P), betas=((0.9, 0.999), "each [0, 1)"), eps=(1e-8, _N),
                  weight_decay=(0.0, _N), momentum_decay=(4e-3, _N),
                  decoupled_weight_decay=(False, _F), maximize=(False, _F)),
    "radam": dict(lr=(5e-3, _P), betas=((0.9, 0.999), "each [0, 1)"), eps=(1e-8, _N),
                  weight_decay=(0.0, _N), decoupled_weight_decay=(False, _F),
                  maximize=(False, _F)),
    "adamax": dict(lr=(1e-2, _P), betas=((0.9, 0.999), "each [0, 1)"), eps=(1e-8, _N),
                   weight_decay=(0.0, _N), maximize=(False, _F)),
    "adadelta": dict(lr=(1.0, _P), rho=(0.9, _U), eps=(1e-6, _N), weight_decay=(0.0, _N),
                     maximize=(False, _F)),
    "adabound": dict(lr=(5e-3, _P), betas=((0.9, 0.999), "each [0, 1)"), final_lr=(0.1, _P),
                     gamma=(1e-3, "(0, 1)"), eps=(1e-8, _N), weight_decay=(0.0, _N),
                     amsbound=(False, _F)),
    "swats": dict(lr=(1e-3, _P), betas=((0.9, 0.999), "each [0, 1)"), eps=(1e-9, _N),
                  weight_decay=(0.0, _N)),
    "lookahead": dict(base=("adam", "another rule"), k=(5, "integer >= 1"), alpha=(0.5, _U),
                      lr=(5e-3, _P)),
    "lookahead-sgd": dict(base=("sgd", "another rule"), k=(5, "integer >= 1"),
                          alpha=(0.5, _U), lr=(0.1, _P)),
}


def test_registry_defaults_and_constraints_are_the_expected_ones():
    assert OPTIMIZERS.names() == list(EXPECTED)
    for entry in OPTIMIZERS:
        want = EXPECTED[entry.name]
        assert list(entry.defaults.items()) == [(k, d) for k, (d, _) in want.items()], entry.name
        assert [type(v) for v in entry.defaults.values()] == [type(d) for d, _ in want.values()]
        assert {k: str(c) for k, c in entry.constraints.items()} == {
            k: c for k, (_, c) in want.items()}, entry.name


def _rules() -> list[type[Optimizer]]:
    return sorted({type(optimizer(e.name)) for e in OPTIMIZERS}, key=lambda c: c.__name__)


@pytest.mark.parametrize("cls", _rules(), ids=lambda c: c.__name__)
def test_every_constructor_argument_has_a_constraint_in_its_order(cls):
    args = [k for k in inspect.signature(cls).parameters if k != "base"]  # lookahead's rule
    assert list(cls.constraints()) == args


# --------------------------------------------------------------------------- bad values


def _outside(rule: Interval) -> list[float]:
    """Values just outside each finite end of ``rule`` (the end itself when it is open)."""
    out = []
    if not math.isinf(rule.low):
        out.append(rule.low if rule.closed in ("right", "neither") else rule.low - 1.0)
    if not math.isinf(rule.high):
        out.append(rule.high if rule.closed in ("left", "neither") else rule.high + 1.0)
    return out


def _bad_values(rule, default) -> list[tuple[str, object]]:
    """(label, value) pairs that ``rule`` refuses, generated from its declaration; a
    numeric one also as an ``(R,)`` array whose other run holds the good default."""
    if isinstance(rule, Interval):
        out = [(f"{v:g}", v) for v in [*_outside(rule), math.nan]]
        out += [(f"runs[{v:g}]", np.array([default, v])) for v in _outside(rule)]
        return out + [("text", "x"), ("bool", True), ("matrix", np.ones((2, 2)))]
    if isinstance(rule, Flag):
        return [("text", "yes"), ("int", 1), ("none", None)]
    if isinstance(rule, Integer):
        return [(f"{rule.minimum - 1}", rule.minimum - 1), ("fraction", rule.minimum + 0.5)]
    if isinstance(rule, Choice):  # a form the rule does not have, alone or for one run
        return [("other", "other"), ("number", 1), ("none", None),
                ("runs[other]", np.array([default, "other"]))]
    if isinstance(rule, Pair):
        good = default[0]
        return [("single", good), ("triple", (good,) * 3)] + [
            (f"{side}[{v:g}]", (v, good) if side == "first" else (good, v))
            for v in _outside(rule.item) for side in ("first", "second")]
    assert rule == "another rule", rule  # lookahead's base: a name checked by its factory
    return [("lookahead", "lookahead")]


def _cases() -> list:
    cases = []
    for entry in OPTIMIZERS:
        for name, rule in entry.constraints.items():
            for label, bad in _bad_values(rule, entry.defaults[name]):
                cases.append(pytest.param(entry.name, name, bad,
                                          id=f"{entry.name}-{name}-{label}"))
    return cases


@pytest.mark.parametrize("optim, name, bad", _cases())
def test_a_value_outside_the_declared_constraint_is_refused_naming_it(optim, name, bad):
    with pytest.raises(NNBenchError) as info:
        optimizer(optim, **{name: bad})
    message = str(info.value)
    assert "\n" not in message
    if name == "base":
        assert message == "lookahead's base must be another optimizer, not lookahead"
    else:
        assert message.startswith(name), message


def test_every_hyperparameter_of_every_optimizer_gets_bad_values():
    covered = {(p.values[0], p.values[1]) for p in _cases()}
    assert covered == {(e.name, k) for e in OPTIMIZERS for k in e.defaults}


@pytest.mark.parametrize(
    "optim, hp, message",
    [
        ("sgd", "momentum=-0.5", "momentum must be in [0, 1], got -0.5"),
        ("adam", "betas=0.9,1.0", "betas[1] must be in [0, 1), got 1"),
        ("nesterov", "nesterov=yes", "nesterov must be true or false, got 'yes'"),
        ("rmsprop", "eps=-1", "eps must be in [0, inf), got -1"),
        ("adabound", "gamma=0", "gamma must be in (0, 1), got 0"),
        ("lookahead", "k=0", "k must be an integer >= 1, got 0"),
        ("lookahead", "alpha=2", "alpha must be in [0, 1], got 2"),
        ("lookahead", "base=lookahead", "lookahead's base must be another optimizer"),
    ],
)
def test_a_bad_hp_on_the_command_line_is_one_line_and_exit_2(optim, hp, message, tmp_path,
                                                             monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["run", "--task", "sin-small", "--steps", "5", "--optim",
                                 optim, "--hp", hp, "--no-plot"])
    assert result.exit_code == 2, (result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith(f"nnbench: error: {message}"), lines[0]
    assert not (tmp_path / "results").exists()


def test_an_interval_reads_as_its_range_and_checks_scalars_and_runs_alike():
    rule = Interval(0, 1, closed="left")
    assert str(rule) == "[0, 1)" and str(Interval(-math.inf, 2, closed="both")) == "(-inf, 2]"
    for value in (1.0, np.array([0.5, 1.0])):
        with pytest.raises(NNBenchError, match=r"^beta must be in \[0, 1\), got 1$"):
            rule.check("beta", rule.convert("beta", value))
    Interval(0, math.inf, closed="left").check("eps", math.inf)  # an infinite end: unchecked
    with pytest.raises(ValueError, match="closed must be"):
        Interval(0, 1, closed="open")
