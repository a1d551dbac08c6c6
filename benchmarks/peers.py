"""The vectorized peers of ``bench.py``: JAX (jit of the step, scan over the steps, vmap over
the runs) and ``torch.func`` (``stack_module_state`` + ``vmap``), each the same workload as
nnbench's, written the way a user of that library would write it.

Every function returns seconds (per step for W1, for the whole sweep for W2) and is only
called when its library imports (:func:`have`). The update rules are written out with
``torch.optim``'s defaults and semantics (SGD, momentum 0.9, RMSprop alpha 0.99 eps 1e-8,
Adam betas 0.9/0.999 eps 1e-8, Adagrad eps 1e-10), so the work per step matches nnbench's.
"""

from __future__ import annotations

import importlib
import math
import time

W1_POINTS, W1_WIDTH, W1_LR = 10000, 100, 5e-3
W2_POINTS, W2_WIDTH = 1000, 32


def have(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


# --------------------------------------------------------------------------- JAX


def _jax_data(n: int):
    import jax.numpy as jnp

    x = jnp.linspace(0.0, 6 * math.pi, n, dtype=jnp.float32)[:, None]
    return x, jnp.sin(x)


def _jax_init(key, width: int):
    """nn.Linear's default: U(+-1/sqrt(fan_in)) for weights and biases."""
    import jax

    k1, k2, k3, k4 = jax.random.split(key, 4)
    u = jax.random.uniform
    b2 = 1.0 / math.sqrt(width)
    return (u(k1, (1, width), minval=-1.0, maxval=1.0), u(k2, (width,), minval=-1.0, maxval=1.0),
            u(k3, (width, 1), minval=-b2, maxval=b2), u(k4, (1,), minval=-b2, maxval=b2))


def _jax_loss(p, x, y):
    import jax
    import jax.numpy as jnp

    h = jax.nn.sigmoid(x @ p[0] + p[1])
    return jnp.mean((h @ p[2] + p[3] - y) ** 2)


def _jax_rule(name: str):
    """(init(params) -> state, update(params, grads, state, lr, t) -> (params, state))."""
    import jax
    import jax.numpy as jnp

    tmap = jax.tree_util.tree_map

    def zeros(p):
        return tmap(jnp.zeros_like, p)

    if name == "sgd":
        return (lambda p: (), lambda p, g, s, lr, t: (tmap(lambda a, b: a - lr * b, p, g), s))
    if name == "momentum":
        def upd_m(p, g, s, lr, t):
            buf = tmap(lambda b, gi: 0.9 * b + gi, s, g)  # from zeros: buf_1 = g_1
            return tmap(lambda a, b: a - lr * b, p, buf), buf
        return zeros, upd_m
    if name == "rmsprop":
        def upd_r(p, g, s, lr, t):
            v = tmap(lambda vi, gi: 0.99 * vi + 0.01 * gi * gi, s, g)
            return tmap(lambda a, gi, vi: a - lr * gi / (jnp.sqrt(vi) + 1e-8), p, g, v), v
        return zeros, upd_r
    if name == "adagrad":
        def upd_a(p, g, s, lr, t):
            v = tmap(lambda vi, gi: vi + gi * gi, s, g)
            return tmap(lambda a, gi, vi: a - lr * gi / (jnp.sqrt(vi) + 1e-10), p, g, v), v
        return zeros, upd_a
    if name == "adam":
        def upd_adam(p, g, s, lr, t):
            m = tmap(lambda mi, gi: 0.9 * mi + 0.1 * gi, s[0], g)
            v = tmap(lambda vi, gi: 0.999 * vi + 0.001 * gi * gi, s[1], g)
            c1, c2 = 1 - 0.9 ** t, 1 - 0.999 ** t
            new = tmap(lambda a, mi, vi: a - lr / c1 * mi / (jnp.sqrt(vi / c2) + 1e-8), p, m, v)
            return new, (m, v)
        return (lambda p: (zeros(p), zeros(p))), upd_adam
    raise ValueError(name)


def w1_jax(steps: int, scan: bool = False) -> float:
    """Seconds per Adam step of the sin example: ``jit`` of one step called ``steps`` times,
    or (``scan``) one ``jit`` of ``lax.scan`` over the steps; compilation not counted."""
    import jax

    x, y = _jax_data(W1_POINTS)
    params = _jax_init(jax.random.PRNGKey(0), W1_WIDTH)
    init, update = _jax_rule("adam")
    grad = jax.value_and_grad(_jax_loss)

    def step(carry, t):
        p, s = carry
        loss, g = grad(p, x, y)
        p, s = update(p, g, s, W1_LR, t)
        return (p, s), loss

    if scan:
        run = jax.jit(lambda c: jax.lax.scan(step, c, jax.numpy.arange(1, steps + 1)))
        jax.block_until_ready(run((params, init(params))))  # compile
        t0 = time.perf_counter()
        jax.block_until_ready(run((params, init(params))))
        return (time.perf_counter() - t0) / steps
    one = jax.jit(step)
    carry = (params, init(params))
    jax.block_until_ready(one(carry, 1))  # compile
    t0 = time.perf_counter()
    for t in range(1, steps + 1):
        carry, loss = one(carry, t)
    jax.block_until_ready(carry)
    return (time.perf_counter() - t0) / steps


def w2_jax(optims, lrs, seeds: int, steps: int, log: int) -> float:
    """Seconds for the whole sweep: per optimizer one ``jit(vmap(scan))`` over its
    ``len(lrs) * seeds`` runs, the loss kept every ``log`` steps; compilation included."""
    import jax
    import jax.numpy as jnp

    x, y = _jax_data(W2_POINTS)
    grad = jax.value_and_grad(_jax_loss)
    t0 = time.perf_counter()
    for name in optims:
        init, update = _jax_rule(name)
        run_lrs = jnp.repeat(jnp.asarray(lrs, dtype=jnp.float32), seeds)
        keys = jnp.stack([jax.random.PRNGKey(s) for _ in lrs for s in range(seeds)])

        def one_run(key, lr, init=init, update=update):
            p = _jax_init(key, W2_WIDTH)

            def step(carry, t):
                p, s = carry
                loss, g = grad(p, x, y)
                p, s = update(p, g, s, lr, t)
                return (p, s), loss

            (p, _), losses = jax.lax.scan(step, (p, init(p)), jnp.arange(1, steps + 1))
            return losses[::log], _jax_loss(p, x, y)

        jax.block_until_ready(jax.jit(jax.vmap(one_run))(keys, run_lrs))  # noqa: B023
    return time.perf_counter() - t0


# --------------------------------------------------------------------------- torch.func


def w2_torch_func(optims, lrs, seeds: int, steps: int, log: int) -> float:
    """Seconds for the whole sweep: the ``seeds`` models of each (optimizer, lr) stacked with
    ``torch.func.stack_module_state`` and trained together through ``vmap(grad)``, the
    update by ``torch.optim`` on the stacked tensors (elementwise, so each run's numbers are
    its own)."""
    import copy

    import torch
    from torch import nn
    from torch.func import functional_call, grad_and_value, stack_module_state, vmap

    x = torch.linspace(0, 6 * math.pi, W2_POINTS).unsqueeze(1)
    y = torch.sin(x)
    make = {
        "sgd": lambda p, lr: torch.optim.SGD(p, lr=lr),
        "momentum": lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9),
        "rmsprop": lambda p, lr: torch.optim.RMSprop(p, lr=lr),
        "adam": lambda p, lr: torch.optim.Adam(p, lr=lr),
        "adagrad": lambda p, lr: torch.optim.Adagrad(p, lr=lr),
    }
    t0 = time.perf_counter()
    for name in optims:
        for lr in lrs:
            models = []
            for seed in range(seeds):
                torch.manual_seed(seed)
                models.append(nn.Sequential(nn.Linear(1, W2_WIDTH), nn.Sigmoid(),
                                            nn.Linear(W2_WIDTH, 1)))
            params, buffers = stack_module_state(models)
            base = copy.deepcopy(models[0]).to("meta")

            def loss_of(p, b, base=base):
                return torch.mean((functional_call(base, (p, b), (x,)) - y) ** 2)

            step = vmap(grad_and_value(loss_of))
            leaves = [params[k] for k in params]
            opt = make[name]([torch.nn.Parameter(v.detach()) for v in leaves], lr)
            live = {k: p for k, p in zip(params, opt.param_groups[0]["params"], strict=True)}
            history = []
            for t in range(steps + 1):
                g, loss = step(live, buffers)
                if t % log == 0 or t == steps:
                    history.append(loss.detach().clone())
                if t == steps:
                    break
                for k, p in live.items():
                    p.grad = g[k]
                opt.step()
    return time.perf_counter() - t0
