"""Record torch.optim trajectories as fixtures for tests/test_optimizers.py and
tests/test_schedules.py.

Needs PyTorch (``pip install torch==2.13.0``, CPU is enough) and NumPy; nnbench itself
is not imported, so the fixtures are an independent oracle. Run from the repository
root::

    python tests/reference/make_optim_fixtures.py

and commit the ``tests/reference/optim_*.npz`` files it writes (np.savez_compressed,
no pickled objects: hyperparameters are stored as JSON text). The tests load them with
``allow_pickle=False`` and never need torch.

Files:

- ``optim_<name>.npz`` for every optimizer torch has among nnbench's: for each of at
  least three hyperparameter sets ``c<j>``,

  * ``c<j>_hypers``: JSON of the keyword arguments (torch names; ``betas`` a list);
  * ``c<j>_seq_p<i>``: parameter ``i`` at the steps ``seq_steps`` when the gradients
    are the fixed random sequence of ``optim_grads.npz`` (they do not depend on the
    parameters);
  * ``c<j>_mlp_p<i>``: parameter ``i`` (nnbench's layout: ``W`` as ``(fan_in, fan_out)``,
    ``b`` as ``(1, fan_out)``) at the steps ``mlp_steps`` of full-batch training of a
    3-8-8-2 tanh MLP with the mean squared error on the fixed data of
    ``optim_mlp.npz``; ``c<j>_mlp_loss`` the loss before each step.
- ``optim_grads.npz``: the initial parameters ``p<i>`` and gradients ``g<i>``
  (``(STEPS, *shape)``) of the fixed sequence.
- ``optim_mlp.npz``: ``X``, ``Y``, the initial parameters ``p<i>`` in nnbench's layout.
- ``optim_sched.npz``: training of the same MLP with gradient clipping (max_norm) and
  a learning-rate scheduler; per case ``s<j>_*``: ``hypers``, ``sched`` (JSON),
  ``p<i>`` snapshots, ``norms`` (the norm clip_grad_norm_ returned at each step) and
  ``lrs`` (the learning rate used at each step).
- ``optim_schedules.npz``: the factors ``lr_t / lr`` of torch.optim.lr_scheduler over
  60 steps for StepLR, ExponentialLR, CosineAnnealingLR, LinearLR warmup, and warmup
  followed by cosine (SequentialLR).
- ``optim_clip.npz``: gradients before and after torch.nn.utils.clip_grad_norm_, one
  call per run, and the norms it returned.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

OUT = Path(__file__).resolve().parent
STEPS = 200
SNAP = np.array(sorted(set(range(0, 11)) | set(range(20, STEPS + 1, 10))))

# nnbench name -> (torch class, hyperparameter sets); every set gives lr explicitly and
# leaves the rest at torch's defaults unless it varies them. The sets keep the MLP's
# float64 training out of chaotic regimes (adadelta at lr 1.0, centered RMSProp with
# alpha 0.9 on this problem amplify a 1e-14 perturbation of the initial weights to
# 1e-2 and 1e-8 within 200 steps), where no two implementations agree to 1e-6.
CONFIGS: dict[str, tuple[str, list[dict]]] = {
    "sgd": ("SGD", [
        {"lr": 0.05},
        {"lr": 0.05, "weight_decay": 0.01},
        {"lr": 0.03, "momentum": 0.5, "dampening": 0.3, "weight_decay": 0.001},
        {"lr": 0.002, "maximize": True},
    ]),
    "momentum": ("SGD", [
        {"lr": 0.01, "momentum": 0.9},
        {"lr": 0.02, "momentum": 0.8, "dampening": 0.1},
        {"lr": 0.01, "momentum": 0.9, "weight_decay": 0.01},
    ]),
    "nesterov": ("SGD", [
        {"lr": 0.01, "momentum": 0.9, "nesterov": True},
        {"lr": 0.02, "momentum": 0.5, "nesterov": True, "weight_decay": 0.01},
        {"lr": 0.005, "momentum": 0.99, "nesterov": True},
    ]),
    "adagrad": ("Adagrad", [
        {"lr": 0.05},
        {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.01},
        {"lr": 0.05, "initial_accumulator_value": 0.1, "eps": 1e-6},
    ]),
    "rmsprop": ("RMSprop", [
        {"lr": 1e-3},
        {"lr": 1e-3, "centered": True, "alpha": 0.95},
        {"lr": 5e-4, "momentum": 0.9, "weight_decay": 0.01},
        {"lr": 1e-3, "centered": True, "momentum": 0.5, "eps": 1e-4},
    ]),
    "adam": ("Adam", [
        {"lr": 1e-3},
        {"lr": 5e-3, "betas": [0.8, 0.99], "amsgrad": True},
        {"lr": 1e-3, "weight_decay": 0.01, "eps": 1e-6},
        {"lr": 2e-3, "weight_decay": 0.1, "decoupled_weight_decay": True},
    ]),
    "adamw": ("AdamW", [
        {"lr": 1e-3},
        {"lr": 5e-3, "weight_decay": 0.1, "amsgrad": True},
        {"lr": 1e-3, "betas": [0.95, 0.9]},
    ]),
    "nadam": ("NAdam", [
        {"lr": 2e-3},
        {"lr": 2e-3, "momentum_decay": 0.01, "weight_decay": 0.01},
        {"lr": 2e-3, "weight_decay": 0.05, "decoupled_weight_decay": True, "betas": [0.8, 0.99]},
    ]),
    "radam": ("RAdam", [
        {"lr": 1e-3},
        {"lr": 2e-3, "weight_decay": 0.01},
        {"lr": 1e-3, "weight_decay": 0.05, "decoupled_weight_decay": True, "betas": [0.9, 0.99]},
        {"lr": 1e-3, "betas": [0.9, 0.6]},  # rho_inf = 4: never rectified, SGD with momentum
    ]),
    "adamax": ("Adamax", [
        {"lr": 2e-3},
        {"lr": 2e-3, "weight_decay": 0.01, "betas": [0.8, 0.99]},
        {"lr": 1e-2, "eps": 1e-3},
    ]),
    "adadelta": ("Adadelta", [
        {"lr": 0.5},
        {"lr": 0.5, "rho": 0.95, "weight_decay": 0.01},
        {"lr": 0.5, "eps": 1e-4},
    ]),
}

SEQ_SHAPES = [(3, 4), (1, 4), (5,)]
SIZES = [3, 8, 8, 2]


def _kwargs(hypers: dict) -> dict:
    kw = dict(hypers)
    if "betas" in kw:
        kw["betas"] = tuple(kw["betas"])
    return kw


def make_sequence(rng: np.random.Generator) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Initial parameters and STEPS random gradients whose scale varies over 3 decades."""
    p0 = [rng.normal(size=s) for s in SEQ_SHAPES]
    scales = 10.0 ** rng.uniform(-2.0, 1.0, size=STEPS)
    grads = [rng.normal(size=(STEPS, *s)) * scales.reshape((-1,) + (1,) * len(s))
             for s in SEQ_SHAPES]
    return p0, grads


def run_sequence(cls: str, hypers: dict, p0, grads) -> list[np.ndarray]:
    params = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in p0]
    opt = getattr(torch.optim, cls)(params, **_kwargs(hypers))
    snaps = [[] for _ in params]
    for t in range(STEPS + 1):
        if t in SNAP:
            for s, p in zip(snaps, params, strict=True):
                s.append(p.detach().numpy().copy())
        if t == STEPS:
            break
        for p, g in zip(params, grads, strict=True):
            p.grad = torch.tensor(g[t], dtype=torch.float64)
        opt.step()
    return [np.stack(s) for s in snaps]


def make_mlp(seed: int = 0):
    torch.manual_seed(seed)
    layers = []
    for i, (a, b) in enumerate(zip(SIZES[:-1], SIZES[1:], strict=True)):
        layers.append(torch.nn.Linear(a, b, dtype=torch.float64))
        if i < len(SIZES) - 2:
            layers.append(torch.nn.Tanh())
    return torch.nn.Sequential(*layers)


def mlp_params(net) -> list[torch.Tensor]:
    """[W1, b1, W2, b2, ...] in torch's layout (out, in) and (out,)."""
    return [t for lin in net if isinstance(lin, torch.nn.Linear) for t in (lin.weight, lin.bias)]


def to_nnbench(params) -> list[np.ndarray]:
    """torch's (out, in) weights and (out,) biases as nnbench's (in, out) and (1, out)."""
    out = []
    for i, p in enumerate(params):
        a = p.detach().numpy().copy()
        out.append(a.T.copy() if i % 2 == 0 else a[None, :])
    return out


def run_mlp(cls: str, hypers: dict, X, Y, init_state, sched=None, max_norm=None):
    net = make_mlp()
    net.load_state_dict(init_state)
    params = mlp_params(net)
    opt = getattr(torch.optim, cls)(params, **_kwargs(hypers))
    scheduler = make_scheduler(opt, sched) if sched else None
    Xt, Yt = torch.tensor(X), torch.tensor(Y)
    snaps = [[] for _ in params]
    losses, norms, lrs = [], [], []
    for t in range(STEPS + 1):
        if t in SNAP:
            for s, a in zip(snaps, to_nnbench(params), strict=True):
                s.append(a)
        if t == STEPS:
            break
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(net(Xt), Yt)
        loss.backward()
        losses.append(loss.item())
        if max_norm is not None:
            norms.append(torch.nn.utils.clip_grad_norm_(params, max_norm).item())
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        if scheduler is not None:
            scheduler.step()
    return [np.stack(s) for s in snaps], np.array(losses), np.array(norms), np.array(lrs)


def make_scheduler(opt, spec: dict):
    """torch's scheduler for a spec ``{"name": ..., **kw}`` in nnbench's schedule names."""
    s = torch.optim.lr_scheduler
    kw = {k: v for k, v in spec.items() if k not in ("name", "warmup_steps")}
    warm = spec.get("warmup_steps", 0)
    name = spec["name"]
    base_lr = opt.param_groups[0]["lr"]

    def main():
        if name == "step":
            return s.StepLR(opt, step_size=kw["step_size"], gamma=kw["gamma"])
        if name == "exponential":
            return s.ExponentialLR(opt, gamma=kw["gamma"])
        if name == "cosine":
            return s.CosineAnnealingLR(opt, T_max=kw["T_max"],
                                       eta_min=kw.get("eta_min", 0.0) * base_lr)
        if name == "constant":
            return s.ConstantLR(opt, factor=1.0, total_iters=0)
        raise ValueError(name)

    if not warm:
        return main()
    warmup = s.LinearLR(opt, start_factor=1.0 / warm, end_factor=1.0, total_iters=warm - 1)
    if name == "constant":
        return warmup
    return s.SequentialLR(opt, [warmup, main()], milestones=[warm])


SCHEDULE_CASES = [
    {"name": "step", "step_size": 7, "gamma": 0.5},
    {"name": "exponential", "gamma": 0.97},
    {"name": "cosine", "T_max": 50, "eta_min": 0.0},
    {"name": "cosine", "T_max": 40, "eta_min": 0.1},
    {"name": "constant", "warmup_steps": 10},
    {"name": "cosine", "T_max": 40, "eta_min": 0.05, "warmup_steps": 8},
    {"name": "step", "step_size": 10, "gamma": 0.3, "warmup_steps": 5},
]

SCHED_MLP_CASES = [
    ("adam", "Adam", {"lr": 5e-3}, {"name": "cosine", "T_max": 180, "eta_min": 0.1,
                                     "warmup_steps": 20}, 0.5),
    ("momentum", "SGD", {"lr": 0.05, "momentum": 0.9}, {"name": "step", "step_size": 50,
                                                          "gamma": 0.5}, 0.2),
    ("adagrad", "Adagrad", {"lr": 0.05, "lr_decay": 0.01},
     {"name": "exponential", "gamma": 0.99}, 0.3),
]


def schedule_factors(spec: dict, n: int = 60) -> np.ndarray:
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=1.0)
    sched = make_scheduler(opt, spec)
    out = []
    for _ in range(n):
        out.append(opt.param_groups[0]["lr"])
        p.grad = torch.zeros(1)
        opt.step()
        sched.step()
    return np.array(out)


def clip_cases(rng: np.random.Generator) -> dict[str, np.ndarray]:
    runs, shapes = 4, [(3, 5), (1, 5), (5, 2)]
    scale = np.array([0.01, 0.3, 3.0, 30.0])  # some runs below max_norm, some above
    grads = [rng.normal(size=(runs, *s)) * scale.reshape(-1, 1, 1) for s in shapes]
    out = {f"g{i}": g for i, g in enumerate(grads)}
    for max_norm in (1.0, 2.5):
        after = [g.copy() for g in grads]
        norms = []
        for r in range(runs):
            ts = [torch.tensor(g[r]) for g in grads]
            for t in ts:
                t.grad = t.clone()
            norms.append(torch.nn.utils.clip_grad_norm_(ts, max_norm).item())
            for a, t in zip(after, ts, strict=True):
                a[r] = t.grad.numpy()
        key = f"{max_norm:g}".replace(".", "_")
        out.update({f"m{key}_g{i}": a for i, a in enumerate(after)})
        out[f"m{key}_norms"] = np.array(norms)
    return out


def main() -> None:
    torch.set_default_dtype(torch.float64)
    rng = np.random.default_rng(20190502)

    p0, grads = make_sequence(rng)
    np.savez_compressed(OUT / "optim_grads.npz",
                        **{f"p{i}": p for i, p in enumerate(p0)},
                        **{f"g{i}": g for i, g in enumerate(grads)})

    X = rng.normal(size=(16, SIZES[0]))
    Y = np.stack([np.sin(X[:, 0] + X[:, 1]), np.tanh(X[:, 2] - 0.5 * X[:, 0])], axis=1)
    net = make_mlp()
    init_state = {k: v.clone() for k, v in net.state_dict().items()}
    np.savez_compressed(OUT / "optim_mlp.npz", X=X, Y=Y,
                        **{f"p{i}": p for i, p in enumerate(to_nnbench(mlp_params(net)))})

    for name, (cls, sets) in CONFIGS.items():
        data: dict[str, np.ndarray] = {"seq_steps": SNAP, "mlp_steps": SNAP,
                                       "torch_class": np.array(cls)}
        for j, hypers in enumerate(sets):
            data[f"c{j}_hypers"] = np.array(json.dumps(hypers))
            for i, s in enumerate(run_sequence(cls, hypers, p0, grads)):
                data[f"c{j}_seq_p{i}"] = s
            snaps, losses, _, _ = run_mlp(cls, hypers, X, Y, init_state)
            for i, s in enumerate(snaps):
                data[f"c{j}_mlp_p{i}"] = s
            data[f"c{j}_mlp_loss"] = losses
        np.savez_compressed(OUT / f"optim_{name}.npz", **data)
        print(f"optim_{name}.npz: {len(sets)} hyperparameter sets")

    data = {"steps": SNAP}
    for j, (name, cls, hypers, sched, max_norm) in enumerate(SCHED_MLP_CASES):
        snaps, losses, norms, lrs = run_mlp(cls, hypers, X, Y, init_state, sched, max_norm)
        data[f"s{j}_name"] = np.array(name)
        data[f"s{j}_hypers"] = np.array(json.dumps(hypers))
        data[f"s{j}_sched"] = np.array(json.dumps(sched))
        data[f"s{j}_max_norm"] = np.array(max_norm)
        data.update({f"s{j}_p{i}": s for i, s in enumerate(snaps)})
        data[f"s{j}_norms"], data[f"s{j}_lrs"], data[f"s{j}_loss"] = norms, lrs, losses
    np.savez_compressed(OUT / "optim_sched.npz", **data)

    data = {}
    for j, spec in enumerate(SCHEDULE_CASES):
        data[f"k{j}_spec"] = np.array(json.dumps(spec))
        data[f"k{j}_factors"] = schedule_factors(spec)
    np.savez_compressed(OUT / "optim_schedules.npz", **data)

    np.savez_compressed(OUT / "optim_clip.npz", **clip_cases(rng))
    print("done")


if __name__ == "__main__":
    main()
