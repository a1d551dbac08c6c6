"""The forms axis: ``--forms torch,book,lecture`` (``forms = [...]`` in a config file) makes
one cell per written form, each run the same as the run given ``--hp form=`` alone."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from nnbench.cli import app
from nnbench.config import ExperimentConfig, RunConfig, expand, loads_toml
from nnbench.core.errors import NNBenchError
from nnbench.resolve import resolve
from nnbench.schema import optimizer_hyper

runner = CliRunner()
COMMON = ["--task", "sin-small", "--steps", "40", "--seeds", "2", "--lr", "0.01",
          "--backend", "numpy", "--quiet", "--no-plot"]


def _compare(out, *args) -> pd.DataFrame:
    result = runner.invoke(app, ["compare", *COMMON, "--out", str(out), *args])
    assert result.exit_code == 0, (result.output, result.exception)
    return pd.read_csv(out / "runs.csv")


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    out = tmp_path_factory.mktemp("forms") / "grid"
    return out, _compare(out, "--optims", "rmsprop,adagrad", "--forms", "torch,book,lecture")


def test_one_cell_per_form_with_a_form_column(grid):
    _, runs = grid
    assert list(runs["run_id"]) == [f"{o}-form-{f}-s{s}" for o in ("rmsprop", "adagrad")
                                    for f in ("torch", "book", "lecture") for s in (0, 1)]
    assert list(runs["form"]) == [f for _ in range(2) for f in ("torch", "book", "lecture")
                                  for _ in range(2)]
    assert (runs["hp"] == "{}").all()  # the form is its own column, not in hp


@pytest.mark.parametrize("optim, form", [("rmsprop", "book"), ("adagrad", "lecture"),
                                         ("rmsprop", "torch")])
def test_each_cell_is_the_run_with_that_hp_form(grid, tmp_path, optim, form):
    _, runs = grid
    alone = _compare(tmp_path / "alone", "--optim", optim, "--hp", f"form={form}")
    cell = runs[(runs["optimizer"] == optim) & (runs["form"] == form)]
    assert list(cell["final_train_loss"]) == list(alone["final_train_loss"])


def test_the_forms_differ_where_the_rules_do(grid):
    _, runs = grid
    final = runs.groupby(["optimizer", "form"])["final_train_loss"].mean()
    assert final["rmsprop", "lecture"] != final["rmsprop", "torch"]
    assert final["rmsprop", "book"] != final["rmsprop", "torch"]


def test_forms_in_a_config_file_and_the_run_field():
    exp = loads_toml('task = "sin-small"\noptim = "adam"\nforms = ["torch", "book"]\n'
                     "seeds = 1\n")
    runs = expand(exp)
    assert [r.form for r in runs] == ["torch", "book"]
    assert [r.run_id for r in runs] == ["form-torch-s0", "form-book-s0"]
    assert optimizer_hyper(runs[1]) == {"form": "book"}
    assert optimizer_hyper(RunConfig(hp={"eps": 1e-3})) == {"eps": 1e-3}
    assert ExperimentConfig().forms is None


@pytest.mark.parametrize("fields, message", [
    ({"optim": "nadam", "form": "book"}, "optimizer 'nadam' has no written forms"),
    ({"optim": "adam", "form": "lecture"}, "form must be one of torch, book, got 'lecture'"),
    ({"optim": "adam", "form": "torch", "hp": {"form": "book"}},
     "form 'torch' and hp form 'book' differ"),
])
def test_a_form_the_rule_lacks_or_two_forms_are_one_line_errors(fields, message):
    with pytest.raises(NNBenchError, match=message) as info:
        resolve(RunConfig(task="sin-small", **fields))
    assert "\n" not in str(info.value)


def test_forms_and_hp_form_agreeing_is_fine():
    c = resolve(RunConfig(task="sin-small", optim="adam", form="book", hp={"form": "book"}))
    assert optimizer_hyper(c) == {"form": "book"}
