"""Execution, never the numbers: the backend (which kernels, checked and compiled before a
group trains), flat parameters, the thread pool of the blocks, BLAS threads.

Everything here changes how fast a group trains and nothing of what it computes (tested:
the same CSVs with or without blocks, for any thread count).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import numpy as np

from nnbench.core import kernels
from nnbench.core.errors import NNBenchError, check_int
from nnbench.core.losses import LOSSES
from nnbench.core.models import Model, build_model
from nnbench.core.parallel import Chunking, default_threads, keep_freed_memory
from nnbench.schema import Backend, choices
from nnbench.tasks.build import make_task

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


#: the backends a group's passes may run on; ``auto`` takes a compiled kernel where one
#: covers the pass, else NumPy
BACKENDS = choices(Backend)


def backend_choice(backend: str | None) -> str:
    """``backend``, else the environment's ``NNBENCH_BACKEND``, else ``auto``; checked."""
    choice = backend or os.environ.get("NNBENCH_BACKEND") or "auto"
    if choice not in BACKENDS:
        raise NNBenchError(f"backend must be one of {', '.join(BACKENDS)}, got {choice!r}"
                           + (" (from NNBENCH_BACKEND)" if not backend else ""))
    return choice


def use_kernel(net: Any, loss: str | None, backend: str, threads: int) -> str:
    """Give ``net`` the compiled pass of ``loss`` when ``backend`` allows and a kernel
    covers it (``auto``: and :func:`kernels.numpy_faster` does not prefer NumPy's path);
    the backend used (``numpy`` or ``numba``). ``numba`` without a kernel for the case is
    an error naming what is missing."""
    if backend == "numpy" or loss is None:
        reason = None if backend != "numba" else "the task trains no network"
    else:
        reason = kernels.missing(net, loss, train=True)
        if reason is None and backend == "auto" and kernels.numpy_faster(net) is not None:
            return "numpy"
        if reason is None:
            net.kernel = kernels.make_pass(net, loss)
            import numba  # there since make_pass compiled

            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
            return "numba"
    if backend == "numba":
        raise NNBenchError(backend_error(reason))
    return "numpy"


#: the file that says the kernels of a dtype and kind are in the disk cache
kernel_marker = kernels.marker


def compile_kernel(net: Any, loss: str) -> None:
    """Compile (or load from the disk cache) the kernel of ``net`` and ``loss`` on a
    two-sample batch, and the optimizers' compiled update, and leave :func:`kernel_marker`."""
    kpass = kernels.make_pass(net, loss)
    X = np.zeros((2, net.sizes[0]), dtype=net.dtype)
    labels = LOSSES.create(loss).takes_labels
    Y = np.zeros(2, dtype=np.int64) if labels else np.zeros((2, net.sizes[-1]), net.dtype)
    kpass.loss_and_grads(net.params, X, Y)
    flat = np.zeros((1, 1), dtype=net.dtype)  # the compiled update of the steps that log
    kernels.compiled_update()(-1, flat, flat, np.zeros((1, 1, 1), net.dtype), flat,
                         np.zeros(5, np.int64))
    kernels.mark_compiled(net.dtype, kpass.kind)


def backend_error(reason: str) -> str:
    """The one line of ``--backend numba`` where no kernel covers a case."""
    hint = " (pip install -e '.[fast]' in the checkout)" if "not installed" in reason else ""
    return f"--backend numba: {reason}{hint}; use --backend auto or numpy"


@contextmanager
def execution(net: Any, threads: int | None, blocks: bool, backend: str = "auto",
              loss: str | None = None) -> Iterator[str]:
    """While training, ``net``'s passes run on the chosen backend (:func:`use_kernel`;
    yields its name) and otherwise in cache-sized blocks on ``threads`` threads (default:
    the cores this process may use) when ``blocks`` and the model allows
    (``net.chunking`` not ``None``), with BLAS on one thread meanwhile; else in one piece.
    On every backend freed memory is kept for the next allocation (:func:`keep_freed_memory`):
    else a pass's arrays of a few MB (W3's evaluation, 4000 samples by 256 units) cost fresh
    pages each time."""
    saved = net.chunking
    keep_freed_memory()
    threads = default_threads() if threads is None else check_int("threads", threads, 1)
    used = use_kernel(net, loss, backend_choice(backend), threads)
    try:
        if getattr(net.kernel, "uses_blas", False):  # BLAS multiplies, on a fixed count
            net.chunking = None  # of threads (see kernels.BLAS_THREADS)
            with _blas_threads(kernels.BLAS_THREADS):
                yield used
            return
        # NumPy's passes (the fused kernels call no BLAS): BLAS on one thread whatever
        # ``threads``, as OpenBLAS's numbers for some shapes change with its thread count
        # (and threads x BLAS threads would oversubscribe the cores)
        with _blas_threads(1):
            if not blocks or saved is None:
                net.chunking = None
                yield used
                return
            with ThreadPoolExecutor(threads) if threads > 1 else _no_pool() as pool:
                net.chunking = Chunking(pool=pool, threads=threads)
                yield used
    finally:
        net.chunking = saved
        net.kernel = None


def flat_grads(grads: list[np.ndarray], R: int) -> np.ndarray:
    """The gradients end to end in one ``(R, N)`` array, as :func:`flatten_params` lays the
    parameters out: the array they are already views of (a compiled pass writes them so),
    else a copy."""
    base = kernels.flat_base(grads, R)
    if base is not None:
        return base
    return np.concatenate([g.reshape(R, -1) for g in grads], axis=1)


@contextmanager
def _no_pool() -> Iterator[None]:
    yield None


@functools.cache
def _pools() -> Any:
    """threadpoolctl's controller of the thread pools loaded (NumPy's BLAS among them),
    found once a process: finding them reads the loaded libraries (about 1.5 ms, which
    every group paid twice)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


@contextmanager
def _blas_threads(threads: int) -> Iterator[None]:
    """BLAS on ``threads`` threads meanwhile."""
    with _pools().limit(limits=threads, user_api="blas"):
        yield None


def _one_run_model(cfg: Any) -> Model | None:
    """The model of ``cfg`` with one run (``None`` on a landscape: no network)."""
    task = make_task(cfg)
    if task.kind == "landscape":
        return None
    data = task.load(seed=cfg.data_seed, val_frac=cfg.val_frac, dtype=cfg.dtype)
    return build_model(cfg, task, data.n_features, data.n_outputs, [int(cfg.seed)])


def check_backend(cfg: Any, backend: str | None) -> None:
    """Raise NNBenchError, before anything is created, when ``backend`` (or
    ``NNBENCH_BACKEND``) is ``numba`` and no kernel covers the group of ``cfg``."""
    if backend_choice(backend) != "numba":
        return
    net = _one_run_model(cfg)
    reason = "the task trains no network" if net is None else \
        kernels.missing(net, cfg.loss, train=True)
    if reason is not None:
        raise NNBenchError(backend_error(reason))


def kernels_to_compile(cfgs: Sequence[Any], backend: str | None) -> list[Any]:
    """Of the groups' first run configs ``cfgs``, one per dtype and kernel kind
    (:func:`kernels.kind`) whose kernels the compiled backend would use and that are not
    compiled yet (``[]`` for the NumPy backend, or when every kernel needed is in the disk
    cache)."""
    if backend_choice(backend) == "numpy" or kernels.numba_missing():
        return []
    todo: dict[tuple[str, str], Any] = {}
    for cfg in cfgs:
        fused = "one-hidden-layer" if cfg.depth == 1 else "deep"
        if cfg.loss is None or all(kernel_marker(cfg.dtype, k).exists()
                                   for k in (fused, "wide")):
            continue  # nothing to compile whichever kind serves it (no model built)
        net = _one_run_model(cfg)
        if net is None or kernels.missing(net, cfg.loss, train=True) is not None or (
                backend_choice(backend) == "auto" and kernels.numpy_faster(net)):
            continue
        key = (cfg.dtype, kernels.kind(net))
        if key not in todo and not kernel_marker(*key).exists():
            todo[key] = cfg
    return list(todo.values())


def kernel_names(cfgs: Sequence[Any]) -> list[str]:
    """What :func:`kernels_to_compile`'s configs compile, in words: ``the one-hidden-layer
    MLP (float32)``, ``the deep MLP (float32, float64)``, ``the wide MLP (float32)``."""
    kinds: dict[str, set[str]] = {}
    for cfg in cfgs:
        kinds.setdefault(kernels.kind(_one_run_model(cfg)), set()).add(cfg.dtype)
    return [f"the {k} MLP ({', '.join(sorted(d))})" for k, d in sorted(
        kinds.items(), key=lambda kv: kernels.KINDS.index(kv[0]))]


def compile_kernels(cfgs: Sequence[Any]) -> None:
    """Compile (once, into the disk cache) the kernels of each of ``cfgs``."""
    for cfg in cfgs:
        compile_kernel(_one_run_model(cfg), cfg.loss)
