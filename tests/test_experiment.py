"""Experiments: grouping, determinism, interruption (a real SIGINT) and resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nnbench.config import expand, experiment_from_dict, load_toml
from nnbench.core.errors import NNBenchError
from nnbench.engine import StopFlag
from nnbench.experiment import (
    ExperimentInterrupted,
    default_out_dir,
    make_groups,
    run_experiment,
)
from nnbench.store import load_results, read_csv

# three groups (one per optimizer) of two runs (lr x 1 seed ... x 2 seeds)
GRID = {"name": "grid", "task": "sin-small", "task_kw": {"n_points": 60}, "width": 6,
        "steps": 1200, "optims": ["sgd", "adam", "rmsprop"], "lrs": [0.02, 0.005],
        "seeds": 1, "dtype": "float64", "log_every": 40}


def grid():
    return experiment_from_dict(GRID)


def tables(path: Path) -> dict[str, object]:
    """Every CSV of a results directory without the wall-clock columns, and config.toml."""
    out = {}
    for name in ("runs.csv", "metrics.csv", "layers.csv"):
        df = read_csv(path / name)
        out[name] = df.drop(columns=[c for c in ("wall_s",) if c in df.columns])
    out["config.toml"] = (path / "config.toml").read_text()
    return out


def assert_same(a: Path, b: Path) -> None:
    ta, tb = tables(a), tables(b)
    assert ta["config.toml"] == tb["config.toml"]
    for name in ("runs.csv", "metrics.csv", "layers.csv"):
        # byte-identical once the wall-clock columns are gone
        assert ta[name].to_csv(index=False) == tb[name].to_csv(index=False), name


@pytest.fixture(scope="module", autouse=True)
def numpy_backend():
    """The NumPy backend here (and in the interrupted child process): the compiled one
    trains this small grid in a blink, before a Ctrl-C could land in it."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NNBENCH_BACKEND", "numpy")
        yield


@pytest.fixture(scope="module")
def reference(tmp_path_factory, numpy_backend) -> Path:
    out = tmp_path_factory.mktemp("ref") / "res"
    assert run_experiment(grid(), out) == out
    return out


def test_groups_are_the_cells_without_seed_and_lr():
    exp = experiment_from_dict({**GRID, "seeds": 2, "acts": ["tanh", "relu"]})
    groups = make_groups(expand(exp))
    assert len(groups) == 6
    assert [r.run_id for r in groups[0]] == [
        "sgd-lr0.02-tanh-s0", "sgd-lr0.02-tanh-s1", "sgd-lr0.005-tanh-s0",
        "sgd-lr0.005-tanh-s1"]


def test_results_directory_contents(reference):
    res = load_results(reference)
    assert list(res.runs["run_id"]) == [r.run_id for r in expand(grid())]
    assert set(res.runs["status"]) == {"done"}
    assert (res.runs["steps_done"] == 1200).all()
    steps = sorted(set(res.metrics["step"]))
    assert steps == list(range(0, 1201, 40))
    assert len(res.metrics) == 6 * len(steps)
    assert len(res.layers) == 6 * len(steps) * 2
    assert sorted(p.name for p in (reference / "weights").iterdir()) == sorted(
        f"{r}.npz" for r in res.runs["run_id"])
    assert res.meta["status"] == "complete" and res.meta["end_time"]
    assert res.config.name == "grid"


def test_same_experiment_twice_gives_identical_files(reference, tmp_path):
    """Repeated from the written config.toml (the `compare --config` path)."""
    again = load_toml(reference / "config.toml")
    out = run_experiment(again, tmp_path / "again")
    assert_same(reference, out)


def test_existing_directory_is_never_overwritten_unless_asked(reference, tmp_path):
    out = tmp_path / "x"
    out.mkdir()
    (out / "runs.csv").write_text("old\n")
    small = experiment_from_dict({**GRID, "optims": ["sgd"], "lrs": [0.1], "steps": 3})
    with pytest.raises(NNBenchError, match="not empty"):
        run_experiment(small, out)
    assert (out / "runs.csv").read_text() == "old\n"
    # nor replaced when nnbench did not write it (no nnbench meta.json)
    with pytest.raises(NNBenchError, match="not a results directory nnbench wrote"):
        run_experiment(small, out, overwrite=True)
    assert (out / "runs.csv").read_text() == "old\n"
    ours = tmp_path / "ours"
    run_experiment(small, ours)
    (ours / "runs.csv").write_text("old\n")
    run_experiment(small, ours, overwrite=True)
    assert load_results(ours).runs["status"].tolist() == ["done"]


def test_default_out_dir_is_name_and_utc_timestamp():
    p = default_out_dir(grid())
    assert p.parts[:2] == ("results", "grid")
    assert len(p.name) == 16 and p.name.endswith("Z") and p.name[8] == "T"


class StopInGroup:
    """A reporter that asks to stop once a run of ``group`` has made progress."""

    def __init__(self, stop: StopFlag, prefix: str):
        self.stop, self.prefix = stop, prefix

    def start(self, runs):
        pass

    def update(self, progress):
        if any(p.run_id.startswith(self.prefix) and 0 < p.step < p.total for p in progress):
            self.stop.requested = True

    def finish(self):
        pass


def test_interrupt_then_resume_equals_uninterrupted(reference, tmp_path):
    out = tmp_path / "int"
    stop = StopFlag()
    with pytest.raises(ExperimentInterrupted) as err:
        run_experiment(grid(), out, StopInGroup(stop, "adam"), stop=stop)
    assert err.value.out_dir == out
    res = load_results(out)
    status = dict(zip(res.runs["run_id"], res.runs["status"], strict=True))
    assert status == {"sgd-lr0.02-s0": "done", "sgd-lr0.005-s0": "done",
                      "adam-lr0.02-s0": "interrupted", "adam-lr0.005-s0": "interrupted"}
    assert res.meta["status"] == "interrupted"
    partial = res.metrics[res.metrics["run_id"].str.startswith("adam")]
    assert 0 < len(partial) < 2 * 31
    run_experiment(load_toml(out / "config.toml"), out, resume=True)
    assert_same(reference, out)
    assert len(load_results(out).meta["resumed"]) == 1


SCRIPT = """
import sys
from pathlib import Path
from nnbench.config import experiment_from_dict
from nnbench.experiment import run_experiment
run_experiment(experiment_from_dict({grid!r}), Path(sys.argv[1]))
"""


def test_real_sigint_then_resume(reference, tmp_path):
    """Ctrl-C in a child process: finished runs are complete, the rest interrupted;
    resuming gives the files of the uninterrupted experiment."""
    out = tmp_path / "sig"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT.format(grid=GRID), str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    metrics = out / "metrics.csv"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if metrics.is_file() and metrics.read_text().count("\n") > 1:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the experiment ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "KeyboardInterrupt" in stderr or "interrupted" in stderr
    res = load_results(out)
    statuses = list(res.runs["status"])
    # the signal lands in a group (its runs: interrupted) or between two (the next
    # groups never start); either way the finished runs are complete
    assert "interrupted" in statuses or len(statuses) < 6
    assert "done" in statuses and set(statuses) <= {"done", "interrupted"}
    assert res.meta["status"] == "interrupted"
    run_experiment(load_toml(out / "config.toml"), out, resume=True)
    assert_same(reference, out)


def test_resume_needs_a_results_directory(tmp_path):
    with pytest.raises(NNBenchError, match="not a nnbench results directory"):
        run_experiment(grid(), tmp_path, resume=True)
