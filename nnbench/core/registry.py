"""Registries: one per family (optimizers, activations, losses, initializers,
schedules, tasks, models), each mapping a name to a factory with a one-line
description, its default hyperparameters and (optimizers) what each may be."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from nnbench.core.errors import NNBenchError, UnknownNameError

#: the origin of the entries nnbench itself registers (a plugin's names its file or package)
BUILT_IN = "built-in"


@dataclass(frozen=True)
class Entry:
    """One registered name: ``factory(**kwargs)`` builds the object. ``constraints``
    maps a parameter to what it may be (an object whose ``str`` reads as a range, e.g.
    ``[0, 1)``); a family that declares none leaves it empty. ``origin`` says where the
    entry comes from: :data:`BUILT_IN`, or a plugin (``plugin FILE``, ``package NAME``)."""

    name: str
    factory: Callable[..., Any]
    description: str
    defaults: Mapping[str, Any] = field(default_factory=dict)
    constraints: Mapping[str, Any] = field(default_factory=dict)
    origin: str = BUILT_IN


class Registry:
    """Name -> :class:`Entry`. ``get`` of an unknown name raises
    :class:`~nnbench.core.errors.UnknownNameError` naming the closest valid one."""

    def __init__(self, family: str):
        self.family = family
        self._entries: dict[str, Entry] = {}

    def add(self, name: str, factory: Callable[..., Any], description: str,
            defaults: Mapping[str, Any] | None = None,
            constraints: Mapping[str, Any] | None = None, origin: str = BUILT_IN) -> Entry:
        if name in self._entries:
            raise KeyError(f"{self.family} '{name}' is registered twice")
        entry = Entry(name, factory, description, dict(defaults or {}), dict(constraints or {}),
                      origin)
        self._entries[name] = entry
        return entry

    def register(self, name: str, description: str,
                 defaults: Mapping[str, Any] | None = None) -> Callable:
        """Decorator form of :meth:`add`."""

        def deco(factory):
            self.add(name, factory, description, defaults)
            return factory

        return deco

    def remove(self, name: str) -> None:
        """Forget ``name`` (a plugin's entries, when its file is loaded again)."""
        self._entries.pop(name, None)

    def get(self, name: str) -> Entry:
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            raise UnknownNameError(self.family, name, self._entries) from None

    def create(self, name: str, **kwargs: Any) -> Any:
        return self.get(name).factory(**kwargs)

    def build(self, name: str, **kwargs: Any) -> Any:
        """:meth:`create`, accepting only the parameters the entry lists in its defaults;
        another raises NNBenchError naming it and the valid ones."""
        entry = self.get(name)
        unknown = set(kwargs) - set(entry.defaults)
        if unknown:
            valid = ", ".join(entry.defaults) or "none"
            raise NNBenchError(f"{self.family} '{name}' has no parameter "
                               f"{sorted(unknown)[0]!r}; valid: {valid}")
        return entry.factory(**kwargs)

    def names(self) -> list[str]:
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)
