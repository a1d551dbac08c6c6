"""The results directory: schema, atomic writes, partial lines, weights, meta."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from nnbench.config import experiment_from_dict
from nnbench.core.errors import NNBenchError
from nnbench.engine import LAYER_COLUMNS, metric_columns
from nnbench.experiment import run_columns, run_experiment
from nnbench.store import (
    ResultsWriter,
    atomic_write_text,
    load_results,
    read_csv,
)

DESIGN_RUNS = ["run_id", "task", "optimizer", "lr", "activation", "depth", "width", "seed",
               "status", "final_train_loss", "best_train_loss", "steps_done", "wall_s"]
DESIGN_METRICS = ["run_id", "step", "wall_s", "lr", "train_loss", "val_loss", "grad_norm"]
DESIGN_LAYERS = ["run_id", "step", "layer", "grad_norm", "weight_norm", "update_ratio"]


@pytest.fixture(scope="module")
def classified(tmp_path_factory) -> Path:
    """A small classification experiment with validation, test split and a divergence."""
    exp = experiment_from_dict({"task": "blobs", "act": "relu", "depth": 1, "width": 4,
                                "steps": 30, "optim": "sgd", "lrs": [0.1, 1e9], "seeds": 1,
                                "val_frac": 0.2, "dtype": "float64", "log_every": 10})
    out = tmp_path_factory.mktemp("cls") / "res"
    run_experiment(exp, out)
    return out


def test_csv_schema(classified):
    res = load_results(classified)
    assert list(res.runs.columns) == run_columns("classification")
    assert set(DESIGN_RUNS) <= set(res.runs.columns)
    assert {"final_train_acc", "final_val_acc", "final_test_acc", "stopped_early",
            "best_step", "diverged_step", "hp", "batch_size"} <= set(res.runs.columns)
    assert list(res.metrics.columns) == metric_columns("classification")
    assert set(DESIGN_METRICS) <= set(res.metrics.columns)
    assert {"train_acc", "val_acc"} <= set(res.metrics.columns)
    assert list(res.layers.columns) == LAYER_COLUMNS
    assert set(DESIGN_LAYERS) <= set(res.layers.columns)
    assert list(res.runs["status"]) == ["done", "diverged"]
    ok = res.runs.iloc[0]
    assert 0 <= ok["final_test_acc"] <= 1 and 0 <= ok["final_val_acc"] <= 1
    assert ok["steps_done"] == 30 and np.isnan(ok["diverged_step"])
    bad = res.runs.iloc[1]
    assert bad["diverged_step"] == bad["steps_done"] < 30
    assert res.runs["optimizer"].tolist() == ["sgd", "sgd"]
    assert res.runs["activation"].tolist() == ["relu", "relu"]


def test_saved_weights_reproduce_the_logged_test_accuracy(classified):
    """Rebuild the network from weights/<run_id>.npz and measure accuracy by hand."""
    from nnbench.core.mlp import MLP
    from nnbench.tasks import get_task

    res = load_results(classified)
    row = res.runs.iloc[0]
    with np.load(classified / "weights" / f"{row['run_id']}.npz", allow_pickle=False) as z:
        assert z.files == ["p0", "p1", "p2", "p3"]
        arrays = [z[k] for k in z.files]
    assert arrays[0].shape[0] == 1 and arrays[0].shape[2] == 4
    data = get_task("blobs").load(seed=0, val_frac=0.2, dtype="float64")
    net = MLP([data.n_features, 4, data.n_outputs], activation="relu", seed=0,
              dtype="float64")
    net.params[:] = arrays
    acc = np.mean(np.argmax(net.forward(data.X_test)[0], axis=1) == data.y_test)
    assert acc == pytest.approx(row["final_test_acc"], abs=1e-12)
    assert [a.shape for a in res.weights(row["run_id"])] == [a.shape for a in arrays]


def test_meta_json(classified):
    meta = json.loads((classified / "meta.json").read_text())
    assert {"command", "versions", "git_commit", "start_time", "end_time", "cores"} <= set(meta)
    assert set(meta["versions"]) >= {"nnbench", "numpy", "python"}
    assert meta["start_time"].endswith("Z") and meta["end_time"] >= meta["start_time"]
    assert meta["cores"] == os.cpu_count()


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    f = tmp_path / "runs.csv"
    atomic_write_text(f, "old\n")

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_text(f, "new\n")
    assert f.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["runs.csv"]  # no temporary left behind
    monkeypatch.undo()
    atomic_write_text(f, "new\n")
    assert f.read_text() == "new\n"


def test_appended_rows_and_an_unfinished_last_line(tmp_path):
    w = ResultsWriter(tmp_path, ["run_id", "step", "train_loss"], ["run_id", "step", "layer"])
    w.create()
    w.write([{"run_id": "a", "step": 0, "train_loss": 0.1 + 0.2}], [])
    w.write([{"run_id": "a", "step": 1, "train_loss": float("nan")},
             {"run_id": "b", "step": 0, "train_loss": float("inf")}], [])
    with open(tmp_path / "metrics.csv", "a") as f:
        f.write("b,1,0.12")  # a crash in the middle of a line
    df = read_csv(tmp_path / "metrics.csv")
    assert list(df["run_id"]) == ["a", "a", "b"]
    assert df["train_loss"].iloc[0] == 0.1 + 0.2  # floats come back exactly
    assert np.isnan(df["train_loss"].iloc[1]) and np.isinf(df["train_loss"].iloc[2])
    w.drop_runs(["b"])
    assert list(read_csv(tmp_path / "metrics.csv")["run_id"]) == ["b"]


def test_finalize_sorts_by_grid_order_step_and_layer(tmp_path):
    w = ResultsWriter(tmp_path, ["run_id", "step"], ["run_id", "step", "layer"])
    w.create()
    w.write([{"run_id": "b", "step": 0}, {"run_id": "a", "step": 5}, {"run_id": "a", "step": 0}],
            [{"run_id": "a", "step": 0, "layer": 2}, {"run_id": "a", "step": 0, "layer": 1}])
    w.finalize(["a", "b"])
    m = read_csv(tmp_path / "metrics.csv")
    assert list(zip(m["run_id"], m["step"], strict=True)) == [("a", 0), ("a", 5), ("b", 0)]
    assert list(read_csv(tmp_path / "layers.csv")["layer"]) == [1, 2]


def test_not_a_results_directory(tmp_path):
    with pytest.raises(NNBenchError,
                       match=f"{tmp_path} is not a nnbench results directory: no runs.csv"):
        load_results(tmp_path)


def test_store_and_cli_help_do_not_import_pandas_at_import_time():
    import subprocess
    import sys

    code = ("import sys, nnbench.store, nnbench.experiment, nnbench.config; "
            "print('pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
