"""Execution never changes the numbers: blocked, threaded, grouped, multi-process and Dask
training against the plain path (one piece, one thread, one process)."""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nnbench.cli import app
from nnbench.config import RunConfig, experiment_from_dict, resolve
from nnbench.core.errors import NNBenchError
from nnbench.core.mlp import MLP
from nnbench.core.parallel import BlockedPass, Chunking, splittable
from nnbench.engine import ListSink, StopFlag, train_group
from nnbench.executors import DaskExecutor, ProcessExecutor, make_executor
from nnbench.experiment import ExperimentInterrupted, make_groups, run_experiment
from nnbench.store import load_results

# small blocks, so that small problems split into many of them
SMALL = {"target": 600, "min_rows": 7}


def _data(rng, runs: int, n: int, d: int, k: int, labels: bool, per_run: bool, dtype):
    X = rng.normal(size=(runs, n, d) if per_run else (n, d)).astype(dtype)
    if labels:
        Y = rng.integers(0, k, size=(runs, n) if per_run else (n,))
    else:
        Y = rng.normal(size=(runs, n, k) if per_run else (n, k)).astype(dtype)
    return X, Y


def _pair(sizes, act, runs, dtype, **kw):
    """The same network twice: one computing in one piece, one in blocks."""
    plain = MLP(sizes, act, seed=list(range(runs)), runs=runs, dtype=dtype, **kw)
    blocked = MLP(sizes, act, seed=list(range(runs)), runs=runs, dtype=dtype, **kw)
    return plain, blocked


CASES = [
    # activation, loss, labels, sizes, extra network options
    ("sigmoid", "mse", False, [3, 17, 2], {}),
    ("tanh", "half_sse", False, [2, 9, 11, 3], {}),
    ("relu", "softmax_cross_entropy", True, [4, 13, 13, 5], {}),
    ("leaky_relu", "bce_with_logits", True, [3, 10, 1], {}),
    ("prelu", "hinge", True, [3, 8, 8, 4], {}),
    ("gelu", "mse", False, [1, 30, 1], {"l2": 0.01}),
    ("sigmoid", "mse", False, [2, 12, 2], {"binary": True}),
    ("maxout", "softmax_cross_entropy", True, [3, 6, 4], {"pieces": 3}),
]


@pytest.mark.parametrize("act, loss, labels, sizes, kw", CASES)
@pytest.mark.parametrize("per_run", [False, True])
def test_blocked_pass_equals_one_piece_float64(act, loss, labels, sizes, kw, per_run):
    """Loss, every gradient and the layer statistics of a pass split into blocks of runs
    and samples equal the pass in one piece (float64, rtol 1e-12)."""
    rng = np.random.default_rng(7)
    runs, n = 5, 301
    plain, blocked = _pair(sizes, act, runs, "float64", **kw)
    k = 2 if loss == "bce_with_logits" else sizes[-1]
    X, Y = _data(rng, runs, n, sizes[0], k, labels, per_run, np.float64)
    C0, g0 = plain.loss_and_grads(X, Y, loss)
    stats0 = plain.layer_stats()
    blocked.chunking = Chunking(**SMALL)
    C1, g1 = blocked.loss_and_grads(X, Y, loss)
    plan = blocked.chunking.blocks(runs, n, max(p.shape[-1] for p in blocked.weights))
    assert len(plan) > 1 and len(plan[0][1]) > 1  # split both ways
    np.testing.assert_allclose(C1, C0, rtol=1e-12, atol=1e-15)
    for a, b in zip(g1, g0, strict=True):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14 * np.abs(b).max())
    stats1 = blocked.layer_stats()
    assert len(stats1) == len(stats0)
    for s0, s1 in zip(stats0, stats1, strict=True):
        assert s0.keys() == s1.keys()
        for key in s0:
            np.testing.assert_array_equal(s1[key], s0[key])  # counts: exactly equal


def test_blocked_pass_float32_and_threads_give_identical_numbers():
    """float32 stays float32 and agrees with one piece to float32 rounding; the blocks on
    a thread pool give bit for bit the numbers of the blocks one after another."""
    rng = np.random.default_rng(3)
    plain, blocked = _pair([1, 100, 1], "sigmoid", 3, "float32")
    X, Y = _data(rng, 3, 2000, 1, 1, False, False, np.float32)
    C0, g0 = plain.loss_and_grads(X, Y, "mse")
    blocked.chunking = Chunking(target=20000)
    C1, g1 = blocked.loss_and_grads(X, Y, "mse")
    with ThreadPoolExecutor(3) as pool:
        blocked.chunking = Chunking(target=20000, pool=pool)
        C2, g2 = blocked.loss_and_grads(X, Y, "mse")
        C3, g3 = blocked.loss_and_grads(X, Y, "mse")
    assert C1.dtype == np.float32 and all(g.dtype == np.float32 for g in g1)
    np.testing.assert_allclose(C1, C0, rtol=1e-5)
    for a, b in zip(g1, g0, strict=True):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=1e-5 * np.abs(b).max())
    for a, b, c in zip(g1, g2, g3, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(b, c)
    np.testing.assert_array_equal(C1, C2)


def test_a_pass_smaller_than_a_block_stays_whole_on_threads():
    chunking = Chunking(target=20000, threads=3)
    assert chunking.blocks(7, 50, 16) == [(slice(0, 7), [slice(0, 50)])]  # 5600 elements
    assert len(chunking.blocks(7, 200, 16)) == 3  # 22400: one share per thread


def test_splitting_the_runs_only_is_exact():
    """Samples unsplit, runs one slice per thread: bit for bit the pass in one piece."""
    rng = np.random.default_rng(5)
    plain, blocked = _pair([2, 16, 3], "tanh", 7, "float32")
    X, Y = _data(rng, 7, 200, 2, 3, True, True, np.float32)
    C0, g0 = plain.loss_and_grads(X, Y, "softmax_cross_entropy")
    with ThreadPoolExecutor(3) as pool:
        blocked.chunking = Chunking(target=20000, pool=pool, threads=3)
        assert [len(b[1]) for b in blocked.chunking.blocks(7, 200, 16)] == [1, 1, 1]
        C1, g1 = blocked.loss_and_grads(X, Y, "softmax_cross_entropy")
    np.testing.assert_array_equal(C1, C0)
    for a, b in zip(g1, g0, strict=True):
        np.testing.assert_array_equal(a, b)
    assert isinstance(blocked.last_pass, BlockedPass)  # the blocked path ran
    for s0, s1 in zip(plain.layer_stats(), blocked.layer_stats(), strict=True):
        np.testing.assert_array_equal(s1["saturated_frac"], s0["saturated_frac"])


def test_threads_follow_the_callers_floating_point_error_handling():
    """NumPy's error state is per thread: the block threads must use the caller's (the
    engine silences overflow while training; a caller asking to raise gets the error)."""
    net = MLP([1, 4, 1], "sigmoid", seed=[0, 1], runs=2, dtype="float32")
    net.params[0][:] = 1e38  # z = x W overflows float32
    X, Y = np.full((50, 1), 10.0), np.zeros((50, 1))
    with ThreadPoolExecutor(2) as pool:
        net.chunking = Chunking(target=300, pool=pool, threads=2)
        assert len(net.chunking.blocks(2, 50, 4)) == 2
        with np.errstate(all="raise"), pytest.raises(FloatingPointError):
            net.loss_and_grads(X, Y, "mse")
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("error")
            net.loss_and_grads(X, Y, "mse")


def test_blocks_cover_everything_once_and_samples_ignore_the_runs():
    ch = Chunking(target=1000, min_rows=10)
    for runs, n, width in [(1, 1, 1), (7, 1000, 3), (3, 55, 100), (20, 999, 32), (2, 5, 400)]:
        plan = ch.blocks(runs, n, width)
        covered = np.zeros((runs, n), dtype=int)
        for rs, samples in plan:
            for ss in samples:
                covered[rs, ss] += 1
        assert (covered == 1).all()
        # the sample split depends on n and the width only, never on the number of runs
        assert [s for _, ss in ch.blocks(1, n, width) for s in ss] == plan[0][1]


def test_random_passes_are_not_split():
    """Dropout and RReLU draw per sample: their training passes run in one piece, so their
    numbers equal the plain network's with the same seeds."""
    rng = np.random.default_rng(0)
    X, Y = _data(rng, 2, 400, 2, 1, False, False, np.float64)
    for act, kw in [("sigmoid", {"dropout": 0.3}), ("rrelu", {})]:
        plain, blocked = _pair([2, 20, 1], act, 2, "float64", **kw)
        blocked.chunking = Chunking(**SMALL)
        assert not splittable(blocked, True, X) and splittable(blocked, False, X)
        C0, g0 = plain.loss_and_grads(X, Y, "mse")
        C1, g1 = blocked.loss_and_grads(X, Y, "mse")
        np.testing.assert_array_equal(C0, C1)
        for a, b in zip(g0, g1, strict=True):
            np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------- engine


def _sin(seed: int, lr: float, **kw) -> RunConfig:
    base = dict(task="sin", task_kw={"n_points": 6000}, width=50, steps=6, optim="adam",
                dtype="float64", log_every=2)
    base.update(kw)
    return resolve(RunConfig(seed=seed, lr=lr, run_id=f"r{seed}-{lr!r}", **base))


def _train(cfgs, **kw):
    """The NumPy path's blocks and threads (tests/test_backend.py checks the compiled one)."""
    kw.setdefault("backend", "numpy")
    sink = ListSink()
    res = train_group(cfgs, sink=sink, **kw)
    return res, sink


def _rows(sink: ListSink) -> np.ndarray:
    """Every logged number but the wall time, metrics then layer rows, as one vector."""
    return np.array([v for r in sink.metrics + sink.layers for k, v in r.items()
                     if k not in ("run_id", "wall_s")], dtype=np.float64)


def test_engine_blocks_and_threads_match_the_plain_path(monkeypatch):
    """A group trained in blocks (6000 x 50 splits in two) on 1 or 2 threads equals the plain
    path to float64 rounding, and the thread count changes nothing at all."""
    import nnbench.core.mlp as mlp

    cfgs = [_sin(0, 0.01), _sin(1, 0.02)]
    assert Chunking().rows(6000, 50) < 6000  # the samples are split
    blocked_passes = []
    chunked = mlp.chunked_loss_and_grads
    monkeypatch.setattr(mlp, "chunked_loss_and_grads",
                        lambda *a, **k: blocked_passes.append(1) or chunked(*a, **k))
    plain, s0 = _train(cfgs, blocks=False)
    assert not blocked_passes
    one, s1 = _train(cfgs, threads=1)
    assert blocked_passes  # the blocked path did run
    two, s2 = _train(cfgs, threads=2)
    np.testing.assert_allclose(_rows(s1), _rows(s0), rtol=1e-10, atol=1e-13)
    np.testing.assert_array_equal(_rows(s1), _rows(s2))
    for a, b, c in zip(plain.runs, one.runs, two.runs, strict=True):
        for wa, wb, wc in zip(a.weights, b.weights, c.weights, strict=True):
            np.testing.assert_allclose(wb, wa, rtol=1e-10, atol=1e-13)
            np.testing.assert_array_equal(wb, wc)


def test_engine_group_equals_runs_alone_with_blocks():
    """Grouping on the runs axis: a run in a blocked group of three equals it alone."""
    cfgs = [_sin(s, lr) for s, lr in [(0, 0.01), (1, 0.03), (2, 0.02)]]
    group, _ = _train(cfgs, threads=2)
    for cfg, res in zip(cfgs, group.runs, strict=True):
        alone, _ = _train([cfg], threads=1)
        for wa, wb in zip(alone.runs[0].weights, res.weights, strict=True):
            np.testing.assert_allclose(wb, wa, rtol=1e-10, atol=1e-13)


# --------------------------------------------------------------------------- experiments


def _experiment(out: Path):
    return experiment_from_dict({
        "task": "sin-small", "task_kw": {"n_points": 200}, "width": 8, "steps": 25,
        "dtype": "float64", "optims": ["sgd", "adam"], "lrs": [0.01, 0.05], "seeds": 2,
        "log_every": 5, "out": str(out)})


def _tables(path: Path) -> dict:
    res = load_results(path)
    out = {}
    for name in ("runs", "metrics", "layers"):
        df = getattr(res, name)
        out[name] = df.drop(columns=[c for c in df.columns if c == "wall_s"])
    return out


@pytest.fixture(scope="module")
def serial(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("serial") / "r"
    return _tables(run_experiment(_experiment(out), out))


def _assert_identical(a: dict, b: dict) -> None:
    for name in a:
        assert list(a[name].columns) == list(b[name].columns), name
        assert a[name].equals(b[name]), name


class Recorder:
    def __init__(self) -> None:
        self.seen: dict[str, str] = {}

    def start(self, runs) -> None:
        self.started = [r.run_id for r in runs]

    def update(self, progress) -> None:
        for p in progress:
            self.seen[p.run_id] = p.status

    def finish(self) -> None:
        self.finished = True


def test_group_size_one_equals_grouped(serial, tmp_path):
    """Grouping off (every run alone) gives the same CSVs as grouped, to float64 rounding."""
    exp = _experiment(tmp_path)
    from nnbench.config import resolve_experiment

    _, runs = resolve_experiment(exp)
    assert len(make_groups(runs)) == 2 and len(make_groups(runs, 1)) == 8
    alone = _tables(run_experiment(exp, tmp_path / "alone", group_size=1))
    for name in alone:
        a, b = serial[name], alone[name]
        assert list(a.columns) == list(b.columns)
        num = a.select_dtypes("number").columns
        np.testing.assert_allclose(b[num].to_numpy(float), a[num].to_numpy(float),
                                   rtol=1e-10, atol=1e-13)
        other = [c for c in a.columns if c not in num]
        assert a[other].equals(b[other])


def test_jobs_give_identical_results_and_progress(serial, tmp_path):
    """Two worker processes: the same files as training here, bit for bit (but wall_s),
    and every run's progress reaches the reporter."""
    rec = Recorder()
    out = run_experiment(_experiment(tmp_path), tmp_path / "jobs", rec,
                         executor=ProcessExecutor(2, threads=1))
    _assert_identical(serial, _tables(out))
    assert set(rec.seen) == set(rec.started) and set(rec.seen.values()) == {"done"}
    assert rec.finished


def test_executors_with_nothing_to_train_start_nothing():
    assert list(ProcessExecutor(4).run_groups([], None, None, StopFlag())) == []
    pytest.importorskip("distributed", reason="Dask distributed is not installed")
    ex = DaskExecutor("tcp://127.0.0.1:9", timeout=1)  # never contacted
    assert list(ex.run_groups([], None, None, StopFlag())) == []


def test_jobs_stop_flag_interrupts(tmp_path):
    stop = StopFlag()
    stop.requested = True
    with pytest.raises(ExperimentInterrupted):
        run_experiment(_experiment(tmp_path), tmp_path / "stopped",
                       executor=ProcessExecutor(2, threads=1), stop=stop)
    assert load_results(tmp_path / "stopped").meta["status"] == "interrupted"


class StopOnProgress(Recorder):
    """Asks to stop as soon as a worker reports a run in flight."""

    def __init__(self, stop: StopFlag) -> None:
        super().__init__()
        self.stop = stop

    def update(self, progress) -> None:
        super().update(progress)
        if any(p.status == "running" and p.step > 0 for p in progress):
            self.stop.requested = True


def test_jobs_stop_while_training_reaches_the_workers(tmp_path):
    """Stopping mid-training reaches the workers through the event: the runs in flight end
    interrupted with the rows they logged, long before their last step."""
    exp = experiment_from_dict({
        "task": "sin-small", "task_kw": {"n_points": 200}, "width": 8, "steps": 200000,
        "optims": ["sgd", "adam"], "seeds": 1, "log_every": 50})
    stop = StopFlag()
    with pytest.raises(ExperimentInterrupted):
        run_experiment(exp, tmp_path / "mid", StopOnProgress(stop),
                       executor=ProcessExecutor(2, threads=1), stop=stop)
    res = load_results(tmp_path / "mid")
    assert set(res.runs["status"]) == {"interrupted"}
    assert (res.runs["steps_done"] < 200000).all() and len(res.metrics) > 0


def test_dask_local_cluster_gives_identical_results(serial, tmp_path):
    pytest.importorskip("distributed", reason="Dask distributed is not installed "
                        "(pip install -e '.[dask]')")
    from distributed import LocalCluster

    rec = Recorder()
    with LocalCluster(n_workers=1, processes=False, threads_per_worker=1, host="127.0.0.1",
                      protocol="tcp://", dashboard_address=None) as cluster:
        out = run_experiment(_experiment(tmp_path), tmp_path / "dask", rec,
                             executor=make_executor("dask", scheduler=cluster.scheduler_address))
    _assert_identical(serial, _tables(out))
    assert set(rec.seen) == set(rec.started) and set(rec.seen.values()) == {"done"}


# --------------------------------------------------------------------------- command line


def test_cli_jobs_and_bad_execution_options(tmp_path):
    runner = CliRunner()
    args = ["compare", "--task", "sin-small", "--steps", "5", "--seeds", "2", "--width", "4",
            "--optims", "sgd,adam", "--no-plot", "--quiet"]
    ok = runner.invoke(app, [*args, "--jobs", "2", "--threads", "1", "--out",
                             str(tmp_path / "j")])
    assert ok.exit_code == 0, ok.output
    assert (load_results(tmp_path / "j").runs["status"] == "done").all()
    for bad, words in [(["--executor", "dask"], "--executor dask needs"),
                       (["--scheduler", "tcp://127.0.0.1:1"], "--scheduler is for"),
                       (["--executor", "ray"], "'local' or 'dask'")]:
        res = runner.invoke(app, [*args, *bad, "--out", str(tmp_path / "bad")])
        assert res.exit_code == 2, res.output
        assert words in res.output
    with pytest.raises(NNBenchError, match="jobs"):
        make_executor(jobs=0)


def test_dask_unreachable_scheduler_is_a_one_line_error():
    pytest.importorskip("distributed", reason="Dask distributed is not installed")
    ex = DaskExecutor("tcp://127.0.0.1:9", threads=1, timeout=1)
    with pytest.raises(NNBenchError, match="cannot reach the Dask scheduler"):
        list(ex.run_groups([[{}]], None, None, StopFlag()))
