"""The engine on the compiled backend: the NumPy path's numbers to float rounding, a run's
trajectory independent of its group and thread count, and a clear word where no kernel
covers a case."""

from __future__ import annotations

import numpy as np
import pytest

from nnbench.config import RunConfig, resolve
from nnbench.core.errors import NNBenchError
from nnbench.engine import ListSink, flat_grads, train_group

pytest.importorskip("numba")


def _group(seeds, backend, threads=1, **kw):
    cfgs = [resolve(RunConfig(seed=s, run_id=f"s{s}", **kw)) for s in seeds]
    sink = ListSink()
    return train_group(cfgs, sink=sink, backend=backend, threads=threads), sink


SIN = dict(task="sin-small", steps=60, log_every=10, width=16)


def _assert_same_weights(a, b, rtol=1e-9):
    """Every run of the results ``a`` and ``b`` ends with the same weights to ``rtol``."""
    for ra, rb in zip(a.runs, b.runs, strict=True):
        for wa, wb in zip(ra.weights, rb.weights, strict=True):
            np.testing.assert_allclose(wb, wa, rtol=rtol, atol=rtol * np.abs(wa).max())


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("depth", [1, 3])
def test_numba_backend_trains_as_numpy_does(dtype, depth):
    a, sa = _group([0, 1], "numpy", dtype=dtype, depth=depth, **SIN)
    b, sb = _group([0, 1], "numba", dtype=dtype, depth=depth, **SIN)
    assert (a.backend, b.backend) == ("numpy", "numba")
    rtol = 1e-9 if dtype == "float64" else 2e-3
    for ra, rb in zip(a.runs, b.runs, strict=True):
        np.testing.assert_allclose(rb.final_train_loss, ra.final_train_loss, rtol=rtol)
        for wa, wb in zip(ra.weights, rb.weights, strict=True):
            np.testing.assert_allclose(wb, wa, rtol=rtol, atol=rtol * np.abs(wa).max())
    # the layer statistics of the logged steps come along
    assert len(sb.layers) == len(sa.layers) and len(sb.metrics) == len(sa.metrics)


@pytest.mark.parametrize("depth", [1, 4])
def test_numba_run_is_the_same_in_any_group_and_on_any_thread_count(depth):
    alone, _ = _group([1], "numba", depth=depth, **SIN)
    group, _ = _group([0, 1, 2], "numba", threads=2, depth=depth, **SIN)
    for wa, wb in zip(alone.runs[0].weights, group.runs[1].weights, strict=True):
        np.testing.assert_array_equal(wa, wb)


def test_auto_takes_numpy_where_no_kernel_covers_and_numba_says_what_is_missing():
    kw = dict(task="moons", steps=3, act="maxout", depth=1, width=4)
    result, _ = _group([0], "auto", **kw)
    assert result.backend == "numpy"
    with pytest.raises(NNBenchError, match="^--backend numba: no numba kernel for activation"):
        _group([0], "numba", **kw)


def test_backend_from_the_environment_and_bad_names(monkeypatch):
    monkeypatch.setenv("NNBENCH_BACKEND", "numpy")
    result, _ = _group([0], None, **SIN)
    assert result.backend == "numpy"
    monkeypatch.setenv("NNBENCH_BACKEND", "cuda")
    with pytest.raises(NNBenchError, match="NNBENCH_BACKEND"):
        _group([0], None, **SIN)


def test_flat_grads_takes_the_array_the_gradients_are_views_of():
    flat = np.arange(2 * 7, dtype=float).reshape(2, 7).copy()  # owns its memory
    views = [flat[:, :4].reshape(2, 2, 2), flat[:, 4:6].reshape(2, 1, 2), flat[:, 6:7]]
    assert flat_grads(views, 2) is flat
    copies = [v.copy() for v in views]
    joined = flat_grads(copies, 2)
    assert joined is not flat
    np.testing.assert_array_equal(joined, flat)
    swapped = [views[1], views[0], views[2]]  # views, but not in order: copied
    assert flat_grads(swapped, 2) is not flat


# -- the optimizer's update in the compiled step ---------------------------------------------
FUSED = ["sgd", "momentum", "nesterov", "adam", "amsgrad", "adamw", "rmsprop", "adagrad"]


@pytest.mark.parametrize("optim", FUSED)
def test_fused_steps_train_as_the_numpy_path(optim):
    """Most steps are one compiled call (pass and update); float64 runs follow the NumPy
    path's trajectory to rounding, per-run learning rates and a schedule included."""
    kw = dict(SIN, optim=optim, dtype="float64", schedule="cosine")
    cfgs = lambda: [resolve(RunConfig(seed=s, lr=lr, run_id=f"s{s}", **kw))  # noqa: E731
                    for s, lr in ((0, 0.01), (1, 0.03))]
    a = train_group(cfgs(), backend="numpy", threads=1)
    b = train_group(cfgs(), backend="numba", threads=1)
    for ra, rb in zip(a.runs, b.runs, strict=True):
        np.testing.assert_allclose(rb.final_train_loss, ra.final_train_loss, rtol=1e-9)
        for wa, wb in zip(ra.weights, rb.weights, strict=True):
            np.testing.assert_allclose(wb, wa, rtol=1e-9, atol=1e-9 * np.abs(wa).max())


@pytest.mark.parametrize("optim", ["adam", "momentum", "rmsprop"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("depth", [1, 2])
def test_a_fused_trajectory_does_not_depend_on_logging_group_or_threads(optim, dtype, depth):
    """Steps that log and steps that do not give the same numbers bit for bit: a run is
    the same logged at every step or every 25th, alone or in a group, on one thread or
    two."""
    kw = dict(task="sin-small", steps=50, width=16, optim=optim, dtype=dtype, depth=depth)
    every, _ = _group([1], "numba", log_every=1, eval_every=1, **kw)
    sparse, _ = _group([1], "numba", log_every=25, eval_every=25, **kw)
    group, _ = _group([0, 1, 2], "numba", threads=2, log_every=25, eval_every=25, **kw)
    for w, ws, wg in zip(every.runs[0].weights, sparse.runs[0].weights,
                         group.runs[1].weights, strict=True):
        np.testing.assert_array_equal(w, ws)
        np.testing.assert_array_equal(w, wg)


def _rows(rows):
    """Logged rows without their wall-clock times, NaN compared as equal."""
    return [{k: ("nan" if isinstance(v, float) and v != v else v)
             for k, v in r.items() if k != "wall_s"} for r in rows]


@pytest.mark.parametrize(("task", "extra"), [
    ("sin-small", {}), ("moons", {"dropout": 0.2}), ("spirals", {"depth": 2, "act": "relu"})])
def test_a_logging_step_in_one_call_logs_what_the_step_taken_apart_logs(task, extra):
    """A logging step is one compiled call too (pass and update), with what it logs taken
    around the call: the evaluation before the update, the gradients and layer statistic of
    the pass, the weights' norms and update ratios from the weights before. Its rows equal,
    bit for bit, those of the same steps taken apart (the pass, the rows, then the compiled
    update: what clipping at a norm never reached makes the loop do), every metric and
    every layer row, the validation loss and the accuracy included."""
    kw = dict(task=task, steps=30, log_every=3, eval_every=3, width=16, optim="adam",
              dtype="float32", **extra)
    one, s1 = _group([0, 1], "numba", **kw)
    apart, s2 = _group([0, 1], "numba", clip=1e30, **kw)
    assert one.backend == apart.backend == "numba"
    assert _rows(s1.metrics) == _rows(s2.metrics)
    assert _rows(s1.layers) == _rows(s2.layers)
    assert len(s1.layers) == 2 * 11 * (kw.get("depth", 1) + 1)
    assert any(np.isfinite(r["update_ratio"]) and r["update_ratio"] > 0 for r in s1.layers)
    if task != "sin-small":
        assert all(np.isfinite(r["train_acc"]) for r in s1.metrics)
    for ra, rb in zip(one.runs, apart.runs, strict=True):
        for wa, wb in zip(ra.weights, rb.weights, strict=True):
            np.testing.assert_array_equal(wa, wb)


@pytest.mark.parametrize("depth", [1, 3])
def test_dropout_trains_as_the_numpy_path(depth):
    """Dropout through fused steps and logged ones: the masks are the NumPy pass's draws,
    so float64 runs follow its trajectory to rounding; and alone or in a group, on one
    thread or two, the same bit for bit."""
    kw = dict(SIN, dtype="float64", dropout=0.2, depth=depth, optim="adam")
    a, _ = _group([0, 1], "numpy", **kw)
    b, _ = _group([0, 1], "numba", **kw)
    assert b.backend == "numba"
    _assert_same_weights(a, b)
    alone, _ = _group([1], "numba", **kw)
    group, _ = _group([0, 1, 2], "numba", threads=2, **kw)
    for wa, wb in zip(alone.runs[0].weights, group.runs[1].weights, strict=True):
        np.testing.assert_array_equal(wa, wb)


def test_a_diverging_run_stops_as_on_numpy_and_leaves_the_others_alone():
    """A run whose loss blows up in a fused step is frozen with its weights of that step,
    as on the NumPy path, and the other runs of its group are the same as alone."""
    kw = dict(task="sin-small", steps=60, log_every=30, width=16, optim="sgd",
              dtype="float64")
    cfgs = [resolve(RunConfig(seed=0, lr=1e3, run_id="big", **kw)),
            resolve(RunConfig(seed=1, lr=0.01, run_id="ok", **kw))]
    a = train_group(cfgs, backend="numpy", threads=1)
    b = train_group(cfgs, backend="numba", threads=1)
    alone = train_group(cfgs[1:], backend="numba", threads=1)
    assert a.runs[0].status == b.runs[0].status == "diverged"
    assert a.runs[0].diverged_step == b.runs[0].diverged_step
    assert 0 < b.runs[0].diverged_step < 30  # in a step without logging: a fused one
    for wa, wb in zip(a.runs[0].weights, b.runs[0].weights, strict=True):
        np.testing.assert_allclose(wb, wa, rtol=1e-9)
    for wb, wc in zip(b.runs[1].weights, alone.runs[0].weights, strict=True):
        np.testing.assert_array_equal(wb, wc)


@pytest.mark.parametrize("optim", ["adam", "momentum"])
@pytest.mark.parametrize(("depth", "residual"), [(1, False), (3, False), (3, True)])
def test_fused_minibatch_steps_train_as_the_numpy_path(optim, depth, residual):
    """Minibatches (each step its own batch of each run) through fused steps, a loss of
    labels: the NumPy path's trajectory to rounding in float64."""
    kw = dict(task="moons", steps=40, log_every=20, width=8, depth=depth, batch_size=16,
              optim=optim, dtype="float64", residual=residual)
    a, _ = _group([0, 1], "numpy", **kw)
    b, _ = _group([0, 1], "numba", **kw)
    assert b.backend == "numba"
    _assert_same_weights(a, b)


def test_the_first_run_with_a_cold_kernel_cache_gives_the_numbers_of_the_next(tmp_path):
    """numba's code compiled in a process can differ in its last digits from the same code
    loaded from its disk cache (measured: every one-hidden-layer case did), so a machine's
    first run would differ from its second. nnbench compiles in a child process and every
    process runs the cache's code: the same command twice, the first time with a cold
    cache, gives the same CSVs (wall_s apart), for both kernels, both dtypes, and the pass
    alone (SGD's logged steps) as well as the fused step (Adam's)."""
    import csv
    import os
    import subprocess
    import sys

    env = {**os.environ, "NNBENCH_CACHE": str(tmp_path / "cache"), "NNBENCH_BACKEND": "auto",
           "NNBENCH_NO_CACHE": "1"}
    env.pop("NUMBA_CACHE_DIR", None)

    def rows(out):
        table = list(csv.reader((out / "metrics.csv").open()))
        drop = table[0].index("wall_s")
        return [[v for j, v in enumerate(r) if j != drop] for r in table]

    for dtype in ("float32", "float64"):
        outs = []
        for i in range(2):
            out = tmp_path / f"{dtype}-{i}"
            proc = subprocess.run(
                [sys.executable, "-m", "nnbench", "compare", "--task", "sin-small", "--optims",
                 "sgd,adam", "--depths", "1,2", "--dtype", dtype, "--width", "8", "--steps",
                 "40", "--log-every", "7", "--out", str(out), "--quiet", "--no-plot"],
                env=env, capture_output=True, text=True, timeout=900)
            assert proc.returncode == 0, proc.stderr
            outs.append(rows(out))
        assert outs[0] == outs[1], dtype


@pytest.mark.parametrize("avx512", [True, False])
def test_a_wide_layer_on_a_cpu_with_avx512_takes_blas(monkeypatch, avx512):
    """A layer of WIDE_LAYER weights or more on a CPU with AVX-512 trains on the wide pass
    (BLAS's products, the compiled elementwise work) under ``auto`` and ``numba``, and on
    NumPy under ``auto`` when the network is residual; on another CPU, or narrower, on the
    fused kernels."""
    from nnbench.core import kernels

    monkeypatch.setattr(kernels, "_avx512", lambda: avx512)
    made = []
    monkeypatch.setattr(kernels, "make_pass", lambda net, loss, train=True, f=kernels.make_pass:
                        made.append(f(net, loss, train)) or made[-1])
    wide = dict(task="sin-small", steps=3, log_every=1, width=128, depth=2)
    assert 128 * 128 >= kernels.WIDE_LAYER > 100 * 100
    for backend in ("auto", "numba"):
        result, _ = _group([0], backend, **wide)
        assert result.backend == "numba"
        assert type(made[-1]) is (kernels.WidePass if avx512 else kernels.KernelPass)
    residual, _ = _group([0], "auto", **{**wide, "residual": True})
    assert residual.backend == ("numpy" if avx512 else "numba")
    made.clear()
    narrow, _ = _group([0], "auto", **{**wide, "width": 100})
    assert narrow.backend == "numba" and type(made[-1]) is kernels.KernelPass


# -- the wide pass (any network made wide, whatever this CPU) ------------------------------------
@pytest.fixture
def everything_wide(monkeypatch):
    from nnbench.core import kernels

    monkeypatch.setattr(kernels, "wide", lambda net: True)


WIDE = dict(task="moons", steps=40, log_every=15, width=24, depth=2, batch_size=32)


@pytest.mark.parametrize("optim", ["adam", "sgd", "rmsprop"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("dropout", [0.0, 0.2])
def test_the_wide_pass_trains_as_numpy_does(everything_wide, optim, dtype, dropout):
    kw = dict(WIDE, optim=optim, dtype=dtype, dropout=dropout)
    a, sa = _group([0, 1], "numpy", **kw)
    b, sb = _group([0, 1], "numba", **kw)
    assert b.backend == "numba"
    _assert_same_weights(a, b, rtol=1e-9 if dtype == "float64" else 2e-3)
    assert len(sb.layers) == len(sa.layers) and len(sb.metrics) == len(sa.metrics)
    assert [r["dead_frac"] for r in sb.layers] == [r["dead_frac"] for r in sa.layers]


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_wide_run_is_the_same_in_any_group_thread_count_or_blas_setting(everything_wide,
                                                                           backend, dtype):
    """BLAS multiplies on a fixed number of threads whatever the group's thread count and
    the caller's BLAS setting (the wide pass on kernels.BLAS_THREADS, NumPy's pass on one):
    a run alone on one thread, in a group on two, and alone with the caller's BLAS limited
    to one thread give the same numbers bit for bit."""
    from threadpoolctl import threadpool_limits

    # 64 inputs to 300 units in float64: a product whose numbers OpenBLAS changes with its
    # thread count (measured on one thread and two)
    kw = dict(WIDE, task="digits", optim="adam", dtype=dtype, width=300, depth=1,
              batch_size=128, steps=20)
    alone, _ = _group([1], backend, threads=1, **kw)
    group, _ = _group([0, 1, 2], backend, threads=2, **kw)
    with threadpool_limits(limits=1 if backend == "numba" else 2, user_api="blas"):
        limited, _ = _group([1], backend, threads=1, **kw)
    assert alone.backend == backend
    for wa, wb, wc in zip(alone.runs[0].weights, group.runs[1].weights,
                          limited.runs[0].weights, strict=True):
        np.testing.assert_array_equal(wa, wb)
        np.testing.assert_array_equal(wa, wc)


def test_the_kernels_to_compile_are_named_once_per_kind_and_dtype(monkeypatch, tmp_path):
    """What the first run compiles (its one line, ``compiling kernels for ..., once``): each
    kind and dtype once, those already in the cache left out, nothing for NumPy."""
    from nnbench.core import kernels
    from nnbench.engine import speed

    monkeypatch.setattr(speed, "kernel_marker", lambda dtype, k: tmp_path / f"{dtype}-{k}")
    monkeypatch.setattr(kernels, "_avx512", lambda: True)
    cfgs = [resolve(RunConfig(task="sin-small", depth=d, width=w, dtype=t, run_id="x"))
            for d, w, t in [(1, 16, "float32"), (1, 8, "float32"), (3, 16, "float32"),
                            (2, 128, "float64")]]
    names = speed.kernel_names(speed.kernels_to_compile(cfgs, "auto"))
    assert names == ["the one-hidden-layer MLP (float32)", "the deep MLP (float32)",
                     "the wide MLP (float64)"]
    (tmp_path / "float32-one-hidden-layer").touch()
    names = speed.kernel_names(speed.kernels_to_compile(cfgs, "auto"))
    assert names == ["the deep MLP (float32)", "the wide MLP (float64)"]
    assert speed.kernels_to_compile(cfgs, "numpy") == []
