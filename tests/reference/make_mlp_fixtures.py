"""Record PyTorch autograd losses and gradients of MLPs, the oracle of tests/test_mlp.py.

Needs PyTorch (``pip install torch==2.13.0``, CPU is enough); the tests themselves only
read the ``.npz`` files this writes. Run from the repository root:

    python tests/reference/make_mlp_fixtures.py

For every activation (except ``step``) and every depth 1 to 6 (hidden layers), the
weights, biases, inputs and targets are drawn with NumPy in float64 and copied into
torch, so no random-number matching is needed; torch computes the forward pass, the loss
and, by autograd, the gradient of every parameter. Two runs are stacked per case, each
computed separately in torch, to exercise the runs axis. One file per activation,
``tests/reference/mlp_<activation>.npz``; keys ``d<depth>_<loss>_<name>``.

The output layer is linear (``z = a W + b``, ``W`` stored ``(fan_in, fan_out)`` as
nnbench does, i.e. the transpose of ``nn.Linear.weight``), the losses are torch's:
``mse`` = ``MSELoss``, ``half_sse`` = ``0.5 * ((out - y)**2).sum(1).mean()``,
``bce_with_logits`` = ``BCEWithLogitsLoss``, ``softmax_cross_entropy`` =
``CrossEntropyLoss``, ``hinge`` = ``MultiMarginLoss`` (p=1, margin=1).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
RUNS, N, N_IN, WIDTH = 2, 7, 3, 5
DEPTHS = range(1, 7)
ACTS = ["sigmoid", "tanh", "relu", "leaky_relu", "prelu", "rrelu", "rrelu_train",
        "softplus", "elu", "selu", "gelu", "silu"]
#: loss name -> number of outputs
LOSSES = {"mse": 2, "half_sse": 2, "softmax_cross_entropy": 3, "bce_with_logits": 1,
          "hinge": 3}
#: depth -> the losses recorded at that depth (mse and softmax cross-entropy at all)
LOSSES_AT = {d: ["mse", "softmax_cross_entropy"] for d in DEPTHS}
LOSSES_AT[2] = list(LOSSES)
LOSSES_AT[3] = ["mse", "softmax_cross_entropy", "hinge", "bce_with_logits"]


def torch_act(name: str, z: torch.Tensor, slope: torch.Tensor | None) -> torch.Tensor:
    if name == "sigmoid":
        return torch.sigmoid(z)
    if name == "tanh":
        return torch.tanh(z)
    if name == "relu":
        return F.relu(z)
    if name == "leaky_relu":
        return F.leaky_relu(z, 0.01)
    if name == "prelu":
        return F.prelu(z, slope)
    if name == "rrelu":
        return F.rrelu(z, 1.0 / 8.0, 1.0 / 3.0, training=False)
    if name == "rrelu_train":  # torch's training formula with the drawn slopes held fixed
        return torch.where(z >= 0, z, z * slope)
    if name == "softplus":
        return F.softplus(z, beta=1.0, threshold=20.0)
    if name == "elu":
        return F.elu(z, alpha=1.0)
    if name == "selu":
        return F.selu(z)
    if name == "gelu":
        return F.gelu(z, approximate="none")
    if name == "silu":
        return F.silu(z)
    raise KeyError(name)


def torch_loss(name: str, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if name == "mse":
        return F.mse_loss(out, y)
    if name == "half_sse":
        return 0.5 * ((out - y) ** 2).sum(dim=1).mean()
    if name == "softmax_cross_entropy":
        return F.cross_entropy(out, y)
    if name == "bce_with_logits":
        return F.binary_cross_entropy_with_logits(out[:, 0], y.to(out.dtype))
    if name == "hinge":
        return F.multi_margin_loss(out, y, p=1, margin=1.0)
    raise KeyError(name)


def case(act: str, depth: int, loss: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
    k = LOSSES[loss]
    sizes = [N_IN] + [WIDTH] * depth + [k]
    rec: dict[str, np.ndarray] = {"sizes": np.array(sizes)}
    rec["X"] = rng.normal(0.0, 1.5, size=(N, N_IN))
    if loss in ("mse", "half_sse"):
        rec["Y"] = rng.normal(size=(RUNS, N, k))
    else:
        rec["Y"] = rng.integers(0, max(k, 2), size=(RUNS, N))
    for i, (fi, fo) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=1):
        rec[f"W{i}"] = rng.normal(0.0, 1.2 / np.sqrt(fi), size=(RUNS, fi, fo))
        rec[f"b{i}"] = rng.normal(0.0, 0.3, size=(RUNS, 1, fo))
    for i in range(1, depth + 1):
        if act == "prelu":
            rec[f"s{i}"] = rng.uniform(0.05, 0.5, size=(RUNS, 1, WIDTH))
        if act == "rrelu_train":
            rec[f"noise{i}"] = rng.uniform(1.0 / 8.0, 1.0 / 3.0, size=(RUNS, N, WIDTH))
    n_layers = depth + 1
    losses, outs = [], []
    grads: dict[str, list[np.ndarray]] = {}
    for r in range(RUNS):
        Ws = [torch.tensor(rec[f"W{i}"][r], requires_grad=True) for i in range(1, n_layers + 1)]
        bs = [torch.tensor(rec[f"b{i}"][r, 0], requires_grad=True)
              for i in range(1, n_layers + 1)]
        slopes: list[torch.Tensor | None] = [None] * depth
        if act == "prelu":
            slopes = [torch.tensor(rec[f"s{i}"][r, 0], requires_grad=True)
                      for i in range(1, depth + 1)]
        if act == "rrelu_train":
            slopes = [torch.tensor(rec[f"noise{i}"][r]) for i in range(1, depth + 1)]
        a = torch.tensor(rec["X"])
        for i in range(depth):
            a = torch_act(act, a @ Ws[i] + bs[i], slopes[i])
        out = a @ Ws[-1] + bs[-1]
        y = torch.tensor(rec["Y"][r])
        value = torch_loss(loss, out, y)
        value.backward()
        losses.append(value.item())
        outs.append(out.detach().numpy())
        for i in range(n_layers):
            grads.setdefault(f"gW{i + 1}", []).append(Ws[i].grad.numpy())
            grads.setdefault(f"gb{i + 1}", []).append(bs[i].grad.numpy()[None, :])
        if act == "prelu":
            for i in range(depth):
                grads.setdefault(f"gs{i + 1}", []).append(slopes[i].grad.numpy()[None, :])
    rec["loss"] = np.array(losses)
    rec["out"] = np.stack(outs)
    rec.update({key: np.stack(v) for key, v in grads.items()})
    return rec


def main() -> None:
    torch.set_default_dtype(torch.float64)
    for act in ACTS:
        rng = np.random.default_rng(1000 + ACTS.index(act))
        arrays: dict[str, np.ndarray] = {}
        for depth in DEPTHS:
            for loss in LOSSES_AT[depth]:
                for key, value in case(act, depth, loss, rng).items():
                    arrays[f"d{depth}_{loss}_{key}"] = value
        path = HERE / f"mlp_{act}.npz"
        np.savez_compressed(path, **arrays)
        print(f"{path.name}: {len(arrays)} arrays")


if __name__ == "__main__":
    main()
