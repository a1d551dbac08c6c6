"""Training one group of runs on the runs axis: the loop of steps, its logs and its results.

One step of :meth:`GroupTrainer._loop`: the batch of every run (:meth:`GroupTrainer.batch`),
the loss and gradients of all runs at once (``net.loss_and_grads``, the model's pass),
divergence and logging, then one optimizer update with the per-run learning rates
``lr_r * schedule(t)`` (:meth:`GroupTrainer.lr_at`). Per-run state is one
:class:`RunState` of ``(R,)`` arrays.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from nnbench.config import RunConfig, group_key
from nnbench.core.errors import NNBenchError
from nnbench.core.kernels.updates import update_plan
from nnbench.core.losses import LOSSES
from nnbench.core.models import Model, build_model
from nnbench.core.optimizers import clip_grad_norm, optimizer
from nnbench.core.schedules import schedule
from nnbench.engine.protocols import (
    ListSink,
    MetricsSink,
    NullReporter,
    Reporter,
    RunProgress,
    StopFlag,
)
from nnbench.engine.results import GroupResult, RunResult, RunState, metric_columns, nan_runs
from nnbench.engine.speed import execution, flat_grads, flatten_params
from nnbench.schema import FULL_BATCH, optimizer_hyper
from nnbench.tasks.build import make_task

REPORT_INTERVAL = 0.1  # seconds between reporter updates
FLUSH_INTERVAL = 2.0  # seconds between sink writes
DIVERGE_FACTOR = 1e6  # a loss this many times its initial value counts as divergence


def group_label(cfg: Any) -> str:
    """A readable label of a group: task, model and the architecture and optimizer."""
    if cfg.model == "mlp":
        arch = f"{cfg.act}-d{cfg.depth}-w{cfg.width}"
        if getattr(cfg, "residual", None):
            arch += "-residual"
    else:
        arch = str(cfg.model)
    return f"{cfg.task}-{arch}-{cfg.optim}"


class ScheduleFactors:
    """The learning-rate factor of step ``t`` (float64), ``factors[t]`` for ``t`` in
    ``0..steps``, computed a block of :attr:`BLOCK` steps at a time (the block holding
    ``t``), so that the memory does not grow with the number of steps.

    Each block is the schedule evaluated on an array of steps that starts at a multiple
    of :attr:`BLOCK`, in the same vectorized arithmetic as one array of every step: the
    factors are the same bit for bit (tested for every schedule).
    """

    BLOCK = 4096

    def __init__(self, cfg: Any):
        self.f = schedule(cfg.schedule, warmup_steps=cfg.warmup_steps, **cfg.schedule_kw)
        self.steps = int(cfg.steps)
        self.start = -1
        self.block = np.empty(0)

    def __len__(self) -> int:
        return self.steps + 1

    def __getitem__(self, t: int) -> float:
        t = int(t)
        if not 0 <= t <= self.steps:
            raise IndexError(f"step {t} outside 0..{self.steps}")
        start = t - t % self.BLOCK
        if start != self.start:
            steps = np.arange(start, min(start + self.BLOCK, self.steps + 1))
            self.block = np.broadcast_to(np.asarray(self.f(steps), dtype=np.float64),
                                         steps.shape).copy()
            self.start = start
        return self.block[t - start]


def schedule_factors(cfg: Any) -> ScheduleFactors:
    """The learning-rate factors of the run's steps ``0..steps`` (:class:`ScheduleFactors`:
    ``factors[t]``, computed a block of steps at a time)."""
    return ScheduleFactors(cfg)


def batch_rng(seed: int) -> np.random.Generator:
    """The generator of a run's batch order: child 1 of the run's ``SeedSequence``
    (the network draws its initial weights from the ``SeedSequence`` itself)."""
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(1,)))


def _squares(a: np.ndarray) -> np.ndarray:
    """Per-run sum of squares of an ``(R, ...)`` array, in float64."""
    flat = a.reshape(a.shape[0], -1).astype(np.float64, copy=False)
    return np.einsum("ij,ij->i", flat, flat)


def _norms(arrays: Sequence[np.ndarray], squares: Sequence[np.ndarray] | None = None
           ) -> np.ndarray:
    """Per-run L2 norm over a list of ``(R, ...)`` arrays, in float64: the square root of
    their sums of squares added in order (``squares``: those sums, already taken)."""
    sq = 0.0
    for s in (squares if squares is not None else map(_squares, arrays)):
        sq = sq + s
    return np.sqrt(sq)


def _floats(a: Any) -> list[float]:
    """The values of a ``(R,)`` array as Python floats (as ``float(a[r])`` gives each, at
    once: a logged step builds a row per run)."""
    return np.asarray(a, dtype=np.float64).tolist()


def switch_steps(state: Any) -> np.ndarray | None:
    """The ``(R,)`` steps at which the runs of an optimizer state switched rule (SWATS's
    ``switch_step``, also under Lookahead), or ``None`` for a rule that never switches."""
    while state is not None:
        steps = getattr(state, "switch_step", None)
        if steps is not None:
            return np.asarray(steps)
        state = getattr(state, "base", None)
    return None


def train_group(configs: Sequence[Any], *, reporter: Reporter | None = None,
                sink: MetricsSink | None = None, stop: StopFlag | None = None,
                data: Any = None, task: Any = None, threads: int | None = None,
                blocks: bool = True, backend: str | None = None) -> GroupResult:
    """Train the runs ``configs`` (resolved :class:`~nnbench.config.RunConfig` or their
    dicts) as one group and return their results in the same order.

    The runs must agree on everything but ``seed``, ``lr`` and ``run_id``. Each step:
    the loss and gradients of every run on its batch, then one optimizer update with
    the per-run learning rates ``lr_r * schedule(t)``. Logged rows go to ``sink``;
    progress to ``reporter``; ``stop.requested`` (or Ctrl-C) ends training at the next
    step with the runs in flight ``interrupted``. ``data``/``task`` may be passed to
    avoid loading them again.

    Execution (never the numbers beyond float rounding): ``blocks`` computes an MLP's
    passes in cache-sized blocks (:mod:`nnbench.core.parallel`; the same numbers whatever
    ``threads``), run on ``threads`` threads (default: the cores this process may use);
    ``backend`` ``auto`` (default, or ``NNBENCH_BACKEND``) takes a compiled kernel where one
    covers the pass, ``numpy`` never, ``numba`` always (an error where none does); the
    result's ``backend`` says which one trained.
    """
    cfgs = [c if isinstance(c, RunConfig) else RunConfig.from_dict(c) for c in configs]
    if not cfgs:
        return GroupResult([])
    keys = {group_key(c) for c in cfgs}
    if len(keys) != 1:
        raise NNBenchError("the runs of a group must differ only in seed and lr")
    trainer = GroupTrainer(cfgs, reporter or NullReporter(), sink or ListSink(),
                           stop or StopFlag(), data, task)
    with execution(trainer.net, threads, blocks, backend, trainer.loss_name) as used:
        result = trainer.run()
    result.backend = used
    return result


class GroupTrainer:
    """The state of one group's training; :meth:`run` is the loop."""

    def __init__(self, cfgs, reporter, sink, stop, data, task):
        self.cfgs = cfgs
        c = self.cfg = cfgs[0]
        self.reporter, self.sink, self.stop = reporter, sink, stop
        self.task = task if task is not None else make_task(c)
        self.kind = self.task.kind
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
        self.net: Model = build_model(c, self.task, n_features, n_outputs, self.seeds)
        if self.data is not None and hasattr(self.net, "fit"):  # a closed-form model
            self.net.fit(self.data)
        self.opt = optimizer(c.optim, lr=self.base_lr if R > 1 else float(self.base_lr[0]),
                             **optimizer_hyper(c))
        self.flat = flatten_params(self.net)
        self.opt_state = self.opt.init(self.net.params if self.flat is None else [self.flat])
        self.factors = schedule_factors(c)
        self.perms: np.ndarray | None = None  # each run's order of the training set
        if self.data is not None:
            self.loss_name = c.loss
            self.loss_obj = LOSSES.create(c.loss)
            # labels, or one-hot targets of them (half_sse, bce): accuracy of predict
            self.classify = self.loss_obj.labels_in(self.data.y_train)
            n = len(self.data.X_train)
            self.full = c.batch_size == FULL_BATCH or int(c.batch_size) >= n
            self.b = n if self.full else int(c.batch_size)
            self.spe = -(-n // self.b)
            self.rngs = [batch_rng(s) for s in self.seeds]
            self.in_order = c.shuffle is False  # batches in the training set's order
            self.has_val = self.data.X_val is not None and len(self.data.X_val) > 0
        else:
            self.loss_name, self.loss_obj, self.classify = None, None, False
            self.full, self.has_val = True, False
        self.patience = c.patience if self.has_val else None
        self.state = RunState.new(R)
        self.best_params: list[np.ndarray] | None = None
        self.final: dict[int, list[np.ndarray]] = {}  # weights of runs that stopped
        self.pending_metrics: list[dict] = []
        self.pending_layers: list[dict] = []
        self.open_layers: list[tuple[dict, int, int]] = []  # rows awaiting update_ratio
        self.weight_norms: tuple[int, list[np.ndarray]] = (-1, [])  # (step, the rows')
        self.t0 = self.last_report = self.last_flush = time.perf_counter()

    # -- batches -----------------------------------------------------------------------
    def batch(self, t: int):
        d = self.data
        if self.full:
            return d.X_train, d.y_train
        j = t % self.spe
        if self.in_order:  # the same slice for every run: (b, d), broadcast over the runs
            return d.X_train[j * self.b:(j + 1) * self.b], d.y_train[j * self.b:(j + 1) * self.b]
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
            acc = nan_runs(self.R)
        return C, acc

    def _step_is_evaluation(self) -> bool:
        """Whether the training step's loss is already the full training loss: a full
        batch, nothing random in the pass, and no accuracy to compute from its outputs."""
        return self.full and not self.classify and not self.net.noisy

    def eval_sets(self) -> dict[str, np.ndarray]:
        """The evaluation's passes at the current weights: the training set's loss (with
        the L2 penalty: the objective trained) and accuracy, unless
        :meth:`_step_is_evaluation`, and the validation set's."""
        d = self.data
        ev = {}
        if not self._step_is_evaluation():
            ev["train_loss"], ev["train_acc"] = self._eval_set(d.X_train, d.y_train)
            if self.net.l2:  # the objective trained: data loss + L2 penalty
                ev["train_loss"] = ev["train_loss"] + self.net.penalty()
        if self.has_val:
            ev["val_loss"], ev["val_acc"] = self._eval_set(d.X_val, d.y_val)
        return ev

    def evaluate(self, loss: np.ndarray,
                 sets: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        """Train (and validation) loss and accuracy; ``loss`` is the step's, used as the
        training loss when :meth:`_step_is_evaluation` (no second pass over the data);
        ``sets``: :meth:`eval_sets`, taken before (else now)."""
        ev = self.eval_sets() if sets is None else sets
        if self._step_is_evaluation():
            ev = {"train_loss": loss, "train_acc": nan_runs(self.R), **ev}
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
            self.state.end(self.state.active, "interrupted", time.perf_counter() - self.t0)
        self.flush()
        results = self.results()
        self.report()
        return GroupResult(results, interrupted)

    def _compiled(self) -> tuple[Any, Any]:
        """The compiled pass the backend gave the network, and the compiled update of the
        optimizer over the flat parameters (each ``None`` where there is none): with both
        and no L2 or clipping, a step is one compiled call
        (:meth:`~nnbench.core.kernels.KernelPass.train_step`), one that logs too."""
        kernel = getattr(self.net, "kernel", None)
        if kernel is None or self.flat is None:
            return kernel, None
        return kernel, update_plan(self.opt, self.opt_state, self.flat)

    def _loop(self) -> bool:
        steps, log_every, eval_every = self.steps, self.cfg.log_every, self.cfg.eval_every
        net, clip, st = self.net, self.cfg.clip, self.state
        kernel, plan = self._compiled()
        fusable = plan is not None and clip is None and not net.l2 and not net.can_finish
        # early stopping keeps the weights of the step it logs: those before the update
        logs_fused = fusable and self.patience is None
        full_batch = None  # the full batch, prepared for the kernel once
        for t in range(steps + 1):
            if self.stop.requested:
                return True
            Xb, Yb = (None, None) if self.data is None else self.batch(t)
            logs = t % log_every == 0 or t == steps
            evals = t % eval_every == 0 or t == steps
            # keep the hidden layers only where this step may log
            net.record = logs or net.can_finish
            # the pass and the update in one compiled call, a logging step's too where what
            # it logs can be taken around the call (not the first step, which sets the
            # divergence limit, nor the last, which makes no update)
            fused = fusable and 0 < t < steps and (logs_fused or not (logs or evals))
            if fused:
                if self.full and full_batch is not None:
                    batch = full_batch
                else:
                    batch = kernel.prepare(Xb, Yb)
                    full_batch = batch if self.full else None
                lr_t = self.lr_at(t)
                # what a logging step measures at the weights the update moves: before it
                sets = self.eval_sets() if evals else None
                before = [W.copy() for W in net.weights] if logs and net.weights else None
                # a run that fails the divergence test below is not updated, as the NumPy
                # path freezes its weights before its update; a stopped run is not either
                loss = kernel.train_step(self.flat, batch, plan,
                                         lr_t if self.R > 1 else float(lr_t[0]),
                                         st.kernel_limit(),
                                         net.dropout_masks(batch.n), stats=logs)
                loss, stats = loss if logs else (loss, None)
            else:
                loss, grads = net.loss_and_grads(Xb, Yb, loss=self.loss_name, train=True)
            loss = np.asarray(loss, dtype=np.float64)
            if t == 0:
                # a run starting at loss 0 (the perceptron from zero weights) has no scale
                st.limit = np.where(loss == 0, np.inf,
                                    DIVERGE_FACTOR * np.maximum(np.abs(loss), 1e-12))
            bad = st.active & ~(np.abs(loss) <= st.limit)  # NaN counts as bad
            if np.count_nonzero(bad):  # (a third of bad.any()'s time, every step)
                self.diverge(t, loss, bad)
                if not st.active.any():
                    break
            if fused:
                if logs or evals:
                    self.log(t, loss, kernel.step_grads(), logs, evals, sets=sets,
                             stats=None if stats is None else stats.layer_stats(None),
                             weights=before)
                if before is not None:
                    self.update_ratios(before, t)
                self._after_update(t)
                continue
            conv = self.converged(t)
            log_now = logs or conv.any()
            eval_now = evals or conv.any()
            if log_now or eval_now:
                self.log(t, loss, grads, log_now, eval_now)
            for r in np.flatnonzero(conv & st.active):  # the perceptron: nothing left to do
                st.set_status(r, "done")
                st.steps_done[r] = t
                self.freeze(r)
            if (log_now or eval_now or conv.any()) and not st.active.any():
                break
            if t == steps:
                break
            if clip is not None:
                clip_grad_norm(grads, clip)
            lr_t = self.lr_at(t)
            lr_t = lr_t if self.R > 1 else float(lr_t[0])
            if self.flat is not None:  # one update over the group's parameters, end to end
                params = [self.flat]
                grads = [flat_grads(grads, self.R)]
            else:
                params = net.params
            before = [W.copy() for W in net.weights] if log_now and net.weights else None
            if plan is not None:  # the compiled update, the same as in a fused step
                plan.apply(self.flat, grads[0], lr_t)
            else:
                self.opt.update(params, grads, self.opt_state, lr=lr_t)
            if before is not None:
                self.update_ratios(before, t)
            self._after_update(t)
        st.end(st.active, "done", time.perf_counter() - self.t0)
        return False

    def _after_update(self, t: int) -> None:
        """The end of step ``t``: its runs' steps counted, progress reported and rows
        written now and then."""
        st = self.state
        st.steps_done[st.active] = t + 1
        now = time.perf_counter()  # ~0.1 us, against >= tens of us for a step
        if now - self.last_report >= REPORT_INTERVAL:
            self.last_report = now
            self.report()
        if now - self.last_flush >= FLUSH_INTERVAL:
            self.flush()

    def converged(self, t: int) -> np.ndarray:
        """Runs whose model says, at an epoch boundary, that training is over (a model that
        ``can_finish``: the perceptron after an epoch without update)."""
        if not self.net.can_finish or self.data is None or t == 0 or t % self.spe:
            return np.zeros(self.R, dtype=bool)
        return self.state.active & np.asarray(self.net.finished(len(self.data.X_train)),
                                              dtype=bool)

    def wall(self) -> float:
        return time.perf_counter() - self.t0

    def lr_at(self, t: int) -> np.ndarray:
        """Every run's learning rate at step ``t``: ``lr_r * schedule(t)``."""
        return self.base_lr * self.factors[t]

    def freeze(self, r: int, weights: list[np.ndarray] | None = None) -> None:
        """Stop run ``r`` (its status already set): its weights are kept (or set to
        ``weights``), it logs no more."""
        self.final[r] = weights if weights is not None else [
            p[r:r + 1].copy() for p in self.net.params]
        self.state.end_wall[r] = self.wall()

    def diverge(self, t: int, loss: np.ndarray, bad: np.ndarray) -> None:
        wall, lr, st = self.wall(), self.lr_at(t), self.state
        for r in np.flatnonzero(bad):
            row = dict.fromkeys(self.columns, np.nan)
            row.update(run_id=self.ids[r], step=t, wall_s=wall, lr=lr[r],
                       train_loss=float(loss[r]))
            self.pending_metrics.append(row)
            st.last["train_loss"][r] = loss[r]
            st.set_status(r, "diverged")
            st.diverged_step[r] = t
            st.steps_done[r] = t
            self.freeze(r)

    def log(self, t: int, loss: np.ndarray, grads, log_now: bool, eval_now: bool,
            sets: dict[str, np.ndarray] | None = None,
            stats: list[dict[str, np.ndarray]] | None = None,
            weights: list[np.ndarray] | None = None) -> None:
        """The rows of step ``t`` from its loss and gradients; what the network would
        otherwise give may come from before the step's update: ``sets`` the evaluation
        (:meth:`eval_sets`), ``stats`` the layer statistics, ``weights`` the weights."""
        st = self.state
        act = np.flatnonzero(st.active)
        wall, lr = self.wall(), self.lr_at(t)
        gsq = [_squares(g) for g in grads]  # each array's, reused by the layer rows
        gnorm = _norms(grads, gsq)
        cols: dict[str, np.ndarray] = {"train_loss": loss}
        if self.kind == "landscape":
            P = np.asarray(self.net.params[0], dtype=np.float64).reshape(self.R, 2)
            cols["x0"], cols["x1"] = P[:, 0], P[:, 1]
            cols["dist_to_min"] = np.asarray(self.task.distance_to_min(P), dtype=np.float64)
        if stats is None:
            stats = self.net.layer_stats() if log_now else []
        if eval_now and self.data is not None:
            ev = self.evaluate(loss, sets)
            cols.update(ev)
            for k, v in ev.items():
                st.last[k] = np.where(st.active, v, st.last[k])
        else:
            st.last["train_loss"] = np.where(st.active, loss, st.last["train_loss"])
        st.best_train = np.where(st.active, np.fmin(st.best_train, cols["train_loss"]),
                                 st.best_train)
        lr_, gnorm_ = _floats(lr), _floats(gnorm)
        values = {k: _floats(v) for k, v in cols.items() if k in self.columns}
        for r in act.tolist():
            row = dict.fromkeys(self.columns, np.nan)
            row.update(run_id=self.ids[r], step=t, wall_s=wall, lr=lr_[r], grad_norm=gnorm_[r])
            for k, v in values.items():
                row[k] = v[r]
            self.pending_metrics.append(row)
        if log_now and self.net.weights:
            self._layer_rows(t, gsq, stats, act, weights or self.net.weights)
        if eval_now and self.has_val:
            self.early_stopping(t, cols["val_loss"])

    def _layer_rows(self, t: int, gsq, stats, act, weights) -> None:
        """The layer rows of step ``t``; ``gsq``: each gradient array's sums of squares,
        ``weights`` the layers' weights at the step."""
        self.open_layers = []
        self.weight_norms = (t, [])
        for l in range(self.net.n_layers):
            g, w = _norms([], [gsq[2 * l]]), _norms([weights[l]])
            self.weight_norms[1].append(w)
            st = stats[l] if l < len(stats) else {}
            g_, w_ = _floats(g), _floats(w)
            sat, dead = (_floats(st[k]) if k in st else None
                         for k in ("saturated_frac", "dead_frac"))
            for r in act.tolist():
                row = {"run_id": self.ids[r], "step": t, "layer": l + 1,
                       "grad_norm": g_[r], "weight_norm": w_[r], "update_ratio": np.nan,
                       "saturated_frac": np.nan if sat is None else sat[r],
                       "dead_frac": np.nan if dead is None else dead[r]}
                self.pending_layers.append(row)
                self.open_layers.append((row, l, r))

    def update_ratios(self, before: list[np.ndarray], t: int) -> None:
        """``||W_(t+1) - W_t|| / ||W_t||`` into the layer rows just logged (``before``: the
        weights ``W_t`` of step ``t``, whose norms the layer rows took)."""
        if not self.open_layers:
            return
        at, norms = self.weight_norms
        ratios = []
        for l, W0 in enumerate(before):
            dW = _norms([self.net.weights[l] - W0])
            w0 = norms[l] if at == t else _norms([W0])
            ratios.append(_floats(dW / np.where(w0 > 0, w0, np.nan)))
        active = self.state.active.tolist()
        for row, l, r in self.open_layers:  # a run that stopped at this step made no update
            row["update_ratio"] = ratios[l][r] if active[r] else np.nan
        self.open_layers = []

    def early_stopping(self, t: int, val: np.ndarray) -> None:
        st = self.state
        improved = st.active & (val < st.best_val)
        st.best_val = np.where(improved, val, st.best_val)
        st.best_step = np.where(improved, t, st.best_step)
        st.wait = np.where(improved, 0, st.wait + st.active)
        if self.patience is None:
            return
        params = self.net.params
        if self.best_params is None:
            self.best_params = [p.copy() for p in params]
        elif improved.any():
            for b, p in zip(self.best_params, params, strict=True):
                b[improved] = p[improved]
        for r in np.flatnonzero(st.active & (st.wait >= self.patience)):
            st.set_status(r, "done")
            st.stopped_early[r] = True
            st.steps_done[r] = t
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
        st = self.state
        out = []
        for r in range(self.R):
            status = st.status[r]
            if status == "done" and st.stopped_early[r]:
                status = "stopped"
            best = st.best_train[r]
            out.append(RunProgress(self.ids[r], int(st.steps_done[r]), self.steps,
                                   float(st.last["train_loss"][r]),
                                   float(best) if np.isfinite(best) else float("nan"),
                                   float(st.steps_done[r]) / elapsed, status))
        return out

    def report(self) -> None:
        self.reporter.update(self.progress())

    def results(self) -> list[RunResult]:
        R, st = self.R, self.state
        weights = []
        for r in range(R):
            if r in self.final:
                weights.append(self.final[r])
            elif self.best_params is not None and self.patience is not None:
                weights.append([b[r:r + 1].copy() for b in self.best_params])
            else:
                weights.append([p[r:r + 1].copy() for p in self.net.params])
        test_loss, test_acc = nan_runs(R), nan_runs(R)
        d = self.data
        if d is not None and d.X_test is not None and len(d.X_test):
            self.net.params[:] = [np.concatenate([w[i] for w in weights])
                                  for i in range(len(self.net.params))]
            with np.errstate(all="ignore"):
                test_loss, test_acc = self._eval_set(d.X_test, d.y_test)
        extra: dict[str, np.ndarray] = {}
        if d is not None:
            with np.errstate(all="ignore"):
                extra = self.net.extra_results(d, self.loss_name)
        switched = switch_steps(self.opt_state)
        out = []
        for r in range(R):
            ok = st.status[r] == "done"
            best_step = int(st.best_step[r]) if st.best_step[r] >= 0 else None
            best_val = float(st.best_val[r]) if np.isfinite(st.best_val[r]) else np.nan
            best_train = (float(st.best_train[r]) if np.isfinite(st.best_train[r])
                          else np.nan)
            diverged = int(st.diverged_step[r]) if st.diverged_step[r] >= 0 else None
            out.append(RunResult(
                run_id=self.ids[r], status=str(st.status[r]),
                steps_done=int(st.steps_done[r]), diverged_step=diverged,
                stopped_early=bool(st.stopped_early[r]), best_step=best_step,
                final_train_loss=float(st.last["train_loss"][r]),
                best_train_loss=best_train,
                final_val_loss=float(st.last["val_loss"][r]), best_val_loss=best_val,
                final_train_acc=float(st.last["train_acc"][r]),
                final_val_acc=float(st.last["val_acc"][r]),
                final_test_loss=float(test_loss[r]) if ok else np.nan,
                final_test_acc=float(test_acc[r]) if ok else np.nan,
                wall_s=float(st.end_wall[r]), weights=weights[r],
                switch_step=None if switched is None else int(switched[r]),
                n_params=int(sum(np.size(w) for w in weights[r])),
                extra={k: v[r].item() for k, v in extra.items()}))
        return out
