"""The compiled pass against NumPy's, shape by shape: is ``--backend auto`` right to take the
kernel wherever one covers the network?

    python benchmarks/passes.py             # the table, medians of 5 x 10 passes
    python benchmarks/passes.py --reps 9

Each row times one training pass (loss and gradients of every run, no update) of the same
network on the same batch, both sides on the machine's cores: NumPy's pass in blocks on the
engine's thread pool, the kernel on numba's threads. The shapes are the course's networks:
the notes' 1-100-1 and 1-32-1, the activations experiment's 2-32x8-3 and 2-64x4-3,
MNIST-1D's MLPs (minibatches of 100 and 128), wide layers up to 256 units, and MNIST's
784 inputs (``kernels.WIDE_LAYER``: where ``auto`` leaves a network to NumPy).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
from bench import print_table  # benchmarks/bench.py: this script's directory is on sys.path

# (hidden widths, inputs, outputs, activation, loss, runs, samples)
SHAPES = [
    ([100], 1, 1, "sigmoid", "mse", 1, 10000),
    ([32], 1, 1, "sigmoid", "mse", 20, 1000),
    ([32] * 8, 2, 3, "relu", "softmax_cross_entropy", 3, 480),
    ([64] * 4, 2, 3, "tanh", "softmax_cross_entropy", 3, 480),
    ([16] * 4, 2, 3, "sigmoid", "softmax_cross_entropy", 12, 300),
    ([64, 64], 1, 1, "tanh", "mse", 1, 1000),
    ([32, 32], 1, 1, "tanh", "mse", 100, 1000),
    ([100, 100], 40, 10, "relu", "softmax_cross_entropy", 1, 100),
    ([256, 256], 40, 10, "relu", "softmax_cross_entropy", 1, 128),
    ([128, 128, 128], 2, 3, "relu", "softmax_cross_entropy", 3, 1000),
    ([128, 128], 1, 1, "tanh", "mse", 1, 10000),
    ([256], 40, 10, "relu", "softmax_cross_entropy", 1, 128),
    ([100], 784, 10, "sigmoid", "softmax_cross_entropy", 1, 100),
]


def _time(fn, reps: int, inner: int = 10) -> float:
    fn()
    samples = []
    for _ in range(reps):
        t = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - t) / inner)
    return statistics.median(samples)


def row(hidden, k, o, act, loss, runs, n, dtype, reps) -> list[str]:
    from nnbench.core import kernels
    from nnbench.core.mlp import MLP
    from nnbench.engine import execution

    net = MLP([k, *hidden, o], activation=act, runs=runs, seed=0, dtype=dtype)
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, size=(n, k)).astype(dtype)
    Y = rng.integers(0, o, n) if loss == "softmax_cross_entropy" else \
        np.sin(X[:, :1]).astype(dtype)
    net.record = False
    with execution(net, None, True, backend="numpy", loss=loss):
        t_np = _time(lambda: net.loss_and_grads(X, Y, loss), reps)
    kpass = kernels.make_pass(net, loss)
    batch = kpass.prepare(X, Y)
    with execution(net, None, True, backend="numba", loss=loss):
        t_k = _time(lambda: kpass.loss_and_grads(net.params, batch, None), reps)
    shape = "-".join(str(s) for s in [k, *hidden, o])
    return [f"{shape} {act}", str(runs), str(n), f"{t_np * 1e3:.3g} ms", f"{t_k * 1e3:.3g} ms",
            f"{t_k / t_np:.2f}x"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5, help="repetitions of 10 passes")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    args = parser.parse_args(argv)
    header = ["network", "runs", "samples", "NumPy", "kernel", "kernel/NumPy"]
    rows = []
    for spec in SHAPES:
        rows.append(row(*spec, args.dtype, args.reps))
        print(f"  {rows[-1][0]} done", file=sys.stderr, flush=True)
    print(f"\n{args.dtype}, one training pass (loss and gradients), medians of {args.reps}\n")
    print_table(header, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
