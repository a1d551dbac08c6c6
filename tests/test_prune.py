"""Magnitude pruning: exact sparsity levels, the smallest weights go first, biases stay, and
``nnbench prune DIR`` on a small results directory (CSV, figure, fine-tuning)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nnbench.cli import _main
from nnbench.core.errors import NNBenchError
from nnbench.core.prune import parse_sparsities, prune_mask, prune_weights, sparsity_of


@pytest.mark.parametrize("s", [0.0, 0.5, 0.8, 0.9, 0.95, 1.0])
def test_pruning_reaches_exact_sparsity_levels(s):
    rng = np.random.default_rng(0)
    Ws = [rng.normal(size=(20, 10)), rng.normal(size=(10, 4))]
    pruned = prune_weights(Ws, s)
    for W, P in zip(Ws, pruned, strict=True):
        assert np.count_nonzero(P == 0) == round(s * W.size)
        kept = P != 0
        if kept.any() and (~kept).any():  # every removed weight is smaller than every kept one
            assert np.abs(W[~kept]).max() <= np.abs(W[kept]).min()
        np.testing.assert_array_equal(P[kept], W[kept])
    assert sparsity_of(pruned) == pytest.approx(s, abs=0.5 / 240 + 1e-12)


def test_ties_still_give_the_exact_count_and_runs_are_pruned_separately():
    W = np.ones((2, 4, 5))
    W[1] *= np.arange(20).reshape(4, 5)
    m = prune_mask(W, 0.25)
    assert (~m).sum(axis=(1, 2)).tolist() == [5, 5]
    assert not m[1].ravel()[:5].any() and m[1].ravel()[5:].all()  # run 1: its 5 smallest


def test_bad_levels_are_refused():
    with pytest.raises(NNBenchError, match="sparsity"):
        prune_mask(np.ones((2, 2)), 1.5)
    with pytest.raises(NNBenchError, match="comma-separated"):
        parse_sparsities("0,a")
    with pytest.raises(NNBenchError, match="twice"):
        parse_sparsities("0.5,0.5")
    assert parse_sparsities("0,0.5,0.9") == [0.0, 0.5, 0.9]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("prune") / "res"
    code = _main(["compare", "--task", "blobs", "--model", "mlp", "--depth", "1", "--width", "8",
                  "--act", "relu", "--steps", "40", "--seeds", "2", "--out", str(out),
                  "--quiet", "--no-plot"])
    assert code == 0
    return out


def test_prune_command_writes_levels_and_a_figure(trained, capsys):
    code = _main(["prune", str(trained), "--sparsity", "0,0.5,0.9", "--finetune", "5"])
    assert code == 0
    df = pd.read_csv(trained / "prune.csv")
    assert len(df) == 2 * 3 * 2  # runs x levels x (pruned, fine-tuned)
    assert (trained / "figures" / "sparsity.png").stat().st_size > 0
    # level 0 without fine-tuning is the trained network: the engine's test accuracy
    runs = pd.read_csv(trained / "runs.csv").set_index("run_id")
    base = df[(df.sparsity == 0) & (df.finetune_steps == 0)].set_index("run_id")
    for rid in base.index:
        assert base.loc[rid, "eval_acc"] == pytest.approx(runs.loc[rid, "final_test_acc"])
    # blobs 2-8-2: 16 + 16 weights, 50% of each layer; fine-tuning keeps the zeros
    assert set(df[df.sparsity == 0.5]["actual_sparsity"]) == {0.5}
    level = df[df.sparsity == 0.9]
    pruned = level[level.finetune_steps == 0].set_index("run_id")["actual_sparsity"]
    tuned = level[level.finetune_steps == 5].set_index("run_id")["actual_sparsity"]
    assert (pruned >= 0.9 - 1 / 16).all()  # whole weights: 14 of each layer's 16
    assert tuned.equals(pruned)  # no pruned weight comes back
    (trained / "figures" / "sparsity.png").unlink()  # nnbench plot draws it again
    assert _main(["plot", str(trained)]) == 0
    assert (trained / "figures" / "sparsity.png").stat().st_size > 0


def test_prune_refuses_a_directory_without_weights(tmp_path, capsys):
    assert _main(["prune", str(tmp_path)]) == 2
    assert "not a results directory" in capsys.readouterr().err


def test_prune_refuses_binary_networks(tmp_path, capsys):
    out = tmp_path / "bin"
    assert _main(["run", "--task", "blobs", "--binary", "weights", "--act", "tanh", "--width", "4",
                  "--depth", "1", "--steps", "5", "--out", str(out), "--quiet",
                  "--no-plot"]) == 0
    assert _main(["prune", str(out)]) == 2
    assert "binary networks" in capsys.readouterr().err
