"""One writer at a time: a results directory is locked while a command writes it.

The lock is ``DIR/.nnbench.lock`` (created with O_CREAT | O_EXCL: pid, host, start time,
command). A second process is refused with one line naming the holder; a lock left by a
process that no longer runs is taken over with a warning; the lock goes at exit.
"""

import json
import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from nnbench.cli import app
from nnbench.store import LOCK, acquire_lock, release_lock, remove_owned_files

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()
TINY = ["--task", "sin-small", "--steps", "5", "--log-every", "5", "--no-plot", "--quiet"]


def _env() -> dict[str, str]:
    env = dict(os.environ, NNBENCH_BACKEND="numpy")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _nnbench(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "nnbench", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env())


def _dead_pid() -> int:
    """The pid of a process that has ended."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _write_lock(d: Path, pid: int, host: str | None = None, command: str = "compare"):
    d.mkdir(parents=True, exist_ok=True)
    (d / LOCK).write_text(json.dumps({"pid": pid, "host": host or platform.node(),
                                      "start_time": "2026-01-31T16:40:02Z",
                                      "command": command}))


def test_two_processes_on_one_directory(tmp_path):
    out = tmp_path / "x"
    args = ["compare", "--task", "sin-small", "--seeds", "1", "--log-every", "50",
            "--no-plot", "--overwrite", "--out", str(out)]
    first = _nnbench(*args, "--optims", "sgd,adam", "--steps", "100000")
    try:
        deadline = time.monotonic() + 60
        while not (out / "metrics.csv").is_file() and time.monotonic() < deadline:
            assert first.poll() is None, first.communicate()
            time.sleep(0.05)
        holder = json.loads((out / LOCK).read_text())
        assert holder["pid"] == first.pid and holder["command"] == "compare"
        assert holder["host"] == platform.node() and holder["start_time"].endswith("Z")
        second = _nnbench(*args, "--optims", "momentum", "--steps", "5")
        stdout, stderr = second.communicate(timeout=120)
        assert second.returncode == 2, (stdout, stderr)
        lines = stderr.strip().splitlines()
        assert len(lines) == 1, stderr
        assert lines[0].startswith(f"nnbench: error: {out} is in use by nnbench pid "
                                   f"{first.pid} (compare, started ")
        assert f"remove {out / LOCK} if that process is gone" in lines[0]
        assert first.poll() is None  # the first one goes on undisturbed
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=120)
    assert first.returncode == 130
    assert not (out / LOCK).exists()  # removed at exit, after Ctrl-C too
    runs = pd.read_csv(out / "runs.csv")
    assert set(runs["optimizer"]) <= {"sgd", "adam"}  # only the first experiment's runs
    assert "momentum" not in (out / "config.toml").read_text()


def test_a_stale_lock_is_taken_over_with_a_warning(tmp_path):
    out = tmp_path / "x"
    pid = _dead_pid()
    _write_lock(out, pid)  # a process of this host that is gone
    result = runner.invoke(app, ["run", *TINY, "--out", str(out)])  # no --overwrite needed
    assert result.exit_code == 0, result.output
    warnings = [ln for ln in result.stderr.splitlines() if "warning" in ln]
    assert len(warnings) == 1 and "took over the lock" in warnings[0]
    assert f"pid {pid}" in warnings[0]
    assert not (out / LOCK).exists()
    assert (out / "runs.csv").is_file()


@pytest.mark.parametrize("command", [["run", *TINY, "--overwrite"], ["resume"], ["plot"],
                                     ["report"], ["prune", "--sparsity", "0,0.5"]])
def test_a_live_holder_refuses_every_writer(tmp_path, command):
    out = tmp_path / "x"
    assert runner.invoke(app, ["run", *TINY, "--out", str(out)]).exit_code == 0
    before = {f.name: f.read_bytes() for f in out.iterdir() if f.is_file()}
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _write_lock(out, holder.pid, command="compare")
        if command == ["resume"]:
            args = ["compare", "--resume", str(out)]
        elif command[0] == "run":
            args = [*command, "--out", str(out)]
        else:
            args = [command[0], str(out), *command[1:]]
        result = runner.invoke(app, args)
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 2, result.output
    assert f"in use by nnbench pid {holder.pid} (compare, started " in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    after = {f.name: f.read_bytes() for f in out.iterdir() if f.is_file()}
    assert after == {**before, LOCK: after[LOCK]}  # nothing written, the lock left alone
    assert json.loads(after[LOCK])["pid"] == holder.pid


def test_a_lock_of_another_host_is_never_taken_over(tmp_path):
    out = tmp_path / "x"
    _write_lock(out, _dead_pid(), host="elsewhere.example")
    result = runner.invoke(app, ["run", *TINY, "--out", str(out)])
    assert result.exit_code == 2
    assert "in use by nnbench pid" in result.stderr and "on elsewhere.example" in result.stderr


def test_the_lock_is_not_a_user_file(tmp_path):
    out = tmp_path / "x"
    assert runner.invoke(app, ["run", *TINY, "--out", str(out)]).exit_code == 0
    acquire_lock(out, "test")
    try:
        assert (out / LOCK).is_file()
        assert LOCK not in {f.name for f in remove_owned_files(out)}
        assert (out / LOCK).is_file()
        # this process holds it: its own commands go on (the lock is taken again)
        result = runner.invoke(app, ["run", *TINY, "--out", str(out), "--overwrite"])
        assert result.exit_code == 0, result.output
        assert (out / LOCK).is_file()
    finally:
        release_lock(out)
    assert not (out / LOCK).exists()


def test_a_failed_command_leaves_no_lock_and_no_new_directory(tmp_path):
    out = tmp_path / "new" / "x"
    result = runner.invoke(app, ["compare", "--resume", str(out)])
    assert result.exit_code == 2
    assert not (tmp_path / "new").exists()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    result = runner.invoke(app, ["run", *TINY, "--out", str(mine)])
    assert result.exit_code == 2 and "not empty" in result.stderr
    assert sorted(f.name for f in mine.iterdir()) == ["notes.txt"]
