"""The engine's contracts with the console and the store: progress reports and logged rows.

A :class:`Reporter` (the console implements a rich one) receives progress; a
:class:`MetricsSink` (the store appends to CSV files) receives the logged rows; a
:class:`StopFlag` asks training to stop at the next step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class RunInfo:
    """A run announced to the reporter before training starts.

    ``group`` is a short readable label of the group the run trains in (the
    cell of the grid, e.g. ``"mlp-sigmoid-d1-w100-adam"``); ``total`` the
    number of steps the run will make if it neither diverges nor stops early.
    """

    run_id: str
    group: str
    total: int


@dataclass(frozen=True)
class RunProgress:
    """The state of one run at an update.

    ``step`` counts updates made so far (0..total); ``loss`` is the most
    recently logged training loss (NaN before the first), ``best_loss`` the
    lowest logged so far; ``steps_per_s`` is measured over the group since
    its start; ``status`` is one of ``"pending"``, ``"running"``, ``"done"``,
    ``"diverged"``, ``"stopped"`` (stopped early, will be reported as done),
    ``"interrupted"``.
    """

    run_id: str
    step: int
    total: int
    loss: float
    best_loss: float
    steps_per_s: float
    status: str


@runtime_checkable
class Reporter(Protocol):
    """Receives training progress. The engine calls, for a whole experiment:

    ``start(runs)`` once with every run of the experiment (all groups, in
    training order), then ``update(progress)`` repeatedly (at most about ten
    times a second, plus once when each group ends) with the runs of the group
    in flight and any that changed status, then ``finish()`` once, also after
    an interruption (Ctrl-C) or an error.
    """

    def start(self, runs: list[RunInfo]) -> None: ...

    def update(self, progress: list[RunProgress]) -> None: ...

    def finish(self) -> None: ...


class NullReporter:
    """A reporter that ignores everything (tests, library use, ``--quiet``)."""

    def start(self, runs: list[RunInfo]) -> None:
        pass

    def update(self, progress: list[RunProgress]) -> None:
        pass

    def finish(self) -> None:
        pass


class MetricsSink(Protocol):
    """Receives logged rows as training goes (the store appends them to CSV).

    ``write(metrics, layers)`` gets lists of row dicts (keys: :func:`metric_columns`,
    :data:`LAYER_COLUMNS`); it is called every couple of seconds and at the end
    of a group, so that nothing logged is lost to an interruption.
    """

    def write(self, metrics: list[dict], layers: list[dict]) -> None: ...


class ListSink:
    """A sink that keeps every row in memory (tests, library use)."""

    def __init__(self) -> None:
        self.metrics: list[dict] = []
        self.layers: list[dict] = []

    def write(self, metrics: list[dict], layers: list[dict]) -> None:
        self.metrics.extend(metrics)
        self.layers.extend(layers)


class StopFlag:
    """Set ``requested`` (e.g. from a SIGINT handler) to stop training at the next step."""

    def __init__(self) -> None:
        self.requested = False
