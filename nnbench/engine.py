"""The training engine: trains one group of runs on the runs axis.

A *group* is the set of runs of one grid cell that share an architecture and
differ only in seed, learning rate or other optimizer hyperparameters. They
train together as one stacked network (leading runs axis ``R``) with one
optimizer whose hyperparameters are ``(R,)`` arrays. A run's trajectory does
not depend on which other runs share its group: every random draw of run
``r`` comes from its own generator made from its seed.

The engine reports progress to a :class:`Reporter` (the console implements a
rich one) and logs metrics through a :class:`MetricsSink` (the store appends
them to CSV files). It knows nothing of terminals or files itself, except
for the optional final weights it is asked to write.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

# --------------------------------------------------------------------------- #
# Progress reporting: the contract with the console.
# --------------------------------------------------------------------------- #


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
