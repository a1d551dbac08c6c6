"""The console reporters against fake progress (no training)."""

import io
import math
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console

from nnbench import summary as sm
from nnbench.console import LiveReporter, PlainReporter, make_reporter, print_summary
from nnbench.engine import NullReporter, Reporter, RunInfo, RunProgress

ROOT = Path(__file__).resolve().parents[1]


def _infos(n: int, per_group: int = 3) -> list[RunInfo]:
    return [RunInfo(f"r{i:03d}", f"g{i // per_group}", 20) for i in range(n)]


def _progress(info: RunInfo, step: int, status: str, loss: float = 0.5) -> RunProgress:
    return RunProgress(info.run_id, step, info.total, loss, loss / 2, 100.0, status)


def _console() -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, force_terminal=True, width=140, color_system=None), buf


def test_reporters_satisfy_the_protocol():
    for rep in (LiveReporter(_console()[0]), PlainReporter(io.StringIO()), NullReporter()):
        assert isinstance(rep, Reporter)
    assert isinstance(make_reporter("plain"), PlainReporter)
    assert isinstance(make_reporter("quiet"), NullReporter)


def test_live_table_one_row_per_run():
    console, buf = _console()
    rep = LiveReporter(console, refresh_per_second=1e12)
    infos = _infos(4)
    rep.start(infos)
    rep.update([_progress(infos[0], 10, "running", 0.123456)])
    rep.update([_progress(infos[0], 20, "done", 0.01), _progress(infos[1], 7, "diverged",
                                                                    math.inf)])
    rep.finish()
    text = buf.getvalue()
    table = rep.table()
    assert table.row_count == 4
    for info in infos:
        assert info.run_id in text
    assert "0.1235" in text  # current loss, 4 significant digits
    assert "20/20" in text and "diverged" in text and "pending" in text
    assert rep._live is None  # stopped


def test_live_table_groups_many_runs():
    console, _ = _console()
    rep = LiveReporter(console, group_above=30)
    infos = _infos(33, per_group=3)  # 11 groups
    rep.start(infos)
    rep.update([_progress(i, 20, "done", 0.2) for i in infos[:3]])
    rep.update([_progress(infos[3], 10, "running", 0.4), _progress(infos[4], 10, "running", 0.1),
                _progress(infos[5], 5, "diverged", 9.0)])
    assert rep.grouped
    table = rep.table()
    assert table.row_count == 11
    text = _render(table, 160)
    line_g0 = next(line for line in text.splitlines() if line.startswith("g0 "))
    assert "20/20" in line_g0 and "done" in line_g0
    line_g1 = next(line for line in text.splitlines() if line.startswith("g1 "))
    # the step its runs are at (not a sum over runs), the range of the current losses of
    # the runs that did not diverge (not their mean)
    cells = line_g1.split()
    assert "10/20" in cells and "0.100–0.400" in cells and "9" not in cells
    assert "1 running, 1 running" not in line_g1 and "2 running, 1 diverged" in line_g1
    rep.finish()


def _render(table, width: int, height: int = 24) -> str:
    buf = io.StringIO()
    Console(file=buf, width=width, height=height, color_system=None).print(table)
    return buf.getvalue()


def _sized(width: int, height: int = 24) -> Console:
    """The terminal the live table draws on, ``width`` x ``height``."""
    return Console(file=io.StringIO(), width=width, height=height, force_terminal=True,
                   color_system=None)


LONG_GROUP = "sin-small-sigmoid-d1-w32"


def _sweep(n_lrs: int, seeds: int) -> list[RunInfo]:
    """A compare of sgd and adam at ``n_lrs`` learning rates: run ids and group labels as
    the experiment makes them, 20000 steps each."""
    return [RunInfo(f"{o}-lr{lr}-s{s}", f"{LONG_GROUP}-{o}", 20000)
            for o in ("sgd", "adam") for lr in (0.1, 0.03, 0.01, 0.003)[:n_lrs]
            for s in range(seeds)]


def _numbers(k: int) -> tuple[int, float, float, float]:
    """step, loss, best and steps/s of run ``k``: long values in every column."""
    return 12345 + k, 1.23456789e-5 * (k + 1), 9.87654321e-6 * (k + 1), 12345.678 + k


@pytest.mark.parametrize("width", [80, 120])
def test_live_table_numbers_stay_whole_at_any_width(width):
    rep = LiveReporter(_sized(width), refresh_per_second=1e12)
    infos = _sweep(3, 3)  # 18 runs: one row each on 24 lines
    rep.start(infos)
    rep.update([RunProgress(i.run_id, *_numbers(k)[:1], i.total, *_numbers(k)[1:], "running")
                for k, i in enumerate(infos)])
    assert not rep.grouped
    text = _render(rep.table(), width)
    lines = text.splitlines()
    assert all(len(line) <= width for line in lines)
    assert "…" not in text  # names and the bar go first; everything here fits
    for k, info in enumerate(infos):
        step, loss, best, rate = _numbers(k)
        line = next(line for line in lines if line.startswith(info.run_id + " "))
        cells = line.split()
        # every step, loss, best and steps/s cell unabbreviated
        assert f"{step}/20000" in cells
        assert f"{loss:#.4g}" in cells and f"{best:#.4g}" in cells
        assert f"{rate:.0f}" in cells
        assert "running" in cells
    rep.finish()


@pytest.mark.parametrize("width", [80, 120])
def test_grouped_table_numbers_stay_whole_at_any_width(width):
    rep = LiveReporter(_sized(width), refresh_per_second=1e12)
    infos = _sweep(4, 5)  # 40 runs in 2 groups: one row per group on 24 lines
    rep.start(infos)
    rep.update([RunProgress(i.run_id, 12345, i.total, 1.23456e-5 * (k + 1), 2e-6 * (k + 1),
                            12345.678, "running") for k, i in enumerate(infos)])
    assert rep.grouped
    text = _render(rep.table(), width)
    lines = text.splitlines()
    assert all(len(line) <= width for line in lines)
    for name, ks in (("sgd", range(20)), ("adam", range(20, 40))):
        line = next(line for line in lines if line.startswith(name + " "))
        cells = line.split()
        lo, hi = 1.23456e-5 * (ks[0] + 1), 1.23456e-5 * (ks[-1] + 1)
        assert "12345/20000" in cells and f"{lo:.3g}–{hi:.3g}" in cells
        assert f"{2e-6 * (ks[0] + 1):#.4g}" in cells and "12346" in cells
    rep.finish()


@pytest.mark.parametrize("width", [80, 120])
def test_column_widths_are_the_same_in_every_frame(width):
    rep = LiveReporter(_sized(width), refresh_per_second=1e12)
    infos = _sweep(1, 2)
    rep.start(infos)
    frames = [_render(rep.table(), width)]
    rep.update([RunProgress(i.run_id, 3, i.total, 0.5, 0.5, 7.0, "running") for i in infos])
    frames.append(_render(rep.table(), width))
    rep.update([RunProgress(i.run_id, 19999, i.total, -1.23456e-15, -1.23456e-15, 123456.0,
                            "diverged") for i in infos])
    frames.append(_render(rep.table(), width))
    rep.finish()
    headers = [f.splitlines()[1] for f in frames]  # the line after the title
    assert len(set(headers)) == 1
    widths = {len(line) for f in frames for line in f.splitlines()[1:]}
    assert len(widths) == 1


def test_rows_follow_the_terminal_height():
    infos = _sweep(4, 5)  # 40 runs in 2 groups
    tall = LiveReporter(Console(file=io.StringIO(), width=120, height=60))
    tall.start(infos)
    assert not tall.grouped and tall.table().row_count == 40  # above 30 runs, rows still fit
    tall.finish()
    short = LiveReporter(Console(file=io.StringIO(), width=120, height=10))
    short.start(infos[:8])  # 8 runs do not fit 10 lines: one row per group
    assert short.grouped and short.table().row_count == 1
    short.finish()
    many = [RunInfo(f"r{i}", f"g{i}", 10) for i in range(40)]  # 40 groups on 24 lines
    rep = LiveReporter(Console(file=io.StringIO(), width=120, height=24), refresh_per_second=1e12)
    rep.start(many)
    rep.update([RunProgress(f"r{i}", 10, 10, 0.1, 0.1, 5.0, "done") for i in range(30)])
    table = rep.table()
    assert table.row_count == 24 - 5
    text = _render(table, 120)
    assert len(text.splitlines()) <= 24 - 1
    assert "g30 " in text and "rows 22-40 of 40; 30 finished" in text  # unfinished in view
    rep.finish()


def test_last_frame_shows_nothing_still_running():
    console, buf = _console()
    rep = LiveReporter(console, refresh_per_second=1e12)
    infos = _infos(3)
    rep.start(infos)
    rep.update([_progress(infos[0], 20, "done"), _progress(infos[1], 7, "running")])
    assert "running" in _render(rep.table(), 120)
    rep.finish()  # training ended (Ctrl-C): run 1 will not go on, run 2 never started
    last = _render(rep.table(), 120)
    assert "running" not in last and "pending" not in last
    assert "interrupted" in last and "not started" in last


def test_live_refresh_is_throttled():
    console, buf = _console()
    rep = LiveReporter(console, refresh_per_second=1e-6)  # never between start and finish
    infos = _infos(2)
    rep.start(infos)
    size = len(buf.getvalue())
    for step in range(1, 50):
        rep.update([_progress(infos[0], step, "running")])
    assert len(buf.getvalue()) == size
    rep.finish()
    assert len(buf.getvalue()) > size


def test_plain_prints_one_line_per_finished_run():
    out = io.StringIO()
    rep = PlainReporter(out)
    infos = _infos(3)
    rep.start(infos)
    rep.update([_progress(infos[0], 5, "running")])
    rep.update([_progress(infos[0], 20, "done", 0.25), _progress(infos[1], 12, "running")])
    rep.update([_progress(infos[0], 20, "done", 0.25), _progress(infos[1], 13, "interrupted")])
    rep.update([_progress(infos[2], 9, "stopped", 0.5)])
    rep.update([_progress(infos[2], 9, "done", 0.5)])  # stopped early, recorded as done
    rep.finish()
    lines = out.getvalue().splitlines()
    assert lines[0] == "training 3 runs in 1 group"
    assert lines[1:] == [
        "run r000 [g0] done: step 20/20, loss 0.2500, best 0.1250",
        "run r001 [g0] interrupted: step 13/20, loss 0.5000, best 0.2500",
        "run r002 [g0] stopped: step 9/20, loss 0.5000, best 0.2500",
    ]


def test_print_summary_rich_and_plain(capsys):
    runs = pd.DataFrame({
        "run_id": ["a", "b", "c", "d"], "optimizer": ["sgd", "sgd", "adam", "adam"],
        "seed": [0, 1, 0, 1], "status": ["done", "done", "done", "diverged"],
        "final_train_loss": [0.3, 0.5, 0.1, math.nan], "best_train_loss": [0.2, 0.4, 0.1, 9.0],
        "wall_s": [1.0, 1.0, 2.0, 2.0],
    })
    summary = sm.summarize(runs)
    by = sm.cell_columns(runs)
    console, buf = _console()
    print_summary(summary, by, rich=True, console=console)
    text = buf.getvalue()
    assert "0.4000 ± 0.14" in text  # sgd: mean 0.4, std sqrt(0.02) = 0.1414
    assert "adam" in text
    print_summary(summary, by, rich=False)
    plain = capsys.readouterr().out
    assert plain.splitlines()[0].split() == ["optimizer", "runs", "final", "loss", "best", "loss",
                                             "time", "(s)", "diverged"]
    assert plain.splitlines()[3].split()[-1] == "1"


def _tmux(socket: str, *args: str) -> str:
    out = subprocess.run(["tmux", "-L", socket, *args], capture_output=True, text=True,
                         timeout=30)
    return out.stdout


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
def test_live_table_in_a_real_80x24_terminal(tmp_path):
    """A compare under tmux at 80 x 24: whole numbers in every row while it trains, and
    after Ctrl-C one clean last frame (no leftover frame, nothing still running)."""
    socket = f"nnbench-test-{os.getpid()}"
    out = tmp_path / "res"
    env = f"PYTHONPATH={shlex.quote(str(ROOT))} NNBENCH_BACKEND=numpy"
    cmd = (f"cd {shlex.quote(str(tmp_path))} && {env} {shlex.quote(sys.executable)} -m nnbench "
           f"compare --optims sgd,adam --lrs 0.1,0.01 --task sin-small --steps 1000000 "
           f"--log-every 10 --out {shlex.quote(str(out))} --no-plot; echo EXIT=$?; sleep 60")
    _tmux(socket, "new-session", "-d", "-x", "80", "-y", "24", "-s", "t", cmd)
    try:
        screen = ""
        for _ in range(300):  # until every sgd run trains and shows a loss
            time.sleep(0.1)
            screen = _tmux(socket, "capture-pane", "-p", "-t", "t")
            rows = [line for line in screen.splitlines() if line.startswith("sgd-")]
            if len(rows) == 6 and all(len(r.split()) >= 6 and r.split()[-1] == "running"
                                      and r.split()[-4] != "-" for r in rows):
                break
        else:
            raise AssertionError(f"no running table:\n{screen}")
        for line in rows:
            step, loss, best, rate = line.split()[-5:-1]
            assert "…" not in line and step.endswith("/1000000")
            float(loss), float(best), float(rate)
        _tmux(socket, "send-keys", "-t", "t", "C-c")
        for _ in range(300):
            time.sleep(0.1)
            screen = _tmux(socket, "capture-pane", "-p", "-t", "t")
            if "EXIT=" in screen:
                break
        assert "EXIT=130" in screen, screen
        lines = screen.splitlines()
        assert sum(line.startswith("nnbench  ") for line in lines) == 1, screen  # one title
        assert sum(line.lstrip().startswith("run ") for line in lines) == 1, screen
        for name in ("sgd-lr0.1-s0", "adam-lr0.01-s2"):
            assert sum(line.startswith(name + " ") for line in lines) == 1, screen
        assert "running" not in screen and "pending" not in screen
        assert "interrupted" in screen and "not started" in screen
    finally:
        _tmux(socket, "kill-server")
