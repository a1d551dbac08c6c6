"""The compiled kernels (``nnbench.core.kernels``) against the NumPy path: lazy import,
``missing``'s reasons, the vectorized exp in ulps, loss and gradients of every covered
activation, loss, dtype and shape, and determinism (threads, other runs of the call)."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest

from nnbench.core import kernels
from nnbench.core.errors import NNBenchError
from nnbench.core.kernels import make_pass, missing
from nnbench.core.mlp import MLP

ACTS = ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "silu", "selu", "gelu"]
# loss -> (labels?, outputs)
LOSS_CASES = {"mse": (False, 3), "half_sse": (False, 2), "bce_with_logits": (True, 1),
              "sigmoid_mse": (True, 1), "softmax_cross_entropy": (True, 4), "hinge": (True, 3)}
ACT_KW = {"leaky_relu": {"negative_slope": 0.1}, "elu": {"alpha": 0.7}}


def _numba():
    return pytest.importorskip("numba")


@pytest.fixture(params=["fused", "wide"])
def pass_kind(request, monkeypatch):
    """The case on the fused kernels and on :class:`kernels.WidePass` (BLAS's products, the
    elementwise work compiled), whichever this CPU would take (a residual network stays
    on the fused kernels)."""
    monkeypatch.setattr(kernels, "wide", lambda net: request.param == "wide")
    return request.param


def _net(sizes, act="sigmoid", runs=2, dtype="float64", seed=0, spread=0.5, **kw):
    """A randomized net (its parameters moved off the init) of the given configuration."""
    net = MLP(sizes, activation=act, seed=seed, runs=runs, dtype=dtype,
              **{**ACT_KW.get(act, {}), **kw})
    rng = np.random.default_rng(seed + 100)
    net.params = [(p + rng.normal(0, spread, size=p.shape)).astype(net.dtype)
                  for p in net.params]
    return net


def _data(net, n, labels, per_run, seed=1):
    """Inputs and targets for ``net``: shared ``(n, K)`` or per run ``(R, n, K)``."""
    rng = np.random.default_rng(seed)
    K, O, R = net.sizes[0], net.sizes[-1], net.runs
    lead = (R, n) if per_run else (n,)
    X = rng.uniform(-2, 2, size=lead + (K,))
    if labels:
        Y = rng.integers(0, max(O, 2), size=lead)
    else:
        Y = rng.normal(size=lead + (O,))
    return X, Y


def _assert_close64(got, ref):
    """float64: elementwise rtol 1e-10, entries below 1e-12 of the largest ignored (they
    only need to be that small in error too)."""
    got, ref = np.asarray(got, np.float64), np.asarray(ref, np.float64)
    assert got.shape == ref.shape
    top = float(np.max(np.abs(ref))) if ref.size else 0.0
    big = np.abs(ref) >= 1e-12 * top
    np.testing.assert_allclose(got[big], ref[big], rtol=1e-10, atol=0)
    assert np.all(np.abs(got - ref)[~big] <= 1e-12 * top)


def _rel(a, ref):
    """The largest error of ``a`` relative to the largest entry of ``ref``."""
    a, ref = np.asarray(a, np.float64), np.asarray(ref, np.float64)
    return float(np.max(np.abs(a - ref)) / max(float(np.max(np.abs(ref))), 1e-300))


def _check_pass(net, loss, X, Y):
    """The kernel's loss and gradients against ``net.loss_and_grads``: rtol 1e-10 in float64;
    in float32 an error against the float64 reference at most 4x NumPy's float32 error
    (each array, relative to its largest entry; at least 8 ulp allowed, the rounding of a
    float32 sum of a few hundred samples: NumPy's error is sometimes below 2 ulp by luck,
    and the kernel's 7.5 on a saturated sigmoid's gradient on an AMD EPYC)."""
    C, grads = make_pass(net, loss).loss_and_grads(net.params, X, Y)
    C0, grads0 = net.loss_and_grads(X, Y, loss)
    assert C.dtype == net.dtype and C.shape == (net.runs,)
    assert [g.shape for g in grads] == [g.shape for g in grads0]
    assert all(g.dtype == net.dtype for g in grads)
    if net.dtype == np.float64:
        _assert_close64(C, C0)
        for g, g0 in zip(grads, grads0, strict=True):
            _assert_close64(g, g0)
        return
    ref = MLP(net.sizes, activation=net.activation, runs=net.runs, dtype="float64",
              l2=net.l2)
    ref.params = [p.astype(np.float64) for p in net.params]
    Cr, grads_r = ref.loss_and_grads(X, Y, loss)
    ulp = float(np.finfo(np.float32).eps)
    for got, mine, want in [(C, C0, Cr)] + list(zip(grads, grads0, grads_r, strict=True)):
        assert _rel(got, want) <= max(4 * _rel(mine, want), 8 * ulp), (got, mine, want)


# -- without numba ---------------------------------------------------------------------------
def test_import_and_help_do_not_import_numba():
    code = ("import sys\nimport nnbench.core.kernels\nfrom nnbench.cli import main\n"
            "sys.argv = ['nnbench', '--help']\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_missing_says_numba_is_not_installed(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)  # import numba now fails
    net = MLP([1, 8, 1])
    assert missing(net, "mse") == "numba is not installed"
    with pytest.raises(NNBenchError, match="numba is not installed"):
        make_pass(net, "mse")


@pytest.mark.parametrize(("make", "loss", "reason"), [
    (lambda: MLP([1, 1]), "mse", "no numba kernel for a network without hidden layers"),
    (lambda: MLP([1, 8, 8, 1], activation="prelu"), "mse",
     "no numba kernel for activation prelu"),
    (lambda: MLP([1, 8, 1], activation="maxout"), "mse", "no numba kernel for activation maxout"),
    (lambda: MLP([1, 8, 1], activation="prelu"), "mse", "no numba kernel for activation prelu"),
    (lambda: MLP([1, 8, 1], activation="rrelu"), "mse", "no numba kernel for activation rrelu"),
    (lambda: MLP([1, 8, 1]), "perceptron", "no numba kernel for loss perceptron"),
    (lambda: MLP([1, 8, 1], binary=True), "mse", "no numba kernel for binary weights"),
])
def test_missing_names_what_is_not_covered(make, loss, reason):
    assert missing(make(), loss) == reason
    with pytest.raises(NNBenchError, match="no numba kernel"):
        make_pass(make(), loss)


def test_dropout_is_covered_in_training_and_outside():
    _numba()
    for sizes in ([1, 8, 1], [1, 8, 8, 1]):
        assert missing(MLP(sizes, dropout=0.5), "mse", train=True) is None
        assert missing(MLP(sizes, dropout=0.5), "mse", train=False) is None


# -- the exp -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("dtype", "lo", "hi"), [(np.float32, -87.3, 88.3),
                                                 (np.float64, -708.0, 709.0)])
def test_exp_within_two_ulp_over_its_range(dtype, lo, hi):
    _numba()
    from nnbench.core.kernels._exp import exp_array, expm1_array

    x = np.concatenate([np.linspace(lo, hi, 400_001), np.linspace(-1, 1, 20_001),
                        [lo, hi, 0.0, -0.0, np.nextafter(lo, 0), np.nextafter(hi, 0)]])
    x = x.astype(dtype)
    out = np.empty_like(x)
    exp_array(x, out)
    ref = np.exp(x.astype(np.float64)) if dtype == np.float32 else np.exp(x)
    ulp = np.spacing(np.abs(ref.astype(dtype))).astype(np.float64)
    assert np.max(np.abs(out - ref) / ulp) <= 2.0
    expm1_array(x, out)
    ref = np.expm1(x.astype(np.float64)) if dtype == np.float32 else np.expm1(x)
    ulp = np.maximum(np.spacing(np.abs(ref.astype(dtype))).astype(np.float64),
                     float(np.finfo(dtype).smallest_subnormal))
    assert np.max(np.abs(out - ref) / ulp) <= 5.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_exp_clamps_and_keeps_nan(dtype):
    _numba()
    from nnbench.core.kernels._exp import exp_array

    x = np.array([-1e4, 1e4, np.nan, -np.inf, np.inf], dtype=dtype)
    out = np.empty_like(x)
    exp_array(x, out)
    assert np.isnan(out[2])
    assert np.all(np.isfinite(out[[0, 1, 3, 4]]))
    assert out[0] < 1e-37 and out[1] > 1e38


# -- parity with the NumPy path -----------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize(("sizes", "n"), [([1, 100, 1], 1000), ([1, 32, 1], 300),
                                          ([3, 17, 2], 77), ([2, 16, 13, 3], 300),
                                          ([1] + [8] * 8 + [1], 200)])
def test_activations_match_numpy(act, dtype, sizes, n, pass_kind):
    _numba()
    net = _net(sizes, act, runs=2, dtype=dtype)
    X, Y = _data(net, n, labels=False, per_run=False)
    _check_pass(net, "mse", X, Y)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("loss", list(LOSS_CASES))
@pytest.mark.parametrize("act", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("per_run", [False, True])
@pytest.mark.parametrize("hidden", [[24], [12, 9]])
def test_losses_match_numpy(loss, act, dtype, per_run, hidden, pass_kind):
    _numba()
    labels, O = LOSS_CASES[loss]
    net = _net([2, *hidden, O], act, runs=3, dtype=dtype, seed=3)
    X, Y = _data(net, 530, labels, per_run)
    _check_pass(net, loss, X, Y)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("n", [1, 63, 64, 65, 511, 513, 1024, 1025, 2000])
@pytest.mark.parametrize("hidden", [[10], [10, 7, 5]])
def test_sample_counts_and_l2(n, dtype, hidden, pass_kind):
    """Chunks and parts cut anywhere (the deep kernel's part size changes at 1024); the L2
    term as MLP._regularized adds it, on every layer's weights."""
    _numba()
    net = _net([2, *hidden, 3], "tanh", runs=2, dtype=dtype, l2=0.05)
    X, Y = _data(net, n, labels=False, per_run=True)
    _check_pass(net, "half_sse", X, Y)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("act", ["sigmoid", "relu", "gelu"])
@pytest.mark.parametrize("hidden", [[10, 10, 10], [6, 9, 9, 9, 4], [9] * 8])
def test_residual_layers_match_numpy(hidden, act, dtype):
    """Skips between hidden layers of equal width (``h = h + f(W h + b)``), others plain:
    the kernel's skip in the forward pass and its share of ``dC/dh`` in the backward one."""
    _numba()
    net = _net([2, *hidden, 3], act, runs=2, dtype=dtype, residual=True, spread=0.3)
    X, Y = _data(net, 300, labels=True, per_run=False)
    _check_pass(net, "softmax_cross_entropy", X, Y)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("hidden", "residual"), [([30], False), ([12, 12, 7], False),
                                                  ([10, 10, 10], True)])
@pytest.mark.parametrize("act", ["tanh", "relu"])
def test_dropout_matches_numpy_with_the_same_draws(hidden, residual, act, dtype, pass_kind):
    """Two networks of the same seed: one trains a NumPy pass (drawing its masks), the
    other draws the masks with ``dropout_masks`` and gives them to the kernel; the same
    loss and gradients, and the generators left in the same state."""
    _numba()
    kw = dict(dropout=0.3, residual=residual, spread=0.4)
    ref, mine = (_net([2, *hidden, 3], act, runs=2, dtype=dtype, **kw) for _ in range(2))
    X, Y = _data(ref, 700, labels=False, per_run=True)
    kpass = make_pass(mine, "mse")
    C0, grads0 = ref.loss_and_grads(X, Y, "mse")
    masks = mine.dropout_masks(700)
    assert masks.shape == (2, 700, sum(hidden))
    assert 0.6 < np.mean(masks != 0) < 0.8  # keep 1 - p = 0.7 of the units
    C, grads = kpass.loss_and_grads(mine.params, X, Y, masks=masks)
    assert [r.random() for r in ref.rngs] == [r.random() for r in mine.rngs]
    if dtype == "float64":
        _assert_close64(C, C0)
        for g, g0 in zip(grads, grads0, strict=True):
            _assert_close64(g, g0)
    else:
        for g, g0 in zip([C, *grads], [C0, *grads0], strict=True):
            assert _rel(g, g0) <= 1e-4
    plain, _ = kpass.loss_and_grads(mine.params, X, Y)
    assert not np.allclose(plain, C)  # the masks matter
    with pytest.raises(NNBenchError, match="masks must be a C-contiguous"):
        kpass.loss_and_grads(mine.params, X, Y, masks=masks[:, :10])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("loss", ["mse", "bce_with_logits"])
def test_the_narrow_path_is_the_general_pass_bit_for_bit(act, loss, dtype):
    """A network with one input and one output trains through ``_onehidden._part_narrow``
    without dropout; given dropout masks of ones (products with 1, exact) it takes the
    general ``_part``: the same loss, gradients and layer statistic bit for bit, on a part
    that ends in a partial chunk."""
    _numba()
    net = _net([1, 37, 1], act, runs=2, dtype=dtype)
    X, Y = _data(net, 700, labels=LOSS_CASES[loss][0], per_run=False)
    kpass = make_pass(net, loss)
    ones = np.ones((2, 700, 37), dtype=net.dtype)
    for stats in (False, True):
        narrow = kpass.loss_and_grads(net.params, X, Y, stats=stats)
        general = kpass.loss_and_grads(net.params, X, Y, stats=stats, masks=ones)
        for a, b in zip(narrow[:2], general[:2], strict=True):
            for x, y in zip(a if isinstance(a, list) else [a], b if isinstance(b, list) else [b],
                            strict=True):
                assert np.array_equal(x, y), act
        if stats:
            assert narrow[2].stats[0].keys() == general[2].stats[0].keys()
            for k, v in narrow[2].stats[0].items():
                assert np.array_equal(v, general[2].stats[0][k])


def test_residual_skips_change_the_deep_kernels_numbers():
    """The parity above is not vacuous: the same weights with and without skips differ."""
    _numba()
    net = _net([2, 10, 10, 1], "tanh", runs=1, residual=True)
    plain = _net([2, 10, 10, 1], "tanh", runs=1)
    X, Y = _data(net, 100, labels=False, per_run=False)
    Ca, _ = make_pass(net, "mse").loss_and_grads(net.params, X, Y)
    Cb, _ = make_pass(plain, "mse").loss_and_grads(net.params, X, Y)
    assert not np.allclose(Ca, Cb)


def test_out_receives_the_flat_gradients(pass_kind):
    _numba()
    from nnbench.engine import flatten_params

    net = _net([2, 12, 3], "elu", runs=3, dtype="float32")
    X, Y = _data(net, 200, labels=True, per_run=False)
    kpass = make_pass(net, "softmax_cross_entropy")
    C, grads = kpass.loss_and_grads(net.params, X, Y)
    flat_params = flatten_params(net)
    out = np.full_like(flat_params, np.nan)
    C2, views = kpass.loss_and_grads(net.params, X, Y, out=out)
    assert np.array_equal(C, C2)
    assert np.array_equal(out, np.concatenate([g.reshape(3, -1) for g in grads], axis=1))
    assert all(np.shares_memory(v, out) for v in views)
    with pytest.raises(NNBenchError, match="out must be a float32 array"):
        kpass.loss_and_grads(net.params, X, Y, out=out[:, 1:])


def test_bad_inputs_are_refused_with_the_mlp_wording(pass_kind):
    _numba()
    net = _net([2, 5, 1], runs=2)
    kpass = make_pass(net, "mse")
    X, Y = _data(net, 10, labels=False, per_run=False)
    with pytest.raises(NNBenchError, match=r"X must have shape \(n, 2\)"):
        kpass.loss_and_grads(net.params, X[:, :1], Y)
    with pytest.raises(NNBenchError, match="Y for loss 'mse' must have shape"):
        kpass.loss_and_grads(net.params, X, Y[:5])
    with pytest.raises(NNBenchError, match=r"params\[0\] must be a float64 array"):
        kpass.loss_and_grads([p.astype(np.float32) for p in net.params], X, Y)


# -- stability ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("act", ACTS)
def test_finite_and_silent_at_huge_z(act, dtype, pass_kind):
    _numba()
    net = _net([1, 6, 1], act, runs=1, dtype=dtype, spread=0.0)
    net.params[0][...] = 1e4 * np.sign(np.arange(6) - 2.5)  # |z| = 1e4 at |x| = 1
    X = np.array([[-1.0], [1.0], [0.5]])
    Y = np.zeros((3, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        C, grads = make_pass(net, "mse").loss_and_grads(net.params, X, Y)
    assert np.all(np.isfinite(C)) and all(np.all(np.isfinite(g)) for g in grads)
    C0, _ = net.loss_and_grads(X, Y, "mse")
    np.testing.assert_allclose(C, C0, rtol=1e-5)


def test_nan_weights_give_a_nan_loss(pass_kind):
    _numba()
    net = _net([1, 8, 1], "relu", runs=2)
    net.params[0][1] = np.nan  # run 1 only
    X, Y = _data(net, 100, labels=False, per_run=False)
    C, _ = make_pass(net, "mse").loss_and_grads(net.params, X, Y)
    assert np.isfinite(C[0]) and np.isnan(C[1])


# -- determinism -------------------------------------------------------------------------------
def _run_pass(net, loss, X, Y):
    C, grads = make_pass(net, loss).loss_and_grads(net.params, X, Y)
    return [C.copy()] + [g.copy() for g in grads]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("hidden", [[40], [20, 20, 20]])
def test_bit_identical_whatever_the_thread_count(dtype, hidden):
    numba = _numba()
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba has one thread here")
    net = _net([1, *hidden, 1], "sigmoid", runs=3, dtype=dtype)
    X, Y = _data(net, 5000, labels=False, per_run=False)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = _run_pass(net, "mse", X, Y)
        numba.set_num_threads(2)
        two = _run_pass(net, "mse", X, Y)
    finally:
        numba.set_num_threads(before)
    assert all(np.array_equal(a, b) for a, b in zip(one, two, strict=True))


def test_the_kind_of_pass_follows_the_network_and_the_cpu(monkeypatch):
    """A layer of WIDE_LAYER weights on a CPU with AVX-512 makes a network wide (BLAS and
    the compiled elementwise work), unless it is residual; else the fused kernels."""
    _numba()
    wide, narrow = _net([1, 128, 128, 1], "relu"), _net([1, 100, 100, 1], "relu")
    res = _net([1, 128, 128, 1], "relu", residual=True)
    assert 128 * 128 >= kernels.WIDE_LAYER > 100 * 100
    for avx512 in (True, False):
        monkeypatch.setattr(kernels, "_avx512", lambda a=avx512: a)
        assert kernels.kind(wide) == ("wide" if avx512 else "deep")
        assert type(make_pass(wide, "mse")) is (kernels.WidePass if avx512
                                                 else kernels.KernelPass)
        assert kernels.kind(narrow) == kernels.kind(res) == "deep"
        assert (kernels.numpy_faster(res) is not None) == avx512
        assert kernels.numpy_faster(wide) is None
    with pytest.raises(NNBenchError, match="no wide pass for a residual network"):
        kernels.WidePass(res, "mse")


@pytest.mark.parametrize("per_run", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("hidden", [[30], [12, 12, 8]])
def test_a_run_is_the_same_alone_or_in_a_group(per_run, dtype, hidden, pass_kind):
    _numba()
    R = 4
    group = _net([2, *hidden, 2], "tanh", runs=R, dtype=dtype, l2=0.01)
    X, Y = _data(group, 1500, labels=True, per_run=per_run)
    together = _run_pass(group, "softmax_cross_entropy", X, Y)
    for r in range(R):
        alone = MLP(group.sizes, activation="tanh", runs=1, dtype=dtype, l2=0.01)
        alone.params = [p[r:r + 1].copy() for p in group.params]
        Xr, Yr = (X[r], Y[r]) if per_run else (X, Y)
        mine = _run_pass(alone, "softmax_cross_entropy", Xr, Yr)
        assert all(np.array_equal(a[r:r + 1], b) for a, b in zip(together, mine, strict=True))


def test_kernel_constants_are_fixed():
    """The part size fixes the summation order: changing it changes the numbers."""
    _numba()
    from nnbench.core.kernels import _deep, _onehidden

    assert (_onehidden.LANES, _onehidden.PART, _deep.LANES) == (128, 512, 64)
    assert [_deep.part_size(n) for n in (1, 100, 1024, 1025, 10**6)] == [64, 64, 64, 256, 256]
    assert kernels.ACTIVATIONS["selu"] == kernels.ACTIVATIONS["elu"]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_saturated_sigmoid_is_exactly_zero_as_in_numpy(dtype):
    """Pre-activations far below the float's exp range (plain SGD's saturated units reach
    -9800): the kernel's sigmoid is exactly 0 there, as NumPy's 1 / (1 + inf), not the
    subnormal number a clamped exp gives; loss and gradients match the NumPy path."""
    _numba()
    from nnbench.core.kernels._onehidden import _sigmoid

    T = np.dtype(dtype).type
    for z in (-9800.0, -800.0, -100.0):
        with np.errstate(over="ignore"):
            want = T(1.0) / (T(1.0) + np.exp(T(-z)))
        assert _sigmoid(T(z), T) == want
    assert _sigmoid(T(-80.0), T) > 0
    net = _net([1, 16, 1], "sigmoid", runs=2, dtype=dtype)
    W1 = net.params[0]
    net.params[0] = (W1 * 2000).astype(net.dtype)  # most hidden units saturate
    X, Y = _data(net, 200, labels=False, per_run=False)
    _check_pass(net, "mse", X, Y)


# -- the compiled optimizer update ---------------------------------------------------------
UPDATE_CASES = [
    ("sgd", {}), ("momentum", {}), ("nesterov", {}),
    ("sgd", dict(momentum=np.array([0.0, 0.5, 0.9]), dampening=0.1, weight_decay=0.01)),
    ("adam", {}), ("amsgrad", {}), ("adamw", {}),
    ("adam", dict(weight_decay=0.1, maximize=True, betas=(0.8, 0.99), eps=1e-6)),
    ("rmsprop", {}),
    ("rmsprop", dict(momentum=0.9, weight_decay=0.01, alpha=np.array([0.9, 0.99, 0.5]))),
    ("adagrad", dict(lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.1)),
]


def _state_arrays(state):
    return [v[0] for v in vars(state).values() if isinstance(v, list) and v]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("name", "hp"), UPDATE_CASES)
def test_compiled_update_is_the_numpy_rule_bit_for_bit(name, hp, dtype):
    """Twelve steps at learning rates that change every step: the compiled update gives
    the parameters and moments of nnbench's NumPy rule (itself tested against
    torch.optim) bit for bit, zero gradients and per-run hyperparameters included."""
    _numba()
    from nnbench.core.kernels.updates import update_plan
    from nnbench.core.optimizers import optimizer

    rng = np.random.default_rng(5)
    R, N = 3, 257
    lr = np.array([0.01, 0.1, 0.003])
    ref_opt, opt = optimizer(name, lr=lr, **hp), optimizer(name, lr=lr, **hp)
    p_ref = rng.normal(size=(R, N)).astype(dtype)
    p = p_ref.copy()
    s_ref, s = ref_opt.init([p_ref]), opt.init([p])
    plan = update_plan(opt, s, p)
    assert plan is not None
    for t in range(12):
        g = rng.normal(size=(R, N)).astype(dtype)
        g[:, :3] = 0.0  # zero gradients (AdaGrad's and Adam's first steps divide by eps)
        ref_opt.update([p_ref], [g], s_ref, lr=lr * (1 + t))
        plan.apply(p, g, lr * (1 + t))
        assert s.step == s_ref.step
        mine, ref = [p] + _state_arrays(s), [p_ref] + _state_arrays(s_ref)
        assert len(mine) == len(ref) >= 1
        for a, b in zip(mine, ref, strict=True):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(("name", "hp", "reason"), [
    ("nadam", {}, "no compiled update for optimizer nadam"),
    ("lookahead", {}, "no compiled update for optimizer lookahead"),
    ("adam", dict(form="book"), "no compiled update for adam in form book"),
    ("rmsprop", dict(centered=True), "no compiled update for centered rmsprop"),
])
def test_update_missing_names_the_rule(name, hp, reason):
    from nnbench.core.kernels.updates import update_missing, update_plan
    from nnbench.core.optimizers import optimizer

    opt = optimizer(name, **hp)
    flat = np.zeros((2, 5), np.float32)
    state = opt.init([flat])
    assert update_missing(opt, state, flat) == reason
    assert update_plan(opt, state, flat) is None
    assert update_missing(optimizer("adam"), optimizer("adam").init([flat]), None) == \
        "the parameters are not one flat array"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("hidden", [[40], [40, 24, 40]])
def test_layer_statistics_of_a_recorded_pass_are_numpys(act, dtype, hidden, pass_kind):
    """A logged step's layer statistic comes from the kernel's pass (no NumPy forward):
    dead_frac as NumPy counts it (units with z <= 0 on every sample; some units made
    dead here), saturated_frac within rounding of the threshold (at most 0.1% of the
    entries counted otherwise)."""
    _numba()
    net = _net([2, *hidden, 2], act, runs=3, dtype=dtype, spread=1.5, seed=7)
    net.params[1][:, :, :8] = -30.0  # these units are below 0 on every sample
    X, Y = _data(net, 700, labels=False, per_run=False)
    net.record = True
    net.loss_and_grads(X, Y, "mse")
    want = net.layer_stats()
    net.kernel = make_pass(net, "mse")
    C, _ = net.loss_and_grads(X, Y, "mse")
    got = net.layer_stats()
    assert isinstance(net.last_pass, kernels.LayerStats)
    assert len(got) == len(want) == len(hidden)
    for layer, (mine, ref) in enumerate(zip(got, want, strict=True)):
        assert list(mine) == list(ref) == [net.activation.stat]
        (name, value), = mine.items()
        assert value.dtype == np.float64 and value.shape == (3,)
        if name == "dead_frac":
            np.testing.assert_array_equal(value, ref[name])
            if layer == 0:
                assert np.all(value >= 8 / 40)
        else:
            np.testing.assert_allclose(value, ref[name], atol=1e-3)
            assert np.all(value > 0)
    net.record = False
    net.loss_and_grads(X, Y, "mse")
    assert net.last_pass is None
