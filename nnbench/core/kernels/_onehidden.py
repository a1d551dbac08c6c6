"""The fused loss-and-gradients pass of a one-hidden-layer MLP, compiled with numba.

``K -> H -> O``: ``z = X W1 + b1``, ``a = f(z)``, ``out = a W2 + b2``, a loss of ``out``.
Each run's samples are cut into parts of ``PART`` samples (a fixed number, whatever the
thread count or the number of runs), and the ``(run, part)`` tasks are spread over numba's
threads. A task goes through its part in chunks of ``LANES`` samples, the samples being the
SIMD lanes of every inner loop: unit by unit it forms ``z``, ``a`` and ``f'(z)`` of the chunk
in small buffers that stay in the L1 cache, accumulates the output per lane, takes the loss
and ``dC/dout`` per lane, then reduces ``dC/dW2``, ``dC/db2``, ``dC/dW1`` and ``dC/db1`` over
the chunk's lanes into float64 sums of its own. The parts' sums are then added in part order
(``_update.finish_run``), so a run's numbers depend on nothing but the run, and in the same
call the optimizer's update may follow (:func:`step`).

The parameters come in the flat layout of ``engine.flatten_params``, one ``(R, N)`` array:
``W1`` (``K H``, row-major), ``b1`` (``H``), ``W2`` (``H O``), ``b2`` (``O``); the sums in the
same layout, then the loss.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from nnbench.core.kernels._exp import clamp, fexp, fexpm1
from nnbench.core.kernels._update import finish_run, of_run

#: samples per chunk: the SIMD lanes of the inner loops (128, not 64: each unit's sums over
#: the lanes end in a horizontal reduction per chunk, half as many; W1's pass a twelfth
#: faster on an AMD EPYC, though the chunk's buffers leave the L1 cache)
LANES = 128
#: samples per part, the unit of work of a thread and of the fixed-order sum
PART = 512

#: the main kernel's flags: reassociation lets the lane reductions vectorize; no ``nnan`` or
#: ``ninf``, so a NaN or an infinity goes through as in NumPy (the engine watches for it)
FLAGS = {"reassoc", "contract", "nsz"}

SIGMOID, TANH, RELU, LEAKY_RELU, ELU, SOFTPLUS, SILU, GELU = range(8)
MSE, HALF_SSE, BCE, SIGMOID_MSE, SOFTMAX_CE, HINGE = range(6)

_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SOFTPLUS_THRESHOLD = 20.0


_JIT = {"fastmath": FLAGS, "error_model": "numpy", "cache": True}


# -- activations: value and derivative of one element, in the precision T -------------------
@njit(**_JIT)
def _sigmoid(z, T):
    """``1 / (1 + e^-z)``, ``-z`` raised to -50 as in NumPy's path; exactly 0 where
    ``e^-z`` overflows the float (NumPy's ``1 / (1 + inf)``), not the subnormal number
    the clamped ``exp`` would give: a saturated unit must not fill the loops with
    subnormal products, each one a slow microcode assist."""
    e = -z
    e = T(-50.0) if e < T(-50.0) else e
    f32 = math.isinf(T(3.0e38) * T(10.0))  # folded when compiled: the precision T
    if e > (T(88.72283905206835) if f32 else T(709.782712893384)):
        return T(0.0)
    return T(1.0) / (T(1.0) + fexp(e))


@njit(**_JIT)
def _activate(code, Z, A, H, m, T, slope, alpha, scale):
    """``A = f(Z)`` and ``Z <- f'(Z)`` on the first ``m`` lanes of the chunk's ``H`` units,
    the same formulas as ``nnbench.core.activations``. ``slope``: leaky ReLU's negative
    side; ``alpha``, ``scale``: ELU's and SELU's constants."""
    one, zero = T(1.0), T(0.0)
    if code == SIGMOID:
        for j in range(H):
            for i in range(m):
                a = _sigmoid(Z[j, i], T)
                A[j, i] = a
                Z[j, i] = (one - a) * a
    elif code == TANH:
        for j in range(H):
            for i in range(m):
                t = fexpm1(T(2.0) * clamp(Z[j, i], T(-20.0), T(20.0)))
                a = t / (t + T(2.0))
                A[j, i] = a
                Z[j, i] = one - a * a
    elif code == RELU:
        for j in range(H):
            for i in range(m):
                z = Z[j, i]
                A[j, i] = zero if z < zero else z
                Z[j, i] = one if z > zero else zero
    elif code == LEAKY_RELU:
        for j in range(H):
            for i in range(m):
                z = Z[j, i]
                A[j, i] = z if z > zero else z * slope
                Z[j, i] = one if z > zero else slope
    elif code == ELU:
        sa = scale * alpha
        for j in range(H):
            for i in range(m):
                z = Z[j, i]
                a = (z if z > zero else alpha * fexpm1(z)) * scale
                A[j, i] = a
                Z[j, i] = scale if z > zero else a + sa
    elif code == SOFTPLUS:
        top = T(_SOFTPLUS_THRESHOLD)
        for j in range(H):
            for i in range(m):
                z = Z[j, i]
                if z > top:
                    A[j, i] = z
                    Z[j, i] = one
                else:
                    A[j, i] = T(math.log1p(fexp(z)))
                    Z[j, i] = _sigmoid(z, T)
    elif code == SILU:
        for j in range(H):
            for i in range(m):
                z = Z[j, i]
                s = _sigmoid(z, T)
                A[j, i] = z * s
                Z[j, i] = s * (one + z * (one - s))
    else:  # GELU, exact: erf in float64 as NumPy's path
        for j in range(H):
            for i in range(m):
                z = Z[j, i]
                u = z * T(_INV_SQRT2)
                a = T(0.5) * z * (one + T(math.erf(np.float64(u))))
                z2 = z * z
                if abs(z) < T(1.0 / 64.0):
                    cdf = T(0.5) + T(_INV_SQRT_2PI) * z * (one - z2 * (T(1.0 / 6.0) - z2 / T(40.0)))
                else:
                    cdf = a / z
                A[j, i] = a
                Z[j, i] = cdf + z * (T(_INV_SQRT_2PI) * fexp(T(-0.5) * z2))


@njit(**_JIT)
def activate_counting(code, Z, A, H, m, T, slope, alpha, scale, stat, thr, acc, at):
    """:func:`_activate` with the layer's statistic counted into ``acc[at:at + H + 1]``:
    ``stat`` 2 (``dead_frac``) per unit the lanes with ``z > 0`` (not ``z <= 0``, as NumPy's
    test), ``stat`` 1 (``saturated_frac``) at ``acc[at + H]`` the entries with
    ``f'(z) < thr``; 0 counts nothing."""
    one, zero = T(1.0), T(0.0)  # counted in the dtype, a unit's lanes at a time: exact
    if stat == 2:
        for j in range(H):
            c_ = zero
            for i in range(m):
                c_ += zero if Z[j, i] <= zero else one
            acc[at + j] += c_
    _activate(code, Z, A, H, m, T, slope, alpha, scale)
    if stat == 1:
        for j in range(H):
            c_ = zero
            for i in range(m):
                c_ += one if Z[j, i] < thr else zero
            acc[at + H] += c_


# -- losses: the chunk's loss sum, and dC/dout in place of the output ----------------------
@njit(**_JIT)
def _loss(code, Ob, Yb, Lb, O, m, T, fac):
    """The sum of the per-sample losses of the chunk's ``m`` lanes (before the loss's
    ``1/n``-like factor, applied once to the total) and ``Ob <- dC/dout``. ``fac`` is the
    gradient's factor: ``2/(n O)`` (mse), ``1/n`` (half_sse, bce, sigmoid_mse, softmax),
    ``1/(n O)`` (hinge); ``Yb`` the float targets, ``Lb`` the integer labels."""
    one, zero = T(1.0), T(0.0)
    total = 0.0
    if code == MSE or code == HALF_SSE:
        for o in range(O):
            s = zero
            for i in range(m):
                d = Ob[o, i] - Yb[o, i]
                s += d * d
                Ob[o, i] = d * fac
            total += s
    elif code == BCE:
        s = zero
        for i in range(m):
            x, y = Ob[0, i], T(Lb[i])
            s += (x if x > zero else zero) - x * y + T(math.log1p(fexp(-abs(x))))
            Ob[0, i] = (_sigmoid(x, T) - y) * fac
        total += s
    elif code == SIGMOID_MSE:
        s = zero
        for i in range(m):
            h = _sigmoid(Ob[0, i], T)
            r = h - T(Lb[i])
            s += r * r
            Ob[0, i] = r * h * (one - h) * fac
        total += s
    elif code == SOFTMAX_CE:
        for i in range(m):
            y = Lb[i]
            c = Ob[0, i]
            for o in range(1, O):
                c = Ob[o, i] if Ob[o, i] > c else c
            s = zero
            for o in range(O):
                e = fexp(Ob[o, i] - c)
                s += e
                Yb[o, i] = e
            total += c + T(math.log(s)) - Ob[y, i]
            for o in range(O):
                Ob[o, i] = Yb[o, i] / s
            Ob[y, i] = Ob[y, i] - one
            for o in range(O):
                Ob[o, i] *= fac
    else:  # HINGE (p=1, margin 1)
        for i in range(m):
            y = Lb[i]
            top = one - Ob[y, i]
            gy = zero
            for o in range(O):
                if o == y:
                    continue
                margin = top + Ob[o, i]
                if margin > zero:
                    total += margin
                    Ob[o, i] = fac
                    gy += fac
                else:
                    Ob[o, i] = zero
            Ob[y, i] = -gy
    return total


@njit(**_JIT)
def load_chunk(X, Yf, Yl, c, m, labels, xb, Yb, Lb):
    """Samples ``c:c + m`` into the chunk's buffers, samples as lanes: the inputs into ``xb``
    ``(K, LANES)``, the labels into ``Lb`` or the float targets into ``Yb`` ``(O, LANES)``."""
    if xb.shape[0] == 1 and not labels and Yb.shape[0] == 1:  # one input, one target:
        for i in range(m):  # one loop (the general loops' inner one over K cost the notes'
            xb[0, i] = X[c + i, 0]  # 1-32-1 pass a tenth of its time)
            Yb[0, i] = Yf[c + i, 0]
        return
    for i in range(m):
        for k in range(xb.shape[0]):
            xb[k, i] = X[c + i, k]
    if labels:
        for i in range(m):
            Lb[i] = Yl[c + i]
    else:
        for i in range(m):
            for o in range(Yb.shape[0]):
                Yb[o, i] = Yf[c + i, o]


# -- one (run, part) task ------------------------------------------------------------------
@njit(**_JIT)
def _part_narrow(X, Yf, Yl, P, H, start, stop, act, slope, alpha, scale, loss, fac, stat,
                 thr, acc, xb, Z, A, Ob, Yb, Lb, labels, T):
    """:func:`_part` of a network with one input and one output (the notes' ``1-H-1``),
    without dropout, in fewer sweeps over the chunk's buffers: each unit's ``z`` in one
    loop (for sigmoid and tanh, its ``z``, ``f(z)``, ``f'(z)`` and its term of the output in
    one loop, a ninth less time a pass on an AMD EPYC), and its three gradient sums
    (``dC/dW2``, ``dC/db1``, ``dC/dW1``) in one loop over the lanes, with the same
    arithmetic as :func:`_part` (the same numbers bit for bit, tested against it);
    ``saturated_frac``'s count (``stat`` 1) taken in that loop too, where it reads ``f'(z)``
    anyway (a sweep of its own cost a tenth of a step)."""
    zero, one = T(0.0), T(1.0)
    fused = stat == 1  # counted in the backward loop, not by activate_counting
    # sigmoid's and tanh's forward in one sweep (no dead_frac to count before f)
    one_sweep = (act == SIGMOID or act == TANH) and stat != 2
    at_b1, at_W2 = H, 2 * H
    at_b2 = at_W2 + H
    at_alive = at_b2 + 2
    at_sat = at_alive + H
    for c in range(start, stop, LANES):
        m = min(LANES, stop - c)
        load_chunk(X, Yf, Yl, c, m, labels, xb, Yb, Lb)
        b2 = P[at_b2]
        for i in range(m):
            Ob[0, i] = b2
        if one_sweep:  # z, f(z), f'(z) and the output's term of a unit in one loop
            for j in range(H):
                w, b, w2 = P[j], P[at_b1 + j], P[at_W2 + j]
                if act == SIGMOID:
                    for i in range(m):
                        a = _sigmoid(b + xb[0, i] * w, T)
                        A[j, i] = a
                        Z[j, i] = (one - a) * a
                        Ob[0, i] += a * w2
                else:
                    for i in range(m):
                        t = fexpm1(T(2.0) * clamp(b + xb[0, i] * w, T(-20.0), T(20.0)))
                        a = t / (t + T(2.0))
                        A[j, i] = a
                        Z[j, i] = one - a * a
                        Ob[0, i] += a * w2
        else:
            for j in range(H):
                w, b = P[j], P[at_b1 + j]
                for i in range(m):
                    Z[j, i] = b + xb[0, i] * w
            activate_counting(act, Z, A, H, m, T, slope, alpha, scale, 0 if fused else stat,
                              thr, acc, at_alive)
            for j in range(H):
                w = P[at_W2 + j]
                for i in range(m):
                    Ob[0, i] += A[j, i] * w
        acc[at_b2 + 1] += _loss(loss, Ob, Yb, Lb, 1, m, T, fac)
        # backward: Ob is dC/dout, Z holds f'(z)
        s = zero
        for i in range(m):
            s += Ob[0, i]
        acc[at_b2] += s
        for j in range(H):
            w = P[at_W2 + j]
            s2, sb, sw = zero, zero, zero
            if fused:
                c_ = zero
                for i in range(m):
                    d, fz = Ob[0, i], Z[j, i]
                    s2 += A[j, i] * d
                    g = (zero + d * w) * fz
                    sb += g
                    sw += g * xb[0, i]
                    c_ += one if fz < thr else zero
                acc[at_sat] += c_
            else:
                for i in range(m):
                    d = Ob[0, i]
                    s2 += A[j, i] * d
                    g = (zero + d * w) * Z[j, i]  # d^1 = (d^2 W2^T) f'(z), as _part forms it
                    sb += g
                    sw += g * xb[0, i]
            acc[at_W2 + j] += s2
            acc[at_b1 + j] += sb
            acc[j] += sw


@njit(**_JIT)
def _part(X, Yf, Yl, M, P, K, H, O, start, stop, act, slope, alpha, scale, loss, fac, stat,
          thr, acc, drop):
    """Samples ``start:stop`` of one run (``X`` ``(n, K)``, ``Yf`` ``(n, O)`` or, for a loss
    of labels, ``Yl`` ``(n,)``; ``P`` the run's parameters in the flat layout) into
    ``acc``, the part's float64 sums in the flat layout, then the loss, then the counts of
    the layer's statistic: ``stat`` 2 (``dead_frac``) counts per unit the samples with
    ``z > 0`` (not ``z <= 0``, as NumPy's test), ``stat`` 1 (``saturated_frac``) the
    entries with ``f'(z) < thr``; 0 counts nothing. With ``drop``, ``M`` ``(n, H)`` is
    dropout's ``m / (1 - p)`` of the samples: the layer's output is ``f(z) M``."""
    n_in = K
    T = P.dtype.type
    zero = T(0.0)
    labels = loss >= BCE
    xb = np.empty((n_in, LANES), dtype=P.dtype)
    Z = np.empty((H, LANES), dtype=P.dtype)
    A = np.empty((H, LANES), dtype=P.dtype)
    Ob = np.empty((O, LANES), dtype=P.dtype)
    Yb = np.empty((O, LANES), dtype=P.dtype)
    Lb = np.zeros(LANES, dtype=np.int64)
    g = np.empty(LANES, dtype=P.dtype)
    Mb = np.empty((H if drop else 1, LANES), dtype=P.dtype)
    at_b1, at_W2 = n_in * H, n_in * H + H
    at_b2 = at_W2 + H * O
    at_alive = at_b2 + O + 1
    acc[:] = 0.0
    if n_in == 1 and O == 1 and not drop:
        _part_narrow(X, Yf, Yl, P, H, start, stop, act, slope, alpha, scale, loss, fac, stat,
                     thr, acc, xb, Z, A, Ob, Yb, Lb, labels, T)
        return
    for c in range(start, stop, LANES):
        m = min(LANES, stop - c)
        load_chunk(X, Yf, Yl, c, m, labels, xb, Yb, Lb)
        # forward: z = x W1 + b1, a = f(z), out = a W2 + b2, all lanes at once
        for j in range(H):
            for i in range(m):
                Z[j, i] = P[at_b1 + j]
            for k in range(n_in):
                w = P[k * H + j]
                for i in range(m):
                    Z[j, i] += xb[k, i] * w
        activate_counting(act, Z, A, H, m, T, slope, alpha, scale, stat, thr, acc, at_alive)
        if drop:  # inverted dropout: h = f(z) m / (1 - p)
            for i in range(m):
                for j in range(H):
                    Mb[j, i] = M[c + i, j]
            for j in range(H):
                for i in range(m):
                    A[j, i] = A[j, i] * Mb[j, i]
        for o in range(O):
            for i in range(m):
                Ob[o, i] = P[at_b2 + o]
        for j in range(H):
            for o in range(O):
                w = P[at_W2 + j * O + o]
                for i in range(m):
                    Ob[o, i] += A[j, i] * w
        acc[at_b2 + O] += _loss(loss, Ob, Yb, Lb, O, m, T, fac)
        # backward: Ob is d^2 = dC/dout; Z holds f'(z)
        for o in range(O):
            s = zero
            for i in range(m):
                s += Ob[o, i]
            acc[at_b2 + o] += s
        for j in range(H):
            for o in range(O):
                s = zero
                for i in range(m):
                    s += A[j, i] * Ob[o, i]
                acc[at_W2 + j * O + o] += s
            for i in range(m):  # d^1 = (d^2 W2^T) f'(z)
                g[i] = zero
            for o in range(O):
                w = P[at_W2 + j * O + o]
                for i in range(m):
                    g[i] += Ob[o, i] * w
            if drop:  # through dropout's mask first, as the NumPy pass
                for i in range(m):
                    g[i] *= Mb[j, i]
            s = zero
            for i in range(m):
                g[i] *= Z[j, i]
                s += g[i]
            acc[at_b1 + j] += s
            for k in range(n_in):
                s = zero
                for i in range(m):
                    s += g[i] * xb[k, i]
                acc[k * H + j] += s


@njit(parallel=True, error_model="numpy", cache=True)  # no fastmath: see _update
def step(X, Yf, Yl, M, P, K, H, O, act, slope, alpha, scale, loss, fac, lscale, stat, thr,
         acc, G, C, E, limit, code, S, coef, flags, drop):
    """One training step of every run: the ``(run, part)`` tasks of the pass on numba's
    threads (``acc[r, p]`` the sums of part ``p`` of run ``r``), then run by run the parts'
    fixed-order sum into the gradients ``G`` ``(R, N)`` and losses ``C`` ``(R,)`` and, with
    ``code >= 0``, the optimizer's update of ``P`` (``_update.finish_run``); the counts of
    the layer's statistic (``stat``, see :func:`_part`) summed into ``E`` ``(R, H + 1)``.

    ``X`` is ``(1 or R, n, K)``, ``Yf`` ``(1 or R, n, O)`` float targets or a ``(1, 1, 1)``
    stand-in, ``Yl`` ``(1 or R, n)`` labels or a ``(1, 1)`` stand-in; ``P`` ``(R, N)`` the
    parameters in the flat layout; with ``drop``, ``M`` ``(R, n, H)`` dropout's masks (else
    a ``(1, 1, 1)`` stand-in)."""
    R, NP = acc.shape[0], acc.shape[1]
    n = X.shape[1]
    for t in prange(R * NP):
        r, p = t // NP, t % NP
        start, stop = p * PART, min(n, (p + 1) * PART)
        _part(of_run(X, r), of_run(Yf, r), of_run(Yl, r), of_run(M, r), P[r], K, H, O, start,
              stop, act, slope, alpha, scale, loss, fac, stat, thr, acc[r, p], drop)
    for r in prange(R):  # r as int64: a parallel loop's index is unsigned where the
        # sequential typing's is signed, and each type would compile finish_run (3 s)
        finish_run(acc, np.int64(r), lscale, G, C, E, P, limit, code, S, coef, flags)
