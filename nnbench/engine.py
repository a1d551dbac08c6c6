"""The training engine: trains one group of runs on the runs axis.

A *group* is the set of runs of one grid cell that share an architecture and
differ only in seed, learning rate or other optimizer hyperparameters. They
train together as one stacked network (leading runs axis ``R``) with one
optimizer whose hyperparameters are ``(R,)`` arrays. A run's trajectory does
not depend on which other runs share its group: every random draw of run
``r`` comes from its own generator made from its seed.

The engine reports progress to a :class:`Reporter` (the console implements a
rich one) and logs metrics through a :class:`MetricsSink` (the store appends
them to CSV files). It knows nothing of terminals or files itself, except
for the optional final weights it is asked to write.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from nnbench.core.errors import NNBenchError, check_int

# --------------------------------------------------------------------------- #
# Progress reporting: the contract with the console.
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class RunInfo:
    """A run announced to the reporter before training starts.

    ``group`` is a short readable label of the group the run trains in (the
    cell of the grid, e.g. ``"mlp-sigmoid-d1-w100-adam"``); ``total`` the
    number of steps the run will make if it neither diverges nor stops early.
    """

    run_id: str
    group: str
    total: int


@dataclass(frozen=True)
class RunProgress:
    """The state of one run at an update.

    ``step`` counts updates made so far (0..total); ``loss`` is the most
    recently logged training loss (NaN before the first), ``best_loss`` the
    lowest logged so far; ``steps_per_s`` is measured over the group since
    its start; ``status`` is one of ``"pending"``, ``"running"``, ``"done"``,
    ``"diverged"``, ``"stopped"`` (stopped early, will be reported as done),
    ``"interrupted"``.
    """

    run_id: str
    step: int
    total: int
    loss: float
    best_loss: float
    steps_per_s: float
    status: str


@runtime_checkable
class Reporter(Protocol):
    """Receives training progress. The engine calls, for a whole experiment:

    ``start(runs)`` once with every run of the experiment (all groups, in
    training order), then ``update(progress)`` repeatedly (at most about ten
    times a second, plus once when each group ends) with the runs of the group
    in flight and any that changed status, then ``finish()`` once, also after
    an interruption (Ctrl-C) or an error.
    """

    def start(self, runs: list[RunInfo]) -> None: ...

    def update(self, progress: list[RunProgress]) -> None: ...

    def finish(self) -> None: ...


class NullReporter:
    """A reporter that ignores everything (tests, library use, ``--quiet``)."""

    def start(self, runs: list[RunInfo]) -> None:
        pass

    def update(self, progress: list[RunProgress]) -> None:
        pass

    def finish(self) -> None:
        pass


# --------------------------------------------------------------------------- #
# Metrics: the contract with the store.
# --------------------------------------------------------------------------- #


class MetricsSink(Protocol):
    """Receives logged rows as training goes (the store appends them to CSV).

    ``write(metrics, layers)`` gets lists of row dicts (keys: :func:`metric_columns`,
    :data:`LAYER_COLUMNS`); it is called every couple of seconds and at the end
    of a group, so that nothing logged is lost to an interruption.
    """

    def write(self, metrics: list[dict], layers: list[dict]) -> None: ...


class ListSink:
    """A sink that keeps every row in memory (tests, library use)."""

    def __init__(self) -> None:
        self.metrics: list[dict] = []
        self.layers: list[dict] = []

    def write(self, metrics: list[dict], layers: list[dict]) -> None:
        self.metrics.extend(metrics)
        self.layers.extend(layers)


class StopFlag:
    """Set ``requested`` (e.g. from a SIGINT handler) to stop training at the next step."""

    def __init__(self) -> None:
        self.requested = False


# --------------------------------------------------------------------------- #
# Results of a group
# --------------------------------------------------------------------------- #

LAYER_COLUMNS = ["run_id", "step", "layer", "grad_norm", "weight_norm", "update_ratio",
                 "saturated_frac", "dead_frac"]


def metric_columns(kind: str) -> list[str]:
    """The columns of metrics.csv for a task of ``kind``.

    ``train_loss`` is the full training loss at evaluation steps (every
    ``eval_every`` steps, the first and the last) and the loss of the step's
    minibatch at the other logged steps; with full batches the two agree (up
    to dropout-like noise in training mode).
    """
    cols = ["run_id", "step", "wall_s", "lr", "train_loss", "grad_norm"]
    if kind == "landscape":
        return cols + ["x0", "x1", "dist_to_min"]
    cols.append("val_loss")
    if kind == "classification":
        cols += ["train_acc", "val_acc"]
    return cols


@dataclass
class RunResult:
    """The outcome of one run. ``final_*`` are the last logged values (``final_test_*``
    are measured on the returned weights); ``best_*`` the lowest logged; steps count
    updates. ``weights`` are the run's final parameter arrays, each with a leading
    runs axis of length 1 (the shapes of ``MLP(..., runs=1).params``). ``extra`` holds a
    model's own results (``closed_form_loss``; the perceptron's ``converged``, ``updates``)."""

    run_id: str
    status: str
    steps_done: int
    diverged_step: int | None
    stopped_early: bool
    best_step: int | None
    final_train_loss: float
    best_train_loss: float
    final_val_loss: float
    best_val_loss: float
    final_train_acc: float
    final_val_acc: float
    final_test_loss: float
    final_test_acc: float
    wall_s: float
    weights: list
    extra: dict = field(default_factory=dict)

    def row(self) -> dict:
        """The result columns of runs.csv (everything but the weights), then ``extra``."""
        row = {k: v for k, v in self.__dict__.items() if k not in ("weights", "extra")}
        row.update(self.extra)
        return row


@dataclass
class GroupResult:
    """The runs of a group, in the order given, and whether training was interrupted."""

    runs: list[RunResult]
    interrupted: bool = False


# --------------------------------------------------------------------------- #
# Models
# --------------------------------------------------------------------------- #


def model_names() -> list[str]:
    """The names ``--model`` accepts: those registered in ``core.models``."""
    from nnbench.core.models import MODELS

    return MODELS.names()


def build_model(cfg: Any, task: Any, n_features: int, n_outputs: int,
                seeds: Sequence[int]) -> Any:
    """The stacked model of a group: one network with ``runs = len(seeds)``.

    ``mlp`` is ``MLP([d] + [width] * depth + [out], act, init, seed=seeds, runs=R,
    dtype)`` (``depth 0`` is a linear model, whose activation is unused); a
    landscape task gets ``task.model(runs, dtype)`` (the task was built with the run's
    ``start``: :func:`nnbench.config.make_task`); other names are looked up in
    ``nnbench.core.models.MODELS`` and built with ``n_features, n_outputs, seed,
    runs, dtype, init``.
    """
    runs = len(seeds)
    if getattr(task, "kind", "") == "landscape":
        return task.model(runs, cfg.dtype)
    from nnbench.core.models import MODELS, model_options

    if cfg.model == "mlp":
        from nnbench.core.mlp import MLP

        sizes = [n_features] + [int(cfg.width)] * int(cfg.depth) + [n_outputs]
        act = cfg.act if int(cfg.depth) > 0 else "sigmoid"  # unused without hidden layers
        return MLP(sizes, activation=act, init=cfg.init, seed=list(seeds), runs=runs,
                   dtype=cfg.dtype, **model_options(cfg))
    return MODELS.create(cfg.model, n_features=n_features, n_outputs=n_outputs,
                         seed=list(seeds), runs=runs, dtype=cfg.dtype, init=cfg.init,
                         **model_options(cfg))


def group_label(cfg: Any) -> str:
    """A readable label of a group: task, model and the architecture and optimizer."""
    if cfg.model == "mlp":
        arch = f"{cfg.act}-d{cfg.depth}-w{cfg.width}"
    else:
        arch = str(cfg.model)
    return f"{cfg.task}-{arch}-{cfg.optim}"


def schedule_factors(cfg: Any) -> np.ndarray:
    """The learning-rate factor of every step ``0..steps`` (float64), computed once."""
    from nnbench.core.schedules import schedule

    f = schedule(cfg.schedule, warmup_steps=cfg.warmup_steps, **cfg.schedule_kw)
    t = np.arange(int(cfg.steps) + 1)
    return np.broadcast_to(np.asarray(f(t), dtype=np.float64), t.shape).copy()


def batch_rng(seed: int) -> np.random.Generator:
    """The generator of a run's batch order: child 1 of the run's ``SeedSequence``
    (the network draws its initial weights from the ``SeedSequence`` itself)."""
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(1,)))


def _norms(arrays: Sequence[np.ndarray]) -> np.ndarray:
    """Per-run L2 norm over a list of ``(R, ...)`` arrays, in float64."""
    sq = 0.0
    for a in arrays:
        flat = a.reshape(a.shape[0], -1).astype(np.float64, copy=False)
        sq = sq + np.einsum("ij,ij->i", flat, flat)
    return np.sqrt(sq)


# --------------------------------------------------------------------------- #
# Training
# --------------------------------------------------------------------------- #

REPORT_INTERVAL = 0.1  # seconds between reporter updates
FLUSH_INTERVAL = 2.0  # seconds between sink writes
DIVERGE_FACTOR = 1e6  # a loss this many times its initial value counts as divergence


def _nan(R: int) -> np.ndarray:
    return np.full(R, np.nan)


#: above this many numbers a group's parameters are not gathered into one array
FLAT_MAX = 1 << 22


def flatten_params(net) -> np.ndarray | None:
    """Put ``net.params`` end to end in one ``(R, N)`` array, the params becoming views of
    it, so that the optimizer updates them in one pass of a dozen operations instead of a
    dozen per parameter array (most of a small network's optimizer time). Every update
    rule is elementwise, so the numbers are the same. ``None`` (nothing changed) for a
    single array, a very large network, or parameters that cannot be viewed that way."""
    params = list(net.params)
    if len(params) < 2 or sum(p.size for p in params) > FLAT_MAX:
        return None
    R = params[0].shape[0]
    flat = np.concatenate([p.reshape(R, -1) for p in params], axis=1)
    views, at = [], 0
    for p in params:
        size = p[0].size
        v = flat[:, at:at + size].reshape(p.shape)
        if not np.shares_memory(v, flat):
            return None
        views.append(v)
        at += size
    net.params = views
    return flat


def train_group(configs: Sequence[Any], *, reporter: Reporter | None = None,
                sink: MetricsSink | None = None, stop: StopFlag | None = None,
                data: Any = None, task: Any = None, threads: int | None = None,
                blocks: bool = True) -> GroupResult:
    """Train the runs ``configs`` (resolved :class:`~nnbench.config.RunConfig` or their
    dicts) as one group and return their results in the same order.

    The runs must agree on everything but ``seed``, ``lr`` and ``run_id``. Each step:
    the loss and gradients of every run on its batch, then one optimizer update with
    the per-run learning rates ``lr_r * schedule(t)``. Logged rows go to ``sink``;
    progress to ``reporter``; ``stop.requested`` (or Ctrl-C) ends training at the next
    step with the runs in flight ``interrupted``. ``data``/``task`` may be passed to
    avoid loading them again.

    Execution (never the numbers): ``blocks`` computes an MLP's passes in cache-sized
    blocks (:mod:`nnbench.core.parallel`; the same numbers whatever ``threads``), run on
    ``threads`` threads (default: the cores this process may use).
    """
    from nnbench.config import RunConfig, group_key

    cfgs = [c if isinstance(c, RunConfig) else RunConfig.from_dict(c) for c in configs]
    if not cfgs:
        return GroupResult([])
    keys = {group_key(c) for c in cfgs}
    if len(keys) != 1:
        raise NNBenchError("the runs of a group must differ only in seed and lr")
    trainer = _GroupTrainer(cfgs, reporter or NullReporter(), sink or ListSink(),
                            stop or StopFlag(), data, task)
    if not blocks or not hasattr(trainer.net, "chunking"):
        return trainer.run()
    from concurrent.futures import ThreadPoolExecutor

    from nnbench.core.parallel import Chunking, default_threads, keep_freed_memory

    threads = default_threads() if threads is None else check_int("threads", threads, 1)
    keep_freed_memory()
    with ThreadPoolExecutor(threads) if threads > 1 else _no_pool() as pool, \
            _one_blas_thread(threads > 1):
        trainer.net.chunking = Chunking(pool=pool, threads=threads)
        try:
            return trainer.run()
        finally:
            trainer.net.chunking = None


@contextmanager
def _no_pool() -> Iterator[None]:
    yield None


@contextmanager
def _one_blas_thread(active: bool) -> Iterator[None]:
    """While our threads run the blocks, BLAS runs each block's matmul on one thread
    (threads x BLAS threads would oversubscribe the cores); needs ``threadpoolctl``,
    otherwise BLAS keeps its own setting (``OPENBLAS_NUM_THREADS``)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        active = False
    if not active:
        yield None
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield None


class _GroupTrainer:
    """The state of one group's training; :meth:`run` is the loop."""

    def __init__(self, cfgs, reporter, sink, stop, data, task):
        from nnbench.config import FULL_BATCH, make_task

        self.cfgs = cfgs
        c = self.cfg = cfgs[0]
        self.reporter, self.sink, self.stop = reporter, sink, stop
        self.task = task if task is not None else make_task(c)
        self.kind = getattr(self.task, "kind", "regression")
        self.R = R = len(cfgs)
        self.ids = [x.run_id for x in cfgs]
        self.seeds = [int(x.seed) for x in cfgs]
        self.base_lr = np.array([float(x.lr) for x in cfgs])
        self.steps = int(c.steps)
        self.columns = metric_columns(self.kind)
        if self.kind == "landscape":
            self.data = None
            n_features = n_outputs = 2
        else:
            self.data = data if data is not None else self.task.load(
                seed=c.data_seed, val_frac=c.val_frac, dtype=c.dtype)
            n_features, n_outputs = self.data.n_features, self.data.n_outputs
        self.net = build_model(c, self.task, n_features, n_outputs, self.seeds)
        from nnbench.core.optimizers import clip_grad_norm, optimizer

        self.clip_grad_norm = clip_grad_norm
        self.opt = optimizer(c.optim, lr=self.base_lr if R > 1 else float(self.base_lr[0]),
                             **c.hp)
        self.flat = flatten_params(self.net)
        self.opt_state = self.opt.init(self.net.params if self.flat is None else [self.flat])
        self.factors = schedule_factors(c)
        if self.data is not None:
            from nnbench.core.losses import LOSSES

            self.loss_name = c.loss
            self.loss_obj = LOSSES.create(c.loss)
            self.classify = bool(getattr(self.loss_obj, "takes_labels", False))
            n = len(self.data.X_train)
            self.full = c.batch_size == FULL_BATCH or int(c.batch_size) >= n
            self.b = n if self.full else int(c.batch_size)
            self.spe = -(-n // self.b)
            self.rngs = [batch_rng(s) for s in self.seeds]
            self.has_val = self.data.X_val is not None and len(self.data.X_val) > 0
        else:
            self.loss_name, self.loss_obj, self.classify = None, None, False
            self.full, self.has_val = True, False
        self.patience = c.patience if self.has_val else None
        # per-run state
        self.active = np.ones(R, dtype=bool)
        self.status = ["running"] * R
        self.steps_done = np.zeros(R, dtype=np.int64)
        self.diverged_step: list[int | None] = [None] * R
        self.stopped_early = [False] * R
        self.limit = np.full(R, np.inf)
        self.last = {k: _nan(R) for k in ("train_loss", "val_loss", "train_acc", "val_acc")}
        self.best_train = np.full(R, np.inf)
        self.best_val = np.full(R, np.inf)
        self.best_step = np.full(R, -1, dtype=np.int64)
        self.wait = np.zeros(R, dtype=np.int64)
        self.best_params = None
        self.final: dict[int, list[np.ndarray]] = {}  # weights of runs that stopped
        self.end_wall = _nan(R)
        self.pending_metrics: list[dict] = []
        self.pending_layers: list[dict] = []

    # -- batches -----------------------------------------------------------------------
    def batch(self, t: int):
        d = self.data
        if self.full:
            return d.X_train, d.y_train
        j = t % self.spe
        if j == 0:
            n = len(d.X_train)
            self.perms = np.stack([rng.permutation(n) for rng in self.rngs])
        idx = self.perms[:, j * self.b:(j + 1) * self.b]
        return d.X_train[idx], d.y_train[idx]

    # -- evaluation ----------------------------------------------------------------------
    def _eval_set(self, X, Y) -> tuple[np.ndarray, np.ndarray]:
        out = self.net.forward(X, train=False)
        C, _ = self.loss_obj(out, Y)
        C = np.asarray(C, dtype=np.float64)
        if self.classify:
            acc = (self.loss_obj.predict(out) == Y).mean(axis=-1)
        else:
            acc = _nan(self.R)
        return C, acc

    def _step_is_evaluation(self) -> bool:
        """Whether the training step's loss is already the full training loss: a full
        batch, nothing random in the pass, and no accuracy to compute from its outputs."""
        net = self.net
        return (self.full and not self.classify and not getattr(net, "dropout", 0.0)
                and not getattr(getattr(net, "activation", None), "random", False))

    def evaluate(self, loss: np.ndarray) -> dict[str, np.ndarray]:
        """Train (and validation) loss and accuracy; ``loss`` is the step's, used as the
        training loss when :meth:`_step_is_evaluation` (no second pass over the data)."""
        d = self.data
        ev = {}
        if self._step_is_evaluation():
            ev["train_loss"], ev["train_acc"] = loss, _nan(self.R)
        else:
            ev["train_loss"], ev["train_acc"] = self._eval_set(d.X_train, d.y_train)
            if getattr(self.net, "l2", 0):  # the objective trained: data loss + L2 penalty
                ev["train_loss"] = ev["train_loss"] + self.net.penalty()
        if self.has_val:
            ev["val_loss"], ev["val_acc"] = self._eval_set(d.X_val, d.y_val)
        return ev

    # -- the loop ------------------------------------------------------------------------
    def run(self) -> GroupResult:
        self.t0 = time.perf_counter()
        self.last_report = self.last_flush = self.t0
        interrupted = False
        try:
            with np.errstate(all="ignore"):
                interrupted = self._loop()
        except KeyboardInterrupt:
            interrupted = True
        if interrupted:
            now = time.perf_counter() - self.t0
            for r in np.flatnonzero(self.active):
                self.status[r] = "interrupted"
                self.end_wall[r] = now
            self.active[:] = False
        self.flush()
        results = self.results()
        self.report()
        return GroupResult(results, interrupted)

    def _loop(self) -> bool:
        steps, log_every, eval_every = self.steps, self.cfg.log_every, self.cfg.eval_every
        net, clip = self.net, self.cfg.clip
        recordable = hasattr(net, "record")
        may_converge = hasattr(net, "finished")
        for t in range(steps + 1):
            if self.stop.requested:
                return True
            Xb, Yb = (None, None) if self.data is None else self.batch(t)
            if recordable:  # keep the hidden layers only where this step may log
                net.record = t % log_every == 0 or t == steps or may_converge
            loss, grads = net.loss_and_grads(Xb, Yb, loss=self.loss_name, train=True)
            loss = np.asarray(loss, dtype=np.float64)
            if t == 0:
                # a run starting at loss 0 (the perceptron from zero weights) has no scale
                self.limit = np.where(loss == 0, np.inf,
                                      DIVERGE_FACTOR * np.maximum(np.abs(loss), 1e-12))
            bad = self.active & ~(np.abs(loss) <= self.limit)  # NaN counts as bad
            if bad.any():
                self.diverge(t, loss, bad)
                if not self.active.any():
                    break
            conv = self.converged(t)
            log_now = t % log_every == 0 or t == steps or conv.any()
            eval_now = t % eval_every == 0 or t == steps or conv.any()
            if log_now or eval_now:
                self.log(t, loss, grads, log_now, eval_now)
            for r in np.flatnonzero(conv & self.active):  # the perceptron: nothing left to do
                self.status[r] = "done"
                self.steps_done[r] = t
                self.freeze(r)
            if (log_now or eval_now or conv.any()) and not self.active.any():
                break
            if t == steps:
                break
            if clip is not None:
                self.clip_grad_norm(grads, clip)
            factor = self.factors[t]
            lr_t = self.base_lr * factor if self.R > 1 else float(self.base_lr[0] * factor)
            if self.flat is not None:  # one update over the group's parameters, end to end
                params = [self.flat]
                grads = [np.concatenate([g.reshape(self.R, -1) for g in grads], axis=1)]
            else:
                params = net.params
            if log_now and net.weights:
                before = [W.copy() for W in net.weights]
                self.opt.update(params, grads, self.opt_state, lr=lr_t)
                self.update_ratios(before)
            else:
                self.opt.update(params, grads, self.opt_state, lr=lr_t)
            self.steps_done[self.active] = t + 1
            now = time.perf_counter()  # ~0.1 us, against >= tens of us for a step
            if now - self.last_report >= REPORT_INTERVAL:
                self.last_report = now
                self.report()
            if now - self.last_flush >= FLUSH_INTERVAL:
                self.flush()
        now = time.perf_counter() - self.t0
        for r in np.flatnonzero(self.active):
            self.status[r] = "done"
            self.end_wall[r] = now
        self.active[:] = False
        return False

    def converged(self, t: int) -> np.ndarray:
        """Runs whose model says, at an epoch boundary, that training is over (a model with
        ``finished(n_train) -> (R,) bool``: the perceptron after an epoch without update)."""
        finished = getattr(self.net, "finished", None)
        if finished is None or self.data is None or t == 0 or t % self.spe:
            return np.zeros(self.R, dtype=bool)
        return self.active & np.asarray(finished(len(self.data.X_train)), dtype=bool)

    def wall(self) -> float:
        return time.perf_counter() - self.t0

    def lr_at(self, t: int) -> np.ndarray:
        return self.base_lr * self.factors[t]

    def freeze(self, r: int, weights: list[np.ndarray] | None = None) -> None:
        """Stop run ``r``: its weights are kept (or set to ``weights``), it logs no more."""
        self.final[r] = weights if weights is not None else [
            p[r:r + 1].copy() for p in self.net.params]
        self.active[r] = False
        self.end_wall[r] = self.wall()

    def diverge(self, t: int, loss: np.ndarray, bad: np.ndarray) -> None:
        wall, lr = self.wall(), self.lr_at(t)
        for r in np.flatnonzero(bad):
            row = dict.fromkeys(self.columns, np.nan)
            row.update(run_id=self.ids[r], step=t, wall_s=wall, lr=lr[r],
                       train_loss=float(loss[r]))
            self.pending_metrics.append(row)
            self.last["train_loss"][r] = loss[r]
            self.status[r] = "diverged"
            self.diverged_step[r] = t
            self.steps_done[r] = t
            self.freeze(r)

    def log(self, t: int, loss: np.ndarray, grads, log_now: bool, eval_now: bool) -> None:
        act = np.flatnonzero(self.active)
        wall, lr = self.wall(), self.lr_at(t)
        gnorm = _norms(grads)
        cols: dict[str, np.ndarray] = {"train_loss": loss}
        if self.kind == "landscape":
            P = np.asarray(self.net.params[0], dtype=np.float64).reshape(self.R, 2)
            cols["x0"], cols["x1"] = P[:, 0], P[:, 1]
            cols["dist_to_min"] = np.asarray(self.task.distance_to_min(P), dtype=np.float64)
        stats = self.net.layer_stats() if log_now else []
        if eval_now and self.data is not None:
            ev = self.evaluate(loss)
            cols.update(ev)
            for k, v in ev.items():
                self.last[k] = np.where(self.active, v, self.last[k])
        else:
            self.last["train_loss"] = np.where(self.active, loss, self.last["train_loss"])
        self.best_train = np.where(self.active, np.fmin(self.best_train, cols["train_loss"]),
                                   self.best_train)
        for r in act:
            row = dict.fromkeys(self.columns, np.nan)
            row.update(run_id=self.ids[r], step=t, wall_s=wall, lr=float(lr[r]),
                       grad_norm=float(gnorm[r]))
            for k, v in cols.items():
                if k in row:
                    row[k] = float(v[r])
            self.pending_metrics.append(row)
        if log_now and self.net.weights:
            self._layer_rows(t, grads, stats, act)
        if eval_now and self.has_val:
            self.early_stopping(t, cols["val_loss"])

    def _layer_rows(self, t: int, grads, stats, act) -> None:
        net = self.net
        L = net.n_layers
        self._open_layers = []
        for l in range(L):
            W, gW = net.weights[l], grads[2 * l]
            g, w = _norms([gW]), _norms([W])
            st = stats[l] if l < len(stats) else {}
            for r in act:
                row = {"run_id": self.ids[r], "step": t, "layer": l + 1,
                       "grad_norm": float(g[r]), "weight_norm": float(w[r]),
                       "update_ratio": np.nan,
                       "saturated_frac": float(st["saturated_frac"][r])
                       if "saturated_frac" in st else np.nan,
                       "dead_frac": float(st["dead_frac"][r]) if "dead_frac" in st else np.nan}
                self.pending_layers.append(row)
                self._open_layers.append((row, l, r))

    def update_ratios(self, before: list[np.ndarray]) -> None:
        """``||W_(t+1) - W_t|| / ||W_t||`` into the layer rows just logged."""
        rows = getattr(self, "_open_layers", [])
        if not rows:
            return
        ratios = []
        for l, W0 in enumerate(before):
            dW = _norms([self.net.weights[l] - W0])
            ratios.append(dW / np.where(_norms([W0]) > 0, _norms([W0]), np.nan))
        for row, l, r in rows:  # a run that stopped at this step made no update
            row["update_ratio"] = float(ratios[l][r]) if self.active[r] else np.nan
        self._open_layers = []

    def early_stopping(self, t: int, val: np.ndarray) -> None:
        improved = self.active & (val < self.best_val)
        self.best_val = np.where(improved, val, self.best_val)
        self.best_step = np.where(improved, t, self.best_step)
        self.wait = np.where(improved, 0, self.wait + self.active)
        if self.patience is None:
            return
        params = self.net.params
        if self.best_params is None:
            self.best_params = [p.copy() for p in params]
        elif improved.any():
            for b, p in zip(self.best_params, params, strict=True):
                b[improved] = p[improved]
        for r in np.flatnonzero(self.active & (self.wait >= self.patience)):
            self.status[r] = "done"
            self.stopped_early[r] = True
            self.steps_done[r] = t
            self.freeze(r, [b[r:r + 1].copy() for b in self.best_params])

    # -- output --------------------------------------------------------------------------
    def flush(self) -> None:
        if self.pending_metrics or self.pending_layers:
            m, la = self.pending_metrics, self.pending_layers
            self.pending_metrics, self.pending_layers = [], []
            self.sink.write(m, la)
        self.last_flush = time.perf_counter()

    def progress(self) -> list[RunProgress]:
        elapsed = max(self.wall(), 1e-9)
        out = []
        for r in range(self.R):
            status = self.status[r]
            if status == "done" and self.stopped_early[r]:
                status = "stopped"
            best = self.best_train[r]
            out.append(RunProgress(self.ids[r], int(self.steps_done[r]), self.steps,
                                   float(self.last["train_loss"][r]),
                                   float(best) if np.isfinite(best) else float("nan"),
                                   float(self.steps_done[r]) / elapsed, status))
        return out

    def report(self) -> None:
        self.reporter.update(self.progress())

    def results(self) -> list[RunResult]:
        R = self.R
        weights = []
        for r in range(R):
            if r in self.final:
                weights.append(self.final[r])
            elif self.best_params is not None and self.patience is not None:
                weights.append([b[r:r + 1].copy() for b in self.best_params])
            else:
                weights.append([p[r:r + 1].copy() for p in self.net.params])
        test_loss, test_acc = _nan(R), _nan(R)
        d = self.data
        if d is not None and d.X_test is not None and len(d.X_test):
            self.net.params[:] = [np.concatenate([w[i] for w in weights])
                                  for i in range(len(self.net.params))]
            with np.errstate(all="ignore"):
                test_loss, test_acc = self._eval_set(d.X_test, d.y_test)
        extra: dict[str, np.ndarray] = {}
        if d is not None and hasattr(self.net, "extra_results"):
            with np.errstate(all="ignore"):
                extra = self.net.extra_results(d, self.loss_name)
        out = []
        for r in range(R):
            ok = self.status[r] == "done"
            best_step = int(self.best_step[r]) if self.best_step[r] >= 0 else None
            best_val = float(self.best_val[r]) if np.isfinite(self.best_val[r]) else np.nan
            best_train = (float(self.best_train[r]) if np.isfinite(self.best_train[r])
                          else np.nan)
            out.append(RunResult(
                run_id=self.ids[r], status=self.status[r], steps_done=int(self.steps_done[r]),
                diverged_step=self.diverged_step[r], stopped_early=self.stopped_early[r],
                best_step=best_step,
                final_train_loss=float(self.last["train_loss"][r]),
                best_train_loss=best_train,
                final_val_loss=float(self.last["val_loss"][r]), best_val_loss=best_val,
                final_train_acc=float(self.last["train_acc"][r]),
                final_val_acc=float(self.last["val_acc"][r]),
                final_test_loss=float(test_loss[r]) if ok else np.nan,
                final_test_acc=float(test_acc[r]) if ok else np.nan,
                wall_s=float(self.end_wall[r]), weights=weights[r],
                extra={k: v[r].item() for k, v in extra.items()}))
        return out
