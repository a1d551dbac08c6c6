"""The command line without training: help, startup cost, parsing, bad input."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nnbench import __version__
from nnbench.cli import Output, app, parse_batch, parse_hp, parse_list
from nnbench.core.errors import NNBenchError

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["COLUMNS"] = "120"
    return env


def nnbench(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nnbench", *args], capture_output=True,
                          text=True, cwd=cwd, env=_env(), timeout=120)


def assert_one_line_error(stderr: str, *fragments: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("nnbench: error: "), stderr
    assert "Traceback" not in stderr
    for f in fragments:
        assert f in lines[0], (f, stderr)


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"nnbench {__version__}"


@pytest.mark.parametrize("command", ["run", "compare", "plot", "show", "list", "report"])
def test_every_command_has_help_with_an_example(command):
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "Example: nnbench " + command in result.stdout


def test_help_groups_options_in_panels():
    result = runner.invoke(app, ["compare", "--help"], env={"COLUMNS": "120"})
    for panel in ("Task", "Model", "Optimizer", "Training", "Output", "Grid"):
        assert f"─ {panel} " in result.stdout
    for option in ("--optims", "--lrs", "--seeds", "--resume", "--hp", "--batch-size", "--json"):
        assert option in result.stdout


def test_startup_imports_no_numerics():
    code = ("import sys, nnbench.cli; heavy = [m for m in ('numpy', 'pandas', 'matplotlib', "
            "'rich.table') if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=_env(), timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_help_as_a_subprocess():
    proc = nnbench("--help")
    assert proc.returncode == 0
    for command in ("run", "compare", "plot", "show", "list", "report"):
        assert command in proc.stdout


def test_list_tasks():
    result = runner.invoke(app, ["list", "tasks"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "sin" in result.stdout and "sin-small" in result.stdout


def test_list_unknown_family():
    result = runner.invoke(app, ["list", "optimisers"])
    assert result.exit_code == 2
    assert_one_line_error(result.stderr, "unknown family 'optimisers'", "optimizers")


def test_parse_lists_and_hp():
    assert parse_list("--lrs", "0.1, 0.01", float) == [0.1, 0.01]
    assert parse_list("--depths", "1,2,4", int) == [1, 2, 4]
    assert parse_list("--optims", None) is None
    for bad in ("", ",", "sgd,,adam", "sgd,"):
        with pytest.raises(NNBenchError, match="empty or malformed"):
            parse_list("--optims", bad)
    with pytest.raises(NNBenchError, match="integers"):
        parse_list("--depths", "1,two", int)
    assert parse_hp(["momentum=0.9", "betas=0.9,0.999", "nesterov=true"]) == {
        "momentum": 0.9, "betas": (0.9, 0.999), "nesterov": True}
    assert parse_hp(None) == {}
    with pytest.raises(NNBenchError, match="NAME=VALUE"):
        parse_hp(["momentum"])
    assert parse_batch("--batch-size", "full") == "full"
    assert parse_batch("--batch-size", "32") == 32
    with pytest.raises(NNBenchError, match="integer or 'full'"):
        parse_batch("--batch-size", "big")


BAD_INPUT = [
    (["run", "--task", "sni"], ["unknown task 'sni'", "did you mean 'sin'"]),
    (["run", "--optim", "adma"], ["unknown optimizer 'adma'"]),
    (["run", "--act", "relu6"], ["unknown activation 'relu6'"]),
    (["run", "--steps", "-5"], ["steps", "-5"]),
    (["run", "--lr", "0"], ["lr"]),
    (["run", "--lr", "-1"], ["lr"]),
    (["run", "--depth", "0"], ["depth"]),
    (["run", "--optim", "sgd", "--hp", "momentun=0.9"], ["momentun", "did you mean 'momentum'"]),
    (["run", "--hp", "momentum"], ["NAME=VALUE"]),
    (["run", "--batch-size", "big"], ["--batch-size"]),
    (["compare", "--optims", ""], ["--optims", "empty"]),
    (["compare", "--lrs", "0.1,,0.01"], ["--lrs"]),
    (["compare", "--depths", "1,x"], ["--depths", "integers"]),
    (["compare", "--optim", "sgd", "--optims", "sgd,adam"], ["--optim and --optims"]),
    (["compare", "--seeds", "0"], ["seeds"]),
    (["run", "--config", "missing.toml"], ["missing.toml"]),
    (["show", "."], ["not a results directory"]),
    (["plot", "nowhere"], ["not a results directory"]),
    (["report", "nowhere"], ["not a results directory"]),
    (["compare", "--resume", "nowhere"], ["not a results directory"]),
    (["compare", "--resume", ".", "--steps", "5"], ["--resume", "no experiment options"]),
    (["plot", ".", "--x", "time"], ["--x must be one of step, wall"]),
]


@pytest.mark.parametrize(("args", "fragments"), BAD_INPUT, ids=[" ".join(a) for a, _ in BAD_INPUT])
def test_bad_input_is_one_line_and_exit_2(args, fragments, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, [*args, "--no-plot"] if args[0] in ("run", "compare")
                           else args)
    assert result.exit_code == 2, (result.output, result.exception)
    assert_one_line_error(result.stderr, *fragments)
    assert result.stdout == ""
    assert not (tmp_path / "results").exists()  # nothing was written


def test_config_file_errors_name_file_and_line(tmp_path):
    bad_key = tmp_path / "bad_key.toml"
    bad_key.write_text('task = "sin"\noptims = ["sgd"]\nlearning_rate = 0.1\n')
    result = runner.invoke(app, ["compare", "--config", str(bad_key)])
    assert result.exit_code == 2
    assert_one_line_error(result.stderr, f"{bad_key}:3", "learning_rate")
    malformed = tmp_path / "malformed.toml"
    malformed.write_text('task = "sin"\nsteps = \n')
    result = runner.invoke(app, ["compare", "--config", str(malformed)])
    assert result.exit_code == 2
    assert_one_line_error(result.stderr, f"{malformed}:2", "malformed TOML")


def test_bad_input_as_a_subprocess_and_debug_traceback(tmp_path):
    proc = nnbench("run", "--task", "sni", "--no-plot", cwd=tmp_path)
    assert proc.returncode == 2
    assert_one_line_error(proc.stderr, "unknown task 'sni'")
    proc = nnbench("run", "--task", "sni", "--no-plot", "--debug", cwd=tmp_path)
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr and "UnknownNameError" in proc.stderr


@pytest.mark.parametrize(("args", "fragment"), [
    (["run", "--steps", "abc"], "'--steps'"),
    (["run", "--bogus"], "--bogus"),
    (["frobnicate"], "frobnicate"),
])
def test_usage_errors_are_one_line_too(args, fragment):
    proc = nnbench(*args)
    assert proc.returncode == 2
    assert_one_line_error(proc.stderr, fragment, "--help")


def test_data_commands_are_registered():
    result = runner.invoke(app, ["data", "--help"])
    assert result.exit_code == 0 and "fetch" in result.stdout


def test_unwritable_output_directory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = runner.invoke(app, ["run", "--steps", "5", "--no-plot", "--out",
                                 str(blocker / "sub")])
    assert result.exit_code == 2
    assert_one_line_error(result.stderr)
    if os.name == "posix" and os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        result = runner.invoke(app, ["run", "--steps", "5", "--no-plot", "--out",
                                     str(locked / "out")])
        assert result.exit_code == 2
        assert_one_line_error(result.stderr, "ermission denied")


def test_output_mode_follows_the_terminal(monkeypatch):
    class Stream:
        def __init__(self, tty: bool):
            self.tty = tty

        def isatty(self) -> bool:
            return self.tty

    monkeypatch.setattr(sys, "stdout", Stream(True))
    assert Output().mode == "live"
    assert Output(quiet=True).mode == "quiet" and Output(json=True).mode == "quiet"
    monkeypatch.setattr(sys, "stdout", Stream(False))
    assert Output().mode == "plain"


def test_run_field_options_take_the_type_declared_in_the_schema():
    import typing

    from nnbench.cli import train
    from nnbench.schema import FIELD_TYPES

    for command in (train.run, train.compare):
        hints = typing.get_type_hints(command, include_extras=True)
        for name, hint in hints.items():
            # --standardize takes a comma list (one value: the field; several: an axis)
            if name in FIELD_TYPES and name not in ("data_dir", "batch_size", "hp",
                                                    "standardize"):
                assert typing.get_args(hint)[0] == (FIELD_TYPES[name] | None), name


@pytest.mark.parametrize(("command", "listed"), [
    ("plot", ["<step|wall>", "<png|svg|pdf>"]),
    ("prune", ["<png|svg|pdf>"]),
    ("compare", ["<local|dask>", "<float32|float64>"]),
])
def test_help_lists_the_choices_of_fixed_choice_options(command, listed):
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for text in listed:
        assert text in result.stdout, text


@pytest.mark.parametrize(("args", "message"), [
    (["plot", ".", "--format", "gif"], "--format must be one of png, svg, pdf, got 'gif'"),
    (["prune", ".", "--format", "gif"], "--format must be one of png, svg, pdf, got 'gif'"),
    (["compare", "--executor", "ray", "--steps", "2", "--no-plot"],
     "--executor must be 'local' or 'dask', got 'ray'"),
    (["run", "--dtype", "f16", "--no-plot"], "dtype must be 'float32' or 'float64'"),
    (["list", "colours"], "unknown family 'colours'"),
])
def test_a_bad_choice_keeps_its_one_line_message(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert_one_line_error(result.stderr, message)
    assert not (tmp_path / "results").exists()


def test_python_m_nnbench_cli_still_runs():
    proc = subprocess.run([sys.executable, "-m", "nnbench.cli", "--version"],
                          capture_output=True, text=True, env=_env(), timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == f"nnbench {__version__}"
