"""What training a group gives back: each run's results, and the columns of the logs."""

from __future__ import annotations

from dataclasses import dataclass, field

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
    point reached by Adam); -1 when it never switched, ``None`` for other optimizers."""

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
