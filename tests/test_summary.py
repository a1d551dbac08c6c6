"""The summary against aggregates computed by hand (statistics module, plain loops)."""

import json
import math
import statistics

import pandas as pd
import pytest

from nnbench import summary as sm


def _runs() -> pd.DataFrame:
    # 2 optimizers x 2 lrs x 3 seeds; adam lr=0.1 seed 2 diverged.
    rows = []
    rid = 0
    final = {
        ("sgd", 0.01): [0.50, 0.40, 0.45],
        ("sgd", 0.1): [0.20, 0.30, 0.25],
        ("adam", 0.01): [0.05, 0.07, 0.06],
        ("adam", 0.1): [0.01, 0.02, float("nan")],
    }
    for (opt, lr), losses in final.items():
        for seed, loss in enumerate(losses):
            diverged = math.isnan(loss)
            rows.append({
                "run_id": rid, "task": "sin", "optimizer": opt, "lr": lr, "activation": "sigmoid",
                "depth": 1, "seed": seed, "status": "diverged" if diverged else "done",
                "final_train_loss": loss, "best_train_loss": loss if diverged else loss * 0.9,
                "steps_done": 7 if diverged else 20, "wall_s": 0.1 * (rid + 1),
            })
            rid += 1
    return pd.DataFrame(rows)


def test_axes_are_the_varying_config_columns():
    runs = _runs()
    assert sm.axis_columns(runs) == ["optimizer", "lr"]
    single = runs[(runs.optimizer == "sgd") & (runs.lr == 0.1)]
    assert sm.axis_columns(single) == []
    assert sm.cell_columns(single) == ["optimizer"]


def test_summary_means_and_stds_per_cell(tmp_path):
    runs = _runs()
    path = tmp_path / "runs.csv"
    runs.to_csv(path, index=False)
    summary = sm.summarize(pd.read_csv(path))
    assert len(summary) == 4
    row = summary[(summary.optimizer == "sgd") & (summary.lr == 0.01)].iloc[0]
    assert row["runs"] == 3 and row["diverged"] == 0
    assert row["final_loss_mean"] == pytest.approx(statistics.mean([0.50, 0.40, 0.45]))
    assert row["final_loss_std"] == pytest.approx(statistics.stdev([0.50, 0.40, 0.45]))
    assert row["best_loss_mean"] == pytest.approx(statistics.mean([0.45, 0.36, 0.405]))
    assert row["wall_s_mean"] == pytest.approx(statistics.mean([0.1, 0.2, 0.3]))
    # the diverged run is counted, and left out of the loss statistics
    row = summary[(summary.optimizer == "adam") & (summary.lr == 0.1)].iloc[0]
    assert row["diverged"] == 1 and row["runs"] == 3
    assert row["final_loss_mean"] == pytest.approx(0.015)
    assert row["final_loss_std"] == pytest.approx(statistics.stdev([0.01, 0.02]))
    assert row["wall_s_mean"] == pytest.approx(statistics.mean([1.0, 1.1, 1.2]))


def test_columns_without_values_are_left_out():
    runs = _runs().assign(final_val_loss=float("nan"), final_train_acc=float("nan"),
                          stopped_early=[True, False] * 6)
    summary = sm.summarize(runs)
    assert "final_val_loss_mean" not in summary.columns
    assert "train_acc_mean" not in summary.columns
    assert sm.axis_columns(runs) == ["optimizer", "lr"]
    assert sm.best_lr(runs)["criterion"].eq("final_train_loss").all()


def test_one_seed_has_no_std():
    runs = _runs().query("seed == 0")
    summary = sm.summarize(runs)
    assert summary["final_loss_std"].isna().all()
    assert sm.fmt_pm(0.5, math.nan) == "0.5000"


def test_steps_to_target_from_metrics():
    runs = _runs().query("optimizer == 'sgd' and lr == 0.1")
    ids = runs["run_id"].tolist()
    # run 0 reaches 0.3 at step 10, run 1 at step 5 (and again later), run 2 never
    losses = {ids[0]: [1.0, 0.5, 0.3, 0.2], ids[1]: [0.9, 0.25, 0.4, 0.1],
              ids[2]: [1.0, 0.9, 0.8, 0.7]}
    metrics = pd.DataFrame([{"run_id": r, "step": 5 * i, "train_loss": v}
                            for r, vs in losses.items() for i, v in enumerate(vs)])
    first = sm.steps_to_target(metrics, 0.3)
    assert first[ids[0]] == 10 and first[ids[1]] == 5 and math.isnan(first[ids[2]])
    summary = sm.summarize(runs, metrics, target=0.3)
    row = summary.iloc[0]
    assert row["reached"] == 2
    assert row["steps_to_target_mean"] == pytest.approx(7.5)
    assert row["steps_to_target_std"] == pytest.approx(statistics.stdev([10, 5]))
    headers, cells = sm.display_rows(summary, ["optimizer"])
    assert "steps to target" in headers
    assert "(2/3)" in cells[0][headers.index("steps to target")]


def test_best_lr_per_optimizer_by_training_loss():
    best = sm.best_lr(_runs()).set_index("optimizer")
    # sgd: mean(0.2,0.3,0.25)=0.25 < 0.45; adam: lr=0.1 has a diverged seed -> inf
    assert best.loc["sgd", "best_lr"] == 0.1
    assert best.loc["adam", "best_lr"] == 0.01
    assert best.loc["adam", "mean_loss"] == pytest.approx(0.06)
    assert (best["criterion"] == "final_train_loss").all()


def test_best_lr_prefers_validation_loss():
    runs = _runs()
    # validation loss reverses sgd's order
    runs["final_val_loss"] = [0.1, 0.1, 0.1, 0.9, 0.9, 0.9, 0.3, 0.3, 0.3, 0.2, 0.2, 0.2]
    runs.loc[runs.status == "diverged", "final_val_loss"] = float("nan")
    best = sm.best_lr(runs).set_index("optimizer")
    assert best.loc["sgd", "best_lr"] == 0.01
    assert best.loc["adam", "best_lr"] == 0.01
    assert (best["criterion"] == "final_val_loss").all()
    assert "final_val_loss_mean" in sm.summarize(runs).columns


def test_best_lr_none_without_a_sweep():
    assert sm.best_lr(_runs().query("lr == 0.1")) is None
    # each optimizer at its own default lr: lr varies, but nothing was swept
    own = _runs().query("(optimizer == 'sgd' and lr == 0.1) or "
                        "(optimizer == 'adam' and lr == 0.01)")
    assert sm.axis_columns(own) == ["optimizer", "lr"]
    assert sm.best_lr(own) is None


def test_text_and_json_forms():
    runs = _runs()
    summary = sm.summarize(runs)
    best = sm.best_lr(runs)
    text = sm.format_text(summary, ["optimizer", "lr"], best)
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["optimizer", "lr", "runs"]
    assert len(lines) == 2 + 4 + 1 + 1 + 2  # header, cells, the interval's line, best lrs
    assert lines[6].startswith("[lo, hi]: 95% confidence interval of the mean final loss")
    assert "best lr for sgd: 0.1" in text and "best lr for adam: 0.01" in text
    assert "0.4500 ± 0.050" in text  # sgd lr=0.01: mean 0.45, std 0.05
    doc = json.dumps({"summary": sm.to_records(summary), "best_lr": sm.to_records(best)})
    back = json.loads(doc)
    assert back["summary"][0]["final_loss_mean"] == pytest.approx(0.45)
    assert back["best_lr"][1]["best_lr"] == 0.01


def test_number_formatting():
    assert sm.fmt_num(float("nan")) == "-"
    assert sm.fmt_num(float("inf")) == "inf"
    assert sm.fmt_num(0.000123456) == "0.0001235"
    assert sm.fmt_num(3) == "3"
    assert sm.fmt_pm(1.0, 0.25) == "1.000 ± 0.25"


def test_one_format_for_every_measured_number():
    """Four significant digits with the trailing zeros, so a column's numbers line up;
    whole numbers from 10^4; scientific below 1e-4; configuration values as given."""
    assert [sm.fmt_num(x) for x in (0.455, 0.4549, 0.45, 1.0, 0.0)] == \
        ["0.4550", "0.4549", "0.4500", "1.000", "0.000"]
    assert [sm.fmt_num(x) for x in (1520.0, 12345.6, 2e-6)] == ["1520", "12346", "2.000e-06"]
    assert sm.fmt_num(10.8, 3) == "10.8" and sm.fmt_num(0.5, 3) == "0.500"
    assert sm.fmt_pm(0.4017, 0.031) == "0.4017 ± 0.031"
    assert [sm.fmt_value(x) for x in (0.01, 100.0, 5e-4, "adam")] == \
        ["0.01", "100", "0.0005", "adam"]


def test_interrupted_runs_get_a_column_only_when_there_are_some():
    runs = _runs()
    headers, _ = sm.display_rows(sm.summarize(runs), ["optimizer", "lr"])
    assert "interrupted" not in headers and headers[-1] == "diverged"
    runs.loc[runs.run_id == 0, "status"] = "interrupted"
    summary = sm.summarize(runs)
    headers, rows = sm.display_rows(summary, ["optimizer", "lr"])
    assert headers[-2:] == ["interrupted", "diverged"]
    assert [r[-2] for r in rows] == ["1", "0", "0", "0"]


def test_test_accuracy_is_summarized_and_shown():
    runs = _runs()
    runs["final_test_acc"] = [0.5 + 0.01 * i for i in range(len(runs))]
    summary = sm.summarize(runs)
    row = summary[(summary.optimizer == "sgd") & (summary.lr == 0.1)].iloc[0]
    assert row["test_acc_mean"] == pytest.approx(statistics.mean([0.53, 0.54, 0.55]))
    assert row["test_acc_std"] == pytest.approx(statistics.stdev([0.53, 0.54, 0.55]))
    headers, _ = sm.display_rows(summary, ["optimizer", "lr"])
    assert "test acc" in headers


# -- a best rate at the edge of the sweep; a run that ended far above its start ------------


def _sweep(losses_by_lr):
    import pandas as pd

    rows = [{"run_id": f"lr{lr}-s{s}", "optimizer": "sgd", "lr": lr, "seed": s,
             "status": "done", "final_train_loss": loss}
            for lr, losses in losses_by_lr.items() for s, loss in enumerate(losses)]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("losses,edge,words", [
    ({0.01: [0.5, 0.6], 0.1: [0.3, 0.2], 1.0: [0.1, 0.1]}, "largest",
     "the best rate is the largest swept: try larger"),
    ({0.01: [0.1, 0.1], 0.1: [0.3, 0.2], 1.0: [0.5, 0.6]}, "smallest",
     "the best rate is the smallest swept: try smaller"),
    ({0.01: [0.5, 0.6], 0.1: [0.1, 0.1], 1.0: [0.5, 0.6]}, None, None),
])
def test_a_best_rate_at_the_edge_of_the_sweep_is_flagged(losses, edge, words):
    from nnbench.summary import best_lr, best_lr_lines, lr_edge

    best = best_lr(_sweep(losses))
    assert best["edge"].tolist() == [edge]
    (line,) = best_lr_lines(best)
    if words is None:
        assert "swept" not in line
    else:
        assert line.endswith(words)
    assert lr_edge(pd_series([0.1]), 0.1) is None  # nothing was swept


def pd_series(values):
    import pandas as pd

    return pd.Series(values)


def test_a_diverged_largest_rate_does_not_hide_the_edge():
    from nnbench.summary import best_lr

    runs = _sweep({0.01: [0.5], 0.1: [0.1], 1.0: [0.9]})
    runs.loc[runs["lr"] == 1.0, "status"] = "diverged"  # the best is inside the range
    assert best_lr(runs)["edge"].tolist() == [None]


def test_runs_that_ended_far_above_their_start_are_noted():
    import pandas as pd

    from nnbench.summary import growth_lines, notes

    runs = _sweep({0.1: [0.3, 6.0], 10.0: [40.0, 0.2]})
    runs.loc[3, "status"] = "diverged"
    runs.loc[3, "final_train_loss"] = float("inf")
    metrics = pd.DataFrame({"run_id": runs["run_id"], "step": 0, "train_loss": 0.7})
    lines = growth_lines(runs, metrics)
    assert lines == ["lr 10: 1 of 2 runs ended above 10x their initial loss, though finite "
                     "(lr10.0-s0 0.7000 -> 40.00)"]  # 6.0 is under 10x 0.7; diverged runs are not
    assert notes(runs, metrics) == lines
    assert growth_lines(runs, metrics, factor=100) == []
    assert growth_lines(runs, None) == []


def test_the_summary_of_a_run_that_blew_up_says_so(tmp_path):
    from typer.testing import CliRunner

    from nnbench.cli import app

    out = tmp_path / "r"
    result = CliRunner().invoke(app, ["run", "--task", "moons", "--optim", "sgd", "--lr",
                                      "300", "--steps", "50", "--no-plot", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 of 1 run ended above 10x their initial loss, though finite" in result.output


def test_json_notes_say_when_the_best_rate_is_at_the_edge(tmp_path):
    import json

    from typer.testing import CliRunner

    from nnbench.cli import app

    out = tmp_path / "r"
    result = CliRunner().invoke(app, ["compare", "--task", "sin-small", "--optims", "sgd",
                                      "--lrs", "0.001,0.0001", "--seeds", "1", "--steps", "5",
                                      "--no-plot", "--json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [b["best_lr"] for b in doc["best_lr"]] == [0.001]
    assert "sgd: the best rate is the largest swept: try larger (best lr 0.001)" in doc["notes"]
