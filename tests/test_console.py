"""The console reporters against fake progress (no training)."""

import io
import math

import pandas as pd
from rich.console import Console

from nnbench import summary as sm
from nnbench.console import LiveReporter, PlainReporter, make_reporter, print_summary
from nnbench.engine import NullReporter, Reporter, RunInfo, RunProgress


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
    rep.update([_progress(infos[3], 10, "running", 0.4), _progress(infos[4], 5, "diverged", 9.0)])
    assert rep.grouped
    table = rep.table()
    assert table.row_count == 11
    buf = io.StringIO()
    Console(file=buf, width=160, color_system=None).print(table)
    text = buf.getvalue()
    line_g0 = next(line for line in text.splitlines() if " g0 " in line)
    assert "60/60" in line_g0 and "done" in line_g0
    line_g1 = next(line for line in text.splitlines() if " g1 " in line)
    # steps 10 + 5 + 0 of 60; current loss: the mean of the runs that did not diverge (0.4)
    assert "15/60" in line_g1 and " 0.4 " in line_g1 and "9" not in line_g1.split("│")[5]
    assert "1 running, 1 diverged, 1 pending" in line_g1
    rep.finish()


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
        "run r000 [g0] done: step 20/20, loss 0.25, best 0.125",
        "run r001 [g0] interrupted: step 13/20, loss 0.5, best 0.25",
        "run r002 [g0] stopped: step 9/20, loss 0.5, best 0.25",
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
    assert "0.4 ± 0.14" in text  # sgd: mean 0.4, std sqrt(0.02) = 0.1414
    assert "adam" in text
    print_summary(summary, by, rich=False)
    plain = capsys.readouterr().out
    assert plain.splitlines()[0].split() == ["optimizer", "runs", "final", "loss", "best", "loss",
                                             "time", "(s)", "diverged"]
    assert plain.splitlines()[3].split()[-1] == "1"
