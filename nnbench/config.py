"""Run and experiment configuration: dataclasses, TOML, validation.

A :class:`RunConfig` describes one training run. Its fields carry the names of
the command-line options (``--optim`` is ``optim``, ``--batch-size`` is
``batch_size``); ``None`` means "the task's default", and :func:`resolve` turns
a config into a fully specified one, taking each missing value from

1. the task's suggested run configuration (``TASKS.get(task).defaults``),
2. else the global defaults below (:data:`FALLBACK`).

The learning rate is special: with ``lr`` unset, a run uses the task's ``lr``
when it trains with the task's own optimizer (sin: Adam at 0.005), otherwise
the optimizer's suited default ``OPTIMIZERS.get(optim).defaults["lr"]``.

An :class:`ExperimentConfig` is a base :class:`RunConfig` plus grid *axes*
(``optims``, ``lrs``, ``acts``, ``depths``, ``widths``, ``inits``,
``batch_sizes``, ``schedules``, ``models``, ``losses``) and ``seeds`` (``N``: seeds
``seed .. seed+N-1`` of every cell). :func:`expand` makes the cartesian product, in the order of the
axes above with seeds innermost, and names every run by the axes that vary plus
its seed (``adam-lr0.005-s0``). Setting a base field clears its axis and
setting an axis clears the base field (:func:`merge`), so a command-line
``--optim`` overrides ``optims = [...]`` of a file and the other way round.

TOML files use the same keys as the command line, snake_case, axes as arrays,
``hp``/``schedule_kw``/``task_kw`` as tables. :func:`load_toml` reports
malformed TOML and unknown keys with the file and line; :func:`dump_toml`
writes a resolved experiment that :func:`load_toml` reads back into the same
runs.
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import json
import math
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from nnbench.core.errors import NNBenchError, check_int, check_positive, check_range

# Global defaults for keys a task does not suggest.
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

# Default loss by task kind, when neither the config nor the task names one.
DEFAULT_LOSS = {"regression": "mse", "classification": "softmax_cross_entropy"}

# batch_size of a full-batch run (the whole training set every step)
FULL_BATCH = "full"

# axis name -> base field, in expansion order (seeds are innermost, after these)
AXES: dict[str, str] = {
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
}

# runs.csv names of config fields that DESIGN.md spells out in full
CSV_NAMES = {"optim": "optimizer", "act": "activation"}

_STR_FIELDS = {"task", "model", "optim", "schedule", "act", "init", "loss", "dtype",
               "start", "data_dir", "run_id"}
_INT_FIELDS = {"warmup_steps", "depth", "width", "steps", "epochs", "seed", "log_every",
               "eval_every", "patience", "data_seed", "pieces"}
_FLOAT_FIELDS = {"lr", "val_frac", "clip", "target", "l2", "dropout"}
_BOOL_FIELDS = {"binary"}
_DICT_FIELDS = {"hp", "schedule_kw", "task_kw"}


@dataclass
class RunConfig:
    """One training run. ``None`` = the task's default (see :func:`resolve`).

    ``batch_size`` is an int or ``"full"`` (the whole training set every step);
    ``epochs``, when given, decides ``steps = epochs * ceil(n_train / batch_size)``.
    ``log_every`` defaults to ``max(1, steps // 500)`` (about 500 points per run),
    ``eval_every`` to ``log_every``. ``patience`` stops a run after that many
    evaluations without a lower validation loss and restores its best weights.
    ``clip`` is a global-norm gradient clip; ``target`` a training loss whose
    first crossing is reported; ``start`` the ``"X,Y"`` start of a landscape
    run; ``l2`` the L2 penalty on the weights, ``dropout`` the dropout rate of the
    hidden units, ``binary`` weights +-1 in the forward pass, ``pieces`` the pieces of a
    maxout unit (``act = "maxout"``), all off when ``None``; ``data_seed`` the seed of
    the data set (shared by every run, unlike ``seed``, which draws a run's weights and
    batch order).
    """

    task: str = "sin"
    model: str | None = None
    optim: str | None = None
    lr: float | None = None
    hp: dict[str, Any] = field(default_factory=dict)
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
    dtype: str = "float32"
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
    binary: bool | None = None
    pieces: int | None = None
    run_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (copies of the nested dicts): picklable-free, JSON-ready."""
        d = dataclasses.asdict(self)
        for k in _DICT_FIELDS:
            d[k] = dict(d[k])
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RunConfig:
        """The inverse of :meth:`to_dict`; unknown keys raise NNBenchError."""
        _check_keys(d, (*RUN_KEYS, "run_id"), "run configuration")
        return cls(**{k: _coerce(k, v) for k, v in d.items()})


RUN_KEYS = tuple(f.name for f in fields(RunConfig) if f.name != "run_id")


@dataclass
class ExperimentConfig:
    """A grid of runs: a base :class:`RunConfig` and axes (``None`` = not an axis).

    ``seeds`` is the number of seeds per cell, ``base.seed .. base.seed + seeds - 1``.
    ``out`` is the results directory (default ``results/<name>/<UTC timestamp>``).
    """

    name: str = ""
    out: str | None = None
    base: RunConfig = field(default_factory=RunConfig)
    optims: list[str] | None = None
    lrs: list[float] | None = None
    acts: list[str] | None = None
    depths: list[int] | None = None
    widths: list[int] | None = None
    inits: list[str] | None = None
    batch_sizes: list[int | str] | None = None
    schedules: list[str] | None = None
    models: list[str] | None = None
    losses: list[str] | None = None
    seeds: int = 3

    @property
    def label(self) -> str:
        """The experiment's name, or the task's when it has none."""
        return self.name or self.base.task


EXPERIMENT_KEYS = ("name", "out", *RUN_KEYS, *AXES, "seeds")


# --------------------------------------------------------------------------- #
# dicts <-> dataclasses, merging
# --------------------------------------------------------------------------- #


class ConfigKeyError(NNBenchError):
    """An error about one configuration key (``key``), located in a file when read from one."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


def _check_keys(d: Mapping[str, Any], valid: Sequence[str], what: str) -> None:
    for k in d:
        if k not in valid:
            close = difflib.get_close_matches(str(k), list(valid), n=1, cutoff=0.5)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise ConfigKeyError(
                str(k), f"unknown {what} key '{k}'{hint} valid: {', '.join(sorted(valid))}")


def _type_error(key: str, want: str, value: Any) -> ConfigKeyError:
    return ConfigKeyError(key, f"{key} must be {want}, got {value!r}")


def _coerce(key: str, value: Any) -> Any:
    """``value`` checked (and lightly converted) for field ``key``."""
    if value is None:
        if key in _DICT_FIELDS:
            return {}
        return None
    if key in _STR_FIELDS:
        if not isinstance(value, str):
            raise _type_error(key, "a string", value)
        return value
    if key in _BOOL_FIELDS:
        if not isinstance(value, bool):
            raise _type_error(key, "true or false", value)
        return value
    if key in _INT_FIELDS:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
            raise _type_error(key, "an integer", value)
        return int(value)
    if key in _FLOAT_FIELDS:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _type_error(key, "a number", value)
        return float(value)
    if key == "batch_size":
        if value == FULL_BATCH:
            return FULL_BATCH
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
            raise _type_error(key, f"an integer or '{FULL_BATCH}'", value)
        return int(value)
    if key in _DICT_FIELDS:
        if not isinstance(value, Mapping):
            raise _type_error(key, "a table of NAME = VALUE", value)
        return {str(k): (tuple(v) if isinstance(v, list) else v) for k, v in value.items()}
    return value


def _coerce_axis(axis: str, values: Any) -> list[Any]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise ConfigKeyError(axis, f"{axis} must be a list, got {values!r}")
    if len(values) == 0:
        raise ConfigKeyError(axis, f"{axis} is empty; give at least one value")
    base = AXES[axis]
    out = [_coerce(base, v) for v in values]
    if any(v is None for v in out):
        raise ConfigKeyError(axis, f"{axis} must not contain empty values, got {values!r}")
    seen = set()
    for v in out:
        if v in seen:
            raise ConfigKeyError(axis, f"{axis} lists {v!r} twice; give each value once")
        seen.add(v)
    return out


def experiment_from_dict(d: Mapping[str, Any]) -> ExperimentConfig:
    """An :class:`ExperimentConfig` from flat keys (the TOML/command-line names)."""
    _check_keys(d, EXPERIMENT_KEYS, "experiment")
    exp = ExperimentConfig()
    return merge(exp, d)


def experiment_to_dict(exp: ExperimentConfig) -> dict[str, Any]:
    """Flat keys of ``exp`` (``None`` values left out), the inverse of
    :func:`experiment_from_dict`."""
    d: dict[str, Any] = {"name": exp.name, "out": exp.out}
    d.update(exp.base.to_dict())
    d.pop("run_id", None)
    for axis in AXES:
        d[axis] = getattr(exp, axis)
    d["seeds"] = exp.seeds
    return {k: v for k, v in d.items() if v is not None}


def check_name(name: str) -> str:
    """An experiment's name becomes a directory name under ``results/``: no path
    separator and no ``..``."""
    if "/" in name or "\\" in name or ".." in name or name != name.strip():
        raise NNBenchError(f"name {name!r} must be a plain name (no '/', '\\', '..' or "
                           "surrounding spaces): it names a directory under results/")
    return name


def check_out_dir(out: str | Path) -> str | Path:
    """A results directory given by the user: an empty or blank one is an error (it would
    mean the current directory)."""
    if isinstance(out, str) and not out.strip():
        raise NNBenchError("the results directory (--out) is empty; give a directory, "
                           "e.g. --out results/mine")
    return out


def merge(file_config: ExperimentConfig, overrides: Mapping[str, Any]) -> ExperimentConfig:
    """``file_config`` with the flat ``overrides`` applied (``None`` values are skipped).

    A base field and its axis exclude each other: setting ``optim`` clears
    ``optims`` and setting ``optims`` clears ``optim`` (likewise ``lr``/``lrs``,
    ``act``/``acts``, ...). ``hp``, ``schedule_kw`` and ``task_kw`` are updated
    key by key.
    """
    _check_keys(overrides, EXPERIMENT_KEYS, "experiment")
    base = replace(file_config.base, hp=dict(file_config.base.hp),
                   schedule_kw=dict(file_config.base.schedule_kw),
                   task_kw=dict(file_config.base.task_kw))
    exp = replace(file_config, base=base)
    axis_of = {b: a for a, b in AXES.items()}
    for key, value in overrides.items():
        if value is None:
            continue
        if key in ("name", "out"):
            if not isinstance(value, str):
                raise _type_error(key, "a string", value)
            try:
                (check_name if key == "name" else check_out_dir)(value)
            except NNBenchError as err:
                raise ConfigKeyError(key, str(err)) from None
            setattr(exp, key, value)
        elif key == "seeds":
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigKeyError(key, f"seeds must be an integer >= 1, got {value!r}")
            exp.seeds = value
        elif key in AXES:
            setattr(exp, key, _coerce_axis(key, value))
            setattr(exp.base, AXES[key], None)
        elif key in _DICT_FIELDS:
            getattr(exp.base, key).update(_coerce(key, value))
        else:
            setattr(exp.base, key, _coerce(key, value))
            if key in axis_of:
                setattr(exp, axis_of[key], None)
    return exp


# --------------------------------------------------------------------------- #
# expansion and run ids
# --------------------------------------------------------------------------- #


def _id_part(axis: str, value: Any) -> str:
    base = AXES[axis]
    if base == "lr":
        text = f"lr{float(value)!r}"
    elif base == "depth":
        text = f"d{value}"
    elif base == "width":
        text = f"w{value}"
    elif base == "batch_size":
        text = f"b{value}"
    elif base == "init":
        text = f"init-{value}"
    elif base == "schedule":
        text = f"sched-{value}"
    else:
        text = str(value)
    return re.sub(r"[^A-Za-z0-9._+-]", "_", text)


def varying_axes(exp: ExperimentConfig) -> list[str]:
    """The axes of ``exp`` with more than one value, in expansion order."""
    return [a for a in AXES if getattr(exp, a) is not None and len(getattr(exp, a)) > 1]


def expand(exp: ExperimentConfig) -> list[RunConfig]:
    """Every run of the grid, in a deterministic order, each with its ``run_id``.

    Order: ``optims``, ``lrs``, ``acts``, ``depths``, ``widths``, ``inits``,
    ``batch_sizes``, ``schedules``, ``models``, ``losses`` (outer to inner), then the
    seeds. The run id joins the values of the axes with more than one value and ``s<seed>``:
    ``adam-lr0.005-s0``, ``relu-d4-s2``. Runs are not resolved (see :func:`resolve`).
    """
    if isinstance(exp.seeds, bool) or not isinstance(exp.seeds, int) or exp.seeds < 1:
        raise NNBenchError(f"seeds must be an integer >= 1, got {exp.seeds!r}")
    check_int("seed", exp.base.seed, 0)
    axes = [a for a in AXES if getattr(exp, a) is not None]
    for a in axes:
        _coerce_axis(a, getattr(exp, a))
    vary = set(varying_axes(exp))
    runs: list[RunConfig] = []
    for combo in itertools.product(*(getattr(exp, a) for a in axes)):
        changes = {AXES[a]: v for a, v in zip(axes, combo, strict=True)}
        parts = [_id_part(a, v) for a, v in zip(axes, combo, strict=True) if a in vary]
        for k in range(exp.seeds):
            seed = exp.base.seed + k
            run_id = "-".join([*parts, f"s{seed}"])
            runs.append(replace(exp.base, **changes, seed=seed, run_id=run_id,
                                hp=dict(exp.base.hp), schedule_kw=dict(exp.base.schedule_kw),
                                task_kw=dict(exp.base.task_kw)))
    ids = [r.run_id for r in runs]
    if len(set(ids)) != len(ids):  # pragma: no cover - axis values are unique
        raise NNBenchError("two runs of the grid got the same run id; make the axis values differ")
    return runs


def group_key(cfg: RunConfig) -> tuple:
    """Runs with equal keys train together as one group: everything but the seed,
    the learning rate and the run id (they become arrays over the runs axis)."""
    d = cfg.to_dict()
    for k in ("seed", "lr", "run_id"):
        d.pop(k)
    return tuple((k, json.dumps(v, sort_keys=True, default=list)) for k, v in d.items())


# --------------------------------------------------------------------------- #
# resolution and validation
# --------------------------------------------------------------------------- #


def parse_hp(items: Sequence[str]) -> dict[str, Any]:
    """``["momentum=0.9", "betas=0.9,0.99", "nesterov=true"]`` -> a dict of values.

    A value is a bool (``true``/``false``), an int, a float, a comma list of
    numbers (a tuple, for ``betas``) or else a string (``base=sgd`` for lookahead).
    """
    out: dict[str, Any] = {}
    for item in items:
        name, sep, text = str(item).partition("=")
        name, text = name.strip(), text.strip()
        if not sep or not name or not text:
            raise NNBenchError(f"--hp must be NAME=VALUE (e.g. momentum=0.9), got {item!r}")
        out[name] = _parse_value(name, text)
    return out


def _parse_value(name: str, text: str) -> Any:
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if "," not in text:
        return _scalar(text)  # a number, or a name (lookahead's base)
    try:
        return tuple(_number(v) for v in text.split(","))
    except ValueError:
        raise NNBenchError(f"--hp {name}: value must be a number, a bool or a comma list of "
                           f"numbers, got {text!r}") from None


def _number(text: str) -> int | float:
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        return float(text)


def _scalar(text: str) -> Any:
    try:
        return _number(text)
    except ValueError:
        return text


def _task_default(task: Any, key: str) -> Any:
    defaults = getattr(task, "defaults", {}) or {}
    if key in defaults:
        return defaults[key]
    if key == "loss":
        return DEFAULT_LOSS.get(getattr(task, "kind", "regression"))
    return FALLBACK.get(key)


def make_task(cfg: RunConfig) -> Any:
    """The task of ``cfg`` built with its ``task_kw`` (and ``data_dir`` when given)."""
    from nnbench.tasks import TASKS, get_task, task_params

    TASKS.get(cfg.task)  # unknown names list the valid ones
    kw = dict(cfg.task_kw)
    if cfg.data_dir is not None and "data_dir" in task_params(cfg.task):
        kw.setdefault("data_dir", cfg.data_dir)  # tasks without files ignore it
    if cfg.start is not None and "start" in task_params(cfg.task):
        kw["start"] = cfg.start  # landscapes take their start point as a parameter
    return get_task(cfg.task, **kw)


def n_train_of(cfg: RunConfig, task: Any) -> int:
    """The number of training samples the run will see (loads the data set)."""
    data = task.load(seed=cfg.data_seed, val_frac=cfg.val_frac, dtype=cfg.dtype)
    return int(len(data.X_train))


def resolve(config: RunConfig, task: Any = None, n_train: int | None = None) -> RunConfig:
    """A fully specified copy of ``config``: every ``None`` filled, every value checked.

    ``task`` is the built task (built from ``config`` when omitted); ``n_train``
    the number of training samples, needed (and loaded when omitted) only to
    turn ``epochs`` into steps. Idempotent. Impossible values raise NNBenchError.
    """
    if task is None:
        task = make_task(config)
    c = replace(config, hp=dict(config.hp), schedule_kw=dict(config.schedule_kw),
                task_kw=dict(config.task_kw))
    kind = getattr(task, "kind", "regression")
    landscape = kind == "landscape"
    if c.model is None:
        c.model = _task_default(task, "model")
    if not landscape:  # a model's own defaults (the perceptron's sgd, its loss) come first
        from nnbench.core.models import model_defaults

        mdef = model_defaults(c.model)
        for key in ("loss", "optim", "init", "batch_size"):
            if getattr(c, key) is None and key in mdef:
                setattr(c, key, mdef[key])
        if c.lr is None and "lr" in mdef and c.optim == mdef.get("optim"):
            c.lr = float(mdef["lr"])
    for key in ("model", "optim", "act", "depth", "width", "init", "loss", "steps",
                "val_frac"):
        if landscape and key in ("act", "depth", "width", "init", "loss"):
            setattr(c, key, None)  # a point on a landscape has no network
        elif getattr(c, key) is None:
            setattr(c, key, _task_default(task, key))
    if c.batch_size is None:
        c.batch_size = _task_default(task, "batch_size")
        if c.batch_size is None:
            c.batch_size = FULL_BATCH
    if c.lr is None:
        defaults = getattr(task, "defaults", {}) or {}
        if defaults.get("lr") is not None and defaults.get("optim") == c.optim:
            c.lr = float(defaults["lr"])
        else:
            from nnbench.core.optimizers import OPTIMIZERS

            c.lr = float(OPTIMIZERS.get(c.optim).defaults["lr"])
    if landscape:
        c.val_frac = 0.0
        if c.epochs is not None:
            raise NNBenchError("epochs apply to data tasks only; give steps for a landscape")
        c.batch_size = FULL_BATCH
    if c.epochs is not None:
        check_int("epochs", c.epochs, 1)
        if n_train is None:
            n_train = n_train_of(c, task)
        b = n_train if c.batch_size == FULL_BATCH else min(int(c.batch_size), n_train)
        c.steps = c.epochs * math.ceil(n_train / b)
    if c.schedule == "cosine" and "T_max" not in c.schedule_kw:
        c.schedule_kw["T_max"] = max(1, int(c.steps) - int(c.warmup_steps))
    if c.log_every is None:  # the task's own (landscapes: every step), else ~500 points
        c.log_every = _task_default(task, "log_every")
    if c.log_every is None:
        c.log_every = max(1, int(c.steps) // 500) if isinstance(c.steps, int) else None
    if c.eval_every is None:
        c.eval_every = c.log_every
    validate(c, task)
    return c


def validate(c: RunConfig, task: Any = None) -> None:
    """Raise NNBenchError (one line) on the first impossible value of a resolved config."""
    from nnbench.core.activations import ACTIVATIONS
    from nnbench.core.init import INITS
    from nnbench.core.losses import LOSSES
    from nnbench.core.optimizers import OPTIMIZERS
    from nnbench.core.schedules import SCHEDULES, schedule

    kind = getattr(task, "kind", "regression")
    check_int("steps", c.steps, 1)
    check_positive("lr", c.lr)
    if c.dtype not in ("float32", "float64"):
        raise NNBenchError(f"dtype must be 'float32' or 'float64', got {c.dtype!r}")
    check_int("seed", c.seed, 0)
    check_int("data_seed", c.data_seed, 0)
    check_int("log_every", c.log_every, 1)
    check_int("eval_every", c.eval_every, 1)
    check_int("warmup_steps", c.warmup_steps, 0)
    check_range("val_frac", c.val_frac, 0.0, 1.0, high_open=True)
    if c.batch_size != FULL_BATCH:
        check_int("batch_size", c.batch_size, 1)
    if c.patience is not None:
        check_int("patience", c.patience, 1)
        if kind != "landscape" and not c.val_frac:
            raise NNBenchError("patience needs a validation set: give val_frac > 0 "
                               "(e.g. --val-frac 0.2)")
    if c.clip is not None:
        check_positive("clip", c.clip)
    if c.target is not None and not math.isfinite(c.target):
        raise NNBenchError(f"target must be a finite number, got {c.target!r}")
    from nnbench.core.optimizers import hyperparameter_names

    OPTIMIZERS.get(c.optim)
    base = c.hp.get("base") if isinstance(c.hp.get("base"), str) else None
    names = hyperparameter_names(c.optim, base)
    for k in c.hp:
        if k == "lr":
            raise NNBenchError("give the learning rate as lr (--lr), not as an hp")
        if k not in names:
            valid = [n for n in names if n != "lr"]
            close = difflib.get_close_matches(k, valid, n=1, cutoff=0.5)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise NNBenchError(f"unknown hyperparameter '{k}' for optimizer '{c.optim}'{hint} "
                               f"valid: {', '.join(valid) or '(none)'}")
    from nnbench.core.optimizers import optimizer

    optimizer(c.optim, lr=c.lr, **c.hp)  # checks the values
    SCHEDULES.get(c.schedule)
    schedule(c.schedule, warmup_steps=c.warmup_steps, **c.schedule_kw)  # checks the values
    if kind == "landscape":
        if c.start is not None:
            from nnbench.tasks.landscapes import parse_start

            parse_start(c.start)
        given = [k for k in ("l2", "dropout", "binary", "pieces") if getattr(c, k)]
        if given:
            raise NNBenchError(f"{given[0]} applies to networks trained on data; task "
                               f"'{c.task}' is a landscape (a point, no weights)")
        return
    if c.start is not None:
        raise NNBenchError("start applies to landscape tasks only")
    LOSSES.get(c.loss)
    if c.model == "mlp":
        check_int("depth", c.depth, 0)
        check_int("width", c.width, 1)
        if c.depth == 0 and c.act != "identity":
            raise NNBenchError("depth must be >= 1: an mlp needs at least one hidden layer "
                               "(depth 0 is a linear model; give act 'identity' for it)")
        if c.depth > 0 and c.act != "maxout":
            ACTIVATIONS.get(c.act)
        INITS.get(c.init)
    else:
        from nnbench.engine import model_names

        if c.model not in model_names():
            from nnbench.core.errors import UnknownNameError

            raise UnknownNameError("model", c.model, model_names())
        check_int("depth", c.depth, 0)
        check_int("width", c.width, 1)
    from nnbench.core.models import check_options

    check_options(c, kind)


def resolve_experiment(exp: ExperimentConfig) -> tuple[ExperimentConfig, list[RunConfig]]:
    """The experiment with every base value that is common to all its runs filled in,
    and its resolved runs (``run_id`` kept). Builds the task and counts the data once."""
    runs = expand(exp)
    task = make_task(exp.base)
    n_train = None
    if any(r.epochs is not None for r in runs) and getattr(task, "kind", "") != "landscape":
        n_train = n_train_of(replace(exp.base, val_frac=resolve_val_frac(exp.base, task)), task)
    resolved = [resolve(r, task, n_train) for r in runs]
    base = replace(exp.base, hp=dict(exp.base.hp), schedule_kw=dict(exp.base.schedule_kw),
                   task_kw=dict(exp.base.task_kw))
    covered = {AXES[a] for a in AXES if getattr(exp, a) is not None}
    for f in fields(RunConfig):
        k = f.name
        if k in covered or k in ("seed", "run_id", "steps") or getattr(base, k) is not None:
            continue
        values = {json.dumps(getattr(r, k), sort_keys=True, default=list) for r in resolved}
        if len(values) == 1:
            setattr(base, k, getattr(resolved[0], k))
    if base.epochs is None:
        base.steps = resolved[0].steps
    out = replace(exp, base=base)
    return out, resolved


def resolve_val_frac(c: RunConfig, task: Any) -> float:
    return c.val_frac if c.val_frac is not None else (_task_default(task, "val_frac") or 0.0)


# --------------------------------------------------------------------------- #
# TOML
# --------------------------------------------------------------------------- #


def _line_of(text: str, key: str) -> int | None:
    pat = re.compile(r'^\s*(?:"?' + re.escape(key) + r'"?)\s*=')
    for i, line in enumerate(text.splitlines(), 1):
        if pat.match(line):
            return i
    head = re.compile(r"^\s*\[\s*" + re.escape(key) + r"\s*\]")
    for i, line in enumerate(text.splitlines(), 1):
        if head.match(line):
            return i
    return None


def parse_toml(text: str, source: str = "<string>") -> dict[str, Any]:
    """TOML text as a dict (tomllib, or its backport tomli on Python 3.10); malformed text
    raises NNBenchError naming ``source`` and the line."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        msg = str(e)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        where = f"{source}:{m.group(1)}" if m else source
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", msg)
        raise NNBenchError(f"{where}: malformed TOML: {msg}") from None


def loads_toml(text: str, source: str = "<string>") -> ExperimentConfig:
    """Parse an experiment from TOML text; ``source`` names it in error messages."""
    data = parse_toml(text, source)
    try:
        return experiment_from_dict(data)
    except ConfigKeyError as e:
        line = _line_of(text, e.key)
        where = f"{source}:{line}" if line else source
        raise NNBenchError(f"{where}: {e}") from None


def load_toml(path: str | Path) -> ExperimentConfig:
    """Read an experiment from a TOML file (same keys as the command-line options)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NNBenchError(f"config file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as e:
        raise NNBenchError(f"cannot read config file {path}: {e}") from None
    return loads_toml(text, str(path))


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_key(k: str) -> str:
    return k if _BARE_KEY.match(k) else json.dumps(k)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{" + ", ".join(f"{_toml_key(str(k))} = {_toml_value(x)}"
                               for k, x in v.items()) + "}"
    if hasattr(v, "item"):  # numpy scalars
        return _toml_value(v.item())
    raise NNBenchError(f"cannot write {v!r} ({type(v).__name__}) to TOML")


def to_toml(data: Mapping[str, Any]) -> str:
    """A small TOML writer: strings, numbers, bools, arrays and (nested) tables.

    Scalars and arrays first, then one ``[table]`` per mapping value.
    """
    lines: list[str] = []
    tables: list[tuple[str, Mapping[str, Any]]] = []

    def emit(prefix: str, d: Mapping[str, Any]) -> None:
        for k, v in d.items():
            if v is None:
                continue
            if isinstance(v, Mapping):
                tables.append((f"{prefix}{_toml_key(str(k))}", v))
            else:
                lines.append(f"{_toml_key(str(k))} = {_toml_value(v)}")

    emit("", data)
    while tables:
        name, d = tables.pop(0)
        lines.append("")
        lines.append(f"[{name}]")
        before = len(tables)
        emit(f"{name}.", d)
        # nested tables of this one come right after it
        tables[:] = tables[before:] + tables[:before]
    return "\n".join(lines) + "\n"


def dump_toml(exp: ExperimentConfig) -> str:
    """The experiment as TOML; :func:`loads_toml` reads it back into the same runs.

    ``out`` is left out (a repeat writes to a new directory); empty tables too.
    """
    d = experiment_to_dict(exp)
    d.pop("out", None)
    if not d.get("name"):
        d.pop("name", None)
    for k in _DICT_FIELDS:
        if not d.get(k):
            d.pop(k, None)
    head = "# nnbench experiment: nnbench compare --config THIS_FILE repeats it\n"
    return head + to_toml(d)
