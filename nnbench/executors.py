"""Executors: where the groups of an experiment train.

:func:`nnbench.experiment.run_experiment` hands its groups (lists of run-config dicts) to
an executor. A plain callable ``(configs, reporter, sink, stop) -> GroupResult`` trains one
group at a time here (:class:`SerialExecutor`); the classes below have
``run_groups(groups, reporter, sink, stop)``, which trains many at once elsewhere and
yields each :class:`~nnbench.engine.GroupResult` as it completes:

- :class:`ProcessExecutor` (``--jobs N``): ``N`` worker processes on this machine;
- :class:`DaskExecutor` (``--executor dask --scheduler ADDRESS``): the workers of a Dask
  distributed cluster (the optional ``dask`` extra).

A worker trains a group with :func:`nnbench.engine.train_group`, exactly as here, and sends
what the engine reports back through a queue as plain lists and dicts: progress (which
reaches the live table) and logged rows (which this process writes to the results
directory). The worker first loads the plugins of this process (:mod:`nnbench.plugins`:
their sources travel with the group) and the installed packages'. Stopping (Ctrl-C here)
sets a shared event that the workers' engines poll.
A run's numbers do not depend on the executor, the number of jobs or threads: a group's
passes are split into the same blocks everywhere (:mod:`nnbench.core.parallel`).
"""

from __future__ import annotations

import multiprocessing
import queue as queue_module
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from multiprocessing.managers import SyncManager
from typing import Any

import numpy as np

from nnbench import plugins
from nnbench.config import RunConfig
from nnbench.core.errors import NNBenchError, check_int
from nnbench.core.parallel import default_threads
from nnbench.engine import (
    GroupResult,
    MetricsSink,
    Reporter,
    RunProgress,
    StopFlag,
    backend_choice,
    train_group,
)
from nnbench.schema import ExecutorName, choices
from nnbench.tasks.build import make_task, task_key

POLL = 0.05  # seconds between looks at the queue and the futures
STOP_POLL = 0.2  # seconds between a worker's looks at the stop event

# A group runner: (run-config dicts, reporter, sink, stop flag) -> results.
Executor = Callable[[list[dict], Reporter, MetricsSink, StopFlag], GroupResult]


class SerialExecutor:
    """Train each group here, in this process, one after the other. The task and its
    data set are built once per experiment (every run of a grid shares them)."""

    def __init__(self, threads: int | None = None, backend: str | None = None) -> None:
        self._cache: dict[str, tuple[Any, Any]] = {}
        self.threads = threads  # for each group's passes (engine.train_group)
        self.backend = backend

    def __call__(self, configs: list[dict], reporter: Reporter, sink: MetricsSink,
                 stop: StopFlag) -> GroupResult:
        c = RunConfig.from_dict(configs[0])
        key = task_key(c)
        if key not in self._cache:
            task = make_task(c)
            data = None
            if getattr(task, "kind", "") != "landscape":
                data = task.load(seed=c.data_seed, val_frac=c.val_frac, dtype=c.dtype)
            self._cache = {key: (task, data)}  # one data set at a time
        task, data = self._cache[key]
        return train_group(configs, reporter=reporter, sink=sink, stop=stop, data=data,
                           task=task, threads=self.threads, backend=self.backend)


# --------------------------------------------------------------------------- #
# the worker side
# --------------------------------------------------------------------------- #


def _plain(value: Any) -> Any:
    """A NumPy scalar as the Python number it holds (queues carry plain data only)."""
    return value.item() if isinstance(value, np.generic) else value


class _ChannelReporter:
    """Sends each progress update through ``channel`` as ``["progress", [fields, ...]]``."""

    def __init__(self, channel: Any):
        self.channel = channel

    def start(self, runs: list) -> None:
        pass

    def update(self, progress: list[RunProgress]) -> None:
        rows = [[p.run_id, int(p.step), int(p.total), float(p.loss), float(p.best_loss),
                 float(p.steps_per_s), p.status] for p in progress]
        self.channel.put(["progress", rows])

    def finish(self) -> None:
        pass


class _ChannelSink:
    """Sends logged rows through ``channel`` as ``["rows", metrics, layers]``."""

    def __init__(self, channel: Any):
        self.channel = channel

    def write(self, metrics: list[dict], layers: list[dict]) -> None:
        self.channel.put(["rows", [{k: _plain(v) for k, v in m.items()} for m in metrics],
                          [{k: _plain(v) for k, v in r.items()} for r in layers]])


class _EventStop(StopFlag):
    """A stop flag read from a shared event, looked at every :data:`STOP_POLL` seconds."""

    def __init__(self, event: Any):
        super().__init__()
        self.event = event
        self.checked = 0.0

    @property  # type: ignore[override]
    def requested(self) -> bool:
        now = time.monotonic()
        if not self._requested and now - self.checked >= STOP_POLL:
            self.checked = now
            self._requested = bool(self.event.is_set())
        return self._requested

    @requested.setter
    def requested(self, value: bool) -> None:
        self._requested = bool(value)


def train_remote(configs: list[dict], threads: int | None, channel: Any,
                 event: Any, backend: str | None = None,
                 plugin_files: list[dict] | None = None) -> GroupResult:
    """Train one group in a worker, reporting through ``channel``, stopping on ``event``;
    first load the parent's plugins (``plugin_files``: their paths, hashes and sources)."""
    plugins.ensure_loaded(plugin_files or [])
    return train_group(configs, reporter=_ChannelReporter(channel),
                       sink=_ChannelSink(channel), stop=_EventStop(event), threads=threads,
                       backend=backend)


def _ignore_sigint() -> None:
    """Workers (and the queue's manager) leave Ctrl-C, SIGTERM and SIGHUP to the parent,
    which stops them through the event: a signal to the whole process group (a closed
    terminal) must not kill them before the parent has their rows."""
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)


# --------------------------------------------------------------------------- #
# the parent side
# --------------------------------------------------------------------------- #


def _start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker with SIGHUP ignored (it ignores SIGINT and
    SIGTERM itself): a hangup of the process group must not kill it under the workers."""
    from multiprocessing import resource_tracker

    hup = getattr(signal, "SIGHUP", None)
    if hup is None or threading.current_thread() is not threading.main_thread():
        resource_tracker.ensure_running()
        return
    previous = signal.signal(hup, signal.SIG_IGN)  # inherited by the tracker's exec
    try:
        resource_tracker.ensure_running()
    finally:
        signal.signal(hup, previous)


def _plugin_files() -> list[dict]:
    """The plugin files of this process, sources included, for the workers to load."""
    return [f.as_dict() for f in plugins.loaded()]


def _deliver(message: list, reporter: Reporter, sink: MetricsSink) -> None:
    if message[0] == "progress":
        reporter.update([RunProgress(*row) for row in message[1]])
    else:
        sink.write(message[1], message[2])


def _collect(futures: list, drain, stop: StopFlag, event: Any,
             result_of) -> Iterator[GroupResult]:
    """Yield the results of ``futures`` as they complete, draining the channel meanwhile;
    on ``stop.requested`` set ``event`` and cancel the groups not started."""
    pending = list(futures)
    stopping = False
    while pending:
        drain()
        if stop.requested and not stopping:
            stopping = True
            event.set()
            for f in pending:
                f.cancel()
        finished = [f for f in pending if f.done()]
        for f in finished:
            pending.remove(f)
            if f.cancelled():
                continue
            drain()  # everything the group logged, before its results
            yield result_of(f)
        if not finished:
            _wait(pending)
    drain()


def _wait(pending: list) -> None:
    if hasattr(pending[0], "add_done_callback") and not hasattr(pending[0], "key"):
        wait(pending, timeout=POLL, return_when=FIRST_COMPLETED)
    else:
        time.sleep(POLL)


class ProcessExecutor:
    """Train groups on ``jobs`` worker processes (``spawn``ed: a fresh interpreter each),
    each with ``threads`` threads (default: this machine's cores shared among the jobs)."""

    def __init__(self, jobs: int, threads: int | None = None, backend: str | None = None):
        self.jobs = check_int("jobs", jobs, 1)
        self.threads = None if threads is None else check_int("threads", threads, 1)
        self.backend = backend

    def run_groups(self, groups: list[list[dict]], reporter: Reporter, sink: MetricsSink,
                   stop: StopFlag) -> Iterator[GroupResult]:
        if not groups:
            return
        threads = self.threads or max(1, default_threads() // min(self.jobs, len(groups)))
        ctx = multiprocessing.get_context("spawn")
        _start_resource_tracker()
        manager = SyncManager(ctx=ctx)
        manager.start(_ignore_sigint)
        with manager, ProcessPoolExecutor(
                min(self.jobs, len(groups)), mp_context=ctx, initializer=_ignore_sigint
        ) as pool:
            channel, event = manager.Queue(), manager.Event()

            def drain() -> None:
                while True:
                    try:
                        _deliver(channel.get_nowait(), reporter, sink)
                    except queue_module.Empty:
                        return

            files = _plugin_files()
            futures = [pool.submit(train_remote, g, threads, channel, event, self.backend,
                                   files) for g in groups]
            try:
                yield from _collect(futures, drain, stop, event, lambda f: f.result())
            finally:
                event.set()
                for f in futures:
                    f.cancel()


class DaskExecutor:
    """Train groups on a Dask distributed cluster: ``scheduler`` is its address
    (``tcp://host:8786``) or a ``distributed.Client``. The workers need nnbench installed
    (the same version, for the same numbers) and, for file-based tasks, the data."""

    def __init__(self, scheduler: Any, threads: int | None = None, timeout: float = 10.0,
                 backend: str | None = None):
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise NNBenchError(
                "--executor dask needs Dask distributed: "
                "pip install -e '.[dask]' in the nnbench checkout"
            ) from None
        if scheduler is None or scheduler == "":
            raise NNBenchError("--executor dask needs --scheduler ADDRESS "
                               "(e.g. tcp://127.0.0.1:8786)")
        self.scheduler = scheduler
        self.timeout = timeout  # seconds to reach the scheduler
        self.threads = None if threads is None else check_int("threads", threads, 1)
        self.backend = backend

    def _client(self) -> tuple[Any, bool]:
        from distributed import Client

        if isinstance(self.scheduler, Client):
            return self.scheduler, False
        try:
            return Client(self.scheduler, timeout=f"{self.timeout}s", set_as_default=False), True
        except OSError as err:
            raise NNBenchError(
                f"cannot reach the Dask scheduler at {self.scheduler}: {err}"
            ) from None

    def run_groups(self, groups: list[list[dict]], reporter: Reporter, sink: MetricsSink,
                   stop: StopFlag) -> Iterator[GroupResult]:
        from distributed import Event, Queue  # the optional dask extra

        if not groups:
            return
        client, own = self._client()
        tag = uuid.uuid4().hex
        channel = Queue(f"nnbench-{tag}", client=client)
        event = Event(f"nnbench-stop-{tag}", client=client)
        futures = []
        try:
            files = _plugin_files()
            futures = [client.submit(train_remote, g, self.threads, channel, event,
                                     self.backend, files, pure=False,
                                     key=f"nnbench-{tag}-{i}")
                       for i, g in enumerate(groups)]

            def drain() -> None:
                n = channel.qsize()
                if n:
                    for message in channel.get(batch=n):
                        _deliver(message, reporter, sink)

            yield from _collect(futures, drain, stop, event, lambda f: f.result())
        finally:
            event.set()
            for f in futures:
                f.cancel()
            if own:
                client.close()


def make_executor(executor: ExecutorName | str = "local", jobs: int = 1,
                  scheduler: str | None = None, threads: int | None = None,
                  backend: str | None = None) -> Any:
    """The executor for the command line's ``--executor``, ``--jobs``, ``--scheduler``,
    ``--threads`` and ``--backend``: local with one job trains here, one group after
    another. The backend is checked here, before anything is created."""
    backend = backend_choice(backend)
    if executor == "dask":
        return DaskExecutor(scheduler, threads, backend=backend)
    if executor not in choices(ExecutorName):
        raise NNBenchError(f"--executor must be 'local' or 'dask', got {executor!r}")
    if scheduler is not None:
        raise NNBenchError("--scheduler is for --executor dask")
    if check_int("jobs", jobs, 1) > 1:
        return ProcessExecutor(jobs, threads, backend)
    return SerialExecutor(None if threads is None else check_int("threads", threads, 1),
                          backend)
