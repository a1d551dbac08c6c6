"""The figures' palette: every two optimizers, and every two activations, are told apart.

The colour difference is CIEDE2000 (Sharma, Wu and Dalal, 2005), written out here from the
paper and checked against pairs of its published test data.
"""

import itertools
import math

import pytest

from nnbench.plots.style import ACTIVATION_NAMES, OPTIMIZER_NAMES, PALETTE

MIN_DELTA_E = 15.0


def srgb_to_lab(hex_colour: str) -> tuple[float, float, float]:
    """CIELAB (D65) of an sRGB colour ``#rrggbb``."""
    rgb = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [((c + 0.055) / 1.055) ** 2.4 if c > 0.04045 else c / 12.92 for c in rgb]
    m = [(0.4124, 0.3576, 0.1805), (0.2126, 0.7152, 0.0722), (0.0193, 0.1192, 0.9505)]
    white = (0.95047, 1.0, 1.08883)
    xyz = [sum(m[i][j] * lin[j] for j in range(3)) / white[i] for i in range(3)]
    d = 6 / 29
    f = [t ** (1 / 3) if t > d ** 3 else t / (3 * d * d) + 4 / 29 for t in xyz]
    return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


def ciede2000(lab1, lab2) -> float:
    L1, a1, b1 = lab1
    L2, a2, b2 = lab2
    cbar = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(cbar ** 7 / (cbar ** 7 + 25 ** 7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = math.hypot(a1p, b1), math.hypot(a2p, b2)
    h1 = math.degrees(math.atan2(b1, a1p)) % 360 if c1p else 0.0
    h2 = math.degrees(math.atan2(b2, a2p)) % 360 if c2p else 0.0
    dl, dc = L2 - L1, c2p - c1p
    if c1p * c2p == 0:
        dh = 0.0
    elif abs(h2 - h1) <= 180:
        dh = h2 - h1
    else:
        dh = h2 - h1 - 360 if h2 - h1 > 180 else h2 - h1 + 360
    dH = 2 * math.sqrt(c1p * c2p) * math.sin(math.radians(dh / 2))
    lbar, cbarp = (L1 + L2) / 2, (c1p + c2p) / 2
    if c1p * c2p == 0:
        hbar = h1 + h2
    elif abs(h1 - h2) <= 180:
        hbar = (h1 + h2) / 2
    else:
        hbar = (h1 + h2 + 360) / 2 if h1 + h2 < 360 else (h1 + h2 - 360) / 2
    t = (1 - 0.17 * math.cos(math.radians(hbar - 30)) + 0.24 * math.cos(math.radians(2 * hbar))
         + 0.32 * math.cos(math.radians(3 * hbar + 6))
         - 0.20 * math.cos(math.radians(4 * hbar - 63)))
    dtheta = 30 * math.exp(-(((hbar - 275) / 25) ** 2))
    rc = 2 * math.sqrt(cbarp ** 7 / (cbarp ** 7 + 25 ** 7))
    sl = 1 + 0.015 * (lbar - 50) ** 2 / math.sqrt(20 + (lbar - 50) ** 2)
    sc, sh = 1 + 0.045 * cbarp, 1 + 0.015 * cbarp * t
    rt = -math.sin(math.radians(2 * dtheta)) * rc
    return math.sqrt((dl / sl) ** 2 + (dc / sc) ** 2 + (dH / sh) ** 2
                     + rt * (dc / sc) * (dH / sh))


@pytest.mark.parametrize("lab1, lab2, expected", [  # Sharma et al.'s Table 1, pairs 1, 7, 17
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
    ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
])
def test_ciede2000_matches_the_published_pairs(lab1, lab2, expected):
    assert ciede2000(lab1, lab2) == pytest.approx(expected, abs=1e-4)


def test_white_and_black_are_the_ends_of_lightness():
    assert srgb_to_lab("#ffffff") == pytest.approx((100.0, 0.0, 0.0), abs=0.02)
    assert srgb_to_lab("#000000") == pytest.approx((0.0, 0.0, 0.0), abs=1e-9)


@pytest.mark.parametrize("names", [OPTIMIZER_NAMES, ACTIVATION_NAMES],
                         ids=["optimizers", "activations"])
def test_every_pair_of_the_palette_is_told_apart(names):
    assert all(n in PALETTE for n in names)
    close = [(a, b, round(ciede2000(srgb_to_lab(PALETTE[a]), srgb_to_lab(PALETTE[b])), 1))
             for a, b in itertools.combinations(names, 2)
             if ciede2000(srgb_to_lab(PALETTE[a]), srgb_to_lab(PALETTE[b])) < MIN_DELTA_E]
    assert close == []


def test_momentum_and_rmsprop_are_not_both_orange():
    lab_m, lab_r = srgb_to_lab(PALETTE["momentum"]), srgb_to_lab(PALETTE["rmsprop"])
    hue = [math.degrees(math.atan2(lab[2], lab[1])) % 360 for lab in (lab_m, lab_r)]
    assert abs(hue[0] - hue[1]) > 60
