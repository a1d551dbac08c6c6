"""Every combination is checked before anything is created.

A task, model, loss or activation that do not fit, or data that is not there, are one
line on stderr and exit code 2 with no results directory; a failure only training can
find leaves ``meta.json`` at ``failed`` with its message.
"""

import json
import sys

import pytest
from typer.testing import CliRunner

from nnbench.cli import app

runner = CliRunner()
FAST = ["--steps", "3", "--log-every", "3", "--no-plot", "--quiet"]


def _run(tmp_path, *args):
    out = tmp_path / "r"
    result = runner.invoke(app, ["run", *args, *FAST, "--out", str(out)])
    return result, out


@pytest.mark.parametrize("args,words", [
    (["--task", "moons", "--loss", "mse"],
     "loss mse needs a regression task; moons is a classification task with 2 classes: "
     "use softmax_cross_entropy"),
    (["--task", "sin-small", "--loss", "softmax_cross_entropy"],
     "loss softmax_cross_entropy needs a classification task; sin-small is a regression "
     "task: use mse"),
    (["--task", "spirals", "--loss", "bce_with_logits"],
     "loss bce_with_logits separates two classes with one output; spirals is a "
     "classification task with 3 classes: use softmax_cross_entropy"),
    (["--task", "moons", "--model", "softmax", "--loss", "bce_with_logits"],
     "model 'softmax' trains with loss softmax_cross_entropy or hinge, got "
     "'bce_with_logits'"),
    (["--task", "moons", "--act", "step"], "activation step has no gradient"),
    (["--task", "spirals", "--model", "logistic"],
     "model logistic separates two classes with one output; spirals is a classification "
     "task with 3 classes: use --model softmax or mlp"),
    (["--task", "spirals", "--model", "perceptron"], "model perceptron separates two classes"),
])
def test_misfits_are_refused_before_the_directory_exists(tmp_path, args, words):
    result, out = _run(tmp_path, *args)
    assert result.exit_code == 2, result.output
    assert words in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr and "shape" not in result.stderr
    assert not out.exists()


def test_compare_checks_every_cell_first(tmp_path):
    out = tmp_path / "r"
    result = runner.invoke(app, ["compare", "--task", "moons", "--losses",
                                 "softmax_cross_entropy,mse", *FAST, "--out", str(out)])
    assert result.exit_code == 2 and "loss mse needs a regression task" in result.stderr
    assert not out.exists()


def test_debug_shows_the_traceback(tmp_path):
    result, out = _run(tmp_path, "--task", "moons", "--loss", "mse", "--debug")
    assert result.exit_code != 0 and result.exception is not None
    assert "regression task" in str(result.exception)
    assert not out.exists()


def test_missing_mnist_files(tmp_path):
    result, out = _run(tmp_path, "--task", "mnist", "--data-dir", str(tmp_path / "none"))
    assert result.exit_code == 2
    assert "nnbench data fetch mnist" in result.stderr
    assert not out.exists()


def test_missing_mnist_in_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NNBENCH_CACHE", str(tmp_path / "cache"))
    result, out = _run(tmp_path, "--task", "fashion-mnist")
    assert result.exit_code == 2 and "nnbench data fetch fashion-mnist" in result.stderr
    assert not out.exists()


def test_digits_without_scikit_learn(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # import raises ImportError
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    result, out = _run(tmp_path, "--task", "digits")
    assert result.exit_code == 2
    assert "needs the optional package 'sklearn'" in result.stderr
    assert not out.exists()


def test_mnist1d_without_its_package_or_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NNBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setitem(sys.modules, "mnist1d", None)
    monkeypatch.setitem(sys.modules, "mnist1d.data", None)
    result, out = _run(tmp_path, "--task", "mnist1d")
    assert result.exit_code == 2 and "'mnist1d'" in result.stderr
    assert not out.exists()


def test_a_failure_in_training_marks_the_directory_failed(tmp_path):
    data = tmp_path / "mnist"  # the four files are there, but they are not IDX files
    data.mkdir()
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (data / name).write_bytes(b"not an idx file")
    result, out = _run(tmp_path, "--task", "mnist", "--data-dir", str(data))
    assert result.exit_code == 2
    assert "bad IDX magic number" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    meta = json.loads((out / "meta.json").read_text())
    assert meta["status"] == "failed"
    assert "bad IDX magic number" in meta["error"]
    assert meta["end_time"] is not None


# -- conflicting options are errors, not silent choices -----------------------------------


def test_steps_and_epochs_on_the_command_line(tmp_path):
    out = tmp_path / "r"
    result = runner.invoke(app, ["run", "--task", "sin-small", "--epochs", "2", "--steps",
                                 "10", "--no-plot", "--quiet", "--out", str(out)])
    assert result.exit_code == 2
    assert "--steps and --epochs both given" in result.stderr
    assert not out.exists()


@pytest.mark.parametrize("text,words", [
    ('task = "sin-small"\noptim = "sgd"\noptims = ["adam", "sgd"]\n',
     "e.toml:3: optim and optims both given"),
    ('task = "sin-small"\nlrs = [0.1, 0.01]\nlr = 0.1\n', "lr and lrs both given"),
    ('task = "sin-small"\nsteps = 5\nepochs = 2\n', "e.toml:3: steps and epochs both given"),
])
def test_contradicting_keys_in_a_config_file(tmp_path, text, words):
    f = tmp_path / "e.toml"
    f.write_text(text)
    out = tmp_path / "r"
    result = runner.invoke(app, ["compare", "--config", str(f), "--quiet", "--no-plot",
                                 "--out", str(out)])
    assert result.exit_code == 2 and words in result.stderr
    assert not out.exists()


@pytest.mark.parametrize("file_key,flag,steps", [("epochs = 1", ["--steps", "7"], 7),
                                                  ("steps = 7", ["--epochs", "2"], 2)])
def test_a_flag_replaces_the_files_steps_or_epochs(tmp_path, file_key, flag, steps):
    from nnbench.store import read_csv

    f = tmp_path / "e.toml"
    f.write_text(f'task = "sin-small"\n{file_key}\n')  # full batch: an epoch is a step
    out = tmp_path / "r"
    result = runner.invoke(app, ["compare", "--config", str(f), *flag, "--seeds", "1",
                                 "--quiet", "--no-plot", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert int(read_csv(out / "runs.csv")["steps_done"][0]) == steps


@pytest.mark.parametrize("flag", [["--lr", "inf"], ["--lr", "nan"], ["--lr", "-inf"],
                                  ["--lrs", "0.1,inf"]])
def test_an_infinite_or_nan_learning_rate(tmp_path, flag):
    out = tmp_path / "r"
    result = runner.invoke(app, ["compare", "--task", "sin-small", *flag, *FAST,
                                 "--out", str(out)])
    assert result.exit_code == 2 and "lr must be a finite number > 0" in result.stderr
    assert not out.exists()


def test_a_batch_larger_than_the_training_set_trains_full_batch_and_says_so(tmp_path):
    from nnbench.store import read_csv

    results = {}
    for batch in ("5000", "full"):
        out = tmp_path / batch
        result = runner.invoke(app, ["run", "--task", "sin-small", "--batch-size", batch,
                                     *FAST, "--out", str(out)])
        assert result.exit_code == 0, result.output
        results[batch] = (result.stderr, read_csv(out / "metrics.csv").drop(columns="wall_s"))
    assert ("warning: batch size 5000 is larger than the 1000 training samples of sin-small: "
            "it trains full batch") in results["5000"][0]
    assert "warning" not in results["full"][0]
    assert results["5000"][1].equals(results["full"][1])
