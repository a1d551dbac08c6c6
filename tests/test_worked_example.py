"""Notes 003's worked example: the 47 partials of the 12-3-2 sigmoid network against finite
differences, the notes' formulas written by hand against nnbench's backprop, sigmoid output
units with half_sse and bce against finite differences of the whole network, the zero-one
task, the ``backprop`` command and the validation of ``--out-act``."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from nnbench.cli import app
from nnbench.config import RunConfig, load_toml
from nnbench.core import kernels
from nnbench.core.errors import NNBenchError
from nnbench.core.losses import loss_fn
from nnbench.core.mlp import MLP
from nnbench.core.worked import notes_pass, parameter_names, train, worked_example
from nnbench.resolve import resolve
from nnbench.tasks import TASKS, get_task
from nnbench.tasks.zero_one import zero_one_images

runner = CliRunner()
IMAGES, LABELS = zero_one_images()


def _sigma(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def _oracle_loss(params: list[np.ndarray], X: np.ndarray, T: np.ndarray, act, loss: str
                 ) -> float:
    """The loss of one run's network written out in this file: layers by matmul, the
    sigmoid output units, the notes' half squared error or 001's cross-entropy, mean over
    the samples."""
    a = X
    L = len(params) // 2
    for l in range(L):
        z = a @ params[2 * l][0] + params[2 * l + 1][0]
        a = act(z) if l < L - 1 else np.vectorize(_sigma)(z)
    if loss == "half_sse":
        per = 0.5 * ((T - a) ** 2).sum(axis=1)
    else:
        per = -(T * np.log(a) + (1 - T) * np.log(1 - a)).sum(axis=1)
    return float(per.mean())


def _finite_differences(net: MLP, X, T, act, loss: str, h: float = 1e-6) -> list[np.ndarray]:
    """Central differences of :func:`_oracle_loss`, one parameter at a time."""
    params = [p.copy() for p in net.params]
    out = []
    for p in params:
        g = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            keep = p[idx]
            p[idx] = keep + h
            up = _oracle_loss(params, X, T, act, loss)
            p[idx] = keep - h
            down = _oracle_loss(params, X, T, act, loss)
            p[idx] = keep
            g[idx] = (up - down) / (2 * h)
        out.append(g)
    return out


def _one_hot(y: np.ndarray, k: int) -> np.ndarray:
    return np.eye(k)[y]


def _notes_order(grads: list[np.ndarray]) -> np.ndarray:
    """Gradients of [W2, b2, W3, b3] in the notes' order (w_ji by unit j, input i)."""
    gW2, gb2, gW3, gb3 = (np.asarray(g)[0] for g in grads)
    return np.concatenate([gW2.T.ravel(), gb2.ravel(), gW3.T.ravel(), gb3.ravel()])


# -- the 47 partials ---------------------------------------------------------------------

@pytest.mark.parametrize("example,seed,steps", [(1, 0, 0), (2, 3, 0), (17, 1, 50),
                                                (34, 2, 300)])
def test_the_47_partials_against_finite_differences(example, seed, steps):
    w = worked_example(IMAGES, LABELS, example, seed=seed, steps=steps)
    assert len(w.names) == len(w.partials) == 47 == 12 * 3 + 3 + 3 * 2 + 2
    net = MLP([12, 3, 2], activation="sigmoid", seed=seed, dtype="float64",
              out_act="sigmoid")
    for p, q in zip(net.params, trained_params(seed, steps), strict=True):
        p[...] = q
    x = IMAGES[example - 1].reshape(1, 12).astype(float)
    T = _one_hot(np.array([LABELS[example - 1]]), 2)
    fd = _notes_order(_finite_differences(net, x, T, lambda z: np.vectorize(_sigma)(z),
                                          "half_sse"))
    scale = np.abs(fd).max()
    assert scale > 1e-6  # something to compare
    np.testing.assert_allclose(w.partials, fd, rtol=0, atol=1e-8 * max(scale, 1.0))
    np.testing.assert_allclose(w.backprop, fd, rtol=0, atol=1e-8 * max(scale, 1.0))
    # the command's own central differences agree too
    assert w.max_notes_fd < 1e-9
    sig = np.vectorize(_sigma)
    assert w.notes.loss == pytest.approx(_oracle_loss(net.params, x, T, sig, "half_sse"),
                                         rel=1e-12)


def trained_params(seed: int, steps: int) -> list[np.ndarray]:
    """The weights the worked example used: the same network trained the same way."""
    net = MLP([12, 3, 2], activation="sigmoid", seed=seed, dtype="float64",
              out_act="sigmoid")
    net.chunking = None
    train(net, IMAGES.reshape(34, 12).astype(float), LABELS, steps, 2.0)
    return net.params


def test_the_notes_formulas_by_hand_equal_nnbench_backprop():
    for example in range(1, 35, 3):
        w = worked_example(IMAGES, LABELS, example, seed=example, steps=example)
        assert w.max_notes_backprop < 1e-15
        assert w.notes.loss == pytest.approx(w.backprop_loss, rel=1e-13)
        np.testing.assert_allclose(w.partials, w.backprop, rtol=1e-12, atol=1e-17)


def test_notes_pass_on_numbers_worked_by_hand():
    """A 2-1-1 net small enough to check by hand: z = 0 everywhere, so a = 1/2 and
    sigma' = 1/4; delta3 = (1/2 - 1) / 4 = -1/8, delta2 = -1/8 * w3 * 1/4."""
    p = notes_pass([[0.0], [0.0]], [0.0], [[2.0]], [-1.0], [1.0, 3.0], [1.0])
    assert p.a2 == [0.5] and p.z3 == [0.0] and p.a3 == [0.5]
    assert p.delta3 == [-0.125]
    assert p.delta2 == [-0.125 * 2.0 * 0.25]
    assert p.partials == [-0.0625 * 1.0, -0.0625 * 3.0, -0.0625, -0.125 * 0.5, -0.125]
    assert p.loss == 0.125


def test_parameter_names_follow_the_notes():
    names = parameter_names()
    assert names[:2] == ["w2_1,1", "w2_1,2"] and names[12] == "w2_2,1"
    assert names[36:39] == ["b2_1", "b2_2", "b2_3"]
    assert names[39:42] == ["w3_1,1", "w3_1,2", "w3_1,3"] and names[-1] == "b3_2"
    assert len(set(names)) == 47


def test_training_lowers_the_example_loss():
    before = worked_example(IMAGES, LABELS, 2, seed=0, steps=0)
    after = worked_example(IMAGES, LABELS, 2, seed=0, steps=200)
    assert after.notes.loss < before.notes.loss / 2


# -- sigmoid output units ------------------------------------------------------------------

@pytest.mark.parametrize("loss", ["half_sse", "bce"])
@pytest.mark.parametrize("depth", [1, 2])
@pytest.mark.parametrize("shape", [(2, 2), (5, 3)])  # (2, 2): the narrow pass at depth 1
def test_sigmoid_outputs_against_finite_differences(loss, depth, shape):
    n_in, n_out = shape
    rng = np.random.default_rng(depth + 10 * n_in)
    X = rng.normal(size=(7, n_in))
    y = rng.integers(0, n_out, size=7)
    net = MLP([n_in] + [4] * depth + [n_out], activation="tanh", seed=depth,
              dtype="float64", out_act="sigmoid", init="normal")
    C, grads = net.loss_and_grads(X, y, loss=loss)
    T = _one_hot(y, n_out)
    fd = _finite_differences(net, X, T, np.tanh, loss, h=1e-5)
    assert C[0] == pytest.approx(_oracle_loss(net.params, X, T, np.tanh, loss), rel=1e-12)
    scale = max(float(np.abs(f).max()) for f in fd)
    for g, f in zip(grads, fd, strict=True):  # differences: rounding, ~1e-10 of the scale
        np.testing.assert_allclose(g, f, rtol=0, atol=1e-7 * scale)
    # float targets give the same as the labels they are the one-hot rows of
    C2, grads2 = net.loss_and_grads(X, T, loss=loss)
    np.testing.assert_allclose(C2, C, rtol=1e-14)
    for g, g2 in zip(grads, grads2, strict=True):
        np.testing.assert_allclose(g2, g, rtol=1e-12, atol=1e-17)


def test_sigmoid_output_is_sigma_of_the_linear_output():
    X = np.random.default_rng(0).normal(size=(6, 3))
    linear = MLP([3, 5, 2], activation="relu", seed=4, dtype="float64")
    squashed = MLP([3, 5, 2], activation="relu", seed=4, dtype="float64", out_act="sigmoid")
    z = linear.forward(X)
    np.testing.assert_allclose(squashed.forward(X), 1 / (1 + np.exp(-z)), rtol=1e-14)
    with pytest.raises(NNBenchError, match="out_act must be one of identity, sigmoid"):
        MLP([3, 5, 2], out_act="softmax")


def test_bce_on_the_logits_is_stable_and_agrees_on_the_outputs():
    z = np.array([[[40.0, -40.0], [0.3, -1.2]]])
    T = np.array([[[0.0, 1.0], [1.0, 0.0]]])
    with np.errstate(all="raise"):
        C, g = loss_fn("bce").of_logits(z, T)
    # -ln(1 - sigma(40)) = -ln sigma(-40) = 40 + ln(1 + e^-40); the others as written
    expected = (2 * (40 + math.log1p(math.exp(-40))) - math.log(_sigma(0.3))
                - math.log(1 - _sigma(-1.2))) / 2
    np.testing.assert_allclose(C, [expected], rtol=1e-12)
    np.testing.assert_allclose(g, (1 / (1 + np.exp(-z)) - T) / 2, rtol=1e-12)
    zs = np.array([[[0.3, -1.2], [2.0, 0.1]]])
    a = 1 / (1 + np.exp(-zs))
    np.testing.assert_allclose(loss_fn("bce")(a, T)[0], loss_fn("bce").of_logits(zs, T)[0],
                               rtol=1e-12)


def test_one_hot_labels_and_predictions():
    out = np.array([[[0.9, 0.2], [0.1, 0.7], [0.6, 0.4]]])
    y = np.array([0, 1, 1])
    for name in ("half_sse", "bce"):
        f = loss_fn(name)
        np.testing.assert_allclose(f(out, y)[0], f(out, _one_hot(y, 2))[0], rtol=1e-14)
        np.testing.assert_array_equal(f.predict(out), [[0, 1, 0]])
        with pytest.raises(NNBenchError, match=r"\[0, 1\]"):
            f(out, np.array([0, 2, 1]))


def test_no_kernel_for_sigmoid_outputs_so_auto_takes_numpy():
    net = MLP([2, 4, 2], out_act="sigmoid")
    assert kernels.missing(net, "half_sse") == "no numba kernel for output activation sigmoid"
    assert kernels.missing(MLP([2, 4, 2]), "bce") == "no numba kernel for loss bce"


def test_the_kernel_of_half_sse_reads_labels_as_one_hot_targets():
    pytest.importorskip("numba")
    net = MLP([3, 5, 2], activation="tanh", seed=1, runs=2, dtype="float64")
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(9, 3)), rng.integers(0, 2, size=9)
    C, grads = kernels.make_pass(net, "half_sse").loss_and_grads(net.params, X, y)
    C0, grads0 = net.loss_and_grads(X, _one_hot(y, 2), loss="half_sse")
    np.testing.assert_allclose(C, C0, rtol=1e-10)
    for g, g0 in zip(grads, grads0, strict=True):
        np.testing.assert_allclose(g, g0, rtol=1e-10, atol=1e-14)


# -- the zero-one task ---------------------------------------------------------------------

def test_zero_one_task_shapes_and_labels():
    task = get_task("zero-one")
    d = task.load()
    assert task.kind == "classification" and d.n_classes == 2 and d.n_outputs == 2
    assert d.X_train.shape == (34, 12) and d.y_train.shape == (34,)
    assert d.X_val is None and d.X_test is None
    assert set(np.unique(d.X_train)) == {0.0, 1.0}  # raw pixels
    np.testing.assert_array_equal(d.y_train, np.tile([0, 1], 17))
    assert len({tuple(r) for r in d.X_train}) == 34  # 34 different images
    images = d.X_train.reshape(34, 4, 3)
    zeros, ones = images[d.y_train == 0], images[d.y_train == 1]
    assert (zeros[:, 1:3, 1] == 0).all()  # a 0 is a ring: its middle is white
    assert zeros.sum() > 1.5 * ones.sum()  # a ring has more ink than a stroke
    defaults = TASKS.get("zero-one").defaults
    assert {k: defaults[k] for k in ("act", "depth", "width", "out_act", "loss")} == {
        "act": "sigmoid", "depth": 1, "width": 3, "out_act": "sigmoid", "loss": "half_sse"}


def test_zero_one_resolves_to_the_notes_network():
    c = resolve(RunConfig(task="zero-one"))
    assert (c.out_act, c.loss, c.act, c.depth, c.width) == ("sigmoid", "half_sse",
                                                             "sigmoid", 1, 3)
    assert resolve(RunConfig(task="sin")).out_act == "identity"


# -- validation ------------------------------------------------------------------------------

@pytest.mark.parametrize("fields,message", [
    ({"task": "blobs", "loss": "softmax_cross_entropy", "out_act": "sigmoid"},
     "applies its own link"),
    ({"task": "zero-one", "loss": "bce_with_logits", "model": "mlp"}, "applies its own link"),
    ({"task": "zero-one", "out_act": "identity", "loss": "bce"}, "give --out-act sigmoid"),
    ({"task": "blobs", "model": "logistic", "out_act": "sigmoid"}, "--model mlp"),
    ({"task": "zero-one", "out_act": "tanh"}, "out_act must be one of identity, sigmoid"),
    ({"task": "rosenbrock", "out_act": "sigmoid"}, "out_act applies to networks"),
    ({"task": "sin", "loss": "bce", "out_act": "sigmoid"}, "needs a classification task"),
    ({"task": "zero-one", "loss": "mse"}, "needs a regression task"),
])
def test_validation_errors(fields, message):
    with pytest.raises(NNBenchError, match=re.escape(message)):
        resolve(RunConfig(**fields))


# -- the command line ----------------------------------------------------------------------

def test_backprop_command_prints_every_delta_and_partial():
    result = runner.invoke(app, ["backprop", "--example", "2", "--steps", "20"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "zero-one example 2 of 34: a 1 (targets t1 = 0, t2 = 1)" in lines[0]
    assert lines[2:6] == ["    .#."] * 4  # the first 1: a stroke in the middle column
    rows = [line.split() for line in lines if re.match(r"[wb][23]_\d", line)]
    assert [r[0] for r in rows] == parameter_names()
    w = worked_example(IMAGES, LABELS, 2, steps=20)
    printed = np.array([[float(v) for v in r[-3:]] for r in rows])
    np.testing.assert_allclose(printed[:, 0], w.partials, rtol=1e-6, atol=1e-12)
    neurons = [line.split() for line in lines if re.match(r"[23] (hidden|output)", line)]
    assert len(neurons) == 5
    np.testing.assert_allclose([float(r[-1]) for r in neurons],
                               w.notes.delta2 + w.notes.delta3, rtol=1e-6)
    fd = float(re.search(r"\|notes - finite difference\| = (\S+)", result.output)[1])
    bp = float(re.search(r"\|notes - backprop\| += (\S+)", result.output)[1])
    assert fd < 1e-9 and bp < 1e-15


@pytest.mark.parametrize("args,message", [
    (["--example", "0"], "--example must be an integer from 1 to 34"),
    (["--example", "35"], "--example must be an integer from 1 to 34"),
    (["--steps", "-1"], "--steps must be an integer >= 0"),
    (["--seed", "-1"], "--seed must be an integer >= 0"),
])
def test_backprop_command_bad_input(args, message):
    result = runner.invoke(app, ["backprop", *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_out_act_on_the_command_line_is_refused_in_one_line(tmp_path):
    result = runner.invoke(app, ["run", "--task", "blobs", "--out-act", "sigmoid",
                                 "--no-plot", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0 and "own link" in result.output
    assert not (tmp_path / "x").exists()


def test_zero_one_trains_to_all_training_images(tmp_path):
    out = tmp_path / "zero-one"
    result = runner.invoke(app, ["run", "--task", "zero-one", "--no-plot", "--quiet",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    runs = pd.read_csv(out / "runs.csv")
    assert runs.loc[0, "out_act"] == "sigmoid" and runs.loc[0, "loss"] == "half_sse"
    assert runs.loc[0, "final_train_acc"] == 1.0
    assert runs.loc[0, "n_params"] == 47
    metrics = pd.read_csv(out / "metrics.csv")
    assert metrics["train_acc"].iloc[0] < 1.0  # it had something to learn
    assert load_toml(out / "config.toml").base.out_act == "sigmoid"


def test_half_sse_and_bce_train_a_classifier_on_one_hot_targets(tmp_path):
    for loss in ("half_sse", "bce"):
        out = tmp_path / loss
        result = runner.invoke(app, ["run", "--task", "moons", "--loss", loss, "--out-act",
                                     "sigmoid", "--steps", "300", "--no-plot", "--quiet",
                                     "--out", str(out)])
        assert result.exit_code == 0, result.output
        text = (out / "runs.csv").read_text().splitlines()
        row = dict(zip(text[0].split(","), text[1].split(","), strict=True))
        assert row["out_act"] == "sigmoid" and row["loss"] == loss
        assert float(row["final_train_acc"]) > 0.85
