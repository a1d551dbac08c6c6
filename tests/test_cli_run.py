"""run, compare, show, plot and report end to end, through CliRunner and as subprocesses.

Tiny experiments (sin-small, 20 steps) keep the file fast.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from nnbench.cli import app
from nnbench.config import load_toml

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
TINY = ["--task", "sin-small", "--steps", "20", "--log-every", "5"]
WALL = {"wall_s", "start_time", "end_time"}


def invoke(*args: str):
    result = runner.invoke(app, list(args), env={"COLUMNS": "160"})
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def read(out: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(out / name)


def without_wall(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=[c for c in df.columns if c in WALL])


@pytest.fixture(scope="module")
def grid(tmp_path_factory) -> tuple[Path, dict]:
    """One small grid shared by several tests: 2 optimizers x 2 lrs x 2 seeds."""
    out = tmp_path_factory.mktemp("grid") / "out"
    result = invoke("compare", "--optims", "sgd,adam", "--lrs", "0.1,0.01", "--seeds", "2",
                    *TINY, "--no-plot", "--json", "--out", str(out))
    return out, json.loads(result.stdout)


def test_compare_grid_and_csv_schema(grid):
    out, _ = grid
    runs = read(out, "runs.csv")
    assert len(runs) == 8
    cells = set(zip(runs["optimizer"], runs["lr"], runs["seed"], strict=True))
    assert cells == {(o, lr, s) for o in ("sgd", "adam") for lr in (0.1, 0.01) for s in (0, 1)}
    for col in ("run_id", "task", "optimizer", "lr", "activation", "depth", "width", "seed",
                "status", "final_train_loss", "best_train_loss", "steps_done", "wall_s"):
        assert col in runs.columns, col
    assert runs["run_id"].is_unique
    assert set(runs["status"]) == {"done"} and (runs["steps_done"] == 20).all()
    metrics = read(out, "metrics.csv")
    for col in ("run_id", "step", "wall_s", "lr", "train_loss"):
        assert col in metrics.columns, col
    assert set(metrics["run_id"]) == set(runs["run_id"])
    assert metrics.groupby("run_id")["step"].max().eq(20).all()
    layers = read(out, "layers.csv")
    assert {"run_id", "step", "layer", "grad_norm", "weight_norm"} <= set(layers.columns)
    assert (out / "config.toml").is_file() and (out / "meta.json").is_file()
    meta = json.loads((out / "meta.json").read_text())
    assert meta["status"] == "complete" and meta["end_time"]


def test_json_summary_matches_runs_csv(grid):
    out, doc = grid
    assert doc["results_dir"] == str(out)
    assert doc["cells"] == ["optimizer", "lr"]
    runs = read(out, "runs.csv")
    assert len(doc["summary"]) == 4
    for cell in doc["summary"]:
        sel = runs[(runs.optimizer == cell["optimizer"]) & (runs.lr == cell["lr"])]
        assert cell["runs"] == 2 and cell["diverged"] == 0
        assert cell["final_loss_mean"] == pytest.approx(sel["final_train_loss"].mean())
        assert cell["best_loss_mean"] == pytest.approx(sel["best_train_loss"].mean())
    # the best lr per optimizer, by the mean final training loss (no validation set)
    best = {b["optimizer"]: b["best_lr"] for b in doc["best_lr"]}
    means = runs.groupby(["optimizer", "lr"])["final_train_loss"].mean()
    for opt in ("sgd", "adam"):
        assert best[opt] == means[opt].idxmin()


def test_show_again_and_as_json(grid):
    out, doc = grid
    result = invoke("show", str(out))
    text = result.stdout
    assert "optimizer" in text and "best lr for sgd" in text and "best lr for adam" in text
    assert text.strip().splitlines()[-1] == f"results: {out}"
    again = json.loads(invoke("show", str(out), "--json").stdout)
    assert again["summary"] == doc["summary"]


def test_config_file_repeats_the_experiment(grid, tmp_path):
    out, _ = grid
    config = load_toml(out / "config.toml")
    assert config.optims == ["sgd", "adam"] and config.lrs == [0.1, 0.01]
    again = tmp_path / "again"
    invoke("compare", "--config", str(out / "config.toml"), "--no-plot", "--quiet",
           "--out", str(again))
    for name in ("runs.csv", "metrics.csv", "layers.csv"):
        pd.testing.assert_frame_equal(without_wall(read(out, name)),
                                      without_wall(read(again, name)))


def test_flags_override_the_config_file(grid, tmp_path):
    out, _ = grid
    other = tmp_path / "other"
    invoke("compare", "--config", str(out / "config.toml"), "--optim", "sgd", "--seeds", "1",
           "--steps", "10", "--no-plot", "--quiet", "--out", str(other))
    runs = read(other, "runs.csv")
    assert set(runs["optimizer"]) == {"sgd"} and set(runs["lr"]) == {0.1, 0.01}
    assert len(runs) == 2 and (runs["steps_done"] == 10).all()
    assert load_toml(other / "config.toml").base.steps == 10


def test_run_is_deterministic_and_plain_output(tmp_path):
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name
        result = invoke("run", *TINY, "--optim", "adam", "--seed", "3", "--no-plot",
                        "--out", str(out))
        outs.append(out)
        lines = result.stdout.strip().splitlines()
        assert lines[0] == "training 1 run in 1 group"
        assert lines[1].startswith("run ") and " done: step 20/20" in lines[1]
        assert lines[-1] == f"results: {out}"
    for name in ("runs.csv", "metrics.csv", "layers.csv"):
        a, b = (without_wall(read(o, name)) for o in outs)
        assert len(a) > 0
        pd.testing.assert_frame_equal(a, b)
    runs = read(outs[0], "runs.csv")
    assert len(runs) == 1 and runs["seed"].iloc[0] == 3 and runs["optimizer"].iloc[0] == "adam"


def test_quiet_prints_only_the_directory(tmp_path):
    out = tmp_path / "q"
    result = invoke("run", *TINY, "--no-plot", "--quiet", "--out", str(out))
    assert result.stdout == f"{out}\n"


def test_existing_output_needs_overwrite(tmp_path):
    out = tmp_path / "o"
    invoke("run", *TINY, "--no-plot", "--quiet", "--out", str(out))
    result = runner.invoke(app, ["run", *TINY, "--no-plot", "--out", str(out)])
    assert result.exit_code == 2 and "--overwrite" in result.stderr
    invoke("run", *TINY, "--steps", "10", "--no-plot", "--quiet", "--overwrite",
           "--out", str(out))
    assert read(out, "runs.csv")["steps_done"].tolist() == [10]


def test_target_reports_steps_to_reach_it(tmp_path):
    out = tmp_path / "t"
    doc = json.loads(invoke("compare", "--optims", "sgd,adam", "--seeds", "2", *TINY,
                            "--target", "0.6", "--no-plot", "--json", "--out", str(out)).stdout)
    metrics = read(out, "metrics.csv")
    runs = read(out, "runs.csv")
    for cell in doc["summary"]:
        ids = runs.loc[runs.optimizer == cell["optimizer"], "run_id"]
        firsts = [metrics[(metrics.run_id == r) & (metrics.train_loss <= 0.6)]["step"].min()
                  for r in ids]
        reached = [f for f in firsts if f == f]
        assert cell["reached"] == len(reached)
        if reached:
            assert cell["steps_to_target_mean"] == pytest.approx(sum(reached) / len(reached))
    assert any(cell["reached"] for cell in doc["summary"])
    # show uses the experiment's target unless given another
    assert json.loads(invoke("show", str(out), "--json").stdout)["summary"] == doc["summary"]
    never = json.loads(invoke("show", str(out), "--json", "--target", "1e-9").stdout)
    assert [cell["reached"] for cell in never["summary"]] == [0, 0]


def test_figures_plot_and_report(tmp_path):
    out = tmp_path / "fig"
    invoke("compare", "--optims", "sgd,adam", "--seeds", "1", *TINY, "--quiet",
           "--out", str(out))
    figures = sorted((out / "figures").glob("*.png"))
    assert figures
    result = invoke("plot", str(out), "--x", "step", "--format", "svg")
    paths = [Path(p) for p in result.stdout.split()]
    assert paths and all(p.suffix == ".svg" and p.is_file() for p in paths)
    result = invoke("report", str(out))
    assert {Path(p).name for p in result.stdout.split()} == {"report.md", "report.html"}


def _subprocess(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "nnbench", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env(), **kw)


def test_sigint_then_resume_equals_an_uninterrupted_run(tmp_path):
    args = ["compare", "--optims", "sgd,adam", "--seeds", "1", "--task", "sin-small",
            "--steps", "5000", "--log-every", "50", "--no-plot"]
    out = tmp_path / "interrupted"
    proc = _subprocess(*args, "--out", str(out))
    # piped, the console says "training 2 runs in 2 groups" as the first group starts
    first = proc.stdout.readline()
    assert first.startswith("training 2 runs"), (first, proc.communicate())
    time.sleep(0.2)  # inside the first group (a second or more of training)
    assert proc.poll() is None, "the experiment ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, (stdout, stderr)
    assert "Traceback" not in stderr
    assert f"nnbench compare --resume {out}" in stderr
    assert stdout.strip().splitlines()[-1] == str(out)
    runs = read(out, "runs.csv")
    # the signal lands in a group (its runs: interrupted) or between the two (the second
    # group never started); either way what finished is complete and nothing else is
    assert "interrupted" in set(runs["status"]) or len(runs) < 2, runs
    assert (runs.loc[runs.status == "interrupted", "steps_done"] < 5000).all()
    assert (runs.loc[runs.status == "done", "steps_done"] == 5000).all()

    proc = _subprocess("compare", "--resume", str(out), "--quiet")
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    assert stdout.strip() == str(out)

    full = tmp_path / "full"
    invoke(*args, "--quiet", "--out", str(full))
    a = without_wall(read(out, "runs.csv")).sort_values("run_id").reset_index(drop=True)
    b = without_wall(read(full, "runs.csv")).sort_values("run_id").reset_index(drop=True)
    assert set(a["status"]) == {"done"}
    pd.testing.assert_frame_equal(a, b)
    ma = without_wall(read(out, "metrics.csv")).sort_values(["run_id", "step"])
    mb = without_wall(read(full, "metrics.csv")).sort_values(["run_id", "step"])
    pd.testing.assert_frame_equal(ma.reset_index(drop=True), mb.reset_index(drop=True))


def test_diverged_runs_are_counted_and_never_the_best_lr(tmp_path):
    out = tmp_path / "div"
    doc = json.loads(invoke("compare", "--optims", "sgd", "--lrs", "1000,0.1", "--seeds", "2",
                            *TINY, "--no-plot", "--json", "--out", str(out)).stdout)
    runs = read(out, "runs.csv")
    assert set(runs.loc[runs.lr == 1000, "status"]) == {"diverged"}
    cells = {cell["lr"]: cell for cell in doc["summary"]}
    assert cells[1000]["diverged"] == 2 and cells[0.1]["diverged"] == 0
    assert cells[1000]["final_loss_mean"] is None  # no finite run to average
    assert doc["best_lr"] == [{"optimizer": "sgd", "best_lr": 0.1,
                               "criterion": "final_train_loss",
                               "mean_loss": pytest.approx(cells[0.1]["final_loss_mean"])}]
