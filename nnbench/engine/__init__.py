"""The training engine: trains one group of runs on the runs axis.

Modules: :mod:`.protocols` (the reporter, the sink, the stop flag), :mod:`.results`
(a group's results, per-run state, the log columns), :mod:`.trainer` (the loop),
:mod:`.speed` (the backend, flat parameters, the blocks' thread pool, BLAS threads).

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

from nnbench.core.models import build_model, model_names
from nnbench.engine.protocols import (
    ListSink,
    MetricsSink,
    NullReporter,
    Reporter,
    RunInfo,
    RunProgress,
    StopFlag,
)
from nnbench.engine.results import (
    LAYER_COLUMNS,
    GroupResult,
    RunResult,
    RunState,
    metric_columns,
)
from nnbench.engine.speed import (
    BACKENDS,
    FLAT_MAX,
    backend_choice,
    check_backend,
    compile_kernels,
    execution,
    flat_grads,
    flatten_params,
    kernel_names,
    kernels_to_compile,
)
from nnbench.engine.trainer import (
    DIVERGE_FACTOR,
    FLUSH_INTERVAL,
    REPORT_INTERVAL,
    GroupTrainer,
    batch_rng,
    group_label,
    schedule_factors,
    train_group,
)

__all__ = [
    "BACKENDS", "DIVERGE_FACTOR", "FLAT_MAX", "FLUSH_INTERVAL", "LAYER_COLUMNS",
    "REPORT_INTERVAL", "GroupResult", "GroupTrainer", "ListSink", "MetricsSink", "NullReporter",
    "Reporter", "RunInfo", "RunProgress", "RunResult", "RunState", "StopFlag", "backend_choice",
    "batch_rng", "build_model", "check_backend", "compile_kernels", "execution", "flat_grads",
    "flatten_params", "group_label", "kernel_names", "kernels_to_compile", "metric_columns",
    "model_names", "schedule_factors", "train_group",
]
