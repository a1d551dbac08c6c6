"""Run and experiment configuration: the dataclasses, merging, grid expansion, TOML files.

A :class:`RunConfig` describes one training run; its fields, their types and defaults are
declared once in :mod:`nnbench.schema` (:class:`~nnbench.schema.RunFields`) and carry the
names of the command-line options (``--optim`` is ``optim``, ``--batch-size`` is
``batch_size``); ``None`` means "the task's default", and :func:`nnbench.resolve.resolve`
turns a config into a fully specified one.

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

import difflib
import itertools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from nnbench.core.errors import NNBenchError, check_int
from nnbench.resolve import resolve, resolve_val_frac
from nnbench.schema import (
    AXES,
    DICT_FIELDS,
    EXPERIMENT_KEYS,
    FULL_BATCH,
    RUN_KEYS,
    TUNABLE,
    TUNE_KEYS,
    RunFields,
    field_kind,
)
from nnbench.schema import group_key as group_key  # where the experiment layer finds it
from nnbench.tasks.build import make_task, n_train_of, task_key
from nnbench.toml import line_of, parse_toml, to_toml
from nnbench.tune import check as check_tuning
from nnbench.tune import search_runs


@dataclass
class RunConfig(RunFields):
    """One training run: the fields of :class:`~nnbench.schema.RunFields`, read from plain
    data with every value checked against its declared type (:meth:`from_dict`)."""

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RunConfig:
        """The inverse of :meth:`to_dict`; unknown keys raise NNBenchError."""
        _check_keys(d, (*RUN_KEYS, "run_id"), "run configuration")
        return cls(**{k: _coerce(k, v) for k, v in d.items()})


@dataclass
class ExperimentConfig:
    """A grid of runs: a base :class:`RunConfig` and axes (``None`` = not an axis).

    ``seeds`` is the number of seeds per cell, ``base.seed .. base.seed + seeds - 1``, or
    the list of the seeds themselves (``[0, 3, 7]``; ``base.seed`` then plays no part).
    ``out`` is the results directory (default ``results/<name>/<UTC timestamp>``).
    ``plugins`` are the plugin files (:mod:`nnbench.plugins`) that register names the runs
    use, relative to the current directory.
    """

    name: str = ""
    out: str | None = None
    base: RunConfig = field(default_factory=RunConfig)
    tasks: list[str] | None = None
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
    forms: list[str] | None = None
    budgets: list[int] | None = None
    degrees: list[int] | None = None
    standardizes: list[bool] | None = None
    l2s: list[float] | None = None
    dropouts: list[float] | None = None
    data_seeds: list[int] | None = None
    residuals: list[bool] | None = None
    seeds: int | list[int] = 3
    tune: str | None = None
    budget: int | None = None
    final_seeds: int | None = None
    lr_range: list[float] | None = None
    plugins: list[str] | None = None

    def seed_values(self) -> list[int]:
        """The seeds of every cell, in order."""
        seeds = check_seeds(self.seeds)
        if isinstance(seeds, list):
            return seeds
        start = check_int("seed", self.base.seed, 0)
        return list(range(start, start + seeds))

    @property
    def label(self) -> str:
        """The experiment's name, or the task's (the tasks' joined by ``+``) when it has
        none."""
        return self.name or self.base.task or "+".join(self.tasks or ["tasks"])


# --------------------------------------------------------------------------- #
# dicts <-> dataclasses, merging
# --------------------------------------------------------------------------- #


class ConfigKeyError(NNBenchError):
    """An error about one configuration key (``key``), located in a file when read from one."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


def _check_keys(d: Mapping[str, Any], valid: Sequence[str], what: str) -> None:
    """Raise :class:`ConfigKeyError` on the first key of ``d`` not in ``valid``, naming the
    closest valid one."""
    for k in d:
        if k not in valid:
            close = difflib.get_close_matches(str(k), list(valid), n=1, cutoff=0.5)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise ConfigKeyError(
                str(k), f"unknown {what} key '{k}'{hint} valid: {', '.join(sorted(valid))}")


def _type_error(key: str, want: str, value: Any) -> ConfigKeyError:
    return ConfigKeyError(key, f"{key} must be {want}, got {value!r}")


# field name -> how its values are checked (from the types declared in nnbench.schema)
_KINDS: dict[str, str] = {name: field_kind(name) for name in (*RUN_KEYS, "run_id")}


def _coerce(key: str, value: Any) -> Any:
    """``value`` checked (and lightly converted) for field ``key``, by the kind of its
    declared type."""
    kind = _KINDS.get(key)
    if key == "binary" and isinstance(value, bool):  # files from before the modes
        value = "weights" if value else None
    if value is None:
        if kind == "dict":
            return {}
        return None
    if kind == "str":
        if not isinstance(value, str):
            raise _type_error(key, "a string", value)
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise _type_error(key, "true or false", value)
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
            raise _type_error(key, "an integer", value)
        return int(value)
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _type_error(key, "a number", value)
        return float(value)
    if kind == "batch":
        if value == FULL_BATCH:
            return FULL_BATCH
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
            raise _type_error(key, f"an integer or '{FULL_BATCH}'", value)
        return int(value)
    if kind == "dict":
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


def check_conflicts(d: Mapping[str, Any]) -> None:
    """Keys of one source (a file, the flags) that contradict each other: a base field and
    its axis (``optim`` and ``optims``), ``steps`` and ``epochs``. ``None`` is not given."""
    given = {k for k, v in d.items() if v is not None}
    for axis, field_name in AXES.items():
        if axis in given and field_name in given:
            raise ConfigKeyError(axis, f"{field_name} and {axis} both given: give one value "
                                       "or a list, not both")
    if "seed" in given and isinstance(d.get("seeds"), (list, tuple)):
        raise ConfigKeyError("seeds", "seed and a list of seeds both given: the list names "
                                      "the seeds (give seed with a count of seeds)")
    if "steps" in given and "epochs" in given:
        raise ConfigKeyError("epochs", "steps and epochs both given: give one (epochs set the "
                                       "steps from the size of the training set)")


def check_seeds(value: Any) -> int | list[int]:
    """``seeds``: a count >= 1, or a non-empty list of distinct integers >= 0."""
    if isinstance(value, (list, tuple)):
        if not value:
            raise NNBenchError("seeds is an empty list; give a count or at least one seed")
        out = []
        for v in value:
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise NNBenchError(f"seeds must be integers >= 0, got {v!r}")
            if v in out:
                raise NNBenchError(f"seeds lists {v} twice; give each seed once")
            out.append(v)
        return out
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise NNBenchError(f"seeds must be an integer >= 1 or a list of seeds, got {value!r}")
    return value


def check_tune_key(key: str, value: Any) -> Any:
    """A value of a tuning key: ``tune`` one of :data:`~nnbench.schema.TUNABLE`,
    ``budget`` and ``final_seeds`` integers >= 1, ``lr_range`` two numbers
    ``0 < LO < HI``."""
    if key == "tune":
        if value not in TUNABLE:
            raise NNBenchError(f"tune must be one of {', '.join(TUNABLE)}, got {value!r}")
        return value
    if key in ("budget", "final_seeds"):
        return check_int(key, value, 1)
    ok = (isinstance(value, (list, tuple)) and len(value) == 2
          and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value))
    if not ok or not 0 < value[0] < value[1] < float("inf"):
        raise NNBenchError(f"lr_range must be two numbers 0 < LO < HI, e.g. 1e-4,1, got "
                           f"{value!r}")
    return [float(value[0]), float(value[1])]


def experiment_to_dict(exp: ExperimentConfig) -> dict[str, Any]:
    """Flat keys of ``exp`` (``None`` values left out), the inverse of
    :func:`experiment_from_dict`."""
    d: dict[str, Any] = {"name": exp.name, "out": exp.out}
    d.update(exp.base.to_dict())
    d.pop("run_id", None)
    for axis in AXES:
        d[axis] = getattr(exp, axis)
    d["seeds"] = list(exp.seeds) if isinstance(exp.seeds, (list, tuple)) else exp.seeds
    for key in TUNE_KEYS:
        d[key] = getattr(exp, key)
    d["plugins"] = list(exp.plugins) if exp.plugins else None
    if isinstance(exp.seeds, (list, tuple)):
        d.pop("seed", None)  # the list is the seeds
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
    ``act``/``acts``, ...); so do ``steps`` and ``epochs``. Both of a pair in
    ``overrides`` is an error (:func:`check_conflicts`). ``hp``, ``schedule_kw`` and
    ``task_kw`` are updated key by key.
    """
    _check_keys(overrides, EXPERIMENT_KEYS, "experiment")
    check_conflicts(overrides)
    base = replace(file_config.base, hp=dict(file_config.base.hp),
                   schedule_kw=dict(file_config.base.schedule_kw),
                   task_kw=dict(file_config.base.task_kw),
                   threshold=dict(file_config.base.threshold))
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
        elif key == "plugins":  # a file's and the flags' together, each once
            if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) \
                    or not all(isinstance(v, str) and v.strip() for v in value):
                raise ConfigKeyError(key, f"plugins must be a list of file paths, got {value!r}")
            exp.plugins = list(dict.fromkeys([*(exp.plugins or []), *value])) or None
        elif key == "seeds":
            try:
                exp.seeds = check_seeds(value)
            except NNBenchError as err:
                raise ConfigKeyError(key, str(err)) from None
        elif key in TUNE_KEYS:
            try:
                setattr(exp, key, check_tune_key(key, value))
            except NNBenchError as err:
                raise ConfigKeyError(key, str(err)) from None
        elif key in AXES:
            setattr(exp, key, _coerce_axis(key, value))
            setattr(exp.base, AXES[key], None)
        elif key in DICT_FIELDS:
            getattr(exp.base, key).update(_coerce(key, value))
        else:
            setattr(exp.base, key, _coerce(key, value))
            if key in axis_of:
                setattr(exp, axis_of[key], None)
            if key in ("steps", "epochs"):  # one replaces the other
                setattr(exp.base, "epochs" if key == "steps" else "steps", None)
    if overrides.get("seed") is not None and isinstance(exp.seeds, list):
        raise ConfigKeyError("seed", "seed and a list of seeds both given: the list names "
                                     "the seeds (give seed with a count of seeds)")
    return exp


# --------------------------------------------------------------------------- #
# expansion and run ids
# --------------------------------------------------------------------------- #


#: the prefix of an axis's value in a run id (the other axes give the value alone)
ID_PREFIX = {"depth": "d", "width": "w", "batch_size": "b", "init": "init-",
             "schedule": "sched-", "form": "form-", "params": "p", "degree": "deg",
             "l2": "l2-", "dropout": "dropout-", "data_seed": "data",
             "residual": "residual-"}
#: the run-id text of a boolean axis's values (``standardizes``: ``std``, ``raw``)
ID_BOOL = {"standardize": ("raw", "std")}


def _id_part(axis: str, value: Any) -> str:
    base = AXES[axis]
    if base in ID_BOOL:
        return ID_BOOL[base][bool(value)]
    text = f"lr{float(value)!r}" if base == "lr" else f"{ID_PREFIX.get(base, '')}{value}"
    return re.sub(r"[^A-Za-z0-9._+-]", "_", text)


def varying_axes(exp: ExperimentConfig) -> list[str]:
    """The axes of ``exp`` with more than one value, in expansion order."""
    return [a for a in AXES if getattr(exp, a) is not None and len(getattr(exp, a)) > 1]


def expand(exp: ExperimentConfig) -> list[RunConfig]:
    """Every run of the grid, in a deterministic order, each with its ``run_id``; for a
    tuned experiment (``tune``), the trials of its search (:func:`nnbench.tune.search_runs`).

    Order: ``optims``, ``lrs``, ``acts``, ``depths``, ``widths``, ``inits``,
    ``batch_sizes``, ``schedules``, ``models``, ``losses`` (outer to inner), then the
    seeds. The run id joins the values of the axes with more than one value and ``s<seed>``:
    ``adam-lr0.005-s0``, ``relu-d4-s2``. Runs are not resolved (see :func:`resolve`).
    """
    seeds = exp.seed_values()
    axes = [a for a in AXES if getattr(exp, a) is not None]
    for a in axes:
        _coerce_axis(a, getattr(exp, a))
    vary = set(varying_axes(exp))
    combos = []
    for combo in itertools.product(*(getattr(exp, a) for a in axes)):
        changes = {AXES[a]: v for a, v in zip(axes, combo, strict=True)}
        parts = [_id_part(a, v) for a, v in zip(axes, combo, strict=True) if a in vary]
        combos.append((changes, parts))
    if exp.tune is not None:
        return _unique(search_runs(exp, combos, lambda cfg: cfg.optim or resolve(cfg).optim))
    tune_check(exp)
    runs: list[RunConfig] = []
    for changes, parts in combos:
        for seed in seeds:
            run_id = "-".join([*parts, f"s{seed}"])
            runs.append(replace(exp.base, **changes, seed=seed, run_id=run_id,
                                hp=dict(exp.base.hp), schedule_kw=dict(exp.base.schedule_kw),
                                task_kw=dict(exp.base.task_kw),
                                threshold=dict(exp.base.threshold)))
    return _unique(runs)


def _unique(runs: list[RunConfig]) -> list[RunConfig]:
    ids = [r.run_id for r in runs]
    if len(set(ids)) != len(ids):  # pragma: no cover - axis values are unique
        raise NNBenchError("two runs of the grid got the same run id; make the axis values differ")
    return runs


def tune_check(exp: ExperimentConfig) -> None:
    """The tuning keys of ``exp`` make sense together (:func:`nnbench.tune.check`)."""
    check_tuning(exp)


def resolve_runs(runs: Sequence[RunConfig]) -> list[RunConfig]:
    """``runs`` resolved (:func:`nnbench.resolve.resolve`), each task built, and its
    training set counted (for ``epochs``), once."""
    tasks: dict[str, tuple[Any, int | None]] = {}  # one per distinct data (a degree axis
    out = []                                        # changes it)
    for r in runs:
        key = task_key(r)
        if key not in tasks:
            task = make_task(r)
            n_train = None
            if r.epochs is not None and getattr(task, "kind", "") != "landscape":
                n_train = n_train_of(replace(r, val_frac=resolve_val_frac(r, task)), task)
            tasks[key] = (task, n_train)
        out.append(resolve(r, *tasks[key]))
    return out


def resolve_experiment(exp: ExperimentConfig) -> tuple[ExperimentConfig, list[RunConfig]]:
    """The experiment with every base value that is common to all its runs filled in,
    and its resolved runs (``run_id`` kept). Builds the task and counts the data once."""
    runs = expand(exp)
    resolved = resolve_runs(runs)
    base = replace(exp.base, hp=dict(exp.base.hp), schedule_kw=dict(exp.base.schedule_kw),
                   task_kw=dict(exp.base.task_kw), threshold=dict(exp.base.threshold))
    covered = {AXES[a] for a in AXES if getattr(exp, a) is not None}
    for f in fields(RunConfig):
        k = f.name
        if k in covered or k in ("seed", "run_id", "steps") or getattr(base, k) is not None \
                or (k == "lr" and exp.tune is not None):  # the tuning draws the rates
            continue
        values = {json.dumps(getattr(r, k), sort_keys=True, default=list) for r in resolved}
        if len(values) == 1:
            setattr(base, k, getattr(resolved[0], k))
    if base.epochs is None and len({r.steps for r in resolved}) == 1:
        base.steps = resolved[0].steps  # else each run's own default (a set model's 1)
    out = replace(exp, base=base)
    return out, resolved



# --------------------------------------------------------------------------- #
# TOML files
# --------------------------------------------------------------------------- #


def loads_toml(text: str, source: str = "<string>") -> ExperimentConfig:
    """Parse an experiment from TOML text; ``source`` names it in error messages."""
    data = parse_toml(text, source)
    try:
        return experiment_from_dict(data)
    except ConfigKeyError as e:
        line = line_of(text, e.key)
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


def dump_toml(exp: ExperimentConfig) -> str:
    """The experiment as TOML; :func:`loads_toml` reads it back into the same runs.

    ``out`` is left out (a repeat writes to a new directory); empty tables too.
    """
    d = experiment_to_dict(exp)
    d.pop("out", None)
    if not d.get("name"):
        d.pop("name", None)
    for k in DICT_FIELDS:
        if not d.get(k):
            d.pop(k, None)
    head = "# nnbench experiment: nnbench compare --config THIS_FILE repeats it\n"
    return head + to_toml(d)
