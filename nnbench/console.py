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
from dataclasses import dataclass
from typing import IO, Any

from rich import box
from rich.console import Console
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from nnbench.core.errors import plural
from nnbench.numfmt import fmt_num as _num

FINAL_STATUSES = frozenset({"done", "diverged", "stopped", "interrupted", "cached"})
STATUS_STYLE = {
    "pending": "dim", "running": "cyan", "done": "green", "stopped": "green", "cached": "green",
    "diverged": "bold red", "interrupted": "yellow", "not started": "dim",
}


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


def _nanmin(xs: Sequence[float]) -> float:
    vals = [x for x in xs if not math.isnan(x)]
    return min(vals) if vals else math.nan


def _nanmax(xs: Sequence[float]) -> float:
    vals = [x for x in xs if not math.isnan(x)]
    return max(vals) if vals else math.nan


def _rate(x: float) -> str:
    """Steps per second: a whole number from 100 up, else 3 significant digits."""
    if x is None or math.isnan(x):
        return "-"
    if math.isinf(x):
        return "inf"
    return f"{x:.0f}" if 100 <= x < 1e8 else f"{x:.3g}"


def _range(lo: float, hi: float) -> str:
    """``lo–hi`` (3 significant digits each); one number when they agree."""
    a, b = _num(lo, 3), _num(hi, 3)
    return a if a == b else f"{a}–{b}"


def _status_counts(statuses: Sequence[str]) -> str:
    if len(set(statuses)) == 1:
        return statuses[0]
    counts: dict[str, int] = {}
    for s in statuses:
        counts[s] = counts.get(s, 0) + 1
    return ", ".join(f"{n} {s}" for s, n in counts.items())


def split_labels(labels: Sequence[str]) -> tuple[str, dict[str, str]]:
    """The ``-``-separated parts every group label shares (for the title) and, per label,
    the parts that tell it apart (``sin-small-sigmoid-d1-w32-sgd`` and ``...-adam``:
    ``sin-small-sigmoid-d1-w32``, ``sgd`` and ``adam``)."""
    unique = list(dict.fromkeys(labels))
    if len(unique) <= 1:
        return (unique[0] if unique else ""), {u: "" for u in unique}
    split = [u.split("-") for u in unique]
    if len({len(s) for s in split}) == 1:
        same = [len({s[i] for s in split}) == 1 for i in range(len(split[0]))]
        common = "-".join(t for t, keep in zip(split[0], same, strict=True) if keep)
        short = {u: "-".join(t for t, keep in zip(s, same, strict=True) if not keep)
                 for u, s in zip(unique, split, strict=True)}
        return common, short
    prefix: list[str] = []
    for parts in zip(*split, strict=False):
        if len(set(parts)) != 1:
            break
        prefix.append(parts[0])
    n = len(prefix)
    return "-".join(prefix), {u: "-".join(s[n:]) for u, s in zip(unique, split, strict=True)}


# The table's geometry. Columns are separated by GAP characters; the step, loss, best and
# steps/s columns always have the width of their longest possible value; the others (bar,
# group, run names, status) shrink or go, in that order, to fit the terminal, keeping two
# columns free (the terminal's echo of ^C then stays on the last line, which the next
# frame overwrites). A frame has FRAME_LINES lines besides its rows (title, header, the
# header's rule, the caption of a window of rows, one for the cursor).
GAP = 2
NUM_WIDTH = 10   # "-1.235e-05": 4 significant digits, a sign and an exponent
RANGE_WIDTH = 19  # "-1.23e-05–-1.23e-05"
RATE_WIDTH = 8   # "99999999" or "1.23e+08"
BAR_WIDTH = 20
FRAME_LINES = 5
FREE_COLUMNS = 2
ENDED = {"running": "interrupted", "pending": "not started"}


@dataclass
class Column:
    header: str
    width: int
    justify: str = "left"
    minimum: int = 0


def fit_columns(columns: dict[str, Column], budget: int,
                plan: Sequence[tuple[str, int | None]]) -> dict[str, Column]:
    """Shrink each column of ``plan`` in turn down to its given width (``None``: drop
    it) until the columns and their gaps take at most ``budget`` characters; the columns
    outside the plan keep their width."""
    cols = dict(columns)

    def excess() -> int:
        return sum(c.width for c in cols.values()) + GAP * (len(cols) - 1) - budget

    for name, floor in plan:
        over = excess()
        if over <= 0:
            break
        if name not in cols:
            continue
        if floor is None:
            del cols[name]
        else:
            c = cols[name]
            cols[name] = Column(c.header, max(min(floor, c.width), c.width - over), c.justify)
    return cols


class LiveReporter:
    """A rich live table of the runs while they train.

    Redrawn at most ``refresh_per_second`` times a second, from the engine's own
    calls (no background thread). One row per run while the runs fit the terminal's
    height (or up to ``group_above`` runs, when given), else one row per group: the step
    its runs are at, the range (min–max) of their current losses (diverged runs left
    out), the lowest best loss, the fastest rate and the count of each status. When the
    rows still do not fit, the table shows a window of them starting at the first
    unfinished one. Column widths depend only on the runs and the terminal's size, so
    they stay the same from frame to frame; the last frame shows the runs that were
    still training as ``interrupted`` and those that never started as ``not started``.
    """

    def __init__(self, console: Console | None = None, refresh_per_second: float = 4.0,
                 group_above: int | None = None, title: str = "nnbench") -> None:
        self.console = console or Console()
        self.interval = 1.0 / refresh_per_second
        self.group_above = group_above
        self.title = title
        self.state = _State()
        self._live: Live | None = None
        self._last = 0.0
        self._t0 = time.perf_counter()
        self._ended = False
        self._common, self._short = "", {}

    # -- the Reporter protocol
    def start(self, runs: Sequence[Any]) -> None:
        self.state.start(runs)
        self._ended = False
        self._common, self._short = split_labels([r.group for r in runs])
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
        self._ended = True  # training is over: nothing is running or pending any more
        if self._live is not None:
            self._live.update(self.table(), refresh=True)
            self._live.stop()
            self._live = None

    # -- rendering
    @property
    def capacity(self) -> int:
        """The rows that fit the terminal's height."""
        return max(1, self.console.height - FRAME_LINES)

    @property
    def grouped(self) -> bool:
        limit = self.capacity if self.group_above is None else self.group_above
        return len(self.state.runs) > limit

    def _status(self, status: str) -> str:
        return ENDED.get(status, status) if self._ended else status

    def _rows(self) -> list[tuple[list[Any], bool]]:
        """The cells of each row (name, group or run count, (step, total), step, loss,
        best, steps/s, status) and whether the row is finished."""
        out = []
        if self.grouped:
            for group, infos in self.state.groups().items():
                rows = [self.state.row(i) for i in infos]
                step, total = max(r[0] for r in rows), max(r[1] for r in rows)
                statuses = [self._status(r[5]) for r in rows]
                healthy = [r for r in rows if r[5] != "diverged"] or rows
                losses = [r[2] for r in healthy]
                name = self._short.get(group) or group
                out.append(([name, str(len(infos)), (step, total), f"{step}/{total}",
                             _range(_nanmin(losses), _nanmax(losses)),
                             _num(_nanmin([r[3] for r in rows])),
                             _rate(_nanmax([r[4] for r in rows])), _status_counts(statuses)],
                            all(s in FINAL_STATUSES for s in statuses)))
        else:
            for info in self.state.runs:
                step, total, loss, best, rate, status = self.state.row(info)
                status = self._status(status)
                out.append(([str(info.run_id), self._short.get(info.group, ""), (step, total),
                             f"{step}/{total}", _num(loss), _num(best), _rate(rate),
                             Text(status, style=STATUS_STYLE.get(status, ""))],
                            status in FINAL_STATUSES))
        return out

    def columns(self) -> dict[str, Column]:
        """The columns shown at the console's width (a function of the runs only)."""
        runs = self.state.runs
        total = max([len(str(int(r.total))) for r in runs] or [1])
        cols: dict[str, Column] = {}
        if self.grouped:
            names = [self._short.get(g) or g for g in self.state.groups()]
            sizes = [len(v) for v in self.state.groups().values()]
            cols["name"] = Column("group", max([5, *map(len, names)]))
            cols["second"] = Column("runs", max([4, *(len(str(n)) for n in sizes)]), "right")
        else:
            cols["name"] = Column("run", max([3, *(len(str(r.run_id)) for r in runs)]))
            shorts = {r.run_id: self._short.get(r.group, "") for r in runs}
            # a group column only when a run's name does not already say its group
            if any(set(s.split("-")) - set(str(rid).split("-"))
                   for rid, s in shorts.items() if s):
                cols["second"] = Column("group", max([5, *map(len, shorts.values())]))
        cols["bar"] = Column("progress", BAR_WIDTH)
        cols["step"] = Column("step", max(4, 2 * total + 1), "right")
        cols["loss"] = Column("loss", RANGE_WIDTH if self.grouped else NUM_WIDTH, "right")
        cols["best"] = Column("best", NUM_WIDTH, "right")
        cols["rate"] = Column("steps/s", RATE_WIDTH, "right")
        cols["status"] = Column("status", 24 if self.grouped else len("interrupted"))
        plan = [("bar", 5), ("second", 8), ("second", None), ("bar", None),
                ("name", 10), ("status", 8), ("name", 4), ("status", 4)]
        return fit_columns(cols, self.console.width - FREE_COLUMNS, plan)

    def table(self) -> Table:
        """The table as it stands (one row per run, or per group)."""
        elapsed = time.perf_counter() - self._t0
        cols = self.columns()
        rows = self._rows()
        cap = self.capacity
        caption = None
        if len(rows) > cap:
            first = next((i for i, (_, done) in enumerate(rows) if not done), len(rows))
            lo = max(0, min(first, len(rows) - cap))
            caption = (f"rows {lo + 1}-{lo + cap} of {len(rows)}; "
                       f"{sum(done for _, done in rows)} finished")
            rows = rows[lo:lo + cap]
        runs = plural(len(self.state.runs), "run")
        title = "  ".join(t for t in (self.title, self._common, f"({runs}, {elapsed:.0f} s)")
                          if t)
        budget = self.console.width - FREE_COLUMNS
        if len(title) > budget:
            title = title[:max(1, budget - 1)] + "…"
        table = Table(title=title, title_justify="left", caption=caption,
                      caption_justify="left", box=box.SIMPLE_HEAD, show_edge=False,
                      pad_edge=False, padding=(0, 1, 0, 0), expand=False)
        keys = ["name", "second", "bar", "step", "loss", "best", "rate", "status"]
        shown = [k for k in keys if k in cols]
        for k in shown:
            c = cols[k]
            header = "" if k == "bar" and c.width < len(c.header) else c.header
            table.add_column(header, justify=c.justify, width=c.width, no_wrap=True,
                             overflow="ellipsis", style="bold" if k == "name" else None)
        for cells, _ in rows:
            by_key = dict(zip(keys, cells, strict=True))
            out = []
            for k in shown:
                if k == "bar":
                    step, total = by_key["bar"]
                    out.append(ProgressBar(total=max(total, 1), completed=step,
                                           width=cols["bar"].width))
                else:
                    out.append(by_key[k])
            table.add_row(*out)
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
    note = sm.interval_note(summary)
    if note:
        console.print(note, markup=False)
    if best is not None and len(best):
        for line in sm.best_lr_lines(best):
            console.print(line)
