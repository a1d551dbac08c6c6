"""What a run, a grid and a results directory are made of: field names and their types, the
grid axes, the CSV columns, and which columns are configuration.

The one place that declares them. :mod:`nnbench.config` builds its dataclasses and its
value checks on these declarations, :mod:`nnbench.experiment` its ``runs.csv`` columns,
:mod:`nnbench.cli` its options, and the summary, the figures and the pruning tell
configuration from results with :func:`config_columns`, so each fact is written once. Pure
Python: the command line imports this module before anything numerical (``nnbench --help``
stays fast and loads no NumPy).
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

# batch_size of a full-batch run (the whole training set every step)
FULL_BATCH = "full"

# the floating-point types a run can train in (``--dtype``)
Dtype = Literal["float32", "float64"]

# where the groups of an experiment train (``--executor``)
ExecutorName = Literal["local", "dask"]

# what computes a group's passes (``--backend``, ``NNBENCH_BACKEND``): ``auto`` takes the
# compiled kernels (numba) where one covers the pass, else NumPy
Backend = Literal["auto", "numpy", "numba"]

# what is +-1 in a binary network's forward pass (``--binary``; ``true`` in files written
# before the activations could be binary means ``weights``)
Binary = Literal["weights", "activations", "both"]

# what the output layer applies to z^L (``--out-act``): nothing (a linear output), or the
# sigmoid of notes 003's output units, a^L = sigma(z^L)
OutAct = Literal["identity", "sigmoid"]

# axis name -> base field, in expansion order (seeds are innermost, after these)
AXES: dict[str, str] = {
    "tasks": "task",
    "optims": "optim",
    "lrs": "lr",
    "acts": "act",
    "depths": "depth",
    "widths": "width",
    "inits": "init",
    "batch_sizes": "batch_size",
    "schedules": "schedule",
    "models": "model",
    "losses": "loss",
    "forms": "form",
    "budgets": "params",
    "degrees": "degree",
    "standardizes": "standardize",
    "l2s": "l2",
    "dropouts": "dropout",
    "data_seeds": "data_seed",
    "residuals": "residual",
}

# runs.csv names of config fields that DESIGN.md spells out in full
CSV_NAMES = {"optim": "optimizer", "act": "activation"}


@dataclass
class RunFields:
    """One training run. ``None`` = the task's default (see :func:`nnbench.resolve.resolve`).

    ``batch_size`` is an int or ``"full"`` (the whole training set every step);
    ``epochs``, when given, decides ``steps = epochs * ceil(n_train / batch_size)``.
    ``log_every`` defaults to ``max(1, steps // 500)`` (about 500 points per run),
    ``eval_every`` to ``log_every``. ``patience`` stops a run after that many
    evaluations without a lower validation loss and restores its best weights.
    ``clip`` is a global-norm gradient clip; ``target`` a training loss whose
    first crossing is reported; ``start`` the ``"X,Y"`` start of a landscape
    run; ``l2`` the L2 penalty on the weights, ``dropout`` the dropout rate of the
    hidden units, ``binary`` weights, hidden activations or both +-1 in the forward pass
    (straight-through gradients), ``pieces`` the pieces of a
    maxout unit (``act = "maxout"``), all off when ``None``; ``data_seed`` the seed of
    the data set (shared by every run, unlike ``seed``, which draws a run's weights and
    batch order); ``form`` the written form of the optimizer's rule (``torch``, ``book``,
    ``lecture``: the optimizer's ``form`` hyperparameter, given as a field so that a grid
    can have it as an axis, ``forms``; ``None``: the rule's own default, or ``hp.form``).
    ``params`` a parameter budget: the MLP's ``width`` is the one whose network has the
    number of parameters closest to it (:func:`nnbench.core.models.width_for_params`);
    ``degree`` the ``poly`` task's fit degree (its ``fit_degree``), ``standardize`` whether
    a data task standardizes its inputs (its ``standardize``), both given as fields so that
    a grid can have them as axes (``degrees``, ``standardizes``); ``None``: the task's own;
    ``residual`` skip connections between hidden layers of equal width (``h + f(z)``, the
    MNIST-1D paper's MLP); ``shuffle = False`` takes the minibatches in the order of the
    training set, epoch after epoch, the same for every seed (as the MNIST-1D paper's
    ``train.py``; ``None`` is the task's suggestion, else a fresh permutation per epoch);
    ``threshold`` the set weights of ``model = "threshold"`` (a ``[threshold]`` table:
    ``hidden``/``output`` rows, or a ``truth_table``; empty: the notes' XOR network);
    ``out_act`` what the MLP's output layer applies to ``z^L``: ``identity`` (a linear
    output, the default) or ``sigmoid`` (``a^L = sigma(z^L)``, the loss taken on ``a^L``:
    notes 003's output units; ``None`` is the task's suggestion, else ``identity``).
    """

    task: str = "sin"
    model: str | None = None
    optim: str | None = None
    lr: float | None = None
    hp: dict[str, Any] = field(default_factory=dict)
    form: str | None = None
    schedule: str = "constant"
    schedule_kw: dict[str, Any] = field(default_factory=dict)
    warmup_steps: int = 0
    act: str | None = None
    depth: int | None = None
    width: int | None = None
    init: str | None = None
    loss: str | None = None
    steps: int | None = None
    epochs: int | None = None
    batch_size: int | str | None = None
    seed: int = 0
    dtype: Dtype = "float32"
    log_every: int | None = None
    eval_every: int | None = None
    val_frac: float | None = None
    patience: int | None = None
    clip: float | None = None
    target: float | None = None
    start: str | None = None
    data_dir: str | None = None
    task_kw: dict[str, Any] = field(default_factory=dict)
    data_seed: int = 0
    l2: float | None = None
    dropout: float | None = None
    binary: Binary | None = None
    pieces: int | None = None
    params: int | None = None
    degree: int | None = None
    standardize: bool | None = None
    residual: bool | None = None
    shuffle: bool | None = None
    threshold: dict[str, Any] = field(default_factory=dict)
    out_act: OutAct | None = None
    run_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (copies of the nested dicts): picklable-free, JSON-ready."""
        d = dataclasses.asdict(self)
        for k in DICT_FIELDS:
            d[k] = dict(d[k])
        return d


# --------------------------------------------------------------------------- #
# the types of the fields, read from RunFields
# --------------------------------------------------------------------------- #

# field name -> its annotation as a type (``int | None``, ``Literal[...]``, ...)
FIELD_TYPES: dict[str, Any] = typing.get_type_hints(RunFields)

# the run-configuration keys of a file or the command line (``run_id`` is derived)
RUN_KEYS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(RunFields)
                                  if f.name != "run_id")

# the keys of a tuned experiment (``--tune lr --budget N --final-seeds K --lr-range LO,HI``)
TUNE_KEYS: tuple[str, ...] = ("tune", "budget", "final_seeds", "lr_range")

# what ``tune`` can tune
TUNABLE = ("lr",)

# the flat keys of an experiment: its name and directory, every run key, the axes, seeds,
# the tuning, and the plugin files that register names it uses
EXPERIMENT_KEYS: tuple[str, ...] = ("name", "out", *RUN_KEYS, *AXES, "seeds", *TUNE_KEYS,
                                    "plugins")


def _members(annotation: Any) -> tuple[Any, ...]:
    """The types an annotation admits, ``None`` left out; a ``Literal``'s values count as
    their type (``Literal["float32", "float64"]`` is a ``str``)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return tuple(m for a in typing.get_args(annotation) if a is not type(None)
                     for m in _members(a))
    if typing.get_origin(annotation) is Literal:
        return tuple(dict.fromkeys(type(v) for v in typing.get_args(annotation)))
    return (typing.get_origin(annotation) or annotation,)


def field_kind(name: str) -> str:
    """How a value of field ``name`` is checked: ``str``, ``int``, ``float``, ``bool``,
    ``dict`` or ``batch`` (an integer or :data:`FULL_BATCH`)."""
    members = _members(FIELD_TYPES[name])
    if set(members) == {int, str}:
        return "batch"
    (kind,) = members
    return kind.__name__


def fields_of_kind(kind: str) -> frozenset[str]:
    """The names of the fields (``run_id`` included) checked as ``kind``."""
    return frozenset(name for name in FIELD_TYPES if field_kind(name) == kind)


def group_key(cfg: Any) -> tuple:
    """Runs with equal keys train together as one group: everything but the seed,
    the learning rate and the run id (they become arrays over the runs axis)."""
    d = cfg.to_dict()
    for k in ("seed", "lr", "run_id"):
        d.pop(k)
    return tuple((k, json.dumps(v, sort_keys=True, default=list)) for k, v in d.items())


def optimizer_hyper(cfg: Any) -> dict[str, Any]:
    """The hyperparameters a run's optimizer is built with: its ``hp``, and its ``form``
    when one is given (:func:`nnbench.resolve.resolve` refuses a ``form`` that
    contradicts ``hp.form``)."""
    hp = dict(cfg.hp)
    if getattr(cfg, "form", None) is not None:
        hp["form"] = cfg.form
    return hp


def choices(annotation: Any) -> tuple[Any, ...]:
    """The values of a ``Literal`` annotation (``None`` allowed around it), in order."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is Literal:
        return args
    (literal,) = [a for a in args if a is not type(None)]
    return choices(literal)


# fields whose values are tables (``hp``, ``schedule_kw``, ``task_kw``): JSON in runs.csv
DICT_FIELDS: frozenset[str] = fields_of_kind("dict")


# --------------------------------------------------------------------------- #
# runs.csv columns
# --------------------------------------------------------------------------- #


def run_columns(kind: str) -> list[str]:
    """The columns of runs.csv for a task of ``kind`` (``regression``, ``classification``
    or ``landscape``): ids, every run field but ``run_id`` in field order under its CSV
    name (:data:`CSV_NAMES`), then the results the task measures. ``switch_step`` is the
    step at which a SWATS run switched from Adam to SGD (-1: it never did; empty for the
    other optimizers). ``n_params`` is the number of trained parameters of a run's model
    (the sizes of its parameter arrays summed); ``cached`` whether the run's rows came from
    the run cache."""
    cols = ["run_id", "group", *(CSV_NAMES.get(f, f) for f in RUN_KEYS), "status",
            "final_train_loss", "best_train_loss"]
    if kind != "landscape":
        cols += ["final_val_loss", "best_val_loss", "final_test_loss"]
    if kind == "classification":
        cols += ["final_train_acc", "final_val_acc", "final_test_acc"]
    cols += ["n_params", "steps_done", "diverged_step", "switch_step"]
    if kind != "landscape":
        cols += ["stopped_early", "best_step"]
    return cols + ["wall_s", "cached"]


# -- which results columns are configuration
# A runs.csv column is configuration (a possible axis of a grid, a label of a curve)
# unless it is one of these results or bookkeeping columns, starts with one of the
# prefixes, or ends with one of the suffixes (a loss or an accuracy measured).
RESULT_COLUMNS = frozenset({
    "run_id", "seed", "status", "steps_done", "wall_s", "group", "group_id", "name",
    "error", "message", "start_time", "end_time", "diverged_step", "stopped_step",
    "stopped_early", "closed_form_loss", "converged", "updates", "epochs_done",
    "switch_step", "phase", "n_params", "closed_form_val_loss", "cached",
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


# -- defaults a task may change
# The default of each key a task's suggested configuration may set, used where the task
# (``nnbench list tasks`` shows each task's) does not set it; the loss defaults by the
# task's kind. resolve.py applies them; --help names them.
FALLBACK: dict[str, Any] = {
    "model": "mlp",
    "optim": "adam",
    "act": "sigmoid",
    "depth": 1,
    "width": 32,
    "init": "torch",
    "steps": 1000,
    "batch_size": None,
    "val_frac": 0.0,
}
DEFAULT_LOSS = {"regression": "mse", "classification": "softmax_cross_entropy"}
