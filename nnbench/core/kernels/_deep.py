"""The fused loss-and-gradients pass of an MLP with two or more hidden layers, compiled with
numba: the one-hidden-layer kernel's scheme (:mod:`._onehidden`) layer after layer.

``sizes`` ``(L + 2,)``: ``K -> H_1 -> ... -> H_L -> O``; ``z^l = h^(l-1) W^l + b^l``,
``h^l = f(z^l)`` (``h^(l-1) + f(z^l)`` where ``skips[l]``, a residual layer), ``out = h^L
W^(L+1) + b^(L+1)``, a loss of ``out``. A ``(run, part)`` task goes through its part in
chunks of ``LANES`` samples, the samples being the SIMD lanes of every inner loop; the
chunk's activations of every layer, and their derivatives, stay in buffers of the task
(``sum H_l x LANES`` numbers: 50 KB for two layers of 100 units in float32, in L1 or L2).
Backward, layer by layer, one loop over (input unit, output unit) both sums ``dC/dW`` over
the lanes and accumulates ``dC/dh`` of the layer below, so each delta is read once.

The parameters come in the flat layout of ``engine.flatten_params``: ``W^1`` (``K H_1``,
row-major), ``b^1``, ``W^2``, ..., ``b^(L+1)``; ``woff[l]``, ``boff[l]`` (``l = 1..L+1``)
where ``W^l`` and ``b^l`` start. The task's float64 sums ``acc`` are in the same layout, then
the loss, then per hidden layer the counts of its statistic (``H_l`` counts of samples with
``z > 0``, then one count of entries with ``f'(z) < thr``).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from nnbench.core.kernels._onehidden import (
    _JIT,
    BCE,
    _loss,
    activate_counting,
    load_chunk,
)
from nnbench.core.kernels._update import finish_run, of_run

#: samples per chunk, the SIMD lanes of the inner loops: 64, where the one-hidden-layer
#: kernel takes 128, so that a minibatch of 128 samples still makes two parts (two threads)
LANES = 64


def part_size(n: int) -> int:
    """Samples per part for a batch of ``n``: one chunk up to 1024 samples, so that a small
    batch (MNIST-1D's 100 samples) still gives each thread a task, else four (the parts'
    sums, one set of gradients per part, would cost more than the parallel work gains).
    It depends on ``n`` alone, so a run's numbers still depend on nothing but the run."""
    return LANES if n <= 16 * LANES else 4 * LANES


# -- a dense layer over a chunk's lanes; 4 units at a time, so that each load of a row of
# lanes serves four multiply-adds (the loops are bound by loads, not by arithmetic) -------
@njit(**_JIT)
def _dense(src, kin, Z, kout, P, wo, bo, m):
    """``Z[j] = b_j + sum_k src[k] W[k, j]`` on the first ``m`` lanes (``W`` row-major at
    ``P[wo:]``, ``b`` at ``P[bo:]``)."""
    k4 = kin - kin % 4
    for j in range(kout):
        b = P[bo + j]
        for i in range(m):
            Z[j, i] = b
        for k in range(0, k4, 4):
            w0, w1 = P[wo + k * kout + j], P[wo + (k + 1) * kout + j]
            w2, w3 = P[wo + (k + 2) * kout + j], P[wo + (k + 3) * kout + j]
            for i in range(m):
                Z[j, i] += (src[k, i] * w0 + src[k + 1, i] * w1) \
                    + (src[k + 2, i] * w2 + src[k + 3, i] * w3)
        for k in range(k4, kin):
            w = P[wo + k * kout + j]
            for i in range(m):
                Z[j, i] += src[k, i] * w


@njit(**_JIT)
def _dense_grad(src, kin, D, kout, P, wo, m, acc):
    """``acc[W[k, j]] += sum_i src[k, i] D[j, i]`` over the first ``m`` lanes."""
    T = P.dtype.type
    j4 = kout - kout % 4
    for k in range(kin):
        at = wo + k * kout
        for j in range(0, j4, 4):
            s0, s1, s2, s3 = T(0.0), T(0.0), T(0.0), T(0.0)
            for i in range(m):
                x = src[k, i]
                s0 += x * D[j, i]
                s1 += x * D[j + 1, i]
                s2 += x * D[j + 2, i]
                s3 += x * D[j + 3, i]
            acc[at + j] += s0
            acc[at + j + 1] += s1
            acc[at + j + 2] += s2
            acc[at + j + 3] += s3
        for j in range(j4, kout):
            s = T(0.0)
            for i in range(m):
                s += src[k, i] * D[j, i]
            acc[at + j] += s


@njit(**_JIT)
def _dense_back(src, kin, D, kout, P, wo, m, acc, Gn):
    """:func:`_dense_grad`, and ``Gn[k] += sum_j D[j] W[k, j]`` (``dC/dh`` of the layer's
    input) in the same loop, each row of ``D`` read once for both."""
    T = P.dtype.type
    j4 = kout - kout % 4
    for k in range(kin):
        at = wo + k * kout
        for j in range(0, j4, 4):
            w0, w1, w2, w3 = P[at + j], P[at + j + 1], P[at + j + 2], P[at + j + 3]
            s0, s1, s2, s3 = T(0.0), T(0.0), T(0.0), T(0.0)
            for i in range(m):
                x = src[k, i]
                d0, d1, d2, d3 = D[j, i], D[j + 1, i], D[j + 2, i], D[j + 3, i]
                s0 += x * d0
                s1 += x * d1
                s2 += x * d2
                s3 += x * d3
                Gn[k, i] += (d0 * w0 + d1 * w1) + (d2 * w2 + d3 * w3)
            acc[at + j] += s0
            acc[at + j + 1] += s1
            acc[at + j + 2] += s2
            acc[at + j + 3] += s3
        for j in range(j4, kout):
            w = P[at + j]
            s = T(0.0)
            for i in range(m):
                d = D[j, i]
                s += src[k, i] * d
                Gn[k, i] += d * w
            acc[at + j] += s


@njit(**_JIT)
def _part_deep(X, Yf, Yl, M, P, sizes, woff, boff, skips, start, stop, act, slope, alpha,
               scale, loss, fac, stat, thr, acc, drop):
    """Samples ``start:stop`` of one run (``X`` ``(n, K)``, ``Yf`` ``(n, O)`` or, for a loss of
    labels, ``Yl`` ``(n,)``; ``P`` the run's flat parameters) into ``acc`` (see the module's
    doc); ``stat``: 0 counts nothing, 1 the saturated entries, 2 the samples with ``z > 0``.
    With ``drop``, ``M`` ``(n, sum H_l)`` is dropout's ``m / (1 - p)`` of every hidden layer
    (the layers side by side): a layer's output is ``h M``."""
    T = P.dtype.type
    zero = T(0.0)
    nl = sizes.shape[0] - 1  # weight layers: L hidden and the output layer
    K, O = sizes[0], sizes[nl]
    labels = loss >= BCE
    hoff = np.zeros(nl + 1, dtype=np.int64)  # where hidden layer l's rows start in A and F
    wmax = 1
    for l in range(1, nl):
        hoff[l + 1] = hoff[l] + sizes[l]
        wmax = max(wmax, sizes[l])
    tot = hoff[nl]
    at_loss = boff[nl] + O  # after the parameters
    xb = np.empty((K, LANES), dtype=P.dtype)
    A = np.empty((tot, LANES), dtype=P.dtype)  # h^l of every hidden layer
    F = np.empty((tot, LANES), dtype=P.dtype)  # z^l, then f'(z^l), then the delta d^l
    Ob = np.empty((O, LANES), dtype=P.dtype)
    Yb = np.empty((O, LANES), dtype=P.dtype)
    Lb = np.zeros(LANES, dtype=np.int64)
    Ga = np.empty((wmax, LANES), dtype=P.dtype)  # dC/dh of a layer, two in turn
    Gb = np.empty((wmax, LANES), dtype=P.dtype)
    Mb = np.empty((tot if drop else 1, LANES), dtype=P.dtype)
    acc[:] = 0.0
    for c in range(start, stop, LANES):
        m = min(LANES, stop - c)
        load_chunk(X, Yf, Yl, c, m, labels, xb, Yb, Lb)
        if drop:
            for i in range(m):
                for j in range(tot):
                    Mb[j, i] = M[c + i, j]
        # forward, layer by layer: z = h W + b, h = f(z) (+ the layer's input), dropped out
        at_stat = at_loss + 1
        for l in range(1, nl + 1):
            kin, kout = sizes[l - 1], sizes[l]
            src = xb if l == 1 else A[hoff[l - 1]:hoff[l]]
            Z = Ob if l == nl else F[hoff[l]:hoff[l + 1]]
            _dense(src, kin, Z, kout, P, woff[l], boff[l], m)
            if l == nl:
                break
            H = A[hoff[l]:hoff[l + 1]]
            activate_counting(act, Z, H, kout, m, T, slope, alpha, scale, stat, thr, acc,
                              at_stat)
            if skips[l]:
                for j in range(kout):
                    for i in range(m):
                        H[j, i] = src[j, i] + H[j, i]
            if drop:
                for j in range(kout):
                    for i in range(m):
                        H[j, i] = H[j, i] * Mb[hoff[l] + j, i]
            at_stat += kout + 1
        acc[at_loss] += _loss(loss, Ob, Yb, Lb, O, m, T, fac)
        # backward: D is the delta of layer l (Ob: dC/dout), Gc the layer's dC/dh
        D = Ob
        Gc, Gn = Ga, Gb
        for l in range(nl, 0, -1):
            kin, kout = sizes[l - 1], sizes[l]
            src = xb if l == 1 else A[hoff[l - 1]:hoff[l]]
            wo, bo = woff[l], boff[l]
            for j in range(kout):
                s = zero
                for i in range(m):
                    s += D[j, i]
                acc[bo + j] += s
            below = l > 1
            skip = l < nl and skips[l]
            if not below:
                _dense_grad(src, kin, D, kout, P, wo, m, acc)
                break
            for k in range(kin):
                if skip:  # h^l = h^(l-1) + f(z^l): dC/dh^l passes to h^(l-1) as it is
                    for i in range(m):
                        Gn[k, i] = Gc[k, i]
                else:
                    for i in range(m):
                        Gn[k, i] = zero
            _dense_back(src, kin, D, kout, P, wo, m, acc, Gn)
            if drop:  # dC/dh^(l-1) through dropout's mask (what a skip passes on, too)
                for k in range(kin):
                    for i in range(m):
                        Gn[k, i] = Gn[k, i] * Mb[hoff[l - 1] + k, i]
            # d^(l-1) = dC/dh^(l-1) * f'(z^(l-1)), written over f'(z^(l-1))
            Fp = F[hoff[l - 1]:hoff[l]]
            for k in range(kin):
                for i in range(m):
                    Fp[k, i] = Gn[k, i] * Fp[k, i]
            D = Fp
            Gc, Gn = Gn, Gc


@njit(parallel=True, error_model="numpy", cache=True)  # no fastmath: see _update
def step_deep(X, Yf, Yl, M, P, sizes, woff, boff, skips, act, slope, alpha, scale, loss,
              fac, lscale, stat, thr, acc, G, C, E, limit, code, S, coef, flags, part, drop):
    """One training step of every run, as ``_onehidden.step`` for two or more hidden layers:
    the ``(run, part)`` tasks on numba's threads, then run by run the parts' fixed-order
    sum into ``G`` and ``C``, the statistics' counts into ``E`` and, with ``code >= 0``, the
    optimizer's update of ``P``; ``part`` is :func:`part_size` of the batch."""
    R, NP = acc.shape[0], acc.shape[1]
    n = X.shape[1]
    for t in prange(R * NP):
        r, p = t // NP, t % NP
        start, stop = p * part, min(n, (p + 1) * part)
        _part_deep(of_run(X, r), of_run(Yf, r), of_run(Yl, r), of_run(M, r), P[r], sizes,
                   woff, boff, skips, start, stop, act, slope, alpha, scale, loss, fac, stat,
                   thr, acc[r, p], drop)
    for r in prange(R):  # r as int64: a parallel loop's index is unsigned where the
        # sequential typing's is signed, and each type would compile finish_run (3 s)
        finish_run(acc, np.int64(r), lscale, G, C, E, P, limit, code, S, coef, flags)
