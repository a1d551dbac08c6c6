"""The figure registry: what ``make check-figures`` expects of each reproduction, that a
missing or empty figure is caught, that the registry's ``applies`` says exactly what
``draw_all`` draws, and that the figures tune the learning rate as the summary does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_plots import _with_weights, write_results

from nnbench import plots
from nnbench import summary as sm
from nnbench.config import load_toml, merge
from nnbench.experiment import run_experiment
from nnbench.plots.check import main as check_main
from nnbench.prune import prune_dir

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"

# What the Makefile's FIGS_<name> lists expected before the registry replaced them.
FIGS_BEFORE = {
    "sin": "loss fit",
    "optimizers-sin": "loss lr_sensitivity fit",
    "optimizers-moons": "loss accuracy lr_sensitivity decision_regions",
    "activations": "loss accuracy activations_depths activations_heatmap gradients",
    "vanishing": "loss gradients",
    "xor-linear": "loss accuracy decision_regions",
    "xor": "loss accuracy decision_regions",
    "landscape-rosenbrock": "loss lr_sensitivity landscape",
    "landscape-beale": "loss lr_sensitivity landscape",
    "landscape-saddle": "loss lr_sensitivity landscape",
    "classic-linear": "loss closed_form",
    "classic-ridge": "loss closed_form",
    "classic-xor": "loss accuracy decision_regions",
    "classic-blobs": "loss accuracy decision_regions",
    "classic-logistic": "loss accuracy decision_regions",
    "sparsity": "loss accuracy sparsity",
    "sparsity-binary": "loss accuracy",
    # added with the registry (no Makefile list before it)
    "optimizers-family-sin": "loss lr_sensitivity fit",
    "optimizers-family-moons": "loss accuracy lr_sensitivity decision_regions",
    "optimizers-family-mnist1d": "loss accuracy lr_sensitivity",
    "optimizers-family-swats": "loss fit",
    "schedules": "loss accuracy lr_sensitivity lr_schedule decision_regions",
    "forms-rmsprop-adagrad": "loss accuracy gradients decision_regions",
    "forms-adam-momentum": "loss accuracy gradients decision_regions",
    "benchmark": "loss accuracy lr_sensitivity performance_profile leaderboard",
    "why-deep": "loss accuracy why_deep",
    "bias-variance": "loss closed_form bias_variance",
    "bias-variance-regularization": "loss fit regularization",
    "bias-variance-patience": "loss fit",
    "feature-scaling": "loss lr_sensitivity closed_form feature_scaling",
    "vanishing-constant": "loss accuracy gradients",
    "vanishing-residual": "loss accuracy gradients layer_speed",
    "vanishing-digits": "loss accuracy gradients layer_speed",
    "classic-gaussian": "loss accuracy decision_regions boundaries",
}


@pytest.fixture(scope="module")
def reproductions(tmp_path_factory) -> dict[str, Path]:
    """Every experiment of experiments/ trained for a few steps with one seed (the
    learning rates cut to two, as QUICK=1 does), sparsity pruned as ``make sparsity``."""
    pytest.importorskip("sklearn")  # the digits of the sparsity experiments
    root = tmp_path_factory.mktemp("repro")
    out = {}
    for name in FIGS_BEFORE:
        exp = load_toml(EXPERIMENTS / f"{name}.toml")
        over = {"steps": 4, "seeds": 1}
        if exp.lrs:
            over["lrs"] = exp.lrs[:2]
        if exp.tune:  # two trials, one final seed, two optimizers
            over.update(budget=2, final_seeds=1, optims=exp.optims[:2])
        out[name] = run_experiment(merge(exp, over), root / name)
    prune_dir(out["sparsity"], [0.0, 0.5], finetune=1)
    return out


@pytest.mark.parametrize("name", sorted(FIGS_BEFORE))
def test_registry_expects_at_least_the_old_lists(reproductions, name):
    expected = set(plots.expected_figures(plots.load(reproductions[name])))
    assert set(FIGS_BEFORE[name].split()) <= expected


def test_every_experiment_has_an_old_list():
    assert {p.stem for p in EXPERIMENTS.glob("*.toml")} == set(FIGS_BEFORE)


def test_check_passes_then_catches_a_deleted_and_an_empty_figure(tmp_path, capsys):
    d, _ = write_results(tmp_path / "opt", diverged={("adam", 0.1, 1)})
    e, _ = write_results(tmp_path / "other", optims=("sgd",))
    plots.draw_all(d)
    plots.draw_all(e)
    assert check_main([str(d), str(e)]) == 0
    assert capsys.readouterr().out == f"all figures present under {tmp_path.as_posix()}/\n"
    (d / "figures" / "lr_sensitivity.png").unlink()
    (e / "figures" / "loss.png").write_bytes(b"")
    assert check_main([str(d), str(e)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"missing or empty figure: {(d / 'figures' / 'lr_sensitivity.png').as_posix()}",
        f"missing or empty figure: {(e / 'figures' / 'loss.png').as_posix()}"]


def test_check_refuses_a_directory_without_results(tmp_path, capsys):
    assert check_main([str(tmp_path)]) == 1
    assert "no runs.csv" in capsys.readouterr().out


def _drawn(d: Path) -> list[str]:
    order = {n: i for i, n in enumerate(plots.FIGURE_NAMES)}
    return sorted({p.stem for p in plots.draw_all(d)}, key=order.__getitem__)


def test_applies_is_what_draw_all_draws(tmp_path):
    dirs = [write_results(tmp_path / "opt", diverged={("adam", 0.1, 1)})[0],
            write_results(tmp_path / "acts", optims=("sgd",), lrs=(0.1,),
                          acts=("relu", "tanh"), depths=(1, 2), layers=True)[0],
            write_results(tmp_path / "land", task="rosenbrock", landscape=True)[0],
            _with_weights(tmp_path / "moons", "moons", [2, 6, 2])["dir"],
            _with_weights(tmp_path / "sin", "sin-small", [1, 5, 1], acts=("tanh",))["dir"]]
    for d in dirs:
        assert plots.expected_figures(plots.load(d)) == _drawn(d)


def test_report_orders_and_captions_by_the_registry():
    assert plots.FIGURE_NAMES[:3] == ("loss", "accuracy", "lr_sensitivity")
    assert plots.caption("loss").startswith("Loss against step")
    assert plots.caption("closed_form") == "closed form"


def test_figures_and_summary_tune_alike_when_every_lr_diverged_somewhere(tmp_path):
    # sgd diverges at lr 0.01 for seeds 0 and 1 and at lr 0.1 for seed 2: every rate
    # diverged for some seed. The summary's rule (a diverged seed counts as +inf, so
    # every mean is +inf: the first rate in grid order) decides the figures' rate too.
    d, _ = write_results(tmp_path / "div", optims=("sgd", "adam"),
                         diverged={("sgd", 0.01, 0), ("sgd", 0.01, 1), ("sgd", 0.1, 2)})
    res = plots.load(d)
    best = sm.best_lr(res.runs).set_index("optimizer")["best_lr"]
    tuned = plots.tuned_runs(res).groupby("optimizer")["lr"].unique()
    assert best["sgd"] == 0.01 and np.isinf(sm.best_lr(res.runs).set_index(
        "optimizer").loc["sgd", "mean_loss"])
    for opt in ("sgd", "adam"):
        assert list(tuned[opt]) == [best[opt]]
    # and with a rate that never diverged, both prefer it
    d2, _ = write_results(tmp_path / "div2", optims=("sgd",),
                          diverged={("sgd", 0.01, 0)})
    res2 = plots.load(d2)
    assert sm.best_lr(res2.runs)["best_lr"].tolist() == [0.1]
    assert plots.tuned_runs(res2)["lr"].unique().tolist() == [0.1]


def test_choose_lr_first_on_ties_and_inf_for_diverged():
    lrs = pd.Series([0.1, 0.1, 0.01, 0.01])
    scores = sm.lr_scores(pd.DataFrame({"final_train_loss": [1.0, np.nan, 2.0, 2.0],
                                        "status": ["done", "diverged", "done", "done"]}))
    assert sm.choose_lr(lrs, scores) == (0.01, 2.0)
    assert sm.choose_lr(pd.Series([0.3, 0.1]), pd.Series([1.0, 1.0])) == (0.3, 1.0)
