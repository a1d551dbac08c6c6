"""Plugins: the registration API and its contract checks, --plugin files across worker
processes and Dask, entry points, what config.toml and meta.json record, and the Lion
example against a hand-written loop of its formula."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import nnbench
from nnbench import plugins
from nnbench.config import experiment_from_dict
from nnbench.core.activations import ACTIVATIONS
from nnbench.core.errors import NNBenchError
from nnbench.core.optimizers import OPTIMIZERS
from nnbench.core.schedules import SCHEDULES
from nnbench.experiment import run_experiment
from nnbench.tasks.base import TASKS

ROOT = Path(__file__).resolve().parents[1]
LION = ROOT / "examples" / "plugins" / "lion.py"


@pytest.fixture(autouse=True)
def _fresh_registries():
    plugins.unload_all()
    yield
    plugins.unload_all()


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["COLUMNS"] = "200"
    env.update(extra)
    return env


def nnbench_cli(*args: str, cwd: Path | None = None, **env: str):
    return subprocess.run([sys.executable, "-m", "nnbench", *args], capture_output=True,
                          text=True, cwd=cwd, env=_env(**env), timeout=300)


def _write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- Lion


def _lion_by_hand(theta, grads, lr, b1, b2, wd):
    """Lion's formula (Chen et al. 2023, algorithm 2), one scalar at a time."""
    theta = [float(x) for x in theta]
    m = [0.0] * len(theta)
    lr = float(lr)
    for g in grads:
        g = [float(x) for x in g]
        for i in range(len(theta)):
            c = b1 * m[i] + (1 - b1) * g[i]
            sign = (c > 0) - (c < 0)
            theta[i] = theta[i] - lr * (sign + wd * theta[i])
            m[i] = b2 * m[i] + (1 - b2) * g[i]
    return np.array(theta)


def test_lion_follows_its_formula_per_run():
    plugins.load_plugin(LION)
    rng = np.random.default_rng(3)
    R, shape = 3, (4, 2)
    theta0 = rng.standard_normal((R, *shape))
    grads = [rng.standard_normal((R, *shape)) for _ in range(25)]
    lrs = np.array([0.01, 0.003, 0.03])
    opt = nnbench.optimizer("lion", lr=lrs, betas=(0.9, 0.99), weight_decay=0.1)
    params = [theta0.copy()]
    state = opt.init(params)
    for g in grads:
        opt.update(params, [g], state)
    for r in range(R):
        want = _lion_by_hand(theta0[r].ravel(), [g[r].ravel() for g in grads], lrs[r],
                             0.9, 0.99, 0.1)
        np.testing.assert_allclose(params[0][r].ravel(), want, rtol=1e-12, atol=1e-14)
    # defaults and constraints come from the class, as for the built-in rules
    entry = OPTIMIZERS.get("lion")
    assert entry.defaults == {"lr": 1e-3, "betas": (0.9, 0.99), "weight_decay": 0.0}
    assert str(entry.constraints["betas"]) == "each [0, 1)"
    assert entry.origin == f"plugin {LION}"
    with pytest.raises(NNBenchError, match=r"betas\[0\] must be in \[0, 1\)"):
        nnbench.optimizer("lion", betas=(1.5, 0.9))
    with pytest.raises(NNBenchError, match="unknown hyperparameter 'momentum'"):
        nnbench.optimizer("lion", momentum=0.9)


# --------------------------------------------------------------------------- contracts


BAD = {
    "syntax": ("x = 1\ndef broken(:\n", 2, "SyntaxError"),
    "raises": ("import nnbench\n\nraise RuntimeError('no luck')\n", 3, "RuntimeError: no luck"),
    "mixes runs": ("""\
        import numpy as np
        import nnbench
        from nnbench.core.optimizers import Optimizer

        @nnbench.register_optimizer("meanie")
        class Meanie(Optimizer):
            def __init__(self, lr=0.1):
                super().__init__(lr=lr)

            def _init(self, params):
                return None

            def _update(self, params, grads, state, lr):
                for p, g in zip(params, grads):
                    p -= np.mean(lr) * g.mean(axis=0)
        """, 5, "gives a run another step in a group than alone"),
    "undeclared": ("""\
        import nnbench
        from nnbench.core.optimizers import Optimizer

        @nnbench.register_optimizer("quiet")
        class Quiet(Optimizer):
            def __init__(self, lr=0.1, beta=0.5):
                super().__init__(lr=lr)

            def _init(self, params):
                return None

            def _update(self, params, grads, state, lr):
                pass
        """, 4, "_parameter_constraints must name every constructor argument"),
    "taken name": ("""\
        import nnbench
        from nnbench.core.optimizers import SGD

        nnbench.register_optimizer("adam", SGD)
        """, 4, "optimizer 'adam' is already registered (built-in)"),
    "wrong grad": ("""\
        import numpy as np
        import nnbench
        from nnbench.core.activations import Activation

        @nnbench.register_activation("cube")
        class Cube(Activation):
            def __call__(self, z, slope=None):
                return z ** 3

            def grad(self, z, a, slope=None):
                return 2 * z ** 2
        """, 5, "has a grad that is not its derivative"),
    "no default": ("""\
        import nnbench
        from nnbench.core.schedules import Schedule

        @nnbench.register_schedule("halving")
        class Halving(Schedule):
            def __init__(self, every):
                self.every = every

            def factor(self, t):
                return 0.5 ** (t // self.every)
        """, 4, "needs a default for its argument 'every'"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_broken_plugin_is_one_line_with_its_file_and_line(case, tmp_path):
    text, line, words = BAD[case]
    path = _write(tmp_path / "bad.py", text)
    with pytest.raises(plugins.PluginError) as err:
        plugins.load_plugin(path)
    message = str(err.value)
    assert message.startswith(f"{path}:{line}: ") and words in message, message
    assert "\n" not in message
    # nothing of the file stays registered
    assert {"meanie", "quiet"}.isdisjoint(OPTIMIZERS.names())
    assert "cube" not in ACTIVATIONS and "halving" not in SCHEDULES


def test_the_command_line_says_it_in_one_line_exit_2(tmp_path):
    path = _write(tmp_path / "bad.py", BAD["mixes runs"][0])
    r = nnbench_cli("compare", "--plugin", str(path), "--optims", "sgd,meanie",
                    "--task", "sin-small", "--steps", "3", "--no-plot", "--out",
                    str(tmp_path / "out"))
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"nnbench: error: {path}:5: "), r.stderr
    assert not (tmp_path / "out").exists()
    missing = nnbench_cli("list", "--plugin", str(tmp_path / "none.py"))
    assert missing.returncode == 2
    assert "none.py cannot be read" in missing.stderr and "Traceback" not in missing.stderr


OWN = """\
    import numpy as np
    import nnbench
    from nnbench.core.activations import Activation
    from nnbench.core.schedules import Schedule
    from nnbench.tasks.base import BASE_DEFAULTS, DataTask


    @nnbench.register_activation("softsign")
    class Softsign(Activation):
        \"\"\"z / (1 + |z|)\"\"\"

        def __call__(self, z, slope=None):
            return z / (1 + np.abs(z))

        def grad(self, z, a, slope=None):
            return 1 / (1 + np.abs(z)) ** 2


    @nnbench.register_schedule("linear_decay", description="1 - t / total, floored at 0")
    class LinearDecay(Schedule):
        def __init__(self, total=100):
            self.total = total

        def factor(self, t):
            return np.maximum(0.0, 1.0 - t / self.total)


    @nnbench.register_task("parabola", defaults=dict(loss="mse", act="tanh", depth=1,
                           width=8, optim="adam", lr=0.01, steps=20), params=dict(n_points=64))
    class Parabola(DataTask):
        \"\"\"y = x^2 on [-1, 1]\"\"\"

        kind = "regression"

        def generate(self, seed, dtype):
            x = np.linspace(-1, 1, self.params["n_points"])[:, None]
            return x.astype(dtype), (x ** 2).astype(dtype), None, None
    """


def test_activation_task_and_schedule_of_ones_own_train(tmp_path):
    path = _write(tmp_path / "own.py", OWN)
    plugins.load_plugin(path)
    origin = f"plugin {path}"
    assert ACTIVATIONS.get("softsign").origin == origin
    assert SCHEDULES.get("linear_decay").defaults == {"total": 100, "warmup_steps": 0}
    assert TASKS.get("parabola").origin == origin
    assert nnbench.MLP([1, 4, 1], activation="softsign").activation.name == "softsign"
    exp = experiment_from_dict({"task": "parabola", "acts": ["tanh", "softsign"],
                                "schedule": "linear_decay", "seeds": 2})
    out = run_experiment(exp, tmp_path / "res")
    runs = pd.read_csv(out / "runs.csv")
    assert list(runs["status"]) == ["done"] * 4
    assert np.isfinite(runs["final_train_loss"]).all()
    metrics = pd.read_csv(out / "metrics.csv")
    lr = metrics[metrics["run_id"] == "softsign-s0"].set_index("step")["lr"]
    np.testing.assert_allclose(lr[10], 0.01 * (1 - 10 / 100))  # the schedule acted
    # loading the same file again changes nothing; a changed file replaces its entries
    plugins.load_plugin(path)
    _write(path, OWN.replace('"softsign"', '"softsign2"'))
    plugins.load_plugin(path)
    assert "softsign" not in ACTIVATIONS and "softsign2" in ACTIVATIONS


def test_list_marks_where_each_entry_comes_from(tmp_path):
    r = nnbench_cli("list", "optimizers", "--plugin", str(LION))
    assert r.returncode == 0, r.stderr
    rows = {line.split("│")[1].strip(): line for line in r.stdout.splitlines()
            if line.startswith("│") and line.split("│")[1].strip()}
    assert "plugin " in rows["lion"] and "lion.py" in rows["lion"]
    assert "built-in" in rows["adam"] and "plugin" not in rows["adam"]


# --------------------------------------------------------------------------- processes


def _tables(out: Path) -> dict[str, pd.DataFrame]:
    runs = pd.read_csv(out / "runs.csv").drop(columns=["wall_s"])
    metrics = pd.read_csv(out / "metrics.csv").drop(columns=["wall_s"])
    return {"runs": runs, "metrics": metrics, "layers": pd.read_csv(out / "layers.csv")}


def test_compare_with_lion_on_two_jobs_equals_one_job(tmp_path):
    args = ["compare", "--plugin", str(LION), "--optims", "adam,lion", "--task", "sin-small",
            "--width", "8", "--steps", "40", "--seeds", "2", "--no-plot", "--quiet"]
    two = nnbench_cli(*args, "--jobs", "2", "--out", str(tmp_path / "two"))
    assert two.returncode == 0, two.stderr
    one = nnbench_cli(*args, "--out", str(tmp_path / "one"))
    assert one.returncode == 0, one.stderr
    a, b = _tables(tmp_path / "two"), _tables(tmp_path / "one")
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
    assert set(a["runs"]["optimizer"]) == {"adam", "lion"}
    assert set(a["runs"]["status"]) == {"done"}
    meta = json.loads((tmp_path / "two" / "meta.json").read_text())
    assert meta["plugins"] == [{"path": str(LION),
                                "sha256": plugins.load_plugin(LION).sha256}]
    assert f'plugins = ["{LION}"]' in (tmp_path / "two" / "config.toml").read_text()


def test_config_repeats_with_the_plugin_and_warns_when_it_changed(tmp_path):
    lion = tmp_path / "lion.py"
    lion.write_text(LION.read_text())
    args = ["--no-plot", "--quiet"]
    first = nnbench_cli("compare", "--plugin", str(lion), "--optims", "lion", "--task",
                        "sin-small", "--width", "4", "--steps", "5", "--seeds", "1", *args,
                        "--out", str(tmp_path / "a"))
    assert first.returncode == 0, first.stderr
    again = nnbench_cli("compare", "--config", str(tmp_path / "a" / "config.toml"), *args,
                        "--out", str(tmp_path / "b"))
    assert again.returncode == 0 and "warning" not in again.stderr, again.stderr
    pd.testing.assert_frame_equal(_tables(tmp_path / "a")["metrics"],
                                  _tables(tmp_path / "b")["metrics"])
    lion.write_text(LION.read_text() + "# changed\n")
    changed = nnbench_cli("compare", "--config", str(tmp_path / "a" / "config.toml"), *args,
                          "--out", str(tmp_path / "c"))
    assert changed.returncode == 0, changed.stderr
    assert f"warning: plugin {lion} changed since" in changed.stderr


def test_dask_workers_in_other_processes_load_the_plugin(tmp_path):
    pytest.importorskip("distributed", reason="Dask distributed is not installed")
    from distributed import LocalCluster

    from nnbench.executors import make_executor

    plugins.load_plugin(LION)
    exp = experiment_from_dict({"task": "sin-small", "task_kw": {"n_points": 100},
                                "width": 4, "steps": 10, "optims": ["lion", "adam"],
                                "seeds": 1, "plugins": [str(LION)]})
    serial = run_experiment(exp, tmp_path / "serial")
    with LocalCluster(n_workers=1, processes=True, threads_per_worker=1, host="127.0.0.1",
                      protocol="tcp://", dashboard_address=None) as cluster:
        out = run_experiment(exp, tmp_path / "dask",
                             executor=make_executor("dask",
                                                    scheduler=cluster.scheduler_address))
    a, b = _tables(out), _tables(serial)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])


# --------------------------------------------------------------------------- packages


def test_an_installed_package_registers_through_its_entry_point(tmp_path):
    site = tmp_path / "site"
    (site / "cubic_plugin-1.2.dist-info").mkdir(parents=True)
    (site / "cubic_plugin-1.2.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: cubic-plugin\nVersion: 1.2\n")
    (site / "cubic_plugin-1.2.dist-info" / "entry_points.txt").write_text(
        "[nnbench.plugins]\ncubic = cubic_plugin\n")
    _write(site / "cubic_plugin.py", """\
        import nnbench
        from nnbench.core.schedules import Schedule

        @nnbench.register_schedule("cubic")
        class Cubic(Schedule):
            \"\"\"(1 - t / 1000)^3\"\"\"

            def factor(self, t):
                return (1 - t.clip(0, 1000) / 1000) ** 3
        """)
    env = {"PYTHONPATH": f"{ROOT}{os.pathsep}{site}"}
    r = nnbench_cli("list", "schedules", **env)
    assert r.returncode == 0, r.stderr
    row = next(line for line in r.stdout.splitlines() if line.startswith("│ cubic "))
    assert "package cubic-plugin" in row
    run = nnbench_cli("run", "--task", "sin-small", "--width", "4", "--steps", "3",
                      "--schedule", "cubic", "--no-plot", "--quiet", "--out",
                      str(tmp_path / "r"), **env)
    assert run.returncode == 0, run.stderr
    meta = json.loads((tmp_path / "r" / "meta.json").read_text())
    assert {"package": "cubic-plugin", "version": "1.2"} in meta["plugins"]


def test_plot_of_a_results_directory_loads_its_plugins(tmp_path):
    path = _write(tmp_path / "own.py", OWN)
    out = tmp_path / "res"
    r = nnbench_cli("compare", "--plugin", str(path), "--task", "parabola", "--act",
                    "softsign", "--seeds", "1", "--no-plot", "--quiet", "--out", str(out))
    assert r.returncode == 0, r.stderr
    plot = nnbench_cli("plot", str(out))  # a fresh process: only config.toml names the file
    assert plot.returncode == 0 and "warning" not in plot.stderr, plot.stderr
    assert (out / "figures" / "fit.png").stat().st_size > 0  # the model rebuilt from its row
    path.unlink()
    gone = nnbench_cli("show", str(out))
    assert gone.returncode == 2, gone.stderr
    assert gone.stderr.strip() == f"nnbench: error: plugin {path} cannot be read: No such " \
        "file or directory; give the path of a Python file (--plugin PATH.py)"
