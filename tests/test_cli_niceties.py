"""Command-line niceties: -h and -V, counts in their number, lists of seeds, file modes
that follow the umask, schedule parameters from the command line, and the summary's notes
on a best rate at the edge of the sweep and on a run that ended far above its start."""

import pytest
from typer.testing import CliRunner

from nnbench import __version__
from nnbench.cli import app
from nnbench.core.errors import plural

runner = CliRunner()
FAST = ["--steps", "3", "--log-every", "3", "--no-plot"]


@pytest.mark.parametrize("args", [["-h"], ["run", "-h"], ["compare", "-h"], ["list", "-h"],
                                  ["data", "fetch", "-h"], ["show", "-h"]])
def test_dash_h_is_help(args):
    short, long = runner.invoke(app, args), runner.invoke(app, [*args[:-1], "--help"])
    assert short.exit_code == 0, short.output
    assert "Usage:" in short.output and short.output == long.output


@pytest.mark.parametrize("flag", ["-V", "--version"])
def test_version(flag):
    result = runner.invoke(app, [flag])
    assert result.exit_code == 0 and result.output.strip() == f"nnbench {__version__}"


def test_plural():
    assert plural(1, "run") == "1 run" and plural(2, "run") == "2 runs"
    assert plural(0, "group") == "0 groups" and plural(1.5, "epoch") == "1.5 epochs"
    assert plural(1, "class", "classes") == "1 class" and plural(3, "class", "classes") == \
        "3 classes"


@pytest.mark.parametrize("seeds,line", [("1", "training 1 run in 1 group"),
                                        ("2", "training 2 runs in 1 group")])
def test_counts_are_singular_or_plural(tmp_path, seeds, line):
    result = runner.invoke(app, ["compare", "--task", "sin-small", "--seeds", seeds, *FAST,
                                 "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == line


def _run_ids(out):
    from nnbench.store import read_csv

    return list(read_csv(out / "runs.csv")["run_id"])


def test_seeds_as_a_list_and_as_a_count(tmp_path):
    from nnbench.config import load_toml

    out = tmp_path / "list"
    result = runner.invoke(app, ["compare", "--task", "sin-small", "--seeds", "0,3,7", *FAST,
                                 "--quiet", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert _run_ids(out) == ["s0", "s3", "s7"]
    assert load_toml(out / "config.toml").seeds == [0, 3, 7]
    again = tmp_path / "again"  # the config file repeats it
    assert runner.invoke(app, ["compare", "--config", str(out / "config.toml"), "--quiet",
                               "--no-plot", "--out", str(again)]).exit_code == 0
    assert _run_ids(again) == ["s0", "s3", "s7"]
    count = tmp_path / "count"
    assert runner.invoke(app, ["compare", "--task", "sin-small", "--seeds", "2", "--seed",
                               "4", *FAST, "--quiet", "--out", str(count)]).exit_code == 0
    assert _run_ids(count) == ["s4", "s5"]
    one = tmp_path / "one"
    assert runner.invoke(app, ["compare", "--task", "sin-small", "--seeds", "7,", *FAST,
                               "--quiet", "--out", str(one)]).exit_code == 0
    assert _run_ids(one) == ["s7"]


def test_a_listed_seed_equals_the_same_seed_from_a_count(tmp_path):
    from nnbench.store import read_csv

    a, b = tmp_path / "a", tmp_path / "b"
    for out, seeds in ((a, ["--seeds", "3"]), (b, ["--seeds", "2,0"])):
        assert runner.invoke(app, ["compare", "--task", "sin-small", *seeds, *FAST,
                                   "--quiet", "--out", str(out)]).exit_code == 0
    ma = read_csv(a / "metrics.csv").drop(columns="wall_s").set_index(["run_id", "step"])
    mb = read_csv(b / "metrics.csv").drop(columns="wall_s").set_index(["run_id", "step"])
    assert ma.loc[["s2", "s0"]].equals(mb.loc[["s2", "s0"]])


@pytest.mark.parametrize("args,words", [
    (["--seeds", "0,3,3"], "seeds lists 3 twice"),
    (["--seeds", "0,x"], "--seeds expects comma-separated integers"),
    (["--seeds", "x"], "--seeds expects a count or comma-separated seeds"),
    (["--seeds", "0"], "seeds must be an integer >= 1 or a list of seeds"),
    (["--seeds", "1,-2"], "seeds must be integers >= 0"),
    (["--seeds", "1,2", "--seed", "3"], "seed and a list of seeds both given"),
])
def test_bad_seeds(tmp_path, args, words):
    result = runner.invoke(app, ["compare", "--task", "sin-small", *args, *FAST,
                                 "--out", str(tmp_path / "r")])
    assert result.exit_code == 2 and words in result.stderr
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_results_files_follow_the_umask(tmp_path, umask, mode):
    import os
    import stat

    out = tmp_path / "r"
    old = os.umask(umask)
    try:
        result = runner.invoke(app, ["run", "--task", "sin-small", *FAST, "--quiet",
                                     "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert runner.invoke(app, ["report", str(out)]).exit_code == 0
    finally:
        os.umask(old)
    files = [p for p in out.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {"runs.csv", "metrics.csv", "layers.csv", "meta.json", "config.toml",
            "s0.npz", "report.md", "report.html"} <= names
    modes = {p.relative_to(out).as_posix(): oct(stat.S_IMODE(p.stat().st_mode)) for p in files}
    assert set(modes.values()) == {oct(mode)}, modes


def test_cache_files_follow_the_umask(tmp_path):
    import os
    import stat

    import numpy as np

    from nnbench.tasks.cache import atomic_write_bytes, save_arrays

    old = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "a.bin", b"x")
        save_arrays(tmp_path / "b.npz", {"x": np.zeros(3)})
    finally:
        os.umask(old)
    for name in ("a.bin", "b.npz"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644


def test_schedule_parameters_from_the_command_line(tmp_path):
    from nnbench.config import load_toml
    from nnbench.store import read_csv

    out = tmp_path / "r"
    result = runner.invoke(app, ["run", "--task", "sin-small", "--lr", "0.01", "--schedule",
                                 "step", "--sched", "step_size=100", "--sched", "gamma=0.5",
                                 "--steps", "250", "--log-every", "1", "--no-plot", "--quiet",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert load_toml(out / "config.toml").base.schedule_kw == {"step_size": 100, "gamma": 0.5}
    lr = read_csv(out / "metrics.csv").set_index("step")["lr"]
    assert (lr[99], lr[100], lr[199], lr[200]) == (0.01, 0.005, 0.005, 0.0025)
    # the same as the config file's [schedule_kw]
    f = tmp_path / "e.toml"
    f.write_text('task = "sin-small"\nlr = 0.01\nschedule = "step"\nsteps = 250\n'
                 'log_every = 1\n[schedule_kw]\nstep_size = 100\ngamma = 0.5\n')
    again = tmp_path / "again"
    assert runner.invoke(app, ["run", "--config", str(f), "--no-plot", "--quiet", "--out",
                               str(again)]).exit_code == 0
    cols = ["run_id", "step", "lr", "train_loss", "grad_norm"]
    assert read_csv(again / "metrics.csv")[cols].equals(read_csv(out / "metrics.csv")[cols])


def test_warmup_steps_through_sched(tmp_path):
    from nnbench.config import load_toml

    out = tmp_path / "r"
    result = runner.invoke(app, ["run", "--task", "sin-small", "--schedule", "cosine",
                                 "--sched", "warmup_steps=10", "--sched", "eta_min=0.1",
                                 *FAST, "--quiet", "--out", str(out)])
    assert result.exit_code == 0, result.output
    base = load_toml(out / "config.toml").base
    assert base.warmup_steps == 10 and base.schedule_kw["eta_min"] == 0.1


@pytest.mark.parametrize("sched,words", [
    (["--sched", "foo=1"], "unknown parameter 'foo' for schedule 'step'; valid: step_size, "
                           "gamma, warmup_steps"),
    (["--sched", "gamma=abc"], "--sched gamma: value must be a number, got 'abc'"),
    (["--sched", "gamma=2"], "gamma must be in (0, 1], got 2"),
    (["--sched", "step_size=0"], "step_size must be an integer >= 1, got 0"),
    (["--sched", "gamma"], "--sched must be NAME=VALUE"),
])
def test_bad_schedule_parameters(tmp_path, sched, words):
    out = tmp_path / "r"
    result = runner.invoke(app, ["run", "--task", "sin-small", "--schedule", "step", *sched,
                                 *FAST, "--out", str(out)])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [f"nnbench: error: {words}"] or \
        words in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()
