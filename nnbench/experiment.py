"""An experiment: a grid of runs -> groups -> an executor -> the results directory.

:func:`run_experiment` expands and resolves the grid (:mod:`nnbench.config`),
groups the runs that differ only in seed and learning rate (they train
together on the runs axis, :func:`nnbench.engine.train_group`), trains group
after group through an *executor*, and writes everything through
:mod:`nnbench.store`:

- metrics reach ``metrics.csv``/``layers.csv`` as training goes;
- after every group, ``runs.csv`` is rewritten (atomically) with every run
  finished so far, and the weights of the finished runs are saved;
- Ctrl-C (SIGINT), SIGTERM and SIGHUP stop at the next training step: the finished
  runs stay complete on disk, the runs in flight are marked ``interrupted`` with the
  metrics they logged, and :class:`ExperimentInterrupted` (a
  ``KeyboardInterrupt``, ``signum`` the signal) is raised; a second signal interrupts
  at once;
- ``resume=True`` finishes such a directory: runs that are ``done`` or
  ``diverged`` are kept, the others lose their partial rows and train again
  from scratch. Because a run does not depend on the other runs of its group,
  the final files equal those of an uninterrupted experiment, except the
  wall-clock columns (``wall_s``) and the times in ``meta.json``.

The executor receives a group as plain data (a list of run-config dicts) and
returns a :class:`~nnbench.engine.GroupResult`, so that a process-pool executor
can later run groups elsewhere.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from nnbench import plugins
from nnbench.config import (
    ExperimentConfig,
    RunConfig,
    check_out_dir,
    dump_toml,
    group_key,
    resolve_experiment,
    resolve_runs,
)
from nnbench.core.errors import NNBenchError, check_int
from nnbench.engine import (
    LAYER_COLUMNS,
    GroupResult,
    MetricsSink,
    NullReporter,
    Reporter,
    RunInfo,
    RunProgress,
    StopFlag,
    backend_choice,
    check_backend,
    group_label,
    metric_columns,
)
from nnbench.executors import Executor, SerialExecutor
from nnbench.memory import check_memory
from nnbench.schema import CSV_NAMES, DICT_FIELDS, run_columns
from nnbench.store import (
    ResultsWriter,
    RunCache,
    key_components,
    locked,
    make_meta,
    metrics_gaps,
    read_csv,
    run_key,
    timestamp,
    utc_now,
    warn_once,
)
from nnbench.tasks.build import make_task
from nnbench.tune import FINAL, SEARCH, final_runs

COMPLETE = ("done", "diverged")  # statuses a resume keeps


class ExperimentInterrupted(KeyboardInterrupt):
    """Training was interrupted (Ctrl-C, SIGTERM or SIGHUP: ``signum``); the partial results
    are in ``out_dir``. A ``KeyboardInterrupt``, so that an uncaught one still ends the
    program as Ctrl-C does."""

    def __init__(self, out_dir: Path, signum: int = signal.SIGINT):
        super().__init__(f"interrupted; partial results in {out_dir}")
        self.out_dir = Path(out_dir)
        self.signum = int(signum)


def home_relative(path: Path) -> str:
    """``path`` as ``~/...`` when it lies in the user's home directory (so that a results
    directory shared with others does not carry the home's name), else as it is."""
    try:
        return "~/" + Path(path).resolve().relative_to(Path.home().resolve()).as_posix()
    except (ValueError, RuntimeError, OSError):
        return str(path)

def default_out_dir(exp: ExperimentConfig, root: Path = Path("results")) -> Path:
    """``results/<name>/<UTC timestamp>`` (the name defaults to the task's)."""
    return Path(root) / exp.label / timestamp()


def make_groups(runs: Sequence[RunConfig], size: int | None = None) -> list[list[RunConfig]]:
    """The runs grouped by :func:`nnbench.config.group_key`, groups in the order of their
    first run, runs in grid order within a group; ``size`` caps a group (``1``: every run
    alone, grouping off)."""
    groups: dict[tuple, list[RunConfig]] = {}
    for r in runs:
        groups.setdefault(group_key(r), []).append(r)
    if size is None:
        return list(groups.values())
    size = check_int("group_size", size, 1)
    return [g[i:i + size] for g in groups.values() for i in range(0, len(g), size)]


# --------------------------------------------------------------------------- #
# runs.csv
# --------------------------------------------------------------------------- #

def run_row(cfg: RunConfig, group: str, result: dict[str, Any]) -> dict[str, Any]:
    """One row of runs.csv: the run's config (``optim`` as ``optimizer``, ``act`` as
    ``activation``, dict fields as JSON) and its results."""
    row: dict[str, Any] = {"run_id": cfg.run_id, "group": group}
    for k, v in cfg.to_dict().items():
        if k == "run_id":
            continue
        if k in DICT_FIELDS:
            v = json.dumps(v, sort_keys=True, default=list)
        row[CSV_NAMES.get(k, k)] = v
    row.update({k: v for k, v in result.items() if k != "run_id"})
    return row


# --------------------------------------------------------------------------- #
# SIGINT, SIGTERM, SIGHUP
# --------------------------------------------------------------------------- #

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                     if hasattr(signal, name))


class _Interrupt(KeyboardInterrupt):
    """A second stop signal: interrupt at once (``signum`` says which)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class _SignalsToFlag:
    """While active, the first SIGINT, SIGTERM or SIGHUP sets ``stop.requested`` (training
    stops cleanly at the next step) and is remembered in ``signum``; the handlers then step
    aside so that a second one interrupts at once (SIGINT: the previous handler; SIGTERM and
    SIGHUP: the previous handler if there was one, else a ``KeyboardInterrupt``). A signal
    that is ignored (SIGHUP under ``nohup``) stays ignored."""

    def __init__(self, stop: StopFlag):
        self.stop = stop
        self.previous: dict[int, Any] = {}
        self.signum: int | None = None

    def _handler(self, signum, frame) -> None:
        self.stop.requested = True
        self.signum = self.signum or signum
        for s, prev in self.previous.items():
            signal.signal(s, self._second(s, prev))

    @staticmethod
    def _second(signum: int, prev: Any) -> Any:
        if callable(prev):
            return prev
        if signum == signal.SIGINT:
            return signal.default_int_handler

        def interrupt(s, frame):
            raise _Interrupt(s)

        return interrupt

    def __enter__(self) -> _SignalsToFlag:
        if threading.current_thread() is threading.main_thread():
            for s in STOP_SIGNALS:
                prev = signal.getsignal(s)
                if prev is signal.SIG_IGN:  # ignored on purpose (nohup): left so
                    continue
                self.previous[s] = prev
                signal.signal(s, self._handler)
        return self

    def __exit__(self, *exc) -> None:
        for s, prev in self.previous.items():
            default = signal.default_int_handler if s == signal.SIGINT else signal.SIG_DFL
            signal.signal(s, prev if prev is not None else default)


# --------------------------------------------------------------------------- #
# the experiment
# --------------------------------------------------------------------------- #


def run_experiment(exp: ExperimentConfig, out_dir: Path | None = None,
                   reporter: Reporter | None = None, resume: bool = False, *,
                   overwrite: bool = False, executor: Executor | None = None,
                   stop: StopFlag | None = None, save_weights: bool = True,
                   group_size: int | None = None,
                   command: str = "run_experiment", cache: RunCache | None = None) -> Path:
    """Train every run of ``exp`` and write the results directory; return its path.

    ``out_dir`` defaults to ``exp.out``, else :func:`default_out_dir`; an existing
    non-empty directory is refused unless ``overwrite`` (or ``resume``, which finishes
    it). Raises
    :class:`ExperimentInterrupted` after writing what was done when Ctrl-C (or
    ``stop.requested``) interrupts training. ``executor`` is a group runner or an object
    with ``run_groups`` (:mod:`nnbench.executors`: processes, Dask); ``group_size`` caps
    the runs trained together (``1`` turns grouping off). Neither changes the numbers.
    The directory is locked while it is written (:func:`nnbench.store.acquire_lock`,
    ``command`` names this process in the lock): another process writing it is an error.
    ``cache`` (a :class:`~nnbench.store.RunCache`; none by default) supplies the runs it
    holds, their rows copied and marked ``cached`` in runs.csv, so that only the others
    train (a group partly cached trains the rest: a run's numbers do not depend on its
    group), and keeps the runs trained here once the experiment completes.
    """
    reporter = reporter or NullReporter()
    executor = executor or SerialExecutor()
    stop = stop or StopFlag()
    resolved_exp, runs = resolve_experiment(exp)
    if out_dir is None:
        out_dir = exp.out if exp.out else default_out_dir(exp)
    out = Path(check_out_dir(out_dir))
    kw = dict(reporter=reporter, overwrite=overwrite, executor=executor, stop=stop,
              save_weights=save_weights, group_size=group_size, command=command, cache=cache)
    if exp.tune is None:
        return _run_runs(resolved_exp, runs, out, resume=resume, **kw)
    # a tuned experiment: its trials, then each cell's best trial with the final seeds
    phases = {r.run_id: SEARCH for r in runs}
    _run_runs(resolved_exp, runs, out, resume=resume, phases=phases, last=False, **kw)
    trials = read_csv(out / "runs.csv")
    rows = {rec["run_id"]: rec for rec in trials.to_dict("records")}
    finals = resolve_runs(final_runs(exp, runs, rows))
    phases.update({r.run_id: FINAL for r in finals})
    return _run_runs(resolved_exp, [*runs, *finals], out, resume=True, phases=phases,
                     continuing=True, **kw)


def _run_runs(resolved_exp: ExperimentConfig, runs: list[RunConfig], out: Path, *,
              reporter: Reporter, resume: bool, overwrite: bool, executor: Any,
              stop: StopFlag, save_weights: bool, group_size: int | None, command: str,
              cache: RunCache | None = None, phases: dict[str, str] | None = None,
              last: bool = True,
              continuing: bool = False) -> Path:
    """Train ``runs`` into ``out`` (the body of :func:`run_experiment`). ``phases`` gives
    each run's ``phase`` column (a tuned experiment's ``search`` or ``final``); ``last``
    False leaves the directory ``running`` (the final seeds follow); ``continuing`` adds
    runs to a directory this experiment has just written (no ``resumed`` mark)."""
    kind = _kind(runs)
    store = ResultsWriter(out, metric_columns(kind), LAYER_COLUMNS)
    columns = run_columns(kind)
    order = [r.run_id for r in runs]
    groups = make_groups(runs, group_size)
    for group in groups:  # a backend that cannot train a group: say so before creating
        check_backend(group[0], getattr(executor, "backend", None))  # a plain callable: None
    check_memory(groups, make_task)  # nor a group the machine's memory cannot hold
    with locked(out, command):  # one writer at a time (its lock file)
        labels = {r.run_id: group_label(r) for g in groups for r in g}
        rows: dict[str, dict[str, Any]] = {}

        if resume:
            if not (out / "config.toml").is_file():
                raise NNBenchError(f"{out} is not a nnbench results directory: no config.toml")
            meta = store.read_meta()
            if not continuing:
                meta.setdefault("resumed", []).append(utc_now())
            if (out / "runs.csv").is_file():
                old = read_csv(out / "runs.csv")
                # finished runs whose rows metrics.csv lost (a file cut short) train again
                gaps = metrics_gaps(old, read_csv(out / "metrics.csv")) \
                    if (out / "metrics.csv").is_file() else {}
                for rec in old.to_dict("records") if not old.empty else []:
                    if (rec.get("status") in COMPLETE and rec["run_id"] in labels
                            and rec["run_id"] not in gaps):
                        rows[rec["run_id"]] = rec
                if gaps:
                    warn_once(f"{out}: {', '.join(gaps)} train again (their rows in "
                              "metrics.csv are incomplete)")
            store.drop_runs(rows)
        else:
            meta = make_meta()
            meta["plugins"] = plugin_records()
            store.create(overwrite=overwrite, meta=meta)
            store.write_config(dump_toml(resolved_exp))
        meta["status"], meta["end_time"] = "running", None
        store.write_meta(meta)
        keys: dict[str, tuple[str, dict]] = {}  # run id -> its cache key and components
        cached_by: list[str] = []  # the backends of the runs taken from the cache
        if cache is not None:
            keys, cached_by = _from_cache(cache, runs, rows, labels, store, save_weights,
                               backend_choice(getattr(executor, "backend", None)))
            for rid, row in rows.items():  # a tuned experiment's run from the cache: its phase
                if phases is not None and row.get("cached") is True:
                    row["phase"] = phases[rid]
            meta["run_cache"] = {"path": home_relative(cache.path),
                                 "runs_taken": sum(r.get("cached") is True
                                                   for r in rows.values())}
        _write_runs(store, rows, order, columns)

        reporter.start([RunInfo(r.run_id, labels[r.run_id], int(r.steps)) for r in runs])
        interrupted = False
        signum: int | None = None  # the signal that stopped training
        # what computed the passes: a resumed directory's, the cache's runs', this training's
        used: set[str] = (set(meta.get("backend", "").split(",")) | set(cached_by)) - {""}
        trained: dict[str, str] = {}  # the runs trained here (not kept, not from the cache)
        try:
            kept = [r for r in runs if r.run_id in rows]
            if kept:
                reporter.update([_kept_progress(r, rows[r.run_id]) for r in kept])
            with _SignalsToFlag(stop) as signals:
                todo = [[r for r in group if r.run_id not in rows] for group in groups]
                todo = [g for g in todo if g]
                by_id = {r.run_id: r for g in todo for r in g}
                try:
                    for result in _train(executor, todo, reporter, store, stop):
                        used.add(result.backend)
                        for res in result.runs:
                            cfg = by_id[res.run_id]
                            rows[res.run_id] = run_row(cfg, labels[res.run_id],
                                                       {**res.row(), "cached": False})
                            if phases is not None:
                                rows[res.run_id]["phase"] = phases[res.run_id]
                            trained[res.run_id] = result.backend
                            if save_weights and res.status in COMPLETE:
                                store.save_weights(res.run_id, res.weights)
                        _write_runs(store, rows, order, columns)
                        interrupted = interrupted or result.interrupted
                except KeyboardInterrupt as e:
                    interrupted = True
                    signum = getattr(e, "signum", None)
                interrupted = interrupted or (stop.requested and len(rows) < len(order))
                signum = signals.signum or signum  # the first signal names the stop
        except KeyboardInterrupt as e:
            interrupted = True
            signum = signum or getattr(e, "signum", None)
        except Exception as err:  # found only while training: the directory says so
            _write_runs(store, rows, order, columns)
            meta["status"], meta["end_time"] = "failed", utc_now()
            meta["error"] = " ".join(str(err).split()) or type(err).__name__
            store.write_meta(meta)
            raise
        finally:
            reporter.finish()
        _write_runs(store, rows, order, columns)
        meta["end_time"] = utc_now()
        meta["backend"] = ",".join(sorted(used))  # what computed the passes: numba, numpy
        if interrupted:
            meta["status"] = "interrupted"
            store.write_meta(meta)
            raise ExperimentInterrupted(out, signum or signal.SIGINT)
        if not last:
            store.write_meta(meta)
            return out
        store.finalize(order)
        if cache is not None and save_weights:
            _to_cache(cache, out, {r: b for r, b in trained.items()
                                   if rows[r].get("status") in COMPLETE},
                      keys, {r.run_id: r for r in runs})
        meta["status"] = "complete"
        store.write_meta(meta)
        return out


def _from_cache(cache: RunCache, runs: Sequence[RunConfig], rows: dict[str, dict],
                labels: dict[str, str], store: ResultsWriter, save_weights: bool,
                backend: str) -> tuple[dict[str, tuple[str, dict]], list[str]]:
    """Copy the runs the cache holds into the results directory (rows, weights; runs.csv's
    row marked ``cached``); return every other run's key and its components, and the
    backends that computed the runs taken."""
    keys, used = {}, []
    for r in runs:
        if r.run_id in rows:  # kept by a resume
            continue
        components = key_components(r.to_dict(), backend, plugins.used_by(r))
        key = run_key(components)
        hit = cache.get(key)
        if hit is None:
            keys[r.run_id] = (key, components)
            continue
        store.copy_rows(r.run_id, hit.metrics, hit.layers)
        if save_weights:
            store.save_weights_file(r.run_id, hit.weights)
        rows[r.run_id] = run_row(r, labels[r.run_id], {**hit.result, "cached": True})
        used.append(hit.backend)
    return keys, used


def _to_cache(cache: RunCache, out: Path, trained: Mapping[str, str],
              keys: dict[str, tuple[str, dict]], by_id: dict[str, RunConfig]) -> None:
    """Keep the finished runs ``trained`` (run id -> the backend that computed it) in the
    cache: their rows as the completed results directory has them (text, so a copy is the
    same bytes), their weights."""
    if not trained:
        return
    import pandas as pd

    def text(name: str) -> pd.DataFrame:
        return pd.read_csv(out / name, dtype=str, keep_default_na=False)

    runs = text("runs.csv").set_index("run_id", drop=False)
    tables = {name: dict(tuple(df.groupby("run_id", sort=False))) if len(df) else {}
              for name, df in (("metrics", text("metrics.csv")), ("layers", text("layers.csv")))}
    empty = {name: text(f"{name}.csv").iloc[0:0] for name in tables}
    for rid in trained:
        if rid not in keys or not (out / "weights" / f"{rid}.npz").is_file():
            continue
        config = set(run_row(by_id[rid], "", {}))
        result = {k: v for k, v in runs.loc[rid].to_dict().items()
                  if k not in config and k != "cached"}
        part = {name: tables[name].get(rid, empty[name]).drop(columns="run_id")
                for name in tables}
        key, components = keys[rid]
        cache.put(key, components, result, part["metrics"], part["layers"],
                  out / "weights" / f"{rid}.npz", trained[rid])


def plugin_records() -> list[dict[str, str]]:
    """The plugins of this process as meta.json records them: each file's path and SHA-256
    (``--config`` warns when one changed), each installed package's name and version."""
    files = [{"path": f.path, "sha256": f.sha256} for f in plugins.loaded()]
    return files + [{"package": k.removeprefix("package "), "version": v}
                    for k, v in plugins.packages().items()]


def _train(executor: Any, groups: list[list[RunConfig]], reporter: Reporter,
           sink: MetricsSink, stop: StopFlag) -> Iterator[GroupResult]:
    """Each group's result as it completes: ``executor.run_groups`` trains them all at
    once elsewhere; a plain executor one after another, stopping at an interruption."""
    configs = [[r.to_dict() for r in g] for g in groups]
    if hasattr(executor, "run_groups"):
        yield from executor.run_groups(configs, reporter, sink, stop)
        return
    for group in configs:
        if stop.requested:
            return
        result = executor(group, reporter, sink, stop)
        yield result
        if result.interrupted:
            return


def _kind(runs: Sequence[RunConfig]) -> str:
    """The kind of the runs' tasks (``regression``, ``classification``, ``landscape``):
    with several tasks, the one whose columns hold the others' (classification, then
    regression)."""
    kinds = {getattr(make_task(r), "kind", "regression")
             for r in {r.task: r for r in runs}.values()}
    for kind in ("classification", "regression", "landscape"):
        if kind in kinds:
            return kind
    return "regression"


def _write_runs(store: Any, rows: dict[str, dict], order: Sequence[str],
                columns: Sequence[str]) -> None:
    recs = [rows[r] for r in order if r in rows]
    # a model's own results after the common ones (closed_form_loss beside final_train_loss)
    extra = dict.fromkeys(k for rec in recs for k in rec if k not in columns)
    cols = list(columns)
    if "closed_form_loss" in extra and "final_train_loss" in cols:
        del extra["closed_form_loss"]
        cols.insert(cols.index("final_train_loss") + 1, "closed_form_loss")
    store.write_runs(recs, [*cols, *extra])


def _kept_progress(cfg: RunConfig, row: dict[str, Any]) -> RunProgress:
    def num(key: str) -> float:
        try:
            return float(row.get(key))
        except (TypeError, ValueError):
            return float("nan")

    status = "cached" if row.get("cached") is True else str(row.get("status"))
    return RunProgress(cfg.run_id, int(num("steps_done")), int(cfg.steps),
                       num("final_train_loss"), num("best_train_loss"), 0.0, status)
