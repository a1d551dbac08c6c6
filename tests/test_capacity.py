"""The axes of notes 004's capacity experiments: a parameter budget that chooses each
depth's width (--params, --budgets; runs.csv n_params), the poly task's fit degree
(--degree, --degrees), raw against standardized inputs (--standardize true,false), L2,
dropout and data-seed axes; the closed form's validation loss; the feature-scaling path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nnbench.config import ExperimentConfig, RunConfig, expand, merge, resolve_experiment
from nnbench.core.errors import NNBenchError
from nnbench.core.mlp import MLP
from nnbench.core.models import mlp_param_count, width_for_params
from nnbench.experiment import run_experiment
from nnbench.resolve import resolve
from nnbench.tasks import get_task


def _count(n_in, w, depth, n_out, pieces=1, learnable=False):
    """The count by hand: layer by layer, a loop over the sizes (maxout's pieces widen the
    hidden layers' outputs, PReLU adds one slope per hidden unit)."""
    total, fan_in = 0, n_in
    for _ in range(depth):
        total += fan_in * pieces * w + pieces * w + (w if learnable else 0)
        fan_in = w
    return total + fan_in * n_out + n_out


@pytest.mark.parametrize(("act", "pieces", "learnable"),
                         [("relu", 1, False), ("prelu", 1, True), ("maxout", 3, False)])
def test_the_count_is_the_sum_of_the_networks_parameter_array_sizes(act, pieces, learnable):
    kw = {"pieces": pieces} if act == "maxout" else {}
    for sizes in ([2, 5, 3], [4, 7, 7, 7, 1], [40, 3, 10]):
        net = MLP(sizes, activation=act, seed=0, **kw)
        n_in, *hidden, n_out = sizes
        count = mlp_param_count(n_in, hidden[0], len(hidden), n_out, pieces, learnable)
        assert count == sum(p.size for p in net.params)
        assert count == _count(n_in, hidden[0], len(hidden), n_out, pieces, learnable)


@pytest.mark.parametrize("depth", [1, 2, 3, 6])
@pytest.mark.parametrize(("n_in", "n_out", "pieces", "learnable"),
                         [(2, 3, 1, False), (40, 10, 1, False), (1, 1, 2, False),
                          (5, 2, 1, True)])
def test_no_other_width_is_closer_to_the_budget(depth, n_in, n_out, pieces, learnable):
    for budget in [1, 7, 50, 99, 100, 101, 333, 1000, 2500, 10007]:
        w = width_for_params(budget, n_in, depth, n_out, pieces, learnable)
        gap = abs(_count(n_in, w, depth, n_out, pieces, learnable) - budget)
        widths = range(1, 2 * budget + 2)  # every width up to one past twice the budget
        gaps = [abs(_count(n_in, v, depth, n_out, pieces, learnable) - budget)
                for v in widths]
        assert gap == min(gaps), (budget, w)
        assert w == widths[gaps.index(min(gaps))]  # of two as close, the narrower


def test_budget_axis_sets_widths_and_runs_csv_has_n_params(tmp_path):
    exp = merge(ExperimentConfig(), {"task": "spirals", "budgets": [100, 400],
                                     "depths": [1, 3], "steps": 3, "seeds": 1})
    _, runs = resolve_experiment(exp)
    assert [r.run_id for r in runs] == ["d1-p100-s0", "d1-p400-s0", "d3-p100-s0",
                                        "d3-p400-s0"]
    d = get_task("spirals").load()
    for r in runs:
        gaps = {w: abs(_count(d.n_features, w, r.depth, 3) - r.params) for w in range(1, 500)}
        assert gaps[r.width] == min(gaps.values())
    out = run_experiment(exp, tmp_path / "wd")
    csv = pd.read_csv(out / "runs.csv")
    for rec in csv.to_dict("records"):
        assert rec["n_params"] == _count(d.n_features, rec["width"], rec["depth"], 3)
        saved = np.load(out / "weights" / f"{rec['run_id']}.npz")
        assert rec["n_params"] == sum(saved[k].size for k in saved.files)


def test_every_run_has_n_params(tmp_path):
    exp = merge(ExperimentConfig(), {"task": "rosenbrock", "steps": 2, "seeds": 1})
    csv = pd.read_csv(run_experiment(exp, tmp_path / "land") / "runs.csv")
    assert csv["n_params"].tolist() == [2]  # a point on the landscape


@pytest.mark.parametrize(("given", "message"), [
    ({"params": 100, "width": 4}, "params 100 and width 4 both given"),
    ({"params": 100, "model": "softmax"}, "has no width to choose"),
    ({"params": 100, "depth": 0, "act": "identity"}, "depth 0 has none"),
    ({"params": 0}, "params must be"),
])
def test_a_budget_that_cannot_choose_a_width_is_refused(given, message):
    with pytest.raises(NNBenchError, match=message):
        resolve(RunConfig(task="moons", **given))


def test_a_width_equal_to_the_budgets_is_accepted_so_resolve_is_idempotent():
    c = resolve(RunConfig(task="moons", params=300, depth=2))
    assert resolve(c) == c


def test_degrees_axis_is_the_poly_tasks_fit_degree(tmp_path):
    exp = merge(ExperimentConfig(), {"task": "poly", "model": "linear", "degrees": [1, 4],
                                     "steps": 3, "seeds": 1, "dtype": "float64"})
    out = run_experiment(exp, tmp_path / "bv")
    csv = pd.read_csv(out / "runs.csv")
    assert csv["run_id"].tolist() == ["deg1-s0", "deg4-s0"]
    assert csv["n_params"].tolist() == [2, 5]  # degree k: k weights and a bias
    for k in (1, 4):
        d = get_task("poly", fit_degree=k).load(val_frac=1 / 3, dtype="float64")
        A = np.hstack([d.X_train, np.ones((len(d.X_train), 1))])
        sol = np.linalg.lstsq(A, d.y_train, rcond=None)[0]  # the oracle, by hand
        Av = np.hstack([d.X_val, np.ones((len(d.X_val), 1))])
        row = csv[csv["degree"] == k].iloc[0]
        assert row["closed_form_loss"] == pytest.approx(np.mean((A @ sol - d.y_train) ** 2))
        assert row["closed_form_val_loss"] == pytest.approx(
            np.mean((Av @ sol - d.y_val) ** 2), rel=1e-10)


def test_degree_fails_on_a_task_without_one_and_against_task_kw():
    with pytest.raises(NNBenchError, match="tasks with it: poly"):
        resolve(RunConfig(task="moons", degree=3))
    with pytest.raises(NNBenchError, match="differ; give it once"):
        resolve(RunConfig(task="poly", degree=3, task_kw={"fit_degree": 5}))


def test_legendre_basis_spans_the_powers_so_the_least_squares_fit_is_the_same():
    preds = []
    for basis in ("power", "legendre"):
        t = get_task("poly", fit_degree=6, basis=basis, standardize=False)
        d = t.load(dtype="float64")
        A = np.hstack([d.X_train, np.ones((len(d.X_train), 1))])
        preds.append(A @ np.linalg.lstsq(A, d.y_train, rcond=None)[0])
        if basis == "legendre":  # P_2(x) = (3 x^2 - 1) / 2 from the power basis's x
            x = get_task("poly", fit_degree=1, standardize=False).load(dtype="float64")
            np.testing.assert_allclose(d.X_train[:, 1], (3 * x.X_train[:, 0] ** 2 - 1) / 2)
    np.testing.assert_allclose(preds[0], preds[1], rtol=1e-8)
    with pytest.raises(NNBenchError, match="basis must be one of power, legendre"):
        get_task("poly", basis="chebyshev")


def test_standardize_axis_gives_raw_and_standardized_inputs():
    exp = merge(ExperimentConfig(), {"task": "linear", "standardizes": [False, True],
                                     "task_kw": {"n_features": 2, "scales": (1.0, 10.0)},
                                     "seeds": 1})
    runs = expand(exp)
    assert [r.run_id for r in runs] == ["raw-s0", "std-s0"]
    from nnbench.tasks.build import make_task

    raw, std = (make_task(r).load(dtype="float64") for r in runs)
    assert raw.mean is None and raw.X_train.std(axis=0)[1] > 8  # the second in tens
    np.testing.assert_allclose(std.X_train.std(axis=0), [1, 1])
    np.testing.assert_allclose(std.X_train * std.std + std.mean, raw.X_train)
    with pytest.raises(NNBenchError, match="tasks with it"):
        make_task(RunConfig(task="rosenbrock", standardize=False))


def test_scales_change_the_units_not_the_targets():
    plain = get_task("linear", n_features=2).load(dtype="float64")
    scaled_task = get_task("linear", n_features=2, scales=(1.0, 10.0))
    scaled = scaled_task.load(dtype="float64")
    np.testing.assert_allclose(scaled.X_train, plain.X_train * [1.0, 10.0])
    np.testing.assert_array_equal(scaled.y_train, plain.y_train)
    np.testing.assert_allclose(scaled_task.theta(0)[:, 0] * [1, 10],
                               get_task("linear", n_features=2).theta(0)[:, 0])
    with pytest.raises(NNBenchError, match="one number > 0 per feature"):
        get_task("linear", n_features=2, scales=(1.0,))


def test_l2_dropout_and_data_seed_axes_expand_into_their_fields():
    exp = merge(ExperimentConfig(), {"task": "poly", "degree": 1, "depth": 1, "act": "tanh",
                                     "l2s": [0.0, 0.01], "dropouts": [0.0, 0.2],
                                     "data_seeds": [0, 3], "seeds": 1})
    runs = expand(exp)
    assert len(runs) == 8
    assert runs[0].run_id == "l2-0.0-dropout-0.0-data0-s0"
    assert {(r.l2, r.dropout, r.data_seed) for r in runs} == {
        (a, b, c) for a in (0.0, 0.01) for b in (0.0, 0.2) for c in (0, 3)}
    d0, d3 = (get_task("poly").load(seed=s) for s in (0, 3))
    assert not np.array_equal(d0.X_train, d3.X_train)  # another draw of the data


def test_the_feature_scaling_path_is_the_runs_own_training(tmp_path):
    from nnbench import plots
    from nnbench.plots.scaling import replay

    exp = merge(ExperimentConfig(), {
        "task": "linear", "model": "linear", "optim": "sgd", "lr": 0.01, "steps": 20,
        "standardizes": [False, True], "seeds": 1, "dtype": "float64",
        "task_kw": {"n_features": 2, "scales": (1.0, 10.0)}})
    out = run_experiment(exp, tmp_path / "fs")
    res = plots.load(out)
    assert "feature_scaling" in plots.expected_figures(res)
    path, cfg, ds = replay(res, "raw-s0")
    assert path.shape == (21, 3)
    # the path is gradient descent on the MSE, step by step, written out by hand
    X, y = ds.X_train, ds.y_train[:, 0]
    p = path[0].copy()
    for t in range(20):
        r = X @ p[:2] + p[2] - y
        p -= 0.01 * np.array([*(2 * X.T @ r / len(y)), 2 * r.mean()])
        np.testing.assert_allclose(path[t + 1], p, rtol=1e-10)
    # a run whose weights are not where the replay ends gets no path
    w = dict(np.load(out / "weights" / "raw-s0.npz"))
    w["p0"] = w["p0"] + 1.0
    np.savez(out / "weights" / "raw-s0.npz", **w)
    assert replay(plots.load(out), "raw-s0") is None


def test_cli_budgets_degrees_and_standardize(tmp_path):
    from typer.testing import CliRunner

    from nnbench.cli import app

    r = CliRunner().invoke(app, ["compare", "--task", "linear", "--standardize", "true,false",
                                 "--steps", "2", "--seeds", "1", "--out",
                                 str(tmp_path / "a"), "--no-plot", "--quiet"])
    assert r.exit_code == 0, r.output
    assert pd.read_csv(tmp_path / "a" / "runs.csv")["standardize"].tolist() == [True, False]
    r = CliRunner().invoke(app, ["run", "--task", "linear", "--standardize", "maybe"])
    assert r.exit_code == 2 and "--standardize expects true or false" in r.output
    r = CliRunner().invoke(app, ["compare", "--task", "moons", "--params", "100",
                                 "--budgets", "100,200"])
    assert r.exit_code == 2 and "--params and --budgets both given" in r.output


def test_a_switch_reads_true_or_false_in_the_summary():
    from nnbench.summary import best_lr_lines, fmt_value

    assert fmt_value(np.bool_(False)) == "false" and fmt_value(True) == "true"
    best = pd.DataFrame({"standardize": [True], "best_lr": [0.1],
                         "criterion": ["final_train_loss"], "mean_loss": [0.01],
                         "edge": [None]})
    assert best_lr_lines(best) == ["best lr for standardize true: 0.1 "
                                   "(mean final_train_loss 0.01000)"]
