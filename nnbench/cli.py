"""The command line: parses, validates, delegates. Heavy imports stay inside commands."""

from __future__ import annotations

import importlib
import sys
from typing import Annotated

import typer

from nnbench import __version__

app = typer.Typer(
    name="nnbench",
    help="Optimizer and activation experiments on small neural networks.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)

# family -> (module, registry attribute)
FAMILIES = {
    "optimizers": ("nnbench.core.optimizers", "OPTIMIZERS"),
    "activations": ("nnbench.core.activations", "ACTIVATIONS"),
    "losses": ("nnbench.core.losses", "LOSSES"),
    "inits": ("nnbench.core.init", "INITS"),
    "schedules": ("nnbench.core.schedules", "SCHEDULES"),
    "tasks": ("nnbench.tasks", "TASKS"),
}


def registry(family: str):
    module, attr = FAMILIES[family]
    return getattr(importlib.import_module(module), attr)


def _version(value: bool):
    if value:
        typer.echo(f"nnbench {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
):
    """Optimizer and activation experiments on small neural networks."""


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return "(" + ", ".join(_fmt(v) for v in value) + ")"
    return str(value)


@app.command("list")
def list_(
    family: Annotated[str, typer.Argument(help="One of: " + ", ".join(FAMILIES))] = "optimizers",
):
    """List the names of a family with a one-line description and defaults.

    Example: [bold]nnbench list optimizers[/bold]
    """
    from rich.console import Console
    from rich.table import Table

    if family not in FAMILIES:
        from nnbench.core.errors import UnknownNameError

        _fail(str(UnknownNameError("family", family, FAMILIES)))
    table = Table(title=f"nnbench {family}")
    table.add_column("name", style="bold")
    table.add_column("description")
    table.add_column("defaults")
    for entry in registry(family):
        defaults = ", ".join(f"{k}={_fmt(v)}" for k, v in entry.defaults.items())
        table.add_row(entry.name, entry.description, defaults)
    Console().print(table)


def _fail(message: str, code: int = 2):
    typer.echo(f"nnbench: error: {message}", err=True)
    raise typer.Exit(code)


def main():
    app()


if __name__ == "__main__":
    sys.exit(main())
