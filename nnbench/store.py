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
import time
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from nnbench import __version__
from nnbench.config import RunConfig, load_toml, resolve_experiment
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


class DamagedResults(NNBenchError):
    """A file of a results directory that nnbench cannot read as it wrote it."""


def damaged(path: Path, how: str) -> DamagedResults:
    """The error for file ``path`` damaged ``how`` (one line, which file and how)."""
    return DamagedResults(f"{path} is damaged: {how}")


_warned: set[str] = set()


def warn_once(line: str) -> None:
    """``nnbench: warning: LINE`` on stderr, once per process (the commands read a
    directory more than once)."""
    if line not in _warned:
        _warned.add(line)
        _warn(line)


def _text(path: Path, what: str = "text") -> str:
    """The UTF-8 text of ``path``; :class:`DamagedResults` when it is not text."""
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise damaged(path, f"it is not {what} (byte {e.start} is not UTF-8)") from None
    if "\x00" in text:
        raise damaged(path, f"it is not {what} (it holds NUL bytes)")
    return text


def read_csv(path: Path, *, required: Sequence[str] = (), numeric: Sequence[str] | None = (),
             warn: Any = None):
    """A CSV of the results directory as a DataFrame (floats read back exactly).

    nnbench ends every row with a newline, so a last line without one was cut by a crash:
    it is dropped, saying so through ``warn`` (:func:`warn_once` by default). Anything else
    that is not as nnbench writes it raises :class:`DamagedResults` naming the file and
    how: not text, an empty file (nnbench always writes the header), a header without the
    ``required`` columns, a line with more or fewer fields than the header, a value that
    is not a number in a ``numeric`` column (``None``: every column but ``run_id``)."""
    import csv
    from io import StringIO

    import pandas as pd

    path = Path(path)
    text = _text(path)
    if not text:
        raise damaged(path, "it is empty (nnbench writes at least its header line)")
    if not text.endswith("\n"):
        cut = text.rfind("\n") + 1
        if cut == 0:
            raise damaged(path, "its header line is incomplete")
        text = text[:cut]
        (warn or warn_once)(f"{path}: last row is incomplete (dropped)")
    reader = csv.reader(StringIO(text))
    header = next(reader, [])
    absent = [c for c in required if c not in header]
    if absent:
        raise damaged(path, f"its header lacks the column{'s' * (len(absent) > 1)} "
                            f"{', '.join(absent)}")
    for row in reader:
        if len(row) != len(header):
            raise damaged(path, f"line {reader.line_num} has {len(row)} fields, the header "
                                f"{len(header)}")
    # pandas >= 3 reads floats back exactly by default (and deprecates the option)
    exact = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
    df = pd.read_csv(StringIO(text), **exact)
    if "run_id" in df.columns:
        df["run_id"] = df["run_id"].astype(str)
    cols = [c for c in df.columns if c != "run_id"] if numeric is None else numeric
    for c in cols:
        if c in df.columns and not pd.api.types.is_numeric_dtype(df[c]):
            values = pd.to_numeric(df[c], errors="coerce")
            bad = df[c].notna() & values.isna()
            if bad.any():
                i = int(bad.to_numpy().nonzero()[0][0])
                raise damaged(path, f"line {i + 2}: {c} is {str(df[c].iloc[i])[:40]!r}, "
                                    "not a number")
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
# the lock: one writer at a time
# --------------------------------------------------------------------------- #

LOCK = ".nnbench.lock"
_held: dict[Path, list] = {}  # directories this process holds: [count, token, created]


class DirectoryInUse(NNBenchError):
    """Another nnbench process is writing the results directory."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    except OSError:
        return False
    return True


def _read_lock(f: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(f.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _started(holder: dict[str, Any]) -> str:
    """The holder's start time as local HH:MM:SS."""
    try:
        t = datetime.strptime(str(holder.get("start_time")), "%Y-%m-%dT%H:%M:%SZ")
        return t.replace(tzinfo=timezone.utc).astimezone().strftime("%H:%M:%S")
    except ValueError:
        return "at an unknown time"


def _in_use(path: Path, holder: dict[str, Any]) -> DirectoryInUse:
    host = holder.get("host")
    where = "" if host in (None, platform.node()) else f" on {host}"
    return DirectoryInUse(
        f"{path} is in use by nnbench pid {holder.get('pid', '?')}{where} "
        f"({holder.get('command') or '?'}, started {_started(holder)}); wait for it or "
        f"remove {path / LOCK} if that process is gone")


def _stale(holder: dict[str, Any]) -> bool:
    """A lock of this host whose process is gone (an unreadable lock is not stale: it may
    be being written)."""
    pid = holder.get("pid")
    return (holder.get("host") == platform.node() and isinstance(pid, int)
            and pid > 0 and not _pid_alive(pid))


def acquire_lock(path: Path, command: str, warn: Any = None) -> None:
    """Take the lock of the results directory ``path`` (made if missing) for ``command``:
    ``path/.nnbench.lock``, created atomically (``O_CREAT | O_EXCL``), holding this
    process's pid, host, start time and command. Held by another live process:
    :class:`DirectoryInUse` naming it. Left by a dead process of this host: taken over,
    saying so through ``warn`` (a function of one line; stderr by default). A process
    may take a lock it holds again (counted); :func:`release_lock` gives it back."""
    path = Path(path)
    key = path.resolve()
    if key in _held:
        _held[key][0] += 1
        return
    if path.exists() and not path.is_dir():
        raise NNBenchError(f"{path} is a file; give a directory for the results")
    created = None
    if not path.is_dir():
        missing = [path, *(p for p in path.parents if not p.exists())]
        path.mkdir(parents=True, exist_ok=True)
        created = missing[-1]
    token = f"{os.getpid()}-{time.monotonic_ns()}"
    doc = {"pid": os.getpid(), "host": platform.node(), "start_time": utc_now(),
           "command": command, "argv": list(sys.argv), "token": token}
    f = path / LOCK
    try:
        for _ in range(5):
            try:
                fd = os.open(f, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                holder = _read_lock(f)
                if holder is None:  # released meanwhile
                    continue
                if not holder:  # being written this instant, or damaged: look again
                    time.sleep(0.1)
                    holder = _read_lock(f)
                    if holder is None:
                        continue
                if not _stale(holder):
                    raise _in_use(path, holder) from None
                if _take_over(f, holder):
                    (warn or _warn)(
                        f"{path}: took over the lock of nnbench pid {holder['pid']} "
                        f"({holder.get('command') or '?'}, started {_started(holder)}), "
                        "which is no longer running")
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(json.dumps(doc) + "\n")
            _held[key] = [1, token, created]
            return
        raise _in_use(path, _read_lock(f) or {})
    except BaseException:
        if created is not None and key not in _held:
            _remove_empty(path, created)
        raise


def _take_over(f: Path, holder: dict[str, Any]) -> bool:
    """Move the stale lock ``holder`` out of the way; ``False`` when another process took
    it over first (the lock then is theirs, and is put back)."""
    aside = f.with_name(f"{LOCK}.{os.getpid()}.stale")
    try:
        os.rename(f, aside)
    except FileNotFoundError:
        return False
    if _read_lock(aside) != holder:  # a fresh lock, not the stale one: give it back
        try:
            os.link(aside, f)
        except FileExistsError:
            pass
        aside.unlink(missing_ok=True)
        return False
    aside.unlink(missing_ok=True)
    return True


def _warn(line: str) -> None:
    print(f"nnbench: warning: {line}", file=sys.stderr, flush=True)


def _remove_empty(path: Path, top: Path) -> None:
    """Remove ``path`` and its parents up to ``top`` while they are empty (directories
    this process made and wrote nothing into)."""
    p = path
    while True:
        try:
            p.rmdir()
        except OSError:
            return
        if p == top or top not in p.parents:
            return
        p = p.parent


def release_lock(path: Path) -> None:
    """Give back the lock of :func:`acquire_lock` (the file is removed when the last
    acquisition of this process is released, and only if it is still this process's)."""
    key = Path(path).resolve()
    entry = _held.get(key)
    if entry is None:
        return
    entry[0] -= 1
    if entry[0] > 0:
        return
    del _held[key]
    f = Path(path) / LOCK
    holder = _read_lock(f)
    if holder and holder.get("token") == entry[1]:
        f.unlink(missing_ok=True)
    if entry[2] is not None:
        _remove_empty(Path(path), entry[2])


@contextmanager
def locked(path: Path, command: str) -> Iterator[Path]:
    """:func:`acquire_lock` for the length of a ``with`` block; the lock goes at its end,
    also on an exception or Ctrl-C."""
    acquire_lock(path, command)
    try:
        yield Path(path)
    finally:
        release_lock(path)


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
        if p.is_dir() and any(f.name != LOCK for f in p.iterdir()):  # the lock is ours
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
            return _load_meta(self.path)
        except (OSError, NNBenchError):
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
        try:
            with np.load(f, allow_pickle=False) as z:
                return [z[f"p{i}"] for i in range(len(z.files))]
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as e:
            raise damaged(f, f"it is not a weights file nnbench wrote ({e})") from None


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


def _load_meta(path: Path) -> dict[str, Any]:
    f = path / META
    text = _text(f, "JSON")
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as e:
        raise damaged(f, f"it is not valid JSON ({e})") from None
    if not isinstance(meta, dict):
        raise damaged(f, f"it holds a JSON {type(meta).__name__}, not an object")
    return meta


def _check_config(path: Path, config: Any, runs: Any) -> None:
    """``config.toml`` must describe the runs of runs.csv: every run in its grid with the
    same task, optimizer, learning rate, steps, ... (a cut or edited file does not)."""
    f = path / CONFIG
    try:
        _, resolved = resolve_experiment(config)
    except NNBenchError as e:
        raise damaged(f, str(e)) from None
    grid = {r.run_id: r for r in resolved}
    for rec in runs.to_dict("records") if not runs.empty else []:
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
            meta = _load_meta(path)
        except NNBenchError as e:
            lenient(e)
    return Results(path, runs, metrics, layers, config, meta)
