"""Execution, never the numbers: flat parameters, the thread pool of the blocks, BLAS threads.

Everything here changes how fast a group trains and nothing of what it computes (tested:
the same CSVs with or without blocks, for any thread count).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import numpy as np

from nnbench.core.errors import check_int
from nnbench.core.parallel import Chunking, default_threads, keep_freed_memory

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


@contextmanager
def blocked_execution(net: Any, threads: int | None, blocks: bool) -> Iterator[None]:
    """While training, ``net``'s passes run in cache-sized blocks on ``threads`` threads
    (default: the cores this process may use) when ``blocks`` and the model allows
    (``net.chunking`` not ``None``), with BLAS on one thread meanwhile; else in one piece."""
    saved = net.chunking
    if not blocks or saved is None:
        net.chunking = None
        try:
            yield
        finally:
            net.chunking = saved
        return
    threads = default_threads() if threads is None else check_int("threads", threads, 1)
    keep_freed_memory()
    with ThreadPoolExecutor(threads) if threads > 1 else _no_pool() as pool, \
            _one_blas_thread(threads > 1):
        net.chunking = Chunking(pool=pool, threads=threads)
        try:
            yield
        finally:
            net.chunking = saved


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
