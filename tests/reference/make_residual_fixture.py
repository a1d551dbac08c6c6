"""Record PyTorch autograd losses and gradients of residual MLPs, the oracle of
tests/test_residual.py.

Needs PyTorch (``pip install torch==2.13.0``, CPU is enough); the tests only read the
``.npz`` this writes. Run from the repository root:

    python tests/reference/make_residual_fixture.py

MNIST-1D's MLP (``models.py`` of the paper's code): ``h = relu(linear1(x))``, then
``h = h + relu(linear2(h))`` for every further hidden layer of the same width, then a linear
output; here at small sizes (3 inputs, hidden widths 4, 4, 4 and 4, 4, 5, 5, 2 outputs or 3
classes) with ReLU, tanh and sigmoid, inputs and weights drawn with NumPy in float64 and
copied into torch. Keys ``<act>_<case>_<name>``: ``sizes``, ``X``, ``Y``, ``p<i>``
(nnbench's parameter order, ``W`` as ``(fan_in, fan_out)``), ``loss``, ``g<i>``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
CASES = {"a": ([3, 4, 4, 4, 2], "mse"), "b": ([3, 4, 4, 5, 5, 3], "softmax_cross_entropy")}
ACTS = {"relu": F.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}


def main() -> None:
    out: dict[str, np.ndarray] = {}
    rng = np.random.default_rng(20261202)
    for act, f in ACTS.items():
        for case, (sizes, loss) in CASES.items():
            key = f"{act}_{case}_"
            X = rng.normal(size=(9, sizes[0]))
            params = []
            for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
                params += [rng.normal(0, 0.6, size=(fan_in, fan_out)),
                           rng.normal(0, 0.3, size=(1, fan_out))]
            if loss == "mse":
                Y = rng.normal(size=(9, sizes[-1]))
            else:
                Y = rng.integers(0, sizes[-1], size=9)
            ts = [torch.tensor(p, requires_grad=True) for p in params]
            h = torch.tensor(X)
            for layer in range(len(sizes) - 2):
                z = h @ ts[2 * layer] + ts[2 * layer + 1]
                residual = layer > 0 and sizes[layer] == sizes[layer + 1]
                h = h + f(z) if residual else f(z)
            o = h @ ts[-2] + ts[-1]
            if loss == "mse":
                C = F.mse_loss(o, torch.tensor(Y))
            else:
                C = F.cross_entropy(o, torch.tensor(Y))
            C.backward()
            out[key + "sizes"] = np.array(sizes)
            out[key + "X"], out[key + "Y"] = X, Y
            out[key + "loss"] = np.array(C.item())
            for i, (p, t) in enumerate(zip(params, ts, strict=True)):
                out[key + f"p{i}"] = p
                out[key + f"g{i}"] = t.grad.numpy()
    np.savez(HERE / "residual.npz", **out)


if __name__ == "__main__":
    main()
