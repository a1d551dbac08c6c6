"""What training a group gives back, and its state while it trains: each run's results,
the per-run state of a group (:class:`RunState`), and the columns of the logs."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

LAYER_COLUMNS = ["run_id", "step", "layer", "grad_norm", "weight_norm", "update_ratio",
                 "saturated_frac", "dead_frac"]


def metric_columns(kind: str) -> list[str]:
    """The columns of metrics.csv for a task of ``kind``.

    ``train_loss`` is the full training loss at evaluation steps (every
    ``eval_every`` steps, the first and the last) and the loss of the step's
    minibatch at the other logged steps; with full batches the two agree (up
    to dropout-like noise in training mode).
    """
    cols = ["run_id", "step", "wall_s", "lr", "train_loss", "grad_norm"]
    if kind == "landscape":
        return cols + ["x0", "x1", "dist_to_min"]
    cols.append("val_loss")
    if kind == "classification":
        cols += ["train_acc", "val_acc"]
    return cols


@dataclass
class RunResult:
    """The outcome of one run. ``final_*`` are the last logged values (``final_test_*``
    are measured on the returned weights); ``best_*`` the lowest logged; steps count
    updates. ``weights`` are the run's final parameter arrays, each with a leading
    runs axis of length 1 (the shapes of ``MLP(..., runs=1).params``). ``extra`` holds a
    model's own results (``closed_form_loss``; the perceptron's ``converged``, ``updates``).
    ``switch_step`` is the step after which a SWATS run took SGD steps (the update that
    switched it was its ``switch_step``-th, so the logged step ``switch_step`` is the last
    point reached by Adam); -1 when it never switched, ``None`` for other optimizers.
    ``n_params`` is the number of the model's trained parameters (the sizes of
    ``weights`` summed)."""

    run_id: str
    status: str
    steps_done: int
    diverged_step: int | None
    stopped_early: bool
    best_step: int | None
    final_train_loss: float
    best_train_loss: float
    final_val_loss: float
    best_val_loss: float
    final_train_acc: float
    final_val_acc: float
    final_test_loss: float
    final_test_acc: float
    wall_s: float
    weights: list
    switch_step: int | None = None
    n_params: int | None = None
    extra: dict = field(default_factory=dict)

    def row(self) -> dict:
        """The result columns of runs.csv (everything but the weights), then ``extra``."""
        row = {k: v for k, v in self.__dict__.items() if k not in ("weights", "extra")}
        row.update(self.extra)
        return row


@dataclass
class GroupResult:
    """The runs of a group, in the order given, and whether training was interrupted."""

    runs: list[RunResult]
    interrupted: bool = False
    backend: str = "numpy"  # what computed the passes: numpy, or numba's compiled kernels


def nan_runs(R: int) -> np.ndarray:
    """An ``(R,)`` array of NaN: a value not known (yet) for any run."""
    return np.full(R, np.nan)


@dataclass
class RunState:
    """Every run's state in a group, one ``(R,)`` array per field.

    ``status`` is ``running`` until a run ends (``done``, ``diverged``, ``interrupted``;
    set with :meth:`set_status` or :meth:`end`); ``active`` is derived from it.
    ``last_*`` are the last logged values, ``best_*`` the lowest, ``best_step`` the step of
    the best validation loss (-1: none yet), ``wait`` the evaluations since it improved,
    ``limit`` the loss above which a run diverged, ``diverged_step`` -1 for a run that did
    not diverge."""

    status: np.ndarray
    steps_done: np.ndarray
    diverged_step: np.ndarray
    stopped_early: np.ndarray
    end_wall: np.ndarray
    limit: np.ndarray
    best_train: np.ndarray
    best_val: np.ndarray
    best_step: np.ndarray
    wait: np.ndarray
    last: dict[str, np.ndarray] = field(default_factory=dict)
    # derived, made again after a change: the active runs, and kernel_limit's (active, limit,
    # value); a step reads them several times (``status == "running"`` over an object array
    # costs ~2 us each time)
    _active: np.ndarray | None = field(default=None, repr=False)
    _kernel_limit: tuple | None = field(default=None, repr=False)

    @classmethod
    def new(cls, R: int) -> RunState:
        return cls(status=np.full(R, "running", dtype=object),
                   steps_done=np.zeros(R, dtype=np.int64),
                   diverged_step=np.full(R, -1, dtype=np.int64),
                   stopped_early=np.zeros(R, dtype=bool), end_wall=nan_runs(R),
                   limit=np.full(R, np.inf), best_train=np.full(R, np.inf),
                   best_val=np.full(R, np.inf), best_step=np.full(R, -1, dtype=np.int64),
                   wait=np.zeros(R, dtype=np.int64),
                   last={k: nan_runs(R) for k in ("train_loss", "val_loss", "train_acc",
                                              "val_acc")})

    @property
    def active(self) -> np.ndarray:
        """The runs still training (a read-only mask, made again when a status changes)."""
        if self._active is None:
            self._active = self.status == "running"
            self._active.flags.writeable = False
        return self._active

    def kernel_limit(self) -> np.ndarray:
        """The divergence limit a compiled step takes: ``limit`` for an active run, -1 (no
        update) for a stopped one."""
        active, k = self.active, self._kernel_limit
        if k is None or k[0] is not active or k[1] is not self.limit:
            k = self._kernel_limit = (active, self.limit, np.where(active, self.limit, -1.0))
        return k[2]

    def set_status(self, runs: np.ndarray | int, status: str) -> None:
        """Runs ``runs`` (indices, a mask or one index) take ``status``."""
        self.status[runs] = status
        self._active = None

    def end(self, runs: np.ndarray, status: str, wall: float) -> None:
        """Runs ``runs`` (indices or a mask) end with ``status`` at ``wall`` seconds."""
        self.set_status(runs, status)
        self.end_wall[runs] = wall
