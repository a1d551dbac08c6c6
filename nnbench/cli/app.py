"""The Typer app and its boundary: one-line errors, exit codes, the entry point.

Bad input of any kind becomes one line ``nnbench: error: ...`` on stderr and exit
code 2 (``--debug`` shows the traceback instead): :func:`boundary` turns a user mistake
(``NNBenchError``) or an unusable file (``OSError``) inside a command into that line,
:func:`main` does the same for Click's usage errors (an unknown option, a value of the
wrong type). Ctrl-C during training exits with 130, SIGTERM with 143, SIGHUP with 129.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, NoReturn

import typer

from nnbench import __version__
from nnbench.schema import AXES

app = typer.Typer(
    name="nnbench",
    help="Optimizer and activation experiments on small neural networks.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _version(value: bool) -> None:
    if value:
        typer.echo(f"nnbench {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", "-V", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
):
    """Optimizer and activation experiments on small neural networks.

    Example: [bold]nnbench compare --optims sgd,adam --task sin[/bold]
    """


# --------------------------------------------------------------------------- #
# Errors at the command boundary
# --------------------------------------------------------------------------- #


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print ``nnbench: error: MESSAGE`` on stderr and exit with ``code``."""
    typer.echo(f"nnbench: error: {message}", err=True)
    raise typer.Exit(code)


def one_line(message: str) -> str:
    """``message`` with every run of whitespace (newlines too) made one space."""
    return " ".join(str(message).split())


def error(message: str) -> Exception:
    """An NNBenchError (imported here, on first use: it brings NumPy with it)."""
    from nnbench.core.errors import NNBenchError

    return NNBenchError(message)


@contextmanager
def boundary(debug: bool) -> Iterator[None]:
    """Turn a user mistake (NNBenchError) or an unusable file (OSError) into one line
    on stderr and exit code 2; with ``debug`` let the traceback through."""
    from nnbench.core.errors import NNBenchError

    try:
        yield
    except NNBenchError as err:
        if debug:
            raise
        fail(one_line(str(err)))
    except OSError as err:
        if debug:
            raise
        where = f": {err.filename}" if getattr(err, "filename", None) else ""
        fail(one_line(f"{err.strerror or err}{where}"))


def _click_exception() -> type[Exception]:
    try:  # Typer >= 0.2x vendors Click
        from typer._click.exceptions import ClickException
    except ImportError:  # pragma: no cover - older Typer on Click
        from click.exceptions import ClickException
    return ClickException


def main(args: list[str] | None = None) -> None:
    """The ``nnbench`` program: the Typer app, with usage errors (an unknown option, a
    value of the wrong type) on one line ``nnbench: error: ...``; exits with the code
    (0, 2 for bad input, 130 after Ctrl-C, 143 after SIGTERM, 129 after SIGHUP)."""
    sys.exit(_main(sys.argv[1:] if args is None else list(args)))


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP outside training: unwind as Ctrl-C does (the results directory's
    lock is released), then exit with 128 + ``signum``."""

    def __init__(self, signum: int):
        super().__init__(f"signal {signum}")
        self.signum = signum


_received: list[int] = []  # the SIGTERM/SIGHUP that ended the command, if one did


def _terminated(signum, frame) -> NoReturn:
    _received.append(signum)
    raise Terminated(signum)


def _stop_signals() -> dict:
    """SIGTERM and SIGHUP raise :class:`Terminated` (unless ignored, as under nohup);
    training turns them into a clean stop (:mod:`nnbench.experiment`). Returns the
    handlers replaced."""
    import signal
    import threading

    replaced: dict = {}
    if threading.current_thread() is not threading.main_thread():
        return replaced
    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is not None and signal.getsignal(signum) is signal.SIG_DFL:
            replaced[signum] = signal.signal(signum, _terminated)
    return replaced


def _main(args: list[str]) -> int:
    replaced = _stop_signals()
    try:
        return _run(args)
    finally:
        import signal

        for signum, handler in replaced.items():
            signal.signal(signum, handler)


# family -> (module, registry attribute): what `nnbench list` shows and options complete
FAMILIES = {
    "optimizers": ("nnbench.core.optimizers", "OPTIMIZERS"),
    "activations": ("nnbench.core.activations", "ACTIVATIONS"),
    "losses": ("nnbench.core.losses", "LOSSES"),
    "inits": ("nnbench.core.init", "INITS"),
    "schedules": ("nnbench.core.schedules", "SCHEDULES"),
    "tasks": ("nnbench.tasks", "TASKS"),
    "models": ("nnbench.core.models", "MODELS"),
}

#: the options whose values are names of a family, completed by the shell (a plural is a
#: comma list: its last item is completed)
NAMED_OPTIONS = {"--task": "tasks", "--optim": "optimizers", "--optims": "optimizers",
                 "--act": "activations", "--acts": "activations", "--loss": "losses",
                 "--losses": "losses", "--init": "inits", "--inits": "inits",
                 "--schedule": "schedules", "--schedules": "schedules", "--model": "models",
                 "--models": "models"}

LISTED = ("--optims", "--acts", "--losses", "--inits", "--schedules", "--models")

#: the metavar shown in --help for a type Typer would name (a flag shows none)
METAVARS = {"<int>": "N", "<int range>": "N", "<float>": "X", "<float range>": "X",
            "<str>": "NAME", "<path>": "PATH",
            "<list[str]>": "NAME,...", "<list[int]>": "N,...", "<list[float]>": "X,..."}


def registry(family: str) -> Any:
    """The registry of ``family``, imported on first use."""
    import importlib

    module, attr = FAMILIES[family]
    return getattr(importlib.import_module(module), attr)


def complete_names(family: str, incomplete: str, listed: bool) -> list[str]:
    """The names of ``family`` that complete ``incomplete`` (for a comma list, its last
    item, the items before it kept)."""
    head, _, last = incomplete.rpartition(",") if listed else ("", "", incomplete)
    names = [n for n in registry(family).names() if n.startswith(last)]
    return [f"{head},{n}" if head else n for n in names]


def _finish_options(command: Any) -> Any:
    """Metavars instead of type names in every command's help (``--depth N``, a flag
    none), and completion of the values of :data:`NAMED_OPTIONS`."""
    for sub in getattr(command, "commands", {}).values():
        _finish_options(sub)
    if hasattr(command, "get_help_option"):  # -h/--help is a flag: no metavar either
        command.get_help_option = _flag_help_option(command.get_help_option)
    for param in getattr(command, "params", []):
        if not hasattr(param, "is_flag"):  # an argument: DIR for a directory, else its name
            if param.metavar is None and param.name:
                param.metavar = "DIR" if param.name.endswith("dir") else param.name.upper()
            param.display_type_rich = lambda ctx: None  # its help says what it takes
            continue
        axis = next((o for o in param.opts if o.removeprefix("--").replace("-", "_") in AXES),
                    None)
        if param.metavar is None and axis is not None:
            param.metavar = "NAME,..." if axis in LISTED else "V,..."
        if param.metavar is None:
            if getattr(param, "is_flag", False):
                param.metavar = ""
            else:
                label = param.display_type(None) if hasattr(param, "display_type") else None
                if label in METAVARS:
                    param.metavar = METAVARS[label]
        family = next((NAMED_OPTIONS[o] for o in param.opts if o in NAMED_OPTIONS), None)
        if family is not None:
            listed = any(o in LISTED for o in param.opts)
            param._custom_shell_complete = (
                lambda ctx, p, inc, f=family, lst=listed: complete_names(f, inc, lst))
    return command


def _flag_help_option(get_help_option: Any) -> Any:
    """``get_help_option`` whose option shows no metavar, as every other flag."""
    def get(ctx: Any) -> Any:
        option = get_help_option(ctx)
        if option is not None:
            option.metavar = ""
        return option
    return get


def _run(args: list[str]) -> int:
    command = _finish_options(typer.main.get_command(app))
    click_exception = _click_exception()
    _received.clear()
    try:
        rv = command.main(args=args, prog_name="nnbench", standalone_mode=False)
    except click_exception as err:
        if type(err).__name__ == "NoArgsIsHelpError":  # a bare group: show its help
            app(args=args, prog_name="nnbench")
        ctx = getattr(err, "ctx", None)
        hint = f" (see {ctx.command_path} --help)" if ctx is not None else ""
        typer.echo(f"nnbench: error: {one_line(err.format_message())}{hint}", err=True)
        return int(getattr(err, "exit_code", EXIT_USAGE))
    except typer.Abort:
        typer.echo("nnbench: aborted", err=True)
        return 1
    if rv == EXIT_INTERRUPTED and _received:  # Typer made the Terminated an exit 130
        typer.echo(f"nnbench: stopped by {_signal_name(_received[0])}", err=True)
        return 128 + _received[0]
    return rv if isinstance(rv, int) else 0


def _signal_name(signum: int) -> str:
    import signal

    return signal.Signals(signum).name
