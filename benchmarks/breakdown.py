"""Where the time of W1, W2 and W3 goes: the measurements behind docs/performance.md's
"Where it falls short, and why" (the compiled backend's rows when numba is installed).

    python benchmarks/breakdown.py            # everything (about 2 minutes with torch)
    python benchmarks/breakdown.py --no-sweep # without the 64-point sweep (1.5 minutes)
    python benchmarks/breakdown.py --w3       # W3's products alone, its compiled step

Medians of repeated timings with ``time.perf_counter``; PyTorch rows only when torch can be
imported. The demo row reads ``results/demo/weights`` (``make demo`` writes them).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from nnbench.core.activations import _sigmoid_of_negated
from nnbench.core.mlp import MLP
from nnbench.core.optimizers import optimizer
from nnbench.core.parallel import Chunking, keep_freed_memory
from nnbench.engine import flatten_params

ROWS: list[tuple[str, str]] = []


def timed(fn: Callable[[], object], reps: int = 100, warm: int = 10) -> float:
    """Median seconds of one call of ``fn``."""
    for _ in range(warm):
        fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def row(what: str, value: str) -> None:
    ROWS.append((what, value))
    print(f"  {what}: {value}", file=sys.stderr, flush=True)


def one_thread_blas():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(1)


def sin_data(n: int):
    x = np.linspace(0, 6 * np.pi, n, dtype=np.float32)[:, None]
    return x, np.sin(x)


def w1_rows() -> None:
    x, y = sin_data(10000)
    n_el = 10000 * 100

    def net_(narrow: bool = True, chunking=None) -> MLP:
        net = MLP([1, 100, 1], "sigmoid")
        net.record = False
        net.chunking = chunking
        if not narrow:
            net.NARROW = 0
        return net

    one = net_()
    t = timed(lambda: one.loss_and_grads(x, y))
    row("W1 loss and gradients, one piece, one thread", f"{t * 1e3:.2f} ms")
    blocked = net_(chunking=Chunking())
    t = timed(lambda: blocked.loss_and_grads(x, y))
    row("W1 loss and gradients in blocks, one thread",
        f"{t * 1e3:.2f} ms ({t * 1e9 / n_el:.2f} ns per hidden element)")
    general = net_(narrow=False, chunking=Chunking())
    t = timed(lambda: general.loss_and_grads(x, y))
    row("  the same with layer-by-layer backprop (NARROW = 0)",
        f"{t * 1e3:.2f} ms ({t * 1e9 / n_el:.2f} ns per hidden element)")
    with ThreadPoolExecutor(2) as pool:
        threaded = net_(chunking=Chunking(pool=pool, threads=2))
        t = timed(lambda: threaded.loss_and_grads(x, y))
    row("W1 loss and gradients in blocks, two threads", f"{t * 1e3:.2f} ms")

    # two threads that each train their own blocks, never waiting for each other
    rows = 2500
    xb = [x[i * rows:(i + 1) * rows] for i in range(4)]
    yb = [y[i * rows:(i + 1) * rows] for i in range(4)]
    nets = [net_(), net_()]
    steps = 100

    def serial() -> None:
        for _ in range(steps):
            for i in range(4):
                nets[0].loss_and_grads(xb[i], yb[i])

    def free() -> None:
        def share(j: int) -> None:
            for _ in range(steps):
                for i in (2 * j, 2 * j + 1):
                    nets[j].loss_and_grads(xb[i], yb[i])
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(share, [0, 1]))

    a, b = timed(serial, 3, 1) / steps, timed(free, 3, 1) / steps
    row("four 2500-row blocks a step: one thread / two free-running threads",
        f"{a * 1e3:.2f} / {b * 1e3:.2f} ms")

    # OpenBLAS from two threads: a thin matmul with a long inner dimension
    A = [np.random.default_rng(i).random((2500, 100), dtype=np.float32) for i in range(2)]
    P = [np.random.default_rng(i).random((2500, 2), dtype=np.float32) for i in range(2)]

    def thin(i: int) -> None:
        for _ in range(500):
            A[i].T @ P[i]

    a = timed(lambda: (thin(0), thin(1)), 3, 1)
    with ThreadPoolExecutor(2) as pool:
        b = timed(lambda: list(pool.map(thin, [0, 1])), 3, 1)
    row("a^T P (2500 x 100 by 2) on two threads: speed-up over one", f"{a / b:.2f}x")

    # the exact sigmoid on W1's hidden layer, in the blocks training uses (cache-sized)
    z = np.random.default_rng(0).uniform(-20, 20, (2500, 100)).astype(np.float32)
    buf = np.empty_like(z)
    t = timed(lambda: np.exp(z, out=buf), 300)
    row("np.exp in 2500-row blocks (float32)", f"{t * 1e9 / z.size:.2f} ns per element")

    def sig() -> None:
        np.copyto(buf, z)
        _sigmoid_of_negated(buf, clamp=False)

    t = timed(sig, 300) - timed(lambda: np.copyto(buf, z), 300)
    row("sigmoid from -z (exp, +1, reciprocal) over W1's layer in blocks",
        f"{4 * t * 1e3:.2f} ms a step")

    # the optimizer: one flat update against one per parameter array
    grads = one.loss_and_grads(x, y)[1]
    for flat in (False, True):
        net = net_()
        params = net.params
        gs = grads
        if flat:
            params = [flatten_params(net)]
            gs = [np.concatenate([g.reshape(1, -1) for g in grads], axis=1)]
        opt = optimizer("adam", lr=5e-3)
        state = opt.init(params)
        t = timed(lambda: opt.update(params, gs, state), 300)  # noqa: B023
        row(f"Adam update of W1's 301 parameters, {'one flat array' if flat else '4 arrays'}",
            f"{t * 1e6:.0f} us")


def kernel_rows() -> None:
    """The compiled backend's step of W1: the fused pass on one and two threads, the whole
    step in one call (pass and Adam's update), the update compiled and in NumPy, and what
    the default logging adds to a step through the engine (CPU time, robust to load)."""
    from nnbench.core.kernels import make_pass, numba_missing

    if numba_missing():
        row("compiled kernels", "numba is not installed (pip install -e '.[fast]')")
        return
    import numba

    from nnbench.config import RunConfig, resolve
    from nnbench.core.kernels.updates import update_plan
    from nnbench.engine import train_group

    x, y = sin_data(10000)
    net = MLP([1, 100, 1], "sigmoid")
    flat = flatten_params(net)
    kpass = make_pass(net, "mse")
    batch = kpass.prepare(x, y)
    threads = numba.get_num_threads()
    for n in sorted({1, min(2, numba.config.NUMBA_NUM_THREADS)}):
        numba.set_num_threads(n)
        t = timed(lambda: kpass.loss_and_grads(net.params, batch, None), 50, 5)
        row(f"W1 kernel pass (loss and gradients), {n} thread(s)", f"{t * 1e3:.2f} ms")
    numba.set_num_threads(1)
    opt = optimizer("adam", lr=5e-3)
    plan = update_plan(opt, opt.init([flat]), flat)
    limit = np.full(1, np.inf)
    t = timed(lambda: kpass.train_step(flat, batch, plan, 5e-3, limit), 50, 5)
    row("W1 fused step (pass and Adam's update, one call), 1 thread", f"{t * 1e3:.2f} ms")
    grads = np.zeros_like(flat)
    t = timed(lambda: plan.apply(flat, grads, 5e-3), 300)
    opt2 = optimizer("adam", lr=5e-3)
    state2 = opt2.init([flat])
    t2 = timed(lambda: opt2.update([flat], [grads], state2), 300)
    row("Adam's update of W1's 301 parameters: compiled / NumPy",
        f"{t * 1e6:.0f} / {t2 * 1e6:.0f} us")
    logging_rows(resolve, RunConfig, train_group)
    wake_rows(make_pass)
    w2_sweep_rows(train_group)
    numba.set_num_threads(threads)


def logging_rows(resolve: Callable, RunConfig: Callable, train_group: Callable) -> None:
    """What the default logging costs a step: the time of a run (W1's, 1000 steps) and of
    a W2 group (20 runs of sin-small, 2000 steps), logging once against the default, on
    one thread, alternating, medians of 11 (wall time: a process's CPU time would count
    the spinning of idle threads)."""
    for label, task, steps, runs in (("W1", "sin", 1000, 1), ("a W2 group", "sin-small",
                                                            2000, 20)):
        cfgs = []
        for kw in ({"log_every": steps, "eval_every": steps}, {}):
            cfgs.append([resolve(RunConfig(task=task, steps=steps, run_id=f"r{i}",
                                           seed=i % 5, lr=1e-3 * (1 + i // 5), **kw))
                         for i in range(runs)])
        cpu: list[list[float]] = [[], []]
        for group in cfgs:
            train_group(group, threads=1)
        for _ in range(11):
            for i, group in enumerate(cfgs):
                c = time.perf_counter()
                train_group(group, threads=1)
                cpu[i].append((time.perf_counter() - c) / steps)
        once, default = (statistics.median(c) for c in cpu)
        row(f"{label} through the engine, logging once / by default (every "
            f"{cfgs[1][0].log_every} steps), per step",
            f"{once * 1e3:.3f} / {default * 1e3:.3f} ms (+{default / once - 1:.1%})")


def w2_sweep_rows(train_group: Callable) -> None:
    """Where W2's sweep (``bench.py``'s, through ``run_experiment``) spends its time: the
    compiled step's calls timed alone, the rest of ``train_group`` (the engine's Python
    around each step, logging), and what ``run_experiment`` does besides training (the
    results written); three sweeps after a 5-step one, on the threads numba was given.
    Then the engine's Python alone: a 20-run group's step with a kernel that returns at
    once."""
    import numba
    from bench import LRS, SEEDS, w2_nnbench

    import nnbench.executors as executors
    from nnbench.config import experiment_from_dict
    from nnbench.core.kernels import _onehidden
    from nnbench.experiment import make_groups, resolve_experiment

    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    step, group = _onehidden.step, executors.train_group
    spent = {"kernel": 0.0, "group": 0.0, "calls": 0}

    def timed_step(*args):
        t = time.perf_counter()
        out = step(*args)
        spent["kernel"] += time.perf_counter() - t
        spent["calls"] += 1
        return out

    def timed_group(*args, **kw):
        t = time.perf_counter()
        out = group(*args, **kw)
        spent["group"] += time.perf_counter() - t
        return out

    w2_nnbench(5)
    parts = []
    _onehidden.step, executors.train_group = timed_step, timed_group
    try:
        for _ in range(3):
            spent.update(kernel=0.0, group=0.0, calls=0)
            total = w2_nnbench(2000)
            parts.append((total, spent["kernel"], spent["group"] - spent["kernel"],
                          total - spent["group"], spent["kernel"] / spent["calls"]))
        exp = experiment_from_dict({"task": "sin-small", "optims": ["adam"], "lrs": LRS,
                                    "seeds": SEEDS, "steps": 2000, "log_every": 100,
                                    "eval_every": 100})
        runs = make_groups(resolve_experiment(exp)[1])[0]
        _onehidden.step = lambda *args: None
        t = time.perf_counter()
        train_group(runs)
        null = (time.perf_counter() - t) / 2000
    finally:
        _onehidden.step, executors.train_group = step, group
    row("W2 sweep (100 runs x 2000 steps), three runs: total = the compiled step's calls + "
        "the engine around them + run_experiment's other work",
        "; ".join(f"{a:.2f} = {b:.2f} + {c:.2f} + {d:.2f} s ({e * 1e6:.0f} us a call)"
                  for a, b, c, d, e in parts))
    row("a W2 group's step (20 runs) through the engine, the kernel returning at once",
        f"{null * 1e6:.1f} us")


def wake_rows(make_pass: Callable) -> None:
    """The idle second core: a W2 group's pass (20 runs of 1-32-1 on 1000 points) on two
    threads called back to back, and each call after 1 ms of work on the calling thread
    (as the engine's Python work between two steps leaves the second core idle)."""
    import numba

    x, y = sin_data(1000)
    net = MLP([1, 32, 1], "sigmoid", runs=20)
    kpass = make_pass(net, "mse")
    batch = kpass.prepare(x, y)

    def after(gap: float) -> float:
        times = []
        for _ in range(200):
            t = time.perf_counter()
            while time.perf_counter() - t < gap:
                pass
            t = time.perf_counter()
            kpass.loss_and_grads(net.params, batch, None)
            times.append(time.perf_counter() - t)
        return statistics.median(times)

    out = []
    for n, gap in ((2, 0.0), (2, 1e-3), (1, 1e-3)):
        numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
        out.append(after(gap))
    row("W2 group's pass (20 runs), 2 threads back to back / after 1 ms of work; 1 thread",
        f"{out[0] * 1e3:.2f} / {out[1] * 1e3:.2f} ms; {out[2] * 1e3:.2f} ms")
    # a busy machine: another process spinning on one core meanwhile; the mean time of a
    # call (the slow calls are the point), with the thread governor and without it
    import subprocess

    x, y = sin_data(10000)
    w1 = MLP([1, 100, 1], "sigmoid")
    w1pass = make_pass(w1, "mse")
    w1batch = w1pass.prepare(x, y)
    governor = w1pass._threads

    class Off:  # every call on the threads set, as without the governor
        @staticmethod
        def call(numba_, fn):
            return fn()

    def mean_call(calls: int = 2000) -> float:
        t = time.perf_counter()
        for _ in range(calls):
            w1pass.loss_and_grads(w1.params, w1batch, None)
        return (time.perf_counter() - t) / calls

    spin = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        busy = []
        for n, chooser in ((2, governor), (2, Off), (1, Off)):
            numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
            w1pass._threads = chooser
            busy.append(mean_call())
    finally:
        spin.kill()
        spin.wait()
        w1pass._threads = governor
    row("W1 kernel pass with another process busy on a core, mean of 2000 calls: "
        "2 threads with the governor / without / 1 thread",
        f"{busy[0] * 1e3:.2f} / {busy[1] * 1e3:.2f} / {busy[2] * 1e3:.2f} ms")


def torch_rows() -> None:
    try:
        import torch
        from torch import nn
    except ImportError:
        row("PyTorch", "not installed (pip install torch==2.13.0)")
        return
    threads = torch.get_num_threads()

    def step_time(n: int, width: int, set_threads: int) -> float:
        torch.set_num_threads(set_threads)
        torch.manual_seed(0)
        x = torch.linspace(0, 6 * math.pi, n).unsqueeze(1)
        y = torch.sin(x)
        model = nn.Sequential(nn.Linear(1, width), nn.Sigmoid(), nn.Linear(width, 1))
        opt = torch.optim.Adam(model.parameters(), lr=5e-3)
        loss_fn = nn.MSELoss()

        def step() -> None:
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()
        return timed(step, 200, 20)

    row("PyTorch W1 step, one thread", f"{step_time(10000, 100, 1) * 1e3:.2f} ms")
    row(f"PyTorch W1 step, {threads} threads",
        f"{step_time(10000, 100, threads) * 1e3:.2f} ms")
    a, b = step_time(1000, 32, threads), step_time(1, 32, threads)
    row("PyTorch W2 run-step (1000 points) / with 1 point (its overhead)",
        f"{a * 1e6:.0f} / {b * 1e6:.0f} us")
    torch.set_num_threads(threads)


def w2_rows(sweep: bool) -> None:
    x, y = sin_data(1000)
    net = MLP([1, 32, 1], "sigmoid")
    net.record = False
    t = timed(lambda: net.loss_and_grads(x, y), 300)
    row("W2 one run's loss and gradients (1-32-1, 1000 points)", f"{t * 1e6:.0f} us")
    group = MLP([1, 32, 1], "sigmoid", runs=20)
    group.record = False
    group.chunking = Chunking()
    t = timed(lambda: group.loss_and_grads(x, y), 100)
    row("W2 a group of 20 runs' loss and gradients, per run",
        f"{t / 20 * 1e6:.0f} us ({t / 20 / 32000 * 1e9:.2f} ns per hidden element)")
    if not sweep:
        return
    from nnbench.config import experiment_from_dict
    from nnbench.experiment import run_experiment

    sizes = {"task": "sin-small", "task_kw": {"n_points": 64}, "width": 8,
             "optims": ["sgd", "momentum", "rmsprop", "adam", "adagrad"],
             "lrs": [0.003, 0.01, 0.03, 0.1], "seeds": 5, "steps": 2000,
             "log_every": 100, "eval_every": 100}
    out = []
    for group_size in (None, 1):
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            run_experiment(experiment_from_dict(sizes), Path(tmp) / "s", group_size=group_size)
            out.append(time.perf_counter() - t)
    row("W2's grid on 64 points, 1-8-1: grouped / --group-size 1",
        f"{out[0]:.1f} / {out[1]:.1f} s ({out[1] / out[0]:.1f}x)")


def demo_rows() -> None:
    weights = Path("results/demo/weights")
    if not (weights / "sgd-s0.npz").exists():
        row("demo's weights", "not found (make demo writes results/demo)")
        return
    x, y = sin_data(10000)
    for name in ("sgd-s0", "adam-s0"):
        with np.load(weights / f"{name}.npz", allow_pickle=False) as w:
            params = [w[f"p{i}"].astype(np.float32) for i in range(4)]
        net = MLP([1, 100, 1], "sigmoid")
        net.params = params
        net.chunking = Chunking()
        with np.errstate(all="ignore"):
            net.loss_and_grads(x, y)
            acts = np.concatenate([p.layers[0].a.ravel()  # each block's activations
                                   for _, passes in net.last_pass.blocks for p, _ in passes])
            net.record = False
            t = timed(lambda: net.loss_and_grads(x, y), 50)  # noqa: B023
        tiny = np.finfo(np.float32).tiny
        row(f"demo {name}: max |W1|, subnormal / below 1e-30 activations, loss and grads",
            f"{np.abs(params[0]).max():.0f}, {np.mean((acts > 0) & (acts < tiny)):.1%} / "
            f"{np.mean((acts > 0) & (acts < 1e-30)):.1%}, {t * 1e3:.2f} ms")


def w3_rows() -> None:
    """The floor of W3's step: its eight matrix products alone (forward 3, the weights'
    gradients 3, the deltas 2; float32, a minibatch of 128 through 40-256-256-10), as NumPy's
    BLAS computes them for the wide pass, on its 2 threads."""
    from threadpoolctl import threadpool_limits

    from nnbench.core.kernels import BLAS_THREADS

    rng = np.random.default_rng(0)
    sizes, n = [40, 256, 256, 10], 128
    f32 = np.float32
    W = [rng.standard_normal((1, a, b)).astype(f32)
         for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    H = [rng.standard_normal((1, n, k)).astype(f32) for k in sizes]  # a layer's in / delta

    def products():
        for l in range(3):
            np.matmul(H[l], W[l])  # forward
            np.matmul(np.swapaxes(H[l], 1, 2), H[l + 1])  # dC/dW
        for l in (1, 2):
            np.matmul(H[l + 1], np.swapaxes(W[l], 1, 2))  # the delta of the layer below

    with threadpool_limits(BLAS_THREADS, user_api="blas"):
        t = timed(products, 300, 30)
    steps = -(-4000 // n)
    row(f"W3 step's eight matrix products alone (BLAS, {BLAS_THREADS} threads)",
        f"{t * 1e3:.3f} ms a step, {t * steps * 1e3:.1f} ms an epoch of {steps} steps")
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:  # the same products by PyTorch's BLAS, on as many threads
        torch.set_num_threads(BLAS_THREADS)
        Wt, Ht = [torch.from_numpy(w[0]) for w in W], [torch.from_numpy(h[0]) for h in H]

        def torch_products():
            for l in range(3):
                Ht[l] @ Wt[l]
                Ht[l].T @ Ht[l + 1]
            for l in (1, 2):
                Ht[l + 1] @ Wt[l].T

        t = timed(torch_products, 300, 30)
        row(f"the same eight products in PyTorch ({BLAS_THREADS} threads)",
            f"{t * 1e3:.3f} ms a step")
    w3_step_rows(rng, sizes, n, steps)
    w3_run_rows()


#: a child process's W3 forward pass over MNIST-1D's 4000 training samples, with freed
#: memory kept for the next allocation (``kept``) or not (the C allocator's defaults)
_EVAL_CHILD = """
import statistics, sys, time
import numpy as np
from nnbench.core.mlp import MLP
from nnbench.core.parallel import keep_freed_memory
from nnbench.tasks import get_task
if sys.argv[1] == "kept":
    keep_freed_memory()
X = get_task("mnist1d").load(seed=0, val_frac=0.0).X_train.astype(np.float32)
net = MLP([40, 256, 256, 10], "relu", seed=[0], runs=1, dtype=np.float32)
times = []
for _ in range(31):
    t = time.perf_counter()
    net.forward(X)
    times.append(time.perf_counter() - t)
print(statistics.median(times[1:]))
"""


def w3_run_rows() -> None:
    """What a W3 run costs once: a run of 2 steps through the engine, and the forward pass
    of its evaluations (the training set's loss at the first and last steps), in child
    processes with the C allocator keeping freed memory and not."""
    import subprocess

    from nnbench.config import RunConfig, resolve
    from nnbench.engine import train_group
    from nnbench.tasks import get_task

    task = get_task("mnist1d")
    data = task.load(seed=0, val_frac=0.0)

    def run() -> None:
        cfg = resolve(RunConfig(task="mnist1d", depth=2, width=256, act="relu",
                                residual=False, batch_size=128, optim="adam", lr=1e-3,
                                steps=2, log_every=2, eval_every=2, val_frac=0.0,
                                run_id="w3"))
        train_group([cfg], data=data, task=task)

    t = timed(run, 11, 2)
    row("W3 run of 2 steps (built, the training set's loss at both, the test set's, the "
        "results)", f"{t * 1e3:.1f} ms")
    took = {}
    for side in ("kept", "given back") * 3:  # alternating processes
        out = subprocess.run([sys.executable, "-c", _EVAL_CHILD, side.split()[0]],
                             capture_output=True, text=True, check=True).stdout
        took.setdefault(side, []).append(float(out))
    row("W3 forward pass over the 4000 training samples, freed memory kept / given back "
        "(medians of 3 processes)",
        " / ".join(f"{statistics.median(v) * 1e3:.2f} ms" for v in took.values()))


def w3_step_rows(rng: np.random.Generator, sizes: list[int], n: int, steps: int) -> None:
    """W3's whole compiled step (the wide pass's products, its elementwise work and Adam's
    update, one ``train_step``) and Adam's update of its parameters alone, compiled and in
    NumPy, where numba is installed (an AVX-512 CPU's pass, forced elsewhere)."""
    from threadpoolctl import threadpool_limits

    from nnbench.core.kernels import BLAS_THREADS, WidePass, numba_missing
    from nnbench.core.kernels.updates import update_plan

    if numba_missing():
        return
    net = MLP(sizes, "relu")
    flat = flatten_params(net)
    kpass = WidePass(net, "softmax_cross_entropy")
    X = rng.standard_normal((n, sizes[0])).astype(np.float32)
    batch = kpass.prepare(X, rng.integers(0, sizes[-1], n))
    opt = optimizer("adam", lr=1e-3)
    plan = update_plan(opt, opt.init([flat]), flat)
    limit = np.full(1, np.inf)
    with threadpool_limits(BLAS_THREADS, user_api="blas"):
        t = timed(lambda: kpass.train_step(flat, batch, plan, 1e-3, limit), 300, 30)
    row("W3 compiled step (the wide pass and Adam's update, one train_step)",
        f"{t * 1e3:.3f} ms a step, {t * steps * 1e3:.1f} ms an epoch")
    y = rng.integers(0, sizes[-1], n)
    t = timed(lambda: kpass.prepare(X, y), 2000, 100)
    row(f"KernelPass.prepare of a {n}-sample batch", f"{t * 1e6:.1f} us")
    grads = np.asarray(rng.standard_normal(flat.shape), dtype=flat.dtype)
    t = timed(lambda: plan.apply(flat, grads, 1e-3), 300, 30)
    opt2 = optimizer("adam", lr=1e-3)
    state2 = opt2.init([flat])
    t2 = timed(lambda: opt2.update([flat], [grads], state2), 300, 30)
    row(f"Adam's update of W3's {flat.shape[1]} parameters: compiled / NumPy",
        f"{t * 1e6:.0f} / {t2 * 1e6:.0f} us")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-sweep", action="store_true",
                        help="leave out the 64-point sweep, grouped and not (about 30 s)")
    parser.add_argument("--w3", action="store_true",
                        help="only W3's rows: its products alone, its compiled step and "
                        "update (a few seconds)")
    args = parser.parse_args(argv)
    if args.w3:
        w3_rows()
        print("| what | measured |\n| --- | --- |")
        for what, value in ROWS:
            print(f"| {what} | {value} |")
        return 0
    keep_freed_memory()
    limit = one_thread_blas()
    w1_rows()
    kernel_rows()
    w2_rows(not args.no_sweep)
    demo_rows()
    del limit
    w3_rows()
    torch_rows()
    print("| what | measured |\n| --- | --- |")
    for what, value in ROWS:
        print(f"| {what} | {value} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
