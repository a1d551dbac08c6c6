"""The results directory: tidy CSV tables through pandas, ``config.toml``, ``meta.json``.

One experiment, one directory::

    runs.csv      one row per run: run_id, group, every config field (optimizer,
                  activation, ...), status, final/best losses, accuracies, steps_done,
                  diverged_step, stopped_early, best_step, wall_s
    metrics.csv   one row per logged step of a run (see ``engine.metric_columns``)
    layers.csv    one row per logged step of a layer of a run (``engine.LAYER_COLUMNS``)
    config.toml   the resolved experiment: ``nnbench compare --config`` repeats it
    meta.json     command line, versions, git commit, start and end time (UTC), cores
    weights/      <run_id>.npz: arrays p0, p1, ... in ``params`` order (runs axis of 1)
    figures/      written by ``nnbench.plots``

Rows reach ``metrics.csv`` and ``layers.csv`` as training goes (appended a few
times a second at most, each append one ``write``); every other file is
written whole and atomically (a temporary file in the same directory, then
``os.replace``). When an experiment completes, the two long tables are
rewritten sorted by run (in grid order), step and layer, so that the files do
not depend on how the work was scheduled or resumed.

pandas is imported inside the functions that need it.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from nnbench import __version__
from nnbench.config import RunConfig, load_toml
from nnbench.core.errors import NNBenchError
from nnbench.schema import COLUMN_ALIASES, CSV_NAMES, RUN_KEYS
from nnbench.tasks.cache import new_file_mode

RUNS, METRICS, LAYERS = "runs.csv", "metrics.csv", "layers.csv"
CONFIG, META, WEIGHTS, FIGURES = "config.toml", "meta.json", "weights", "figures"


def utc_now() -> str:
    """The current UTC time, ISO 8601 with seconds (``2026-01-31T12:00:00Z``)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def timestamp() -> str:
    """A filesystem-safe UTC timestamp (``20260131T120000Z``)."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


# --------------------------------------------------------------------------- #
# atomic writes
# --------------------------------------------------------------------------- #


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one,
    never a part: a temporary file in the same directory, flushed, then ``os.replace``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, new_file_mode())  # as a new file under the umask (mkstemp: 0600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """:func:`atomic_write_bytes` of ``text`` in UTF-8."""
    atomic_write_bytes(path, text.encode("utf-8"))


def _csv_text(rows: Sequence[dict] | Any, columns: Sequence[str], header: bool) -> str:
    import pandas as pd

    df = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows), columns=columns)
    return df.to_csv(index=False, header=header, lineterminator="\n")


def read_csv(path: Path):
    """A CSV of the results directory as a DataFrame (floats read back exactly;
    an unfinished last line, left by a crash, is ignored)."""
    import pandas as pd

    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    if not text.strip():
        return pd.DataFrame()
    from io import StringIO

    # pandas >= 3 reads floats back exactly by default (and deprecates the option)
    exact = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
    df = pd.read_csv(StringIO(text), **exact)
    if "run_id" in df.columns:
        df["run_id"] = df["run_id"].astype(str)
    return df


# --------------------------------------------------------------------------- #
# meta.json
# --------------------------------------------------------------------------- #


def git_commit() -> str | None:
    """The commit of the source tree nnbench runs from, if it is a git checkout."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"],
                             capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and commit else None


def make_meta(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Command line, versions of nnbench/numpy/pandas/python, git commit, start time, cores."""
    import numpy as np
    import pandas as pd

    argv = list(sys.argv if argv is None else argv)
    return {
        "command": shlex.join(argv),
        "argv": argv,
        "versions": {"nnbench": __version__, "numpy": np.__version__,
                     "pandas": pd.__version__, "python": platform.python_version()},
        "git_commit": git_commit(),
        "platform": platform.platform(),
        "cores": os.cpu_count(),
        "start_time": utc_now(),
        "end_time": None,
        "resumed": [],
        "status": "running",
    }


# --------------------------------------------------------------------------- #
# what nnbench owns in a results directory
# --------------------------------------------------------------------------- #

# the files nnbench writes at the top of a results directory (prune and report included)
OWNED_FILES = (RUNS, METRICS, LAYERS, CONFIG, META, "prune.csv", "report.md", "report.html")
# the files it writes in its two subdirectories, by suffix
OWNED_SUFFIXES = {WEIGHTS: (".npz",), FIGURES: (".png", ".svg", ".pdf")}


def is_nnbench_dir(path: Path) -> bool:
    """Whether ``path`` holds a ``meta.json`` that nnbench wrote (it names nnbench's
    version): the only kind of directory ``--overwrite`` replaces."""
    try:
        meta = json.loads((Path(path) / META).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    versions = meta.get("versions") if isinstance(meta, dict) else None
    return isinstance(versions, dict) and "nnbench" in versions


def _owned_temp(name: str) -> bool:
    """A temporary file of :func:`atomic_write_bytes` for one of the owned files."""
    return name.startswith(".") and name.endswith(".tmp") and any(
        name.startswith(f".{f}.") for f in OWNED_FILES)


def remove_owned_files(path: Path) -> list[Path]:
    """Remove the files nnbench writes in the results directory ``path`` and return them:
    the files of :data:`OWNED_FILES` (and their temporaries), the weights
    (``weights/*.npz``) and the figures (``figures/*.png|svg|pdf``); a subdirectory is
    removed only when nothing else is left in it. Nothing else is touched."""
    path = Path(path)
    removed = []
    for f in path.iterdir():
        if f.is_file() and not f.is_symlink() and (f.name in OWNED_FILES
                                                   or _owned_temp(f.name)):
            f.unlink()
            removed.append(f)
    for sub, suffixes in OWNED_SUFFIXES.items():
        d = path / sub
        if not d.is_dir() or d.is_symlink():
            continue
        for f in d.iterdir():
            if f.is_file() and not f.is_symlink() and f.suffix in suffixes:
                f.unlink()
                removed.append(f)
        if not any(d.iterdir()):
            d.rmdir()
    return removed


# --------------------------------------------------------------------------- #
# writing
# --------------------------------------------------------------------------- #


class ResultsWriter:
    """Writes one results directory; also the engine's metrics sink (:meth:`write`).

    ``metric_columns`` are the columns of metrics.csv (from
    ``engine.metric_columns(kind)``); ``layer_columns`` those of layers.csv.
    """

    def __init__(self, path: Path, metric_columns: Sequence[str],
                 layer_columns: Sequence[str]):
        self.path = Path(path)
        self.metric_columns = list(metric_columns)
        self.layer_columns = list(layer_columns)

    # -- the directory -----------------------------------------------------------------
    def create(self, overwrite: bool = False, meta: dict[str, Any] | None = None) -> None:
        """Make the directory; an existing non-empty one is an error unless ``overwrite``.

        ``overwrite`` replaces only a directory that nnbench wrote (its ``meta.json`` says
        so) and removes only the files nnbench writes there (:func:`remove_owned_files`);
        anything else in it stays. ``meta`` is written first, so that a directory left by
        a crash is still recognised as nnbench's.
        """
        p = self.path
        if p.exists() and not p.is_dir():
            raise NNBenchError(f"{p} is a file; give a directory for the results")
        if p.is_dir() and any(p.iterdir()):
            if not overwrite:
                raise NNBenchError(f"results directory {p} is not empty; give overwrite "
                                   "(--overwrite) to replace it or another directory")
            if not is_nnbench_dir(p):
                raise NNBenchError(
                    f"{p} is not a results directory nnbench wrote (no nnbench meta.json); "
                    "--overwrite replaces only those: give an empty or new directory")
            remove_owned_files(p)
        p.mkdir(parents=True, exist_ok=True)
        if meta is not None:
            self.write_meta(meta)
        (p / WEIGHTS).mkdir(exist_ok=True)
        self._start_table(METRICS, self.metric_columns)
        self._start_table(LAYERS, self.layer_columns)

    def _start_table(self, name: str, columns: Sequence[str]) -> None:
        atomic_write_text(self.path / name, ",".join(columns) + "\n")

    # -- the sink ----------------------------------------------------------------------
    def write(self, metrics: list[dict], layers: list[dict]) -> None:
        """Append rows to metrics.csv and layers.csv (one ``write`` call per file)."""
        self._append(METRICS, metrics, self.metric_columns)
        self._append(LAYERS, layers, self.layer_columns)

    def _append(self, name: str, rows: list[dict], columns: Sequence[str]) -> None:
        if not rows:
            return
        text = _csv_text(rows, columns, header=False)
        with open(self.path / name, "a", encoding="utf-8") as f:
            f.write(text)
            f.flush()

    # -- whole files -------------------------------------------------------------------
    def write_runs(self, rows: Sequence[dict], columns: Sequence[str]) -> None:
        """runs.csv, whole and atomically."""
        atomic_write_text(self.path / RUNS, _csv_text(rows, columns, header=True))

    def write_config(self, text: str) -> None:
        atomic_write_text(self.path / CONFIG, text)

    def write_meta(self, meta: dict[str, Any]) -> None:
        atomic_write_text(self.path / META, json.dumps(meta, indent=2) + "\n")

    def read_meta(self) -> dict[str, Any]:
        try:
            return json.loads((self.path / META).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return {}

    def save_weights(self, run_id: str, arrays: Sequence[Any]) -> Path:
        """``weights/<run_id>.npz`` with arrays ``p0, p1, ...`` (compressed, no pickle)."""
        import io

        import numpy as np

        buf = io.BytesIO()
        np.savez_compressed(buf, **{f"p{i}": np.asarray(a) for i, a in enumerate(arrays)})
        (self.path / WEIGHTS).mkdir(exist_ok=True)
        target = self.path / WEIGHTS / f"{run_id}.npz"
        atomic_write_bytes(target, buf.getvalue())
        return target

    # -- resume and completion -----------------------------------------------------------
    def drop_runs(self, keep: Iterable[str]) -> None:
        """Keep only the rows of the runs ``keep`` in metrics.csv and layers.csv (and their
        weights): the partial rows of unfinished runs go before they are trained again."""
        keep = set(keep)
        for name, columns in ((METRICS, self.metric_columns), (LAYERS, self.layer_columns)):
            f = self.path / name
            df = read_csv(f) if f.is_file() else None
            if df is None or df.empty:
                self._start_table(name, columns)
                continue
            df = df[df["run_id"].isin(keep)]
            atomic_write_text(f, _csv_text(df.reindex(columns=columns), columns, header=True))
        wdir = self.path / WEIGHTS
        if wdir.is_dir():
            for w in wdir.glob("*.npz"):
                if w.stem not in keep:
                    w.unlink()
        (self.path / WEIGHTS).mkdir(exist_ok=True)

    def finalize(self, order: Sequence[str]) -> None:
        """Rewrite metrics.csv and layers.csv sorted by run (in ``order``), step and layer."""
        rank = {rid: i for i, rid in enumerate(order)}
        for name, columns, keys in ((METRICS, self.metric_columns, ["step"]),
                                    (LAYERS, self.layer_columns, ["step", "layer"])):
            f = self.path / name
            df = read_csv(f)
            if df.empty:
                continue
            df = df.assign(_rank=df["run_id"].map(rank).fillna(len(rank)))
            df = df.sort_values(["_rank", *keys], kind="stable").drop(columns="_rank")
            atomic_write_text(f, _csv_text(df.reindex(columns=columns), columns, header=True))


# --------------------------------------------------------------------------- #
# reading
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
        with np.load(f, allow_pickle=False) as z:
            return [z[f"p{i}"] for i in range(len(z.files))]


_JSON_FIELDS = ("hp", "schedule_kw", "task_kw")
_BOOL_FIELDS = ("binary",)


def _cell_value(key: str, value: Any) -> Any:
    """One runs.csv cell as the RunConfig field ``key`` holds it: empty -> None, the
    JSON of a table decoded, NumPy scalars as Python ones."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if hasattr(value, "item"):  # a NumPy scalar
        value = value.item()
    if key in _JSON_FIELDS and isinstance(value, str):
        return json.loads(value) if value.strip() else {}
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


def _read_table(path: Path):
    """A CSV of the directory, an empty DataFrame when the file is missing or empty."""
    import pandas as pd

    return read_csv(path) if path.is_file() else pd.DataFrame()


def load_results(path: str | Path, *, strict: bool = True) -> Results:
    """Read a results directory: every reader (summary, figures, report, prune) uses this.

    Raises NNBenchError when it has no runs.csv. ``strict``: a ``config.toml`` or
    ``meta.json`` that does not parse is an error; without it they read as ``None`` and
    ``{}``, so that figures can still be drawn from the CSVs alone.
    """
    path = Path(path)
    if not is_results_dir(path):
        raise NNBenchError(f"{path} is not a nnbench results directory: no runs.csv")
    runs = read_csv(path / RUNS)
    metrics, layers = _read_table(path / METRICS), _read_table(path / LAYERS)
    config = None
    if (path / CONFIG).is_file():
        try:
            config = load_toml(path / CONFIG)
        except NNBenchError:
            if strict:
                raise
    meta: dict[str, Any] = {}
    if (path / META).is_file():
        try:
            meta = json.loads((path / META).read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            if strict:
                raise NNBenchError(f"{path / META} is not valid JSON: {e}") from None
    return Results(path, runs, metrics, layers, config, meta)
