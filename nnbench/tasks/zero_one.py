"""The ``zero-one`` task: notes 003's 4x3 black-and-white images of the digits 0 and 1.

The notes' worked example tells a handwritten 0 from a 1 with a 12-3-2 sigmoid network: the
12 pixels of a 4-row, 3-column image (1 black, 0 white) are the inputs ``x_1..x_12`` (row by
row), and the two output units are read against one-hot targets, ``t_1 = 1`` for a 0 and
``t_2 = 1`` for a 1. The notes draw several such images; here are 34, 17 of each digit:
rings with a corner or a pixel missing for the 0s, strokes in each column, with a flag, a
foot or a stray pixel for the 1s. They alternate, 0 then 1, so example ``k`` (1-based, the
notes' ``C_k``) is a 0 for odd ``k``. The pixels are used raw (not standardized) and every
image is a training example (no test split), as in the notes.
"""

from __future__ import annotations

import numpy as np

from nnbench.tasks.base import BASE_DEFAULTS, register
from nnbench.tasks.classification import ClassificationTask

#: image rows and columns
ROWS, COLS = 4, 3

_ZEROS = """
### .#. .## ##. ### .#. ### ### .## ##. ### ### .## ##. ### ### .#.
#.# #.# #.# #.# #.# #.# #.# #.# #.# #.# #.. #.# #.# #.# ..# #.# #.#
#.# #.# #.# #.# #.# #.# #.# #.# #.# #.# #.# ..# #.# #.# #.# #.. #.#
### .#. ##. .## .#. ### ##. .## ### ### ### ### .## ##. ### ### ##.
"""

_ONES = """
.#. ##. .#. ##. #.. ..# .#. .#. ..# .#. ..# .#. ... .## .#. .#. ..#
.#. .#. .#. .#. #.. ..# ##. .#. .## ##. .#. .#. .#. ..# .#. .#. ..#
.#. .#. .#. .#. #.. ..# .#. .#. ..# .#. .#. .#. .#. ..# .## ##. .##
.#. .#. ### ### #.. ..# .#. .## ..# ### #.. ... .#. ..# .#. .#. ..#
"""


def _parse(art: str) -> np.ndarray:
    """Images drawn side by side, ``#`` black (1) and ``.`` white (0): ``(k, ROWS, COLS)``."""
    rows = [line.split() for line in art.strip().splitlines()]
    return np.array([[[c == "#" for c in rows[r][i]] for r in range(ROWS)]
                     for i in range(len(rows[0]))], dtype=np.int64)


def zero_one_images() -> tuple[np.ndarray, np.ndarray]:
    """The 34 images ``(34, 4, 3)`` of 0/1 pixels and their labels ``(34,)`` (0 or 1),
    alternating 0, 1, 0, 1, ..."""
    zeros, ones = _parse(_ZEROS), _parse(_ONES)
    images = np.empty((len(zeros) + len(ones), ROWS, COLS), dtype=np.int64)
    images[0::2], images[1::2] = zeros, ones
    labels = np.tile(np.array([0, 1], dtype=np.int64), len(zeros))
    return images, labels


def draw(image: np.ndarray) -> list[str]:
    """An image as text, one line per row: ``#`` black, ``.`` white."""
    return ["".join("#" if v else "." for v in row) for row in np.asarray(image)]


class ZeroOneTask(ClassificationTask):
    """Notes 003's 4x3 images of 0 and 1 (see the module): 12 raw pixel inputs, 2 classes."""

    salt = 213

    def generate(self, seed: int, dtype: np.dtype):
        images, labels = zero_one_images()
        return images.reshape(len(images), ROWS * COLS).astype(dtype), labels, None, None


register(
    "zero-one", ZeroOneTask,
    "notes 003's 34 black-and-white 4x3 images of 0 and 1, pixels as 12 inputs; suggested: "
    "the notes' 12-3-2 sigmoid network, sigmoid outputs, half squared error on one-hot "
    "targets",
    {**BASE_DEFAULTS, "act": "sigmoid", "depth": 1, "width": 3, "out_act": "sigmoid",
     "loss": "half_sse", "optim": "sgd", "lr": 2.0, "steps": 2000, "val_frac": 0.0},
    {"standardize": False},
)
