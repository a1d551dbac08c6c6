"""The command line: parses, validates, delegates. Heavy imports stay inside commands.

``nnbench run`` trains one configuration, ``nnbench compare`` a grid of them
(comma-separated axes, every cell over several seeds); both write a results
directory, draw its figures and print the summary over seeds. ``plot``, ``show``
and ``report`` work on a results directory afterwards; ``list`` shows the names
of every family.

Bad input of any kind becomes one line ``nnbench: error: ...`` on stderr and exit
code 2 (``--debug`` shows the traceback instead); Ctrl-C during training keeps
what was computed, says how to resume, and exits with 130.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from nnbench import __version__

app = typer.Typer(
    name="nnbench",
    help="Optimizer and activation experiments on small neural networks.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

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


def registry(family: str):
    module, attr = FAMILIES[family]
    return getattr(importlib.import_module(module), attr)


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def _version(value: bool):
    if value:
        typer.echo(f"nnbench {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
):
    """Optimizer and activation experiments on small neural networks.

    Example: [bold]nnbench compare --optims sgd,adam --task sin[/bold]
    """


# --------------------------------------------------------------------------- #
# Errors at the command boundary
# --------------------------------------------------------------------------- #


def _fail(message: str, code: int = EXIT_USAGE):
    typer.echo(f"nnbench: error: {message}", err=True)
    raise typer.Exit(code)


def _one_line(message: str) -> str:
    return " ".join(str(message).split())


@contextmanager
def _boundary(debug: bool) -> Iterator[None]:
    """Turn a user mistake (NNBenchError) or an unusable file (OSError) into one line
    on stderr and exit code 2; with ``debug`` let the traceback through."""
    from nnbench.core.errors import NNBenchError

    try:
        yield
    except NNBenchError as err:
        if debug:
            raise
        _fail(_one_line(str(err)))
    except OSError as err:
        if debug:
            raise
        where = f": {err.filename}" if getattr(err, "filename", None) else ""
        _fail(_one_line(f"{err.strerror or err}{where}"))


# --------------------------------------------------------------------------- #
# Parsing of option values (no NumPy here)
# --------------------------------------------------------------------------- #


def _error(message: str):
    from nnbench.core.errors import NNBenchError

    return NNBenchError(message)


def _check_choice(option: str, value: str, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise _error(f"{option} must be one of {', '.join(valid)}, got '{value}'")


def parse_list(option: str, text: str | None, kind: type = str) -> list[Any] | None:
    """A comma-separated axis of the grid, each item converted by ``kind``."""
    if text is None:
        return None
    items = [t.strip() for t in text.split(",")]
    if not text.strip() or any(not t for t in items):
        raise _error(f"{option} is an empty or malformed list '{text}': give comma-separated "
                     "values, like sgd,adam")
    out = []
    for t in items:
        try:
            out.append(kind(t))
        except ValueError:
            name = {int: "integers", float: "numbers"}.get(kind, "values")
            raise _error(f"{option} expects comma-separated {name}, got '{t}'") from None
    return out


def parse_hp(items: list[str] | None) -> dict[str, Any]:
    """``--hp momentum=0.9 --hp betas=0.9,0.99 --hp nesterov=true`` as a dict of values.

    A value is a bool (``true``/``false``), an int, a float, a comma list of
    numbers (a tuple, for ``betas``) or else a string (``base=sgd`` for lookahead).
    """
    out: dict[str, Any] = {}
    for item in items or ():
        name, sep, text = str(item).partition("=")
        name, text = name.strip(), text.strip()
        if not sep or not name or not text:
            raise _error(f"--hp must be NAME=VALUE (e.g. momentum=0.9), got {item!r}")
        out[name] = _parse_value(name, text)
    return out


def _parse_value(name: str, text: str) -> Any:
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if "," not in text:
        return _scalar(text)  # a number, or a name (lookahead's base)
    try:
        return tuple(_number(v) for v in text.split(","))
    except ValueError:
        raise _error(f"--hp {name}: value must be a number, a bool or a comma list of "
                     f"numbers, got {text!r}") from None


def _number(text: str) -> int | float:
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        return float(text)


def _scalar(text: str) -> Any:
    try:
        return _number(text)
    except ValueError:
        return text


def parse_batch(option: str, text: str) -> int | str:
    """A batch size: a positive integer or ``full`` (the whole training set)."""
    if text.strip().lower() == "full":
        return "full"
    try:
        return int(text)
    except ValueError:
        raise _error(f"{option} must be an integer or 'full', got '{text}'") from None


# --------------------------------------------------------------------------- #
# Options shared by run and compare
# --------------------------------------------------------------------------- #

TASK, MODEL, OPTIM, TRAIN, GRID, OUTPUT = "Task", "Model", "Optimizer", "Training", "Grid", \
    "Output"

TaskOpt = Annotated[str | None, typer.Option(
    "--task", help="Task: a data set or a 2-D landscape ([bold]nnbench list tasks[/bold]).",
    rich_help_panel=TASK)]
LossOpt = Annotated[str | None, typer.Option(
    "--loss", help="Loss (the task's default otherwise).", rich_help_panel=TASK)]
ValFracOpt = Annotated[float | None, typer.Option(
    "--val-frac", help="Fraction of the training data held out for validation.",
    rich_help_panel=TASK)]
StartOpt = Annotated[str | None, typer.Option(
    "--start", metavar="X,Y", help="Starting point on a landscape task.", rich_help_panel=TASK)]
DataDirOpt = Annotated[Path | None, typer.Option(
    "--data-dir", help="Where data sets are cached.", rich_help_panel=TASK)]

ModelOpt = Annotated[str | None, typer.Option(
    "--model", help="Model (mlp by default).", rich_help_panel=MODEL)]
ActOpt = Annotated[str | None, typer.Option(
    "--act", help="Hidden activation, e.g. sigmoid, tanh, relu.", rich_help_panel=MODEL)]
DepthOpt = Annotated[int | None, typer.Option(
    "--depth", help="Number of hidden layers.", rich_help_panel=MODEL)]
WidthOpt = Annotated[int | None, typer.Option(
    "--width", help="Units per hidden layer.", rich_help_panel=MODEL)]
InitOpt = Annotated[str | None, typer.Option(
    "--init", help="Weight initialization ([bold]nnbench list inits[/bold]).",
    rich_help_panel=MODEL)]

OptimOpt = Annotated[str | None, typer.Option(
    "--optim", help="Optimizer ([bold]nnbench list optimizers[/bold]).", rich_help_panel=OPTIM)]
LrOpt = Annotated[float | None, typer.Option(
    "--lr", help="Learning rate for every optimizer (each one's own default otherwise).",
    rich_help_panel=OPTIM)]
HpOpt = Annotated[list[str] | None, typer.Option(
    "--hp", metavar="NAME=VALUE",
    help="Optimizer hyperparameter by its torch name, repeatable: --hp momentum=0.9 "
         "--hp betas=0.9,0.99.", rich_help_panel=OPTIM)]
ScheduleOpt = Annotated[str | None, typer.Option(
    "--schedule", help="Learning-rate schedule ([bold]nnbench list schedules[/bold]).",
    rich_help_panel=OPTIM)]
ClipOpt = Annotated[float | None, typer.Option(
    "--clip", help="Clip the gradient norm of each run to this value.", rich_help_panel=OPTIM)]
L2Opt = Annotated[float | None, typer.Option(
    "--l2", metavar="LAMBDA", help="L2 penalty lambda/2 ||W||^2 on the weights (not the biases), "
    "part of the loss.", rich_help_panel=MODEL)]
DropoutOpt = Annotated[float | None, typer.Option(
    "--dropout", metavar="P", help="Drop each hidden unit with probability P in training "
    "(inverted: kept units scaled by 1/(1-P)).", rich_help_panel=MODEL)]
BinaryOpt = Annotated[bool | None, typer.Option(
    "--binary/--no-binary", help="Weights +-1 in the forward pass, real shadow weights "
    "trained straight through.", rich_help_panel=MODEL, show_default=False)]
PiecesOpt = Annotated[int | None, typer.Option(
    "--pieces", help="Linear pieces per unit of --act maxout (2 by default).",
    rich_help_panel=MODEL)]

StepsOpt = Annotated[int | None, typer.Option(
    "--steps", help="Number of updates.", rich_help_panel=TRAIN)]
EpochsOpt = Annotated[int | None, typer.Option(
    "--epochs", help="Number of passes over the training data (instead of --steps).",
    rich_help_panel=TRAIN)]
BatchOpt = Annotated[str | None, typer.Option(
    "--batch-size", metavar="N|full", help="Minibatch size (full batch by default).",
    rich_help_panel=TRAIN)]
SeedOpt = Annotated[int | None, typer.Option(
    "--seed", help="Seed of the run (first seed of a compare).", rich_help_panel=TRAIN)]
DtypeOpt = Annotated[str | None, typer.Option(
    "--dtype", help="float32 (default) or float64.", rich_help_panel=TRAIN)]
LogEveryOpt = Annotated[int | None, typer.Option(
    "--log-every", help="Log metrics every N steps.", rich_help_panel=TRAIN)]
EvalEveryOpt = Annotated[int | None, typer.Option(
    "--eval-every", help="Evaluate on the validation set every N steps.",
    rich_help_panel=TRAIN)]
PatienceOpt = Annotated[int | None, typer.Option(
    "--patience", help="Stop early after N evaluations without improvement.",
    rich_help_panel=TRAIN)]
TargetOpt = Annotated[float | None, typer.Option(
    "--target", help="Target training loss: the summary reports the steps to reach it.",
    rich_help_panel=TRAIN)]

ConfigOpt = Annotated[Path | None, typer.Option(
    "--config", help="TOML file of the experiment; flags given here override it.",
    rich_help_panel=OUTPUT)]
OutOpt = Annotated[str | None, typer.Option(
    "--out", metavar="DIR", help="Results directory (results/<name>/<UTC time> by default).",
    rich_help_panel=OUTPUT)]
NameOpt = Annotated[str | None, typer.Option(
    "--name", help="Name of the experiment.", rich_help_panel=OUTPUT)]
OverwriteOpt = Annotated[bool, typer.Option(
    "--overwrite", help="Replace an existing results directory.", rich_help_panel=OUTPUT)]
NoPlotOpt = Annotated[bool, typer.Option(
    "--no-plot", help="Do not draw the figures.", rich_help_panel=OUTPUT)]
QuietOpt = Annotated[bool, typer.Option(
    "--quiet", "-q", help="Print only the results directory.", rich_help_panel=OUTPUT)]
JsonOpt = Annotated[bool, typer.Option(
    "--json", help="Print the summary as JSON (and nothing else on stdout).",
    rich_help_panel=OUTPUT)]
DebugOpt = Annotated[bool, typer.Option(
    "--debug", help="Show the traceback of an error.", rich_help_panel=OUTPUT)]

EXECUTION = "Execution (where and how fast; never the numbers)"
JobsOpt = Annotated[int, typer.Option(
    "--jobs", "-j", min=1, help="Worker processes training groups at once.",
    rich_help_panel=EXECUTION)]
ThreadsOpt = Annotated[int | None, typer.Option(
    "--threads", min=1, help="Threads per group (default: the cores, shared among jobs).",
    rich_help_panel=EXECUTION)]
ExecutorOpt = Annotated[str, typer.Option(
    "--executor",
    help="local, or dask (a Dask cluster: needs --scheduler; "
    "pip install -e '.\\[dask]' in the checkout).",
    rich_help_panel=EXECUTION)]
SchedulerOpt = Annotated[str | None, typer.Option(
    "--scheduler", metavar="ADDRESS", help="Dask scheduler, e.g. tcp://10.0.0.5:8786.",
    rich_help_panel=EXECUTION)]
GroupSizeOpt = Annotated[int | None, typer.Option(
    "--group-size", min=1,
    help="Most runs trained together on the runs axis (1: grouping off).",
    rich_help_panel=EXECUTION)]


@dataclass
class Execution:
    """Where the groups train (never part of the experiment's config)."""

    jobs: int = 1
    threads: int | None = None
    executor: str = "local"
    scheduler: str | None = None
    group_size: int | None = None


@dataclass
class Output:
    """What the user asked about output (never part of the experiment's config)."""

    out: str | None = None
    overwrite: bool = False
    no_plot: bool = False
    quiet: bool = False
    json: bool = False
    debug: bool = False
    execution: Execution | None = None

    @property
    def mode(self) -> str:
        """``quiet`` (nothing while training), ``live`` (rich table) or ``plain``."""
        if self.quiet or self.json:
            return "quiet"
        return "live" if sys.stdout.isatty() else "plain"


def _given(**values: Any) -> dict[str, Any]:
    """The run-config fields actually given on the command line (None means not given)."""
    return {k: v for k, v in values.items() if v is not None and v != [] and v != {}}


# --------------------------------------------------------------------------- #
# run and compare
# --------------------------------------------------------------------------- #


@app.command()
def run(
    task: TaskOpt = None, loss: LossOpt = None, val_frac: ValFracOpt = None,
    start: StartOpt = None, data_dir: DataDirOpt = None,
    model: ModelOpt = None, act: ActOpt = None, depth: DepthOpt = None, width: WidthOpt = None,
    init: InitOpt = None,
    optim: OptimOpt = None, lr: LrOpt = None, hp: HpOpt = None, schedule: ScheduleOpt = None,
    clip: ClipOpt = None,
    steps: StepsOpt = None, epochs: EpochsOpt = None, batch_size: BatchOpt = None,
    seed: SeedOpt = None, dtype: DtypeOpt = None, log_every: LogEveryOpt = None,
    eval_every: EvalEveryOpt = None, patience: PatienceOpt = None, target: TargetOpt = None,
    l2: L2Opt = None, dropout: DropoutOpt = None, binary: BinaryOpt = None,
    pieces: PiecesOpt = None,
    config: ConfigOpt = None, out: OutOpt = None, name: NameOpt = None,
    overwrite: OverwriteOpt = False, no_plot: NoPlotOpt = False, quiet: QuietOpt = False,
    json: JsonOpt = False, debug: DebugOpt = False, threads: ThreadsOpt = None,
):
    """Train one configuration and print its summary.

    Example: [bold]nnbench run --task sin --optim adam --lr 0.005 --steps 2000[/bold]
    """
    options = locals()
    output = Output(out, overwrite, no_plot, quiet, json, debug)
    output.execution = Execution(threads=threads)
    with _boundary(debug):
        given = _run_fields(options)
        given["seeds"] = 1
        _execute("run", given, config, None, output)


@app.command()
def compare(
    optims: Annotated[str | None, typer.Option(
        "--optims", help="Optimizers to compare, e.g. sgd,momentum,adam.",
        rich_help_panel=GRID)] = None,
    acts: Annotated[str | None, typer.Option(
        "--acts", help="Activations, e.g. sigmoid,relu.", rich_help_panel=GRID)] = None,
    depths: Annotated[str | None, typer.Option(
        "--depths", help="Numbers of hidden layers, e.g. 1,2,4,8.", rich_help_panel=GRID)] = None,
    widths: Annotated[str | None, typer.Option(
        "--widths", help="Widths, e.g. 10,100.", rich_help_panel=GRID)] = None,
    lrs: Annotated[str | None, typer.Option(
        "--lrs", help="Learning rates (the summary names the best per optimizer).",
        rich_help_panel=GRID)] = None,
    inits: Annotated[str | None, typer.Option(
        "--inits", help="Initializations.", rich_help_panel=GRID)] = None,
    batch_sizes: Annotated[str | None, typer.Option(
        "--batch-sizes", help="Minibatch sizes (integers or full).",
        rich_help_panel=GRID)] = None,
    schedules: Annotated[str | None, typer.Option(
        "--schedules", help="Learning-rate schedules.", rich_help_panel=GRID)] = None,
    models: Annotated[str | None, typer.Option(
        "--models", help="Models, e.g. perceptron,mlp ([bold]nnbench list models[/bold]).",
        rich_help_panel=GRID)] = None,
    losses: Annotated[str | None, typer.Option(
        "--losses", help="Losses, e.g. bce_with_logits,sigmoid_mse.",
        rich_help_panel=GRID)] = None,
    seeds: Annotated[int | None, typer.Option(
        "--seeds", help="Seeds per cell: seeds 0..N-1 (3 by default; from --seed on).",
        rich_help_panel=GRID)] = None,
    resume: Annotated[Path | None, typer.Option(
        "--resume", metavar="DIR",
        help="Finish an interrupted experiment in its results directory.",
        rich_help_panel=GRID)] = None,
    task: TaskOpt = None, loss: LossOpt = None, val_frac: ValFracOpt = None,
    start: StartOpt = None, data_dir: DataDirOpt = None,
    model: ModelOpt = None, act: ActOpt = None, depth: DepthOpt = None, width: WidthOpt = None,
    init: InitOpt = None,
    optim: OptimOpt = None, lr: LrOpt = None, hp: HpOpt = None, schedule: ScheduleOpt = None,
    clip: ClipOpt = None,
    steps: StepsOpt = None, epochs: EpochsOpt = None, batch_size: BatchOpt = None,
    seed: SeedOpt = None, dtype: DtypeOpt = None, log_every: LogEveryOpt = None,
    eval_every: EvalEveryOpt = None, patience: PatienceOpt = None, target: TargetOpt = None,
    l2: L2Opt = None, dropout: DropoutOpt = None, binary: BinaryOpt = None,
    pieces: PiecesOpt = None,
    config: ConfigOpt = None, out: OutOpt = None, name: NameOpt = None,
    overwrite: OverwriteOpt = False, no_plot: NoPlotOpt = False, quiet: QuietOpt = False,
    json: JsonOpt = False, debug: DebugOpt = False,
    jobs: JobsOpt = 1, threads: ThreadsOpt = None, executor: ExecutorOpt = "local",
    scheduler: SchedulerOpt = None, group_size: GroupSizeOpt = None,
):
    """Compare a grid of configurations, every cell over several seeds.

    Comma-separated axes (--optims, --acts, --depths, --widths, --lrs, --inits,
    --batch-sizes, --schedules, --models, --losses) make the grid; the summary gives mean ± std over
    seeds per cell, and the best learning rate per optimizer when --lrs is swept.

    Example: [bold]nnbench compare --optims sgd,adam --task sin[/bold]
    """
    options = locals()
    output = Output(out, overwrite, no_plot, quiet, json, debug)
    output.execution = Execution(jobs, threads, executor, scheduler, group_size)
    with _boundary(debug):
        given = _run_fields(options)
        grid = _given(
            optims=parse_list("--optims", optims), acts=parse_list("--acts", acts),
            depths=parse_list("--depths", depths, int),
            widths=parse_list("--widths", widths, int), lrs=parse_list("--lrs", lrs, float),
            inits=parse_list("--inits", inits),
            batch_sizes=[parse_batch("--batch-sizes", b)
                         for b in parse_list("--batch-sizes", batch_sizes) or []],
            schedules=parse_list("--schedules", schedules),
            models=parse_list("--models", models), losses=parse_list("--losses", losses),
            seeds=seeds)
        for axis, field in GRID_AXES.items():
            if axis in grid and field in given:
                raise _error(f"--{field.replace('_', '-')} and --{axis.replace('_', '-')} "
                             "both given: give one value or a list, not both")
        if resume is not None:
            if given or grid or config is not None or out is not None:
                raise _error("--resume takes the experiment from its results directory; "
                             "give no experiment options with it")
            _execute("compare", {}, None, resume, output)
        else:
            _execute("compare", {**given, **grid}, config, None, output)


# grid axis -> the run field it sweeps
GRID_AXES = {"optims": "optim", "lrs": "lr", "acts": "act", "depths": "depth",
             "widths": "width", "inits": "init", "batch_sizes": "batch_size",
             "schedules": "schedule", "models": "model", "losses": "loss"}


# the options run and compare share that are fields of the run configuration
RUN_FIELDS = ("task", "loss", "val_frac", "start", "data_dir", "model", "act", "depth", "width",
              "init", "optim", "lr", "hp", "schedule", "clip", "steps", "epochs", "batch_size",
              "seed", "dtype", "log_every", "eval_every", "patience", "target", "name", "l2",
              "dropout", "binary", "pieces")


def _run_fields(options: dict[str, Any]) -> dict[str, Any]:
    """The run-config fields given on the command line (``options``: the command's
    parameters), converted for the config layer."""
    fields = {k: options[k] for k in RUN_FIELDS}
    start, data_dir, batch_size = fields["start"], fields["data_dir"], fields["batch_size"]
    fields.update(
        start=None if start is None else str(start),
        data_dir=None if data_dir is None else str(data_dir),
        hp=parse_hp(fields["hp"]),
        batch_size=None if batch_size is None else parse_batch("--batch-size", batch_size))
    return _given(**fields)


def _experiment(command: str, overrides: dict[str, Any], config_file: Path | None):
    """The experiment to train: defaults < the config file < the flags given.

    Validates every run (unknown names, impossible values) before anything trains.
    """
    from nnbench import config as cfg

    base = cfg.load_toml(config_file) if config_file is not None else cfg.ExperimentConfig()
    exp = cfg.merge(base, overrides)
    runs = cfg.expand(exp)
    if command == "run" and len(runs) > 1:
        raise _error(f"nnbench run trains one configuration, this one has {len(runs)} runs; "
                     "use nnbench compare for a grid")
    cfg.resolve_experiment(exp)  # raises on the first impossible run
    return exp


def _execute(command: str, overrides: dict[str, Any], config_file: Path | None,
             resume: Path | None, output: Output) -> None:
    """Resolve the experiment, train it with a reporter, draw, and print the summary.

    Runs inside :func:`_boundary`: NNBenchError/OSError become one-line errors.
    """
    if resume is not None:
        from nnbench import config as cfg

        check_results_dir(resume)
        exp = cfg.load_toml(resume / "config.toml")
        out_dir = resume
    else:
        exp = _experiment(command, overrides, config_file)
        out_dir = _out_dir(exp, output)
    from nnbench.console import make_reporter
    from nnbench.executors import make_executor
    from nnbench.experiment import run_experiment

    reporter = make_reporter(output.mode)
    try:
        ex = output.execution or Execution()
        out_dir = Path(run_experiment(exp, out_dir, reporter, resume=resume is not None,
                                      overwrite=output.overwrite,
                                      executor=make_executor(ex.executor, ex.jobs,
                                                             ex.scheduler, ex.threads),
                                      group_size=ex.group_size))
    except KeyboardInterrupt as stop:  # the experiment layer saved and marked the runs
        out_dir = Path(getattr(stop, "out_dir", out_dir))
        typer.echo(f"nnbench: interrupted; the partial results are in {out_dir}", err=True)
        typer.echo(f"nnbench: to finish them: nnbench compare --resume {out_dir}", err=True)
        if output.json:
            typer.echo(json_dumps({"results_dir": str(out_dir), "interrupted": True}))
        else:
            typer.echo(str(out_dir))
        raise typer.Exit(EXIT_INTERRUPTED) from None
    if not output.no_plot:
        from nnbench.core.errors import NNBenchError

        try:
            _draw(out_dir)
        except NNBenchError as err:  # the results are safe; say why there is no figure
            if output.debug:
                raise
            typer.echo(f"nnbench: warning: no figures: {_one_line(str(err))}", err=True)
    _report_summary(out_dir, output, target=exp.base.target)


def _out_dir(exp, output: Output) -> Path:
    """``--out``, the file's ``out``, or ``results/<name>/<UTC timestamp>``. The store
    refuses an existing non-empty directory unless ``--overwrite``."""
    from nnbench.config import check_out_dir

    if output.out is not None:
        return Path(check_out_dir(output.out))
    if exp.out:
        return Path(exp.out)
    from nnbench.experiment import default_out_dir

    return default_out_dir(exp)


def json_dumps(doc: Any) -> str:
    import json as json_mod

    return json_mod.dumps(doc, indent=2, allow_nan=False)


def check_results_dir(path: Path) -> None:
    """Raise NNBenchError unless ``path`` is a results directory (has runs.csv and
    config.toml)."""
    if not path.is_dir():
        raise _error(f"{path} is not a results directory (it does not exist or is not a "
                     "directory); give a directory written by nnbench run or compare")
    missing = [f for f in ("runs.csv", "config.toml") if not (path / f).is_file()]
    if missing:
        raise _error(f"{path} is not a results directory (no {' or '.join(missing)}); give a "
                     "directory written by nnbench run or compare")


def _draw(out_dir: Path) -> list[Path]:
    """Figures of a results directory, if the plotting module is installed."""
    if not _module_exists("nnbench.plots"):
        return []
    from nnbench.plots import draw_all

    return list(draw_all(out_dir))


def _report_summary(out_dir: Path, output: Output, target: float | None = None) -> None:
    """Print the summary of a results directory as the output options ask; ``target``
    defaults to the experiment's."""
    from nnbench import summary as sm
    from nnbench.store import load_results

    results = load_results(out_dir)
    runs, metrics = results.runs, results.metrics
    if target is None and results.config is not None:
        target = results.config.base.target  # the experiment's own --target
    by = sm.cell_columns(runs)
    table = sm.summarize(runs, metrics if target is not None else None, target=target, by=by)
    best = sm.best_lr(runs)
    if output.json:
        doc = {"results_dir": str(out_dir), "cells": by, "target": target,
               "summary": sm.to_records(table), "best_lr": sm.to_records(best),
               "notes": sm.model_lines(runs)}
        typer.echo(json_dumps(doc))
        return
    if not output.quiet:
        from nnbench.console import print_summary

        print_summary(table, by, best, rich=sys.stdout.isatty())
        for line in sm.model_lines(runs):
            typer.echo(line)
        typer.echo(f"results: {out_dir}")
        return
    typer.echo(str(out_dir))


# --------------------------------------------------------------------------- #
# plot, show, report, list
# --------------------------------------------------------------------------- #

ResultsDir = Annotated[Path, typer.Argument(help="A results directory.", show_default=False)]


@app.command()
def plot(
    results_dir: ResultsDir,
    x: Annotated[str | None, typer.Option(
        "--x", metavar="step|wall", help="Horizontal axis of the curves (both by default).")
    ] = None,
    metric: Annotated[str | None, typer.Option(
        "--metric", help="metrics.csv column of the curves (train_loss by default).")] = None,
    fmt: Annotated[str, typer.Option("--format", metavar="png|svg|pdf",
                                     help="Figure format.")] = "png",
    debug: DebugOpt = False,
):
    """Draw the figures of a results directory again, into DIR/figures.

    Example: [bold]nnbench plot results/demo --x wall --format svg[/bold]
    """
    with _boundary(debug):
        if x is not None:
            _check_choice("--x", x, ("step", "wall"))
        _check_choice("--format", fmt, ("png", "svg", "pdf"))
        check_results_dir(results_dir)
        if not _module_exists("nnbench.plots"):
            raise _error("plotting is not available in this installation")
        from nnbench.plots import draw_all

        kw: dict[str, Any] = {"x": x, "fmt": fmt}
        if metric is not None:
            kw["metric"] = metric
        for path in draw_all(results_dir, **kw):
            typer.echo(str(path))


@app.command()
def show(
    results_dir: ResultsDir,
    target: TargetOpt = None,
    json: JsonOpt = False,
    debug: DebugOpt = False,
):
    """Print the summary table of a finished experiment again.

    Example: [bold]nnbench show results/demo[/bold]
    """
    with _boundary(debug):
        check_results_dir(results_dir)
        _report_summary(results_dir, Output(json=json), target=target)


@app.command()
def report(results_dir: ResultsDir, debug: DebugOpt = False):
    """Write report.md and report.html (configuration, summary, figures) into DIR.

    Example: [bold]nnbench report results/demo[/bold]
    """
    with _boundary(debug):
        check_results_dir(results_dir)
        if not _module_exists("nnbench.report"):
            raise _error("reports are not available in this installation")
        from nnbench.report import write_report

        for path in write_report(results_dir):
            typer.echo(str(path))


@app.command()
def prune(
    results_dir: ResultsDir,
    sparsity: Annotated[str, typer.Option(
        "--sparsity", metavar="S1,S2,...",
        help="Sparsity levels: the fraction of each layer's weights set to 0, smallest "
             "|w| first.")] = "0,0.5,0.8,0.9,0.95",
    finetune: Annotated[int, typer.Option(
        "--finetune", metavar="STEPS",
        help="Train each pruned network STEPS more full-batch steps, pruned weights held "
             "at 0.")] = 0,
    fmt: Annotated[str, typer.Option("--format", metavar="png|svg|pdf",
                                     help="Figure format.")] = "png",
    debug: DebugOpt = False,
):
    """Prune the trained weights of a results directory by magnitude and evaluate each
    level: DIR/prune.csv and DIR/figures/sparsity.png.

    Example: [bold]nnbench prune results/sparsity --sparsity 0,0.5,0.9 --finetune 50[/bold]
    """
    with _boundary(debug):
        _check_choice("--format", fmt, ("png", "svg", "pdf"))
        check_results_dir(results_dir)
        from nnbench.core.prune import parse_sparsities
        from nnbench.prune import prune_dir

        for path in prune_dir(results_dir, parse_sparsities(sparsity), finetune, fmt):
            typer.echo(str(path))


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


if _module_exists("nnbench.datacli"):
    from nnbench.datacli import data_app

    app.add_typer(data_app, name="data")


def _click_exception() -> type[Exception]:
    try:  # Typer >= 0.2x vendors Click
        from typer._click.exceptions import ClickException
    except ImportError:  # pragma: no cover - older Typer on Click
        from click.exceptions import ClickException
    return ClickException


def main(args: list[str] | None = None) -> None:
    """The ``nnbench`` program: the Typer app, with usage errors (an unknown option, a
    value of the wrong type) on one line ``nnbench: error: ...``; exits with the code
    (0, 2 for bad input, 130 after Ctrl-C)."""
    sys.exit(_main(sys.argv[1:] if args is None else list(args)))


def _main(args: list[str]) -> int:
    command = typer.main.get_command(app)
    click_exception = _click_exception()
    try:
        rv = command.main(args=args, prog_name="nnbench", standalone_mode=False)
    except click_exception as err:
        if type(err).__name__ == "NoArgsIsHelpError":  # a bare group: show its help
            app(args=args, prog_name="nnbench")
        ctx = getattr(err, "ctx", None)
        hint = f" (see {ctx.command_path} --help)" if ctx is not None else ""
        typer.echo(f"nnbench: error: {_one_line(err.format_message())}{hint}", err=True)
        return int(getattr(err, "exit_code", EXIT_USAGE))
    except typer.Abort:
        typer.echo("nnbench: aborted", err=True)
        return 1
    return rv if isinstance(rv, int) else 0


if __name__ == "__main__":
    main()
