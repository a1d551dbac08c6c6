"""The end of a compiled training pass, shared by the kernels: the fixed-order sum of a run's
parts and the optimizer's update of its parameters, compiled with numba.

The update rules are those of ``nnbench.core.optimizers`` (torch's forms), written operation
for operation in the same order and precision: every coefficient comes in the dtype of the
parameters, computed in Python as the NumPy rule computes it (:mod:`nnbench.core.kernels.
updates`), and no fastmath flag lets LLVM reorder anything or fuse a product into a
multiply-add (no ``contract``): every operation is rounded as NumPy rounds it, and
``sqrt`` and division are IEEE's. So an update here gives the numbers of the NumPy rule bit
for bit (tested), and its loops vectorize (the same operations on 16 or 8 lanes at once
round as one at a time). Every caller of these functions is compiled without fastmath
flags: numba compiles a callee first met while compiling a caller with the caller's
flags, and the rounding of the update would then depend on the call site.

The flat layout is that of ``engine.flatten_params``: one run's parameters ``p`` ``(N,)``,
its gradient ``g`` ``(N,)``; the rule's state ``S`` ``(k, R, N)`` (moments, buffers), its
coefficients ``coef`` ``(c, R)`` in the dtype, its flags ``flags`` ``(f,)`` int64.
"""

from __future__ import annotations

import numpy as np
from numba import njit

SGD, ADAM, RMSPROP, ADAGRAD = range(4)
#: flags: gradient negated (maximize); weight decay 0 none, 1 coupled (g + wd p), 2 decoupled
#: (AdamW's p *= 1 - lr wd); the rule's own switch (momentum, amsgrad); SGD's Nesterov; SGD's
#: first step (the buffer starts at g)
MAXIMIZE, DECAY, OWN, NESTEROV, FIRST = range(5)

_EXACT = {"error_model": "numpy", "cache": True}  # no fastmath: IEEE as NumPy


@njit(**_EXACT)
def _sgd_row(p, g, S, r, coef, flags):
    """SGD, heavy-ball momentum or Nesterov (coef: lr, wd, momentum, 1 - dampening)."""
    neg = flags[MAXIMIZE] != 0
    decay = flags[DECAY]
    own = flags[OWN] != 0
    lr, wd, mu, keep = coef[0, r], coef[1, r], coef[2, r], coef[3, r]
    nesterov, first = flags[NESTEROV] != 0, flags[FIRST] != 0
    B = S[0, r] if own else S[0, 0]  # (1, 1, 1) stand-in without momentum: not read
    for i in range(p.shape[0]):
        x = -g[i] if neg else g[i]
        q = p[i]
        if decay == 1:
            x = x + wd * q
        if own:
            if first:
                b = x
            else:
                b = B[i] * mu
                b = b + keep * x
            B[i] = b
            x = x + mu * b if nesterov else b
        p[i] = q - lr * x


@njit(**_EXACT)
def _adam_row(p, g, S, r, coef, flags):
    """Adam, AMSGrad or AdamW (coef: 1 - b1, b2, 1 - b2, sqrt(1 - b2^t), eps, step size,
    wd, 1 - lr wd)."""
    neg = flags[MAXIMIZE] != 0
    decay = flags[DECAY]
    own = flags[OWN] != 0
    c1, b2, c2, bc2 = coef[0, r], coef[1, r], coef[2, r], coef[3, r]
    eps, step, wd, shrink = coef[4, r], coef[5, r], coef[6, r], coef[7, r]
    M, V = S[0, r], S[1, r]
    TOP = S[2, r] if own else V  # amsgrad's maxima: read only with it
    for i in range(p.shape[0]):
        x = -g[i] if neg else g[i]
        q = p[i]
        if decay == 2:
            q = q * shrink
        elif decay == 1:
            x = x + wd * q
        m = M[i]
        m = m + c1 * (x - m)
        M[i] = m
        v = V[i] * b2
        v = v + c2 * (x * x)
        V[i] = v
        if own:  # amsgrad: np.maximum, a NaN on either side wins
            top = TOP[i]
            if not (top != top) and (v != v or v > top):
                top = v
            TOP[i] = top
            v = top
        denom = np.sqrt(v)
        denom = denom / bc2
        denom = denom + eps
        p[i] = q - (step * m) / denom


@njit(**_EXACT)
def _rmsprop_row(p, g, S, r, coef, flags):
    """RMSProp, with or without momentum (coef: alpha, 1 - alpha, eps, lr, wd, momentum)."""
    neg = flags[MAXIMIZE] != 0
    decay = flags[DECAY]
    own = flags[OWN] != 0
    a, ca, eps, lr, wd, mu = coef[0, r], coef[1, r], coef[2, r], coef[3, r], coef[4, r], \
        coef[5, r]
    V = S[0, r]
    B = S[1, r] if own else V  # the momentum buffer: read only with momentum
    for i in range(p.shape[0]):
        x = -g[i] if neg else g[i]
        q = p[i]
        if decay == 1:
            x = x + wd * q
        v = V[i] * a
        v = v + (ca * x) * x
        V[i] = v
        s = np.sqrt(v)
        s = s + eps
        if own:
            b = B[i] * mu
            b = b + x / s
            B[i] = b
            p[i] = q - lr * b
        else:
            p[i] = q - lr * (x / s)


@njit(**_EXACT)
def _adagrad_row(p, g, S, r, coef, flags):
    """AdaGrad (coef: lr / (1 + (t - 1) lr_decay), eps, wd)."""
    neg = flags[MAXIMIZE] != 0
    decay = flags[DECAY]
    clr, eps, wd = coef[0, r], coef[1, r], coef[2, r]
    Q = S[0, r]
    for i in range(p.shape[0]):
        x = -g[i] if neg else g[i]
        q = p[i]
        if decay == 1:
            x = x + wd * q
        s2 = Q[i] + x * x
        Q[i] = s2
        std = np.sqrt(s2)
        std = std + eps
        p[i] = q - (clr * x) / std


@njit(**_EXACT)
def update_row(code, p, g, S, r, coef, flags):
    """One run's update of ``p`` in place (``r`` its index into ``S`` and ``coef``); a
    code that is no rule's (-1) changes nothing. Each rule is a function of its own, its
    state's rows taken as 1-D views and ``p[i]`` read once, so that LLVM sees the arrays
    apart and vectorizes each loop (with ``S[k, r, i]`` in the loops, or the four rules in
    one function, it did not: 7x slower on 78 858 parameters)."""
    if code == SGD:
        _sgd_row(p, g, S, r, coef, flags)
    elif code == ADAM:
        _adam_row(p, g, S, r, coef, flags)
    elif code == RMSPROP:
        _rmsprop_row(p, g, S, r, coef, flags)
    elif code == ADAGRAD:
        _adagrad_row(p, g, S, r, coef, flags)


@njit(**_EXACT)
def of_run(A, r):
    """Run ``r``'s slice of ``A`` ``(R, ...)``, or its only slice where ``A`` is shared by
    the runs (``(1, ...)``: the same batch for all, or a stand-in)."""
    return A[r] if A.shape[0] > 1 else A[0]


@njit(**_EXACT)
def finish_run(acc, r, lscale, G, C, E, P, limit, code, S, coef, flags):
    """Run ``r``: ``G[r] = sum_p acc[r, p, :N]``, ``C[r] = lscale sum_p acc[r, p, N]`` and
    ``E[r] = sum_p acc[r, p, N + 1:]`` (``N`` the parameters, the rest the counts of the
    layer statistics), the parts added in order, each in float64, ``G`` and ``C`` rounded
    once to the dtype; then, when ``code >= 0`` and the run's loss passes the engine's
    divergence test (``|C[r]| <= limit[r]``, as float64 of the rounded loss; NaN fails),
    its update."""
    P_, N = acc.shape[1], G.shape[1]
    T = G.dtype.type
    for i in range(N):
        s = 0.0
        for q in range(P_):
            s += acc[r, q, i]
        G[r, i] = T(s)
    s = 0.0
    for q in range(P_):
        s += acc[r, q, N]
    C[r] = T(s * lscale)
    for i in range(E.shape[1]):
        s = 0.0
        for q in range(P_):
            s += acc[r, q, N + 1 + i]
        E[r, i] = s
    if code >= 0 and abs(np.float64(C[r])) <= limit[r]:
        update_row(code, P[r], G[r], S, r, coef, flags)


@njit(**_EXACT)
def apply_update(code, P, G, S, coef, flags):
    """Every run's update, one after another on the calling thread (a few hundred numbers
    a run: waking numba's threads would cost more than the update)."""
    for r in range(P.shape[0]):
        update_row(code, P[r], G[r], S, r, coef, flags)
