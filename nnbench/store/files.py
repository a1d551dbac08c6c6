"""The files of a results directory: their names, atomic writes, the CSV reader that
names damage, meta.json, and which files are nnbench's own."""

from __future__ import annotations

import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from nnbench import __version__
from nnbench.core.errors import NNBenchError
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
        print_warning(line)


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


def print_warning(line: str) -> None:
    print(f"nnbench: warning: {line}", file=sys.stderr, flush=True)


def load_meta(path: Path) -> dict[str, Any]:
    """The meta.json of ``path``; :class:`DamagedResults` when it is not a JSON object."""
    f = path / META
    text = _text(f, "JSON")
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as e:
        raise damaged(f, f"it is not valid JSON ({e})") from None
    if not isinstance(meta, dict):
        raise damaged(f, f"it holds a JSON {type(meta).__name__}, not an object")
    return meta
