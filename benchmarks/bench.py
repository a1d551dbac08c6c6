"""nnbench against an equivalent PyTorch eager script on the workloads nnbench exists for.

    python benchmarks/bench.py            # every workload, 5 repetitions (W2: 2)
    python benchmarks/bench.py --quick    # shorter runs, for a first look
    python benchmarks/bench.py --only W1,startup --reps 9

Workloads (the targets are those of docs/performance.md):

- W1: the notes' sin example, 1-100-1 sigmoid, 10000 points, full batch, Adam, float32;
  time per step, each side using every core (nnbench: ``train_group``, passes in blocks on
  a thread pool; PyTorch: its intra-op threads; JAX: ``jit`` of the step, and ``lax.scan``
  over the steps).
- W2: a sweep of 100 runs, 5 optimizers x 4 learning rates x 5 seeds, sin-small 1-32-1 on
  1000 points, 2000 steps, loss logged every 100 steps: ``run_experiment`` (grouped, with
  grouping off, and grouped on one worker process per core) against the PyTorch script
  training the runs one after another, and the vectorized peers: JAX ``vmap`` + ``scan``
  (compilation included) and ``torch.func`` (``stack_module_state`` + ``vmap``), in
  ``peers.py``; nnbench and PyTorch warmed first by a 5-step sweep, as in W1 (the
  compiled kernels' load from the disk cache is a process's first sweep's).
- W3: MLP 40-256-256-10 ReLU on MNIST-1D, minibatches of 128, Adam, one epoch: the
  engine (``train_group``, the data loaded beforehand; the default backend and NumPy's)
  against the same training loop in torch; and an epoch beyond a run's fixed part, on both
  sides what a run of 10 epochs takes beyond one of 5, over 5.
- W4: the activations experiment's deep, narrow network, spirals 2-64-64-64-64-3 tanh,
  three seeds, full batch, Adam, per step: the engine (one group; the default backend and
  NumPy's) against torch training the seeds one after another.
- startup: ``python -m nnbench --help``.
- memory: the peak resident memory of a fresh process running W1.

nnbench and PyTorch alternate within each repetition; the table gives medians. When torch
cannot be imported, only nnbench's numbers are printed.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from peers import have, w1_jax, w2_jax, w2_torch_func

OPTIMS = ["sgd", "momentum", "rmsprop", "adam", "adagrad"]
LRS = [0.003, 0.01, 0.03, 0.1]
SEEDS = 5


def have_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


# --------------------------------------------------------------------------- W1


def w1_nnbench(steps: int) -> float:
    """Seconds per step of the sin example through the training engine."""
    from nnbench.config import RunConfig, resolve
    from nnbench.engine import train_group

    cfg = resolve(RunConfig(task="sin", steps=steps, log_every=steps, eval_every=steps,
                            run_id="w1"))
    t = time.perf_counter()
    res = train_group([cfg])
    elapsed = time.perf_counter() - t
    assert res.runs[0].status == "done"
    return elapsed / steps


def w1_torch(steps: int) -> float:
    import torch
    from torch import nn

    torch.manual_seed(0)
    x = torch.linspace(0, 6 * math.pi, 10000).unsqueeze(1)
    y = torch.sin(x)
    model = nn.Sequential(nn.Linear(1, 100), nn.Sigmoid(), nn.Linear(100, 1))
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    loss_fn = nn.MSELoss()
    t = time.perf_counter()
    for step in range(steps + 1):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        if step % steps == 0:
            loss.item()
        if step == steps:
            break
        loss.backward()
        opt.step()
    return (time.perf_counter() - t) / steps


# --------------------------------------------------------------------------- W2


def w2_nnbench(steps: int, group_size: int | None = None, jobs: int = 1) -> float:
    """Seconds for the whole sweep through ``run_experiment`` (CSVs and weights written)."""
    from nnbench.config import experiment_from_dict
    from nnbench.executors import make_executor
    from nnbench.experiment import run_experiment

    log = min(100, steps)
    exp = experiment_from_dict({"task": "sin-small", "optims": OPTIMS, "lrs": LRS,
                                "seeds": SEEDS, "steps": steps, "log_every": log,
                                "eval_every": log})
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        run_experiment(exp, Path(tmp) / "w2", group_size=group_size,
                       executor=make_executor(jobs=jobs))
        return time.perf_counter() - t


def w2_torch(steps: int) -> float:
    import torch
    from torch import nn

    log = min(100, steps)
    x = torch.linspace(0, 6 * math.pi, 1000).unsqueeze(1)
    y = torch.sin(x)
    make = {
        "sgd": lambda p, lr: torch.optim.SGD(p, lr=lr),
        "momentum": lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9),
        "rmsprop": lambda p, lr: torch.optim.RMSprop(p, lr=lr),
        "adam": lambda p, lr: torch.optim.Adam(p, lr=lr),
        "adagrad": lambda p, lr: torch.optim.Adagrad(p, lr=lr),
    }
    t = time.perf_counter()
    for name in OPTIMS:
        for lr in LRS:
            for seed in range(SEEDS):
                torch.manual_seed(seed)
                model = nn.Sequential(nn.Linear(1, 32), nn.Sigmoid(), nn.Linear(32, 1))
                opt = make[name](model.parameters(), lr)
                loss_fn = nn.MSELoss()
                history = []
                for step in range(steps + 1):
                    opt.zero_grad()
                    loss = loss_fn(model(x), y)
                    if step % log == 0 or step == steps:
                        history.append(loss.item())
                    if step == steps:
                        break
                    loss.backward()
                    opt.step()
    return time.perf_counter() - t


# --------------------------------------------------------------------------- W3


def _mnist1d():
    from nnbench.tasks import get_task

    d = get_task("mnist1d").load(seed=0, val_frac=0.0)
    return d.X_train, d.y_train


W3_STEPS = -(-4000 // 128)  # one epoch of MNIST-1D's 4000 training samples


def w3_nnbench(epochs: int, backend: str = "auto") -> float:
    """Seconds per epoch of the engine training the MNIST-1D MLP (what ``nnbench run``
    does), the data loaded beforehand."""
    from nnbench.config import RunConfig, resolve
    from nnbench.engine import train_group
    from nnbench.tasks import get_task

    steps = epochs * W3_STEPS
    cfg = resolve(RunConfig(task="mnist1d", depth=2, width=256, act="relu", residual=False,
                            batch_size=128, optim="adam", lr=1e-3, steps=steps,
                            log_every=steps, eval_every=steps, val_frac=0.0, run_id="w3"))
    task = get_task("mnist1d")
    data = task.load(seed=0, val_frac=0.0)
    t = time.perf_counter()
    res = train_group([cfg], data=data, task=task, backend=backend)
    elapsed = time.perf_counter() - t
    assert res.runs[0].status == "done"
    return elapsed / epochs


def w3_torch(epochs: int) -> float:
    import torch
    from torch import nn

    X, y = _mnist1d()
    X, y = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(40, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                          nn.Linear(256, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    n = len(X)
    t = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(n)
        for i in range(0, n, 128):
            idx = perm[i:i + 128]
            opt.zero_grad()
            loss_fn(model(X[idx]), y[idx]).backward()
            opt.step()
    return (time.perf_counter() - t) / epochs


def w3_beyond(per_epoch: Callable[[int], float], n: int) -> float:
    """Seconds of an epoch beyond a run's fixed part: what a run of ``2 n`` epochs takes
    beyond one of ``n`` (``per_epoch(epochs)`` timing a run), over ``n``. nnbench's fixed
    part: building the network and the loss of the 4000 training samples at the first and
    last steps and of the test set, which the PyTorch script does not compute."""
    short = per_epoch(n) * n
    return (per_epoch(2 * n) * 2 * n - short) / n


# --------------------------------------------------------------------------- W4

W4_SEEDS = 3


def _w4_config(steps: int, seed: int):
    from nnbench.config import RunConfig, resolve

    return resolve(RunConfig(task="spirals", depth=4, width=64, act="tanh", optim="adam",
                             lr=0.01, steps=steps, log_every=steps, eval_every=steps,
                             seed=seed, run_id=f"w4-{seed}"))


def w4_nnbench(steps: int, backend: str = "auto") -> float:
    """Seconds per step of a deep, narrow network of the activations experiment: three
    seeds trained as one group, full batch."""
    from nnbench.engine import train_group

    cfgs = [_w4_config(steps, s) for s in range(W4_SEEDS)]
    t = time.perf_counter()
    res = train_group(cfgs, backend=backend)
    elapsed = time.perf_counter() - t
    assert all(r.status == "done" for r in res.runs)
    return elapsed / steps


def w4_torch(steps: int) -> float:
    """The same three seeds in PyTorch, one after another (the eager script's loop)."""
    import torch
    from torch import nn

    from nnbench.tasks import get_task

    cfg = _w4_config(steps, 0)
    d = get_task("spirals").load(seed=cfg.data_seed, val_frac=cfg.val_frac)
    X = torch.from_numpy(d.X_train.astype(np.float32))
    y = torch.from_numpy(d.y_train.astype(np.int64))
    t = time.perf_counter()
    for seed in range(W4_SEEDS):
        torch.manual_seed(seed)
        layers: list[nn.Module] = []
        width_in = X.shape[1]
        for _ in range(4):
            layers += [nn.Linear(width_in, 64), nn.Tanh()]
            width_in = 64
        model = nn.Sequential(*layers, nn.Linear(64, int(y.max()) + 1))
        opt = torch.optim.Adam(model.parameters(), lr=0.01)
        loss_fn = nn.CrossEntropyLoss()
        for _ in range(steps):
            opt.zero_grad()
            loss_fn(model(X), y).backward()
            opt.step()
    return (time.perf_counter() - t) / steps


# --------------------------------------------------------------------------- startup, memory


def startup() -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "nnbench", "--help"], check=True,
                   stdout=subprocess.DEVNULL, env={**os.environ, "COLUMNS": "100"})
    return time.perf_counter() - t


def own_peak_rss_mb() -> float:
    """This process's peak resident memory in MB: ``VmHWM`` (Linux; unlike ``ru_maxrss``
    it does not count the parent's memory before ``exec``), else ``ru_maxrss``."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def peak_rss_mb(side: str, steps: int) -> float:
    """Peak resident memory (MB) of a fresh interpreter running W1 for ``steps`` steps."""
    out = subprocess.run([sys.executable, __file__, "--child", side, "--steps", str(steps)],
                         check=True, capture_output=True, text=True).stdout
    return float(out.split()[-1])


# --------------------------------------------------------------------------- the table


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def fmt(seconds: float, unit: str) -> str:
    if math.isnan(seconds):
        return "-"
    scale = {"ms": 1e3, "s": 1.0}[unit]
    return f"{seconds * scale:.3g} {unit}"


def measure(args: argparse.Namespace) -> list[list[str]]:
    torch_ok = have_torch()
    only = {w.strip().lower() for w in args.only.split(",")} if args.only else None

    def want(workload: str) -> bool:
        return only is None or workload.lower() in only

    quick = args.quick
    rows: list[list[str]] = []
    samples: dict[str, list[float]] = {}

    def alternate(name: str, pairs: list[tuple[str, Callable[[], float]]], reps: int) -> None:
        for r in range(reps):
            order = pairs if r % 2 == 0 else pairs[::-1]
            for side, fn in order:
                samples.setdefault(f"{name}/{side}", []).append(fn())
            print(f"  {name} repetition {r + 1}/{reps} done", file=sys.stderr, flush=True)

    def get(key: str) -> float:
        return median(samples.get(key, []))

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}x" if b == b and a == a and b > 0 else "-"

    if want("W1"):
        steps = 50 if quick else 200
        w1_nnbench(5)  # warm caches and imports
        pairs = [("nnbench", lambda: w1_nnbench(steps))]
        if torch_ok:
            w1_torch(5)
            pairs.append(("torch", lambda: w1_torch(steps)))
        if have("jax"):
            pairs += [("jax", lambda: w1_jax(steps)), ("jax_scan", lambda: w1_jax(steps, True))]
        alternate("W1", pairs, args.reps)
        a, b = get("W1/nnbench"), get("W1/torch")
        j, js = get("W1/jax"), get("W1/jax_scan")
        rows.append(["W1 sin 1-100-1, per step (PyTorch eager)", fmt(a, "ms"), fmt(b, "ms"),
                     ratio(a, b),
                     "<= 0.2x", _met(a / b <= 0.2 if b == b else None)])
        if j == j:
            rows.append(["W1 against JAX jit of the step", fmt(a, "ms"), fmt(j, "ms"),
                         ratio(a, j), "<= 0.5x (of JAX)", _met(a / j <= 0.5)])
            rows.append(["W1 JAX scan over the steps", fmt(js, "ms"), fmt(b, "ms"),
                         ratio(js, b), "", ""])
    if want("W2"):
        steps = 200 if quick else 2000
        reps = max(1, args.reps // 2) if not quick else 1
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
        w2_nnbench(5)  # warm caches and imports, as W1 (the kernels' load: about 0.8 s)
        if torch_ok:
            w2_torch(5)
        pairs = [("nnbench", lambda: w2_nnbench(steps)),
                 ("ungrouped", lambda: w2_nnbench(steps, group_size=1))]
        if cores > 1:
            pairs.append(("jobs", lambda: w2_nnbench(steps, jobs=cores)))
        log = min(100, steps)
        if torch_ok:
            pairs.append(("torch", lambda: w2_torch(steps)))
            pairs.append(("torch_func",
                          lambda: w2_torch_func(OPTIMS, LRS, SEEDS, steps, log)))
        if have("jax"):
            pairs.append(("jax", lambda: w2_jax(OPTIMS, LRS, SEEDS, steps, log)))
        alternate("W2", pairs, reps)
        a, u, b = get("W2/nnbench"), get("W2/ungrouped"), get("W2/torch")
        tf, jx = get("W2/torch_func"), get("W2/jax")
        rows.append([f"W2 sweep of 100 runs x {steps} steps (PyTorch, one run after another)",
                     fmt(a, "s"), fmt(b, "s"),
                     ratio(a, b), ">= 25x faster",
                     _met(b / a >= 25 if b == b else None)])
        for label, v in (("torch.func vmap", tf), ("JAX vmap + scan, compile included", jx)):
            if v == v:
                rows.append([f"W2 against {label}", fmt(a, "s"), fmt(v, "s"), ratio(a, v),
                             "", ""])
        best = min((v for v in (tf, jx) if v == v), default=float("nan"))
        if best == best:
            rows.append(["W2 against the best vectorized peer", fmt(a, "s"), fmt(best, "s"),
                         ratio(a, best), ">= 4x faster", _met(best / a >= 4)])
        rows.append(["W2 grouping off (--group-size 1)", fmt(u, "s"), "", ratio(a, u),
                     ">= 10x faster", _met(u / a >= 10)])
        if cores > 1:
            j = get("W2/jobs")
            rows.append([f"W2 with --jobs {cores}", fmt(j, "s"), fmt(b, "s"), ratio(j, b),
                         ">= 25x faster", _met(b / j >= 25 if b == b else None)])
    def auto_numpy_torch(name: str, label: str, unit: str, n: int, warm: int,
                         nb: Callable[..., float], tr: Callable[[int], float],
                         target: float | None) -> None:
        """A workload trained on the default backend, on NumPy's and with PyTorch: two rows,
        the default backend's (against ``target``, a ratio to PyTorch, if any) and NumPy's."""
        nb(warm)
        pairs = [("nnbench", lambda: nb(n)), ("numpy", lambda: nb(n, "numpy"))]
        if torch_ok:
            tr(warm)
            pairs.append(("torch", lambda: tr(n)))
        alternate(name, pairs, args.reps)
        a, p, b = get(f"{name}/nnbench"), get(f"{name}/numpy"), get(f"{name}/torch")
        rows.append([label, fmt(a, unit), fmt(b, unit), ratio(a, b),
                     "" if target is None else f"<= {target}x",
                     "" if target is None else _met(a / b <= target if b == b else None)])
        rows.append([f"{name} on the NumPy backend (--backend numpy)", fmt(p, unit),
                     fmt(b, unit), ratio(p, b), "", ""])

    if want("W3"):
        n = 2 if quick else 5
        auto_numpy_torch("W3", "W3 MNIST-1D 40-256-256-10, per epoch (PyTorch eager)", "ms",
                         n, 1, w3_nnbench, w3_torch, 0.5)
        # an epoch beyond a run's fixed part, the same on both sides: (T(2n) - T(n)) / n
        pairs = [("nnbench", lambda: w3_beyond(w3_nnbench, n))]
        if torch_ok:
            pairs.append(("torch", lambda: w3_beyond(w3_torch, n)))
        alternate("W3+", pairs, args.reps)
        a, b = get("W3+/nnbench"), get("W3+/torch")
        rows.append([f"W3 an epoch beyond a run's fixed part ((T({2 * n}) - T({n})) / {n} "
                     "epochs)", fmt(a, "ms"), fmt(b, "ms"), ratio(a, b), "", ""])
    if want("W4"):
        auto_numpy_torch("W4", "W4 spirals 2-64x4-3 tanh, 3 seeds, per step (PyTorch eager)",
                         "ms", 50 if quick else 200, 5, w4_nnbench, w4_torch, None)
    if want("startup"):
        alternate("startup", [("nnbench", startup)], max(args.reps, 5))
        a = get("startup/nnbench")
        rows.append(["startup: nnbench --help", fmt(a, "s"), "", "", "<= 0.5 s",
                     _met(a <= 0.5)])
    if want("memory"):
        steps = 20 if quick else 50
        a = peak_rss_mb("nnbench", steps)
        b = peak_rss_mb("torch", steps) if torch_ok else float("nan")
        rows.append(["memory: peak RSS of W1", f"{a:.0f} MB",
                     f"{b:.0f} MB" if b == b else "-", ratio(a, b), "<= 200 MB",
                     _met(a <= 200)])
    return rows


def print_table(header: list[str], rows: list[list[str]]) -> None:
    """``rows`` under ``header`` as a Markdown table, on stdout."""
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(" --- " for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def _met(ok: bool | None) -> str:
    return "-" if ok is None else ("yes" if ok else "no")


def machine() -> str:
    import numpy

    from nnbench import __version__

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    parts = [f"{cpu}, {cores} cores", f"Python {platform.python_version()}",
             f"numpy {numpy.__version__}", f"nnbench {__version__}"]
    if have_torch():
        import torch

        parts.append(f"torch {torch.__version__} ({torch.get_num_threads()} threads)")
    else:
        parts.append("torch not installed (pip install torch==2.13.0 to compare)")
    if have("jax"):
        import jax

        parts.append(f"jax {jax.__version__}")
    try:
        load = os.getloadavg()[0]
        parts.append(f"load average {load:.1f} at the start")
    except OSError:
        pass
    return "; ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs (a first look)")
    parser.add_argument("--reps", type=int, default=5, help="repetitions (W2: half)")
    parser.add_argument("--only",
                        help="comma-separated workloads: W1,W2,W3,W4,startup,memory")
    parser.add_argument("--child", choices=["nnbench", "torch"], help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=50, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        (w1_nnbench if args.child == "nnbench" else w1_torch)(args.steps)
        print(f"{own_peak_rss_mb():.1f}")
        return 0
    info = machine()
    print(f"machine: {info}", file=sys.stderr)
    if not have_torch():
        print("torch is not importable: printing nnbench's numbers only", file=sys.stderr)
    rows = measure(args)
    header = ["workload (peer)", "nnbench", "peer", "nnbench/peer", "target", "met"]
    print(f"\nmachine: {info}")
    print(f"command: python benchmarks/bench.py {' '.join(sys.argv[1:])}".rstrip())
    print("medians over the repetitions; W2 compares the whole sweep\n")
    print_table(header, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
