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

Modules: :mod:`.files` (the names, atomic writes, the CSV reader that names damage,
meta.json, which files are nnbench's), :mod:`.lock` (one writer at a time),
:mod:`.writer` (:class:`ResultsWriter`), :mod:`.reader` (:func:`load_results`, the one
reader) and :mod:`.runcache` (finished runs kept across results directories). Everything
public is importable from ``nnbench.store``.
"""

from __future__ import annotations

from nnbench.store.files import (
    CONFIG,
    FIGURES,
    LAYERS,
    META,
    METRICS,
    OWNED_FILES,
    OWNED_SUFFIXES,
    RUNS,
    WEIGHTS,
    DamagedResults,
    atomic_write_bytes,
    atomic_write_text,
    damaged,
    git_commit,
    is_nnbench_dir,
    load_meta,
    make_meta,
    print_warning,
    read_csv,
    remove_owned_files,
    timestamp,
    utc_now,
    warn_once,
)
from nnbench.store.lock import (
    LOCK,
    DirectoryInUse,
    acquire_lock,
    locked,
    release_lock,
)
from nnbench.store.reader import (
    Results,
    gaps_line,
    is_results_dir,
    load_results,
    metrics_gaps,
    require_results_dir,
    run_config,
)
from nnbench.store.runcache import RunCache, key_components, run_key
from nnbench.store.writer import (
    ResultsWriter,
)

__all__ = [
    "RunCache",
    "key_components",
    "run_key",
    "load_meta",
    "print_warning",
    "RUNS",
    "METRICS",
    "LAYERS",
    "CONFIG",
    "META",
    "WEIGHTS",
    "FIGURES",
    "utc_now",
    "timestamp",
    "atomic_write_bytes",
    "atomic_write_text",
    "DamagedResults",
    "damaged",
    "warn_once",
    "read_csv",
    "git_commit",
    "make_meta",
    "OWNED_FILES",
    "OWNED_SUFFIXES",
    "is_nnbench_dir",
    "remove_owned_files",
    "LOCK",
    "DirectoryInUse",
    "acquire_lock",
    "release_lock",
    "locked",
    "ResultsWriter",
    "Results",
    "run_config",
    "is_results_dir",
    "require_results_dir",
    "metrics_gaps",
    "gaps_line",
    "load_results",
]
