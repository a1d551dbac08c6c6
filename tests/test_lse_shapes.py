"""Log-sum-exp (notes 001 sec. 15) against exact decimal arithmetic, and the activation
shapes of ``plot-activations`` against finite differences and the sigmoid's closed form."""

import math
from decimal import Decimal, getcontext

import numpy as np
import pytest
from typer.testing import CliRunner

from nnbench.cli import _main, app
from nnbench.core.errors import NNBenchError
from nnbench.core.lse import logsumexp, overflow_sweep, softmax
from nnbench.core.shapes import parse_spec, shape

runner = CliRunner()


def exact(x):
    """Softmax and log-sum-exp of ``x`` in 50-digit decimal arithmetic (no overflow)."""
    getcontext().prec = 50
    e = [Decimal(repr(float(v))).exp() for v in x]
    s = sum(e)
    return [float(v / s) for v in e], float(s.ln())


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("t", [0.5, 10.0, 80.0, 88.0, 100.0, 700.0, 1000.0])
def test_shifted_matches_exact_arithmetic(dtype, t):
    x = (t * np.array([1.0, 0.5, 0.0])).astype(dtype)
    p_exact, lse_exact = exact(x)
    tol = 1e-6 if dtype == "float32" else 1e-13
    # below the smallest normal number (subnormals) only the absolute error is small
    np.testing.assert_allclose(softmax(x, "shifted"), p_exact, rtol=tol,
                               atol=float(np.finfo(dtype).tiny))
    np.testing.assert_allclose(logsumexp(x, "shifted"), lse_exact, rtol=tol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_naive_fails_first_just_past_log_of_the_largest_float(dtype):
    log_max = math.log(float(np.finfo(dtype).max))  # 88.72 / 709.78
    grid = np.round(np.arange(0.0, 1000.05, 0.1), 1)
    sweep = overflow_sweep(grid)
    expected = float(grid[grid > log_max][0])
    assert sweep.first_bad[dtype, "naive"] == pytest.approx(expected)
    assert sweep.first_bad[dtype, "shifted"] is None
    below = (np.array([log_max - 0.5, 0.0, -1.0])).astype(dtype)
    p_exact, lse_exact = exact(below)
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(softmax(below, "naive"), p_exact, rtol=tol)
    np.testing.assert_allclose(logsumexp(below, "naive"), lse_exact, rtol=tol)
    above = np.array([log_max + 0.5, 0.0], dtype=dtype)
    assert np.isnan(softmax(above, "naive")).any()
    assert np.isinf(logsumexp(above, "naive"))


def test_bad_form():
    with pytest.raises(NNBenchError, match="naive, shifted"):
        softmax(np.zeros(3), "stable")


def test_overflow_command_writes_its_figure(tmp_path):
    out = tmp_path / "overflow"
    r = runner.invoke(app, ["overflow", "--t-max", "800", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "naive    first inf/NaN at t = 88.8" in r.output
    assert "naive    first inf/NaN at t = 709.8" in r.output
    assert (out / "figures" / "overflow.png").stat().st_size > 0
    assert (out / "meta.json").is_file()
    # again: refused without --overwrite, replaced with it
    assert _main(["overflow", "--t-max", "10", "--out", str(out)]) == 2
    assert _main(["overflow", "--t-max", "10", "--out", str(out), "--overwrite"]) == 0


def test_figure_never_replaces_a_foreign_directory(tmp_path, capsys):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep")
    assert _main(["plot-activations", "sigmoid", "--out", str(foreign), "--overwrite"]) == 2
    assert "not a directory nnbench wrote" in capsys.readouterr().err
    assert (foreign / "notes.txt").read_text() == "keep"


# -- activation shapes -----------------------------------------------------------------

@pytest.mark.parametrize("spec", ["sigmoid", "sigmoid:beta=2", "tanh", "elu:alpha=0.5",
                                  "leaky_relu:negative_slope=0.1,beta=0.5", "gelu", "softplus"])
def test_derivative_matches_finite_differences(spec):
    z = np.linspace(-6, 6, 241) + 0.013  # off the kinks at 0
    h = 1e-6
    s = shape(spec, z)
    fd = (shape(spec, z + h).f - shape(spec, z - h).f) / (2 * h)
    np.testing.assert_allclose(s.df, fd, rtol=1e-5, atol=1e-8)


def test_sigmoid_beta_is_the_notes_formula_and_its_saturation_band():
    z = np.linspace(-8, 8, 4001)
    s = shape("sigmoid:beta=2", z)
    np.testing.assert_allclose(s.f, 1.0 / (1.0 + np.exp(-2.0 * z)), rtol=1e-12)
    assert s.max_grad == pytest.approx(0.5)  # beta / 4
    plain = shape("sigmoid", z)
    assert plain.max_grad == pytest.approx(0.25) and np.all(plain.df <= 0.25)
    # saturated where sigma' < 5% of 1/4: |z| > log(s / (1 - s)), s = (1 + sqrt(0.95)) / 2
    root = (1 + math.sqrt(1 - 4 * 0.0125)) / 2
    edge = math.log(root / (1 - root))  # 4.36
    assert np.abs(z[plain.saturated]).min() == pytest.approx(edge, abs=0.005)
    assert not plain.saturated[np.abs(z) < edge - 0.005].any()
    assert np.abs(z[s.saturated]).min() == pytest.approx(edge / 2, abs=0.005)


def test_bad_specs():
    with pytest.raises(NNBenchError, match="KEY=NUMBER"):
        parse_spec("sigmoid:beta")
    with pytest.raises(NNBenchError, match="beta must be > 0"):
        parse_spec("sigmoid:beta=0")
    with pytest.raises(NNBenchError, match="sigmoid"):
        parse_spec("sigmod")
    with pytest.raises(NNBenchError, match="single curve"):
        shape("rrelu", np.zeros(3))


def test_plot_activations_prints_and_draws(tmp_path):
    out = tmp_path / "shapes"
    r = runner.invoke(app, ["plot-activations", "sigmoid,sigmoid:beta=2,relu,leaky_relu:"
                            "negative_slope=0.1", "--out", str(out)])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0].startswith("sigmoid: max f' = 0.25 at z = 0; f' <= 1/4 everywhere")
    assert "[4.36, 8.00]" in lines[0]
    assert lines[1].startswith("sigmoid:beta=2: max f' = 0.5") and "[2.18, 8.00]" in lines[1]
    assert lines[3].startswith("leaky_relu:negative_slope=0.1:")
    assert (out / "figures" / "activation_shapes.png").stat().st_size > 0
