"""The console: the only place that prints while an experiment trains.

Three reporters implement the engine's ``Reporter`` protocol (``start(runs)``,
``update(progress)``, ``finish()``):

- :class:`LiveReporter`: a rich live table, one row per run (one per group when
  there are more than ``group_above`` runs) with a progress bar, step, current and
  best loss, steps per second and status, redrawn a few times per second;
- :class:`PlainReporter`: one line per finished run, for pipes and log files;
- ``NullReporter`` (from the engine) for ``--quiet`` and ``--json``.

:func:`print_summary` prints the summary table at the end, as a rich table on a
terminal and as aligned plain text otherwise.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Sequence
from typing import IO, Any

from rich.console import Console
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table

from nnbench.core.errors import plural

FINAL_STATUSES = frozenset({"done", "diverged", "stopped", "interrupted"})
STATUS_STYLE = {
    "pending": "dim", "running": "cyan", "done": "green", "stopped": "green",
    "diverged": "bold red", "interrupted": "yellow",
}


def _num(x: float, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if isinstance(x, float) and math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.{digits}g}"


class _State:
    """The latest progress of every announced run, by run id, in announce order."""

    def __init__(self) -> None:
        self.runs: list[Any] = []
        self.latest: dict[str, Any] = {}
        self.finished: set[str] = set()

    def start(self, runs: Sequence[Any]) -> None:
        self.runs = list(runs)
        self.latest = {}
        self.finished = set()

    def update(self, progress: Sequence[Any]) -> list[Any]:
        """Record ``progress``; return the records of runs that reached a final status
        for the first time (``stopped`` then ``done`` counts once)."""
        finished = []
        for p in progress:
            if p.status in FINAL_STATUSES and p.run_id not in self.finished:
                self.finished.add(p.run_id)
                finished.append(p)
            self.latest[p.run_id] = p
        return finished

    def row(self, info: Any) -> tuple[int, int, float, float, float, str]:
        """(step, total, loss, best, steps/s, status) of one run."""
        p = self.latest.get(info.run_id)
        if p is None:
            return 0, info.total, math.nan, math.nan, math.nan, "pending"
        return p.step, p.total, p.loss, p.best_loss, p.steps_per_s, p.status

    def groups(self) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {}
        for info in self.runs:
            out.setdefault(info.group, []).append(info)
        return out


def _nanmean(xs: Sequence[float]) -> float:
    vals = [x for x in xs if not math.isnan(x)]
    return sum(vals) / len(vals) if vals else math.nan


def _nanmin(xs: Sequence[float]) -> float:
    vals = [x for x in xs if not math.isnan(x)]
    return min(vals) if vals else math.nan


def _nanmax(xs: Sequence[float]) -> float:
    vals = [x for x in xs if not math.isnan(x)]
    return max(vals) if vals else math.nan


def _status_counts(statuses: Sequence[str]) -> str:
    if len(set(statuses)) == 1:
        return statuses[0]
    counts: dict[str, int] = {}
    for s in statuses:
        counts[s] = counts.get(s, 0) + 1
    return ", ".join(f"{n} {s}" for s, n in counts.items())


class LiveReporter:
    """A rich live table of the runs while they train.

    Redrawn at most ``refresh_per_second`` times a second, from the engine's own
    calls (no background thread). With more than ``group_above`` runs, one row per
    group: steps summed over its runs, the mean current loss of the runs that have not
    diverged, the lowest best loss, the fastest rate, and the count of each status.
    """

    def __init__(self, console: Console | None = None, refresh_per_second: float = 4.0,
                 group_above: int = 30, title: str = "nnbench") -> None:
        self.console = console or Console()
        self.interval = 1.0 / refresh_per_second
        self.group_above = group_above
        self.title = title
        self.state = _State()
        self._live: Live | None = None
        self._last = 0.0
        self._t0 = time.perf_counter()

    # -- the Reporter protocol
    def start(self, runs: Sequence[Any]) -> None:
        self.state.start(runs)
        self._t0 = time.perf_counter()
        self._live = Live(self.table(), console=self.console, auto_refresh=False,
                          transient=False, redirect_stdout=False, redirect_stderr=False)
        self._live.start()
        self._last = time.perf_counter()

    def update(self, progress: Sequence[Any]) -> None:
        self.state.update(progress)
        now = time.perf_counter()
        if self._live is not None and now - self._last >= self.interval:
            self._live.update(self.table(), refresh=True)
            self._last = now

    def finish(self) -> None:
        if self._live is not None:
            self._live.update(self.table(), refresh=True)
            self._live.stop()
            self._live = None

    # -- rendering
    @property
    def grouped(self) -> bool:
        return len(self.state.runs) > self.group_above

    def table(self) -> Table:
        """The table as it stands (one row per run, or per group)."""
        elapsed = time.perf_counter() - self._t0
        runs = plural(len(self.state.runs), "run")
        table = Table(title=f"{self.title}  ({runs}, {elapsed:.0f} s)",
                      title_justify="left", expand=False)
        table.add_column("group" if self.grouped else "run", style="bold", no_wrap=True)
        if not self.grouped:
            table.add_column("group", overflow="ellipsis", no_wrap=True, max_width=36)
        else:
            table.add_column("runs", justify="right")
        table.add_column("progress", width=22)
        table.add_column("step", justify="right")
        table.add_column("loss", justify="right")
        table.add_column("best", justify="right")
        table.add_column("steps/s", justify="right")
        table.add_column("status", no_wrap=True)
        if self.grouped:
            for group, infos in self.state.groups().items():
                rows = [self.state.row(i) for i in infos]
                step = sum(r[0] for r in rows)
                total = sum(r[1] for r in rows)
                status = _status_counts([r[5] for r in rows])
                healthy = [r for r in rows if r[5] != "diverged"] or rows
                table.add_row(
                    group, str(len(infos)), ProgressBar(total=max(total, 1), completed=step,
                                                        width=20),
                    f"{step}/{total}", _num(_nanmean([r[2] for r in healthy])),
                    _num(_nanmin([r[3] for r in rows])), _num(_nanmax([r[4] for r in rows]), 3),
                    status)
        else:
            for info in self.state.runs:
                step, total, loss, best, rate, status = self.state.row(info)
                table.add_row(
                    str(info.run_id), info.group,
                    ProgressBar(total=max(total, 1), completed=step, width=20),
                    f"{step}/{total}", _num(loss), _num(best), _num(rate, 3),
                    f"[{STATUS_STYLE.get(status, '')}]{status}[/]")
        return table


class PlainReporter:
    """One line per run as it finishes (no animation), for pipes and log files."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream
        self.state = _State()

    def _print(self, line: str) -> None:
        print(line, file=self.stream or sys.stdout, flush=True)

    def start(self, runs: Sequence[Any]) -> None:
        self.state.start(runs)
        groups = len({r.group for r in runs})
        self._print(f"training {plural(len(runs), 'run')} in {plural(groups, 'group')}")

    def update(self, progress: Sequence[Any]) -> None:
        groups = {r.run_id: r.group for r in self.state.runs}
        for p in self.state.update(progress):
            self._print(f"run {p.run_id} [{groups.get(p.run_id, '?')}] {p.status}: "
                        f"step {p.step}/{p.total}, loss {_num(p.loss)}, "
                        f"best {_num(p.best_loss)}")

    def finish(self) -> None:
        pass


def make_reporter(mode: str, console: Console | None = None):
    """``live`` (rich table), ``plain`` (a line per finished run) or ``quiet`` (nothing)."""
    if mode == "live":
        return LiveReporter(console)
    if mode == "plain":
        return PlainReporter()
    from nnbench.engine import NullReporter

    return NullReporter()


def print_summary(summary, by: Sequence[str], best=None, *, rich: bool,
                  console: Console | None = None, title: str = "summary over seeds") -> None:
    """Print the summary (a :func:`nnbench.summary.summarize` frame): a rich table when
    ``rich``, aligned plain text otherwise; then the best lr per optimizer if given."""
    from nnbench import summary as sm

    if not rich:
        print(sm.format_text(summary, by, best), flush=True)
        return
    console = console or Console()
    headers, rows = sm.display_rows(summary, by)
    table = Table(title=title, title_justify="left")
    for h in headers:
        table.add_column(h, justify="left" if h in by else "right")
    for r in rows:
        style = "red" if r[-1] != "0" else None
        table.add_row(*r, style=style)
    console.print(table)
    if best is not None and len(best):
        for line in sm.best_lr_lines(best):
            console.print(line)
