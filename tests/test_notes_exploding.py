"""Notes 001's exploding gradients: ``--init constant:VALUE`` (every weight VALUE, biases
so that ``z = 0``) on a chain of sigmoid units multiplies ``dC/db`` by ``w sigma'(0) =
VALUE / 4`` per layer (the closed form), and ``--init normal:STD`` (random large weights)
saturates the units instead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from nnbench.cli import app
from nnbench.core.errors import NNBenchError
from nnbench.core.init import initializer, parse_init
from nnbench.core.mlp import MLP

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
XOR_Y = np.array([0, 1, 1, 0])


def test_constant_init_sets_z_to_zero_on_inputs_of_one_half():
    W, b = initializer("constant:100")(np.random.default_rng(0), 3, 2)
    np.testing.assert_array_equal(W, np.full((3, 2), 100.0))
    np.testing.assert_array_equal(b, np.full(2, -150.0))
    np.testing.assert_array_equal(np.full((1, 3), 0.5) @ W + b, 0.0)


@pytest.mark.parametrize("value", [100.0, 80.0])
@pytest.mark.parametrize("hidden", [3, 6])
def test_bias_gradient_grows_by_w_sigma_prime_0_per_layer(value, hidden):
    """On XOR, (0, 1) and (1, 0) give z = 0 in every layer (the other two points saturate
    and contribute below 1e-20). At z = 0, with one unit per layer, BP2 is
    d^l = w sigma'(0) d^(l+1) = (w / 4) d^(l+1), and the last hidden layer's
    d = w sigma'(0) (sigma(0) - 1) / 4 summed over those two points (bce, mean over 4)."""
    net = MLP([2] + [1] * hidden + [1], "sigmoid", f"constant:{value:g}", dtype="float64")
    _, g = net.loss_and_grads(XOR_X, XOR_Y, loss="bce_with_logits")
    db = np.array([g[2 * l + 1].ravel()[0] for l in range(hidden)])
    closed = (value / 4) * 2 * (0.5 - 1) / 4 * (value / 4) ** np.arange(hidden - 1, -1, -1)
    np.testing.assert_allclose(db, closed, rtol=1e-12)
    # and the weights: dC/dW^l = a^(l-1) d^l = d^l / 2 for the layers after the first
    dW = np.array([g[2 * l].ravel()[0] for l in range(1, hidden)])
    np.testing.assert_allclose(dW, closed[1:] / 2, rtol=1e-12)


def test_random_large_weights_saturate_instead():
    net = MLP([2] + [1] * 6 + [1], "sigmoid", "normal:10", seed=0, runs=3, dtype="float64")
    _, g = net.loss_and_grads(XOR_X, XOR_Y, loss="bce_with_logits")
    sat = np.mean([s["saturated_frac"] for s in net.layer_stats()])
    assert sat > 0.4  # sigma'(z) below 5% of 1/4 on most units (z beyond about +-4.4)
    first = np.linalg.norm(g[0], axis=(1, 2))
    assert (first < 1e-6).all()  # against 6e7 for constant:100 at the same depth


def test_normal_std_is_the_spread():
    W, b = initializer("normal:0.5")(np.random.default_rng(1), 200, 300)
    assert abs(W.std() - 0.5) < 0.01 and abs(W.mean()) < 0.01


@pytest.mark.parametrize("spec, match", [
    ("zeros:3", "takes no value"), ("constant:abc", "must be a number"),
    ("normal:-1", "std"), ("constant:inf", "finite"), ("nope:1", "nope")])
def test_bad_specs_are_one_line_errors(spec, match):
    with pytest.raises(NNBenchError, match=match):
        initializer(spec)


def test_parse_init():
    assert parse_init("he_normal") == ("he_normal", {})
    assert parse_init("xavier_uniform:2") == ("xavier_uniform", {"gain": 2.0})


def test_command_line_records_the_spec_and_the_growth(tmp_path):
    out = tmp_path / "c"
    args = ["run", "--task", "xor", "--act", "sigmoid", "--depth", "5", "--width", "1",
            "--init", "constant:100", "--loss", "bce_with_logits", "--optim", "sgd",
            "--lr", "1e-9", "--steps", "2", "--dtype", "float64", "--out", str(out),
            "--no-plot", "--quiet"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert pd.read_csv(out / "runs.csv")["init"].tolist() == ["constant:100"]
    L = pd.read_csv(out / "layers.csv")
    g = L[L["step"] == 0].set_index("layer")["grad_norm"]
    np.testing.assert_allclose(g.loc[2:4].to_numpy() / g.loc[3:5].to_numpy(), 25, rtol=1e-9)
    bad = CliRunner().invoke(app, ["run", "--task", "xor", "--init", "constant:x", "--out",
                                   str(tmp_path / "x"), "--quiet"])
    assert bad.exit_code == 2 and "must be a number" in bad.output
