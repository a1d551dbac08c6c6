"""Weight initializers.

An initializer is called as ``init(rng, fan_in, fan_out) -> (W, b)`` with ``W`` of shape
``(fan_in, fan_out)`` and ``b`` of shape ``(fan_out,)`` in float64, drawn from ``rng``
(a ``np.random.Generator``), weights first. The formulas are those of ``torch.nn.init``.
"""

from __future__ import annotations

import math

import numpy as np

from nnbench.core.errors import NNBenchError, check_positive
from nnbench.core.registry import Registry

INITS = Registry("init")

def torch_default():
    """PyTorch's ``nn.Linear`` default: ``W, b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))``.

    (``kaiming_uniform_(a=sqrt(5))`` gives the bound ``sqrt(6 / ((1 + 5) fan_in))``.)
    """

    def init(rng, fan_in, fan_out):
        bound = 1.0 / math.sqrt(fan_in)
        W = rng.uniform(-bound, bound, size=(fan_in, fan_out))
        b = rng.uniform(-bound, bound, size=(fan_out,))
        return W, b

    return init


def xavier_uniform(gain: float = 1.0):
    """Glorot: ``W ~ U(-a, a)``, ``a = gain sqrt(6 / (fan_in + fan_out))``; ``b = 0``."""
    check_positive("gain", gain)

    def init(rng, fan_in, fan_out):
        a = gain * math.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-a, a, size=(fan_in, fan_out)), np.zeros(fan_out)

    return init


def xavier_normal(gain: float = 1.0):
    """Glorot: ``W ~ N(0, std^2)``, ``std = gain sqrt(2 / (fan_in + fan_out))``; ``b = 0``."""
    check_positive("gain", gain)

    def init(rng, fan_in, fan_out):
        std = gain * math.sqrt(2.0 / (fan_in + fan_out))
        return rng.normal(0.0, std, size=(fan_in, fan_out)), np.zeros(fan_out)

    return init


def he_uniform():
    """He/Kaiming for ReLU (``kaiming_uniform_``, fan_in mode, gain sqrt 2):
    ``W ~ U(-a, a)``, ``a = sqrt(6 / fan_in)``; ``b = 0``."""

    def init(rng, fan_in, fan_out):
        a = math.sqrt(6.0 / fan_in)
        return rng.uniform(-a, a, size=(fan_in, fan_out)), np.zeros(fan_out)

    return init


def he_normal():
    """He/Kaiming for ReLU (``kaiming_normal_``, fan_in mode): ``W ~ N(0, 2 / fan_in)``;
    ``b = 0``."""

    def init(rng, fan_in, fan_out):
        std = math.sqrt(2.0 / fan_in)
        return rng.normal(0.0, std, size=(fan_in, fan_out)), np.zeros(fan_out)

    return init


def normal(std: float = 1.0):
    """``W, b ~ N(0, std^2)``, independent of the fan: with the default ``std = 1`` the
    large weights of the notes' exploding-gradient discussion (and Nielsen's
    ``large_weight_initializer``)."""
    check_positive("std", std)

    def init(rng, fan_in, fan_out):
        W = rng.normal(0.0, std, size=(fan_in, fan_out))
        return W, rng.normal(0.0, std, size=(fan_out,))

    return init


def constant(value: float = 100.0):
    """Every weight ``value``, every bias ``-value fan_in / 2``: a unit's ``z`` is 0 when
    each of its inputs is 1/2 = sigma(0). Notes 001's construction of exploding gradients
    (after Nielsen, chapter 5): in a chain of sigmoid units at ``z = 0`` each layer
    multiplies ``dC/db`` by ``w sigma'(0) = value / 4`` (25 for ``constant:100``)."""
    v = float(value)
    if not math.isfinite(v):
        raise NNBenchError(f"init constant: value must be a finite number, got {value!r}")

    def init(rng, fan_in, fan_out):
        return np.full((fan_in, fan_out), v), np.full(fan_out, -v * fan_in / 2.0)

    return init


def zeros():
    """``W = 0, b = 0``: every hidden unit stays identical (the symmetry problem)."""

    def init(rng, fan_in, fan_out):
        return np.zeros((fan_in, fan_out)), np.zeros(fan_out)

    return init


INITS.add("torch", torch_default, "PyTorch nn.Linear default: W, b ~ U(+-1/sqrt(fan_in))")
INITS.add("xavier_uniform", xavier_uniform, "Glorot uniform, bound gain*sqrt(6/(in+out)); b=0",
          {"gain": 1.0})
INITS.add("xavier_normal", xavier_normal, "Glorot normal, std gain*sqrt(2/(in+out)); b=0",
          {"gain": 1.0})
INITS.add("he_uniform", he_uniform, "Kaiming uniform for ReLU, bound sqrt(6/fan_in); b=0")
INITS.add("he_normal", he_normal, "Kaiming normal for ReLU, std sqrt(2/fan_in); b=0")
INITS.add("normal", normal, "W, b ~ N(0, std^2), large weights by default", {"std": 1.0})
INITS.add("constant", constant, "every weight VALUE, biases -VALUE fan_in/2 (z = 0 on inputs "
          "of 1/2): constant:100", {"value": 100.0})
INITS.add("zeros", zeros, "all weights and biases zero")


def parse_init(spec: str) -> tuple[str, dict[str, float]]:
    """``NAME`` or ``NAME:VALUE`` (``constant:100``, ``normal:0.5``) as the initializer's name
    and keyword arguments, the value being its one parameter (``value``, ``std``,
    ``gain``); a one-line NNBenchError when the name takes no value or the value is not a
    number."""
    name, sep, text = str(spec).partition(":")
    if not sep:
        return name, {}
    params = list(INITS.get(name).defaults)
    if len(params) != 1:
        raise NNBenchError(f"init '{name}' takes no value; give '{name}' alone, or one of "
                           "constant:VALUE, normal:STD, xavier_uniform:GAIN, "
                           "xavier_normal:GAIN")
    try:
        value = float(text)
    except ValueError:
        raise NNBenchError(f"init '{spec}': {params[0]} must be a number, e.g. "
                           f"{name}:{INITS.get(name).defaults[params[0]]:g}") from None
    return name, {params[0]: value}


def initializer(name: str, **kwargs):
    """Build the registered initializer ``name`` (or ``NAME:VALUE``, see
    :func:`parse_init`) with its keyword arguments."""
    base, given = parse_init(name)
    return INITS.build(base, **{**given, **kwargs})
