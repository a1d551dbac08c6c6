"""The task of a run configuration: its name built with its parameters.

A run names its task (``task``) and may give the task's own parameters (``task_kw``), a
data directory (``data_dir``, for the tasks read from files) and a landscape's start
point (``start``); :func:`make_task` builds the task from them, the same way for
resolution, training, pruning and figures.
"""

from __future__ import annotations

from typing import Any

from nnbench.schema import RunFields
from nnbench.tasks import TASKS, Task, get_task, task_params


def make_task(cfg: RunFields) -> Task:
    """The task of ``cfg`` built with its ``task_kw`` (and ``data_dir`` when given)."""
    TASKS.get(cfg.task)  # unknown names list the valid ones
    kw: dict[str, Any] = dict(cfg.task_kw)
    if cfg.data_dir is not None and "data_dir" in task_params(cfg.task):
        kw.setdefault("data_dir", cfg.data_dir)  # tasks without files ignore it
    if cfg.start is not None and "start" in task_params(cfg.task):
        kw["start"] = cfg.start  # landscapes take their start point as a parameter
    return get_task(cfg.task, **kw)


def n_train_of(cfg: RunFields, task: Any) -> int:
    """The number of training samples the run will see (loads the data set)."""
    data = task.load(seed=cfg.data_seed, val_frac=cfg.val_frac, dtype=cfg.dtype)
    return int(len(data.X_train))
