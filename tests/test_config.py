"""Configuration: grid expansion, run ids, resolution, validation, TOML."""

from __future__ import annotations

import dataclasses
import math
import re
import sys

import pytest

from nnbench.cli import parse_hp
from nnbench.config import (
    ExperimentConfig,
    RunConfig,
    dump_toml,
    expand,
    experiment_from_dict,
    load_toml,
    loads_toml,
    merge,
    resolve,
    resolve_experiment,
    to_toml,
)
from nnbench.core.errors import NNBenchError, UnknownNameError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


# --------------------------------------------------------------------------- expansion


def test_expand_order_and_run_ids():
    exp = experiment_from_dict({"optims": ["sgd", "adam"], "lrs": [0.01, 1e-05],
                                "depths": [2], "seeds": 2})
    runs = expand(exp)
    assert [r.run_id for r in runs] == [
        "sgd-lr0.01-s0", "sgd-lr0.01-s1", "sgd-lr1e-05-s0", "sgd-lr1e-05-s1",
        "adam-lr0.01-s0", "adam-lr0.01-s1", "adam-lr1e-05-s0", "adam-lr1e-05-s1",
    ]
    assert [(r.optim, r.lr, r.seed, r.depth) for r in runs[:3]] == [
        ("sgd", 0.01, 0, 2), ("sgd", 0.01, 1, 2), ("sgd", 1e-05, 0, 2)]


def test_run_ids_name_only_the_varying_axes_and_are_filesystem_safe():
    exp = experiment_from_dict({"acts": ["relu", "leaky_relu"], "depths": [1, 4],
                                "batch_sizes": [32, "full"], "inits": ["he"], "seeds": 1,
                                "seed": 7})
    ids = [r.run_id for r in expand(exp)]
    assert ids[:4] == ["relu-d1-b32-s7", "relu-d1-bfull-s7", "relu-d4-b32-s7",
                       "relu-d4-bfull-s7"]
    assert len(set(ids)) == len(ids) == 8
    assert all(re.fullmatch(r"[A-Za-z0-9._+-]+", i) for i in ids)
    one = expand(experiment_from_dict({"seeds": 1}))
    assert [r.run_id for r in one] == ["s0"]


def test_an_empty_or_repeated_axis_is_an_error():
    with pytest.raises(NNBenchError, match="optims is empty"):
        experiment_from_dict({"optims": []})
    with pytest.raises(NNBenchError, match="twice"):
        experiment_from_dict({"lrs": [0.1, 0.1]})
    with pytest.raises(NNBenchError, match="seeds must be an integer >= 1"):
        experiment_from_dict({"seeds": 0})


def test_merge_base_field_and_axis_exclude_each_other():
    file = experiment_from_dict({"optims": ["sgd", "adam"], "lr": 0.1, "hp": {"eps": 1e-6}})
    m = merge(file, {"optim": "rmsprop", "lrs": [0.1, 0.2], "hp": {"alpha": 0.9},
                     "width": None})
    assert m.optims is None and m.base.optim == "rmsprop"
    assert m.lrs == [0.1, 0.2] and m.base.lr is None
    assert m.base.hp == {"eps": 1e-6, "alpha": 0.9}
    assert file.optims == ["sgd", "adam"] and file.base.hp == {"eps": 1e-6}  # untouched


# --------------------------------------------------------------------------- resolution


def test_resolve_fills_task_defaults_and_the_suited_lr():
    from nnbench.core.optimizers import OPTIMIZERS
    from nnbench.tasks import TASKS

    sin = TASKS.get("sin").defaults
    r = resolve(RunConfig(task="sin"))
    assert (r.optim, r.lr, r.act, r.depth, r.width, r.steps) == (
        sin["optim"], sin["lr"], sin["act"], sin["depth"], sin["width"], sin["steps"])
    assert r.batch_size == "full"
    assert r.log_every == max(1, sin["steps"] // 500) and r.eval_every == r.log_every
    other = "sgd" if sin["optim"] != "sgd" else "adam"
    assert resolve(RunConfig(task="sin", optim=other)).lr == OPTIMIZERS.get(other).defaults["lr"]
    assert resolve(RunConfig(task="sin", lr=0.3)).lr == 0.3
    assert resolve(r) == r  # idempotent


def test_epochs_convert_to_steps():
    r = resolve(RunConfig(task="sin-small", epochs=3, batch_size=64))
    n = 1000  # sin-small's points
    assert r.steps == 3 * math.ceil(n / 64)
    assert resolve(RunConfig(task="sin-small", epochs=2)).steps == 2  # full batch


def test_cosine_anneals_over_the_steps_after_warmup():
    r = resolve(RunConfig(task="sin-small", steps=100, schedule="cosine", warmup_steps=10))
    assert r.schedule_kw["T_max"] == 90


@pytest.mark.parametrize("changes, message", [
    ({"steps": -5}, "steps must be an integer >= 1"),
    ({"steps": 0}, "steps must be an integer >= 1"),
    ({"lr": 0.0}, "lr must be in"),
    ({"lr": -0.1}, "lr must be in"),
    ({"depth": 0}, "depth must be >= 1"),
    ({"depth": -1}, "depth must be an integer >= 0"),
    ({"width": 0}, "width must be an integer >= 1"),
    ({"val_frac": 1.0}, r"val_frac must be in \[0, 1\)"),
    ({"val_frac": -0.1}, r"val_frac must be in \[0, 1\)"),
    ({"batch_size": 0}, "batch_size must be an integer >= 1"),
    ({"patience": 3}, "patience needs a validation set"),
    ({"clip": 0.0}, "clip must be in"),
    ({"dtype": "float16"}, "dtype must be 'float32' or 'float64'"),
    ({"hp": {"momentun": 0.9}, "optim": "sgd"}, "did you mean 'momentum'"),
    ({"hp": {"lr": 0.1}}, "give the learning rate as lr"),
    ({"start": "1,2"}, "start applies to landscape tasks only"),
])
def test_impossible_values_raise_one_line(changes, message):
    with pytest.raises(NNBenchError, match=message) as err:
        resolve(RunConfig(task="sin-small", **changes))
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("field, name, close", [
    ("optim", "adamm", "adam"), ("act", "rellu", "relu"), ("init", "xavierr", None),
    ("loss", "mse2", "mse"), ("task", "sinn", "sin"), ("schedule", "cosin", "cosine"),
])
def test_unknown_names_go_through_the_registries(field, name, close):
    with pytest.raises(UnknownNameError) as err:
        resolve(RunConfig(**{"task": "sin-small", field: name}))
    if close:
        assert err.value.closest == close
    assert "valid:" in str(err.value)


def test_wrong_types_name_the_key():
    with pytest.raises(NNBenchError, match="width must be an integer"):
        experiment_from_dict({"width": "wide"})
    with pytest.raises(NNBenchError, match="lrs must be a list"):
        experiment_from_dict({"lrs": 0.1})
    with pytest.raises(NNBenchError, match="batch_size must be an integer or 'full'"):
        experiment_from_dict({"batch_size": 1.5})


def test_parse_hp():
    assert parse_hp(["momentum=0.9", "betas=0.9,0.99", "nesterov=true", "k=5", "base=sgd"]) \
        == {"momentum": 0.9, "betas": (0.9, 0.99), "nesterov": True, "k": 5, "base": "sgd"}
    with pytest.raises(NNBenchError, match="NAME=VALUE"):
        parse_hp(["momentum"])


# --------------------------------------------------------------------------- TOML


def test_toml_writer_is_read_back_by_tomllib():
    data = {"s": 'a "quoted"\\ line\n\tend é', "i": -3, "f": 1e-05, "g": 2.0, "b": False,
            "inf": math.inf, "arr": [1, 2.5, "x"], "empty": [],
            "t": {"k": (0.9, 0.999), "weird key": 1, "sub": {"z": True}}}
    back = tomllib.loads(to_toml(data))
    assert back["t"]["k"] == [0.9, 0.999]
    back["t"]["k"] = (0.9, 0.999)
    assert back == data


def test_unknown_key_names_file_line_and_closest(tmp_path):
    f = tmp_path / "exp.toml"
    f.write_text('name = "x"\ntask = "sin"\noptimz = ["sgd"]\n')
    with pytest.raises(NNBenchError) as err:
        load_toml(f)
    msg = str(err.value)
    assert msg.startswith(f"{f}:3: ") and "optimz" in msg and "did you mean 'optim" in msg
    f.write_text('task = "sin"\n\n[hp]\nmomentum = 0.9\n[oops]\nx = 1\n')
    with pytest.raises(NNBenchError, match=r"exp\.toml:5: unknown experiment key 'oops'"):
        load_toml(f)


def test_malformed_toml_names_file_and_line(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text('task = "sin"\nlr = = 0.1\n')
    with pytest.raises(NNBenchError, match=r"bad\.toml:2: malformed TOML"):
        load_toml(f)
    with pytest.raises(NNBenchError, match="does not exist"):
        load_toml(tmp_path / "none.toml")
    f.write_text('lr = "fast"\n')
    with pytest.raises(NNBenchError, match=r"bad\.toml:1: lr must be a number"):
        load_toml(f)


def test_toml_round_trip_repeats_the_experiment():
    exp = experiment_from_dict({
        "name": "rt", "task": "sin-small", "task_kw": {"n_points": 50, "noise": 0.1},
        "optims": ["sgd", "adam"], "lrs": [0.01, 0.003], "acts": ["tanh", "relu"],
        "hp": {"weight_decay": 1e-4}, "schedule": "step", "schedule_kw": {"step_size": 5},
        "batch_size": 16, "epochs": 2, "seeds": 2, "clip": 1.0, "val_frac": 0.2,
        "patience": 4, "target": 0.05, "dtype": "float64",
    })
    resolved, runs = resolve_experiment(exp)
    text = dump_toml(resolved)
    again = loads_toml(text, "config.toml")
    resolved2, runs2 = resolve_experiment(again)
    assert runs2 == runs
    assert dump_toml(resolved2) == text
    assert again.name == "rt" and again.lrs == [0.01, 0.003]


def test_experiment_label_defaults_to_task():
    assert ExperimentConfig().label == "sin"
    assert experiment_from_dict({"name": "demo"}).label == "demo"


def test_log_every_is_the_tasks_own_or_about_500_points():
    from nnbench.tasks import get_task

    assert get_task("rosenbrock").defaults["log_every"] == 1
    assert resolve(RunConfig(task="rosenbrock")).log_every == 1  # a trajectory: every step
    assert resolve(RunConfig(task="sin", steps=10000)).log_every == 10000 // 500
    assert resolve(RunConfig(task="sin", steps=100)).log_every == 1
    assert resolve(RunConfig(task="rosenbrock", log_every=7)).log_every == 7


# --------------------------------------------------------------------------- schema


def test_each_field_is_checked_by_the_kind_of_its_declared_type():
    from nnbench.schema import FIELD_TYPES, RUN_KEYS, fields_of_kind, run_columns

    assert fields_of_kind("str") == {"task", "model", "optim", "form", "schedule", "act", "init",
                                     "loss", "dtype", "start", "data_dir", "binary", "out_act",
                                     "run_id"}
    assert fields_of_kind("int") == {"warmup_steps", "depth", "width", "steps", "epochs",
                                     "seed", "log_every", "eval_every", "patience",
                                     "data_seed", "pieces", "params", "degree"}
    assert fields_of_kind("float") == {"lr", "val_frac", "clip", "target", "l2", "dropout"}
    assert fields_of_kind("bool") == {"standardize", "residual", "shuffle"}
    assert fields_of_kind("dict") == {"hp", "schedule_kw", "task_kw", "threshold"}
    assert fields_of_kind("batch") == {"batch_size"}
    assert set(FIELD_TYPES) == {*RUN_KEYS, "run_id"}
    # RunConfig is the schema's fields, nothing more
    assert [f.name for f in dataclasses.fields(RunConfig)] == [*RUN_KEYS, "run_id"]
    cols = run_columns("classification")
    assert cols[:4] == ["run_id", "group", "task", "model"] and "optimizer" in cols
    assert "activation" in cols and "optim" not in cols and "run_id" not in cols[2:]


@pytest.mark.parametrize(("key", "value", "message"), [
    ("dtype", 64, "dtype must be a string"),
    ("residual", 1, "residual must be true or false"),
    ("binary", 1, "binary must be a string"),
    ("depth", 1.5, "depth must be an integer"),
    ("lr", True, "lr must be a number"),
    ("hp", [1], "hp must be a table of NAME = VALUE"),
])
def test_a_value_of_the_wrong_type_is_one_line(key, value, message):
    with pytest.raises(NNBenchError, match=message):
        RunConfig.from_dict({key: value})


def test_dtype_choices_come_from_the_schema():
    with pytest.raises(NNBenchError, match="dtype must be 'float32' or 'float64', got 'f16'"):
        resolve(RunConfig(dtype="f16"))
