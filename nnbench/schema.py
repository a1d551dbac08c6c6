"""The columns of a results directory: what each means, in one place (pure Python).

No NumPy or pandas here: the command line, the summary, the figures and the pruning
read these names without pulling in the numerical stack.
"""

from __future__ import annotations

from collections.abc import Iterable

# -- which results columns are configuration
# A runs.csv column is configuration (a possible axis of a grid, a label of a curve)
# unless it is one of these results or bookkeeping columns, starts with one of the
# prefixes, or ends with one of the suffixes (a loss or an accuracy measured).
RESULT_COLUMNS = frozenset({
    "run_id", "seed", "status", "steps_done", "wall_s", "group", "group_id", "name",
    "error", "message", "start_time", "end_time", "diverged_step", "stopped_step",
    "stopped_early", "closed_form_loss", "converged", "updates", "epochs_done",
})
RESULT_PREFIXES = ("final_", "best_", "min_", "max_", "last_")
RESULT_SUFFIXES = ("_acc", "_loss")

# Config fields a results directory may spell two ways (runs.csv writes the first).
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "optimizer": ("optimizer", "optim"),
    "activation": ("activation", "act"),
}


def is_config_column(name: str) -> bool:
    """Whether the runs.csv column ``name`` is configuration rather than a result."""
    return not (name in RESULT_COLUMNS or name.startswith(RESULT_PREFIXES)
                or name.endswith(RESULT_SUFFIXES))


def config_columns(columns: Iterable[str]) -> list[str]:
    """The configuration columns among ``columns``, in their order."""
    return [c for c in columns if is_config_column(c)]
