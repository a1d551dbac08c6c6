"""The Adam family: Adam (and AdamW), NAdam, RAdam, Adamax and AdaBound."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nnbench.core.optimizers.base import Hyper, Optimizer, _col, _is_zero, _zeros
from nnbench.core.optimizers.constraints import (
    BETAS,
    FLAG,
    NON_NEGATIVE,
    POSITIVE,
    Choice,
    Interval,
)
from nnbench.core.optimizers.forms import BOOK, TORCH


@dataclass
class AdamState:
    step: int = 0
    exp_avg: list[np.ndarray] = field(default_factory=list)
    exp_avg_sq: list[np.ndarray] = field(default_factory=list)
    max_exp_avg_sq: list[np.ndarray] = field(default_factory=list)


def _adam_state(params, with_max: bool) -> AdamState:
    """Zero moments for ``params``; the running maximum of ``v`` too when ``with_max``
    (AMSGrad, AMSBound)."""
    return AdamState(0, _zeros(params), _zeros(params), _zeros(params) if with_max else [])


def _decay_or_couple(p: np.ndarray, g: np.ndarray, lr, wd, decoupled: bool) -> np.ndarray:
    """Coupled L2 (``g + wd theta``) or decoupled decay (``theta *= 1 - lr wd``, AdamW)."""
    if _is_zero(wd):
        return g
    if decoupled:
        p *= _col(1.0 - np.asarray(lr) * np.asarray(wd), p)
        return g
    return g + _col(wd, p) * p


def _moments(g: np.ndarray, m: np.ndarray, v: np.ndarray, b1, b2) -> None:
    """``m = b1 m + (1 - b1) g`` (as torch's ``lerp``), ``v = b2 v + (1 - b2) g^2``, in place."""
    m += _col(1.0 - np.asarray(b1), g) * (g - m)
    v *= _col(b2, g)
    v += _col(1.0 - np.asarray(b2), g) * (g * g)


class Adam(Optimizer):
    """Adam (Kingma and Ba, ICLR 2015), as ``torch.optim.Adam``; ``amsgrad`` is Reddi,
    Kale and Kumar (ICLR 2018); ``decoupled_weight_decay`` is AdamW (Loshchilov and
    Hutter, ICLR 2019).

    ::

        theta = theta * (1 - lr * weight_decay)        (decoupled; else g += wd * theta)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        vmax = max(vmax, v);  v' = vmax if amsgrad else v
        theta = theta - lr / (1 - beta1^t) * m / (sqrt(v') / sqrt(1 - beta2^t) + eps)

    ``form="book"`` is Goodfellow's algorithm 8.7 as written, which puts delta inside the
    root (the box's delta, 1e-8, is torch's eps)::

        theta = theta - lr * (m / (1 - beta1^t)) / sqrt(v' / (1 - beta2^t) + eps)

    torch (and the paper) divide by ``sqrt(v_hat) + eps``: at lr 1e-3, on a gradient of
    1e-9 the first step is 9.1e-5 in torch's form and 1.0e-8 in the book's. ``amsgrad``
    and the weight decays act in both forms as in torch.

    torch's default lr is 1e-3; the notes' sin(x) example uses 5e-3. The ``adamw`` alias
    is this rule with decoupled weight decay.
    """

    name = "adam"
    _parameter_constraints = dict(betas=BETAS, eps=NON_NEGATIVE, weight_decay=NON_NEGATIVE,
                                  amsgrad=FLAG, decoupled_weight_decay=FLAG, maximize=FLAG,
                                  form=Choice((TORCH, BOOK)))

    def __init__(self, lr: Hyper = 5e-3, betas=(0.9, 0.999), eps: Hyper = 1e-8,
                 weight_decay: Hyper = 0.0, amsgrad: bool = False,
                 decoupled_weight_decay: bool = False, maximize: bool = False,
                 form: str = TORCH):
        super().__init__(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
                         form=form)

    def _init(self, params) -> AdamState:
        return _adam_state(params, self.amsgrad)

    def _update(self, params, grads, state: AdamState, lr) -> None:
        state.step += 1
        t = state.step
        b1, b2 = self.betas
        step_size = np.asarray(lr) / (1.0 - np.asarray(b1) ** t)
        bc2_sqrt = np.sqrt(1.0 - np.asarray(b2) ** t)
        for i, (p, grad) in enumerate(zip(params, grads, strict=True)):
            g = grad if not self.maximize else -grad
            g = _decay_or_couple(p, g, lr, self.weight_decay, self.decoupled_weight_decay)
            m, v = state.exp_avg[i], state.exp_avg_sq[i]
            _moments(g, m, v, b1, b2)
            if self.amsgrad:
                np.maximum(state.max_exp_avg_sq[i], v, out=state.max_exp_avg_sq[i])
                v = state.max_exp_avg_sq[i]
            if self._form == BOOK:  # sqrt(r_hat + delta), delta inside the root
                r_hat = v / _col(1.0 - np.asarray(b2) ** t, p)
                r_hat += _col(self.eps, p)
                s_hat = m / _col(1.0 - np.asarray(b1) ** t, p)
                p -= _col(lr, p) * s_hat / np.sqrt(r_hat)
                continue
            denom = np.sqrt(v)
            denom /= _col(bc2_sqrt, p)
            denom += _col(self.eps, p)
            p -= _col(step_size, p) * m / denom


@dataclass
class NAdamState:
    step: int = 0
    mu_product: float | np.ndarray = 1.0
    exp_avg: list[np.ndarray] = field(default_factory=list)
    exp_avg_sq: list[np.ndarray] = field(default_factory=list)


class NAdam(Optimizer):
    """NAdam: Adam with Nesterov momentum (Dozat, ICLR 2016 workshop), as
    ``torch.optim.NAdam``, with its momentum schedule::

        mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay))
        m = beta1 m + (1 - beta1) g;   v = beta2 v + (1 - beta2) g^2
        d = sqrt(v / (1 - beta2^t)) + eps
        theta = theta - lr (1 - mu_t) / (1 - prod_{i<=t} mu_i) * g / d
                      - lr mu_{t+1} / (1 - prod_{i<=t+1} mu_i) * m / d

    ``decoupled_weight_decay=True`` decays ``theta *= 1 - lr * weight_decay`` (NAdamW)
    instead of adding ``weight_decay * theta`` to ``g``.

    torch's default lr is 2e-3.
    """

    name = "nadam"
    _parameter_constraints = dict(betas=BETAS, eps=NON_NEGATIVE, weight_decay=NON_NEGATIVE,
                                  momentum_decay=NON_NEGATIVE, decoupled_weight_decay=FLAG,
                                  maximize=FLAG)

    def __init__(self, lr: Hyper = 5e-3, betas=(0.9, 0.999), eps: Hyper = 1e-8,
                 weight_decay: Hyper = 0.0, momentum_decay: Hyper = 4e-3,
                 decoupled_weight_decay: bool = False, maximize: bool = False):
        super().__init__(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         momentum_decay=momentum_decay,
                         decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)

    def _init(self, params) -> NAdamState:
        return NAdamState(0, 1.0, _zeros(params), _zeros(params))

    def _update(self, params, grads, state: NAdamState, lr) -> None:
        state.step += 1
        t = state.step
        b1, b2 = (np.asarray(b) for b in self.betas)
        psi = np.asarray(self.momentum_decay)
        mu = b1 * (1.0 - 0.5 * 0.96 ** (t * psi))
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
        state.mu_product = state.mu_product * mu
        lr = np.asarray(lr)
        c_grad = -lr * (1.0 - mu) / (1.0 - state.mu_product)
        c_avg = -lr * mu_next / (1.0 - state.mu_product * mu_next)
        bc2 = 1.0 - b2 ** t
        for i, (p, grad) in enumerate(zip(params, grads, strict=True)):
            g = grad if not self.maximize else -grad
            g = _decay_or_couple(p, g, lr, self.weight_decay, self.decoupled_weight_decay)
            m, v = state.exp_avg[i], state.exp_avg_sq[i]
            _moments(g, m, v, self.betas[0], self.betas[1])
            denom = v / _col(bc2, p)
            np.sqrt(denom, out=denom)
            denom += _col(self.eps, p)
            p += _col(c_grad, p) * (g / denom)
            p += _col(c_avg, p) * (m / denom)


class RAdam(Optimizer):
    """RAdam: rectified Adam (Liu et al., ICLR 2020), as ``torch.optim.RAdam``::

        m = beta1 m + (1 - beta1) g;   v = beta2 v + (1 - beta2) g^2
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)
        r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
        theta = theta - lr m / (1 - beta1^t) * r_t sqrt(1 - beta2^t) / (sqrt(v) + eps)
                                                                   if rho_t > 5
        theta = theta - lr m / (1 - beta1^t)                       otherwise (SGD with momentum)

    ``decoupled_weight_decay=True`` decays ``theta *= 1 - lr * weight_decay`` (RAdamW).
    The variance rectification replaces a learning-rate warmup.

    torch's default lr is 1e-3.
    """

    name = "radam"
    _parameter_constraints = dict(betas=BETAS, eps=NON_NEGATIVE, weight_decay=NON_NEGATIVE,
                                  decoupled_weight_decay=FLAG, maximize=FLAG)

    def __init__(self, lr: Hyper = 5e-3, betas=(0.9, 0.999), eps: Hyper = 1e-8,
                 weight_decay: Hyper = 0.0, decoupled_weight_decay: bool = False,
                 maximize: bool = False):
        super().__init__(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)

    def _init(self, params) -> AdamState:
        return _adam_state(params, False)

    def _update(self, params, grads, state: AdamState, lr) -> None:
        state.step += 1
        t = state.step
        b1, b2 = (np.asarray(b) for b in self.betas)
        bc1, bc2 = 1.0 - b1 ** t, 1.0 - b2 ** t
        with np.errstate(divide="ignore", invalid="ignore"):
            rho_inf = 2.0 / (1.0 - b2) - 1.0
            rho_t = rho_inf - 2.0 * t * b2 ** t / bc2
            rect = np.sqrt((rho_t - 4.0) * (rho_t - 2.0) * rho_inf
                           / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t))
        adaptive = rho_t > 5.0  # per run when beta2 is per run
        rect = np.where(adaptive, rect, 0.0)
        step_size = np.asarray(lr) / bc1
        for i, (p, grad) in enumerate(zip(params, grads, strict=True)):
            g = grad if not self.maximize else -grad
            g = _decay_or_couple(p, g, lr, self.weight_decay, self.decoupled_weight_decay)
            m, v = state.exp_avg[i], state.exp_avg_sq[i]
            _moments(g, m, v, self.betas[0], self.betas[1])
            if not np.any(adaptive):
                p -= _col(step_size, p) * m
                continue
            scale = np.sqrt(v)
            scale += _col(self.eps, p)
            np.divide(_col(rect * np.sqrt(bc2), p), scale, out=scale)
            if not np.all(adaptive):
                scale = np.where(_col(adaptive, p).astype(bool), scale, 1.0).astype(p.dtype)
            p -= _col(step_size, p) * m * scale


@dataclass
class AdamaxState:
    step: int = 0
    exp_avg: list[np.ndarray] = field(default_factory=list)
    exp_inf: list[np.ndarray] = field(default_factory=list)


class Adamax(Optimizer):
    """Adamax: Adam with the infinity norm (Kingma and Ba, ICLR 2015, section 7.1), as
    ``torch.optim.Adamax``::

        m = beta1 m + (1 - beta1) g
        u = max(beta2 u, |g| + eps)
        theta = theta - lr / (1 - beta1^t) * m / u

    torch's default lr is 2e-3.
    """

    name = "adamax"
    _parameter_constraints = dict(betas=BETAS, eps=NON_NEGATIVE, weight_decay=NON_NEGATIVE,
                                  maximize=FLAG)

    def __init__(self, lr: Hyper = 1e-2, betas=(0.9, 0.999), eps: Hyper = 1e-8,
                 weight_decay: Hyper = 0.0, maximize: bool = False):
        super().__init__(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize)

    def _init(self, params) -> AdamaxState:
        return AdamaxState(0, _zeros(params), _zeros(params))

    def _update(self, params, grads, state: AdamaxState, lr) -> None:
        state.step += 1
        b1, b2 = self.betas
        clr = np.asarray(lr) / (1.0 - np.asarray(b1) ** state.step)
        for i, (p, grad) in enumerate(zip(params, grads, strict=True)):
            g = self._grad(grad, p, self.maximize, self.weight_decay)
            m, u = state.exp_avg[i], state.exp_inf[i]
            m += _col(1.0 - np.asarray(b1), p) * (g - m)
            u *= _col(b2, p)
            np.maximum(u, np.abs(g) + _col(self.eps, p), out=u)
            p -= _col(clr, p) * m / u

# --------------------------------------------------------------------------- AdaBound


class AdaBound(Optimizer):
    """AdaBound (Luo, Xiong, Liu and Sun, *Adaptive Gradient Methods with Dynamic Bound
    of Learning Rate*, ICLR 2019), as in the authors' reference implementation: Adam whose
    per-coordinate step size is clipped into bounds that both converge to ``final_lr``,
    so the rule moves from Adam towards SGD::

        m = beta1 m + (1 - beta1) g;   v = beta2 v + (1 - beta2) g^2
        v' = max(v', v) if amsbound else v                     (AMSBound)
        eta = lr sqrt(1 - beta2^t) / (1 - beta1^t) / (sqrt(v') + eps)
        f = final_lr * lr_t / lr               (a schedule scales the bounds too)
        eta = clip(eta, f (1 - 1 / (gamma t + 1)), f (1 + 1 / (gamma t)))
        theta = theta - eta * m

    ``weight_decay`` is coupled L2; the reference's default lr is 1e-3.
    """

    name = "adabound"
    _parameter_constraints = dict(betas=BETAS, final_lr=POSITIVE, gamma=Interval(0, 1,
                                  closed="neither"), eps=NON_NEGATIVE, weight_decay=NON_NEGATIVE,
                                  amsbound=FLAG)

    def __init__(self, lr: Hyper = 5e-3, betas=(0.9, 0.999), final_lr: Hyper = 0.1,
                 gamma: Hyper = 1e-3, eps: Hyper = 1e-8, weight_decay: Hyper = 0.0,
                 amsbound: bool = False):
        super().__init__(lr=lr, betas=betas, final_lr=final_lr, gamma=gamma, eps=eps,
                         weight_decay=weight_decay, amsbound=amsbound)

    def _init(self, params) -> AdamState:
        return _adam_state(params, self.amsbound)

    def _update(self, params, grads, state: AdamState, lr) -> None:
        state.step += 1
        t = state.step
        b1, b2 = (np.asarray(b) for b in self.betas)
        lr = np.asarray(lr)
        step_size = lr * np.sqrt(1.0 - b2 ** t) / (1.0 - b1 ** t)
        final_lr = np.asarray(self.final_lr) * lr / np.asarray(self.lr)
        gamma = np.asarray(self.gamma)
        lower = final_lr * (1.0 - 1.0 / (gamma * t + 1.0))
        upper = final_lr * (1.0 + 1.0 / (gamma * t))
        for i, (p, grad) in enumerate(zip(params, grads, strict=True)):
            g = self._grad(grad, p, False, self.weight_decay)
            m, v = state.exp_avg[i], state.exp_avg_sq[i]
            _moments(g, m, v, self.betas[0], self.betas[1])
            if self.amsbound:
                np.maximum(state.max_exp_avg_sq[i], v, out=state.max_exp_avg_sq[i])
                v = state.max_exp_avg_sq[i]
            eta = np.sqrt(v)
            eta += _col(self.eps, p)
            np.divide(_col(step_size, p), eta, out=eta)
            np.clip(eta, _col(lower, p), _col(upper, p), out=eta)
            eta *= m
            p -= eta
