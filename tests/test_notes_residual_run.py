"""``--residual`` and ``--no-shuffle`` as run fields: a residual network trained on batches
taken in order equals the same training written out by hand (the library's residual MLP,
which test_residual checks against finite differences and PyTorch, and SGD's rule on the
slices ``X[j b:(j + 1) b]``); the fields reach runs.csv and config.toml; MNIST-1D suggests
the paper's settings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from nnbench.cli import app
from nnbench.config import RunConfig, load_toml, resolve
from nnbench.core.errors import NNBenchError
from nnbench.engine import ListSink, train_group


def _cfg(**kw) -> RunConfig:
    base = dict(task="spirals", task_kw={"n_points": 60}, act="tanh", depth=3, width=6,
                optim="sgd", lr=0.1, steps=14, batch_size=16, dtype="float64", log_every=1,
                residual=True, shuffle=False, run_id="r")
    base.update(kw)
    return resolve(RunConfig(**base))


def test_in_order_residual_training_equals_the_loop_by_hand():
    from nnbench.core.mlp import MLP
    from nnbench.tasks import get_task

    cfg = _cfg(seed=2)
    res = train_group([cfg], sink=ListSink())
    d = get_task("spirals", n_points=60).load(seed=0, val_frac=cfg.val_frac, dtype="float64")
    n, b = len(d.X_train), 16
    net = MLP([2, 6, 6, 6, 3], "tanh", seed=[2], dtype="float64", residual=True)
    for t in range(14):
        j = t % -(-n // b)  # batch j of the epoch, the last one shorter
        X, y = d.X_train[j * b:(j + 1) * b], d.y_train[j * b:(j + 1) * b]
        _, grads = net.loss_and_grads(X, y, loss="softmax_cross_entropy")
        for p, g in zip(net.params, grads, strict=True):
            p -= 0.1 * g
    for w, p in zip(res.runs[0].weights, net.params, strict=True):
        np.testing.assert_allclose(w, p, rtol=1e-11)
    # the skip connections matter: the same run without them ends elsewhere
    plain = train_group([_cfg(seed=2, residual=False)], sink=ListSink())
    assert not np.allclose(plain.runs[0].weights[0], res.runs[0].weights[0])


def test_in_order_batches_are_the_same_for_every_seed_and_shuffled_ones_are_not():
    def first_update(seed, shuffle):
        cfg = _cfg(seed=seed, steps=1, shuffle=shuffle, residual=False)
        w = train_group([cfg], sink=ListSink()).runs[0].weights
        from nnbench.core.mlp import MLP

        w0 = MLP([2, 6, 6, 6, 3], "tanh", seed=[seed], dtype="float64").params
        return [a[0] - b[0] for a, b in zip(w, w0, strict=True)]

    # with equal starting weights, the first step depends on the batch only
    from nnbench.core.mlp import MLP
    from nnbench.tasks import get_task

    d = get_task("spirals", n_points=60).load(seed=0, dtype="float64")
    net = MLP([2, 6, 6, 6, 3], "tanh", seed=[0], dtype="float64")
    _, g = net.loss_and_grads(d.X_train[:16], d.y_train[:16], loss="softmax_cross_entropy")
    np.testing.assert_allclose(first_update(0, False)[0], -0.1 * g[0][0], rtol=1e-11)
    assert not np.allclose(first_update(0, True)[0], -0.1 * g[0][0])


def test_fields_reach_runs_csv_and_config(tmp_path):
    out = tmp_path / "r"
    res = CliRunner().invoke(app, ["run", "--task", "spirals", "--depth", "2", "--width", "5",
                                   "--steps", "5", "--batch-size", "20", "--residual",
                                   "--no-shuffle", "--out", str(out), "--no-plot", "--quiet"])
    assert res.exit_code == 0, res.output
    row = pd.read_csv(out / "runs.csv").iloc[0]
    assert bool(row["residual"]) is True and bool(row["shuffle"]) is False
    exp = load_toml(out / "config.toml")
    assert exp.base.residual is True and exp.base.shuffle is False
    again = tmp_path / "again"
    res = CliRunner().invoke(app, ["run", "--config", str(out / "config.toml"), "--out",
                                   str(again), "--no-plot", "--quiet"])
    assert res.exit_code == 0, res.output
    cols = [c for c in pd.read_csv(out / "runs.csv").columns if c != "wall_s"]
    pd.testing.assert_frame_equal(pd.read_csv(out / "runs.csv")[cols],
                                  pd.read_csv(again / "runs.csv")[cols])


def test_residual_needs_an_mlp():
    with pytest.raises(NNBenchError, match="residual"):
        resolve(RunConfig(task="blobs", model="logistic", residual=True))
    with pytest.raises(NNBenchError, match="residual"):
        resolve(RunConfig(task="rosenbrock", residual=True))


def test_mnist1d_suggests_the_papers_mlp_and_training():
    """models.py's MLPBase (40-100-100-10 ReLU, second hidden layer residual) trained as
    train.py does: Adam 1e-2, batches of 100 in order, 8000 steps, no validation split."""
    pytest.importorskip("mnist1d")
    c = resolve(RunConfig(task="mnist1d"))
    assert (c.depth, c.width, c.act, c.residual, c.optim, c.lr, c.batch_size, c.shuffle,
            c.steps, c.val_frac) == (2, 100, "relu", True, "adam", 0.01, 100, False, 8000,
                                     0.0)
    # other tasks keep shuffled batches and no skip connections
    s = resolve(RunConfig(task="spirals"))
    assert s.residual is None and s.shuffle is None


def test_residuals_axis_trains_each_value_in_its_own_group(tmp_path):
    out = tmp_path / "g"
    res = CliRunner().invoke(app, ["compare", "--task", "spirals", "--depth", "3", "--width",
                                   "5", "--steps", "5", "--act", "sigmoid", "--residuals",
                                   "false,true", "--seeds", "1", "--dtype", "float64",
                                   "--out", str(out), "--no-plot", "--quiet"])
    assert res.exit_code == 0, res.output
    runs = pd.read_csv(out / "runs.csv")
    assert runs["run_id"].tolist() == ["residual-False-s0", "residual-True-s0"]
    assert runs["residual"].tolist() == [False, True]
    assert runs["group"].nunique() == 2
    alone = _cfg(task="spirals", task_kw={}, act="sigmoid", depth=3, width=5, steps=5, seed=0,
                 residual=True, shuffle=None, batch_size=None, optim=None, lr=None,
                 log_every=None)
    w = train_group([alone], sink=ListSink()).runs[0]
    assert runs["final_train_loss"].iloc[1] == pytest.approx(w.final_train_loss, rel=1e-12)
    bad = CliRunner().invoke(app, ["compare", "--task", "spirals", "--residuals", "yes",
                                   "--out", str(tmp_path / "b")])
    assert bad.exit_code == 2 and "--residuals" in bad.output


def test_an_mlp_with_a_one_output_loss_has_one_logit():
    """bce_with_logits on two classes: the mlp ends in one output, as logistic regression."""
    from nnbench.core.models import build_model
    from nnbench.tasks import get_task

    c = resolve(RunConfig(task="moons", loss="bce_with_logits", depth=2, width=4))
    task = get_task("moons")
    net = build_model(c, task, 2, 2, [0])
    assert net.sizes == [2, 4, 4, 1]
    r = train_group([c], sink=ListSink()).runs[0]
    assert r.final_train_acc > 0.8
