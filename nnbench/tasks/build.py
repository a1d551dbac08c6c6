"""The task of a run configuration: its name built with its parameters.

A run names its task (``task``) and may give the task's own parameters (``task_kw``), a
data directory (``data_dir``, for the tasks read from files) and a landscape's start
point (``start``); :func:`make_task` builds the task from them, the same way for
resolution, training, pruning and figures.
"""

from __future__ import annotations

import json
from typing import Any

from nnbench.core.errors import NNBenchError
from nnbench.schema import RunFields
from nnbench.tasks import TASKS, Task, get_task, task_params

# run fields that set a task parameter: field -> the parameter (``degree`` is the poly
# task's ``fit_degree``), so that a grid can have them as axes
TASK_FIELDS = {"degree": "fit_degree", "standardize": "standardize"}


def make_task(cfg: RunFields) -> Task:
    """The task of ``cfg`` built with its ``task_kw`` (and ``data_dir`` when given), and the
    task parameters its fields ``degree`` and ``standardize`` set (:data:`TASK_FIELDS`)."""
    TASKS.get(cfg.task)  # unknown names list the valid ones
    kw: dict[str, Any] = dict(cfg.task_kw)
    for name, param in TASK_FIELDS.items():
        value = getattr(cfg, name, None)
        if value is None:
            continue
        if param not in task_params(cfg.task):
            takers = [t for t in TASKS.names() if param in task_params(t)]
            raise NNBenchError(f"{name} sets the task parameter {param}, which task "
                               f"'{cfg.task}' does not have; tasks with it: "
                               + ", ".join(takers))
        if param in kw and kw[param] != value:
            raise NNBenchError(f"{name} {value!r} and task_kw {param} {kw[param]!r} differ; "
                               "give it once")
        kw[param] = value
    if cfg.data_dir is not None and "data_dir" in task_params(cfg.task):
        kw.setdefault("data_dir", cfg.data_dir)  # tasks without files ignore it
    if cfg.start is not None and "start" in task_params(cfg.task):
        kw["start"] = cfg.start  # landscapes take their start point as a parameter
    return get_task(cfg.task, **kw)


def task_key(cfg: RunFields) -> str:
    """What decides a run's task and its data set: runs with equal keys share both."""
    return json.dumps([cfg.task, cfg.task_kw, cfg.data_dir, cfg.start, cfg.degree,
                       cfg.standardize, cfg.data_seed, cfg.val_frac, cfg.dtype],
                      sort_keys=True, default=list)


def n_train_of(cfg: RunFields, task: Any) -> int:
    """The number of training samples the run will see (loads the data set)."""
    data = task.load(seed=cfg.data_seed, val_frac=cfg.val_frac, dtype=cfg.dtype)
    return int(len(data.X_train))
