"""The elementwise work of a wide MLP's training pass, compiled with numba, around the
matrix products that NumPy's BLAS computes (:class:`nnbench.core.kernels.WidePass`).

Where a layer is wide (hundreds of units), the products ``h W`` dominate a pass and BLAS
multiplies faster than the fused kernels' loops (:mod:`._deep`); what NumPy's pass adds
around them, a dozen whole-array operations a layer (the bias, the activation and its
derivative, dropout, the loss, the bias gradients, the optimizer's update), is one sweep
here. Each function takes every run of the group, ``(R, n, H)`` arrays C-contiguous, and
works on the calling thread (BLAS has the threads); the arithmetic of an element is that of
the fused kernels (the same ``_activate`` and ``_loss``).

The parameters and their gradients come in the flat layout of ``engine.flatten_params``:
``P`` and ``G`` ``(R, N)``, a layer's bias at ``boff``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from nnbench.core.kernels._deep import LANES
from nnbench.core.kernels._onehidden import _JIT, _activate, _loss
from nnbench.core.kernels._update import _EXACT, of_run, update_row


@njit(**_JIT)
def hidden(Z, A, P, boff, M, moff, drop, act, slope, alpha, scale, stat, thr, E, eoff):
    """A hidden layer's forward pass after its product ``Z = h W``: ``z = Z + b`` (``b`` at
    ``P[r, boff:]``), ``A = f(z)`` (times dropout's mask ``M[r, :, moff:]`` with ``drop``)
    and ``Z <- f'(z)``. ``stat`` counts the layer's statistic into ``E[r, eoff:]``: 2 per
    unit the samples with ``z > 0``, 1 at ``E[r, eoff + H]`` the entries with
    ``f'(z) < thr`` (the fused kernels' counts)."""
    R, n, H = Z.shape
    T = P.dtype.type
    one, zero = T(1.0), T(0.0)
    for r in range(R):
        Zr, Ar = Z[r], A[r]
        b = P[r, boff:boff + H]  # rows as 1-D views: LLVM then sees them apart (3x faster)
        for i in range(n):
            Zi = Zr[i]
            for j in range(H):
                Zi[j] += b[j]
        if stat == 2:
            Er = E[r, eoff:eoff + H]
            for i in range(n):
                Zi = Zr[i]
                for j in range(H):
                    Er[j] += zero if Zi[j] <= zero else one
        _activate(act, Zr, Ar, n, H, T, slope, alpha, scale)
        if stat == 1:
            c = 0.0
            for i in range(n):
                s = zero
                for j in range(H):
                    s += one if Zr[i, j] < thr else zero
                c += s
            E[r, eoff + H] += c
        if drop:  # inverted dropout: h = f(z) m / (1 - p)
            for i in range(n):
                Ai, Mi = Ar[i], M[r, i, moff:moff + H]
                for j in range(H):
                    Ai[j] = Ai[j] * Mi[j]


@njit(**_JIT)
def output(Zo, P, boff, Yf, Yl, labels, loss, fac, lscale, C, G, Ob, Yb, Lb):
    """The output layer after its product ``Zo = h W``: ``out = Zo + b``, the loss of each
    run into ``C`` (the chunks' float64 sum times ``lscale``, rounded once) and
    ``Zo <- dC/dout``; the bias gradient into ``G[r, boff:]``. The chunk buffers ``Ob``,
    ``Yb`` ``(O, LANES)`` and ``Lb`` ``(LANES,)`` hold the samples as lanes, as the fused
    kernels' loss takes them."""
    R, n, O = Zo.shape
    T = P.dtype.type
    for r in range(R):
        Zr, Yfr, Ylr = Zo[r], of_run(Yf, r), of_run(Yl, r)
        total = 0.0
        for c in range(0, n, LANES):
            m = min(LANES, n - c)
            for i in range(m):
                for o in range(O):
                    Ob[o, i] = Zr[c + i, o] + P[r, boff + o]
            if labels:
                for i in range(m):
                    Lb[i] = Ylr[c + i]
            else:
                for i in range(m):
                    for o in range(O):
                        Yb[o, i] = Yfr[c + i, o]
            total += _loss(loss, Ob, Yb, Lb, O, m, T, fac)
            for i in range(m):
                for o in range(O):
                    Zr[c + i, o] = Ob[o, i]
        C[r] = T(total * lscale)
        for o in range(O):
            s = 0.0
            for i in range(n):
                s += Zr[i, o]
            G[r, boff + o] = T(s)


@njit(**_JIT)
def back(Gh, F, M, moff, drop, G, boff, sums):
    """A hidden layer's backward pass after the product ``Gh = dC/dh = d W^T``: through
    dropout's mask with ``drop``, then ``d = Gh f'(z)`` written over ``F = f'(z)``, and the
    bias gradient ``sum_i d_i`` (in float64, ``sums`` ``(H,)`` its buffer) into
    ``G[r, boff:]``."""
    R, n, H = F.shape
    T = G.dtype.type
    for r in range(R):
        Fr, Gr = F[r], Gh[r]
        if drop:
            for i in range(n):
                Gi, Mi = Gr[i], M[r, i, moff:moff + H]
                for j in range(H):
                    Gi[j] = Gi[j] * Mi[j]
        for j in range(H):
            sums[j] = 0.0
        for i in range(n):
            Gi, Fi = Gr[i], Fr[i]
            for j in range(H):
                d = Gi[j] * Fi[j]
                Fi[j] = d
                sums[j] += d
        for j in range(H):
            G[r, boff + j] = T(sums[j])


@njit(**_EXACT)
def update_runs(C, limit, code, P, G, S, coef, flags):
    """With ``code >= 0``, the optimizer's update of every run whose loss passes the
    engine's divergence test (``|C[r]| <= limit[r]``, NaN fails), as the fused kernels'
    ``finish_run`` makes it, on the calling thread (numba's threads spinning beside
    BLAS's took 6x longer)."""
    if code < 0:
        return
    for r in range(P.shape[0]):
        if abs(np.float64(C[r])) <= limit[r]:
            update_row(code, P[r], G[r], S, r, coef, flags)
