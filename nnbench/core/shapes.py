"""The shape of an activation: ``f(z)``, ``f'(z)`` and where a unit saturates (notes 000,
001).

An activation is named as on the command line with its parameters after a colon,
``NAME[:KEY=VALUE,...]``: ``leaky_relu:negative_slope=0.1``, ``elu:alpha=0.5``. ``beta`` is
the input slope of the notes' sigmoid ``1 / (1 + e^(-beta z))`` (notes 000) and applies to
any activation: ``f_beta(z) = f(beta z)``, ``f_beta'(z) = beta f'(beta z)``. A unit is
saturated where its derivative is below 5% of its largest value (the ``saturated_frac`` of
the layer statistics), which for sigmoid is ``|beta z| > 4.36``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nnbench.core.activations import ACTIVATIONS, Maxout, activation
from nnbench.core.errors import NNBenchError

SATURATED = 0.05  # a derivative below this fraction of its maximum: saturated


@dataclass
class Shape:
    """One activation's curve: its spec, ``z``, ``f(z)``, ``f'(z)`` and the mask where it is
    saturated (``None`` for the ReLU family, whose units die rather than saturate)."""

    spec: str
    name: str
    params: dict[str, float] = field(default_factory=dict)
    beta: float = 1.0
    z: np.ndarray | None = None
    f: np.ndarray | None = None
    df: np.ndarray | None = None
    saturated: np.ndarray | None = None

    @property
    def max_grad(self) -> float:
        return float(np.max(self.df))


def parse_spec(spec: str) -> tuple[str, dict[str, float], float]:
    """``"sigmoid:beta=2"`` -> ``("sigmoid", {}, 2.0)``; the activation's own parameters
    in the dict. Unknown names and malformed parameters raise NNBenchError."""
    name, _, rest = spec.strip().partition(":")
    name = name.strip()
    if name not in ACTIVATIONS:
        ACTIVATIONS.get(name)  # raises with the valid names
    params: dict[str, float] = {}
    beta = 1.0
    for item in (p for p in rest.split(",") if p.strip()) if rest else ():
        key, sep, text = item.partition("=")
        key = key.strip()
        try:
            value = float(text)
        except ValueError:
            value = None
        if not sep or not key or value is None:
            raise NNBenchError(f"activation parameter must be KEY=NUMBER (e.g. "
                               f"sigmoid:beta=2), got {item.strip()!r} in {spec!r}")
        if key == "beta":
            if not value > 0:
                raise NNBenchError(f"beta must be > 0, got {value:g} in {spec!r}")
            beta = value
        else:
            params[key] = value
    return name, params, beta


def shape(spec: str, z: np.ndarray) -> Shape:
    """The curve of activation ``spec`` over ``z`` (float64)."""
    name, params, beta = parse_spec(spec)
    act = activation(name, **params)
    if isinstance(act, Maxout) or act.random or not act.differentiable:
        raise NNBenchError(f"activation {name!r} has no single curve with a derivative to "
                           "draw; give an elementwise differentiable one (sigmoid, tanh, relu, "
                           "...)")
    z = np.asarray(z, dtype=np.float64)
    u = beta * z
    slope = np.full_like(u, act.init) if act.learnable else None
    f = act(u, slope)
    df = beta * act.grad(u, f, slope)
    sat = None
    if act.stat == "saturated_frac":
        sat = df < SATURATED * float(np.max(df))
    return Shape(spec.strip(), name, params, beta, z, f, df, sat)


def intervals(mask: np.ndarray, z: np.ndarray) -> list[tuple[float, float]]:
    """The ``z`` intervals where ``mask`` holds, as ``(start, end)`` pairs."""
    out = []
    m = np.asarray(mask, dtype=bool)
    edges = np.flatnonzero(np.diff(np.concatenate([[False], m, [False]]).astype(int)))
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        out.append((float(z[a]), float(z[b - 1])))
    return out
