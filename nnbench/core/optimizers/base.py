"""The base class of every update rule and the helpers the rules share: per-run
factors and the checks of the parameters' runs axis."""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from nnbench.core.errors import NNBenchError, plural
from nnbench.core.optimizers.constraints import (
    POSITIVE,
    Constraint,
    check_hyperparameters,
    number,
)
from nnbench.core.optimizers.forms import FormsState, distinct, split_init, split_update

Params = list[np.ndarray]
Hyper = Any  # float or (R,) array


# --------------------------------------------------------------------------- helpers


def _zeros(params: Sequence[np.ndarray]) -> list[np.ndarray]:
    """One zero array per parameter, in its shape and dtype (where every moment starts)."""
    return [np.zeros_like(p) for p in params]


def _is_zero(x: float | np.ndarray) -> bool:
    return bool(np.all(np.asarray(x) == 0))


def _col(x: float | np.ndarray, p: np.ndarray) -> float | np.ndarray:
    """``x`` as a factor for the parameter ``p``: a Python float (which NumPy applies in
    ``p``'s dtype), or an ``(R,)`` array reshaped to ``(R, 1, ..., 1)`` in ``p``'s dtype."""
    if np.ndim(x) == 0:
        return float(x)
    return np.asarray(x, dtype=p.dtype).reshape((-1,) + (1,) * (p.ndim - 1))


def per_run(x: float | np.ndarray, p: np.ndarray) -> float | np.ndarray:
    """A hyperparameter (a scalar or one value per run) as a factor for the parameter
    ``p`` of shape ``(R, ...)``: what a rule of one's own multiplies by (see
    ``examples/plugins/lion.py``)."""
    return _col(x, p)


def _check_lengths(hypers: Mapping[str, Any], runs: int) -> None:
    for name, value in hypers.items():
        n = np.size(value) if np.ndim(value) == 1 else None
        if n is not None and n not in (1, runs):
            raise NNBenchError(
                f"{name} has {n} values but the parameters have {plural(runs, 'run')}; "
                f"give one value or {runs}"
            )


def _check_params(params: Sequence[np.ndarray]) -> int:
    if len(params) == 0:
        raise NNBenchError("params must be a non-empty list of arrays with a leading runs axis")
    runs = {np.shape(p)[0] if np.ndim(p) else None for p in params}
    if len(runs) != 1 or None in runs:
        raise NNBenchError(
            "every parameter array must have the same leading runs axis (R, ...), "
            f"got shapes {[np.shape(p) for p in params]}"
        )
    return runs.pop()


def _declared(cls: type) -> list[dict[str, Constraint]]:
    """The ``_parameter_constraints`` each class of ``cls``'s MRO declares itself, the
    base class first."""
    return [vars(k)["_parameter_constraints"] for k in reversed(cls.__mro__)
            if "_parameter_constraints" in vars(k)]


# --------------------------------------------------------------------------- base class


class Optimizer:
    """An update rule: ``state = init(params)``; ``update(params, grads, state, lr=None)``.

    ``lr`` in :meth:`update` (a scalar or one value per run) replaces the configured
    learning rate for that step only; schedules act through it.

    Each subclass declares its own hyperparameters' constraints in
    ``_parameter_constraints`` (a :mod:`~nnbench.core.optimizers.constraints` rule per
    name, in the order of its constructor's arguments) and passes every argument to
    ``super().__init__``, which checks and stores them; :meth:`_check_together` is the
    hook for a rule between several of them.

    A rule with several written forms declares ``form`` (see
    :mod:`~nnbench.core.optimizers.forms`); a hyperparameter whose default depends on the
    form (the book's delta) has ``None`` as its signature default and its values by form
    in ``_form_defaults``.
    """

    name = "optimizer"
    _parameter_constraints: ClassVar[dict[str, Constraint]] = {"lr": POSITIVE}
    _form_defaults: ClassVar[dict[str, dict[str, float]]] = {}

    def __init__(self, **hypers: Any):
        """Check and store ``hypers``, exactly the names the classes declare: the base
        class's group (``lr``) first, then the subclass's; within a group every type is
        checked before any range, the order the messages have always come in."""
        declared = _declared(type(self))
        names = [k for own in declared for k in own]
        if sorted(names) != sorted(hypers):
            raise TypeError(f"{type(self).__name__} declares {names}, got {list(hypers)}")
        hypers = self._with_form_defaults(hypers)
        for own in declared:  # the base class's lr first, as its own group
            self._store(check_hyperparameters(own, {k: hypers[k] for k in own}))
        self._forms = distinct(getattr(self, "form", "torch"))
        self._form = self._forms[0] if len(self._forms) == 1 else None
        self._check_together()

    @classmethod
    def form_default(cls, name: str, form: str = "torch") -> Any:
        """The default of the hyperparameter ``name`` in ``form`` (its signature's when it
        does not depend on the form)."""
        if name in cls._form_defaults:
            return cls._form_defaults[name][form]
        return inspect.signature(cls).parameters[name].default

    def _with_form_defaults(self, hypers: dict[str, Any]) -> dict[str, Any]:
        """``hypers`` with each form-dependent one left at ``None`` set to its form's
        default (one value per run when the runs' forms have different defaults). A form
        the rule does not have takes torch's here: the checks that follow report it in
        its place among the others."""
        unset = [k for k in self._form_defaults if hypers.get(k) is None]
        out = dict(hypers)
        for k in unset:
            by_form = self._form_defaults[k]
            values = [by_form.get(str(f), by_form["torch"]) for f in np.atleast_1d(out["form"])]
            out[k] = values[0] if len(set(values)) == 1 else np.array(values)
        return out

    @classmethod
    def constraints(cls) -> dict[str, Constraint]:
        """Every hyperparameter's constraint by name, in the constructor's order."""
        return {k: rule for own in _declared(cls) for k, rule in own.items()}

    def _store(self, values: Mapping[str, Any]) -> None:
        """Set the checked hyperparameters as attributes (their torch names)."""
        for k, v in values.items():
            setattr(self, k, v)

    def _check_together(self) -> None:
        """Raise NNBenchError on a combination of values that cannot work (none here)."""

    def _per_run(self) -> dict[str, Any]:
        """The hyperparameters given as (R,) arrays, checked against R in ``init``."""
        out = {}
        for k, v in vars(self).items():
            for j, x in enumerate(v) if isinstance(v, tuple) else [(None, v)]:
                if isinstance(x, np.ndarray) and x.ndim == 1:
                    out[k if j is None else f"{k}[{j}]"] = x
        return out

    def init(self, params: Sequence[np.ndarray]) -> Any:
        runs = _check_params(params)
        _check_lengths(self._per_run(), runs)
        if len(self._forms) > 1:  # runs of several forms: one part of the runs axis each
            return split_init(self, params)
        return self._init(params)

    def _init(self, params: Sequence[np.ndarray]) -> Any:
        raise NotImplementedError

    def update(self, params: Params, grads: Sequence[np.ndarray], state: Any,
               lr: Hyper | None = None) -> None:
        """Apply one step to ``params`` in place and advance ``state``."""
        if len(grads) != len(params):
            raise NNBenchError(f"got {len(grads)} gradients for {len(params)} parameters")
        if lr is None:
            lr = self.lr
        else:
            lr = number("lr", lr)
            if np.ndim(lr) == 1 and lr.size not in (1, len(params[0])):
                raise NNBenchError(f"lr has {lr.size} values but the parameters have "
                                   f"{plural(len(params[0]), 'run')}; give one value or "
                                   f"{len(params[0])}")
        if isinstance(state, FormsState):
            split_update(params, grads, state, lr)
        else:
            self._update(params, grads, state, lr)

    def _update(self, params: Params, grads: Sequence[np.ndarray], state: Any,
                lr: Hyper) -> None:
        raise NotImplementedError

    def hyperparameters(self) -> dict[str, Any]:
        """The configured hyperparameters by their torch names."""
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({args})"

    def _grad(self, g: np.ndarray, p: np.ndarray, maximize: bool, wd: Hyper) -> np.ndarray:
        """``g = (-grad if maximize else grad) + weight_decay * theta`` (a new array when
        it differs from ``grad``, so the caller's gradients are never modified)."""
        if maximize:
            g = -g
        if not _is_zero(wd):
            g = g + _col(wd, p) * p
        return g

