"""Plugins: update rules, activations, tasks and schedules of one's own.

A plugin is a Python file (``--plugin PATH.py``, ``plugins = [...]`` in a config file) or an
installed package (the entry-point group ``nnbench.plugins``) that registers entries with
the public decorators::

    import nnbench
    from nnbench.core.optimizers import Optimizer

    @nnbench.register_optimizer("lion", description="Lion: the sign of a momentum mix")
    class Lion(Optimizer):
        ...

:func:`register_optimizer`, :func:`register_activation`, :func:`register_task` and
:func:`register_schedule` add to the very registries the built-in entries live in (an
optimizer's defaults come from its constructor's signature and its constraints from its
``_parameter_constraints``, as the built-in rules'), after checking the contract the
built-in entries meet: an optimizer is an ``init``/``update`` pair on the runs axis whose
hyperparameters may be scalars or ``(R,)`` arrays (one step of a stacked group equals the
steps of its runs alone); an activation's ``grad`` is its derivative (central differences);
a task loads its data and a run on it resolves; a schedule gives a finite factor per step.
A broken contract or a file that does not import is one line naming the file and the line
(:class:`PluginError`, exit code 2 on the command line).

Every entry remembers its ``origin`` (``built-in``, ``plugin FILE``, ``package NAME``),
which ``nnbench list`` shows. :func:`loaded` describes the plugin files of this process (path,
SHA-256 and source), which the executors send to their workers (:func:`ensure_loaded`), so
that worker processes and Dask workers, on this machine or another, train with the same
code; the SHA-256 goes into ``meta.json`` and into the run cache's key.
"""

from __future__ import annotations

import hashlib
import inspect
import sys
import traceback
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnbench.config import RunConfig
from nnbench.core.activations import ACTIVATIONS, Activation
from nnbench.core.errors import NNBenchError
from nnbench.core.optimizers import OPTIMIZERS, Optimizer, add_rule, defaults_of
from nnbench.core.schedules import SCHEDULES, Schedule, add_schedule
from nnbench.resolve import resolve
from nnbench.schema import RUN_KEYS
from nnbench.tasks.base import BASE_DEFAULTS, KINDS, TASKS, Task, get_task
from nnbench.tasks.base import register as add_task

__all__ = ["PluginError", "PluginFile", "register_optimizer", "register_activation",
           "register_task", "register_schedule", "load_plugin", "load_plugins",
           "load_entry_points", "ensure_loaded", "loaded", "unload_all", "ENTRY_POINT_GROUP"]

ENTRY_POINT_GROUP = "nnbench.plugins"


class PluginError(NNBenchError):
    """A plugin that does not import or breaks a contract (one line: file, line, what)."""


@dataclass(frozen=True)
class PluginFile:
    """A plugin file as loaded: the ``path`` given, its ``sha256`` and ``source`` text."""

    path: str
    sha256: str
    source: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "sha256": self.sha256, "source": self.source}


_files: dict[str, PluginFile] = {}  # resolved path -> the file as loaded
_entries: dict[str, list[tuple[Any, str]]] = {}  # origin -> [(registry, name)]
_packages: dict[str, str] = {}  # entry-point origin -> its distribution's version
_loading: list[str] = []  # the origin being loaded (innermost last)
_entry_points_done = False


# --------------------------------------------------------------------------- #
# where a registration comes from, and where it went wrong
# --------------------------------------------------------------------------- #


def _origin(obj: Any) -> str:
    if _loading:
        return _loading[-1]
    return f"module {getattr(obj, '__module__', '?')}"


def _call_site() -> str:
    """``FILE:LINE`` of the innermost frame outside this module (the decorator's line in
    the plugin file)."""
    for frame in inspect.stack()[1:]:
        if frame.filename != __file__:
            return f"{frame.filename}:{frame.lineno}"
    return "?"  # pragma: no cover


def _broken(kind: str, name: str, what: str) -> PluginError:
    return PluginError(f"{_call_site()}: {kind} '{name}' {what}")


def _record(registry: Any, name: str, origin: str, add: Callable[[], None],
            kind: str) -> None:
    if name in registry:
        have = registry.get(name).origin
        raise _broken(kind, name, f"is already registered ({have}); choose another name")
    add()
    _entries.setdefault(origin, []).append((registry, name))


def _signature_defaults(cls: type, kind: str, name: str,
                        skip: Iterable[str] = ()) -> dict[str, Any]:
    """The defaults of ``cls``'s constructor; an argument without one breaks the contract
    (the registry builds the entry from its defaults)."""
    out = {}
    for k, p in inspect.signature(cls).parameters.items():
        if k in skip or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.default is inspect.Parameter.empty:
            raise _broken(kind, name, f"needs a default for its argument '{k}' (entries are "
                                      "built from their defaults)")
        out[k] = p.default
    return out


def _check_class(obj: Any, base: type, kind: str, name: str, what: str) -> None:
    if not (isinstance(obj, type) and issubclass(obj, base)):
        raise _broken(kind, name, f"must be a subclass of {base.__module__}.{base.__name__} "
                                  f"({what}), got {obj!r}")


def _decorator(register: Callable[[Any], None], obj: Any) -> Any:
    if obj is not None:
        register(obj)
        return obj

    def deco(target: Any) -> Any:
        register(target)
        return target

    return deco


def _description(obj: Any, description: str | None) -> str:
    if description:
        return " ".join(description.split())
    doc = inspect.getdoc(obj) or ""
    return doc.strip().split("\n\n")[0].replace("\n", " ") or obj.__name__


# --------------------------------------------------------------------------- #
# optimizers
# --------------------------------------------------------------------------- #


def register_optimizer(name: str, cls: type | None = None, *, description: str | None = None,
                       **overrides: Any) -> Any:
    """Register an update rule (a subclass of :class:`nnbench.core.optimizers.Optimizer`)
    as ``name``; a decorator, or called with the class. ``overrides`` change defaults of
    its constructor (``lr=1e-4``), as the built-in aliases do. The rule declares its
    hyperparameters' constraints in ``_parameter_constraints``; every constructor argument
    needs a default; ``lr`` is the base class's."""

    def register(obj: Any) -> None:
        _check_class(obj, Optimizer, "optimizer", name, "an init/update pair")
        for method in ("_init", "_update"):
            if getattr(obj, method) is getattr(Optimizer, method):
                raise _broken("optimizer", name, f"must define {method} (the rule's "
                                                 "init/update pair)")
        _signature_defaults(obj, "optimizer", name, skip=overrides)
        declared = list(obj.constraints())
        taken = list(inspect.signature(obj).parameters)
        if sorted(declared) != sorted(taken):
            raise _broken("optimizer", name, f"takes {taken} but declares constraints for "
                          f"{declared}: _parameter_constraints must name every constructor "
                          "argument but lr, which the base class declares")
        defaults = defaults_of(obj, **overrides)
        _check_update(name, obj, defaults)
        _record(OPTIMIZERS, name, _origin(obj),
                lambda: add_rule(name, obj, _description(obj, description), overrides,
                                 _origin(obj)), "optimizer")

    return _decorator(register, cls)


def _check_update(name: str, cls: type, defaults: dict[str, Any]) -> None:
    """One group of three runs, stacked, takes the steps its runs take alone (per-run
    learning rates as an ``(R,)`` array), in place and in the parameters' dtype."""
    try:
        opt = cls(**defaults)
    except (NNBenchError, TypeError, ValueError) as err:
        raise _broken("optimizer", name, f"cannot be built from its defaults: {err}") from None
    rng = np.random.default_rng(0)
    shapes = [(3, 4, 2), (3, 1, 2)]
    start = [rng.standard_normal(s) for s in shapes]
    grads = [[rng.standard_normal(s) for s in shapes] for _ in range(3)]
    lr = float(np.mean(np.asarray(defaults["lr"], dtype=float)))
    lrs = lr * np.array([1.0, 0.5, 0.25])
    try:
        stacked = [p.copy() for p in start]
        ids = [id(p) for p in stacked]
        state = opt.init(stacked)
        for g in grads:
            opt.update(stacked, g, state, lr=lrs)
        alone = []
        for r in range(3):
            one = [p[r:r + 1].copy() for p in start]
            s = opt.init(one)
            for g in grads:
                opt.update(one, [x[r:r + 1] for x in g], s, lr=float(lrs[r]))
            alone.append(one)
        single = [p.astype(np.float32) for p in start]
        s32 = opt.init(single)
        opt.update(single, [g.astype(np.float32) for g in grads[0]], s32)
    except NNBenchError:
        raise
    except Exception as err:
        raise _broken("optimizer", name, f"fails a step on the runs axis: "
                      f"{type(err).__name__}: {err}") from None
    if [id(p) for p in stacked] != ids:
        raise _broken("optimizer", name, "must change params in place (the list's arrays)")
    for i, p in enumerate(stacked):
        want = np.concatenate([a[i] for a in alone])
        if p.shape != want.shape or not np.allclose(p, want, rtol=1e-10, atol=1e-12):
            raise _broken("optimizer", name, "gives a run another step in a group than "
                          "alone: every hyperparameter and state must act per run (the "
                          "leading axis)")
    if any(p.dtype != np.float32 for p in single):
        raise _broken("optimizer", name, "must keep the parameters' dtype (float32 stayed "
                      "float32 for the built-in rules)")
    if not all(np.all(np.isfinite(p)) for p in stacked):
        raise _broken("optimizer", name, "gives non-finite parameters on a plain step")


# --------------------------------------------------------------------------- #
# activations
# --------------------------------------------------------------------------- #


def register_activation(name: str, cls: type | None = None, *,
                        description: str | None = None) -> Any:
    """Register an elementwise activation (a subclass of
    :class:`nnbench.core.activations.Activation` with ``__call__(z, slope=None)`` and
    ``grad(z, a, slope=None)``) as ``name``; its parameters are its constructor's, with
    their defaults. ``grad`` is checked against central differences."""

    def register(obj: Any) -> None:
        _check_class(obj, Activation, "activation", name, "f and its derivative")
        for method in ("__call__", "grad"):
            if getattr(obj, method) is getattr(Activation, method):
                raise _broken("activation", name, f"must define {method}")
        if obj.learnable or obj.random or not obj.elementwise:
            raise _broken("activation", name, "must be elementwise without learned or random "
                          "slopes (prelu, rrelu and maxout are built into the network)")
        defaults = _signature_defaults(obj, "activation", name)
        obj.name = name  # what the kernels and the statistics look it up by
        _check_activation(name, obj, defaults)
        _record(ACTIVATIONS, name, _origin(obj),
                lambda: ACTIVATIONS.add(name, obj, _description(obj, description), defaults,
                                        origin=_origin(obj)), "activation")

    return _decorator(register, cls)


def _check_activation(name: str, cls: type, defaults: dict[str, Any]) -> None:
    try:
        act = cls(**defaults)
        z = np.linspace(-3.0, 3.0, 24).reshape(2, 3, 4) + 0.0123
        a = act(z)
        g = act.grad(z, a)
        h = 1e-6
        fd = (act(z + h) - act(z - h)) / (2 * h)
        a32 = act(z.astype(np.float32))
    except NNBenchError:
        raise
    except Exception as err:
        raise _broken("activation", name, f"fails on a (runs, n, width) array: "
                      f"{type(err).__name__}: {err}") from None
    if np.shape(a) != z.shape or np.shape(g) != z.shape:
        raise _broken("activation", name, f"must keep the shape {z.shape}, gave "
                      f"{np.shape(a)} and {np.shape(g)} (f and grad)")
    if getattr(a32, "dtype", None) != np.float32:
        raise _broken("activation", name, "must keep float32 inputs float32")
    if cls.differentiable and not np.allclose(g, fd, rtol=1e-4, atol=1e-6):
        worst = float(np.max(np.abs(np.asarray(g) - fd)))
        raise _broken("activation", name, f"has a grad that is not its derivative (off by "
                      f"{worst:.3g} from central differences on [-3, 3])")


# --------------------------------------------------------------------------- #
# tasks
# --------------------------------------------------------------------------- #


def register_task(name: str, cls: type | None = None, *, description: str | None = None,
                  defaults: Mapping[str, Any] | None = None,
                  params: Mapping[str, Any] | None = None) -> Any:
    """Register a task (a subclass of :class:`nnbench.tasks.base.DataTask` with
    ``generate(seed, dtype) -> (X, y, X_test, y_test)``, or a landscape) as ``name``.
    ``defaults`` are the run configuration it suggests (over the data tasks' common
    defaults: model, init, batch size, val_frac), ``params`` its own parameters with their
    defaults (``--task NAME`` with ``task_kw``). A run with the defaults must resolve and
    the data load."""

    def register(obj: Any) -> None:
        _check_class(obj, Task, "task", name, "data or a landscape")
        if obj.kind not in KINDS:
            raise _broken("task", name, f"has kind {obj.kind!r}; give one of "
                                        f"{', '.join(KINDS)}")
        base = {} if obj.kind == "landscape" else BASE_DEFAULTS
        full = {**base, **dict(defaults or {})}
        _record(TASKS, name, _origin(obj),
                lambda: add_task(name, obj, _description(obj, description), full,
                                 dict(params or {}), origin=_origin(obj)), "task")
        try:
            _check_task(name)
        except BaseException:
            TASKS.remove(name)
            _entries[_origin(obj)].remove((TASKS, name))
            raise

    return _decorator(register, cls)


def _check_task(name: str) -> None:
    try:
        task = get_task(name)
        unknown = [k for k in task.defaults if k not in RUN_KEYS]
        if unknown:
            raise _broken("task", name, f"suggests '{unknown[0]}', which is no run setting "
                          f"(valid: {', '.join(RUN_KEYS)})")
        if task.kind != "landscape":
            d = task.load(seed=0, dtype="float32")
            if d.X_train.ndim != 2 or len(d.X_train) != len(d.y_train):
                raise _broken("task", name, f"loads X_train {d.X_train.shape} and y_train "
                              f"{np.shape(d.y_train)}: want (n, features) and n targets")
        resolve(RunConfig(task=name), task)
    except NNBenchError as err:
        if isinstance(err, PluginError):
            raise
        raise _broken("task", name, f"does not give a run: {err}") from None
    except Exception as err:
        raise _broken("task", name, f"fails to load: {type(err).__name__}: {err}") from None


# --------------------------------------------------------------------------- #
# schedules
# --------------------------------------------------------------------------- #


def register_schedule(name: str, cls: type | None = None, *,
                      description: str | None = None) -> Any:
    """Register a learning-rate schedule (a subclass of
    :class:`nnbench.core.schedules.Schedule` with ``factor(t) -> array``, ``t`` a float
    array of steps from 0) as ``name``; its parameters are its constructor's, and
    ``warmup_steps`` goes in front of it as for every schedule."""

    def register(obj: Any) -> None:
        _check_class(obj, Schedule, "schedule", name, "a factor per step")
        if obj.factor is Schedule.factor:
            raise _broken("schedule", name, "must define factor(t)")
        defaults = _signature_defaults(obj, "schedule", name)
        try:
            f = obj(**defaults)(np.arange(8))
        except NNBenchError:
            f = None  # a parameter that must be given (as cosine's T_max)
        except Exception as err:
            raise _broken("schedule", name, f"fails on steps 0..7: {type(err).__name__}: "
                          f"{err}") from None
        if f is not None and (np.shape(f) != (8,) or not np.all(np.isfinite(f))
                              or np.any(np.asarray(f) < 0)):
            raise _broken("schedule", name, "must give one finite factor >= 0 per step")
        _record(SCHEDULES, name, _origin(obj),
                lambda: add_schedule(name, obj, _description(obj, description), defaults,
                                     _origin(obj)), "schedule")

    return _decorator(register, cls)


# --------------------------------------------------------------------------- #
# loading
# --------------------------------------------------------------------------- #


def _unload(origin: str) -> None:
    for registry, name in _entries.pop(origin, []):
        registry.remove(name)


def unload_all() -> None:
    """Forget every plugin entry of this process (tests; a fresh start)."""
    global _entry_points_done
    for origin in list(_entries):
        _unload(origin)
    _files.clear()
    _packages.clear()
    _entry_points_done = False


def _failure(where: str, path: str, err: BaseException) -> PluginError:
    """One line for an exception out of a plugin: its file and line (the innermost frame in
    the plugin's file) and what went wrong."""
    if isinstance(err, PluginError):
        return err
    if isinstance(err, SyntaxError) and err.filename == path:
        return PluginError(f"{path}:{err.lineno}: {where} does not import: "
                           f"SyntaxError: {err.msg}")
    line = None
    for frame in traceback.extract_tb(err.__traceback__):
        if frame.filename == path:
            line = frame.lineno
    at = f"{path}:{line}" if line else path
    text = " ".join(str(err).split())
    return PluginError(f"{at}: {where} does not import: {type(err).__name__}: {text}")


def _exec(plugin: PluginFile, origin: str) -> None:
    module = types.ModuleType(f"nnbench_plugin_{plugin.sha256[:16]}")
    module.__file__ = plugin.path
    sys.modules[module.__name__] = module  # dataclasses and pickling look classes up there
    _loading.append(origin)
    try:
        exec(compile(plugin.source, plugin.path, "exec"), module.__dict__)  # noqa: S102
    except BaseException as err:
        _unload(origin)
        sys.modules.pop(module.__name__, None)
        if isinstance(err, KeyboardInterrupt):
            raise
        raise _failure(f"plugin {plugin.path}", plugin.path, err) from None
    finally:
        _loading.pop()


def load_plugin(path: str | Path) -> PluginFile:
    """Load the plugin file ``path`` (once a process: again only when its bytes changed,
    replacing its entries)."""
    path = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise PluginError(f"plugin {path} cannot be read: {err.strerror or err}; give the "
                          "path of a Python file (--plugin PATH.py)") from None
    try:
        source = data.decode("utf-8")
    except UnicodeDecodeError:
        raise PluginError(f"plugin {path} is not UTF-8 text; give a Python file") from None
    plugin = PluginFile(path, hashlib.sha256(data).hexdigest(), source)
    return _load(plugin)


def _load(plugin: PluginFile) -> PluginFile:
    key = str(Path(plugin.path).resolve())
    have = _files.get(key)
    if have is not None and have.sha256 == plugin.sha256:
        return have
    origin = f"plugin {plugin.path}"
    if have is not None:
        _unload(f"plugin {have.path}")
        del _files[key]
    _exec(plugin, origin)
    _files[key] = plugin
    return plugin


def load_plugins(paths: Sequence[str | Path] = ()) -> list[PluginFile]:
    """The installed packages' plugins (:func:`load_entry_points`), then the files
    ``paths`` in order."""
    load_entry_points()
    return [load_plugin(p) for p in paths]


def load_entry_points() -> None:
    """Load, once a process, every entry point of the group ``nnbench.plugins``: a module
    that registers entries when imported, or a function that does when called."""
    global _entry_points_done
    if _entry_points_done:
        return
    _entry_points_done = True
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        origin = f"package {dist.name}" if dist is not None else f"entry point {ep.name}"
        if origin in _entries:
            continue
        _loading.append(origin)
        try:
            obj = ep.load()
            if callable(obj) and not isinstance(obj, types.ModuleType):
                obj()
        except BaseException as err:
            _unload(origin)
            if isinstance(err, KeyboardInterrupt):
                raise
            frames = traceback.extract_tb(err.__traceback__)
            path = frames[-1].filename if frames else ep.value
            raise _failure(f"entry point {ep.name} ({ep.value})", path, err) from None
        finally:
            _loading.pop()
        _packages[origin] = getattr(dist, "version", "") if dist is not None else ""


def loaded() -> list[PluginFile]:
    """The plugin files loaded in this process, in the order loaded."""
    return list(_files.values())


def used_by(run: Any) -> list[str]:
    """What identifies the plugins whose entries the run ``run`` (a resolved
    :class:`~nnbench.config.RunConfig`) uses: each such file's SHA-256, each such package's
    name and version (the run cache's key; a plugin the run does not use changes none of
    its numbers)."""
    names = {"optimizer": {run.optim, (run.hp or {}).get("base")}, "activation": {run.act},
             "task": {run.task}, "schedule": {run.schedule}}
    by_origin = {f"plugin {f.path}": f.sha256 for f in _files.values()}
    out = []
    for origin, entries in _entries.items():
        if any(name in names.get(registry.family, ()) for registry, name in entries):
            out.append(by_origin.get(origin) or f"{origin} {_packages.get(origin, '')}")
    return sorted(out)


def packages() -> dict[str, str]:
    """The installed packages whose entry points were loaded: origin -> version."""
    return dict(_packages)


def ensure_loaded(files: Sequence[Mapping[str, str]]) -> None:
    """In a worker: load the plugin files ``files`` (:meth:`PluginFile.as_dict`, sent by
    the parent, the source included, so a worker on another machine needs no copy) and the
    installed packages' plugins."""
    load_entry_points()
    for f in files:
        _load(PluginFile(f["path"], f["sha256"], f["source"]))
