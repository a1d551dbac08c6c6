"""Writing a results directory as an experiment trains (:class:`ResultsWriter`)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from nnbench.core.errors import NNBenchError
from nnbench.store.files import (
    CONFIG,
    LAYERS,
    META,
    METRICS,
    RUNS,
    WEIGHTS,
    _csv_text,
    atomic_write_bytes,
    atomic_write_text,
    is_nnbench_dir,
    load_meta,
    read_csv,
    remove_owned_files,
)
from nnbench.store.lock import (
    LOCK,
)

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

    def copy_rows(self, run_id: str, metrics: Any, layers: Any) -> None:
        """Append a run's rows kept elsewhere (the run cache: DataFrames of text without
        run_id), under ``run_id``."""
        for name, df, columns in ((METRICS, metrics, self.metric_columns),
                                  (LAYERS, layers, self.layer_columns)):
            if len(df):
                df = df.assign(run_id=run_id).reindex(columns=columns, fill_value="")
                with open(self.path / name, "a", encoding="utf-8") as f:
                    f.write(_csv_text(df, columns, header=False))

    def save_weights_file(self, run_id: str, data: bytes) -> Path:
        """``weights/<run_id>.npz`` from the bytes of a weights file (the run cache's)."""
        (self.path / WEIGHTS).mkdir(exist_ok=True)
        target = self.path / WEIGHTS / f"{run_id}.npz"
        atomic_write_bytes(target, data)
        return target

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
            return load_meta(self.path)
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
