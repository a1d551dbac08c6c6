"""Blocked execution of a network's pass: the same numbers, in cache-sized pieces.

A full-batch pass of the notes' sin example holds activations of ``10000 x 100`` floats
(4 MB in float32): every elementwise operation over them is a trip to main memory and
every temporary a fresh allocation with its page faults. Split into blocks of about
:attr:`Chunking.target` elements, the same operations stay in the cache (and, with
:func:`keep_freed_memory`, reuse the memory of the previous step), and the blocks can run
on a thread pool (NumPy releases the GIL in ufuncs and matmul).

A block is a slice of the runs axis times a slice of the samples. Two kinds of split:

- **runs**: runs are independent, so ``loss_and_grads`` of a slice of the runs gives
  exactly that slice of the full result;
- **samples**: the loss is a mean over the samples, so with blocks ``c`` of ``n_c`` of the
  ``n`` samples,

      C = sum_c (n_c / n) C_c,      dC/dtheta = sum_c (n_c / n) dC_c/dtheta,

  summed in block order (the same numbers as the unsplit pass up to float rounding, and
  the same numbers for the same settings every time, whatever the number of threads).

The sample blocks depend only on ``n`` and the widest layer, never on the number of runs
or of threads, so a run's numbers do not depend on its group or on the machine's cores.
Passes that draw random numbers per sample (dropout, RReLU in training) are not split: each
run's draws would come in another order.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnbench.core.errors import check_int


@dataclass
class Chunking:
    """How :func:`chunked_loss_and_grads` splits a pass.

    - ``target``: elements of the widest activation per block (default ``2**18``, 1 MB
      in float32, about a core's L2 cache);
    - ``min_rows``: the smallest sample block (below it, per-block overhead dominates);
    - ``pool``: an executor (e.g. ``ThreadPoolExecutor(cores)``) that runs the blocks, or
      ``None`` to run them one after another here; ``threads``: its number of workers.
    """

    target: int = 1 << 18
    min_rows: int = 256
    pool: Executor | None = None
    threads: int = 1

    def __post_init__(self) -> None:
        self.target = check_int("target", self.target, 1)
        self.min_rows = check_int("min_rows", self.min_rows, 1)
        self.threads = check_int("threads", self.threads, 1)

    def rows(self, n: int, width: int) -> int:
        """The sample block: all ``n`` when ``n x width`` fits in ``target``, else
        ``max(min_rows, target // width)`` (a function of ``n`` and ``width`` only)."""
        if n * width <= self.target:
            return n
        return min(n, max(self.min_rows, self.target // width))

    def blocks(self, runs: int, n: int, width: int) -> list[tuple[slice, list[slice]]]:
        """``[(run slice, [sample slices]), ...]`` covering ``runs x n``: cache-sized blocks
        when the samples are split; else, for a pass of at least ``target`` elements, one
        slice of the runs per thread, or on one thread slices of about ``target / 2``
        elements (splitting the runs is exact, so that may depend on the threads). A
        smaller pass stays whole: handing it to threads costs more than it computes."""
        rows = self.rows(n, width)
        samples = [slice(i, min(i + rows, n)) for i in range(0, n, rows)]
        if rows < n:
            per = max(1, self.target // (rows * width))
            return [(slice(r, min(r + per, runs)), samples) for r in range(0, runs, per)]
        if self.threads > 1 and runs * n * width >= self.target:  # one share per thread
            k = min(self.threads, runs)
        else:
            k = -(-runs // max(1, self.target // (2 * n * width)))
        return [(slice(runs * j // k, runs * (j + 1) // k), samples) for j in range(k)]


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters


@functools.cache
def keep_freed_memory() -> bool:
    """Ask the C allocator (glibc) to keep freed memory for the next allocation instead of
    giving it back to the operating system: arrays up to 32 MB come from the heap, and the
    heap is trimmed only above 256 MB free. Otherwise every block's temporaries, freed and
    allocated again at each step, cost fresh pages (about 2000 page faults and 2 ms a step
    of the sin example). Process-wide, idempotent; ``False`` where there is no ``mallopt``
    (not glibc), which changes nothing but speed. Done once a process (finding the C
    library asks ``ldconfig``, 2 ms)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(M_MMAP_THRESHOLD, 32 << 20)
                    and libc.mallopt(M_TRIM_THRESHOLD, 256 << 20))
    except (OSError, AttributeError, TypeError):
        return False


def default_threads() -> int:
    """The cores this process may run on (its CPU affinity where the OS tells)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _width(net: Any) -> int:
    return max(net.sizes[1:] + [p.shape[-1] for p in net.weights])


def splittable(net: Any, train: bool, X: np.ndarray) -> bool:
    """Whether ``net``'s pass over ``X`` is worth splitting (more than one block) and may
    be split: not when it draws per-sample noise (dropout or a random activation in
    training)."""
    if train and (net.dropout > 0 or net.activation.random):
        return False
    ch, n = net.chunking, X.shape[-2]
    return len(ch.blocks(net.runs, n, _width(net))) > 1 or ch.rows(n, _width(net)) < n


def _take(A: Any, rs: slice, ss: slice, has_runs: bool, sample_axis: int) -> Any:
    if A is None:
        return None
    if has_runs:
        A = A[rs]
    index = [slice(None)] * A.ndim
    index[sample_axis] = ss
    return A[tuple(index)]


@dataclass
class BlockedPass:
    """The pass of :func:`chunked_loss_and_grads`: for each slice of the runs, the pass of
    each of its sample blocks with the block's number of rows."""

    blocks: list[tuple[slice, list[tuple[Any, int]]]]
    runs: int
    noise: None = None

    def layer_stats(self, act: Any) -> list[dict[str, np.ndarray]]:
        """``layer_stats`` of the whole pass: the fraction of saturated entries (counted
        over every block) or of units dead on every sample (AND over the sample blocks)."""
        hidden = len(self.blocks[0][1][0][0].layers)
        out: list[dict[str, np.ndarray]] = []
        for l in range(hidden):
            if act.stat is None:
                out.append({})
                continue
            value = np.empty(self.runs, dtype=np.float64)
            for rs, passes in self.blocks:
                if act.stat == "dead_frac":
                    dead = None
                    for p, _ in passes:
                        d = (p.layers[l].z <= 0).all(axis=1)
                        dead = d if dead is None else dead & d
                    value[rs] = dead.mean(axis=1)
                else:
                    count = sum(act.saturated(p.layers[l].z, p.layers[l].a).sum(axis=(1, 2))
                                for p, _ in passes)
                    total = sum(rows for _, rows in passes) * passes[0][0].layers[l].a.shape[-1]
                    value[rs] = np.asarray(count, dtype=np.float64) / total
            out.append({act.stat: value})
        return out


_freed_memory_kept = False


def chunked_loss_and_grads(net: Any, X: np.ndarray, Y: Any, loss_fn: Any, train: bool,
                           chunking: Chunking) -> tuple[np.ndarray, list[np.ndarray], Any]:
    """``net.compute(X, Y, loss_fn, train)`` block by block (see the module): the loss, the
    gradients, and a :class:`BlockedPass` when ``net.record`` (else ``None``).

    ``X`` is ``(n, d)`` or ``(runs, n, d)``; ``Y`` ``(n, k)``/``(runs, n, k)`` or labels
    ``(n,)``/``(runs, n)``. Each block is ``net.subset(runs).compute(...)`` on its samples."""
    global _freed_memory_kept
    if not _freed_memory_kept:
        _freed_memory_kept = True
        keep_freed_memory()
    R, n = net.runs, X.shape[-2]
    plan = chunking.blocks(R, n, _width(net))
    Y = np.asarray(Y)
    labels = loss_fn.labels_in(Y)  # also the labels a one-hot loss reads as targets
    y_runs = Y.ndim == (2 if labels else 3)
    y_axis = -1 if labels else -2
    parts = [net.subset(rs) for rs, _ in plan]
    errors = np.geterr()  # thread-local: the pool's threads get the caller's
    record = net.record

    def run_block(i: int, ss: slice) -> tuple[Any, np.ndarray, list[np.ndarray]]:
        """Block ``ss`` of run slice ``i``; its pass is kept only for a recorded pass."""
        rs = plan[i][0]
        Xc = _take(X, rs, ss, X.ndim == 3, -2)
        Yc = _take(Y, rs, ss, y_runs, y_axis)
        C, grads, p = parts[i].compute(Xc, Yc, loss_fn, train)
        return (p if record else None), C, grads

    def in_pool(share: list) -> list:
        with np.errstate(**errors):  # the caller's floating-point error handling
            return [run_block(*job) for job in share]

    jobs = [(i, ss) for i, (_, samples) in enumerate(plan) for ss in samples]
    if chunking.pool is not None and len(jobs) > 1 and chunking.threads > 1:
        # one contiguous share of the blocks per thread: few hand-offs between threads
        k = min(chunking.threads, len(jobs))
        shares = [jobs[len(jobs) * j // k:len(jobs) * (j + 1) // k] for j in range(k)]
        later = [chunking.pool.submit(in_pool, share) for share in shares[1:]]
        done = [run_block(*job) for job in shares[0]]  # this thread takes the first share
        for future in later:
            done += future.result()
    else:
        done = [run_block(*job) for job in jobs]

    C = np.empty(R, dtype=net.dtype)
    grads = [np.empty_like(p) for p in net.params]
    seen: list[Any] = []
    pos = 0
    for rs, samples in plan:
        block = done[pos:pos + len(samples)]
        pos += len(samples)
        seen.append((rs, [(b[0], ss.stop - ss.start) for b, ss in zip(block, samples,
                                                                       strict=True)]))
        if len(samples) == 1:
            C[rs] = block[0][1]
            for g, gb in zip(grads, block[0][2], strict=True):
                g[rs] = gb
            continue
        weights = [net.dtype((ss.stop - ss.start) / n) for ss in samples]
        C[rs] = sum(w * b[1] for w, b in zip(weights, block, strict=True))
        for j, g in enumerate(grads):
            acc = block[0][2][j] * weights[0]
            for w, b in zip(weights[1:], block[1:], strict=True):
                acc += w * b[2][j]
            g[rs] = acc
    return C, grads, (BlockedPass(seen, R) if record else None)
