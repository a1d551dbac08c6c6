"""``nnbench list FAMILY``: the names of a family with their descriptions and defaults."""

from __future__ import annotations

import importlib
from typing import Annotated, Any, Literal

import typer

from nnbench.cli.app import app, fail

# family -> (module, registry attribute)
FAMILIES = {
    "optimizers": ("nnbench.core.optimizers", "OPTIMIZERS"),
    "activations": ("nnbench.core.activations", "ACTIVATIONS"),
    "losses": ("nnbench.core.losses", "LOSSES"),
    "inits": ("nnbench.core.init", "INITS"),
    "schedules": ("nnbench.core.schedules", "SCHEDULES"),
    "tasks": ("nnbench.tasks", "TASKS"),
    "models": ("nnbench.core.models", "MODELS"),
}

Family = Literal[tuple(FAMILIES)]  # type: ignore[valid-type]


def registry(family: str) -> Any:
    """The registry of ``family``, imported on first use."""
    module, attr = FAMILIES[family]
    return getattr(importlib.import_module(module), attr)


@app.command("list")
def list_(
    family: Annotated[Family, typer.Argument(
        parser=str, help="One of: " + ", ".join(FAMILIES))] = "optimizers",
):
    """List the names of a family with a one-line description and defaults.

    Example: [bold]nnbench list optimizers[/bold]
    """
    from rich.console import Console
    from rich.table import Table

    from nnbench.tasks.base import format_value

    if family not in FAMILIES:
        from nnbench.core.errors import UnknownNameError

        fail(str(UnknownNameError("family", family, FAMILIES)))
    table = Table(title=f"nnbench {family}")
    table.add_column("name", style="bold")
    table.add_column("description")
    table.add_column("defaults")
    for entry in registry(family):
        defaults = ", ".join(f"{k}={format_value(v)}" for k, v in entry.defaults.items())
        table.add_row(entry.name, entry.description, defaults)
    Console().print(table)
