"""``nnbench list FAMILY``: the names of a family with their descriptions and defaults."""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from nnbench.cli.app import FAMILIES, app, boundary, fail, registry
from nnbench.cli.options import PluginOpt

Family = Literal[tuple(FAMILIES)]  # type: ignore[valid-type]


@app.command("list")
def list_(
    family: Annotated[Family, typer.Argument(
        parser=str, help="One of: " + ", ".join(FAMILIES))] = "optimizers",
    plugin: PluginOpt = None,
):
    """List the names of a family with a one-line description and defaults (optimizers:
    and the values each hyperparameter allows), and where each comes from (built-in, a
    plugin file, an installed package).

    Example: [bold]nnbench list optimizers --plugin examples/plugins/lion.py[/bold]
    """
    from rich.console import Console
    from rich.table import Table

    from nnbench.tasks.base import format_value

    if family not in FAMILIES:
        from nnbench.core.errors import UnknownNameError

        fail(str(UnknownNameError("family", family, FAMILIES)))
    with boundary(False):
        from nnbench.plugins import load_plugins

        load_plugins(plugin or [])
    ruled = any(entry.constraints for entry in registry(family))  # optimizers
    table = Table(title=f"nnbench {family}")
    table.add_column("name", style="bold")
    table.add_column("description")
    table.add_column("defaults", no_wrap=ruled)
    if ruled:  # one parameter a line, what it may be beside it
        table.add_column("allowed", no_wrap=True)
    table.add_column("from")
    for entry in registry(family):
        if ruled:
            table.add_row(entry.name, entry.description,
                          "\n".join(f"{k}={format_value(v)}" for k, v in entry.defaults.items()),
                          "\n".join(str(entry.constraints.get(k, "")) for k in entry.defaults),
                          entry.origin)
            continue
        defaults = ", ".join(f"{k}={format_value(v)}" for k, v in entry.defaults.items())
        table.add_row(entry.name, entry.description, defaults, entry.origin)
    Console().print(table)
