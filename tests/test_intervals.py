"""The 95% interval over seeds and the paired comparison with a baseline, against closed
forms of Student's t and a simulation with a known answer."""

import math

import numpy as np
import pandas as pd
import pytest

from nnbench import summary as sm


def _t_closed_form(p: float, df: int) -> float:
    """Closed forms of Student's t quantile (Hill 1970; Shaw 2006): df 1, 2 and 4."""
    if df == 1:
        return math.tan(math.pi * (p - 0.5))
    if df == 2:
        return (2 * p - 1) / math.sqrt(2 * p * (1 - p))
    if df == 4:
        a = 4 * p * (1 - p)
        q = math.cos(math.acos(math.sqrt(a)) / 3) / math.sqrt(a)
        return math.copysign(2 * math.sqrt(q - 1), p - 0.5)
    raise ValueError(df)


@pytest.mark.parametrize("df", [1, 2, 4])
@pytest.mark.parametrize("p", [0.6, 0.9, 0.975, 0.995])
def test_t_quantile_against_closed_forms(df, p):
    assert sm.t_quantile(p, df) == pytest.approx(_t_closed_form(p, df), rel=1e-9)


def test_t_cdf_against_a_numerical_integral_of_the_density():
    # odd and even degrees of freedom, against the trapezoid rule on the t density
    for df in (3, 5, 6, 9, 30):
        x = np.linspace(0, 2.5, 200001)
        dens = (math.gamma((df + 1) / 2) / (math.sqrt(df * math.pi) * math.gamma(df / 2))
                * (1 + x ** 2 / df) ** (-(df + 1) / 2))
        two_sided = 2 * float(np.sum((dens[1:] + dens[:-1]) / 2 * np.diff(x)))
        assert sm.t_two_sided(2.5, df) == pytest.approx(two_sided, abs=1e-9)


def test_t_quantile_matches_the_printed_table():
    # the usual table of t_{0.975}: 12.706, 4.303, 2.776, 2.571, 2.262 (df 9), 1.960 (inf)
    for df, t in [(1, 12.706), (2, 4.303), (4, 2.776), (5, 2.571), (9, 2.262), (29, 2.045)]:
        assert sm.t_quantile(0.975, df) == pytest.approx(t, abs=5e-4)
    assert sm.t_quantile(0.975, 2000) == pytest.approx(1.96, abs=2e-3)


def test_mean_ci_by_hand():
    x = [0.50, 0.40, 0.45]  # mean 0.45, s = 0.05, n = 3: half width t_{0.975,2} 0.05/sqrt 3
    half = _t_closed_form(0.975, 2) * 0.05 / math.sqrt(3)
    lo, hi = sm.mean_ci(x)
    assert (lo, hi) == pytest.approx((0.45 - half, 0.45 + half))
    assert all(math.isnan(v) for v in sm.mean_ci([0.3]))
    assert sm.mean_ci([0.1, math.nan, 0.3]) == pytest.approx(sm.mean_ci([0.1, 0.3]))


@pytest.mark.parametrize("n", [3, 5])
def test_the_interval_covers_the_true_mean_95_percent_of_the_time(n):
    """4000 samples of n draws from N(2, 0.5^2): the true mean lies in the interval of
    about 95% of them; a binomial 4-sigma band (sd sqrt(.95 .05 / 4000) = 0.0034) around
    0.95 leaves the wrong quantile (a normal 1.96 instead of t: about 88% at n = 3) out."""
    rng = np.random.default_rng(20260)
    trials = 4000
    draws = rng.normal(2.0, 0.5, size=(trials, n))
    inside = 0
    for row in draws:
        lo, hi = sm.mean_ci(row)
        inside += lo <= 2.0 <= hi
    rate = inside / trials
    sd = math.sqrt(0.95 * 0.05 / trials)
    assert abs(rate - 0.95) < 4 * sd, rate


def _paired_runs(diffs_adam, base=(0.5, 0.6, 0.55, 0.52, 0.58)):
    rows = []
    for seed, b in enumerate(base):
        rows.append({"run_id": f"sgd-s{seed}", "optimizer": "sgd", "lr": 0.1, "seed": seed,
                     "status": "done", "final_train_loss": b})
        d = diffs_adam[seed]
        rows.append({"run_id": f"adam-s{seed}", "optimizer": "adam", "lr": 0.005,
                     "seed": seed, "status": "diverged" if d is None else "done",
                     "final_train_loss": math.nan if d is None else b + d})
    return pd.DataFrame(rows)


def test_paired_difference_and_verdict_by_hand():
    diffs = [-0.40, -0.42, -0.41, -0.39, -0.43]
    runs = _paired_runs(diffs)
    paired = sm.compare_to_baseline(runs, "sgd").set_index("optimizer")
    adam = paired.loc["adam"]
    lo, hi = sm.mean_ci(diffs)
    assert adam["diff_mean"] == pytest.approx(np.mean(diffs))
    assert (adam["diff_ci_lo"], adam["diff_ci_hi"]) == pytest.approx((lo, hi))
    assert adam["pairs"] == 5 and adam["lower"] == 5
    assert adam["verdict"] == (f"adam lower than sgd in 5/5 seeds, difference 0.410 "
                               f"[{sm.fmt_num(-hi, 3)}, {sm.fmt_num(-lo, 3)}]")
    assert paired.loc["sgd", "verdict"] == "baseline"
    # the per-optimizer learning rate is not paired on (each optimizer has one)
    assert "lr" in sm.cell_columns(runs)


def test_verdicts_higher_not_distinguishable_and_diverged_seeds():
    up = sm.compare_to_baseline(_paired_runs([0.1, 0.12, 0.09, 0.11, 0.1]), "sgd")
    assert up.set_index("optimizer").loc["adam", "verdict"].startswith(
        "adam higher than sgd in 5/5 seeds, difference 0.104 [")
    mixed = sm.compare_to_baseline(_paired_runs([0.05, -0.05, 0.01, None, None]), "sgd")
    row = mixed.set_index("optimizer").loc["adam"]
    assert row["pairs"] == 3  # the two diverged seeds are left out
    assert row["verdict"].startswith("not distinguishable with 3 seeds (difference 0.00333 [")
    one = sm.compare_to_baseline(_paired_runs([0.05, None, None, None, None]), "sgd")
    assert "too few for an interval" in one.set_index("optimizer").loc["adam", "verdict"]


def test_pairs_on_the_other_axes_and_names_a_bad_baseline():
    rows = [{"run_id": f"{o}-{a}-s{s}", "optimizer": o, "activation": a, "seed": s,
             "status": "done", "final_train_loss": v + s * 0.01 + (0.3 if a == "relu" else 0)}
            for o, v in (("sgd", 0.5), ("adam", 0.2)) for a in ("sigmoid", "relu")
            for s in range(3)]
    runs = pd.DataFrame(rows)
    paired = sm.compare_to_baseline(runs, "sgd")
    adam = paired[paired.optimizer == "adam"]
    assert adam["diff_mean"].tolist() == pytest.approx([-0.3, -0.3])  # same activation
    by_act = sm.compare_to_baseline(runs, "sigmoid")
    assert by_act.attrs["column"] == "activation"
    assert by_act[by_act.activation == "relu"]["diff_mean"].tolist() == pytest.approx(
        [0.3, 0.3])
    from nnbench.core.errors import NNBenchError

    with pytest.raises(NNBenchError, match="'adm' is not a value of optimizer; valid: adam"):
        sm.compare_to_baseline(runs, "adm")


def test_the_table_shows_the_interval_and_the_difference():
    runs = _paired_runs([-0.40, -0.42, -0.41, -0.39, -0.43])
    by = sm.cell_columns(runs)
    table = sm.with_baseline(sm.summarize(runs, by=by), sm.compare_to_baseline(runs, "sgd"), by)
    headers, rows = sm.display_rows(table, by)
    assert headers[-2:] == ["vs sgd", "diverged"]
    adam = next(r for r in rows if r[0] == "adam")
    assert adam[headers.index("vs sgd")].startswith("-0.410 [-0.")
    lo, hi = sm.mean_ci([0.1, 0.18, 0.14, 0.13, 0.15])  # adam's losses
    assert f"[{sm.fmt_num(lo, 3)}, {sm.fmt_num(hi, 3)}]" in adam[headers.index("final loss")]
    text = sm.format_text(table, by)
    assert "95% confidence interval of the mean final loss over seeds (Student's t" in text


def test_baseline_from_the_command_line(tmp_path):
    """compare --baseline, show --baseline --json and report --baseline agree; a name
    that is not in the grid is one line and exit 2 before anything trains."""
    import json

    from typer.testing import CliRunner

    from nnbench.cli import app

    out = tmp_path / "r"
    runner = CliRunner()
    bad = runner.invoke(app, ["compare", "--task", "sin-small", "--optims", "sgd,adam",
                              "--steps", "5", "--seeds", "2", "--no-plot", "--out", str(out),
                              "--baseline", "adm"])
    assert bad.exit_code == 2 and "--baseline 'adm' is not a value" in bad.output
    assert not out.exists()
    result = runner.invoke(app, ["compare", "--task", "sin-small", "--optims", "sgd,adam",
                                 "--steps", "20", "--seeds", "3", "--no-plot", "--out",
                                 str(out), "--baseline", "sgd"])
    assert result.exit_code == 0, result.output
    assert "vs sgd" in result.output and "against sgd (final_train_loss" in result.output
    shown = runner.invoke(app, ["show", str(out), "--baseline", "sgd", "--json"])
    doc = json.loads(shown.stdout)
    assert doc["interval"] == {"level": 0.95, "method": "Student's t"}
    assert doc["baseline"]["column"] == "optimizer"
    adam = next(c for c in doc["summary"] if c["optimizer"] == "adam")
    runs = pd.read_csv(out / "runs.csv")
    loss = runs.pivot(index="seed", columns="optimizer", values="final_train_loss")
    d = (loss["adam"] - loss["sgd"]).to_numpy()
    assert adam["diff_mean"] == pytest.approx(d.mean())
    assert (adam["diff_ci_lo"], adam["diff_ci_hi"]) == pytest.approx(sm.mean_ci(d))
    assert adam["verdict"] == sm.verdict("adam", "sgd", d)
    assert adam["verdict"] in result.output
    rep = runner.invoke(app, ["report", str(out), "--baseline", "sgd"])
    assert rep.exit_code == 0, rep.output
    md = (out / "report.md").read_text()
    assert "| vs sgd |" in md and adam["verdict"] in md
