"""The training engine: groups on the runs axis, logging, divergence, early stopping."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from nnbench.config import RunConfig, resolve
from nnbench.core.errors import NNBenchError
from nnbench.engine import (
    LAYER_COLUMNS,
    ListSink,
    NullReporter,
    Reporter,
    RunProgress,
    StopFlag,
    batch_rng,
    metric_columns,
    train_group,
)


def tiny(seed: int = 0, lr: float = 0.05, **kw) -> RunConfig:
    """A small float64 sin run (64 points, 1-8-1 sigmoid)."""
    base = dict(task="sin-small", task_kw={"n_points": 64}, width=8, steps=20, optim="sgd",
                dtype="float64", log_every=1)
    base.update(kw)
    return resolve(RunConfig(seed=seed, lr=lr, run_id=f"r{seed}-{lr!r}", **base))


def by_run(rows: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in rows:
        out.setdefault(r["run_id"], []).append(r)
    return out


def numeric(rows: list[dict], drop=("run_id", "wall_s")) -> np.ndarray:
    return np.array([[r[k] for k in r if k not in drop] for r in rows], dtype=np.float64)


# --------------------------------------------------------------------------- oracle


def test_full_batch_sgd_equals_the_textbook_loop():
    """Full-batch SGD through the engine equals W <- W - lr * dC/dW written out by hand."""
    from nnbench.core.mlp import MLP
    from nnbench.tasks import get_task

    cfg = tiny(seed=3, lr=0.1, steps=15)
    res = train_group([cfg], sink=(sink := ListSink()))
    data = get_task("sin-small", n_points=64).load(seed=0, dtype="float64")
    net = MLP([1, 8, 1], activation="sigmoid", init="torch", seed=[3], dtype="float64")
    losses = []
    for _ in range(15):
        out = net.forward(data.X_train)
        losses.append(np.mean((out[0] - data.y_train) ** 2))
        _, grads = net.loss_and_grads(data.X_train, data.y_train, loss="mse")
        for p, g in zip(net.params, grads, strict=True):
            p -= 0.1 * g
    losses.append(np.mean((net.forward(data.X_train)[0] - data.y_train) ** 2))
    logged = [r["train_loss"] for r in sink.metrics]
    np.testing.assert_allclose(logged, losses, rtol=1e-12)
    for w, p in zip(res.runs[0].weights, net.params, strict=True):
        np.testing.assert_allclose(w, p, rtol=1e-12)
    assert res.runs[0].status == "done" and res.runs[0].steps_done == 15


def test_update_ratio_of_sgd_is_lr_times_grad_over_weight_norm():
    """For plain SGD, ||dW|| / ||W|| = lr ||g|| / ||W||, with g and W from a loop written
    by hand (not from the engine's own logged norms)."""
    from nnbench.core.mlp import MLP
    from nnbench.tasks import get_task

    sink = ListSink()
    train_group([tiny(seed=2, lr=0.2, steps=5)], sink=sink)
    data = get_task("sin-small", n_points=64).load(seed=0, dtype="float64")
    net = MLP([1, 8, 1], activation="sigmoid", init="torch", seed=[2], dtype="float64")
    logged = {(r["step"], r["layer"]): r for r in sink.layers}
    for step in range(5):
        _, grads = net.loss_and_grads(data.X_train, data.y_train, loss="mse")
        for layer in (1, 2):
            W, g = net.params[2 * layer - 2], grads[2 * layer - 2]
            row = logged[(step, layer)]
            assert row["grad_norm"] == pytest.approx(np.linalg.norm(g), rel=1e-10)
            assert row["weight_norm"] == pytest.approx(np.linalg.norm(W), rel=1e-10)
            assert row["update_ratio"] == pytest.approx(
                0.2 * np.linalg.norm(g) / np.linalg.norm(W), rel=1e-9)
        for p, g in zip(net.params, grads, strict=True):
            p -= 0.2 * g
    last = [r for r in sink.layers if r["step"] == 5]
    assert last and all(np.isnan(r["update_ratio"]) for r in last)


class Bowl:
    """A stand-in landscape: f(P) = (a x^2 + b y^2) / 2, minimum at the origin."""

    kind = "landscape"
    name = "bowl"
    defaults = {"optim": "sgd", "lr": 0.1, "steps": 10}
    start = np.array([1.0, -2.0])
    a, b = 1.0, 4.0

    def value(self, P):
        return 0.5 * (self.a * P[:, 0] ** 2 + self.b * P[:, 1] ** 2)

    def grad(self, P):
        return np.stack([self.a * P[:, 0], self.b * P[:, 1]], axis=1)

    def distance_to_min(self, P):
        return np.hypot(P[:, 0], P[:, 1])

    def model(self, runs, dtype):
        from nnbench.tasks.landscapes import LandscapeModel

        return LandscapeModel(self, runs, dtype)


def test_landscape_gradient_descent_follows_the_closed_form():
    """On the bowl, x_t = (1 - lr a)^t x_0 and y_t = (1 - lr b)^t y_0."""
    task = Bowl()
    cfgs = [resolve(RunConfig(task="bowl", lr=lr, steps=10, seed=s, dtype="float64",
                              log_every=1, run_id=f"b{s}"), task)
            for s, lr in ((0, 0.1), (1, 0.2))]
    sink = ListSink()
    train_group(cfgs, sink=sink, task=task)
    assert list(sink.metrics[0]) == metric_columns("landscape")
    for cfg in cfgs:
        rows = by_run(sink.metrics)[cfg.run_id]
        t = np.array([r["step"] for r in rows])
        x = (1 - cfg.lr * task.a) ** t * 1.0
        y = (1 - cfg.lr * task.b) ** t * -2.0
        np.testing.assert_allclose([r["x0"] for r in rows], x, rtol=1e-12)
        np.testing.assert_allclose([r["x1"] for r in rows], y, rtol=1e-12)
        np.testing.assert_allclose([r["dist_to_min"] for r in rows], np.hypot(x, y), rtol=1e-12)
        np.testing.assert_allclose([r["train_loss"] for r in rows],
                                   0.5 * (x**2 + 4 * y**2), rtol=1e-12)
    assert sink.layers == []


# --------------------------------------------------------------------------- the runs axis


@pytest.mark.parametrize("batch_size, extra", [
    ("full", {}), (16, {}), (16, {"dropout": 0.3, "act": "rrelu"}),
])
def test_a_run_does_not_depend_on_its_group(batch_size, extra):
    """A run trained in a group of 4 (other seeds and learning rates) equals it alone,
    also with per-run random batches, dropout masks and RReLU slopes."""
    cfgs = [tiny(seed=s, lr=lr, batch_size=batch_size, optim="adam", steps=25, **extra)
            for s, lr in ((0, 0.01), (1, 0.03), (2, 0.01), (5, 0.1))]
    sink = ListSink()
    group = train_group(cfgs, sink=sink)
    grouped = by_run(sink.metrics)
    grouped_layers = by_run(sink.layers)
    for i, cfg in enumerate(cfgs):
        alone_sink = ListSink()
        alone = train_group([cfg], sink=alone_sink)
        np.testing.assert_allclose(numeric(alone_sink.metrics), numeric(grouped[cfg.run_id]),
                                   rtol=1e-10, atol=1e-300)
        np.testing.assert_allclose(numeric(alone_sink.layers),
                                   numeric(grouped_layers[cfg.run_id]), rtol=1e-10)
        for a, b in zip(alone.runs[0].weights, group.runs[i].weights, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-10)


def test_minibatch_sgd_equals_the_textbook_loop_with_the_runs_own_permutations():
    """Each epoch a fresh permutation from the run's batch generator, cut into batches
    of 16 (the last epoch step takes the rest); train_loss logs the batch's loss between
    evaluations."""
    from nnbench.core.mlp import MLP
    from nnbench.tasks import get_task

    cfg = tiny(seed=4, lr=0.1, steps=10, batch_size=24, eval_every=1000)
    sink = ListSink()
    res = train_group([cfg], sink=sink)
    data = get_task("sin-small", n_points=64).load(seed=0, dtype="float64")
    net = MLP([1, 8, 1], seed=[4], dtype="float64")
    rng = batch_rng(4)
    batch_losses = []
    for t in range(10):
        j = t % 3  # 64 samples in batches of 24: 24, 24, 16
        if j == 0:
            perm = rng.permutation(64)
        idx = perm[j * 24:(j + 1) * 24]
        X, Y = data.X_train[idx], data.y_train[idx]
        batch_losses.append(np.mean((net.forward(X)[0] - Y) ** 2))
        _, grads = net.loss_and_grads(X, Y, loss="mse")
        for p, g in zip(net.params, grads, strict=True):
            p -= 0.1 * g
    logged = [r["train_loss"] for r in sink.metrics]
    np.testing.assert_allclose(logged[1:10], batch_losses[1:10], rtol=1e-12)
    full = np.mean((net.forward(data.X_train)[0] - data.y_train) ** 2)
    assert logged[10] == pytest.approx(full, rel=1e-12)  # the last step is an evaluation
    for w, p in zip(res.runs[0].weights, net.params, strict=True):
        np.testing.assert_allclose(w, p, rtol=1e-12)
    assert not np.array_equal(batch_rng(7).permutation(64), batch_rng(8).permutation(64))


def test_runs_of_a_group_must_share_the_architecture():
    with pytest.raises(NNBenchError, match="differ only in seed and lr"):
        train_group([tiny(), tiny(seed=1, width=4)])


# --------------------------------------------------------------------------- logging


def test_logging_at_zero_every_k_and_the_last_step():
    sink = ListSink()
    train_group([tiny(steps=25, log_every=10)], sink=sink)
    assert [r["step"] for r in sink.metrics] == [0, 10, 20, 25]
    assert list(sink.metrics[0]) == metric_columns("regression")
    assert sorted({r["step"] for r in sink.layers}) == [0, 10, 20, 25]
    assert list(sink.layers[0]) == LAYER_COLUMNS
    assert {r["layer"] for r in sink.layers} == {1, 2}
    hidden = [r for r in sink.layers if r["layer"] == 1]
    assert all(0 <= r["saturated_frac"] <= 1 and np.isnan(r["dead_frac"]) for r in hidden)


def test_relu_layers_report_dead_fraction_and_accuracy_for_classification():
    cfg = resolve(RunConfig(task="blobs", act="relu", depth=1, width=8, steps=6,
                            dtype="float64", val_frac=0.2, seed=0, run_id="c"))
    sink = ListSink()
    res = train_group([cfg], sink=sink)
    assert list(sink.metrics[0]) == metric_columns("classification")
    assert all(0 <= r["train_acc"] <= 1 and 0 <= r["val_acc"] <= 1 for r in sink.metrics)
    hidden = [r for r in sink.layers if r["layer"] == 1]
    assert all(0 <= r["dead_frac"] <= 1 and np.isnan(r["saturated_frac"]) for r in hidden)
    assert res.runs[0].final_train_acc == sink.metrics[-1]["train_acc"]


# --------------------------------------------------------------------------- divergence


def test_divergence_stops_only_the_diverging_run_without_warnings():
    cfgs = [tiny(seed=0, lr=0.05), tiny(seed=1, lr=1e6), tiny(seed=2, lr=0.05)]
    sink = ListSink()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = train_group(cfgs, sink=sink)
    status = [r.status for r in res.runs]
    assert status == ["done", "diverged", "done"]
    bad = res.runs[1]
    rows = by_run(sink.metrics)
    assert bad.diverged_step == rows[cfgs[1].run_id][-1]["step"] == bad.steps_done
    assert bad.diverged_step < 20
    last = rows[cfgs[1].run_id][-1]["train_loss"]
    first = rows[cfgs[1].run_id][0]["train_loss"]
    assert not np.isfinite(last) or abs(last) > 1e6 * first
    assert all(np.all(np.isfinite(w)) for w in bad.weights)  # the frozen weights
    for i in (0, 2):  # the others train on, as if alone
        alone = ListSink()
        train_group([cfgs[i]], sink=alone)
        np.testing.assert_allclose(numeric(alone.metrics), numeric(rows[cfgs[i].run_id]),
                                   rtol=1e-10)
        assert res.runs[i].steps_done == 20 and res.runs[i].diverged_step is None


# --------------------------------------------------------------------------- early stopping


def test_early_stopping_restores_the_best_weights():
    from nnbench.core.mlp import MLP
    from nnbench.tasks import get_task

    kw = dict(task_kw={"n_points": 200, "noise": 0.3}, width=16, optim="adam", steps=300,
              val_frac=0.25, patience=3, eval_every=5, log_every=5)
    cfgs = [tiny(seed=s, lr=0.02, **kw) for s in range(2)]
    sink = ListSink()
    res = train_group(cfgs, sink=sink)
    data = get_task("sin-small", n_points=200, noise=0.3).load(seed=0, val_frac=0.25,
                                                               dtype="float64")
    for cfg, run in zip(cfgs, res.runs, strict=True):
        rows = by_run(sink.metrics)[cfg.run_id]
        vals = np.array([r["val_loss"] for r in rows])
        assert run.status == "done" and run.stopped_early
        assert run.steps_done < 300 and run.steps_done == rows[-1]["step"]
        assert run.best_step == rows[int(np.argmin(vals))]["step"]
        # the last 3 evaluations did not improve on the best
        assert np.all(vals[-3:] >= vals.min()) and vals[-1] > vals.min()
        # the returned weights are the best ones: their val loss, computed by hand
        net = MLP([1, 16, 1], seed=0, dtype="float64")
        net.params[:] = run.weights
        val = np.mean((net.forward(data.X_val)[0] - data.y_val) ** 2)
        assert val == pytest.approx(vals.min(), rel=1e-12)
        assert run.best_val_loss == pytest.approx(vals.min(), rel=1e-12)


# --------------------------------------------------------------------------- progress and stop


class Recorder:
    def __init__(self, stop_after: int | None = None, stop: StopFlag | None = None):
        self.updates: list[list[RunProgress]] = []
        self.stop_after, self.stop = stop_after, stop

    def start(self, runs):
        pass

    def update(self, progress):
        self.updates.append(list(progress))
        if self.stop_after is not None and len(self.updates) >= self.stop_after:
            self.stop.requested = True

    def finish(self):
        pass


def test_reporter_protocol_and_final_progress():
    rec = Recorder()
    assert isinstance(rec, Reporter) and isinstance(NullReporter(), Reporter)
    train_group([tiny(seed=0), tiny(seed=1, lr=1e6)], reporter=rec)
    final = {p.run_id: p for p in rec.updates[-1]}
    assert [p.status for p in final.values()] == ["done", "diverged"]
    p = final[tiny(seed=0).run_id]
    assert p.step == p.total == 20 and p.best_loss <= p.loss + 1e-15


def test_stop_flag_interrupts_the_runs_in_flight():
    stop = StopFlag()
    stop.requested = True
    sink = ListSink()
    res = train_group([tiny(seed=0), tiny(seed=1)], sink=sink, stop=stop)
    assert res.interrupted
    assert [r.status for r in res.runs] == ["interrupted", "interrupted"]
    assert sink.metrics == []


def test_quadratic_landscape_task_follows_the_closed_form():
    """The registered quadratic (x^2 + cond y^2) / 2 through task.model: x_t = (1 - lr)^t x_0,
    y_t = (1 - lr cond)^t y_0, from a start given as "X,Y"."""
    cfgs = [resolve(RunConfig(task="quadratic", optim="sgd", lr=lr, steps=12, seed=0,
                              dtype="float64", start="2,-1", task_kw={"cond": 4.0},
                              run_id=f"q{lr}"))
            for lr in (0.1, 0.3)]
    assert cfgs[0].act is None and cfgs[0].depth is None
    sink = ListSink()
    train_group(cfgs, sink=sink)
    for cfg in cfgs:
        rows = by_run(sink.metrics)[cfg.run_id]
        t = np.array([r["step"] for r in rows])
        np.testing.assert_allclose([r["x0"] for r in rows], 2 * (1 - cfg.lr) ** t, rtol=1e-12)
        np.testing.assert_allclose([r["x1"] for r in rows], -(1 - 4 * cfg.lr) ** t,
                                   rtol=1e-12, atol=1e-300)


def test_clipping_bounds_the_step_of_sgd():
    """With a global-norm clip c below ||g||, one SGD step moves the weights by lr * c
    (up to torch's 1e-6 in the denominator); grad_norm logs ||g|| before clipping."""
    from nnbench.core.mlp import MLP

    sink = ListSink()
    res = train_group([tiny(seed=2, lr=0.5, steps=1, clip=1e-3)], sink=sink)
    start = MLP([1, 8, 1], seed=[2], dtype="float64").params
    moved = np.sqrt(sum(np.sum((w - p) ** 2) for w, p in
                        zip(res.runs[0].weights, start, strict=True)))
    g = sink.metrics[0]["grad_norm"]
    assert g > 1e-3
    assert moved == pytest.approx(0.5 * 1e-3 * g / (g + 1e-6), rel=1e-9)


def test_logged_lr_follows_warmup_then_step_schedule():
    """lr_t = lr * (t + 1) / W for t < W, then lr * gamma ** floor((t - W) / step_size)."""
    cfg = tiny(lr=0.2, steps=12, schedule="step", schedule_kw={"step_size": 4, "gamma": 0.5},
               warmup_steps=3)
    sink = ListSink()
    train_group([cfg], sink=sink)
    t = np.array([r["step"] for r in sink.metrics])
    want = np.where(t < 3, (t + 1) / 3, 0.5 ** np.floor(np.maximum(t - 3, 0) / 4)) * 0.2
    np.testing.assert_allclose([r["lr"] for r in sink.metrics], want, rtol=1e-15)


def test_full_batch_regression_logs_the_step_loss_without_a_second_pass(monkeypatch):
    """With a full batch and nothing random, the step's loss is the training loss: the
    engine logs it instead of running the network over the data again."""
    from nnbench.core.mlp import MLP

    calls = []
    forward = MLP.forward
    monkeypatch.setattr(MLP, "forward",
                        lambda self, *a, **k: calls.append(1) or forward(self, *a, **k))
    cfg = resolve(RunConfig(run_id="r", task="sin-small", steps=30, log_every=1,
                            dtype="float64"))
    sink = ListSink()
    train_group([cfg], sink=sink)
    assert len(sink.metrics) == 31
    assert len(calls) < 5  # not one per logged step
    calls.clear()
    cls = resolve(RunConfig(run_id="c", task="moons", steps=30, log_every=1))
    train_group([cls], sink=ListSink())
    assert len(calls) >= 31  # a classifier still needs its outputs for the accuracy


@pytest.mark.parametrize("optim", ["sgd", "momentum", "nesterov", "adagrad", "rmsprop",
                                   "adam", "adamw", "nadam", "radam", "adamax", "adadelta",
                                   "adabound", "lookahead"])
def test_one_flat_update_equals_an_update_per_array(optim, monkeypatch):
    """The group's parameters end to end in one array (``flatten_params``) give the same
    numbers, bit for bit, as the optimizer stepping through them one array at a time."""
    import nnbench.engine as engine

    cfgs = [tiny(seed=s, lr=lr, optim=optim, steps=12, log_every=3, depth=2)
            for s, lr in [(0, 0.01), (1, 0.03)]]
    flat_sink, plain_sink = ListSink(), ListSink()
    flat = train_group(cfgs, sink=flat_sink)
    monkeypatch.setattr(engine.speed, "FLAT_MAX", 0)
    plain = train_group(cfgs, sink=plain_sink)
    for a, b in zip(flat.runs, plain.runs, strict=True):
        assert len(a.weights) == 6
        for wa, wb in zip(a.weights, b.weights, strict=True):
            np.testing.assert_array_equal(wa, wb)
    np.testing.assert_array_equal(numeric(flat_sink.metrics), numeric(plain_sink.metrics))
    np.testing.assert_array_equal(numeric(flat_sink.layers, drop=("run_id",)),
                                  numeric(plain_sink.layers, drop=("run_id",)))


def test_flatten_params_makes_views_of_one_array():
    from nnbench.core.mlp import MLP
    from nnbench.engine import flatten_params

    net = MLP([2, 3, 1], runs=4)
    before = [p.copy() for p in net.params]
    flat = flatten_params(net)
    assert flat.shape == (4, 2 * 3 + 3 + 3 + 1)
    for p, b in zip(net.params, before, strict=True):
        assert np.shares_memory(p, flat) and p.shape == b.shape
        np.testing.assert_array_equal(p, b)
    flat += 1.0
    np.testing.assert_array_equal(net.params[0], before[0] + 1.0)
    assert flatten_params(MLP([2, 1], runs=2)) is not None
    net.params = net.params[:1]
    assert flatten_params(net) is None  # one array: nothing to gather


def test_run_state_active_follows_status_changes():
    """RunState keeps its active mask and the kernel's limits cached: each change of a
    status (set_status, end) or of the limits must show in the next read, and the cached
    mask cannot be written through."""
    from nnbench.engine.results import RunState

    st = RunState.new(4)
    st.limit = np.array([1.0, 2.0, 3.0, 4.0])
    assert st.active.tolist() == [True] * 4
    np.testing.assert_array_equal(st.kernel_limit(), [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(ValueError):
        st.active[0] = False
    st.set_status(1, "diverged")
    assert st.active.tolist() == [True, False, True, True]
    np.testing.assert_array_equal(st.kernel_limit(), [1.0, -1.0, 3.0, 4.0])
    st.end(np.array([False, False, True, False]), "done", 1.5)
    assert st.active.tolist() == [True, False, False, True]
    assert st.end_wall[2] == 1.5
    st.limit = np.array([5.0, 6.0, 7.0, 8.0])  # a new array: the step's limits after step 1
    np.testing.assert_array_equal(st.kernel_limit(), [5.0, -1.0, -1.0, 8.0])
    np.testing.assert_array_equal(st.kernel_limit(),
                                  np.where(st.status == "running", st.limit, -1.0))
