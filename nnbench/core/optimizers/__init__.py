"""Optimizers: the update rules of the notes, with the names and semantics of ``torch.optim``.

Each rule is one small class with an explicit state (an ``init``/``update`` pair, as in
optax)::

    opt = optimizer("adam", lr=1e-3, betas=(0.9, 0.999))
    state = opt.init(params)                 # moments, step counter, ...
    opt.update(params, grads, state)         # params changed in place, state advanced
    opt.update(params, grads, state, lr=lr_t)  # this step with another learning rate

``params`` and ``grads`` are lists of arrays with a leading *runs* axis
(``W`` is ``(R, fan_in, fan_out)``, ``b`` is ``(R, 1, fan_out)``; any ``(R, ...)``
shape works). A numeric hyperparameter is a scalar or an ``(R,)`` array, one value
per run; it is reshaped to ``(R, 1, ..., 1)`` for each parameter. The arithmetic stays
in the parameters' dtype: state arrays are created with ``zeros_like(param)`` and
scalar coefficients (bias corrections, step sizes) are Python floats or are cast to
that dtype before they touch an array.

``g`` below is the gradient after ``maximize`` (``g = -grad``) and coupled L2 weight
decay (``g <- g + weight_decay * theta``), exactly as in ``torch.optim``; ``t`` counts
steps from 1. ``OPTIMIZERS.get(name).defaults`` holds each rule's hyperparameters
(torch's names) with their defaults; ``defaults["lr"]`` is a learning rate suited to
the rule on small problems, used when the user gives none (torch's own default is
given in each class's docstring). The defaults are those of the class's constructor,
with what an alias changes (``momentum`` is ``SGD`` with momentum 0.9 and lr 0.01);
``constraints`` holds what each hyperparameter may be, as the class declares it in
``_parameter_constraints`` (see :mod:`~nnbench.core.optimizers.constraints`).

``clip_grad_norm`` clips the gradients of each run to a global norm, as
``torch.nn.utils.clip_grad_norm_`` does for one model.

``form`` selects the written form of SGD (momentum), AdaGrad, RMSProp and Adam:
``torch`` (the default), ``book`` (the notes' algorithm boxes) or ``lecture`` (the
course's forms); see :mod:`~nnbench.core.optimizers.forms`.

The package: ``base`` (the :class:`Optimizer` base class and shared helpers),
``constraints``, ``forms`` (the forms, and groups of runs mixing them), ``sgd``,
``adaptive`` (AdaGrad, RMSProp, Adadelta), ``adam`` (Adam, AdamW, NAdam, RAdam, Adamax,
AdaBound), ``swats``, ``lookahead``, ``clip``; this module holds the registry.
"""

from __future__ import annotations

import difflib
import functools
import inspect
from typing import Any

from nnbench.core.errors import NNBenchError
from nnbench.core.optimizers.adam import AdaBound, Adam, Adamax, NAdam, RAdam
from nnbench.core.optimizers.adaptive import Adadelta, Adagrad, RMSprop
from nnbench.core.optimizers.base import Optimizer, per_run
from nnbench.core.optimizers.clip import clip_grad_norm
from nnbench.core.optimizers.lookahead import Lookahead
from nnbench.core.optimizers.sgd import SGD
from nnbench.core.optimizers.swats import SWATS
from nnbench.core.registry import BUILT_IN, Registry

__all__ = [
    "OPTIMIZERS",
    "Optimizer",
    "SGD",
    "Adagrad",
    "RMSprop",
    "Adam",
    "NAdam",
    "RAdam",
    "Adamax",
    "Adadelta",
    "AdaBound",
    "Lookahead",
    "SWATS",
    "optimizer",
    "clip_grad_norm",
    "hyperparameter_names",
    "add_rule",
    "per_run",
]

OPTIMIZERS = Registry("optimizer")


def _make(cls: type[Optimizer], name: str, **hyper: Any) -> Optimizer:
    accepted = OPTIMIZERS.get(name).defaults
    unknown = [k for k in hyper if k not in accepted]
    if unknown:
        close = difflib.get_close_matches(unknown[0], list(accepted), n=1, cutoff=0.5)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise NNBenchError(
            f"unknown hyperparameter '{unknown[0]}' for optimizer '{name}'{hint} "
            f"valid: {', '.join(accepted)}"
        )
    # a default that depends on the form (the book's delta) is left to the rule, which
    # takes the one of the form given
    given = {k: v for k, v in accepted.items() if k not in cls._form_defaults}
    return cls(**{**given, **hyper})


def _make_lookahead(name: str = "lookahead", **hyper: Any) -> Lookahead:
    base_name = hyper.pop("base", OPTIMIZERS.get(name).defaults["base"])
    if base_name in LOOKAHEADS:
        raise NNBenchError("lookahead's base must be another optimizer, not lookahead")
    own = {k: hyper.pop(k) for k in Lookahead.constraints() if k in hyper}  # k, alpha
    try:
        base = OPTIMIZERS.create(base_name, **hyper)
    except NNBenchError as err:
        if not str(err).startswith("unknown hyperparameter"):
            raise
        valid = ", ".join(["base", "k", "alpha", *OPTIMIZERS.get(base_name).defaults])
        raise NNBenchError(f"{str(err).split(' valid:')[0]} (lookahead over "
                           f"'{base_name}') valid: {valid}") from None
    return Lookahead(base, **own)


def defaults_of(cls: type[Optimizer], **overrides: Any) -> dict[str, Any]:
    """The defaults of ``cls``'s constructor in its order, ``overrides`` replacing some of
    them; an override the signature has no default for (lookahead's ``base``) stays in
    its place, one it does not name at all (lookahead's ``lr``) comes last. A default that
    depends on the form is the default form's (torch's eps)."""
    params = inspect.signature(cls).parameters
    out = {k: overrides.get(k, cls.form_default(k)) for k, p in params.items()
           if k in overrides or p.default is not inspect.Parameter.empty}
    return {**out, **overrides}


# Each name is a rule with its constructor's defaults, and what the name changes in
# them (as optax's aliases: momentum is sgd with momentum 0.9). The lr default is the
# one suited to small problems, used when the user gives none.
_ALIASES: list[tuple[str, type[Optimizer], str, dict[str, Any]]] = [
    ("sgd", SGD, "plain gradient descent: theta -= lr g (torch.optim.SGD)", {}),
    ("momentum", SGD, "SGD with heavy-ball momentum 0.9: b = 0.9 b + g; theta -= lr b",
     dict(lr=0.01, momentum=0.9)),
    ("nesterov", SGD, "SGD with Nesterov momentum 0.9 (torch.optim.SGD nesterov=True)",
     dict(lr=0.01, momentum=0.9, nesterov=True)),
    ("adagrad", Adagrad, "AdaGrad: per-coordinate lr / sqrt(sum of squared gradients); "
     "form=book: eps 1e-7", {}),
    ("rmsprop", RMSprop, "RMSProp: lr / sqrt(running mean of squared gradients); "
     "form=book: eps 1e-6", {}),
    ("adam", Adam, "Adam: bias-corrected momentum over RMSProp's scale (amsgrad optional)",
     {}),
    ("amsgrad", Adam, "AMSGrad: Adam dividing by the running maximum of its second moment "
     "(adam with amsgrad=True)", dict(amsgrad=True)),
    ("adamw", Adam, "AdamW: Adam with decoupled weight decay 1e-2",
     dict(weight_decay=1e-2, decoupled_weight_decay=True)),
    ("nadam", NAdam, "NAdam: Adam with Nesterov momentum and torch's momentum schedule", {}),
    ("radam", RAdam, "RAdam: Adam with the variance rectification instead of a warmup", {}),
    ("adamax", Adamax, "Adamax: Adam with the infinity norm of past gradients", {}),
    ("adadelta", Adadelta, "Adadelta: step = RMS of past steps / RMS of gradients", {}),
    ("adabound", AdaBound, "AdaBound: Adam with step sizes bounded towards SGD's final_lr",
     {}),
    ("swats", SWATS, "SWATS: Adam until its projected SGD rate settles, then SGD with momentum "
     "at that rate (per run)", {}),
]


def add_rule(name: str, cls: type[Optimizer], description: str,
             overrides: dict[str, Any] | None = None, origin: str = BUILT_IN) -> None:
    """Register the rule ``cls`` as ``name``: its defaults those of its constructor with
    ``overrides`` (:func:`defaults_of`), its constraints those it declares; built-in rules
    and plugins' (:func:`nnbench.register_optimizer`) alike."""
    overrides = dict(overrides or {})
    OPTIMIZERS.add(name, functools.partial(_make, cls, name), description,
                   defaults_of(cls, **overrides), cls.constraints(), origin)


for _name, _cls, _desc, _overrides in _ALIASES:
    add_rule(_name, _cls, _desc, _overrides)

# lookahead over adam, and the same over sgd under a name of its own (so that a grid of
# optimizers can hold both); the lr shown is the base's default, which is used when none
# is given (with another base, that base's own default)
LOOKAHEADS = {"lookahead": "adam", "lookahead-sgd": "sgd"}
for _name, _base in LOOKAHEADS.items():
    OPTIMIZERS.add(
        _name,
        functools.partial(_make_lookahead, _name),
        f"Lookahead over {_base} (base=): k fast steps of a base rule, then the slow "
        "weights move alpha of the way",
        defaults_of(Lookahead, base=_base, lr=OPTIMIZERS.get(_base).defaults["lr"]),
        {"base": "another rule", **Lookahead.constraints(),
         "lr": OPTIMIZERS.get(_base).constraints["lr"]},
    )


def optimizer(name: str, **hyper: Any) -> Optimizer:
    """Build the optimizer ``name`` with torch-named hyperparameters over its defaults.

    Unknown names raise :class:`~nnbench.core.errors.UnknownNameError`; unknown
    hyperparameters and out-of-range values raise
    :class:`~nnbench.core.errors.NNBenchError` naming the valid ones. A numeric
    hyperparameter may be an ``(R,)`` array, one value per run. ``lookahead`` takes
    ``base`` (another optimizer's name), ``k`` and ``alpha``, and passes the rest
    (``lr`` included) to its base.
    """
    return OPTIMIZERS.create(name, **hyper)


def hyperparameter_names(name: str, base: str | None = None) -> list[str]:
    """The hyperparameter names ``optimizer(name, ...)`` accepts (for ``--hp NAME=VALUE``).

    For ``lookahead`` these are ``base``, ``k``, ``alpha`` and the names of its base
    (``base``, default ``adam``; ``sgd`` for ``lookahead-sgd``).
    """
    names = list(OPTIMIZERS.get(name).defaults)
    if name in LOOKAHEADS:
        inner = OPTIMIZERS.get(base or OPTIMIZERS.get(name).defaults["base"]).defaults
        names += [k for k in inner if k not in names]
    return names
