"""Damaged results directories: every reader says which file is damaged and how (exit 2,
one line), or keeps the valid rows and warns which were dropped; never a traceback, never
a partial answer in silence."""

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nnbench.cli import app
from nnbench.store import DamagedResults, load_results, read_csv

runner = CliRunner()
COMMANDS = ["show", "plot", "report", "prune", "resume"]


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("damaged") / "src"
    result = runner.invoke(app, ["compare", "--optims", "sgd", "--task", "sin-small",
                                 "--steps", "200", "--log-every", "50", "--seeds", "3",
                                 "--target", "0.5", "--no-plot", "--quiet",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def _copy(source: Path, tmp_path: Path) -> Path:
    d = tmp_path / "r"
    shutil.copytree(source, d)
    return d


def _invoke(command: str, d: Path):
    if command == "resume":
        return runner.invoke(app, ["compare", "--resume", str(d), "--no-plot"])
    if command == "prune":
        return runner.invoke(app, ["prune", str(d), "--sparsity", "0,0.5"])
    return runner.invoke(app, [command, str(d)])


def cut(name, frac):
    def f(d):
        data = (d / name).read_bytes()
        (d / name).write_bytes(data[:int(len(data) * frac)])
    return f


def put(name, data):
    def f(d):
        (d / name).write_bytes(data)
    return f


def line(name, i, text):
    def f(d):
        lines = (d / name).read_text().splitlines(True)
        lines[i] = text
        (d / name).write_text("".join(lines))
    return f


def keep_lines(name, n):
    def f(d):
        lines = (d / name).read_text().splitlines(True)
        (d / name).write_text("".join(lines[:n]))
    return f


def drop_key(name, key):
    def f(d):
        lines = (d / name).read_text().splitlines(True)
        (d / name).write_text("".join(ln for ln in lines if not ln.startswith(key)))
    return f


# name: (damage, file, what the message says)
ERRORS = {
    "runs-empty": (put("runs.csv", b""), "runs.csv", "it is empty"),
    "runs-binary": (put("runs.csv", b"\x89PNG\x00\xff\xfe"), "runs.csv", "not text"),
    "runs-short-line": (line("runs.csv", 2, "s1,a,b\n"), "runs.csv", "line 3 has 3 fields"),
    "runs-header-cut": (put("runs.csv", b"run_id,gro"), "runs.csv", "header line is incomplete"),
    "runs-no-status": (keep_lines("runs.csv", 0), "runs.csv", "it is empty"),
    "runs-twice": (lambda d: (d / "runs.csv").write_text(
        (d / "runs.csv").read_text() + (d / "runs.csv").read_text().splitlines()[1] + "\n"),
        "runs.csv", "run s0 has more than one row"),
    "metrics-long-line": (line("metrics.csv", 3, "s0,1,2,3,4,5,6,7,8\n"), "metrics.csv",
                          "line 4 has 9 fields, the header 7"),
    "metrics-not-a-number": (line("metrics.csv", 3, "s0,abc,0.1,0.1,0.2,0.1,\n"),
                             "metrics.csv", "line 4: step is 'abc', not a number"),
    "metrics-binary": (put("metrics.csv", b"\xff\xfe\x00x"), "metrics.csv", "not text"),
    "metrics-empty": (put("metrics.csv", b""), "metrics.csv", "it is empty"),
    "layers-short-line": (line("layers.csv", 2, "s0,0\n"), "layers.csv", "line 3 has 2 fields"),
}
# damaged where a reader needs them (show, resume); plot and report warn and go on
STRICT = {
    "meta-not-json": (put("meta.json", b'{"versions": {"nnb'), "meta.json", "not valid JSON"),
    "meta-binary": (put("meta.json", b"\xff\xfe"), "meta.json", "not JSON"),
    "meta-a-list": (put("meta.json", b"[1, 2]"), "meta.json", "JSON list, not an object"),
    "config-malformed": (put("config.toml", b"task = \n"), "config.toml", "malformed TOML"),
    "config-binary": (put("config.toml", b"\xff\xfe\x00"), "config.toml", "config.toml"),
    "config-cut": (cut("config.toml", 0.3), "config.toml", "malformed TOML"),
    "config-lost-a-line": (drop_key("config.toml", "steps ="), "config.toml",
                           "run s0 has steps 2000 in it and 200 in runs.csv"),
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("kind", list(ERRORS))
def test_a_damaged_table_is_one_line_naming_it(source, tmp_path, kind, command):
    d = _copy(source, tmp_path)
    damage, name, how = ERRORS[kind]
    damage(d)
    before = {f.name: f.read_bytes() for f in d.iterdir() if f.is_file()}
    result = _invoke(command, d)
    assert result.exit_code == 2, (result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"nnbench: error: {d / name} is damaged: "), lines[0]
    assert how in lines[0]
    if command in ("prune", "resume"):  # nothing written
        assert {f.name: f.read_bytes() for f in d.iterdir() if f.is_file()} == before


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("kind", list(STRICT))
def test_a_damaged_meta_or_config(source, tmp_path, kind, command):
    d = _copy(source, tmp_path)
    damage, name, how = STRICT[kind]
    damage(d)
    result = _invoke(command, d)
    lines = result.stderr.strip().splitlines()
    assert result.exception is None or isinstance(result.exception, SystemExit)
    if kind == "config-lost-a-line" and command in ("plot", "report"):
        assert result.exit_code == 0, result.output  # figures need no grid
        return
    if command in ("show", "prune", "resume"):
        assert result.exit_code == 2, result.output
        assert len(lines) == 1 and lines[0].startswith("nnbench: error: "), result.stderr
    else:  # the figures and the report come from the CSVs
        assert result.exit_code == 0, result.output
        warnings = [ln for ln in lines if ln.startswith("nnbench: warning: ")]
        assert len(warnings) == 1, result.stderr
        lines = warnings
    assert str(d / name) in lines[0] and how in lines[0], lines[0]


@pytest.mark.parametrize("command", COMMANDS)
def test_a_cut_last_row_is_dropped_with_a_warning(source, tmp_path, command):
    d = _copy(source, tmp_path)
    cut("runs.csv", 0.9)(d)  # a crash in the middle of the last row
    result = _invoke(command, d)
    assert result.exit_code == 0, result.output
    assert f"nnbench: warning: {d / 'runs.csv'}: last row is incomplete (dropped)" \
        in result.stderr.splitlines()
    if command == "show":  # the two complete runs
        assert "(2/2)" in result.stdout
    if command == "resume":  # the dropped run trains again
        assert "(3/3)" in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_metrics_cut_short(source, tmp_path, command):
    """A metrics.csv cut mid-row after its first rows: the cut row is dropped and the runs
    whose rows are gone named; resume trains them again (3/3 reach the target again)."""
    d = _copy(source, tmp_path)
    cut("metrics.csv", 0.45)(d)
    result = _invoke(command, d)
    assert result.exit_code == 0, result.output
    warnings = [ln for ln in result.stderr.splitlines() if ln.startswith("nnbench: warning")]
    assert f"nnbench: warning: {d / 'metrics.csv'}: last row is incomplete (dropped)" \
        in warnings
    incomplete = [w for w in warnings if "is incomplete for 2 finished runs" in w]
    assert len(incomplete) == 1 and "s2: no rows" in incomplete[0], warnings
    if command == "resume":
        assert any("s1, s2 train again" in w for w in warnings), warnings
        assert "(3/3)" in result.stdout
        again = runner.invoke(app, ["show", str(d)])
        assert again.exit_code == 0 and "(3/3)" in again.stdout
        assert "warning" not in again.stderr


def test_show_does_not_count_lost_rows_as_a_missed_target(source, tmp_path):
    """3/3 runs reach the target; metrics.csv cut after the first run's rows: that run
    still counts as reached, the other two are unknown, not missed (it said 1/3)."""
    d = _copy(source, tmp_path)
    assert "(3/3)" in runner.invoke(app, ["show", str(d)]).stdout
    cut("metrics.csv", 0.45)(d)
    result = runner.invoke(app, ["show", str(d)])
    assert result.exit_code == 0, result.output
    assert "(1/3, 2 unknown)" in result.stdout, result.stdout


def test_read_csv_keeps_the_complete_rows(tmp_path):
    f = tmp_path / "metrics.csv"
    f.write_text("run_id,step,train_loss\ns0,0,1.5\ns0,50,0.2\ns0,10")
    seen = []
    df = read_csv(f, required=("run_id", "step"), numeric=None, warn=seen.append)
    assert list(df["step"]) == [0, 50]
    assert seen == [f"{f}: last row is incomplete (dropped)"]


def test_load_results_raises_one_error_type(source, tmp_path):
    d = _copy(source, tmp_path)
    (d / "layers.csv").write_bytes(b"\x00\x01")
    with pytest.raises(DamagedResults, match="layers.csv is damaged"):
        load_results(d)


def test_prune_says_which_weights_are_missing_or_damaged(tmp_path):
    out = tmp_path / "p"
    assert runner.invoke(app, ["compare", "--task", "moons", "--steps", "20", "--seeds", "2",
                               "--quiet", "--no-plot", "--out", str(out)]).exit_code == 0
    (out / "weights" / "s1.npz").unlink()
    result = runner.invoke(app, ["prune", str(out), "--sparsity", "0,0.5"])
    assert result.exit_code == 0, result.output
    assert "no weights file for finished run s1" in result.stderr
    assert "left out of the pruning" in result.stderr
    (out / "weights" / "s0.npz").write_bytes(b"PK\x03\x04 cut")
    result = runner.invoke(app, ["prune", str(out), "--sparsity", "0,0.5"])
    assert result.exit_code == 2
    assert f"{out / 'weights' / 's0.npz'} is damaged" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("nnbench: error: ")


def test_plot_a_metric_without_values(source, tmp_path):
    d = _copy(source, tmp_path)
    result = runner.invoke(app, ["plot", str(d), "--metric", "val_loss"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "there is no validation data" in lines[0]
    assert not (d / "figures").exists()
