"""Reading a results directory: :func:`load_results`, the one reader that show, plot,
report, prune and resume use, and what it checks."""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnbench.config import RunConfig, load_toml, resolve_experiment, resolve_runs
from nnbench.core.errors import NNBenchError
from nnbench.schema import COLUMN_ALIASES, CSV_NAMES, RUN_KEYS
from nnbench.store.files import (
    CONFIG,
    LAYERS,
    META,
    METRICS,
    RUNS,
    WEIGHTS,
    damaged,
    load_meta,
    read_csv,
    warn_once,
)
from nnbench.tune import final_runs

# --------------------------------------------------------------------------- #


@dataclass
class Results:
    """The tables and files of a results directory, read by :func:`load_results`.

    ``runs``, ``metrics`` and ``layers`` are DataFrames (empty when the file is missing
    or empty), ``run_id`` read as text everywhere; ``config`` is the experiment of
    ``config.toml`` (an :class:`~nnbench.config.ExperimentConfig`, ``None`` if the file
    is missing); ``meta`` the dict of ``meta.json``.
    """

    path: Path
    runs: Any
    metrics: Any
    layers: Any
    config: Any = None
    meta: dict[str, Any] = field(default_factory=dict)

    def col(self, name: str) -> str | None:
        """The runs.csv column holding config field ``name`` (``optimizer`` or ``optim``),
        ``None`` when there is none."""
        for c in COLUMN_ALIASES.get(name, (name,)):
            if c in self.runs.columns:
                return c
        return None

    @property
    def title(self) -> str:
        """The experiment's name: the config's ``name``, else the directory's name."""
        name = self.config.name if self.config is not None else ""
        return str(name or self.path.name)

    def weights(self, run_id: str) -> list[Any]:
        """The saved weights of a run, ``[p0, p1, ...]`` (raises NNBenchError if absent)."""
        import numpy as np

        f = self.path / WEIGHTS / f"{run_id}.npz"
        if not f.is_file():
            raise NNBenchError(f"no weights for run '{run_id}' in {self.path / WEIGHTS}")
        try:
            with np.load(f, allow_pickle=False) as z:
                return [z[f"p{i}"] for i in range(len(z.files))]
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as e:
            raise damaged(f, f"it is not a weights file nnbench wrote ({e})") from None


_JSON_FIELDS = ("hp", "schedule_kw", "task_kw", "threshold")
_BOOL_FIELDS = ("standardize", "residual", "shuffle")


def _cell_value(key: str, value: Any) -> Any:
    """One runs.csv cell as the RunConfig field ``key`` holds it: empty -> None, the
    JSON of a table decoded, NumPy scalars as Python ones."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if hasattr(value, "item"):  # a NumPy scalar
        value = value.item()
    if key in _JSON_FIELDS and isinstance(value, str):
        return json.loads(value) if value.strip() else {}
    if key == "binary":  # True/False in directories written before the modes
        text = str(value)
        return {"True": "weights", "False": None}.get(text, text)
    if key in _BOOL_FIELDS:
        return str(value).lower() == "true"
    if key == "batch_size" and isinstance(value, str) and value.isdigit():
        return int(value)  # a column of sizes and "full" reads as text
    return value


def run_config(row: Any) -> RunConfig:
    """The :class:`~nnbench.config.RunConfig` of a runs.csv row (a pandas Series or a
    dict): every field found under its CSV name, the others at their defaults. A
    directory without ``data_seed`` drew its data from the run's ``seed``."""
    values = {}
    for key in (*RUN_KEYS, "run_id"):
        name = CSV_NAMES.get(key, key)
        if name in row.keys():
            v = _cell_value(key, row[name])
            if v is not None:
                values[key] = v
    if "data_seed" not in values and "seed" in values:
        values["data_seed"] = values["seed"]
    return RunConfig.from_dict(values)


def is_results_dir(path: Path) -> bool:
    """Whether ``path`` holds a ``runs.csv``."""
    return (Path(path) / RUNS).is_file()


def require_results_dir(path: str | Path) -> Path:
    """``path`` as a Path; NNBenchError (with what to give instead) when it holds no
    ``runs.csv``: the message of the commands that read a directory (plot, report)."""
    path = Path(path)
    if not is_results_dir(path):
        raise NNBenchError(f"{path} is not a results directory: no runs.csv in it "
                           "(give the directory an `nnbench run`/`compare` wrote)")
    return path


# runs.csv columns that hold numbers in every directory nnbench writes
_RUN_NUMBERS = ("seed", "steps", "lr", "final_train_loss", "best_train_loss", "steps_done",
                "wall_s")
# what a truncated config.toml changes without failing to parse
_CHECKED = ("task", "optim", "lr", "steps", "seed", "depth", "width", "act", "model")


def _read_table(path: Path, warn: Any = None):
    """metrics.csv or layers.csv, an empty DataFrame when the file is missing; every column
    but ``run_id`` numeric."""
    import pandas as pd

    if not path.is_file():
        return pd.DataFrame()
    return read_csv(path, required=("run_id", "step"), numeric=None, warn=warn)


def metrics_gaps(runs: Any, metrics: Any) -> dict[str, str]:
    """The finished runs of runs.csv whose rows metrics.csv lacks, with what is missing: a
    run ``done`` or ``diverged`` logs step 0, and a run ``done`` (not stopped early) its
    last step, ``steps_done`` (a file cut short loses the rows of the last runs)."""
    if runs.empty or "status" not in runs.columns or "steps_done" not in runs.columns:
        return {}
    last = {} if metrics.empty else metrics.groupby("run_id")["step"].max().to_dict()
    gaps = {}
    for rec in runs.to_dict("records"):
        rid, status = str(rec["run_id"]), rec.get("status")
        if status not in ("done", "diverged"):
            continue
        if rid not in last:
            gaps[rid] = "no rows"
        elif (status == "done" and str(rec.get("stopped_early")).lower() != "true"
              and rec["steps_done"] == rec["steps_done"] and last[rid] < rec["steps_done"]):
            gaps[rid] = f"rows end at step {int(last[rid])} of {int(rec['steps_done'])}"
    return gaps


def gaps_line(path: Path, gaps: dict[str, str]) -> str:
    """One line naming the runs of :func:`metrics_gaps`."""
    shown = "; ".join(f"{rid}: {how}" for rid, how in list(gaps.items())[:4])
    more = f"; and {len(gaps) - 4} more" if len(gaps) > 4 else ""
    return (f"{path} is incomplete for {len(gaps)} finished run{'s' * (len(gaps) > 1)} "
            f"({shown}{more}): cut short? their curves and steps to a target are partial")


def _check_config(path: Path, config: Any, runs: Any) -> None:
    """``config.toml`` must describe the runs of runs.csv: every run in its grid with the
    same task, optimizer, learning rate, steps, ... (a cut or edited file does not)."""
    f = path / CONFIG
    try:
        _, resolved = resolve_experiment(config)
    except NNBenchError as e:
        raise damaged(f, str(e)) from None
    grid = {r.run_id: r for r in resolved}
    records = runs.to_dict("records") if not runs.empty else []
    if getattr(config, "tune", None) is not None:  # the final runs follow from the trials
        rows = {str(rec["run_id"]): rec for rec in records}
        if all(rid in rows for rid in grid):
            grid.update({r.run_id: r for r in resolve_runs(final_runs(config, resolved, rows))})
    for rec in records:
        rid = str(rec["run_id"])
        if rid not in grid:
            raise damaged(f, f"run {rid} of runs.csv is not in its grid (cut short or "
                             "edited?)")
        row = run_config(rec)
        for key in _CHECKED:
            if CSV_NAMES.get(key, key) not in rec:
                continue
            mine, theirs = getattr(grid[rid], key), getattr(row, key)
            if mine != theirs and not (mine is None or theirs is None):
                raise damaged(f, f"run {rid} has {key} {mine!r} in it and {theirs!r} in "
                                 "runs.csv (cut short or edited?)")


def load_results(path: str | Path, *, strict: bool = True, warn: Any = None) -> Results:
    """Read a results directory: every reader (summary, figures, report, prune, resume)
    uses this.

    Raises NNBenchError when it has no runs.csv, and :class:`DamagedResults` (one line:
    which file, how) when runs.csv, metrics.csv or layers.csv is not as nnbench writes it
    (:func:`read_csv`; a last row cut by a crash is dropped with a warning instead) or
    runs.csv names a run twice. Finished runs whose rows metrics.csv lacks are a warning
    (:func:`metrics_gaps`). ``strict``: a ``config.toml`` or ``meta.json`` that does not
    parse or is not an object, or a config whose grid is not that of runs.csv (a line
    lost), is damage; without it the first two are a warning, they read as ``None`` and
    ``{}``, and the grid is not compared, so that figures can still be drawn from the
    CSVs alone. ``warn`` takes each warning line (default: stderr, once).
    """
    path = Path(path)
    warn = warn or warn_once
    if not is_results_dir(path):
        raise NNBenchError(f"{path} is not a nnbench results directory: no runs.csv")
    runs = read_csv(path / RUNS, required=("run_id", "status"), numeric=_RUN_NUMBERS,
                    warn=warn)
    twice = runs["run_id"][runs["run_id"].duplicated()]
    if len(twice):
        raise damaged(path / RUNS, f"run {twice.iloc[0]} has more than one row")
    metrics = _read_table(path / METRICS, warn)
    layers = _read_table(path / LAYERS, warn)
    gaps = metrics_gaps(runs, metrics) if (path / METRICS).is_file() else {}
    if gaps:
        warn(gaps_line(path / METRICS, gaps))

    def lenient(err: NNBenchError) -> None:
        if strict:
            raise err
        warn(f"{err} (left out)")

    config = None
    if (path / CONFIG).is_file():
        try:
            config = load_toml(path / CONFIG)
            if strict:  # what trains or rebuilds from it (resume, prune) needs its grid
                _check_config(path, config, runs)
        except NNBenchError as e:
            config = None
            lenient(e)
    meta: dict[str, Any] = {}
    if (path / META).is_file():
        try:
            meta = load_meta(path)
        except NNBenchError as e:
            lenient(e)
    return Results(path, runs, metrics, layers, config, meta)
