"""SIGTERM and SIGHUP stop training as Ctrl-C does: the runs in flight are marked
``interrupted`` with the metrics they logged, meta.json says ``interrupted``, the resume
command is printed, and the exit code is 128 + the signal's number (143, 129)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["compare", "--optims", "sgd,adam", "--seeds", "1", "--task", "sin-small",
        "--steps", "200000", "--log-every", "50", "--no-plot"]


def _env() -> dict[str, str]:
    env = dict(os.environ, NNBENCH_BACKEND="numpy")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _start(out: Path, jobs: int, **kw) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "nnbench", *ARGS, "--jobs", str(jobs),
                             "--out", str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env(), **kw)
    # piped, the console says "training 2 runs in ..." as training starts
    first = proc.stdout.readline()
    assert first.startswith("training 2 runs"), (first, proc.communicate())
    deadline = time.monotonic() + 90  # until the first rows are on disk (workers start)
    while time.monotonic() < deadline:
        f = out / "metrics.csv"
        if f.is_file() and len(f.read_text().splitlines()) > 2:
            break
        time.sleep(0.1)
    time.sleep(0.5)  # training goes on, rows are logged and not yet written
    assert proc.poll() is None, "the experiment ended before the signal"
    return proc


def _check(out: Path, proc: subprocess.Popen, code: int) -> None:
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == code, (stdout, stderr)
    assert "Traceback" not in stderr, stderr
    assert f"nnbench: to finish them: nnbench compare --resume {out}" in stderr
    assert stdout.strip().splitlines()[-1] == str(out)
    meta = json.loads((out / "meta.json").read_text())
    assert meta["status"] == "interrupted" and meta["end_time"]
    runs = pd.read_csv(out / "runs.csv")
    flight = runs[runs.status == "interrupted"]
    assert len(flight) >= 1, runs
    metrics = pd.read_csv(out / "metrics.csv")
    for run_id, steps_done in zip(flight.run_id, flight.steps_done, strict=True):
        rows = metrics[metrics.run_id == run_id]
        assert len(rows) > 1, run_id  # what the run logged is on disk
        assert rows.step.max() <= steps_done < 200000
    assert not (out / ".nnbench.lock").exists()


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_and_sighup_stop_training_cleanly(tmp_path, sig, code, jobs):
    out = tmp_path / "x"
    proc = _start(out, jobs)
    proc.send_signal(sig)
    _check(out, proc, code)


def test_a_hangup_of_the_whole_process_group_with_workers(tmp_path):
    """A closed terminal signals every process of the group: the workers and the queue's
    manager leave it to the parent, which still gets their rows."""
    out = tmp_path / "x"
    proc = _start(out, 2, start_new_session=True)
    os.killpg(proc.pid, signal.SIGHUP)
    _check(out, proc, 129)  # no traceback: no worker was killed under the parent
