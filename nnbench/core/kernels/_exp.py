"""Vectorizable ``exp`` and ``expm1`` for numba kernels, in float32 and float64.

numba's ``math.exp`` is a call into the C library, which keeps a loop around it scalar.
These are written out so that LLVM vectorizes them: Cody-Waite reduction
``x = n ln2 + r`` with ``|r| <= ln2 / 2``, a polynomial for ``e^r`` and ``2^n`` built from
the bits of the magic-number rounding of ``x / ln2`` (no float-to-int conversion, which
has no packed form for 64-bit integers without AVX-512).

They carry their own fastmath flags, without ``reassoc``: with it LLVM may fold
``(t + magic) - magic`` to ``t`` and the rounding is gone. They are not inlined at numba's
level (that would compile them with the caller's flags) but by LLVM, which keeps each
instruction's own flags. Arguments are clamped to the
range where ``2^n`` is a normal number, so ``exp`` overflows to a large finite value and
underflows to a tiny one instead of ``inf`` and 0 (the callers clamp first anyway).
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload

#: flags of the exp functions: fused multiply-add allowed, no reassociation
EXP_FLAGS = {"contract", "nsz"}

_LOG2E = 1.4426950408889634
# float32: Cephes expf (ln2 split in two, degree-7 polynomial with minimax terms)
_F32_MAGIC = 12582912.0  # 1.5 * 2^23
_F32_LN2_HI = 0.693359375
_F32_LN2_LO = -2.12194440e-4
_F32_LO, _F32_HI = -87.3, 88.3
# float64: fdlibm's ln2 split, Taylor series of e^r to r^13 (error below 1e-17 at ln2/2)
_F64_MAGIC = 6755399441055744.0  # 1.5 * 2^52
_F64_LN2_HI = 6.93147180369123816490e-01
_F64_LN2_LO = 1.90821492927058770002e-10
_F64_LO, _F64_HI = -708.0, 709.0
_F64_TAYLOR = tuple(1.0 / np.prod(np.arange(1, k + 1, dtype=np.float64)) for k in range(14))


@intrinsic
def _f32_bits(typingctx, x):
    """The bits of a float32 as an int32 (a bitcast, no conversion)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(32))
    return types.int32(types.float32), codegen


@intrinsic
def _f32_from_bits(typingctx, i):
    """The float32 whose bits are the int32 ``i``."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())
    return types.float32(types.int32), codegen


@intrinsic
def _f64_bits(typingctx, x):
    """The bits of a float64 as an int64."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return types.int64(types.float64), codegen


@intrinsic
def _f64_from_bits(typingctx, i):
    """The float64 whose bits are the int64 ``i``."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


@njit(fastmath=EXP_FLAGS, error_model="numpy", cache=True)
def clamp(x, lo, hi):
    """``x`` raised to ``lo`` and lowered to ``hi``; a NaN stays NaN (as ``np.clip``)."""
    x = lo if x < lo else x
    return hi if x > hi else x


@njit(fastmath=EXP_FLAGS, error_model="numpy", cache=True)
def exp32(x):
    """``e^x`` of a float32, within 2 ulp of the correctly rounded value on [-87.3, 88.3]."""
    x = clamp(x, np.float32(_F32_LO), np.float32(_F32_HI))
    t = x * np.float32(_LOG2E) + np.float32(_F32_MAGIC)
    n = t - np.float32(_F32_MAGIC)
    ni = _f32_bits(t) - _f32_bits(np.float32(_F32_MAGIC))
    r = x - n * np.float32(_F32_LN2_HI)
    r = r - n * np.float32(_F32_LN2_LO)
    p = np.float32(1.9875691500e-4)
    p = p * r + np.float32(1.3981999507e-3)
    p = p * r + np.float32(8.3334519073e-3)
    p = p * r + np.float32(4.1665795894e-2)
    p = p * r + np.float32(1.6666665459e-1)
    p = p * r + np.float32(5.0000001201e-1)
    p = p * (r * r) + r + np.float32(1.0)
    return p * _f32_from_bits((ni + np.int32(127)) << np.int32(23))


@njit(fastmath=EXP_FLAGS, error_model="numpy", cache=True)
def exp64(x):
    """``e^x`` of a float64, within 2 ulp of the correctly rounded value on [-708, 709]."""
    x = clamp(x, _F64_LO, _F64_HI)
    t = x * _LOG2E + _F64_MAGIC
    n = t - _F64_MAGIC
    ni = _f64_bits(t) - _f64_bits(_F64_MAGIC)
    r = x - n * _F64_LN2_HI
    r = r - n * _F64_LN2_LO
    c = _F64_TAYLOR
    p = c[13]
    p = p * r + c[12]
    p = p * r + c[11]
    p = p * r + c[10]
    p = p * r + c[9]
    p = p * r + c[8]
    p = p * r + c[7]
    p = p * r + c[6]
    p = p * r + c[5]
    p = p * r + c[4]
    p = p * r + c[3]
    p = p * r + c[2]
    p = p * (r * r) + r + 1.0
    return p * _f64_from_bits((ni + np.int64(1023)) << np.int64(52))


@njit(fastmath=EXP_FLAGS, error_model="numpy", cache=True)
def expm1_32(x):
    """``e^x - 1`` of a float32 with its relative precision near 0: the Taylor series
    (to x^7) for ``|x| < 1/4``, ``exp32(x) - 1`` elsewhere."""
    p = np.float32(1.0 / 5040.0)
    p = p * x + np.float32(1.0 / 720.0)
    p = p * x + np.float32(1.0 / 120.0)
    p = p * x + np.float32(1.0 / 24.0)
    p = p * x + np.float32(1.0 / 6.0)
    p = p * x + np.float32(0.5)
    small = p * (x * x) + x
    big = exp32(x) - np.float32(1.0)
    return small if abs(x) < np.float32(0.25) else big


@njit(fastmath=EXP_FLAGS, error_model="numpy", cache=True)
def expm1_64(x):
    """``e^x - 1`` of a float64 with its relative precision near 0: the Taylor series
    (to x^13) for ``|x| < 1/4``, ``exp64(x) - 1`` elsewhere."""
    c = _F64_TAYLOR
    p = c[13]
    p = p * x + c[12]
    p = p * x + c[11]
    p = p * x + c[10]
    p = p * x + c[9]
    p = p * x + c[8]
    p = p * x + c[7]
    p = p * x + c[6]
    p = p * x + c[5]
    p = p * x + c[4]
    p = p * x + c[3]
    p = p * x + c[2]
    small = p * (x * x) + x
    big = exp64(x) - 1.0
    return small if abs(x) < 0.25 else big


def fexp(x):
    """``e^x`` in the precision of ``x`` (float32 or float64), for numba code."""
    raise NotImplementedError("fexp is for numba-compiled code")


def fexpm1(x):
    """``e^x - 1`` in the precision of ``x``, for numba code."""
    raise NotImplementedError("fexpm1 is for numba-compiled code")


@overload(fexp, jit_options={"fastmath": EXP_FLAGS, "error_model": "numpy"})
def _fexp(x):
    if x == types.float32:
        return lambda x: exp32(x)
    if x == types.float64:
        return lambda x: exp64(x)
    return None


@overload(fexpm1, jit_options={"fastmath": EXP_FLAGS, "error_model": "numpy"})
def _fexpm1(x):
    if x == types.float32:
        return lambda x: expm1_32(x)
    if x == types.float64:
        return lambda x: expm1_64(x)
    return None


@njit(error_model="numpy", cache=True)
def exp_array(x, out):
    """``out = e^x`` elementwise (1-D arrays), for the tests."""
    for i in range(x.shape[0]):
        out[i] = fexp(x[i])


@njit(error_model="numpy", cache=True)
def expm1_array(x, out):
    """``out = e^x - 1`` elementwise (1-D arrays), for the tests."""
    for i in range(x.shape[0]):
        out[i] = fexpm1(x[i])
