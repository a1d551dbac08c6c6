"""``nnbench cache info|clear``: the run cache (finished runs that ``run`` and ``compare``
take instead of training them again; :mod:`nnbench.store.runcache`).

A Typer sub-app, registered on the main command line as ``nnbench cache``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nnbench.cli.app import app

cache_app = typer.Typer(
    name="cache",
    help="The run cache: finished runs that run and compare copy instead of training.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)

DirOpt = Annotated[Path | None, typer.Option(
    "--cache-dir", metavar="DIR",
    help="The run cache's directory (default: runs/ in nnbench's cache), e.g. --cache-dir "
         "/scratch/nnbench-runs.")]


@cache_app.command("info")
def info(cache_dir: DirOpt = None):
    """Where the run cache is, how many runs it holds and their size.

    Example: [bold]nnbench cache info[/bold]
    """
    from nnbench.store.runcache import RunCache, bypassed, human_size

    got = RunCache(cache_dir).info()
    typer.echo(f"run cache: {got['path']}")
    typer.echo(f"runs: {got['runs']} ({human_size(got['bytes'])})")
    if bypassed():
        typer.echo("NNBENCH_NO_CACHE is set: run and compare bypass it")


@cache_app.command("clear")
def clear(cache_dir: DirOpt = None):
    """Remove the runs of the run cache (only the files nnbench wrote there).

    Example: [bold]nnbench cache clear[/bold]
    """
    from nnbench.store.runcache import RunCache

    cache = RunCache(cache_dir)
    n = cache.clear()
    typer.echo(f"removed {n} cached run{'s' if n != 1 else ''} from {cache.path}")


app.add_typer(cache_app, name="cache")
