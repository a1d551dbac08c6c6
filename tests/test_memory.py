"""Memory: a run's schedule is computed a block of steps at a time, and a run group that
would not fit in the machine's memory is refused before anything is allocated."""

import numpy as np
import pytest

from nnbench.config import RunConfig
from nnbench.core.schedules import schedule
from nnbench.engine.trainer import ScheduleFactors
from nnbench.resolve import resolve

STEPS = 700

SCHEDULES = [
    ("constant", {}, 0),
    ("step", {"step_size": 30, "gamma": 0.7}, 0),
    ("exponential", {"gamma": 0.993}, 0),
    ("cosine", {"T_max": 650, "eta_min": 0.05}, 0),
    ("cosine", {"T_max": 280}, 20),
    ("inverse_sqrt", {}, 0),
    ("step", {"step_size": 7, "gamma": 0.9}, 45),
    ("exponential", {"gamma": 0.97}, 100),
    ("inverse_sqrt", {}, 3),
]


def _precomputed(cfg):
    """The factors as training computed them before: every step at once."""
    f = schedule(cfg.schedule, warmup_steps=cfg.warmup_steps, **cfg.schedule_kw)
    t = np.arange(int(cfg.steps) + 1)
    return np.broadcast_to(np.asarray(f(t), dtype=np.float64), t.shape).copy()


@pytest.mark.parametrize("name,kw,warmup", SCHEDULES)
@pytest.mark.parametrize("block", [None, 1, 7, 64, 256])
def test_block_factors_equal_the_precomputed_ones_bit_for_bit(name, kw, warmup, block,
                                                               monkeypatch):
    if block is not None:
        monkeypatch.setattr(ScheduleFactors, "BLOCK", block)
    cfg = RunConfig(task="sin-small", steps=STEPS, schedule=name, schedule_kw=dict(kw),
                    warmup_steps=warmup)
    old = _precomputed(cfg)
    new = ScheduleFactors(cfg)
    got = np.array([new[t] for t in range(STEPS + 1)])
    assert len(new) == len(old) == STEPS + 1
    assert got.tobytes() == old.tobytes()  # exact, bit for bit
    # any order of access (a resumed or evaluated step) gives the same factor
    for t in (STEPS, 0, 333, 1, STEPS - 1, 332):
        assert new[t] == old[t] and type(new[t]) is type(old[t])
    with pytest.raises(IndexError):
        new[STEPS + 1]


def test_factors_of_a_huge_run_take_no_memory():
    cfg = resolve(RunConfig(task="sin-small", steps=10**12, schedule="cosine"))
    f = ScheduleFactors(cfg)
    assert f[10**12] == pytest.approx(0.0, abs=1e-12) and f[0] == 1.0
    assert f.block.nbytes <= 8 * ScheduleFactors.BLOCK


def test_a_run_of_a_trillion_steps_is_built_without_allocating_them():
    from nnbench.engine import ListSink, NullReporter, StopFlag
    from nnbench.engine.trainer import GroupTrainer

    cfg = resolve(RunConfig(task="sin-small", steps=10**12, schedule="step", run_id="a"))
    trainer = GroupTrainer([cfg], NullReporter(), ListSink(), StopFlag(), None, None)
    assert float(trainer.lr_at(10**12)[0]) == cfg.lr * 0.5 ** (10**12 // 100)
    assert float(trainer.lr_at(250)[0]) == cfg.lr * 0.25


def test_a_width_of_a_hundred_million_is_refused_before_anything_exists(tmp_path):
    from typer.testing import CliRunner

    from nnbench.cli import app
    from nnbench.memory import human_bytes, machine_bytes

    out = tmp_path / "r"
    result = CliRunner().invoke(app, ["run", "--task", "sin-small", "--width", "100000000",
                                      "--steps", "5", "--out", str(out), "--no-plot"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert "needs about" in lines[0] and "GB of memory" in lines[0]
    assert f"this machine has {human_bytes(machine_bytes())}" in lines[0]
    assert not out.exists()


def _group(n=2, **kw):
    from nnbench.tasks.build import make_task

    cfgs = [resolve(RunConfig(seed=s, run_id=f"s{s}", **kw)) for s in range(n)]
    return cfgs, make_task(cfgs[0])


def test_the_estimate_counts_parameters_optimizer_state_and_activations():
    from nnbench.memory import group_bytes

    cfgs, task = _group(3, task="moons", width=1000, optim="adam", val_frac=0.2)
    need = group_bytes(cfgs, task)
    params = 3 * ((2 + 1) * 1000 + (1000 + 1) * 2)  # 3 runs of a 2-1000-2 network
    assert need["parameters"] == params * 4 * (3 + 2)  # float32; adam keeps 2 arrays
    assert need["activations"] >= 3 * 4 * 2 * 1002 * 320  # z and a over the training set
    assert need["total"] == need["parameters"] + need["activations"] + need["data"]
    sgd, _ = _group(3, task="moons", width=1000, optim="sgd", val_frac=0.2)
    assert group_bytes(sgd, task)["parameters"] == params * 4 * 3


def test_check_memory_refuses_what_does_not_fit():
    from nnbench.core.errors import NNBenchError
    from nnbench.memory import check_memory, group_bytes
    from nnbench.tasks.build import make_task

    cfgs, task = _group(2, task="sin-small", width=64)
    need = group_bytes(cfgs, task)["total"]
    check_memory([cfgs], make_task, available=need)  # fits exactly
    with pytest.raises(NNBenchError, match=r"a group of 2 runs .* needs about .* this "
                                           r"machine has 1\.0 KB"):
        check_memory([cfgs], make_task, available=1024)
    landscape = [resolve(RunConfig(task="beale", run_id="x"))]
    check_memory([landscape], make_task, available=1)  # a point needs nothing to speak of


def test_mnist_sizes_come_from_the_headers(tmp_path):
    import gzip
    import struct

    from nnbench.tasks import get_task

    def idx(path, dims, gz):
        data = struct.pack(">BBBB", 0, 0, 8, len(dims)) + struct.pack(f">{len(dims)}I", *dims)
        path.write_bytes(gzip.compress(data) if gz else data)  # the header: no pixels

    idx(tmp_path / "train-images-idx3-ubyte.gz", (1000, 28, 28), True)
    idx(tmp_path / "train-labels-idx1-ubyte", (1000,), False)
    idx(tmp_path / "t10k-images-idx3-ubyte", (200, 28, 28), False)
    idx(tmp_path / "t10k-labels-idx1-ubyte", (200,), False)
    task = get_task("mnist", data_dir=str(tmp_path))
    assert task.sizes(0, 0.1) == (900, 100, 200, 784, 10)
    assert get_task("mnist", data_dir=str(tmp_path), n_train=500).sizes(0, 0.0) == (
        500, 0, 200, 784, 10)


def test_split_sizes_are_those_of_load():
    from nnbench.tasks import get_task

    task = get_task("linear")  # a test split of test_frac, then val_frac of the rest
    d = task.load(seed=0, val_frac=0.15)
    assert task.split_sizes(len(d.X_train) + len(d.X_val) + len(d.X_test), None, 0.15) == (
        len(d.X_train), len(d.X_val), len(d.X_test))
    assert task.sizes(0, 0.15)[:3] == (len(d.X_train), len(d.X_val), len(d.X_test))
