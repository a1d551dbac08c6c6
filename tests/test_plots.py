"""Figures from a synthetic results directory: what is drawn, not only that a file exists.

The directory is written here with the DESIGN schema (runs.csv, metrics.csv, layers.csv);
every expected value is computed in the test from the arrays it wrote, with numpy.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nnbench import plots
from nnbench.core.errors import NNBenchError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
STEPS = np.arange(0, 60, 10)


def curve(opt: str, lr: float, seed: int, act: str = "sigmoid", depth: int = 1) -> np.ndarray:
    """A made-up loss curve: distinct per configuration and seed, always > 0."""
    rate = {"sgd": 0.01, "adam": 0.05}.get(opt, 0.02) * (1 + 10 * lr) / depth
    rate *= {"sigmoid": 1.0, "relu": 2.0}.get(act, 1.5)
    return (1.0 + 0.1 * seed) * np.exp(-rate * STEPS) + 0.01 * (seed + 1)


def write_results(root: Path, optims=("sgd", "adam"), lrs=(0.01, 0.1), seeds=(0, 1, 2),
                  acts=("sigmoid",), depths=(1,), task="sin", diverged=(),
                  layers=False, landscape=False) -> tuple[Path, dict]:
    """Write a results directory; return it and {run_id: (config, train_loss array)}."""
    runs, metrics, lay, truth = [], [], [], {}
    for i, (opt, lr, act, depth, seed) in enumerate(
            itertools.product(optims, lrs, acts, depths, seeds)):
        rid = f"r{i:03d}"
        y = curve(opt, lr, seed, act, depth)
        bad = (opt, lr, seed) in diverged
        if bad:
            y = y.copy()
            y[3:] = np.nan
        truth[rid] = (dict(optimizer=opt, lr=lr, activation=act, depth=depth, seed=seed), y)
        runs.append(dict(run_id=rid, task=task, optimizer=opt, lr=lr, activation=act,
                         depth=depth, width=8, seed=seed,
                         status="diverged" if bad else "done",
                         final_train_loss=np.nan if bad else y[-1],
                         best_train_loss=np.nanmin(y), steps_done=int(STEPS[-1]),
                         wall_s=0.5))
        for k, s in enumerate(STEPS):
            row = dict(run_id=rid, step=int(s), wall_s=0.01 * s * (1 + seed), lr=lr,
                       train_loss=y[k], val_loss=np.nan, train_acc=np.nan, val_acc=np.nan,
                       grad_norm=1.0 / (1 + s))
            if landscape:
                row.update(x0=-1.0 + 0.02 * s * (1 + lr), x1=1.0 - 0.01 * s,
                           dist_to_min=1.0 / (1 + s * lr))
            metrics.append(row)
        if layers:
            for s in (0, int(STEPS[-1])):
                for layer in range(1, depth + 2):
                    g = (0.25 if act == "sigmoid" else 1.0) ** (depth + 1 - layer)
                    g *= 1 + 0.1 * seed + (s > 0)
                    frac = {"saturated_frac": 0.1 * layer if act == "sigmoid" else np.nan,
                            "dead_frac": 0.05 * layer if act != "sigmoid" else np.nan}
                    if layer == depth + 1:  # the output layer has no activation stats
                        frac = {"saturated_frac": np.nan, "dead_frac": np.nan}
                    lay.append(dict(run_id=rid, step=s, layer=layer, grad_norm=g,
                                    weight_norm=1.0, update_ratio=1e-3, **frac))
    root.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(runs).to_csv(root / "runs.csv", index=False)
    pd.DataFrame(metrics).to_csv(root / "metrics.csv", index=False)
    if layers:
        pd.DataFrame(lay).to_csv(root / "layers.csv", index=False)
    (root / "config.toml").write_text(f'name = "synthetic"\ntask = "{task}"\n')
    (root / "meta.json").write_text(json.dumps(
        {"command": "nnbench compare", "versions": {"nnbench": "0", "numpy": np.__version__}}))
    return root, truth


def lines(ax) -> dict[str, object]:
    return {ln.get_label(): ln for ln in ax.get_lines() if not ln.get_label().startswith("_")}


def expected_mean(truth: dict, **where) -> np.ndarray:
    ys = [y for cfg, y in truth.values() if all(cfg[k] == v for k, v in where.items())]
    return np.nanmean(np.stack(ys), axis=0)


@pytest.fixture
def optim_dir(tmp_path):
    # adam at lr 0.1 diverges on seed 1, so adam's tuned lr is 0.01; sgd is best at 0.1
    return write_results(tmp_path / "opt", diverged={("adam", 0.1, 1)})


def test_draw_all_writes_nonempty_pngs(optim_dir):
    d, _ = optim_dir
    paths = plots.draw_all(d)
    names = {p.name for p in paths}
    assert {"loss.png", "lr_sensitivity.png"} <= names
    assert "gradients.png" not in names  # no layers.csv
    assert "landscape.png" not in names  # no x0/x1
    for p in paths:
        assert p.parent == d / "figures"
        data = p.read_bytes()
        assert data[:8] == PNG_MAGIC and len(data) > 5000


def test_loss_curves_are_seed_means_at_tuned_lr(optim_dir):
    d, truth = optim_dir
    res = plots.load(d)
    fig = plots.fig_curves(res)
    ax_step, ax_wall = fig.axes[0], fig.axes[1]
    got = lines(ax_step)
    assert set(got) == {"adam, lr 0.01", "sgd, lr 0.1"}
    for opt, lr in (("adam", 0.01), ("sgd", 0.1)):
        ln = got[f"{opt}, lr {lr:g}"]
        np.testing.assert_allclose(ln.get_xdata(), STEPS)
        np.testing.assert_allclose(ln.get_ydata(), expected_mean(truth, optimizer=opt, lr=lr),
                                   rtol=1e-12)
    assert ax_step.get_yscale() == "log" and ax_wall.get_yscale() == "log"
    assert ax_step.get_xlabel() == "step" and "wall" in ax_wall.get_xlabel()
    # wall-time abscissa: mean wall time over seeds at each step
    wall = lines(ax_wall)["sgd, lr 0.1"].get_xdata()
    np.testing.assert_allclose(wall, 0.01 * STEPS * np.mean([1, 2, 3]))
    # a min-max band per series (three seeds)
    assert len(ax_step.collections) == 2
    assert "synthetic" in fig.get_suptitle()


def test_band_spans_min_and_max_over_seeds(optim_dir):
    d, truth = optim_dir
    fig = plots.fig_curves(plots.load(d), xs=("step",))
    ax = fig.axes[0]
    ys = np.stack([y for cfg, y in truth.values()
                   if cfg["optimizer"] == "sgd" and cfg["lr"] == 0.1])
    band = next(c for c in ax.collections
                if np.allclose(c.get_facecolor()[0][:3],
                               _rgb(lines(ax)["sgd, lr 0.1"].get_color())))
    verts = band.get_paths()[0].vertices
    assert np.isclose(verts[:, 1].max(), ys.max()) and np.isclose(verts[:, 1].min(), ys.min())


def _rgb(c):
    from matplotlib.colors import to_rgb

    return to_rgb(c)


def test_tuned_lr_avoids_diverged(optim_dir):
    d, _ = optim_dir
    res = plots.load(d)
    tuned = plots.tuned_runs(res)
    best = tuned.groupby("optimizer")["lr"].unique()
    assert list(best["adam"]) == [0.01] and list(best["sgd"]) == [0.1]
    assert np.isnan(plots.final_loss(res)[res.runs.query("status == 'diverged'").run_id]).all()


def test_lr_sensitivity(optim_dir):
    d, truth = optim_dir
    res = plots.load(d)
    fig = plots.fig_lr_sensitivity(res)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel() == "learning rate" and "final training loss" in ax.get_ylabel()
    got = lines(ax)
    assert set(got) == {"adam", "sgd"}
    finals = {}
    for cfg, y in truth.values():
        finals.setdefault((cfg["optimizer"], cfg["lr"]), []).append(y[-1])
    sgd = got["sgd"]
    np.testing.assert_allclose(sgd.get_xdata(), [0.01, 0.1])
    np.testing.assert_allclose(sgd.get_ydata(), [np.mean(finals["sgd", 0.01]),
                                                 np.mean(finals["sgd", 0.1])])
    # adam at 0.1: the mean over the seeds that finished, plus a divergence cross
    np.testing.assert_allclose(got["adam"].get_ydata()[1], np.nanmean(finals["adam", 0.1]))
    crosses = [ln for ln in ax.get_lines() if ln.get_marker() == "x"]
    assert len(crosses) == 1 and list(crosses[0].get_xdata()) == [0.1]
    # same colour for the same optimizer in every figure
    loss = lines(plots.fig_curves(res).axes[0])
    assert loss["sgd, lr 0.1"].get_color() == sgd.get_color() == plots.PALETTE["sgd"]
    assert loss["adam, lr 0.01"].get_color() == got["adam"].get_color()
    assert sgd.get_color() != got["adam"].get_color()


def test_metric_and_x_options(optim_dir):
    d, _ = optim_dir
    paths = plots.draw_all(d, x="step", metric="grad_norm", fmt="svg")
    assert (d / "figures" / "grad_norm.svg") in paths
    fig = plots.fig_curves(plots.load(d), "grad_norm", ("step",))
    assert len(fig.axes) == 1 and fig.axes[0].get_ylabel() == "gradient norm"
    with pytest.raises(NNBenchError, match="metric 'nope'.*train_loss"):
        plots.draw_all(d, metric="nope")
    with pytest.raises(NNBenchError, match="format"):
        plots.draw_all(d, fmt="jpeg")
    with pytest.raises(NNBenchError, match="x must be"):
        plots.draw_all(d, x="epoch")
    with pytest.raises(NNBenchError, match="no runs.csv"):
        plots.draw_all(d / "figures")


def test_deterministic_bytes(optim_dir):
    d, _ = optim_dir
    a = {p.name: p.read_bytes() for p in plots.draw_all(d, fmt="png,svg")}
    b = {p.name: p.read_bytes() for p in plots.draw_all(d, fmt="png,svg")}
    assert a == b and "loss.svg" in a
    assert b"Software" not in a["loss.png"] and b"<dc:date>" not in a["loss.svg"]


def test_activations_across_depths(tmp_path):
    d, truth = write_results(tmp_path / "act", optims=("adam",), lrs=(0.01,),
                             acts=("sigmoid", "relu", "tanh"), depths=(1, 2, 4),
                             seeds=(0, 1), task="moons")
    res = plots.load(d)
    fig = plots.fig_activation_depths(res)
    panels = [ax for ax in fig.axes if ax.get_lines()]
    assert len(panels) == 3
    assert [ax.get_title() for ax in panels] == ["1 hidden layer", "2 hidden layers",
                                                 "4 hidden layers"]
    relu4 = lines(panels[2])["relu"]
    np.testing.assert_allclose(relu4.get_ydata(),
                               expected_mean(truth, activation="relu", depth=4))
    assert relu4.get_color() == plots.PALETTE["relu"]

    heat = plots.fig_activation_heatmap(res)
    im = heat.axes[0].images[0]
    table = np.ma.getdata(im.get_array())
    rows = [t.get_text() for t in heat.axes[0].get_yticklabels()]
    cols = [int(t.get_text()) for t in heat.axes[0].get_xticklabels()]
    assert rows == ["sigmoid", "relu", "tanh"] and cols == [1, 2, 4]  # experiment order
    for i, a in enumerate(rows):
        for j, dep in enumerate(cols):
            want = np.mean([y[-1] for cfg, y in truth.values()
                            if cfg["activation"] == a and cfg["depth"] == dep])
            assert np.isclose(table[i, j], want)


def test_gradients_per_layer(tmp_path):
    d, _ = write_results(tmp_path / "van", optims=("sgd",), lrs=(0.1,),
                         acts=("sigmoid", "relu"), depths=(2, 4), seeds=(0, 1), layers=True)
    res = plots.load(d)
    fig = plots.fig_gradients(res)
    axes = [ax for ax in fig.axes if ax.get_lines()]
    assert len(axes) == 6  # two depths x (initial, final, fraction)
    init4 = next(ax for ax in axes if ax.get_title().startswith("4 hidden layers, gradient "
                                                                "norm at initialization"))
    assert init4.get_yscale() == "log"
    sig = lines(init4)["sigmoid"]
    np.testing.assert_allclose(sig.get_xdata(), [1, 2, 3, 4, 5])
    # mean over the two seeds of 0.25**(depth+1-layer) * (1 + 0.1 seed)
    np.testing.assert_allclose(sig.get_ydata(), 0.25 ** (5 - np.arange(1, 6)) * 1.05)
    final4 = next(ax for ax in axes if ax.get_title().startswith("4 hidden layers, gradient "
                                                                 "norm after"))
    np.testing.assert_allclose(lines(final4)["relu"].get_ydata(), 2.05)
    frac = next(ax for ax in axes if "fraction" in ax.get_title()
                and ax.get_title().startswith("4"))
    np.testing.assert_allclose(lines(frac)["sigmoid"].get_ydata()[:4], 0.1 * np.arange(1, 5))
    np.testing.assert_allclose(lines(frac)["relu"].get_ydata()[:4], 0.05 * np.arange(1, 5))
    assert sig.get_color() != lines(init4)["relu"].get_color()


def test_landscape_trajectories(tmp_path):
    d, _ = write_results(tmp_path / "land", optims=("sgd", "adam"), lrs=(0.01,),
                         seeds=(0,), task="no_such_landscape", landscape=True)
    res = plots.load(d)
    fig = plots.fig_landscape(res)
    ax, axd = fig.axes[0], fig.axes[1]
    traj = lines(ax)
    np.testing.assert_allclose(traj["sgd"].get_xdata(), -1.0 + 0.02 * STEPS * 1.01)
    np.testing.assert_allclose(traj["sgd"].get_ydata(), 1.0 - 0.01 * STEPS)
    assert axd.get_yscale() == "log"
    np.testing.assert_allclose(lines(axd)["adam"].get_ydata(), 1 / (1 + STEPS * 0.01))
    # start and end markers per optimizer
    assert sum(ln.get_marker() == "o" for ln in ax.get_lines()) == 2
    assert sum(ln.get_marker() == "s" for ln in ax.get_lines()) == 2


def _manual_forward(arrays: list[np.ndarray], X: np.ndarray, act) -> np.ndarray:
    """The network's output written out: a = act(a W + b), the last layer linear."""
    a = X
    n = len(arrays) // 2
    for k in range(n):
        z = a @ arrays[2 * k].reshape(arrays[2 * k].shape[-2:]) + arrays[2 * k + 1].reshape(1, -1)
        a = act(z) if k < n - 1 else z
    return a


def _with_weights(root: Path, task: str, sizes: list[int], acts=("tanh", "relu")) -> dict:
    """A results directory of one run per activation with random weights saved."""
    d, truth = write_results(root, optims=("adam",), lrs=(0.01,), seeds=(0,), acts=acts,
                             depths=(len(sizes) - 2,), task=task)
    runs = pd.read_csv(d / "runs.csv")
    runs["width"] = sizes[1]
    runs.to_csv(d / "runs.csv", index=False)
    (d / "weights").mkdir()
    rng = np.random.default_rng(7)
    weights = {}
    for rid in runs["run_id"]:
        arrays = []
        for fi, fo in zip(sizes[:-1], sizes[1:], strict=True):
            arrays += [rng.normal(0, 1.5, (1, fi, fo)), rng.normal(0, 0.5, (1, 1, fo))]
        np.savez_compressed(d / "weights" / f"{rid}.npz",
                            **{f"p{i}": a for i, a in enumerate(arrays)})
        weights[rid] = arrays
    return {"dir": d, "runs": runs, "weights": weights}


ACTS = {"tanh": np.tanh, "relu": lambda z: np.maximum(z, 0.0)}


def test_decision_regions(tmp_path):
    tasks = pytest.importorskip("nnbench.tasks")
    pytest.importorskip("nnbench.core.mlp")
    w = _with_weights(tmp_path / "moons", "moons", [2, 6, 2])
    res = plots.load(w["dir"])
    for rid, act in zip(w["runs"]["run_id"], w["runs"]["activation"], strict=True):
        net = plots.load_model(res, rid)
        X = np.random.default_rng(1).normal(size=(50, 2))
        np.testing.assert_allclose(net.forward(X)[0],
                                   _manual_forward(w["weights"][rid], X, ACTS[act]),
                                   rtol=1e-10)
    fig = plots.fig_decision(res)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 2
    ds = tasks.get_task("moons").load(seed=0, dtype="float64")
    for ax, rid, act in zip(axes, w["runs"]["run_id"], w["runs"]["activation"], strict=True):
        out = _manual_forward(w["weights"][rid], ds.X_train, ACTS[act])
        acc = np.mean(out.argmax(1) == ds.y_train)
        assert ax.get_title().startswith(act)
        assert f"training accuracy {acc:.0%}" in ax.get_title()
        # the scatter shows the training points themselves
        np.testing.assert_allclose(ax.collections[-1].get_offsets(), ds.X_train)
    assert "decision_regions.png" in {p.name for p in plots.draw_all(w["dir"])}


def test_fitted_curve(tmp_path):
    tasks = pytest.importorskip("nnbench.tasks")
    pytest.importorskip("nnbench.core.mlp")
    w = _with_weights(tmp_path / "sin", "sin-small", [1, 5, 1], acts=("tanh",))
    fig = plots.fig_fit(plots.load(w["dir"]))
    ax = fig.axes[0]
    ds = tasks.get_task("sin-small").load(seed=0, dtype="float64")
    fit = next(ln for label, ln in lines(ax).items() if label != "data")
    assert "tanh 1x5" in fit.get_label()
    xs = np.asarray(fit.get_xdata())
    assert xs.min() == ds.X_train.min() and xs.max() == ds.X_train.max()
    rid = w["runs"]["run_id"][0]
    np.testing.assert_allclose(fit.get_ydata(),
                               _manual_forward(w["weights"][rid], xs[:, None], np.tanh)[:, 0],
                               rtol=1e-10)
    data = lines(ax)["data"]
    np.testing.assert_allclose(np.sort(data.get_xdata()), np.sort(ds.X_train[:, 0]))


def test_spike_caps_log_axis_and_heatmap_counts_divergence(tmp_path):
    d, truth = write_results(tmp_path / "spike", optims=("sgd",), lrs=(0.1,),
                             acts=("relu", "tanh"), depths=(1, 2), seeds=(0, 1),
                             diverged={("sgd", 0.1, 1)})
    m = pd.read_csv(d / "metrics.csv")
    first = m["run_id"] == "r000"
    m.loc[first & (m["step"] == 20), "train_loss"] = 1e9  # one step that nearly diverged
    m.to_csv(d / "metrics.csv", index=False)
    res = plots.load(d)
    fig = plots.fig_curves(res, xs=("step",))
    start = max(np.mean([y[0] for cfg, y in truth.values()
                         if cfg["activation"] == a and cfg["depth"] == dep])
                for a in ("relu", "tanh") for dep in (1, 2))  # the initial mean over seeds
    for ax in fig.axes:
        assert ax.get_ylim()[1] == pytest.approx(30 * start)
    assert "spikes clipped" in fig.get_suptitle()
    # seed 1 diverged everywhere: every cell reports its mean over seed 0 and one divergence
    heat = plots.fig_activation_heatmap(res)
    texts = [t.get_text() for t in heat.axes[0].texts]
    assert len(texts) == 4 and all(t.endswith("(1 diverged)") for t in texts)


def test_figures_of_a_real_experiment(tmp_path):
    """The engine's own results directory: the figures that apply, and the loss curve of
    each optimizer equal to the mean over its seeds of metrics.csv, read here with numpy."""
    experiment = pytest.importorskip("nnbench.experiment")
    from nnbench.config import experiment_from_dict

    exp = experiment_from_dict({"name": "tiny", "task": "moons", "optims": ["sgd", "adam"],
                                "lrs": [0.03, 0.3], "seeds": 2, "steps": 12, "depth": 2,
                                "width": 4, "log_every": 3})
    out = experiment.run_experiment(exp, tmp_path / "tiny")
    names = {p.stem for p in plots.draw_all(out)}
    assert {"loss", "accuracy", "lr_sensitivity", "gradients", "decision_regions"} <= names
    assert not names & {"landscape", "fit", "activations_heatmap"}
    res = plots.load(out)
    got = lines(plots.fig_curves(res, xs=("step",)).axes[0])
    assert sorted(label.split(",")[0] for label in got) == ["adam", "sgd"]
    runs = np.genfromtxt(out / "runs.csv", delimiter=",", names=True, dtype=None,
                         encoding="utf-8")
    metrics = np.genfromtxt(out / "metrics.csv", delimiter=",", names=True, dtype=None,
                            encoding="utf-8")
    for label, line in got.items():
        opt, lr = label.split(", lr ")
        ids = {r["run_id"] for r in runs if r["optimizer"] == opt and np.isclose(r["lr"],
                                                                             float(lr))}
        assert len(ids) == 2
        rows = metrics[np.isin(metrics["run_id"], list(ids))]
        steps = np.unique(rows["step"])
        want = [rows["train_loss"][rows["step"] == s].mean() for s in steps]
        np.testing.assert_allclose(line.get_xdata(), steps)
        np.testing.assert_allclose(line.get_ydata(), want, rtol=1e-12)


def test_unbounded_negative_values_get_symlog_axis(tmp_path):
    d, _ = write_results(tmp_path / "saddle", optims=("sgd", "adam"), lrs=(0.01,),
                         seeds=(0,), task="saddle", landscape=True)
    m = pd.read_csv(d / "metrics.csv")
    m["train_loss"] = 1.0 - np.exp(m["step"] / 5.0)  # 0 down to about -2e4
    m.to_csv(d / "metrics.csv", index=False)
    fig = plots.fig_curves(plots.load(d), xs=("step",))
    assert fig.axes[0].get_yscale() == "symlog"
    assert fig.axes[0].get_ylabel() == "value f(x0, x1)"
