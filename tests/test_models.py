"""The classic models: the closed form against lstsq and the normal equations, gradient descent
converging to it, the perceptron rule, its convergence on separable data and failure on XOR,
logistic and softmax regression, the checks of the model options."""

from __future__ import annotations

import numpy as np
import pytest

from nnbench.config import RunConfig, resolve
from nnbench.core.errors import NNBenchError, UnknownNameError
from nnbench.core.mlp import MLP
from nnbench.core.models import MODELS, closed_form
from nnbench.core.optimizers import optimizer
from nnbench.engine import ListSink, train_group
from nnbench.tasks import get_task


def run(**kw) -> tuple:
    cfg = resolve(RunConfig(run_id="r", **kw))
    sink = ListSink()
    res = train_group([cfg], sink=sink)
    return res.runs[0], sink


# --------------------------------------------------------------------------- closed form


def test_closed_form_is_the_least_squares_solution():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    Y = X @ rng.normal(size=(3, 2)) + 0.7 + 0.1 * rng.normal(size=(40, 2))
    W, b = closed_form(X, Y)
    A = np.hstack([X, np.ones((40, 1))])  # the notes' theta = (X^T X)^-1 X^T y with a bias
    theta = np.linalg.lstsq(A, Y, rcond=None)[0]
    np.testing.assert_allclose(W, theta[:3], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b, theta[3], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("loss, scale", [("mse", lambda n, k: 1 / (n * k)),
                                         ("half_sse", lambda n, k: 0.5 / n)])
def test_ridge_closed_form_solves_the_normal_equations_without_a_bias_penalty(loss, scale):
    """d/dW [s ||XW + b - Y||^2 + l2/2 ||W||^2] = 0 and d/db = 0, solved as one linear system."""
    rng = np.random.default_rng(1)
    n, d, k, l2 = 30, 4, 2, 0.3
    X = rng.normal(size=(n, d)) + 2.0
    Y = rng.normal(size=(n, k))
    W, b = closed_form(X, Y, l2=l2, loss=loss)
    A = np.hstack([X, np.ones((n, 1))])
    P = np.diag([l2 / (2 * scale(n, k))] * d + [0.0])  # the bias is not penalized
    theta = np.linalg.solve(A.T @ A + P, A.T @ Y)
    np.testing.assert_allclose(W, theta[:d], rtol=1e-9)
    np.testing.assert_allclose(b, theta[d], rtol=1e-9)


def test_closed_form_refuses_a_loss_without_one():
    with pytest.raises(NNBenchError, match="squared loss"):
        closed_form(np.ones((3, 1)), np.ones((3, 1)), loss="hinge")


@pytest.mark.parametrize("l2", [None, 0.05])
def test_gradient_descent_reaches_the_closed_form_loss(l2):
    res, sink = run(task="linear", model="linear", optim="sgd", lr=0.3, steps=400,
                    dtype="float64", l2=l2)
    data = get_task("linear").load(seed=0, dtype="float64")
    W, b = closed_form(data.X_train, data.y_train, l2 or 0.0)
    r = data.X_train @ W + b - data.y_train
    expected = np.mean(r ** 2) + 0.5 * (l2 or 0.0) * np.sum(W ** 2)
    assert res.extra["closed_form_loss"] == pytest.approx(expected, rel=1e-10)
    assert res.final_train_loss == pytest.approx(expected, rel=1e-6)
    first = [m["train_loss"] for m in sink.metrics if m["step"] == 0][0]
    assert first > 2 * expected  # it really descended to it
    if l2:  # the penalized optimum has a larger data loss than the plain one
        W0, b0 = closed_form(data.X_train, data.y_train)
        assert np.sum(W ** 2) < np.sum(W0 ** 2)


# --------------------------------------------------------------------------- perceptron


def test_a_perceptron_step_is_the_rule_on_a_misclassified_point_only():
    """SGD on the perceptron loss with one point: w + eta t x if t (w.x + b) <= 0, else w."""
    net = MODELS.create("perceptron", n_features=3, n_outputs=2, seed=0, runs=1,
                        dtype="float64", init="torch")
    opt = optimizer("sgd", lr=0.5)
    state = opt.init(net.params)
    x = np.array([[0.3, -1.2, 2.0]])
    for label in (0, 1):
        w, b = net.params[0][0, :, 0].copy(), net.params[1][0, 0, 0]
        t = 2 * label - 1
        wrong = t * (x[0] @ w + b) <= 0
        _, grads = net.loss_and_grads(x, np.array([label]), loss="perceptron")
        opt.update(net.params, grads, state)
        np.testing.assert_allclose(net.params[0][0, :, 0], w + 0.5 * t * x[0] * wrong)
        np.testing.assert_allclose(net.params[1][0, 0, 0], b + 0.5 * t * wrong)


def test_the_perceptron_converges_on_separable_blobs_and_stops():
    res, sink = run(task="blobs", model="perceptron", epochs=30, dtype="float64")
    assert res.extra["converged"] is True
    assert res.extra["updates"] >= 1
    assert res.final_train_acc == 1.0
    assert res.status == "done"
    n = len(get_task("blobs").load(seed=0).X_train)
    # it stops at the end of the first epoch without an update, long before 30 epochs
    assert res.steps_done == res.extra["epochs_done"] * n < 30 * n
    assert res.steps_done % n == 0
    assert max(m["step"] for m in sink.metrics) == res.steps_done


def test_the_perceptron_fails_on_xor_and_keeps_updating():
    res, _ = run(task="xor", model="perceptron", epochs=50, dtype="float64")
    assert res.extra["converged"] is False
    assert res.final_train_acc < 1.0
    assert res.extra["updates"] >= 50  # at least one misclassified point in every epoch
    assert res.extra["epochs_done"] == 50


def test_perceptron_counters_do_not_depend_on_the_group_or_the_threads():
    cfgs = [resolve(RunConfig(run_id=f"s{s}", task="blobs", model="perceptron", epochs=20,
                              seed=s)) for s in range(4)]
    alone = [train_group([c], threads=1).runs[0].extra for c in cfgs]
    grouped = [r.extra for r in train_group(cfgs, threads=2).runs]
    for a, g in zip(alone, grouped, strict=True):
        assert (a["updates"], a["epochs_done"]) == (g["updates"], g["epochs_done"])
        assert a["converged"] == g["converged"]


def test_perceptron_counts_the_updates_it_made():
    """updates = the steps whose weights changed, replayed by hand with the rule."""
    cfg = resolve(RunConfig(task="blobs", model="perceptron", steps=60, dtype="float64",
                            run_id="r", seed=2, task_kw={"n_points": 40}))
    res = train_group([cfg])
    from nnbench.engine import batch_rng

    data = get_task("blobs", n_points=40).load(seed=0, dtype="float64")
    X, y = data.X_train, 2 * data.y_train - 1
    w, b, updates, rng = np.zeros(X.shape[1]), 0.0, 0, batch_rng(2)
    order: list[int] = []
    for _ in range(60):
        if not order:
            order = list(rng.permutation(len(X)))
        i = order.pop(0)
        if y[i] * (X[i] @ w + b) <= 0:
            w, b, updates = w + y[i] * X[i], b + y[i], updates + 1
    assert res.runs[0].extra["updates"] == updates
    np.testing.assert_allclose(res.runs[0].weights[0][0, :, 0], w)


# --------------------------------------------------------------------------- the others


def test_logistic_and_softmax_are_networks_without_hidden_layers():
    log = MODELS.create("logistic", n_features=2, n_outputs=2, seed=0, runs=2)
    soft = MODELS.create("softmax", n_features=2, n_outputs=3, seed=0, runs=2)
    assert [p.shape for p in log.params] == [(2, 2, 1), (2, 1, 1)]
    assert [p.shape for p in soft.params] == [(2, 2, 3), (2, 1, 3)]
    with pytest.raises(NNBenchError, match="two classes"):
        MODELS.create("logistic", n_features=2, n_outputs=3)


@pytest.mark.parametrize("loss", ["bce_with_logits", "sigmoid_mse"])
def test_logistic_regression_separates_blobs_with_both_losses(loss):
    res, _ = run(task="blobs", model="logistic", loss=loss, steps=150, dtype="float64")
    assert res.final_train_acc == 1.0


def test_cross_entropy_keeps_a_gradient_where_the_squared_error_saturates():
    """The notes' argument: at a confident wrong answer sigma'(x) -> 0 stalls sigmoid_mse."""
    net = MLP([1, 1], seed=0, dtype="float64")
    net.params[0][...] = 8.0
    net.params[1][...] = 0.0
    X, y = np.array([[1.0]]), np.array([0])  # logit 8, label 0: badly wrong
    _, g_ce = net.loss_and_grads(X, y, loss="bce_with_logits")
    _, g_se = net.loss_and_grads(X, y, loss="sigmoid_mse")
    assert abs(g_ce[0].item()) > 100 * abs(g_se[0].item())


def test_unknown_model_names_the_closest():
    with pytest.raises(UnknownNameError, match="perceptron"):
        resolve(RunConfig(task="xor", model="perceptorn"))


@pytest.mark.parametrize("kw, match", [
    ({"task": "xor", "model": "linear"}, "linear regression"),
    ({"task": "sin", "model": "logistic"}, "classifier"),
    ({"task": "xor", "model": "perceptron", "optim": "adam"}, "its own rule"),
    ({"task": "xor", "model": "perceptron", "batch_size": 2}, "its own rule"),
    ({"task": "blobs", "model": "logistic", "loss": "hinge"}, "bce_with_logits"),
    ({"task": "xor", "model": "softmax", "dropout": 0.5}, "hidden units"),
    ({"task": "xor", "pieces": 3}, "maxout"),
    ({"task": "xor", "model": "logistic", "binary": True}, "binary"),
    ({"task": "xor", "l2": -1.0}, "l2"),
    ({"task": "xor", "dropout": 1.0}, "dropout"),
    ({"task": "beale", "l2": 0.1}, "landscape"),
])
def test_options_that_do_not_fit_are_refused(kw, match):
    with pytest.raises(NNBenchError, match=match):
        resolve(RunConfig(**kw))


def test_model_defaults_come_before_the_task_defaults():
    cfg = resolve(RunConfig(task="xor", model="perceptron"))
    assert (cfg.optim, cfg.lr, cfg.batch_size, cfg.loss, cfg.init) == (
        "sgd", 1.0, 1, "perceptron", "zeros")
    cfg = resolve(RunConfig(task="blobs", model="logistic"))
    assert cfg.loss == "bce_with_logits"
    assert cfg.optim == "adam" and cfg.lr == 0.1  # the task's optimizer and its lr


def test_linear_and_perceptron_figures(tmp_path):
    from nnbench.cli import _main

    lin, per = tmp_path / "lin", tmp_path / "per"
    assert _main(["run", "--task", "linear", "--model", "linear", "--steps", "50", "--out",
                  str(lin), "--quiet"]) == 0
    assert (lin / "figures" / "closed_form.png").stat().st_size > 0
    header = (lin / "runs.csv").read_text().splitlines()[0].split(",")
    assert header[header.index("final_train_loss") + 1] == "closed_form_loss"
    assert _main(["run", "--task", "blobs", "--model", "perceptron", "--epochs", "3", "--out",
                  str(per), "--quiet"]) == 0
    assert (per / "figures" / "decision_regions.png").stat().st_size > 0


def test_the_summary_says_xor_is_not_separable(tmp_path, capsys):
    from nnbench.cli import _main

    assert _main(["run", "--task", "xor", "--model", "perceptron", "--epochs", "20", "--out",
                  str(tmp_path / "x"), "--no-plot"]) == 0
    assert "perceptron on xor: not separable within 20 epochs" in capsys.readouterr().out


def test_models_and_losses_are_grid_axes():
    from nnbench.config import dump_toml, experiment_from_dict, loads_toml, resolve_experiment

    exp = experiment_from_dict({"task": "xor", "models": ["perceptron", "mlp"], "seeds": 1})
    full, runs = resolve_experiment(exp)
    assert [r.run_id for r in runs] == ["perceptron-s0", "mlp-s0"]
    assert [(r.optim, r.loss) for r in runs] == [("sgd", "perceptron"),
                                                 ("adam", "softmax_cross_entropy")]
    assert [r.run_id for r in resolve_experiment(loads_toml(dump_toml(full)))[1]] == [
        "perceptron-s0", "mlp-s0"]
    exp = experiment_from_dict({"task": "blobs", "model": "logistic",
                                "losses": ["bce_with_logits", "sigmoid_mse"], "seeds": 1})
    assert [r.loss for r in resolve_experiment(exp)[1]] == ["bce_with_logits", "sigmoid_mse"]


def test_a_perceptron_step_is_counted_once_however_its_pass_is_split():
    """Blocks compute passes; the counting hook runs once per step, not once per block."""
    from concurrent.futures import ThreadPoolExecutor

    from nnbench.core.parallel import Chunking

    net = MODELS.create("perceptron", n_features=2, n_outputs=2, seed=[0, 1, 2, 3], runs=4,
                        dtype="float64")
    X, y = np.array([[1.0, -1.0]]), np.array([1])
    with ThreadPoolExecutor(2) as pool:
        net.chunking = Chunking(target=1, min_rows=1, pool=pool, threads=2)
        for _ in range(3):  # zero weights: every run misclassifies the point each step
            net.loss_and_grads(X, y)
    assert net.updates.tolist() == [2, 2, 2, 2]  # the first two steps' updates are counted
