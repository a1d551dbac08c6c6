"""A run configuration made complete and checked: defaults, then validation.

:func:`resolve` fills every ``None`` of a :class:`~nnbench.config.RunConfig`, taking each
missing value from, in order,

1. the model's own defaults (``core.models.model_defaults``: the perceptron's ``sgd``,
   its loss, ...), for a network trained on data,
2. the task's suggested run configuration (``TASKS.get(task).defaults``),
3. the default loss of the task's kind (:data:`DEFAULT_LOSS`),
4. the global defaults (:data:`FALLBACK`).

The learning rate is special: with ``lr`` unset, a run uses the model's or the task's
``lr`` when it trains with their optimizer (sin: Adam at 0.005), otherwise the
optimizer's suited default ``OPTIMIZERS.get(optim).defaults["lr"]``. :func:`validate` then
raises a one-line NNBenchError on the first impossible value.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import replace
from typing import Any, TypeVar

from nnbench.core.activations import ACTIVATIONS
from nnbench.core.errors import (
    NNBenchError,
    UnknownNameError,
    check_int,
    check_positive,
    check_range,
    plural,
)
from nnbench.core.init import initializer
from nnbench.core.losses import LOSSES, OUTPUT_ACTIVATIONS
from nnbench.core.models import (
    MODELS,
    ONE_OUTPUT_LOSSES,
    check_options,
    mlp_shape,
    model_defaults,
    width_for_params,
)
from nnbench.core.optimizers import OPTIMIZERS, hyperparameter_names, optimizer
from nnbench.core.schedules import SCHEDULES, schedule
from nnbench.schema import (
    DEFAULT_LOSS,
    FALLBACK,
    FIELD_TYPES,
    FULL_BATCH,
    RunFields,
    choices,
    optimizer_hyper,
)
from nnbench.tasks.build import make_task, n_train_of
from nnbench.tasks.landscapes import parse_start

Run = TypeVar("Run", bound=RunFields)


def task_default(task: Any, key: str) -> Any:
    """The task's suggestion for ``key``, else the kind's loss, else :data:`FALLBACK`."""
    defaults = getattr(task, "defaults", {}) or {}
    if key in defaults:
        return defaults[key]
    if key == "loss":
        return DEFAULT_LOSS.get(getattr(task, "kind", "regression"))
    return FALLBACK.get(key)


def resolve_val_frac(c: RunFields, task: Any) -> float:
    """The validation fraction ``c`` will train with (its own, else the task's, else 0)."""
    return c.val_frac if c.val_frac is not None else (task_default(task, "val_frac") or 0.0)


def resolve(config: Run, task: Any = None, n_train: int | None = None) -> Run:
    """A fully specified copy of ``config``: every ``None`` filled, every value checked.

    ``task`` is the built task (built from ``config`` when omitted); ``n_train``
    the number of training samples, needed (and loaded when omitted) only to
    turn ``epochs`` into steps. Idempotent. Impossible values raise NNBenchError.
    """
    if task is None:
        task = make_task(config)
    c = replace(config, hp=dict(config.hp), schedule_kw=dict(config.schedule_kw),
                task_kw=dict(config.task_kw), threshold=dict(config.threshold))
    kind = getattr(task, "kind", "regression")
    landscape = kind == "landscape"
    if c.model is None:
        c.model = task_default(task, "model")
    if not landscape:  # a model's own defaults (the perceptron's sgd, its loss) come first
        _apply_model_defaults(c)
    width_given = c.width
    for key in ("model", "optim", "act", "depth", "width", "init", "loss", "steps",
                "val_frac"):
        if landscape and key in ("act", "depth", "width", "init", "loss"):
            setattr(c, key, None)  # a point on a landscape has no network
        elif getattr(c, key) is None:
            setattr(c, key, task_default(task, key))
    if c.params is not None:
        c.width = _width_of_budget(c, task, width_given)
    if c.binary is True or c.binary is False:  # a library call's bool: True is weights
        c.binary = "weights" if c.binary else None
    for key in ("residual", "shuffle"):  # off / shuffled unless the task suggests otherwise
        if getattr(c, key) is None and not landscape:
            setattr(c, key, (getattr(task, "defaults", {}) or {}).get(key))
    if c.out_act is None and not landscape:  # a linear output unless the task suggests one
        c.out_act = (getattr(task, "defaults", {}) or {}).get("out_act") or "identity"
    if c.batch_size is None:
        c.batch_size = task_default(task, "batch_size")
        if c.batch_size is None:
            c.batch_size = FULL_BATCH
    if c.lr is None:
        defaults = getattr(task, "defaults", {}) or {}
        if defaults.get("lr") is not None and defaults.get("optim") == c.optim:
            c.lr = float(defaults["lr"])
        else:
            c.lr = float(OPTIMIZERS.get(c.optim).defaults["lr"])
    if landscape:
        c.val_frac = 0.0
        if c.epochs is not None:
            raise NNBenchError("epochs apply to data tasks only; give steps for a landscape")
        c.batch_size = FULL_BATCH
    if c.epochs is not None:
        check_int("epochs", c.epochs, 1)
        if n_train is None:
            n_train = n_train_of(c, task)
        b = n_train if c.batch_size == FULL_BATCH else min(int(c.batch_size), n_train)
        c.steps = c.epochs * math.ceil(n_train / b)
    if c.schedule == "cosine" and "T_max" not in c.schedule_kw:
        c.schedule_kw["T_max"] = max(1, int(c.steps) - int(c.warmup_steps))
    if c.log_every is None:  # the task's own (landscapes: every step), else ~500 points
        c.log_every = task_default(task, "log_every")
    if c.log_every is None:
        c.log_every = max(1, int(c.steps) // 500) if isinstance(c.steps, int) else None
    if c.eval_every is None:
        c.eval_every = c.log_every
    validate(c, task)
    return c


def _width_of_budget(c: RunFields, task: Any, width_given: int | None) -> int:
    """The width of ``c``'s MLP whose parameter count is closest to its budget ``params``
    (``width_given``: the width the config gave, which must be that one)."""
    check_int("params", c.params, 1)
    if getattr(task, "kind", "regression") == "landscape" or c.model != "mlp":
        raise NNBenchError(f"params sets the width of an mlp; model {c.model} on task "
                           f"{c.task} has no width to choose")
    check_int("depth", c.depth, 0)
    if c.depth == 0:
        raise NNBenchError("params sets the width of the hidden layers; depth 0 has none "
                           "(give depth >= 1)")
    n_features, n_outputs = _io_sizes(task, c.data_seed)
    width = width_for_params(c.params, n_features, c.depth, n_outputs, *mlp_shape(c))
    if width_given is not None and width_given != width:
        raise NNBenchError(f"params {c.params} and width {width_given} both given: params "
                           f"chooses the width ({width} at depth {c.depth}); give one")
    return width


def _io_sizes(task: Any, data_seed: int) -> tuple[int, int]:
    """``(n_features, n_outputs)`` of the task's data, counted once per task and seed."""
    cache = task.__dict__.setdefault("_io_sizes", {})
    if data_seed not in cache:
        cache[data_seed] = tuple(int(v) for v in task.sizes(seed=data_seed)[3:5])
    return cache[data_seed]


def _apply_model_defaults(c: RunFields) -> None:
    """Fill ``c``'s unset loss, optimizer, init and batch size (and the learning rate of
    the model's own optimizer) from its model's defaults, before the task's."""
    mdef = model_defaults(c.model)
    for key in ("loss", "optim", "init", "batch_size", "steps"):
        if getattr(c, key) is None and key in mdef:
            setattr(c, key, mdef[key])
    if c.lr is None and "lr" in mdef and c.optim == mdef.get("optim"):
        c.lr = float(mdef["lr"])


def validate(c: RunFields, task: Any = None) -> None:
    """Raise NNBenchError (one line) on the first impossible value of a resolved config."""
    kind = getattr(task, "kind", "regression")
    _validate_training(c, kind)
    _validate_optimizer(c)
    if kind == "landscape":
        _validate_landscape(c)
        return
    if c.start is not None:
        raise NNBenchError("start applies to landscape tasks only")
    _validate_network(c)
    check_options(c, kind)
    _validate_fit(c, task, kind)


def _validate_training(c: RunFields, kind: str) -> None:
    """Steps, learning rate, dtype, seeds, logging, validation, clipping and target."""
    check_int("steps", c.steps, 1)
    if not math.isfinite(c.lr):
        raise NNBenchError(f"lr must be a finite number > 0, got {c.lr!r}")
    check_positive("lr", c.lr)
    dtypes = choices(FIELD_TYPES["dtype"])
    if c.dtype not in dtypes:
        raise NNBenchError(f"dtype must be {' or '.join(map(repr, dtypes))}, got {c.dtype!r}")
    check_int("seed", c.seed, 0)
    check_int("data_seed", c.data_seed, 0)
    check_int("log_every", c.log_every, 1)
    check_int("eval_every", c.eval_every, 1)
    check_int("warmup_steps", c.warmup_steps, 0)
    check_range("val_frac", c.val_frac, 0.0, 1.0, high_open=True)
    if c.batch_size != FULL_BATCH:
        check_int("batch_size", c.batch_size, 1)
    if c.patience is not None:
        check_int("patience", c.patience, 1)
        if kind != "landscape" and not c.val_frac:
            raise NNBenchError("patience needs a validation set: give val_frac > 0 "
                               "(e.g. --val-frac 0.2)")
    if c.clip is not None:
        check_positive("clip", c.clip)
    if c.target is not None and not math.isfinite(c.target):
        raise NNBenchError(f"target must be a finite number, got {c.target!r}")


def _validate_optimizer(c: RunFields) -> None:
    """The optimizer, its hyperparameters (names, then values) and the schedule."""
    OPTIMIZERS.get(c.optim)
    base = c.hp.get("base") if isinstance(c.hp.get("base"), str) else None
    names = hyperparameter_names(c.optim, base)
    for k in c.hp:
        if k == "lr":
            raise NNBenchError("give the learning rate as lr (--lr), not as an hp")
        if k not in names:
            valid = [n for n in names if n != "lr"]
            close = difflib.get_close_matches(k, valid, n=1, cutoff=0.5)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise NNBenchError(f"unknown hyperparameter '{k}' for optimizer '{c.optim}'{hint} "
                               f"valid: {', '.join(valid) or '(none)'}")
    if c.form is not None and "form" in c.hp and c.hp["form"] != c.form:
        raise NNBenchError(f"form {c.form!r} and hp form {c.hp['form']!r} differ; give the "
                           "form once (form, forms or --hp form=)")
    if c.form is not None and "form" not in names:
        raise NNBenchError(f"optimizer '{c.optim}' has no written forms; form applies to "
                           "sgd, momentum, nesterov, adagrad, rmsprop, adam, amsgrad, adamw")
    optimizer(c.optim, lr=c.lr, **optimizer_hyper(c))  # checks the values
    SCHEDULES.get(c.schedule)
    schedule(c.schedule, warmup_steps=c.warmup_steps, **c.schedule_kw)  # checks the values


def _validate_landscape(c: RunFields) -> None:
    """A landscape run: a valid start point and none of the options of a network."""
    if c.start is not None:
        parse_start(c.start)
    given = [k for k in ("l2", "dropout", "binary", "pieces", "residual") if getattr(c, k)]
    if c.out_act not in (None, "identity"):
        given.append("out_act")
    if given:
        raise NNBenchError(f"{given[0]} applies to networks trained on data; task "
                           f"'{c.task}' is a landscape (a point, no weights)")


def _validate_network(c: RunFields) -> None:
    """A network trained on data: its loss, model, shape, activation and init."""
    LOSSES.get(c.loss)
    if c.model == "mlp":
        check_int("depth", c.depth, 0)
        check_int("width", c.width, 1)
        if c.depth == 0 and c.act != "identity":
            raise NNBenchError("depth must be >= 1: an mlp needs at least one hidden layer "
                               "(depth 0 is a linear model; give act 'identity' for it)")
        if c.depth > 0 and c.act != "maxout":
            ACTIVATIONS.get(c.act)
        initializer(c.init)  # the name, and the value of NAME:VALUE
    else:
        if c.model not in MODELS.names():
            raise UnknownNameError("model", c.model, MODELS.names())
        check_int("depth", c.depth, 0)
        check_int("width", c.width, 1)


# models of one output (the others have one per class, or the task's outputs)
ONE_OUTPUT_MODELS = ("logistic", "perceptron", "gaussian", "threshold")


def _validate_fit(c: RunFields, task: Any, kind: str) -> None:
    """The combination of task, model, loss and activation, checked before anything is
    created: what training would otherwise find at its first step (the loss of the other
    kind of task, one output for several classes, an activation without a gradient, a
    data set that is not there), said in the options' words."""
    name = getattr(task, "name", c.task)
    classes = getattr(task, "n_classes", None) if kind == "classification" else None
    what = (f"{name} is a classification task with {classes} classes" if classes
            else f"{name} is a {kind} task")
    loss_cls = LOSSES.get(c.loss).factory
    loss_kind = getattr(loss_cls, "kind", "regression")
    # half_sse and bce also train on classes, on one-hot targets of the labels
    one_hot = kind == "classification" and getattr(loss_cls, "one_hot", False)
    if loss_kind != kind and not one_hot:
        fix = ("softmax_cross_entropy" if kind == "classification" else "mse")
        if c.model in ONE_OUTPUT_MODELS:
            fix = model_defaults(c.model).get("loss", fix)
        raise NNBenchError(f"loss {c.loss} needs a {loss_kind} task; {what}: use {fix}")
    _validate_out_act(c, loss_cls)
    if c.model in ONE_OUTPUT_MODELS and classes != 2:
        raise NNBenchError(f"model {c.model} separates two classes with one output; {what}: "
                           "use --model softmax or mlp")
    if c.loss in ONE_OUTPUT_LOSSES and classes != 2:
        raise NNBenchError(f"loss {c.loss} separates two classes with one output; {what}: "
                           "use softmax_cross_entropy")
    if c.loss in ONE_OUTPUT_LOSSES and c.model not in (*ONE_OUTPUT_MODELS, "mlp"):
        raise NNBenchError(f"loss {c.loss} needs one output (--model logistic); model "
                           f"{c.model} has one output per class: use softmax_cross_entropy")
    if c.model == "mlp" and c.depth and c.act != "maxout" and not getattr(
            ACTIVATIONS.get(c.act).factory, "differentiable", True):
        raise NNBenchError(f"activation {c.act} has no gradient, so an mlp cannot train "
                           "with it: use a differentiable activation (sigmoid, tanh, relu, "
                           "...) or --model perceptron")
    check = getattr(task, "check_available", None)
    if check is not None:
        check()  # the files or the optional package the data needs


def _validate_out_act(c: RunFields, loss_cls: Any) -> None:
    """``out_act``: a choice of :data:`~nnbench.core.losses.OUTPUT_ACTIVATIONS`, an output
    layer of the mlp, not in front of a loss that applies its own link to the linear
    output (softmax, the sigmoid of one logit, a margin), and ``sigmoid`` for ``bce``."""
    out_act = c.out_act if c.out_act is not None else "identity"
    if out_act not in OUTPUT_ACTIVATIONS:
        raise NNBenchError(f"out_act must be one of {', '.join(OUTPUT_ACTIVATIONS)}, got "
                           f"{out_act!r}")
    if c.loss == "bce" and out_act != "sigmoid":
        raise NNBenchError("loss bce is the cross-entropy of outputs in (0, 1): give "
                           "--out-act sigmoid (or bce_with_logits for one logit)")
    if out_act == "identity":
        return
    if c.model != "mlp":
        raise NNBenchError(f"--out-act {out_act} is the output layer of --model mlp, got "
                           f"model '{c.model}'")
    if getattr(loss_cls, "takes_labels", False):
        raise NNBenchError(f"loss {c.loss} takes the linear output and applies its own "
                           f"link; --out-act {out_act} needs a loss of targets: half_sse or "
                           "bce (or mse on a regression task)")


def batch_warnings(runs: list[RunFields], task: Any) -> list[str]:
    """A line for every batch size of the resolved ``runs`` larger than the training set,
    which then trains full batch (nothing for full batch or a landscape)."""
    if getattr(task, "kind", "landscape") == "landscape":
        return []
    sizes = sorted({int(r.batch_size) for r in runs if r.batch_size != FULL_BATCH})
    if not sizes:
        return []
    r = runs[0]
    n_train = task.sizes(r.data_seed, r.val_frac)[0]
    return [f"batch size {b} is larger than the {plural(n_train, 'training sample')} of "
            f"{task.name}: "
            "it trains full batch" for b in sizes if b > n_train]
