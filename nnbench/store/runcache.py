"""The run cache: finished runs kept under nnbench's cache directory, found by a key.

A run is deterministic, so its rows are fixed by its resolved configuration and what
computes it. :func:`key_components` lists all of that (the configuration but the run's id,
the backend and the numba version where it may be used, nnbench's version and a digest of
its source files, NumPy's version and BLAS, Python, the machine's architecture, the
plugins' SHA-256) and :func:`run_key` hashes it. An entry is a directory ``<key>/`` of
plain files, no pickle::

    entry.json    {"nnbench_run_cache": 1, "key", "components", "result": runs.csv's result
                  columns as written, "backend": what computed its passes (numba,
                  numpy), "created"}
    metrics.csv   the run's rows of metrics.csv as written, without run_id
    layers.csv    the same of layers.csv
    weights.npz   the run's weights file (as the results directory's weights/RUN.npz)

Entries are written whole (a temporary directory, then renamed) and only ever removed by
:meth:`RunCache.clear`, which removes these four files from directories whose entry.json
says nnbench wrote them, and nothing else.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from nnbench import __version__
from nnbench.store.files import atomic_write_bytes, atomic_write_text, utc_now
from nnbench.tasks.cache import cache_dir

ENTRY, METRICS, LAYERS, WEIGHTS = "entry.json", "metrics.csv", "layers.csv", "weights.npz"
FILES = (ENTRY, METRICS, LAYERS, WEIGHTS)
MARK = "nnbench_run_cache"
FORMAT = 1
NO_CACHE_ENV = "NNBENCH_NO_CACHE"


def default_dir() -> Path:
    """``runs/`` in nnbench's cache directory (:func:`nnbench.tasks.cache.cache_dir`)."""
    return cache_dir() / "runs"


def bypassed() -> bool:
    """``NNBENCH_NO_CACHE`` is set to something other than empty, ``0`` or ``false``."""
    return os.environ.get(NO_CACHE_ENV, "").strip().lower() not in ("", "0", "false", "no")


_source: str | None = None


def source_digest() -> str:
    """SHA-256 over nnbench's own source files (names and bytes): a change of the code that
    computes a number changes every key, whatever the version says."""
    global _source
    if _source is None:
        root = Path(__file__).resolve().parents[1]
        h = hashlib.sha256()
        for f in sorted(root.rglob("*.py")):
            h.update(str(f.relative_to(root)).encode())
            h.update(f.read_bytes())
        _source = h.hexdigest()
    return _source


def _blas() -> str:
    import numpy as np

    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # noqa: BLE001 - an older NumPy: its version says it
        return "unknown"


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def key_components(run: Mapping[str, Any], backend: str, plugins: Sequence[str]
                   ) -> dict[str, Any]:
    """Everything that can change a number of the run ``run`` (a resolved run's dict):
    its configuration (the run id left out: the same run in another grid is the same run,
    the dtype among it), the backend choice and the numba version when it may compute,
    nnbench's version and source, NumPy's version and BLAS, Python, the architecture, and
    ``plugins`` (the plugin files' SHA-256 and the packages' versions)."""
    import numpy as np

    config = {k: v for k, v in run.items() if k != "run_id"}
    return {
        "format": FORMAT,
        "run": json.loads(json.dumps(config, sort_keys=True, default=list)),
        "backend": backend,
        "numba": _version("numba") if backend != "numpy" else None,
        "nnbench": __version__,
        "source": source_digest(),
        "numpy": np.__version__,
        "blas": _blas(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "plugins": sorted(plugins),
    }


def run_key(components: Mapping[str, Any]) -> str:
    """The SHA-256 of the components' canonical JSON."""
    text = json.dumps(components, sort_keys=True, separators=(",", ":"), default=list)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class CachedRun:
    """A run found in the cache: its result columns and rows as text, its weights, and the
    backend that computed it (``""`` in an entry written before entries recorded it)."""

    result: dict[str, str]
    metrics: Any  # DataFrame of strings, without run_id
    layers: Any
    weights: bytes
    backend: str = ""


def _read_text_csv(path: Path) -> Any:
    import pandas as pd

    return pd.read_csv(path, dtype=str, keep_default_na=False)


class RunCache:
    """The cache in directory ``path`` (default :func:`default_dir`)."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path).expanduser() if path is not None else default_dir()

    def _entry(self, key: str) -> Path:
        return self.path / key

    def get(self, key: str) -> CachedRun | None:
        """The run of ``key``, or ``None`` (not there, or an entry nnbench cannot read)."""
        d = self._entry(key)
        try:
            entry = json.loads((d / ENTRY).read_text(encoding="utf-8"))
            if not isinstance(entry, dict) or entry.get(MARK) != FORMAT \
                    or entry.get("key") != key:
                return None
            return CachedRun({str(k): str(v) for k, v in entry["result"].items()},
                             _read_text_csv(d / METRICS), _read_text_csv(d / LAYERS),
                             (d / WEIGHTS).read_bytes(), str(entry.get("backend", "")))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def put(self, key: str, components: Mapping[str, Any], result: Mapping[str, str],
            metrics: Any, layers: Any, weights: Path, backend: str = "") -> None:
        """Keep a finished run (``metrics``/``layers``: its rows as text, without run_id;
        ``backend``: what computed it); a key already there is left as it is."""
        target = self._entry(key)
        if (target / ENTRY).is_file():
            return
        self.path.mkdir(parents=True, exist_ok=True)
        tmp = self.path / f".{key}.{os.getpid()}.part"
        tmp.mkdir(exist_ok=True)
        try:
            atomic_write_text(tmp / METRICS, metrics.to_csv(index=False, lineterminator="\n"))
            atomic_write_text(tmp / LAYERS, layers.to_csv(index=False, lineterminator="\n"))
            atomic_write_bytes(tmp / WEIGHTS, Path(weights).read_bytes())
            entry = {MARK: FORMAT, "key": key, "components": dict(components),
                     "result": dict(result), "backend": backend, "created": utc_now()}
            atomic_write_text(tmp / ENTRY, json.dumps(entry, indent=1, default=list) + "\n")
            os.replace(tmp, target)  # whole, or not at all
        except OSError:
            pass  # another process kept it first, or the disk is full: no cache, no harm
        finally:
            if tmp.exists():
                _remove_entry(tmp)

    def entries(self) -> list[Path]:
        """The directories of entries nnbench wrote (their entry.json says so)."""
        if not self.path.is_dir():
            return []
        out = []
        for d in sorted(self.path.iterdir()):
            try:
                entry = json.loads((d / ENTRY).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(entry, dict) and entry.get(MARK) == FORMAT:
                out.append(d)
        return out

    def info(self) -> dict[str, Any]:
        """``path``, ``runs`` (entries) and ``bytes`` (their files)."""
        entries = self.entries()
        size = sum((d / f).stat().st_size for d in entries for f in FILES
                   if (d / f).is_file())
        return {"path": str(self.path), "runs": len(entries), "bytes": size}

    def clear(self) -> int:
        """Remove every entry nnbench wrote (its four files, then the directory if that
        leaves it empty); return how many."""
        entries = self.entries()
        for d in entries:
            _remove_entry(d)
        return len(entries)


def _remove_entry(d: Path) -> None:
    for f in FILES:
        (d / f).unlink(missing_ok=True)
    for leftover in d.glob(".*.tmp"):  # an atomic write cut short
        leftover.unlink(missing_ok=True)
    try:
        d.rmdir()
    except OSError:
        pass  # something else is in it: not ours, left alone


def human_size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"  # pragma: no cover


__all__ = ["RunCache", "CachedRun", "key_components", "run_key", "default_dir", "bypassed",
           "source_digest", "human_size", "NO_CACHE_ENV"]
