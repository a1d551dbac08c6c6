"""The models whose weights are not trained: the generative Gaussian classifier (notes 004)
against its closed form, Bayes' rule on the class densities and scikit-learn's LDA; the
threshold network (notes 000) against the truth table of every 2-input boolean function."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from nnbench.cli import _main
from nnbench.config import RunConfig, resolve
from nnbench.core.errors import NNBenchError
from nnbench.core.models import ThresholdNetwork, gaussian_fit, threshold_weights
from nnbench.engine import ListSink, train_group
from nnbench.tasks import get_task

INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)


def run(**kw):
    cfg = resolve(RunConfig(run_id="r", **kw))
    res = train_group([cfg], sink=ListSink())
    return cfg, res.runs[0]


# -------------------------------------------------------------------- Gaussian classifier


def _bayes_posterior(X, Xtr, ytr):
    """P(C1 | x) from the two fitted Gaussian densities and the priors, by Bayes' rule
    written out (determinants and inverses, no algebra shared with gaussian_fit)."""
    mu = [Xtr[ytr == c].mean(0) for c in (0, 1)]
    S = sum(((Xtr[ytr == c] - mu[c]).T @ (Xtr[ytr == c] - mu[c])) for c in (0, 1)) / len(Xtr)
    Si, det = np.linalg.inv(S), np.linalg.det(S)
    d = Xtr.shape[1]

    def density(c):
        D = X - mu[c]
        return np.exp(-0.5 * np.einsum("ni,ij,nj->n", D, Si, D)) / np.sqrt(
            (2 * np.pi) ** d * det)

    prior = [np.mean(ytr == c) for c in (0, 1)]
    p1, p0 = prior[1] * density(1), prior[0] * density(0)
    return p1 / (p0 + p1)


@pytest.mark.parametrize("task", ["blobs", "moons"])
def test_gaussian_fit_is_bayes_rule_on_the_shared_covariance_gaussians(task):
    ds = get_task(task).load(seed=0, dtype="float64")
    w, b = gaussian_fit(ds.X_train, ds.y_train)
    X = np.concatenate([ds.X_train, ds.X_test])
    post = 1.0 / (1.0 + np.exp(-(X @ w + b)))
    np.testing.assert_allclose(post, _bayes_posterior(X, ds.X_train, ds.y_train),
                               rtol=1e-9, atol=1e-12)


def test_gaussian_fit_matches_scikit_learns_lda():
    lda = pytest.importorskip("sklearn.discriminant_analysis")
    rng = np.random.default_rng(3)
    X = np.concatenate([rng.normal([0, 0, 1], [1, 2, 0.5], (70, 3)),
                        rng.normal([1, -1, 0], [1, 2, 0.5], (30, 3))])
    y = np.repeat([0, 1], [70, 30])
    ref = lda.LinearDiscriminantAnalysis(solver="lsqr").fit(X, y)
    w, b = gaussian_fit(X, y)
    np.testing.assert_allclose(w, ref.coef_[0], rtol=1e-10)
    np.testing.assert_allclose(b, ref.intercept_[0], rtol=1e-10)


def test_the_engine_fits_it_once_and_training_leaves_it():
    cfg, r = run(task="moons", model="gaussian", steps=5)
    ds = get_task("moons").load(seed=0, dtype="float32")
    w, b = gaussian_fit(ds.X_train, ds.y_train)
    np.testing.assert_allclose(r.weights[0][0, :, 0], w, rtol=1e-5)
    np.testing.assert_allclose(r.weights[1][0, 0, 0], b, rtol=1e-5)
    pred = (ds.X_train.astype(np.float64) @ w + b > 0).astype(int)
    assert r.final_train_acc == pytest.approx(np.mean(pred == ds.y_train))
    assert cfg.optim == "sgd" and run(task="moons", model="gaussian")[0].steps == 1


def test_gaussian_refusals():
    with pytest.raises(NNBenchError, match="both classes"):
        gaussian_fit(np.zeros((4, 2)), np.zeros(4))
    with pytest.raises(NNBenchError, match="singular"):
        gaussian_fit(np.ones((6, 2)), np.array([0, 1] * 3))
    with pytest.raises(NNBenchError, match="classifier"):
        resolve(RunConfig(task="sin", model="gaussian"))
    with pytest.raises(NNBenchError, match="separates two classes"):
        resolve(RunConfig(task="spirals", model="gaussian"))


def test_classic_gaussian_figure(tmp_path):
    out = tmp_path / "g"
    assert _main(["compare", "--models", "gaussian,logistic", "--task", "moons", "--steps",
                  "30", "--seeds", "1", "--out", str(out), "--quiet"]) == 0
    assert (out / "figures" / "boundaries.png").stat().st_size > 0
    runs = pd.read_csv(out / "runs.csv")
    assert dict(zip(runs["model"], runs["steps"], strict=True)) == {"gaussian": 30,
                                                                    "logistic": 30}


# ------------------------------------------------------------------------- threshold units


@pytest.mark.parametrize("bits", list(itertools.product([0, 1], repeat=4)))
def test_every_two_input_boolean_function_from_its_truth_table(bits):
    net = ThresholdNetwork(2, {"truth_table": list(bits)}, runs=2, dtype="float64")
    out = net.forward(INPUTS)
    assert out.shape == (2, 4, 1)
    np.testing.assert_array_equal((out[..., 0] >= 0).astype(int), np.tile(bits, (2, 1)))


def test_three_inputs_and_a_string_table():
    parity = [bin(k).count("1") % 2 for k in range(8)]
    net = ThresholdNetwork(3, {"truth_table": "".join(map(str, parity))})
    X = np.array([[(k >> 2) & 1, (k >> 1) & 1, k & 1] for k in range(8)], float)
    np.testing.assert_array_equal((net.forward(X)[0, :, 0] >= 0).astype(int), parity)


def test_the_notes_xor_network_by_hand():
    hidden, output = threshold_weights({}, 2)
    for (u1, u2), want in zip(INPUTS, [0, 1, 1, 0], strict=True):
        y = [1 if w1 * u1 + w2 * u2 - th >= 0 else 0 for w1, w2, th in hidden]
        assert (1 if output[0] * y[0] + output[1] * y[1] - output[2] >= 0 else 0) == want
    net = ThresholdNetwork(2)
    np.testing.assert_array_equal((net.forward(INPUTS)[0, :, 0] >= 0), [0, 1, 1, 0])


def test_weights_from_hidden_and_output_rows():
    # NAND: one unit f[-u1 - u2 + 1.5], passed through
    table = {"hidden": [[-1, -1, -1.5]], "output": [1, 0.5]}
    net = ThresholdNetwork(2, table)
    np.testing.assert_array_equal((net.forward(INPUTS)[0, :, 0] >= 0), [1, 1, 1, 0])


@pytest.mark.parametrize("table, match", [
    ({"truth_table": "011"}, "4 outputs 0 or 1"),
    ({"truth_table": [0, 1, 2, 0]}, "4 outputs 0 or 1"),
    ({"hidden": [[1, 1]], "output": [1, 0]}, "rows of 3 numbers"),
    ({"hidden": [[1, 1, 0]]}, "needs both hidden"),
    ({"weights": 1}, "unknown key 'weights'"),
    ({"truth_table": "0110", "hidden": [[1, 1, 0]]}, "not both"),
])
def test_bad_tables(table, match):
    with pytest.raises(NNBenchError, match=match):
        threshold_weights(table, 2)


def test_threshold_reports_100_percent_where_the_perceptron_is_not_separable(tmp_path,
                                                                             capsys):
    assert _main(["run", "--model", "threshold", "--task", "xor", "--out",
                  str(tmp_path / "t"), "--no-plot"]) == 0
    out = capsys.readouterr().out
    assert "threshold on xor (weights set, not trained): training accuracy 100%" in out
    runs = pd.read_csv(tmp_path / "t" / "runs.csv")
    assert runs["final_train_acc"].tolist() == [1.0]
    assert _main(["run", "--model", "perceptron", "--task", "xor", "--epochs", "10",
                  "--out", str(tmp_path / "p"), "--no-plot"]) == 0
    assert "perceptron on xor: not separable within 10 epochs" in capsys.readouterr().out


def test_a_toml_table_sets_the_weights(tmp_path, capsys):
    cfg = tmp_path / "or.toml"
    cfg.write_text('task = "xor"\nmodel = "threshold"\n[threshold]\n'
                   'truth_table = [0, 1, 1, 1]\n')
    assert _main(["run", "--config", str(cfg), "--out", str(tmp_path / "a"), "--quiet"]) == 0
    runs = pd.read_csv(tmp_path / "a" / "runs.csv")
    assert runs["final_train_acc"].tolist() == [0.75]  # OR agrees with XOR on 3 of 4
    assert _main(["run", "--config", str(tmp_path / "a" / "config.toml"), "--out",
                  str(tmp_path / "b"), "--quiet"]) == 0  # the table is kept in config.toml
    assert pd.read_csv(tmp_path / "b" / "runs.csv")["final_train_acc"].tolist() == [0.75]
    bad = tmp_path / "bad.toml"
    bad.write_text('task = "xor"\nmodel = "mlp"\n[threshold]\ntruth_table = "0110"\n')
    capsys.readouterr()
    assert _main(["run", "--config", str(bad), "--out", str(tmp_path / "c")]) == 2
    assert "sets the weights of --model threshold" in capsys.readouterr().err
