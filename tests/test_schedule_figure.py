"""The lr_schedule figure: the learning-rate curve of each schedule against its closed form
and against the lr the engine logged in metrics.csv; the loss panel beside it."""

from __future__ import annotations

import math

import numpy as np
import pytest
from typer.testing import CliRunner

from nnbench.cli import app
from nnbench.plots import registry
from nnbench.plots.data import load, split_axes
from nnbench.plots.schedules import fig_lr_schedule, has_schedules

runner = CliRunner()
STEPS, LR = 60, 0.1
SCHEDULES = ("constant", "step", "exponential", "cosine", "inverse_sqrt", "warmup")


def closed_form(name: str, t: np.ndarray) -> np.ndarray:
    """lr * f(t) for the defaults (step 100/0.5, exponential 0.99, cosine over the run,
    warmup 100 steps), written out."""
    return LR * {
        "constant": np.ones_like(t, dtype=float),
        "step": 0.5 ** np.floor(t / 100),
        "exponential": 0.99 ** t,
        "cosine": (1 + np.cos(math.pi * t / STEPS)) / 2,
        "inverse_sqrt": 1 / np.sqrt(t + 1.0),
        "warmup": np.minimum(1.0, (t + 1.0) / 100),
    }[name]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("schedules") / "r"
    result = runner.invoke(app, ["compare", "--task", "sin-small", "--optims", "sgd,adam",
                                 "--schedules", ",".join(SCHEDULES), "--lr", str(LR),
                                 "--steps", str(STEPS), "--seeds", "2", "--log-every", "7",
                                 "--out", str(out), "--quiet", "--no-plot",
                                 "--backend", "numpy"])
    assert result.exit_code == 0, (result.output, result.exception)
    return load(out)


def test_each_lr_curve_is_the_schedules_closed_form_and_what_the_engine_used(results):
    assert has_schedules(results)
    fig = fig_lr_schedule(results)
    lr_axes = [ax for ax in fig.axes if ax.get_ylabel() == "learning rate"]
    assert len(lr_axes) == 2  # one row per optimizer
    m = results.metrics
    for ax in lr_axes:
        optim = ax.get_title().split("= ")[1]
        lines = [ln for ln in ax.get_lines() if ln.get_gid() == "lr_curve"]
        assert sorted(ln.get_label().split(",")[0] for ln in lines) == sorted(SCHEDULES)
        for ln in lines:
            name = ln.get_label().split(",")[0]
            t, lr = np.asarray(ln.get_xdata()), np.asarray(ln.get_ydata())
            np.testing.assert_array_equal(t, np.arange(STEPS + 1))
            np.testing.assert_allclose(lr, closed_form(name, t), rtol=1e-12)
            run = f"{optim}-sched-{name}-s0"
            logged = m[m["run_id"] == run].sort_values("step")
            assert len(logged) >= 5
            np.testing.assert_allclose(lr[logged["step"].to_numpy()], logged["lr"], rtol=1e-6)


def test_the_loss_panel_is_the_mean_over_seeds_of_each_schedule(results):
    fig = fig_lr_schedule(results)
    (ax,) = [a for a in fig.axes if a.get_ylabel() == "training loss"
             and a.get_title() == "optimizer = adam"]
    (line,) = [ln for ln in ax.get_lines() if ln.get_label().startswith("cosine")]
    m = results.metrics
    want = (m[m["run_id"].isin(["adam-sched-cosine-s0", "adam-sched-cosine-s1"])]
            .groupby("step")["train_loss"].mean())
    np.testing.assert_allclose(line.get_xdata(), want.index.to_numpy())
    np.testing.assert_allclose(line.get_ydata(), want.to_numpy(), rtol=1e-12)


def test_registered_and_applies_only_when_schedules_vary(results):
    assert "lr_schedule" in registry.expected_figures(results)
    one = type(results)(results.path, results.runs[results.runs["schedule"] == "cosine"],
                        results.metrics, results.layers, results.config, results.meta)
    assert not has_schedules(one) and "lr_schedule" not in registry.expected_figures(one)


def test_cosines_t_max_is_no_axis_of_its_own(results):
    ax_ = split_axes(results)
    assert "schedule_kw" not in (ax_.hue, ax_.style, ax_.facet, *ax_.other)
