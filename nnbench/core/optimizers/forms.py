"""The written forms of an update rule, and groups of runs that mix them.

A rule with several forms (``SGD``, ``Adagrad``, ``RMSprop``, ``Adam``) takes ``form``:

- ``"torch"`` (the default): ``torch.optim``'s form, for scripts ported from PyTorch;
- ``"book"``: the algorithm boxes of the notes (Goodfellow et al., *Deep Learning*,
  algorithms 8.2, 8.4, 8.5 and 8.7) as written;
- ``"lecture"``: the course's forms where they differ from the book's (RMSProp's average
  starting at the first squared gradient, AdaGrad as ``eta^t / sigma^t``).

``form`` may also be one name per run (an ``(R,)`` array): the group is then split by
form, each part of the runs axis stepping with the rule in its own form (the same
elementwise arithmetic as a group of that form alone), and the parameters are written
back in place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

TORCH, BOOK, LECTURE = "torch", "book", "lecture"


@dataclass
class FormsState:
    """The state of a group whose runs use several forms: per form, the indices of its
    runs on the runs axis, the rule built for those runs and that rule's state."""

    parts: list[tuple[np.ndarray, Any, Any]]


def distinct(form: str | np.ndarray) -> tuple[str, ...]:
    """The forms of ``form`` (one name, or one per run) without repeats, in run order."""
    return tuple(dict.fromkeys(str(f) for f in np.atleast_1d(form)))


def _take(value: Any, idx: np.ndarray) -> Any:
    """``value`` for the runs ``idx``: a per-run array (or a pair of them) indexed, a
    value shared by every run unchanged."""
    if isinstance(value, tuple):
        return tuple(_take(v, idx) for v in value)
    if isinstance(value, np.ndarray) and value.ndim == 1 and value.size > 1:
        return value[idx]
    return value


def split_init(opt: Any, params: Sequence[np.ndarray]) -> FormsState:
    """One rule per form of ``opt.form`` with ``opt``'s hyperparameters for that form's
    runs, and its state over those runs' parameters."""
    form = np.asarray(opt.form)
    parts = []
    for f in distinct(form):
        idx = np.flatnonzero(form == f)
        hypers = {k: _take(getattr(opt, k), idx) for k in opt.constraints()}
        sub = type(opt)(**{**hypers, "form": f})
        parts.append((idx, sub, sub.init([p[idx] for p in params])))
    return FormsState(parts)


def split_update(params: list[np.ndarray], grads: Sequence[np.ndarray], state: FormsState,
                 lr: Any) -> None:
    """One step of every form's part of the runs axis, written back into ``params``."""
    for idx, sub, sub_state in state.parts:
        part = [p[idx] for p in params]
        sub.update(part, [g[idx] for g in grads], sub_state, lr=_take(lr, idx))
        for p, q in zip(params, part, strict=True):
            p[idx] = q
