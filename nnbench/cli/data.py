"""``nnbench data ...``: download and prepare data sets in the cache.

A Typer sub-app, registered on the main command line as ``nnbench data``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from nnbench.cli.app import app, fail, one_line
from nnbench.schema import choices

data_app = typer.Typer(
    name="data",
    help="Download and prepare data sets (MNIST, Fashion-MNIST, MNIST-1D) in the cache.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)

# the data sets `nnbench data fetch` prepares
Fetchable = Literal["mnist", "fashion-mnist", "mnist1d"]
FETCHABLE: tuple[str, ...] = choices(Fetchable)


@data_app.command("fetch")
def fetch(
    name: Annotated[Fetchable, typer.Argument(parser=str, help="One of: " + ", ".join(FETCHABLE))],
    dest: Annotated[Path | None, typer.Option(
        "--dest", help="Directory for the files (default: the cache).")] = None,
    mirror: Annotated[list[str] | None, typer.Option(
        "--mirror", help="Base URL to download from instead of the known ones "
        "(repeatable; file:// works); the SHA-256 checksums are still checked.")] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show the traceback on errors.")] = False,
):
    """Download MNIST or Fashion-MNIST (SHA-256 checked), or generate MNIST-1D offline.

    Example: [bold]nnbench data fetch mnist[/bold]
    """
    from nnbench.core.errors import NNBenchError, UnknownNameError

    try:
        if name not in FETCHABLE:
            raise UnknownNameError("data set", name, FETCHABLE)
        if name == "mnist1d":
            from nnbench.tasks.cache import cache_dir
            from nnbench.tasks.classification import MNIST1D_FILE, mnist1d_arrays

            where = dest if dest is not None else cache_dir()
            mnist1d_arrays(where)
            typer.echo(str(Path(where) / MNIST1D_FILE))
            return
        from nnbench.tasks.idx import fetch as fetch_idx

        for path in fetch_idx(name, dest, urls=mirror or None):
            typer.echo(str(path))
    except NNBenchError as err:
        if debug:
            raise
        fail(one_line(str(err)))


@data_app.command("dir")
def dir_():
    """Print the cache directory ($NNBENCH_CACHE, else $XDG_CACHE_HOME/nnbench, else
    ~/.cache/nnbench).

    Example: [bold]nnbench data dir[/bold]
    """
    from nnbench.tasks.cache import cache_dir

    typer.echo(str(cache_dir()))


@data_app.command("info")
def info(
    task: Annotated[str, typer.Argument(help="A data task ([bold]nnbench list tasks[/bold]).")],
    data_dir: Annotated[Path | None, typer.Option(
        "--data-dir", help="Directory with the IDX files (mnist, fashion-mnist).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Data seed (splits, noise).")] = 0,
    debug: Annotated[bool, typer.Option("--debug", help="Show the traceback on errors.")] = False,
):
    """Load a data task and print its splits' shapes and its number of classes.

    Example: [bold]nnbench data info digits[/bold]
    """
    from nnbench.core.errors import NNBenchError
    from nnbench.tasks import get_task

    try:
        kw = {} if data_dir is None else {"data_dir": str(data_dir)}
        t = get_task(task, **kw)
        if t.kind == "landscape":
            raise NNBenchError(f"task '{task}' is a landscape and has no data")
        d = t.load(seed=seed)
    except NNBenchError as err:
        if debug:
            raise
        fail(one_line(str(err)))
    for part in ("train", "val", "test"):
        X = getattr(d, f"X_{part}")
        y = getattr(d, f"y_{part}")
        if X is not None:
            typer.echo(f"{part}: X {X.shape} {X.dtype}, y {y.shape} {y.dtype}")
    typer.echo(f"n_features={d.n_features} n_outputs={d.n_outputs} n_classes={d.n_classes}")


app.add_typer(data_app, name="data")
