"""The run cache: a cached run's rows equal a freshly trained run's, byte for byte apart
from the wall-clock column; only the missing runs train (a group partly cached too); every
component of the key changes it; the switches that bypass it; info and clear. Every test
here has a cache directory of its own under tmp_path."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nnbench.config import experiment_from_dict
from nnbench.executors import SerialExecutor
from nnbench.experiment import run_experiment
from nnbench.store import RunCache, key_components, run_key, runcache

ROOT = Path(__file__).resolve().parents[1]
BASE = {"task": "sin-small", "task_kw": {"n_points": 100}, "width": 6, "steps": 30}


class Counting:
    """A serial executor that remembers which runs it trained."""

    def __init__(self):
        self.inner = SerialExecutor()
        self.trained: list[str] = []

    def __call__(self, configs, reporter, sink, stop):
        self.trained += [c["run_id"] for c in configs]
        return self.inner(configs, reporter, sink, stop)


def _exp(**changes):
    return experiment_from_dict({**BASE, **changes})


def _rows(path: Path) -> list[list[str]]:
    """A CSV's rows as text, without the columns that may differ (wall_s, cached)."""
    rows = list(csv.reader(path.open()))
    drop = {rows[0].index(c) for c in ("wall_s", "cached") if c in rows[0]}
    return [[v for j, v in enumerate(r) if j not in drop] for r in rows]


def _assert_same_results(a: Path, b: Path) -> None:
    for name in ("runs.csv", "metrics.csv", "layers.csv"):
        assert _rows(a / name) == _rows(b / name), name
    assert sorted(p.name for p in (a / "weights").iterdir()) == \
        sorted(p.name for p in (b / "weights").iterdir())
    for w in (a / "weights").iterdir():
        x, y = np.load(w), np.load(b / "weights" / w.name)
        assert set(x.files) == set(y.files)
        for k in x.files:
            np.testing.assert_array_equal(x[k], y[k])


def _cached(out: Path) -> dict[str, str]:
    return {r["run_id"]: r["cached"] for r in csv.DictReader((out / "runs.csv").open())}


def test_adding_an_optimizer_trains_only_it_and_the_copy_equals_a_fresh_run(tmp_path):
    cache = RunCache(tmp_path / "cache")
    first = Counting()
    run_experiment(_exp(optims=["adam"], seeds=2), tmp_path / "a", executor=first,
                   cache=cache)
    assert first.trained == ["s0", "s1"] and cache.info()["runs"] == 2
    second = Counting()
    out = run_experiment(_exp(optims=["sgd", "adam"], seeds=2), tmp_path / "b",
                         executor=second, cache=cache)
    assert second.trained == ["sgd-s0", "sgd-s1"]  # adam came from the cache
    assert _cached(out) == {"sgd-s0": "False", "sgd-s1": "False", "adam-s0": "True",
                            "adam-s1": "True"}
    fresh = run_experiment(_exp(optims=["sgd", "adam"], seeds=2), tmp_path / "c")
    _assert_same_results(out, fresh)
    assert set(_cached(fresh).values()) == {"False"}
    # a third time, everything is cached and nothing trains
    third = Counting()
    again = run_experiment(_exp(optims=["sgd", "adam"], seeds=2), tmp_path / "d",
                           executor=third, cache=cache)
    assert third.trained == [] and set(_cached(again).values()) == {"True"}
    _assert_same_results(again, fresh)
    # every row of d is a copy of b's (its sgd trained there, its adam copied there from
    # a): the same bytes, wall-clock column and all
    for name in ("metrics.csv", "layers.csv"):
        assert (tmp_path / "d" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_a_group_partly_cached_trains_only_its_missing_runs(tmp_path):
    cache = RunCache(tmp_path / "cache")
    run_experiment(_exp(optim="adam", lrs=[0.01, 0.003], seeds=[0, 1]), tmp_path / "a",
                   cache=cache)
    ex = Counting()
    out = run_experiment(_exp(optim="adam", lrs=[0.01, 0.003], seeds=3), tmp_path / "b",
                         executor=ex, cache=cache)
    assert ex.trained == ["lr0.01-s2", "lr0.003-s2"]  # one group of the two rates
    fresh = run_experiment(_exp(optim="adam", lrs=[0.01, 0.003], seeds=3), tmp_path / "c")
    _assert_same_results(out, fresh)


@pytest.mark.parametrize("backend", ["numpy", "auto"])
def test_meta_names_the_backend_of_the_runs_taken_from_the_cache(backend, tmp_path,
                                                                  monkeypatch):
    """A directory whose every run came from the cache says what computed them, as the
    directory that trained them does; an entry of an older nnbench, without the field,
    adds nothing."""
    monkeypatch.setenv("NNBENCH_BACKEND", backend)
    cache = RunCache(tmp_path / "cache")
    meta = lambda out: json.loads((out / "meta.json").read_text())  # noqa: E731
    trained = run_experiment(_exp(optims=["adam"], seeds=2), tmp_path / "a",
                             cache=cache)
    expected = meta(trained)["backend"]
    assert expected in ("numpy", "numba")
    ex = Counting()
    again = run_experiment(_exp(optims=["adam"], seeds=2), tmp_path / "b",
                           executor=ex, cache=cache)
    assert ex.trained == [] and meta(again)["run_cache"]["runs_taken"] == 2
    assert meta(again)["backend"] == expected
    for d in cache.entries():  # as an entry written before entries named their backend
        entry = json.loads((d / "entry.json").read_text())
        assert entry.pop("backend") == expected
        (d / "entry.json").write_text(json.dumps(entry))
    older = run_experiment(_exp(optims=["adam"], seeds=2), tmp_path / "c",
                           executor=Counting(), cache=cache)
    assert meta(older)["run_cache"]["runs_taken"] == 2 and meta(older)["backend"] == ""


def test_a_changed_setting_misses(tmp_path):
    cache = RunCache(tmp_path / "cache")
    run_experiment(_exp(optim="adam", seeds=1), tmp_path / "a", cache=cache)
    for i, change in enumerate([{"lr": 0.02}, {"steps": 31}, {"dtype": "float64"},
                                {"hp": {"betas": [0.8, 0.999]}}, {"seed": 1}]):
        ex = Counting()
        out = run_experiment(_exp(optim="adam", seeds=1, **change), tmp_path / f"x{i}",
                             executor=ex, cache=cache)
        assert len(ex.trained) == 1 and set(_cached(out).values()) == {"False"}, change


def _components(**changes):
    run = _exp(optim="adam", seeds=1)
    from nnbench.config import resolve_experiment

    cfg = resolve_experiment(run)[1][0].to_dict()
    return key_components(cfg, changes.pop("backend", "auto"), changes.pop("plugins", []))


@pytest.mark.parametrize("component, patch", [
    ("numpy", lambda m: m.setattr(np, "__version__", "0.0.1")),
    ("blas", lambda m: m.setattr(runcache, "_blas", lambda: "reference 1.0")),
    ("nnbench", lambda m: m.setattr(runcache, "__version__", "9.9.9")),
    ("source", lambda m: m.setattr(runcache, "_source", "0" * 64)),
    ("python", lambda m: m.setattr(runcache.platform, "python_version", lambda: "3.99.0")),
    ("machine", lambda m: m.setattr(runcache.platform, "machine", lambda: "riscv64")),
    ("numba", lambda m: m.setattr(runcache, "_version", lambda dist: "0.0.0")),
])
def test_every_version_in_the_key_changes_it(component, patch, monkeypatch):
    before = _components()
    with monkeypatch.context() as m:
        patch(m)
        after = _components()
    assert before[component] != after[component]
    assert run_key(before) != run_key(after)


def test_backend_plugins_and_the_config_change_the_key():
    base = run_key(_components())
    assert run_key(_components(backend="numpy")) != base
    assert run_key(_components(plugins=["ab" * 32])) != base
    cfg = dict(_components()["run"])
    for field, value in [("lr", 0.1), ("dtype", "float64"), ("seed", 5), ("steps", 7)]:
        changed = key_components({**cfg, field: value}, "auto", [])
        assert run_key(changed) != base, field
    # the run's id is not a number's cause: the same run in another grid is the same run
    assert run_key(key_components({**cfg, "run_id": "other"}, "auto", [])) == base


def test_a_damaged_entry_is_a_miss(tmp_path):
    cache = RunCache(tmp_path / "cache")
    run_experiment(_exp(optim="adam", seeds=1), tmp_path / "a", cache=cache)
    (entry,) = cache.entries()
    (entry / "entry.json").write_text("{not json")
    ex = Counting()
    run_experiment(_exp(optim="adam", seeds=1), tmp_path / "b", executor=ex, cache=cache)
    assert ex.trained == ["s0"]


def test_clear_removes_only_what_nnbench_wrote(tmp_path):
    cache = RunCache(tmp_path / "cache")
    run_experiment(_exp(optims=["sgd", "adam"], seeds=1), tmp_path / "a", cache=cache)
    mine = tmp_path / "cache" / "notes.txt"
    mine.write_text("keep")
    other = tmp_path / "cache" / "other"
    other.mkdir()
    (other / "metrics.csv").write_text("not nnbench's")
    (entry, _) = cache.entries()
    (entry / "extra.txt").write_text("also keep")
    assert cache.clear() == 2
    assert mine.read_text() == "keep" and (other / "metrics.csv").is_file()
    assert sorted(p.name for p in entry.iterdir()) == ["extra.txt"]
    assert cache.entries() == [] and cache.info()["runs"] == 0


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT) + os.pathsep + e.get("PYTHONPATH", "")
    e.update(env)
    return subprocess.run([sys.executable, "-m", "nnbench", *args], capture_output=True,
                          text=True, env=e, timeout=300)


def test_the_command_line_switches(tmp_path):
    args = ["compare", "--optims", "sgd", "--task", "sin-small", "--width", "4", "--steps",
            "5", "--seeds", "1", "--no-plot", "--quiet", "--cache-dir", str(tmp_path / "c")]
    off = _cli(*args, "--out", str(tmp_path / "1"), NNBENCH_NO_CACHE="1")
    assert off.returncode == 0, off.stderr
    assert not (tmp_path / "c").exists()
    flag = _cli(*args, "--no-cache", "--out", str(tmp_path / "2"), NNBENCH_NO_CACHE="0")
    assert flag.returncode == 0 and not (tmp_path / "c").exists(), flag.stderr
    on = _cli(*args, "--out", str(tmp_path / "3"), NNBENCH_NO_CACHE="0")
    assert on.returncode == 0, on.stderr
    loud = [a for a in args if a != "--quiet"]
    again = _cli(*loud, "--out", str(tmp_path / "4"), NNBENCH_NO_CACHE="0")
    assert _cached(tmp_path / "3") == {"s0": "False"}
    assert _cached(tmp_path / "4") == {"s0": "True"}, again.stderr
    assert "run s0 [" in again.stdout and "] cached: step 5/5" in again.stdout, again.stdout
    info = _cli("cache", "info", "--cache-dir", str(tmp_path / "c"), NNBENCH_NO_CACHE="0")
    assert info.returncode == 0 and "runs: 1 (" in info.stdout, info.stdout
    cleared = _cli("cache", "clear", "--cache-dir", str(tmp_path / "c"))
    assert cleared.stdout.strip() == f"removed 1 cached run from {tmp_path / 'c'}"
    meta = json.loads((tmp_path / "4" / "meta.json").read_text())
    assert meta["status"] == "complete"


def test_meta_names_a_cache_in_the_home_directory_without_the_home(monkeypatch, tmp_path):
    """meta.json says where the run cache is, ``~/...`` for one in the home directory (a
    results directory shared with others does not carry the home's name)."""
    from nnbench.experiment import home_relative

    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    cache = home / ".cache" / "nnbench" / "runs"
    cache.mkdir(parents=True)
    assert home_relative(cache) == "~/.cache/nnbench/runs"
    assert home_relative(tmp_path / "elsewhere") == str(tmp_path / "elsewhere")
    out = tmp_path / "out"
    run_experiment(_exp(), out, executor=SerialExecutor(), cache=RunCache(cache))
    assert json.loads((out / "meta.json").read_text())["run_cache"]["path"] == \
        "~/.cache/nnbench/runs"
