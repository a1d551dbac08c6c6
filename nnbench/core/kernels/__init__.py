"""Compiled fused kernels for an MLP's training pass (numba, optional).

``missing(net, loss_name, train=True)`` says in one line why no kernel computes this pass
(``None`` when one does); ``make_pass(net, loss_name)`` gives a :class:`KernelPass` whose
``loss_and_grads(params, X, Y)`` has the contract of ``net.loss_and_grads(X, Y, loss,
train=True)``: the same loss ``(runs,)`` and gradients to float rounding. Its
``train_step(flat, batch, plan, lr, limit)`` is a whole training step in one compiled
call: the pass, then the optimizer's update of the flat ``(R, N)`` parameters
(:mod:`~nnbench.core.kernels.updates`: SGD, momentum, Nesterov, Adam, AMSGrad, AdamW,
RMSProp, AdaGrad in torch's forms, with one learning rate per run; the NumPy rule's
numbers bit for bit); the engine takes it on every step but the first and the last.

Importing this package does not import numba: that happens in :func:`make_pass`. The
kernels are compiled once per dtype and kernel (:func:`kind`) into a disk cache (nnbench's
cache directory, ``<cache>/numba/<digest>``, unless ``NUMBA_CACHE_DIR`` says otherwise), and in a
child process (:func:`ensure_compiled`): numba's code compiled in a process can differ in
its last digits from the same code loaded from the cache (measured on every
one-hidden-layer case), so every process runs the cache's code, and a machine's first run
gives the numbers of its second. numba runs its threads on its OpenMP layer where it
loads (its threads wait for the next call spinning a while, where the ``workqueue`` layer's
sleep and take a fifth of a millisecond to wake on a virtual machine), else on
``workqueue``, unless ``NUMBA_THREADING_LAYER`` or ``NUMBA_THREADING_LAYER_PRIORITY``
chooses (:data:`LAYERS`).

Covered: any number of hidden layers of any widths (one hidden layer: ``_onehidden``;
two or more: ``_deep``, with residual layers; a wide network on a CPU with AVX-512,
:func:`wide`: :class:`WidePass`, BLAS's products with the elementwise work compiled around
them, ``_wide``), the activations of ``ACTIVATIONS`` below,
the losses of ``LOSSES``, float32 and float64, an input shared by the runs or one per run,
``l2``, dropout (the masks drawn by the network, as its NumPy pass draws them, and given
to the call). Not covered: binary weights, an output activation (``out_act``) and the
activations with learned, random or
non-elementwise units (prelu, rrelu, maxout).

A run's numbers do not depend on the other runs of the call nor on numba's thread count:
each run's samples are summed in parts of a fixed size, the parts added in a fixed order.
So each call may take one thread while the machine is busy (:mod:`.threads`).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np

from nnbench.core.errors import NNBenchError
from nnbench.core.passes import check_input

#: activation name -> kernel code (the numbering of ``_onehidden``)
ACTIVATIONS = {"sigmoid": 0, "tanh": 1, "relu": 2, "leaky_relu": 3, "elu": 4, "selu": 4,
               "softplus": 5, "silu": 6, "gelu": 7}
#: loss name -> kernel code
LOSSES = {"mse": 0, "half_sse": 1, "bce_with_logits": 2, "sigmoid_mse": 3,
          "softmax_cross_entropy": 4, "hinge": 5}

_LOCK = threading.Lock()  # numba's workqueue layer takes one parallel call at a time

#: numba's threading layers in nnbench's order of preference (the first that loads)
LAYERS = ["omp", "workqueue", "tbb"]


def numba_missing() -> str | None:
    """``"numba is not installed"`` when it cannot be imported, else ``None`` (without
    importing it)."""
    try:
        found = importlib.util.find_spec("numba") is not None
    except (ImportError, ValueError):
        found = False
    return None if found else "numba is not installed"


def missing(net: Any, loss_name: str, train: bool = True) -> str | None:
    """``None`` when a kernel computes ``net.loss_and_grads(X, Y, loss_name, train)``, else
    one line naming what is missing (the first thing found)."""
    sizes = getattr(net, "sizes", None)
    act = getattr(net, "activation", None)
    if sizes is None or act is None or not hasattr(net, "params"):
        return f"no numba kernel for model {type(net).__name__}"
    hidden = len(sizes) - 2
    if hidden < 1:
        return "no numba kernel for a network without hidden layers"
    name = getattr(act, "name", type(act).__name__)
    if name not in ACTIVATIONS:
        return f"no numba kernel for activation {name}"
    if loss_name not in LOSSES:
        return f"no numba kernel for loss {loss_name}"
    if np.dtype(net.dtype).name not in ("float32", "float64"):
        return f"no numba kernel for dtype {np.dtype(net.dtype).name}"
    if getattr(net, "binary", False):
        return "no numba kernel for binary weights"
    if getattr(net, "out_act", "identity") != "identity":
        return f"no numba kernel for output activation {net.out_act}"
    return numba_missing()


#: a layer of at least this many weights (fan-in x fan-out: 40 x 256, 128 x 128, 784 x 13)
#: makes a network wide on a CPU with AVX-512: there NumPy's BLAS multiplies on 512-bit
#: vectors where the fused kernels' loops take 256-bit ones, and ``benchmarks/passes.py``
#: measured the fused kernel slower than NumPy's whole pass (1.1x-3.4x), so the pass of a
#: wide network is BLAS's products with the elementwise work compiled around them
#: (:class:`WidePass`); with AVX2 alone the fused kernel was faster on every network measured
WIDE_LAYER = 10240


def _widest(net: Any) -> int:
    """The weights of ``net``'s largest layer (fan-in x fan-out)."""
    sizes = list(net.sizes)
    return max(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=False))


def wide(net: Any) -> bool:
    """Whether ``net`` has a layer of :data:`WIDE_LAYER` weights or more and this CPU has
    AVX-512: a rule of the network's shape and the CPU, not a timing, so that the same
    command on the same machine always takes the same path."""
    return _widest(net) >= WIDE_LAYER and _avx512()


def numpy_faster(net: Any) -> str | None:
    """Why ``--backend auto`` trains ``net`` in NumPy though a fused kernel covers it (one
    line), else ``None``: a wide residual network (:func:`wide`; :class:`WidePass` has no
    skip connections, and the fused kernel is slower than NumPy there)."""
    if not wide(net) or not getattr(net, "residual", False):
        return None
    return (f"a residual network with a layer of {_widest(net)} weights, where NumPy's "
            "BLAS is faster on this CPU (AVX-512)")


def _avx512() -> bool:
    """Whether this CPU has AVX-512 (NumPy's own reading of its features)."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:  # NumPy 1.x
        try:
            from numpy.core._multiarray_umath import __cpu_features__
        except ImportError:
            return False
    return bool(__cpu_features__.get("AVX512F"))


#: the kinds of compiled pass (:func:`kind`), each compiled on its first use
KINDS = ("one-hidden-layer", "deep", "wide")


def kind(net: Any) -> str:
    """Which compiled pass serves ``net``: ``"wide"`` (:func:`wide`, without residual
    layers: BLAS's products and :mod:`._wide`), else ``"one-hidden-layer"`` or ``"deep"``
    (two or more hidden layers), the fused kernels."""
    if wide(net) and not getattr(net, "residual", False):
        return "wide"
    return "one-hidden-layer" if len(net.sizes) == 3 else "deep"


def make_pass(net: Any, loss_name: str, train: bool = True) -> KernelPass:
    """The compiled pass of ``net`` with the loss ``loss_name`` (a :class:`WidePass` where
    :func:`kind` says ``"wide"``); raises :class:`~nnbench.core.errors.NNBenchError` with
    :func:`missing`'s reason when there is none."""
    reason = missing(net, loss_name, train)
    if reason is not None:
        raise NNBenchError(reason)
    return (WidePass if kind(net) == "wide" else KernelPass)(net, loss_name)


def _kernel_module():
    """Import the numba module, numba being set up first: its cache in nnbench's cache
    directory and the threading layers tried in the order of :data:`LAYERS` (unless the
    environment chose)."""
    os.environ.setdefault("NUMBA_CACHE_DIR", str(numba_cache_dir()))
    import numba

    if not numba.config.CACHE_DIR:
        numba.config.CACHE_DIR = os.environ["NUMBA_CACHE_DIR"]
    if not {"NUMBA_THREADING_LAYER", "NUMBA_THREADING_LAYER_PRIORITY"} & set(os.environ):
        numba.config.THREADING_LAYER = "default"
        numba.config.THREADING_LAYER_PRIORITY = list(LAYERS)
    from nnbench.core.kernels import _deep, _onehidden, _wide

    return _onehidden, _deep, _wide


#: set in the child process of :func:`ensure_compiled`, which compiles in place
CHILD_ENV = "NNBENCH_KERNEL_CHILD"


def marker(dtype: Any, kind_: str) -> Path:
    """The file that says the kernels of ``dtype`` and ``kind_`` (:func:`kind`) are compiled
    and cached on disk, in numba's cache directory (named by the kernels' source and
    numba's version, so a change of either compiles again)."""
    name = f"compiled-{np.dtype(dtype).name}-{kind_}-{_source_digest()}"
    return numba_cache_dir() / name


@functools.cache
def _source_digest() -> str:
    """The first 16 hex digits of the SHA-256 of numba's version and the kernels' source
    files, their bytes and times of change (numba's cache is keyed by a source file's time:
    a file checked out again must compile again in the child, not in this process; read
    once a process)."""
    digest = hashlib.sha256(_numba_version().encode())
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.read_bytes())
        digest.update(str(path.stat().st_mtime_ns).encode())
    return digest.hexdigest()[:16]


def numba_cache_dir() -> Path:
    """numba's disk cache: ``NUMBA_CACHE_DIR``, else ``numba/<digest>`` in nnbench's cache
    directory, one directory per state of the kernels' source (:func:`_source_digest`):
    numba keys its cache by the file that defines a function and not by the files of the
    functions it calls, so a change of ``_exp.py`` alone would otherwise load stale code."""
    from nnbench.tasks.cache import cache_dir

    return Path(os.environ.get("NUMBA_CACHE_DIR") or cache_dir() / "numba" / _source_digest())


def mark_compiled(dtype: Any, kind_: str) -> None:
    """Leave :func:`marker`: the kernels of ``dtype`` and ``kind_`` are in the disk cache."""
    path = marker(dtype, kind_)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()


def _numba_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("numba")
    except metadata.PackageNotFoundError:
        return ""


def ensure_compiled(dtype: Any, kind_: str) -> None:
    """Put the kernels of ``dtype`` and ``kind_`` in the disk cache, compiled by a child
    process (``python -m nnbench.engine.kernel_child DTYPE KIND``), unless :func:`marker` says
    they are there; this process then loads them from the cache. A child that fails leaves
    the compiling to this process (its numbers then equal the cache's to float rounding,
    not bit for bit)."""
    if os.environ.get(CHILD_ENV) or marker(dtype, kind_).exists():
        return
    env = {**os.environ, CHILD_ENV: "1"}
    subprocess.run([sys.executable, "-m", "nnbench.engine.kernel_child",
                    np.dtype(dtype).name, kind_], env=env, capture_output=True, check=False)


def _laid_out(a: np.ndarray, dtype: Any) -> np.ndarray:
    """``a`` as the kernels take it: C-contiguous, aligned and writeable (a copy where it is
    not, as a broadcast view is not writeable). numba types a read-only array apart, and a
    type the cache does not hold would compile in this process (see the module's doc)."""
    return np.require(a, dtype=dtype, requirements=["C", "A", "W"])


def flat_base(arrays: list[np.ndarray], R: int) -> np.ndarray | None:
    """The C-contiguous ``(R, N)`` array ``arrays`` are consecutive views of, end to end in
    their order (as ``engine.flatten_params`` lays parameters out), else ``None``."""
    base = arrays[0].base if arrays else None
    N = sum(a[0].size for a in arrays)
    if base is None or base.shape != (R, N) or not base.flags.c_contiguous:
        return None
    at, start, item = 0, base.ctypes.data, base.itemsize
    for a in arrays:
        if a.base is not base or a.ctypes.data != start + at * item:
            return None
        at += a[0].size
    return base


def compiled_update():
    """The compiled update of every run (``_update.apply_update``), numba set up first."""
    _kernel_module()
    from nnbench.core.kernels._update import apply_update

    return apply_update


class LayerStats:
    """What a logged step keeps of a compiled pass (in ``MLP.last_pass``): the statistic of
    each hidden layer, as ``Pass.layer_stats`` gives it (``saturated_frac`` or
    ``dead_frac``, ``(runs,)`` float64), counted by the kernel. Its ``saturated_frac``
    compares the kernel's ``f'(z)`` with the threshold, so an entry within rounding of it
    may count otherwise than in NumPy's pass."""

    noise = None

    def __init__(self, stats: list[dict[str, np.ndarray]]):
        self.stats = stats

    def layer_stats(self, act: Any) -> list[dict[str, np.ndarray]]:
        return [dict(d) for d in self.stats]


class Batch:
    """A batch prepared for the kernel: inputs ``X`` ``(1 or R, n, K)``, float targets
    ``Yf`` and labels ``Yl`` (the unused one a stand-in), the loss's factors and the
    parts' sums ``acc``."""

    __slots__ = ("X", "Yf", "Yl", "n", "fac", "lscale", "acc", "part")


class KernelPass:
    """The fused loss-and-gradients pass of one network shape, activation and loss, and the
    training step that also applies the optimizer's update (:meth:`train_step`).

    It reads from ``net`` only its configuration (sizes, activation and its constants,
    dtype, ``l2``, runs), never its parameters: they are given to each call."""

    def __init__(self, net: Any, loss_name: str):
        from nnbench.core.losses import LOSSES as LOSS_REGISTRY

        self.kind = self._kind(net)
        ensure_compiled(net.dtype, self.kind)
        self._k, self._deep, self._wide = _kernel_module()
        import numba

        from nnbench.core.kernels.threads import Governor

        self._numba, self._threads = numba, Governor()
        self.sizes = list(net.sizes)
        self.runs = int(net.runs)
        self.dtype = np.dtype(net.dtype)
        self.l2 = float(net.l2)
        act = net.activation
        self.act = ACTIVATIONS[act.name]
        self.loss_name = loss_name
        self.loss = LOSS_REGISTRY.create(loss_name)
        self.code = LOSSES[loss_name]
        T = self.dtype.type
        self.slope = T(getattr(act, "negative_slope", 0.0))
        self.alpha = T(getattr(act, "alpha", 1.0))
        self.scale = T(getattr(act, "scale", 1.0))
        sizes, R = self.sizes, self.runs
        self.shapes = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
            self.shapes += [(R, fan_in, fan_out), (R, 1, fan_out)]
        sizes_at = np.cumsum([0] + [s[1] * s[2] for s in self.shapes])
        self.n_flat = int(sizes_at[-1])
        # the deep kernel's layout: where W^l and b^l start (l = 1..L+1), residual layers
        L = len(sizes) - 2
        self._sizes = np.array(sizes, dtype=np.int64)
        self._woff = np.array([0] + list(sizes_at[0:-1:2]), dtype=np.int64)
        self._boff = np.array([0] + list(sizes_at[1::2]), dtype=np.int64)
        residual = bool(getattr(net, "residual", False))
        self._skips = np.array([False] + [residual and l >= 2 and sizes[l - 1] == sizes[l]
                                          for l in range(1, L + 2)], dtype=np.bool_)
        self._n_counts = sum(h + 1 for h in sizes[1:-1])  # per hidden layer: H_l + 1
        R, N = self.runs, self.n_flat
        self._G = np.empty((R, N), dtype=self.dtype)  # the gradients of train_step
        self._C = np.empty(R, dtype=self.dtype)
        # the layer statistic a logged step reports (MLP.layer_stats), counted by the kernel
        self.stat_name = act.stat
        self.stat = {"saturated_frac": 1, "dead_frac": 2}[act.stat]
        self.threshold = T(0.05 * act.max_grad)
        self._E = np.empty((R, self._n_counts))
        self._acc: dict[int, np.ndarray] = {}
        # no update: the stand-ins of the optimizer's arguments
        self._no_limit = np.full(R, -1.0)
        self._no_state = np.zeros((1, 1, 1), dtype=self.dtype)
        self._no_labels = np.zeros((1, 1), np.int64)
        self._sized: dict[int, tuple] = {}
        self._no_coef = np.zeros((1, 1), dtype=self.dtype)
        self._no_flags = np.zeros(5, dtype=np.int64)

    @staticmethod
    def _kind(net: Any) -> str:
        """The kind (:func:`kind`) of the kernels this class runs for ``net``."""
        return "one-hidden-layer" if len(net.sizes) == 3 else "deep"

    # -- inputs ------------------------------------------------------------------------
    def _flat_params(self, params) -> np.ndarray:
        """The parameters as one C-contiguous ``(R, N)`` array in the flat layout: the one
        ``params`` are views of, else a copy; checked against the network's shapes."""
        params = list(params)
        if len(params) != len(self.shapes):
            raise NNBenchError(f"params must hold {len(self.shapes)} arrays, got {len(params)}")
        for i, (p, shape) in enumerate(zip(params, self.shapes, strict=True)):
            if getattr(p, "shape", None) != shape or p.dtype != self.dtype:
                raise NNBenchError(
                    f"params[{i}] must be a {self.dtype.name} array of shape "
                    f"{shape}, got {getattr(p, 'dtype', type(p).__name__)} "
                    f"{getattr(p, 'shape', '')}"
                )
        R = self.runs
        flat = flat_base(params, R)
        return flat if flat is not None else np.concatenate(
            [p.reshape(R, -1) for p in params], axis=1)

    def prepare(self, X, Y) -> Batch:
        """``X`` and ``Y`` checked (the MLP's and the loss's wording) and laid out for the
        kernel; a full-batch loop prepares its batch once."""
        X = check_input(X, self.dtype, self.sizes[0], self.runs)
        b = Batch()
        b.X = _laid_out(X if X.ndim == 3 else X[None], self.dtype)
        b.n = n = b.X.shape[1]
        out, b.fac, b.lscale, b.part, b.acc = self._of_size(n)
        Yc = self.loss.targets(Y, out)
        if self.loss.takes_labels:
            Yl = Yc[:1] if Yc.strides[0] == 0 else Yc
            b.Yf = self._no_state  # stand-ins, which the kernels only read
            b.Yl = _laid_out(Yl, np.int64)
        else:
            b.Yf = _laid_out(Yc if Yc.ndim == 3 else Yc[None], self.dtype)
            b.Yl = self._no_labels
        return b

    def _of_size(self, n: int) -> tuple:
        """What every batch of ``n`` samples shares, made once (a minibatch loop prepares
        a batch each step): an output-shaped stand-in against which the loss checks the
        targets, the loss's factors (:meth:`_factors`), the parts and their sums
        (:meth:`_parts`)."""
        if n not in self._sized:
            out = np.broadcast_to(np.zeros((), dtype=self.dtype),
                                  (self.runs, n, self.sizes[-1]))
            self._sized[n] = (out, *self._factors(n), *self._parts(n))
        return self._sized[n]

    def _parts(self, n: int) -> tuple[int, np.ndarray]:
        """The samples of a part for a batch of ``n``, and the parts' sums (a buffer per
        number of parts)."""
        part = self._k.PART if len(self.sizes) == 3 else self._deep.part_size(n)
        parts = -(-n // part)
        if parts not in self._acc:
            self._acc[parts] = np.empty((self.runs, parts, self.n_flat + 1 + self._n_counts))
        return part, self._acc[parts]

    def _factors(self, n: int) -> tuple[Any, float]:
        """The gradient's factor (in the dtype, as NumPy's path rounds it) and the loss's."""
        O, T = self.sizes[-1], self.dtype.type
        name = self.loss_name
        if name == "mse":
            scale = 1.0 / (n * O)
            return T(2.0 * scale), scale
        if name == "hinge":
            return T(1.0 / (n * O)), 1.0 / (n * O)
        half = name in ("half_sse", "sigmoid_mse")
        return T(1.0 / n), (0.5 / n if half else 1.0 / n)

    # -- the pass ----------------------------------------------------------------------
    def _masks(self, masks, n: int) -> np.ndarray:
        """Dropout's masks ``(R, n, sum H_l)`` checked (a ``(1, 1, 1)`` stand-in for none)."""
        if masks is None:
            return self._no_state
        shape = (self.runs, n, self._n_counts - (len(self.sizes) - 2))
        if getattr(masks, "shape", None) != shape or masks.dtype != self.dtype \
                or not masks.flags.c_contiguous:
            raise NNBenchError(
                f"masks must be a C-contiguous {self.dtype.name} array of shape {shape}, "
                f"got {getattr(masks, 'dtype', type(masks).__name__)} "
                f"{getattr(masks, 'shape', '')}"
            )
        return masks

    def _run(self, P, b: Batch, G, C, limit, update, stats: bool = False,
             masks=None) -> None:
        """The compiled step over the flat parameters ``P``: gradients into ``G``, losses
        into ``C``, and ``update`` (``(code, S, coef, flags)``, code -1: none) applied to
        the runs whose loss is at most ``limit``; with ``stats`` the counts of the layer
        statistic into ``self._E``; ``masks``: dropout's (see :meth:`loss_and_grads`)."""
        code, S, coef, flags = update
        stat = self.stat if stats else 0
        M, drop = self._masks(masks, b.n), masks is not None
        if len(self.sizes) == 3:
            K, H, O = self.sizes

            def call():
                self._k.step(b.X, b.Yf, b.Yl, M, P, K, H, O, self.act, self.slope,
                             self.alpha, self.scale, self.code, b.fac, b.lscale, stat,
                             self.threshold, b.acc, G, C, self._E, limit, code, S, coef,
                             flags, drop)
        else:
            def call():
                self._deep.step_deep(b.X, b.Yf, b.Yl, M, P, self._sizes, self._woff,
                                     self._boff, self._skips, self.act, self.slope,
                                     self.alpha, self.scale, self.code, b.fac, b.lscale,
                                     stat, self.threshold, b.acc, G, C, self._E, limit, code,
                                     S, coef, flags, b.part, drop)
        with _LOCK:  # on the threads the governor chooses (one while the machine is busy)
            self._threads.call(self._numba, call)

    def _stats(self, n: int) -> LayerStats:
        """The statistic of each hidden layer from the counts of the last pass with stats."""
        out, at = [], 0
        for H in self.sizes[1:-1]:
            E = self._E[:, at:at + H + 1]
            if self.stat == 2:  # units with z <= 0 on every sample
                value = (E[:, :H] == 0).mean(axis=1)
            else:
                value = E[:, H] / (n * H)
            out.append({self.stat_name: value.astype(np.float64)})
            at += H + 1
        return LayerStats(out)

    def loss_and_grads(self, params, X, Y, out: np.ndarray | None = None,
                       stats: bool = False, masks: np.ndarray | None = None):
        """``(C (R,), grads)`` as ``net.loss_and_grads(X, Y, loss, train=True)``: ``grads``
        like ``params``. With ``out`` (``(R, N)`` of the dtype, laid out as
        ``engine.flatten_params`` lays the parameters out) the gradients are written
        there and returned as views of it. ``X`` may be a prepared :class:`Batch`
        (``Y`` then unused). With ``stats``, ``(C, grads, stats)``: the layer statistic
        of the pass as a :class:`LayerStats` (counted in the same call). ``masks``
        ``(R, n, sum H_l)``: dropout's ``m / (1 - p)`` of each hidden layer side by side
        (``MLP.dropout_masks``), else no dropout."""
        params = list(params)
        P = self._flat_params(params)
        b = X if isinstance(X, Batch) else self.prepare(X, Y)
        R, N = self.runs, self.n_flat
        if out is None:
            out = np.empty((R, N), dtype=self.dtype)
        elif out.shape != (R, N) or out.dtype != self.dtype:
            raise NNBenchError(
                f"out must be a {self.dtype.name} array of shape {(R, N)}, "
                f"got {out.dtype} {out.shape}"
            )
        C = np.empty(R, dtype=self.dtype)
        self._run(P, b, out, C, self._no_limit,
                  (-1, self._no_state, self._no_coef, self._no_flags), stats, masks)
        grads = self._views(out)
        if self.l2 > 0:  # as MLP._regularized: C + lambda/2 ||W||^2, dC/dW + lambda W
            weights = params[0::2]
            sq = sum(np.einsum("rij,rij->r", W, W) for W in weights)
            C = C + (0.5 * self.l2 * np.asarray(sq)).astype(self.dtype)
            for g, W in zip(grads[0::2], weights, strict=True):
                g += self.l2 * W
        if stats:
            return C, grads, self._stats(b.n)
        return C, grads

    def train_step(self, flat: np.ndarray, batch: Batch, plan: Any, lr: Any,
                   limit: np.ndarray, masks: np.ndarray | None = None,
                   stats: bool = False):
        """One step of training in one compiled call: the loss and gradients of every run
        at the parameters ``flat`` ``(R, N)`` (:func:`flat_base` of the network's), then
        ``plan``'s optimizer update with the learning rates ``lr`` of the runs whose loss
        is at most ``limit`` ``(R,)`` (float64; NaN fails; -1 for a run that must not
        move), in place; ``masks`` dropout's, as in :meth:`loss_and_grads`. The losses
        ``(R,)`` (a copy); with ``stats``, ``(losses, stats)``: the layer statistic of the
        pass, as :meth:`loss_and_grads` gives it. The step's gradients stay in
        :meth:`step_grads` until the next call. No L2 (``plan`` is only made without it)."""
        if self.l2 > 0:
            raise NNBenchError("train_step has no L2 term; use loss_and_grads")
        self._run(flat, batch, self._G, self._C, limit, plan.prepare(lr), stats, masks)
        if stats:
            return self._C.copy(), self._stats(batch.n)
        return self._C.copy()

    def step_grads(self) -> list[np.ndarray]:
        """The gradients of the last :meth:`train_step` (before its update), like the
        parameters: views of a buffer the next call overwrites."""
        return self._views(self._G)

    def _views(self, flat: np.ndarray) -> list[np.ndarray]:
        """``flat`` ``(R, N)`` cut into the four gradient arrays (views)."""
        views, at = [], 0
        for shape in self.shapes:
            size = shape[1] * shape[2]
            views.append(flat[:, at:at + size].reshape(shape))
            at += size
        return views

    def __repr__(self) -> str:
        return (f"KernelPass(sizes={self.sizes}, activation code {self.act}, "
                f"loss={self.loss_name!r}, dtype={self.dtype.name})")


#: the threads of BLAS while a wide network trains (:class:`WidePass`), whatever the thread
#: count of the group or the cores: OpenBLAS cuts a product into blocks by its thread
#: count, and some shapes' numbers change with the blocks (5 x 1000 times 1000 x 300 does
#: on one thread and on two), so a fixed count keeps a run's numbers independent of it
BLAS_THREADS = 2


class WidePass(KernelPass):
    """The compiled pass of a wide network (:func:`wide`): each layer's product ``h W`` (and
    backward ``h^T d`` and ``d W^T``) by NumPy's BLAS, exactly as NumPy's pass multiplies,
    and the elementwise work around them compiled (:mod:`._wide`: bias, activation and its
    derivative, dropout, loss, bias gradients, the optimizer's update), one sweep over a
    layer's arrays where NumPy's pass makes a dozen. The contract of :class:`KernelPass`;
    no residual layers. BLAS takes the threads (``uses_blas``): the engine runs it on
    :data:`BLAS_THREADS` while the group trains."""

    uses_blas = True

    def __init__(self, net: Any, loss_name: str):
        if getattr(net, "residual", False):
            raise NNBenchError("no wide pass for a residual network")
        super().__init__(net, loss_name)
        self._bufs: dict[int, tuple] = {}
        self._sums64 = np.empty(max(self.sizes[1:-1]))
        self._views_of: tuple[int, list, list] | None = None

    @staticmethod
    def _kind(net: Any) -> str:
        return "wide"

    def _parts(self, n: int) -> tuple[int, np.ndarray]:
        return n, self._no_state  # no parts: BLAS sums over the samples

    def _buffers(self, n: int) -> tuple:
        """A batch of ``n`` samples' arrays: per hidden layer ``z`` (then ``f'(z)``, then
        ``d``) and ``h``, and ``dC/dh``; the output's; the loss's chunk buffers."""
        if n not in self._bufs:
            R, T, O = self.runs, self.dtype, self.sizes[-1]
            Z = [np.empty((R, n, H), T) for H in self.sizes[1:-1]]
            A = [np.empty((R, n, H), T) for H in self.sizes[1:-1]]
            Gh = [np.empty((R, n, H), T) for H in self.sizes[1:-1]]
            chunk = (np.empty((O, self._wide.LANES), T), np.empty((O, self._wide.LANES), T),
                     np.empty(self._wide.LANES, np.int64))
            self._bufs[n] = (Z, A, Gh, np.empty((R, n, O), T), chunk)
        return self._bufs[n]

    def _layer_views(self, flat: np.ndarray) -> list[np.ndarray]:
        """The weight matrices ``(R, fan_in, fan_out)`` of ``flat`` (views)."""
        return self._views(flat)[0::2]

    def _run(self, P, b: Batch, G, C, limit, update, stats: bool = False,
             masks=None) -> None:
        code, S, coef, flags = update
        stat = self.stat if stats else 0
        M, drop = self._masks(masks, b.n), masks is not None
        Z, A, Gh, Zo, (Ob, Yb, Lb) = self._buffers(b.n)
        key = (P.ctypes.data, G.ctypes.data)
        if self._views_of is None or self._views_of[0] != key:  # the same arrays each step
            self._views_of = (key, self._layer_views(P), self._layer_views(G))
        _, W, GW = self._views_of
        w, L = self._wide, len(self.sizes) - 2
        boff = self._boff
        if stat:
            self._E[:] = 0.0
        h, moff, eoff = b.X, 0, 0
        moffs = []
        for l in range(L):  # hidden layer l + 1
            np.matmul(h, W[l], out=Z[l])
            w.hidden(Z[l], A[l], P, boff[l + 1], M, moff, drop, self.act, self.slope,
                     self.alpha, self.scale, stat, self.threshold, self._E, eoff)
            moffs.append(moff)
            moff += self.sizes[l + 1]
            eoff += self.sizes[l + 1] + 1
            h = A[l]
        np.matmul(h, W[L], out=Zo)
        w.output(Zo, P, boff[L + 1], b.Yf, b.Yl, self.loss.takes_labels, self.code, b.fac,
                 b.lscale, C, G, Ob, Yb, Lb)
        d = Zo
        for l in range(L, 0, -1):  # dC/dW^(l+1), then d^l of hidden layer l
            np.matmul(np.swapaxes(A[l - 1], 1, 2), d, out=GW[l])
            np.matmul(d, np.swapaxes(W[l], 1, 2), out=Gh[l - 1])
            w.back(Gh[l - 1], Z[l - 1], M, moffs[l - 1], drop, G, boff[l], self._sums64)
            d = Z[l - 1]
        np.matmul(np.swapaxes(b.X, 1, 2), d, out=GW[0])
        w.update_runs(C, limit, code, P, G, S, coef, flags)


__all__ = ["ACTIVATIONS", "BLAS_THREADS", "KINDS", "LOSSES", "WIDE_LAYER", "Batch",
           "KernelPass", "LayerStats", "WidePass", "compiled_update", "ensure_compiled",
           "flat_base", "kind", "make_pass", "mark_compiled", "marker", "missing",
           "numba_missing", "numpy_faster", "wide"]
