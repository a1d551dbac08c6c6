"""The MLP: exactness against finite differences and PyTorch, the runs axis, shapes, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnbench
from nnbench.core.activations import ACTIVATIONS
from nnbench.core.errors import NNBenchError, UnknownNameError
from nnbench.core.losses import LOSSES
from nnbench.core.mlp import MLP

REFERENCE = Path(__file__).parent / "reference"
GRAD_ACTS = [name for name in ACTIVATIONS.names() if name != "step"]
KINKED = {"relu", "leaky_relu", "prelu", "rrelu", "elu", "selu"}  # f or f' has a kink at 0
N_OUT = {"mse": 2, "half_sse": 2, "bce_with_logits": 1, "softmax_cross_entropy": 3, "hinge": 3}


def targets(loss: str, rng: np.random.Generator, n: int, k: int, runs: int | None = None):
    lead = () if runs is None else (runs,)
    if LOSSES.create(loss).takes_labels:
        return rng.integers(0, max(k, 2), size=lead + (n,))
    return rng.normal(size=lead + (n, k))


def numerical_grads(net: MLP, X, Y, loss: str, train: bool, noise, h: float = 1e-3):
    """Fourth-order central differences ``(-C(+2h) + 8C(+h) - 8C(-h) + C(-2h)) / 12h`` of a
    one-run net, every coordinate at once: one perturbed copy of the net per run."""
    coords = [(i, j) for i, p in enumerate(net.params) for j in range(p[0].size)]
    steps = np.array([2 * h, h, -h, -2 * h])
    big = MLP(net.sizes, activation=net.activation, runs=4 * len(coords), dtype="float64",
              l2=net.l2)
    big.params = [np.repeat(p, 4 * len(coords), axis=0) for p in net.params]
    for c, (i, j) in enumerate(coords):
        for s, step in enumerate(steps):
            big.params[i][4 * c + s].flat[j] += step
    big_noise = None if noise is None else [np.repeat(z, big.runs, axis=0) for z in noise]
    C, _ = big.loss_and_grads(X, Y, loss=loss, train=train, noise=big_noise)
    C = C.reshape(len(coords), 4)
    d = (-C[:, 0] + 8 * C[:, 1] - 8 * C[:, 2] + C[:, 3]) / (12 * h)
    out = [np.zeros_like(p) for p in net.params]
    for c, (i, j) in enumerate(coords):
        out[i][0].flat[j] = d[c]
    return out


def relative_error(analytic, numeric) -> float:
    """Largest ``max|a - n| / max|a|`` over the parameter arrays; an array whose gradient is
    (exactly or nearly) zero is measured against 1e-4 of the largest gradient entry."""
    floor = 1e-4 * max(float(np.abs(a).max()) for a in analytic)
    return max(
        float(np.abs(a - n).max() / max(np.abs(a).max(), floor))
        for a, n in zip(analytic, numeric, strict=True)
    )


def far_from_kinks(net: MLP, X, Y, loss: str, margin: float) -> bool:
    """True when no hidden pre-activation of a kinked activation, and no active hinge
    margin, is within ``margin`` of its kink, so the finite differences see a smooth C,
    and no ReLU layer is dead on every sample."""
    out = net.forward(X, train=True)
    zs = [layer.z for layer in net.last_pass.layers]
    if net.activation.name in KINKED and any(np.abs(z).min() < margin for z in zs):
        return False
    if any((z <= 0).all() for z in zs) and net.activation.name == "relu":
        return False  # a layer dead on every sample: zero gradients below it, nothing to check
    if loss == "hinge":
        picked = np.take_along_axis(out, np.asarray(Y)[None, :, None], axis=2)
        margins = 1.0 - picked + out
        np.put_along_axis(margins, np.asarray(Y)[None, :, None], 10.0, 2)
        return bool(np.abs(margins).min() > margin)
    return True


FD_WORST: dict[str, float] = {}


@pytest.mark.parametrize("act", GRAD_ACTS)
def test_gradients_match_finite_differences(act):
    """Every activation x loss x depth 1..4 (float64): relative error below 1e-6.
    RReLU twice: evaluation mode, and training mode with its drawn slopes held fixed."""
    worst = 0.0
    modes = [False, True] if act == "rrelu" else [False]
    for loss, k in N_OUT.items():
        for depth in range(1, 5):
            for train in modes:
                for seed in range(100):
                    rng = np.random.default_rng([seed, depth, k])
                    net = MLP([3] + [4] * depth + [k], activation=act, seed=seed,
                              dtype="float64", init="xavier_normal")
                    net.params = [p + rng.normal(0, 0.3, size=p.shape) for p in net.params]
                    X = rng.normal(size=(5, 3))
                    Y = targets(loss, rng, 5, k)
                    if far_from_kinks(net, X, Y, loss, margin=0.02):
                        break
                else:
                    pytest.fail("no kink-free sample found")
                C, grads = net.loss_and_grads(X, Y, loss=loss, train=train)
                noise = net.last_noise
                assert (noise is not None) == (train and act == "rrelu")
                h = 1e-4 if act in KINKED or loss == "hinge" else 1e-3
                num = numerical_grads(net, X, Y, loss, train, noise, h=h)
                err = relative_error(grads, num)
                worst = max(worst, err)
                assert err < 1e-6, (act, loss, depth, train, err)
    FD_WORST[act] = worst


def reference_cases():
    for path in sorted(REFERENCE.glob("mlp_*.npz")):
        data = np.load(path, allow_pickle=False)
        cases = sorted({key[: -len("_sizes")] for key in data.files if key.endswith("_sizes")})
        for case in cases:
            yield pytest.param(path.stem[len("mlp_"):], data, case, id=f"{path.stem}-{case}")


@pytest.mark.parametrize(("act", "data", "case"), list(reference_cases()))
def test_matches_pytorch_autograd(act, data, case):
    """Loss, output and every gradient as torch autograd computes them (rtol 1e-6)."""
    get = lambda key: data[f"{case}_{key}"]  # noqa: E731
    sizes = get("sizes").tolist()
    loss = case.split("_", 1)[1]
    train = act == "rrelu_train"
    net = MLP(sizes, activation="rrelu" if train else act, runs=2, dtype="float64")
    L = len(sizes) - 1
    params, expected = [], []
    for i in range(1, L + 1):
        params += [get(f"W{i}"), get(f"b{i}")]
        expected += [get(f"gW{i}"), get(f"gb{i}")]
    if act == "prelu":
        params += [get(f"s{i}") for i in range(1, L)]
        expected += [get(f"gs{i}") for i in range(1, L)]
    assert [p.shape for p in params] == [p.shape for p in net.params]
    net.params = [p.copy() for p in params]
    noise = [get(f"noise{i}") for i in range(1, L)] if train else None
    C, grads = net.loss_and_grads(get("X"), get("Y"), loss=loss, train=train, noise=noise)
    np.testing.assert_allclose(C, get("loss"), rtol=1e-6, atol=0)
    out = net.forward(get("X"), train=train, noise=noise)
    np.testing.assert_allclose(out, get("out"), rtol=1e-6, atol=1e-12)
    for g, e in zip(grads, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-12 * np.abs(e).max())


def test_reference_files_cover_every_activation_and_depth():
    names = {p.stem[len("mlp_"):] for p in REFERENCE.glob("mlp_*.npz")}
    assert names == set(GRAD_ACTS) | {"rrelu_train"}
    data = np.load(REFERENCE / "mlp_tanh.npz", allow_pickle=False)
    depths = {len(data[k]) - 2 for k in data.files if k.endswith("_sizes")}
    assert depths == set(range(1, 7))


# -- the runs axis ---------------------------------------------------------------------


@pytest.mark.parametrize("act", ["sigmoid", "relu", "prelu", "rrelu", "gelu"])
def test_a_group_of_runs_equals_its_single_runs(act):
    seeds = [3, 7, 11]
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 2))
    Y = rng.integers(0, 3, size=(6,))
    group = MLP([2, 5, 4, 3], activation=act, seed=seeds, runs=3, dtype="float64")
    Cg, gg = group.loss_and_grads(X, Y, loss="softmax_cross_entropy")
    out_g = group.forward(X)
    for r, s in enumerate(seeds):
        single = MLP([2, 5, 4, 3], activation=act, seed=s, dtype="float64")
        for pg, ps in zip(group.params, single.params, strict=True):
            np.testing.assert_array_equal(pg[r], ps[0])
        Cs, gs = single.loss_and_grads(X, Y, loss="softmax_cross_entropy")
        np.testing.assert_allclose(Cg[r], Cs[0], rtol=1e-10)
        for a, b in zip(gg, gs, strict=True):
            np.testing.assert_allclose(a[r], b[0], rtol=1e-10, atol=1e-300)
        np.testing.assert_allclose(out_g[r], single.forward(X)[0], rtol=1e-10)


def test_int_seed_means_consecutive_seeds():
    a = MLP([2, 3, 1], seed=5, runs=3, dtype="float64")
    b = MLP([2, 3, 1], seed=[5, 6, 7], runs=3, dtype="float64")
    for p, q in zip(a.params, b.params, strict=True):
        np.testing.assert_array_equal(p, q)
    assert not np.array_equal(a.params[0][0], a.params[0][1])


def test_shared_and_per_run_inputs_and_targets_agree():
    rng = np.random.default_rng(1)
    net = MLP([3, 4, 2], activation="tanh", runs=3, dtype="float64")
    X = rng.normal(size=(5, 3))
    Y = rng.normal(size=(5, 2))
    C1, g1 = net.loss_and_grads(X, Y)
    C2, g2 = net.loss_and_grads(np.broadcast_to(X, (3, 5, 3)).copy(),
                                np.broadcast_to(Y, (3, 5, 2)).copy())
    np.testing.assert_allclose(C1, C2, rtol=1e-10)
    for a, b in zip(g1, g2, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10)
    labels = rng.integers(0, 2, size=5)
    C3, _ = net.loss_and_grads(X, labels, loss="hinge")
    C4, _ = net.loss_and_grads(X, np.tile(labels, (3, 1)), loss="hinge")
    np.testing.assert_allclose(C3, C4, rtol=1e-10)


@settings(max_examples=40, deadline=None)
@given(
    hidden=st.lists(st.integers(1, 5), min_size=0, max_size=3),
    n_in=st.integers(1, 4),
    runs=st.integers(1, 3),
    n=st.integers(1, 5),
    shared=st.booleans(),
    loss=st.sampled_from(sorted(N_OUT)),
    act=st.sampled_from(GRAD_ACTS),
    dtype=st.sampled_from(["float32", "float64"]),
)
def test_shapes_and_dtypes(hidden, n_in, runs, n, shared, loss, act, dtype):
    k = N_OUT[loss]
    sizes = [n_in, *hidden, k]
    net = MLP(sizes, activation=act, runs=runs, dtype=dtype)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, n_in) if shared else (runs, n, n_in))
    Y = targets(loss, rng, n, k, None if shared else runs)
    assert net.n_layers == len(sizes) - 1 and len(net.weights) == net.n_layers
    expected = []
    for fi, fo in zip(sizes[:-1], sizes[1:], strict=True):
        expected += [(runs, fi, fo), (runs, 1, fo)]
    if act == "prelu":
        expected += [(runs, 1, w) for w in hidden]
    assert [p.shape for p in net.params] == expected
    out = net.forward(X)
    assert out.shape == (runs, n, k) and out.dtype == np.dtype(dtype)
    C, grads = net.loss_and_grads(X, Y, loss=loss)
    assert C.shape == (runs,) and C.dtype == np.dtype(dtype) and np.isfinite(C).all()
    assert [g.shape for g in grads] == expected
    assert all(g.dtype == np.dtype(dtype) for g in grads)
    stats = net.layer_stats()
    assert len(stats) == len(hidden)
    for s in stats:
        ((key, value),) = s.items()
        assert key == net.activation.stat and value.shape == (runs,)
        assert ((0 <= value) & (value <= 1)).all()


@settings(max_examples=25, deadline=None)
@given(
    hidden=st.lists(st.integers(1, 4), min_size=0, max_size=2),
    runs=st.integers(1, 3),
    n=st.integers(1, 4),
    loss=st.sampled_from(sorted(N_OUT)),
    seed=st.integers(0, 2**32 - 1),
)
def test_shared_inputs_broadcast_like_per_run_copies(hidden, runs, n, loss, seed):
    k = N_OUT[loss]
    net = MLP([2, *hidden, k], activation="tanh", seed=seed, runs=runs, dtype="float64")
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    Y = targets(loss, rng, n, k)
    C1, g1 = net.loss_and_grads(X, Y, loss=loss)
    Xr = np.broadcast_to(X, (runs, *X.shape)).copy()
    Yr = np.broadcast_to(Y, (runs, *Y.shape)).copy()
    C2, g2 = net.loss_and_grads(Xr, Yr, loss=loss)
    np.testing.assert_allclose(C1, C2, rtol=1e-12)
    for a, b in zip(g1, g2, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14)


def test_float32_by_default_and_new_params_are_used():
    net = nnbench.MLP([1, 100, 1])
    assert all(p.dtype == np.float32 for p in net.params)
    X = np.linspace(-1, 1, 7)[:, None]
    before = net.forward(X)
    net.params = [np.zeros_like(p) for p in net.params]
    net.params[-1] = net.params[-1] + 2.0
    np.testing.assert_array_equal(net.forward(X), np.full((1, 7, 1), 2.0, np.float32))
    assert not np.allclose(before, 2.0)


def test_gradient_descent_lowers_the_loss():
    rng = np.random.default_rng(0)
    X = rng.uniform(-3, 3, size=(50, 1))
    Y = np.sin(X)
    net = MLP([1, 20, 1], activation="tanh", seed=[0, 1], runs=2, dtype="float64")
    first, _ = net.loss_and_grads(X, Y)
    for _ in range(300):
        C, grads = net.loss_and_grads(X, Y)
        for p, g in zip(net.params, grads, strict=True):
            p -= 0.1 * g
    assert (C < 0.2 * first).all()


# -- the notes' variants: maxout, L2, dropout, binary weights ---------------------------


def _randomized(net: MLP, seed: int) -> MLP:
    rng = np.random.default_rng(seed)
    net.params = [p + rng.normal(0, 0.5, size=p.shape) for p in net.params]
    return net


@pytest.mark.parametrize("sizes", [[1, 6, 1], [1, 3, 4, 1]])
def test_one_input_one_output_networks(sizes):
    """The notes' 1-100-1 shape (outer products in forward and backward), small."""
    rng = np.random.default_rng(7)
    X = rng.uniform(-3, 3, size=(9, 1))
    Y = np.sin(X)
    net = _randomized(MLP(sizes, activation="sigmoid", dtype="float64"), 3)
    C, grads = net.loss_and_grads(X, Y)
    assert relative_error(grads, numerical_grads(net, X, Y, "mse", True, None)) < 1e-6
    a = 1 / (1 + np.exp(-(X @ net.params[0][0] + net.params[1][0])))
    for W, b in zip(net.params[2:-2:2], net.params[3:-2:2], strict=True):
        a = 1 / (1 + np.exp(-(a @ W[0] + b[0])))
    expected = a @ net.params[-2][0] + net.params[-1][0]
    np.testing.assert_allclose(net.forward(X)[0], expected, rtol=1e-12)


def test_maxout_and_l2_gradients_match_finite_differences():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(5, 3))
    Y = rng.integers(0, 2, size=5)
    for seed in range(50):
        net = _randomized(MLP([3, 4, 3, 2], activation="maxout", pieces=3, seed=seed,
                              dtype="float64", l2=0.05), seed)
        net.forward(X)
        gaps = [np.diff(np.sort(z.reshape(*z.shape[:-1], -1, 3), axis=-1)[..., -2:])
                for z in [layer.z for layer in net.last_pass.layers]]
        if min(g.min() for g in gaps) > 0.02:  # no tie between the two best pieces
            break
    C, grads = net.loss_and_grads(X, Y, loss="softmax_cross_entropy")
    assert [g.shape for g in grads] == [(1, 3, 12), (1, 1, 12), (1, 4, 9), (1, 1, 9),
                                        (1, 3, 2), (1, 1, 2)]
    num = numerical_grads(net, X, Y, "softmax_cross_entropy", True, None, h=1e-4)
    assert relative_error(grads, num) < 1e-6
    plain = MLP([3, 4, 3, 2], activation="maxout", pieces=3, dtype="float64")
    plain.params = [p.copy() for p in net.params]
    C0, _ = plain.loss_and_grads(X, Y, loss="softmax_cross_entropy")
    squares = sum(float((W**2).sum()) for W in net.params[0::2])  # weights, not biases
    np.testing.assert_allclose(C - C0, [0.05 / 2 * squares], rtol=1e-12)
    assert plain.layer_stats() == [{}, {}]


def test_dropout_gradients_with_the_masks_held_fixed():
    """Finite differences of the training loss with each evaluation drawing the same masks
    (the run's generator restored before each), and no dropout at evaluation."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(6, 2))
    Y = rng.normal(size=(6, 1))
    net = _randomized(MLP([2, 5, 4, 1], activation="tanh", dtype="float64", dropout=0.4), 1)
    state = net.rngs[0].bit_generator.state

    def train_loss():
        net.rngs[0].bit_generator.state = state
        return net.loss_and_grads(X, Y, train=True)

    C, grads = train_loss()
    masks = [layer.mask for layer in net.last_pass.layers]
    assert masks and all(set(np.unique(m)) <= {0.0, 1 / 0.6} for m in masks)
    h = 1e-5
    for p, g in zip(net.params, grads, strict=True):
        num = np.zeros_like(p)
        for j in range(p.size):
            old = p.flat[j]
            p.flat[j] = old + h
            plus = train_loss()[0][0]
            p.flat[j] = old - h
            minus = train_loss()[0][0]
            p.flat[j] = old
            num.flat[j] = (plus - minus) / (2 * h)
        np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-9)
    plain = MLP([2, 5, 4, 1], activation="tanh", dtype="float64")
    plain.params = [p.copy() for p in net.params]
    np.testing.assert_array_equal(net.forward(X), plain.forward(X))
    with pytest.raises(NNBenchError, match="dropout"):
        MLP([2, 3, 1], dropout=1.0)


def test_dropout_keeps_each_run_on_its_own_generator():
    X = np.random.default_rng(5).normal(size=(8, 2))
    Y = np.zeros((8, 1))
    group = MLP([2, 6, 1], seed=[4, 9], runs=2, dtype="float64", dropout=0.5)
    Cg, gg = group.loss_and_grads(X, Y)
    for r, s in enumerate([4, 9]):
        single = MLP([2, 6, 1], seed=s, dtype="float64", dropout=0.5)
        Cs, gs = single.loss_and_grads(X, Y)
        np.testing.assert_allclose(Cg[r], Cs[0], rtol=1e-12)
        for a, b in zip(gg, gs, strict=True):
            np.testing.assert_allclose(a[r], b[0], rtol=1e-12)


def test_binary_weights_forward_sign_and_straight_through_gradient():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(5, 3))
    Y = rng.normal(size=(5, 2))
    net = _randomized(MLP([3, 4, 2], activation="tanh", dtype="float64", binary=True), 2)
    net.params[0][0, 0, 0] = 0.0  # sign(0) = +1
    signed = MLP([3, 4, 2], activation="tanh", dtype="float64")
    signed.params = [p.copy() for p in net.params]
    for i in (0, 2):
        signed.params[i] = np.where(net.params[i] < 0, -1.0, 1.0)
    np.testing.assert_array_equal(net.forward(X), signed.forward(X))
    C, grads = net.loss_and_grads(X, Y)
    Cs, gs = signed.loss_and_grads(X, Y)
    np.testing.assert_array_equal(C, Cs)
    for i, (g, e) in enumerate(zip(grads, gs, strict=True)):
        expected = e * (np.abs(net.params[i]) <= 1) if i in (0, 2) else e
        np.testing.assert_array_equal(g, expected)
    assert (np.abs(net.params[0]) > 1).any() and (grads[0][np.abs(net.params[0]) > 1] == 0).all()


# -- layer statistics ------------------------------------------------------------------


def test_layer_stats_saturation_and_dead_units():
    X = np.random.default_rng(0).normal(size=(20, 3))
    big = MLP([3, 8, 1], activation="sigmoid", init="normal", init_kwargs={"std": 30.0},
              dtype="float64")
    big.forward(X)
    z = X @ big.params[0][0] + big.params[1][0]
    a = 1 / (1 + np.exp(-z))
    expected = np.mean(a * (1 - a) < 0.05 * 0.25)
    assert expected > 0.8
    np.testing.assert_allclose(big.layer_stats()[0]["saturated_frac"], [expected])
    flat = MLP([3, 8, 1], activation="tanh", init="zeros")
    flat.forward(X)
    np.testing.assert_array_equal(flat.layer_stats()[0]["saturated_frac"], [0.0])

    net = MLP([3, 4, 4, 1], activation="relu", runs=2, dtype="float64")
    net.params[1][0, 0, :2] = -1e3  # units 0 and 1 of run 0, layer 1: negative everywhere
    net.params[1][1, 0, :] = 1e3  # run 1, layer 1: all alive
    net.forward(X)
    stats = net.layer_stats()
    assert stats[0]["dead_frac"][0] >= 0.5 and stats[0]["dead_frac"][1] == 0.0
    z2 = np.maximum(X @ net.params[0] + net.params[1], 0) @ net.params[2] + net.params[3]
    np.testing.assert_allclose(stats[1]["dead_frac"], (z2 <= 0).all(axis=1).mean(axis=1))


# -- errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sizes": [3]}, "sizes"),
        ({"sizes": [3, 0, 1]}, "sizes"),
        ({"sizes": [3, 2.5, 1]}, "sizes"),
        ({"sizes": "abc"}, "sizes"),
        ({"sizes": [2, 1], "runs": 0}, "runs"),
        ({"sizes": [2, 1], "runs": 2, "seed": [1, 2, 3]}, "seed.*runs=2"),
        ({"sizes": [2, 1], "seed": -1}, "seed"),
        ({"sizes": [2, 1], "dtype": "float16"}, "dtype"),
        ({"sizes": [2, 3, 1], "activation": "step"}, "perceptron"),
        ({"sizes": [2, 3, 1], "activation": "relu", "negative_slope": 0.1}, "negative_slope"),
    ],
)
def test_bad_construction(kwargs, match):
    with pytest.raises(NNBenchError, match=match):
        MLP(**kwargs)


@pytest.mark.parametrize(("kwargs", "family"), [({"activation": "sigmod"}, "activation"),
                                                 ({"init": "xavier"}, "init")])
def test_unknown_names(kwargs, family):
    with pytest.raises(UnknownNameError, match=f"unknown {family}"):
        MLP([2, 3, 1], **kwargs)


def test_bad_inputs_and_targets():
    net = MLP([3, 4, 2], runs=2)
    X = np.zeros((5, 3))
    with pytest.raises(NNBenchError, match=r"X must have shape \(n, 3\)"):
        net.forward(np.zeros((5, 4)))
    with pytest.raises(NNBenchError, match="runs=2"):
        net.forward(np.zeros((3, 5, 3)))
    with pytest.raises(NNBenchError, match=r"Y .*\(5, 2\)"):
        net.loss_and_grads(X, np.zeros((5, 3)))
    with pytest.raises(NNBenchError, match="integer labels"):
        net.loss_and_grads(X, np.zeros((5, 2)), loss="softmax_cross_entropy")
    with pytest.raises(NNBenchError, match=r"\[0, 1\]"):
        net.loss_and_grads(X, np.full(5, 2), loss="softmax_cross_entropy")
    with pytest.raises(UnknownNameError, match="unknown loss 'mes'; did you mean 'mse'"):
        net.loss_and_grads(X, np.zeros((5, 2)), loss="mes")
    net.params[0] = np.zeros((2, 3, 5), np.float32)
    with pytest.raises(NNBenchError, match=r"params\[0\] must be a float32 array of shape"):
        net.forward(X)
    net.params[0] = np.zeros((2, 3, 4))
    with pytest.raises(NNBenchError, match="float32"):
        net.forward(X)
    net.params.pop()
    with pytest.raises(NNBenchError, match="params must hold 4 arrays"):
        net.forward(X)
    rrelu = MLP([3, 4, 2], activation="rrelu", runs=2)
    with pytest.raises(NNBenchError, match=r"noise must be 1 arrays of shapes \[\(2, 5, 4\)\]"):
        rrelu.loss_and_grads(X, np.zeros((5, 2)), noise=[np.full((1, 5, 4), 0.2)])
