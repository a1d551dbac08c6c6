"""Tuning with a budget (random search, then final seeds), tasks as a grid axis, and the
cross-task leaderboard and performance profile, against hand computations."""

import json
import math

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from nnbench import summary as sm
from nnbench import tune
from nnbench.cli import app
from nnbench.config import ExperimentConfig, expand, merge


def test_trial_rates_are_log_uniform_seeded_and_shared_across_optimizers():
    lo, hi = 1e-4, 1.0
    lrs = tune.trial_lrs(lo, hi, 6, seed=0)
    u = np.random.default_rng(0).random(6)
    assert lrs == pytest.approx([lo * (hi / lo) ** v for v in u], rel=1e-12)
    assert lrs == tune.trial_lrs(lo, hi, 6, seed=0)  # the same command, the same rates
    assert lrs != tune.trial_lrs(lo, hi, 6, seed=1)
    other = tune.trial_lrs(1e-3, 3.0, 6, seed=0)  # the same quantile of another range
    q = [math.log(x / 1e-3) / math.log(3.0 / 1e-3) for x in other]
    assert q == pytest.approx(list(u))
    # log-uniform: the logs of many draws are uniform on [log lo, log hi]
    many = np.log10(tune.trial_lrs(lo, hi, 20000, seed=3))
    assert many.min() >= -4 and many.max() <= 0
    assert np.mean(many) == pytest.approx(-2.0, abs=0.05)
    assert np.mean(many < -3) == pytest.approx(0.25, abs=0.02)


def test_ranges_per_optimizer():
    assert tune.lr_range("sgd") == (1e-3, 3.0)
    assert tune.lr_range("adam", [0.01, 0.1]) == (0.01, 0.1)
    from nnbench.core.optimizers import OPTIMIZERS

    lr0 = OPTIMIZERS.get("lookahead").defaults["lr"]  # no entry: two decades either side
    assert tune.lr_range("lookahead") == pytest.approx((lr0 / 100, lr0 * 100))


def test_a_tuned_grid_expands_into_its_trials():
    exp = merge(ExperimentConfig(), {"tasks": ["sin-small", "moons"],
                                     "optims": ["sgd", "adam"], "tune": "lr", "budget": 3,
                                     "seed": 4})
    runs = expand(exp)
    assert [r.run_id for r in runs[:4]] == ["sin-small-sgd-tune0-s4", "sin-small-sgd-tune1-s4",
                                            "sin-small-sgd-tune2-s4", "sin-small-adam-tune0-s4"]
    assert len(runs) == 2 * 2 * 3 and {r.seed for r in runs} == {4}
    sgd = [r.lr for r in runs if r.optim == "sgd" and r.task == "moons"]
    assert sgd == tune.trial_lrs(1e-3, 3.0, 3, 4)
    assert tune.final_seeds(exp) == [5, 6, 7]


@pytest.mark.parametrize("args,words", [
    (["--tune", "lr"], "--tune lr needs --budget N"),
    (["--tune", "lr", "--budget", "3", "--lrs", "0.1,0.01"], "give no --lr or --lrs"),
    (["--budget", "3"], "--budget is a setting of the tuning; give --tune lr"),
    (["--tune", "momentum", "--budget", "3"], "tune must be one of lr"),
    (["--tune", "lr", "--budget", "3", "--lr-range", "1,0.1"], "lr_range must be two"),
    (["--tune", "lr", "--budget", "3", "--lr-range", "0.1"], "--lr-range takes two numbers"),
])
def test_bad_tuning_is_one_line_and_exit_2(tmp_path, args, words):
    out = tmp_path / "r"
    result = CliRunner().invoke(app, ["compare", "--task", "sin-small", "--optims", "sgd,adam",
                                      "--steps", "5", "--no-plot", "--out", str(out), *args])
    assert result.exit_code == 2, result.output
    assert words in result.output and "Traceback" not in result.output
    assert not out.exists()


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    out = tmp_path_factory.mktemp("tuned") / "r"
    result = CliRunner().invoke(app, [
        "compare", "--tasks", "sin-small,moons", "--optims", "sgd,adam", "--tune", "lr",
        "--budget", "3", "--final-seeds", "2", "--steps", "30", "--out", str(out),
        "--baseline", "sgd", "--json"])
    assert result.exit_code == 0, result.output
    return out, json.loads(result.stdout)


def test_the_final_seeds_train_the_best_trial_again(tuned):
    out, doc = tuned
    runs = pd.read_csv(out / "runs.csv")
    assert runs["phase"].value_counts().to_dict() == {"search": 12, "final": 8}
    for (task, opt), cell in runs.groupby(["task", "optimizer"]):
        trials = cell[cell.phase == "search"]
        finals = cell[cell.phase == "final"]
        scores = trials["final_train_loss"].astype(float).fillna(np.inf)
        best = trials["lr"].iloc[int(np.argmin(scores.to_numpy()))]
        assert (finals["lr"] == best).all(), (task, opt)
        assert finals["seed"].tolist() == [1, 2]
        assert finals["run_id"].tolist() == [f"{task}-{opt}-final-s1", f"{task}-{opt}-final-s2"]
    tuning = pd.DataFrame(doc["tuning"])
    assert tuning["budget"].tolist() == [3, 3, 3, 3]
    assert tuning["final_seeds"].tolist() == [2, 2, 2, 2]
    assert tuning.loc[tuning.optimizer == "sgd", "lr_lo"].tolist() == [1e-3, 1e-3]
    # paired with SGD on the same task, though each was tuned to its own rate there
    adam = [c for c in doc["summary"] if c["optimizer"] == "adam"]
    assert all(c["pairs"] == 2 for c in adam), [c["verdict"] for c in adam]
    # the summary is over the final seeds, the tuned rate a column of each cell
    assert all(c["runs"] == 2 for c in doc["summary"])
    assert doc["cells"] == ["task", "optimizer", "lr"]


def test_a_tuned_directory_reads_back_and_repeats(tuned, tmp_path):
    out, doc = tuned
    shown = CliRunner().invoke(app, ["show", str(out)])
    assert shown.exit_code == 0, shown.output
    assert "tuned lr for moons, adam:" in shown.output and "the best of 3 trials" in shown.output
    assert "leaderboard over 2 tasks" in shown.output
    again = tmp_path / "again"
    result = CliRunner().invoke(app, ["compare", "--config", str(out / "config.toml"),
                                      "--out", str(again), "--no-plot", "--quiet"])
    assert result.exit_code == 0, result.output
    cols = ["run_id", "lr", "seed", "final_train_loss", "phase"]
    pd.testing.assert_frame_equal(pd.read_csv(out / "runs.csv")[cols],
                                  pd.read_csv(again / "runs.csv")[cols])


def test_the_leaderboard_and_the_profile_of_a_tuned_suite(tuned):
    out, doc = tuned
    ranks = {r["method"]: r["mean rank"] for r in doc["leaderboard"]["ranks"]}
    assert set(ranks) == {"sgd", "adam"}
    scores = doc["leaderboard"]["scores"]
    adam_wins = sum(scores[t]["adam"] < scores[t]["sgd"] for t in scores)
    assert ranks["adam"] == pytest.approx(1 + (2 - adam_wins) / 2)
    assert (out / "figures" / "performance_profile.png").is_file()
    assert (out / "figures" / "leaderboard.png").is_file()
    # the scores are the mean final-seed losses per task
    runs = pd.read_csv(out / "runs.csv").query("phase == 'final'")
    mean = runs.groupby(["task", "optimizer"])["final_train_loss"].mean()
    assert doc["leaderboard"]["scores"]["moons"]["adam"] == pytest.approx(mean["moons", "adam"])


def _scores():
    # tasks x methods, by hand:
    #          a     b     c
    # t1      1.0   2.0   4.0     ratios 1, 2, 4
    # t2      3.0   1.5   1.5     ratios 2, 1, 1
    # t3      0.5   inf   1.0     ratios 1, inf, 2
    return pd.DataFrame({"a": [1.0, 3.0, 0.5], "b": [2.0, 1.5, np.inf],
                         "c": [4.0, 1.5, 1.0]}, index=pd.Index(["t1", "t2", "t3"], name="task"))


def test_performance_profile_against_a_hand_computation():
    rho = sm.performance_profile(_scores(), [1.0, 1.5, 2.0, 3.0, 4.0, 100.0])
    # rho_s(tau) = fraction of tasks with ratio <= tau
    assert rho["a"].tolist() == pytest.approx([2 / 3, 2 / 3, 1, 1, 1, 1])
    assert rho["b"].tolist() == pytest.approx([1 / 3, 1 / 3, 2 / 3, 2 / 3, 2 / 3, 2 / 3])
    assert rho["c"].tolist() == pytest.approx([1 / 3, 1 / 3, 2 / 3, 2 / 3, 1, 1])
    ratios = sm.performance_ratios(_scores())
    assert ratios.loc["t1"].tolist() == [1, 2, 4] and math.isinf(ratios.loc["t3", "b"])
    from nnbench.core.errors import NNBenchError

    with pytest.raises(NNBenchError, match="positive finite best score"):
        sm.performance_ratios(_scores().assign(a=[0.0, 3.0, 0.5]))


def test_leaderboard_against_a_hand_computation():
    board = sm.leaderboard(_scores())
    # ranks: t1 a1 b2 c3; t2 a3 b1 c1 (tie: both 1); t3 a1 b3 c2
    assert board.loc["a", ["t1", "t2", "t3"]].tolist() == [1, 3, 1]
    assert board.loc["b", ["t1", "t2", "t3"]].tolist() == [2, 1, 3]
    assert board.loc["c", ["t1", "t2", "t3"]].tolist() == [3, 1, 2]
    assert board["mean rank"].to_dict() == pytest.approx({"a": 5 / 3, "b": 2.0, "c": 2.0})
    assert list(board.index) == ["a", "b", "c"]
    lines = sm.leaderboard_lines(_scores())
    assert lines[1] == "  a: 1 3 1; mean rank 1.67"


def test_tasks_as_an_axis_without_tuning(tmp_path):
    out = tmp_path / "r"
    result = CliRunner().invoke(app, ["compare", "--tasks", "sin-small,moons", "--optims",
                                      "sgd,adam", "--steps", "10", "--seeds", "2", "--no-plot",
                                      "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    runs = pd.read_csv(out / "runs.csv")
    assert runs["run_id"].tolist()[:2] == ["sin-small-sgd-s0", "sin-small-sgd-s1"]
    # each task with its own defaults (moons: tanh, 16 units, cross-entropy)
    assert runs.groupby("task")["activation"].first().to_dict() == {"moons": "tanh",
                                                                    "sin-small": "sigmoid"}
    assert doc["cells"] == ["task", "optimizer", "lr"]
    assert doc["leaderboard"] is not None and doc["tuning"] == []


def test_an_interrupted_tuning_resumes_into_the_same_runs(tuned, tmp_path):
    """A directory whose final runs were lost (as after a stop between the search and the
    final seeds) finishes with compare --resume: the trials are kept, the final runs are
    made from them again, and runs.csv ends as the uninterrupted one."""
    import shutil

    out, _ = tuned
    cut = tmp_path / "cut"
    shutil.copytree(out, cut)
    runs = pd.read_csv(cut / "runs.csv")
    search = runs[runs.phase == "search"]
    search.to_csv(cut / "runs.csv", index=False)
    for name in ("metrics.csv", "layers.csv"):
        df = pd.read_csv(cut / name)
        df[df.run_id.isin(search.run_id)].to_csv(cut / name, index=False)
    result = CliRunner().invoke(app, ["compare", "--resume", str(cut), "--no-plot", "--quiet"])
    assert result.exit_code == 0, result.output
    cols = ["run_id", "lr", "seed", "status", "phase"]
    again = pd.read_csv(cut / "runs.csv")
    pd.testing.assert_frame_equal(runs[cols], again[cols])
    np.testing.assert_array_equal(again["final_train_loss"], runs["final_train_loss"])
