"""SWATS's switch step per run in runs.csv (against Algorithm 1 written by hand over the
landscape's own gradient) and its marker on the loss figure (against runs.csv and
metrics.csv)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from nnbench.cli import app
from nnbench.plots.curves import fig_curves, switch_points
from nnbench.plots.data import load
from nnbench.tasks import get_task

runner = CliRunner()
LRS = (0.003, 0.01, 0.03, 0.1)
EPS = 1e-4


def swats_switch_step(task, lr: float, eps: float, steps: int, b1=0.9, b2=0.999) -> int:
    """The update (counted from 1) whose test switches Algorithm 1 from Adam to SGD on
    ``task`` from its start (-1: none within ``steps``)."""
    x = np.asarray(task.start, dtype=np.float64).copy()
    m, a = np.zeros(2), np.zeros(2)
    lam = 0.0
    for k in range(1, steps + 1):
        g = np.asarray(task.grad(x[None]), dtype=np.float64)[0]
        m = b1 * m + (1 - b1) * g
        a = b2 * a + (1 - b2) * g * g
        p = -lr * np.sqrt(1 - b2**k) / (1 - b1**k) * m / (np.sqrt(a) + eps)
        x = x + p
        if p @ g != 0:
            gamma = (p @ p) / (-(p @ g))
            lam = b2 * lam + (1 - b2) * gamma
            if k > 1 and abs(lam / (1 - b2**k) - gamma) < eps:
                return k
    return -1


def _compare(out, *args):
    result = runner.invoke(app, ["compare", "--task", "saddle", "--optims", "swats,adam",
                                 "--hp", f"eps={EPS}", "--steps", "200", "--seeds", "1",
                                 "--dtype", "float64", "--backend", "numpy", "--out", str(out),
                                 "--quiet", *args])
    assert result.exit_code == 0, (result.output, result.exception)
    return pd.read_csv(out / "runs.csv")


def test_runs_csv_holds_each_swats_runs_switch_step_and_nothing_for_adam(tmp_path):
    runs = _compare(tmp_path / "grid", "--lrs", ",".join(map(str, LRS)), "--no-plot")
    task = get_task("saddle")
    want = [swats_switch_step(task, lr, EPS, 200) for lr in LRS]
    assert len(set(want)) >= 3 and -1 in want  # runs switch at different steps, one never
    swats = runs[runs["optimizer"] == "swats"].sort_values("lr")
    assert list(swats["lr"]) == list(LRS)
    assert list(swats["switch_step"].astype(int)) == want
    assert runs.loc[runs["optimizer"] == "adam", "switch_step"].isna().all()
    text = (tmp_path / "grid" / "runs.csv").read_text().splitlines()
    header = text[0].split(",")
    assert header.index("switch_step") == header.index("diverged_step") + 1


def test_the_loss_figure_marks_the_switch_on_the_swats_curve_only(tmp_path):
    out = tmp_path / "one"
    runs = _compare(out, "--lr", "0.003", "--no-plot")
    k = int(runs.loc[runs["optimizer"] == "swats", "switch_step"].iloc[0])
    assert k == swats_switch_step(get_task("saddle"), 0.003, EPS, 200) > 1
    res = load(out)
    m = res.metrics
    at = m[(m["run_id"] == "swats-s0") & (m["step"] == k)].iloc[0]
    fig = fig_curves(res)
    marks = [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid() == "switch_step"]
    assert len(marks) == 2  # the step panel and the wall-time panel, on swats alone
    by_x = {ax.get_xlabel(): ln for ax in fig.axes for ln in ax.get_lines()
            if ln.get_gid() == "switch_step"}
    (step_mark,) = [ln for label, ln in by_x.items() if "step" in label]
    (wall_mark,) = [ln for label, ln in by_x.items() if "step" not in label]
    np.testing.assert_allclose(step_mark.get_xdata(), [k])
    np.testing.assert_allclose(step_mark.get_ydata(), [at["train_loss"]], rtol=1e-12)
    np.testing.assert_allclose(wall_mark.get_xdata(), [at["wall_s"]], rtol=1e-12)
    assert step_mark.get_color() == [ln for ln in fig.axes[0].get_lines()
                                     if ln.get_label().startswith("swats")][0].get_color()


def test_switch_points_are_on_the_mean_over_seeds_at_each_runs_step():
    runs = pd.DataFrame({"run_id": ["a", "b", "c"], "switch_step": [2, 5, -1]})
    steps = np.arange(8)
    metrics = pd.DataFrame({"run_id": np.repeat(["a", "b", "c"], 8),
                            "step": np.tile(steps, 3),
                            "wall_s": np.tile(steps * 0.5, 3),
                            "train_loss": np.concatenate([10.0 - steps, 20.0 - steps,
                                                          30.0 - steps])})

    class Res:
        pass

    res = Res()
    res.runs, res.metrics = runs, metrics
    xs, ys = switch_points(res, ["a", "b", "c"])
    assert list(xs) == [2, 5]
    assert list(ys) == pytest.approx([20.0 - 2, 20.0 - 5])  # the mean of the three curves
    xs, _ = switch_points(res, ["a", "b", "c"], x="wall_s")
    assert list(xs) == pytest.approx([1.0, 2.5])
    res.runs = runs.drop(columns="switch_step")
    assert switch_points(res, ["a"])[0].size == 0
