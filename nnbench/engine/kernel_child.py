"""``python -m nnbench.engine.kernel_child DTYPE KIND``: compile the kernels of one dtype and
kind (``one-hidden-layer``, ``deep`` or ``wide``) into numba's disk cache, the child process of
:func:`nnbench.core.kernels.ensure_compiled` (every process then runs the cache's code)."""

from __future__ import annotations

import sys

from nnbench.config import RunConfig, resolve
from nnbench.core import kernels
from nnbench.engine import train_group


def compile_here(dtype: str, kind: str) -> None:
    """Train a small network of ``kind`` in ``dtype`` a few steps with Adam (the fused step)
    and with SGD, logging (the pass with its layer statistic and the separate update), so
    that every signature the engine calls is compiled into the cache, then leave the
    kernels' marker."""
    depth = 1 if kind == "one-hidden-layer" else 2
    if kind == "wide":  # which networks are wide depends on the CPU (kernels.wide); this
        # process only compiles, so any network counts as wide (one set of functions for
        # any depth and width)
        kernels.wide = lambda net: True
    for optim in ("adam", "sgd"):
        cfg = resolve(RunConfig(task="sin-small", width=4, depth=depth, dtype=dtype, steps=3,
                                log_every=2, optim=optim, run_id=optim))
        train_group([cfg], backend="numba", threads=1)
    kernels.mark_compiled(dtype, kind)


if __name__ == "__main__":
    compile_here(sys.argv[1], sys.argv[2])
