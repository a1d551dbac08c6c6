"""The options of the commands and the parsing of their values (no NumPy here).

The options of ``run`` and ``compare`` that set a field of the run configuration take
that field's type from :mod:`nnbench.schema` (``None``: not given); the grid axes of
``compare`` are the schema's :data:`~nnbench.schema.AXES`. An option with a fixed set of
values is a ``Literal`` (``--help`` lists them); the command checks the value and says
what is valid in the usual one line (:func:`check_choice`).
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from nnbench.cli.app import error
from nnbench.schema import (
    DEFAULT_LOSS,
    FALLBACK,
    FIELD_TYPES,
    FULL_BATCH,
    Backend,
    ExecutorName,
    choices,
)

# the horizontal axis of curve figures (``--x``; both when not given)
PlotX = Literal["step", "wall"]
# the file format of figures (``--format``)
FigureFormat = Literal["png", "svg", "pdf"]


def check_choice(option: str, value: str, annotation: Any) -> None:
    """Raise NNBenchError unless ``value`` is one of the ``Literal`` ``annotation``'s."""
    valid = choices(annotation)
    if value not in valid:
        raise error(f"{option} must be one of {', '.join(valid)}, got '{value}'")


# --------------------------------------------------------------------------- #
# Parsing of option values
# --------------------------------------------------------------------------- #


def parse_list(option: str, text: str | None, kind: type = str) -> list[Any] | None:
    """A comma-separated axis of the grid, each item converted by ``kind``."""
    if text is None:
        return None
    items = [t.strip() for t in text.split(",")]
    if not text.strip() or any(not t for t in items):
        raise error(f"{option} is an empty or malformed list '{text}': give comma-separated "
                    "values, like sgd,adam")
    out = []
    for t in items:
        try:
            out.append(kind(t))
        except ValueError:
            name = {int: "integers", float: "numbers"}.get(kind, "values")
            raise error(f"{option} expects comma-separated {name}, got '{t}'") from None
    return out


def parse_bools(option: str, text: str | None) -> list[bool] | None:
    """A comma list of ``true``/``false`` (``--standardize true,false``)."""
    values = parse_list(option, text)
    if values is None:
        return None
    out = []
    for v in values:
        if v.lower() not in ("true", "false"):
            raise error(f"{option} expects true or false (comma-separated for several), "
                        f"got '{v}'")
        out.append(v.lower() == "true")
    return out


def parse_seeds(text: str | None) -> int | list[int] | None:
    """``--seeds``: a count (``5``: seeds 0..4 from ``--seed`` on) or, with a comma, the
    seeds themselves (``0,3,7``; ``7,`` is the one seed 7)."""
    if text is None:
        return None
    if "," not in text:
        try:
            return int(text.strip())
        except ValueError:
            raise error(f"--seeds expects a count or comma-separated seeds (0,3,7), got "
                        f"'{text}'") from None
    return parse_list("--seeds", text.rstrip().removesuffix(","), int)


def parse_hp(items: Sequence[str] | None) -> dict[str, Any]:
    """``--hp momentum=0.9 --hp betas=0.9,0.99 --hp nesterov=true`` as a dict of values.

    A value is a bool (``true``/``false``), an int, a float, a comma list of
    numbers (a tuple, for ``betas``) or else a string (``base=sgd`` for lookahead).
    """
    out: dict[str, Any] = {}
    for item in items or ():
        name, sep, text = str(item).partition("=")
        name, text = name.strip(), text.strip()
        if not sep or not name or not text:
            raise error(f"--hp must be NAME=VALUE (e.g. momentum=0.9), got {item!r}")
        out[name] = _parse_value(name, text)
    return out


def parse_sched(items: Sequence[str] | None) -> dict[str, Any]:
    """``--sched step_size=100 --sched gamma=0.5`` as a dict of numbers (the schedule
    checks the names and the values)."""
    out: dict[str, Any] = {}
    for item in items or ():
        name, sep, text = str(item).partition("=")
        name, text = name.strip(), text.strip()
        if not sep or not name or not text:
            raise error(f"--sched must be NAME=VALUE (e.g. step_size=100), got {item!r}")
        try:
            out[name] = _number(text)
        except ValueError:
            raise error(f"--sched {name}: value must be a number, got {text!r}") from None
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
        raise error(f"--hp {name}: value must be a number, a bool or a comma list of "
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
    if text.strip().lower() == FULL_BATCH:
        return FULL_BATCH
    try:
        return int(text)
    except ValueError:
        raise error(f"{option} must be an integer or 'full', got '{text}'") from None


# --------------------------------------------------------------------------- #
# Options shared by run and compare
# --------------------------------------------------------------------------- #


def option_type(name: str) -> Any:
    """The type of the option of run field ``name``: the field's declared type, or
    ``None`` when the option is not given."""
    return FIELD_TYPES[name] | None


TASK, MODEL, OPTIM, TRAIN, GRID, OUTPUT = "Task", "Model", "Optimizer", "Training", "Grid", \
    "Output"


def task_default(key: str, otherwise: str | None = None) -> str:
    """The help's sentence for a default a task may change: the task's suggestion
    (``nnbench list tasks`` shows each task's), else :data:`~nnbench.schema.FALLBACK`'s
    value (or ``otherwise``)."""
    if otherwise is None:
        otherwise = str(FALLBACK[key])
    return f"Default: the task's ([bold]nnbench list tasks[/bold]), else {otherwise}."

TaskOpt = Annotated[option_type("task"), typer.Option(
    "--task", help="Task: a data set or a 2-D landscape ([bold]nnbench list tasks[/bold]).",
    rich_help_panel=TASK)]
LossOpt = Annotated[option_type("loss"), typer.Option(
    "--loss", help="Loss. " + task_default("loss", ", ".join(
        f"{loss} for {kind}" for kind, loss in DEFAULT_LOSS.items())), rich_help_panel=TASK)]
ValFracOpt = Annotated[option_type("val_frac"), typer.Option(
    "--val-frac", help="Fraction of the training data held out for validation. "
    + task_default("val_frac", "0 (no validation set)"),
    rich_help_panel=TASK)]
StartOpt = Annotated[option_type("start"), typer.Option(
    "--start", metavar="X,Y", help="Starting point on a landscape task.", rich_help_panel=TASK)]
DataDirOpt = Annotated[Path | None, typer.Option(
    "--data-dir", help="Where data sets are cached.", rich_help_panel=TASK)]

ModelOpt = Annotated[option_type("model"), typer.Option(
    "--model", help="Model ([bold]nnbench list models[/bold]). " + task_default("model"),
    rich_help_panel=MODEL)]
ActOpt = Annotated[option_type("act"), typer.Option(
    "--act", help="Hidden activation, e.g. sigmoid, tanh, relu. " + task_default("act"),
    rich_help_panel=MODEL)]
DepthOpt = Annotated[option_type("depth"), typer.Option(
    "--depth", help="Number of hidden layers. " + task_default("depth"), rich_help_panel=MODEL)]
WidthOpt = Annotated[option_type("width"), typer.Option(
    "--width", help="Units per hidden layer. " + task_default("width"), rich_help_panel=MODEL)]
InitOpt = Annotated[option_type("init"), typer.Option(
    "--init", help="Weight initialization ([bold]nnbench list inits[/bold]); NAME:VALUE "
    "sets its parameter: --init constant:100, --init normal:0.5. " + task_default("init"),
    rich_help_panel=MODEL)]

OptimOpt = Annotated[option_type("optim"), typer.Option(
    "--optim", help="Optimizer ([bold]nnbench list optimizers[/bold]). "
    + task_default("optim"), rich_help_panel=OPTIM)]
LrOpt = Annotated[option_type("lr"), typer.Option(
    "--lr", help="Learning rate for every optimizer. Default: the task's when it suggests the "
    "same optimizer ([bold]nnbench list tasks[/bold]), else the optimizer's own "
    "([bold]nnbench list optimizers[/bold]).",
    rich_help_panel=OPTIM)]
HpOpt = Annotated[list[str] | None, typer.Option(
    "--hp", metavar="NAME=VALUE",
    help="Optimizer hyperparameter by its torch name, repeatable: --hp momentum=0.9 "
         "--hp betas=0.9,0.99.", rich_help_panel=OPTIM)]
ScheduleOpt = Annotated[option_type("schedule"), typer.Option(
    "--schedule", help="Learning-rate schedule ([bold]nnbench list schedules[/bold]).",
    rich_help_panel=OPTIM)]
SchedOpt = Annotated[list[str] | None, typer.Option(
    "--sched", metavar="NAME=VALUE",
    help="Schedule parameter, repeatable: --schedule step --sched step_size=100 --sched "
         "gamma=0.5; warmup_steps=N for any schedule.", rich_help_panel=OPTIM)]
ClipOpt = Annotated[option_type("clip"), typer.Option(
    "--clip", help="Clip the gradient norm of each run to this value.", rich_help_panel=OPTIM)]
L2Opt = Annotated[option_type("l2"), typer.Option(
    "--l2", metavar="LAMBDA", help="L2 penalty lambda/2 ||W||^2 on the weights (not the biases), "
    "part of the loss.", rich_help_panel=MODEL)]
DropoutOpt = Annotated[option_type("dropout"), typer.Option(
    "--dropout", metavar="P", help="Drop each hidden unit with probability P in training "
    "(inverted: kept units scaled by 1/(1-P)).", rich_help_panel=MODEL)]
BinaryOpt = Annotated[option_type("binary"), typer.Option(
    "--binary", parser=str, metavar="weights|activations|both",
    help="+-1 in the forward pass, trained straight through: the weights (real shadow "
    "weights), the hidden units (sign(z), gradient where |z| <= 1) or both: "
    "--binary both.", rich_help_panel=MODEL, show_default=False)]
ResidualOpt = Annotated[option_type("residual"), typer.Option(
    "--residual/--no-residual", help="Skip connections between hidden layers of equal width, "
    "h + f(W h + b) (the MNIST-1D paper's MLP): --depth 2 --width 100 --residual.",
    rich_help_panel=MODEL, show_default=False)]
OutActOpt = Annotated[option_type("out_act"), typer.Option(
    "--out-act", parser=str, metavar="identity|sigmoid",
    help="The output layer: linear (identity, the default), or sigmoid units a = sigma(z) "
    "with the loss taken on a (notes 003's): --out-act sigmoid --loss half_sse, or bce.",
    rich_help_panel=MODEL, show_default=False)]
PiecesOpt = Annotated[option_type("pieces"), typer.Option(
    "--pieces", help="Linear pieces per unit of --act maxout (2 by default).",
    rich_help_panel=MODEL)]
ParamsOpt = Annotated[option_type("params"), typer.Option(
    "--params", metavar="N", help="Parameter budget: each depth's width is the one whose "
    "network has closest to N parameters, e.g. --params 5000 --depths 1,2,4 "
    "(runs.csv: width, n_params).", rich_help_panel=MODEL)]
DegreeOpt = Annotated[option_type("degree"), typer.Option(
    "--degree", metavar="N", help="Polynomial degree of the poly task's fit (its inputs x.."
    "x^N), e.g. --task poly --degree 9.", rich_help_panel=TASK)]
StandardizeOpt = Annotated[str | None, typer.Option(
    "--standardize", metavar="true|false,...", help="Standardize the inputs with training "
    "statistics, or keep them raw (the task's choice otherwise); compare takes both as an "
    "axis: --standardize true,false.", rich_help_panel=TASK)]

ShuffleOpt = Annotated[option_type("shuffle"), typer.Option(
    "--shuffle/--no-shuffle", help="Minibatches from a fresh permutation each epoch "
    "(default), or in the training set's order, the same for every seed (--no-shuffle, as "
    "the MNIST-1D paper's train.py).", rich_help_panel=TRAIN, show_default=False)]
StepsOpt = Annotated[option_type("steps"), typer.Option(
    "--steps", help="Number of updates. " + task_default("steps"), rich_help_panel=TRAIN)]
EpochsOpt = Annotated[option_type("epochs"), typer.Option(
    "--epochs", help="Number of passes over the training data (instead of --steps).",
    rich_help_panel=TRAIN)]
BatchOpt = Annotated[str | None, typer.Option(
    "--batch-size", metavar="N|full", help="Minibatch size. " + task_default(
        "batch_size", "full batch"),
    rich_help_panel=TRAIN)]
SeedOpt = Annotated[option_type("seed"), typer.Option(
    "--seed", help="Seed of the run (first seed of a compare).", rich_help_panel=TRAIN)]
DtypeOpt = Annotated[option_type("dtype"), typer.Option(
    "--dtype", parser=str, help="float32 (default) or float64.", rich_help_panel=TRAIN)]
LogEveryOpt = Annotated[option_type("log_every"), typer.Option(
    "--log-every", help="Log metrics every N steps. " + task_default(
        "log_every", "about 500 rows a run"), rich_help_panel=TRAIN)]
EvalEveryOpt = Annotated[option_type("eval_every"), typer.Option(
    "--eval-every", help="Evaluate on the validation set every N steps.",
    rich_help_panel=TRAIN)]
PatienceOpt = Annotated[option_type("patience"), typer.Option(
    "--patience", help="Stop early after N evaluations without improvement.",
    rich_help_panel=TRAIN)]
TargetOpt = Annotated[option_type("target"), typer.Option(
    "--target", help="Target training loss: the summary reports the steps to reach it.",
    rich_help_panel=TRAIN)]

ConfigOpt = Annotated[Path | None, typer.Option(
    "--config", help="TOML file of the experiment; flags given here override it.",
    rich_help_panel=OUTPUT)]
PluginOpt = Annotated[list[Path] | None, typer.Option(
    "--plugin", metavar="PATH.py",
    help="A Python file that registers optimizers, activations, tasks or schedules, "
         "repeatable: --plugin examples/plugins/lion.py --optims adam,lion.",
    rich_help_panel=OUTPUT)]
CacheDirOpt = Annotated[Path | None, typer.Option(
    "--cache-dir", metavar="DIR",
    help="The run cache's directory (default: runs/ in nnbench's cache, $NNBENCH_CACHE or "
         "~/.cache/nnbench), e.g. --cache-dir /scratch/nnbench-runs.",
    rich_help_panel=OUTPUT)]
NoCacheOpt = Annotated[bool, typer.Option(
    "--no-cache", help="Train every run, neither taking runs from the run cache nor keeping "
    "them (also NNBENCH_NO_CACHE=1), e.g. nnbench compare --no-cache ...",
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
BaselineOpt = Annotated[str | None, typer.Option(
    "--baseline", metavar="NAME",
    help="Pair every cell with the cell of NAME (an optimizer, or a value of another axis) "
    "seed by seed: the mean difference of the loss, its 95% interval and a verdict, e.g. "
    "--baseline sgd.", rich_help_panel=OUTPUT)]
DebugOpt = Annotated[bool, typer.Option(
    "--debug", help="Show the traceback of an error.", rich_help_panel=OUTPUT)]

EXECUTION = "Execution (where and how fast; never the numbers)"
JobsOpt = Annotated[int, typer.Option(
    "--jobs", "-j", min=1, help="Worker processes training groups at once.",
    rich_help_panel=EXECUTION)]
ThreadsOpt = Annotated[int | None, typer.Option(
    "--threads", min=1, help="Threads per group (default: the cores, shared among jobs).",
    rich_help_panel=EXECUTION)]
ExecutorOpt = Annotated[ExecutorName, typer.Option(
    "--executor", parser=str,
    help="local, or dask (a Dask cluster: needs --scheduler; "
    "pip install -e '.\\[dask]' in the checkout).",
    rich_help_panel=EXECUTION)]
SchedulerOpt = Annotated[str | None, typer.Option(
    "--scheduler", metavar="ADDRESS", help="Dask scheduler, e.g. tcp://10.0.0.5:8786.",
    rich_help_panel=EXECUTION)]
BackendOpt = Annotated[Backend | None, typer.Option(
    "--backend", parser=str,
    help="What computes the passes: auto (compiled kernels where one covers the case, else "
    "NumPy), numpy, or numba (an error where no kernel covers it). Default: "
    "$NNBENCH_BACKEND, else auto. Changes the last digits only, as another BLAS would.",
    rich_help_panel=EXECUTION)]
GroupSizeOpt = Annotated[int | None, typer.Option(
    "--group-size", min=1,
    help="Most runs trained together on the runs axis (1: grouping off).",
    rich_help_panel=EXECUTION)]



def experiment_options(
    task: TaskOpt = None, loss: LossOpt = None, val_frac: ValFracOpt = None,
    start: StartOpt = None, data_dir: DataDirOpt = None,
    model: ModelOpt = None, act: ActOpt = None, depth: DepthOpt = None, width: WidthOpt = None,
    init: InitOpt = None,
    optim: OptimOpt = None, lr: LrOpt = None, hp: HpOpt = None, schedule: ScheduleOpt = None,
    sched: SchedOpt = None, clip: ClipOpt = None,
    steps: StepsOpt = None, epochs: EpochsOpt = None, batch_size: BatchOpt = None,
    seed: SeedOpt = None, dtype: DtypeOpt = None, log_every: LogEveryOpt = None,
    eval_every: EvalEveryOpt = None, patience: PatienceOpt = None, target: TargetOpt = None,
    l2: L2Opt = None, dropout: DropoutOpt = None, binary: BinaryOpt = None,
    pieces: PiecesOpt = None, params: ParamsOpt = None, degree: DegreeOpt = None,
    standardize: StandardizeOpt = None, residual: ResidualOpt = None,
    out_act: OutActOpt = None, shuffle: ShuffleOpt = None,
    config: ConfigOpt = None, plugin: PluginOpt = None, out: OutOpt = None,
    name: NameOpt = None, cache_dir: CacheDirOpt = None, no_cache: NoCacheOpt = False,
    overwrite: OverwriteOpt = False, no_plot: NoPlotOpt = False, quiet: QuietOpt = False,
    json: JsonOpt = False, debug: DebugOpt = False,
) -> None:
    """The options ``run`` and ``compare`` share, as a signature for :func:`with_options`
    (never called)."""


Command = Callable[..., Any]


def with_options(*parts: Command) -> Callable[[Command], Command]:
    """Give a command that takes ``**options`` the parameters of ``parts``, in order, as its
    signature: Typer reads the options from it, and the command receives every value by
    name, in that order (as ``locals()`` would list them)."""
    params = [p for part in parts
              for p in inspect.signature(part, eval_str=True).parameters.values()]

    def decorate(command: Command) -> Command:
        @functools.wraps(command)
        def call(**values: Any) -> Any:
            return command(**{p.name: values[p.name] for p in params})

        call.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        call.__annotations__ = {p.name: p.annotation for p in params}
        return call

    return decorate


# Options of the commands on a results directory
ResultsDir = Annotated[Path, typer.Argument(help="A results directory.", show_default=False)]
FormatOpt = Annotated[FigureFormat, typer.Option("--format", parser=str,
                                                 help="Figure format.")]


@dataclass
class Execution:
    """Where the groups train (never part of the experiment's config)."""

    jobs: int = 1
    threads: int | None = None
    executor: ExecutorName = "local"
    scheduler: str | None = None
    group_size: int | None = None
    backend: str | None = None


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
    baseline: str | None = None
    cache_dir: Path | None = None
    no_cache: bool = False

    @property
    def mode(self) -> str:
        """``quiet`` (nothing while training), ``live`` (rich table) or ``plain``."""
        if self.quiet or self.json:
            return "quiet"
        return "live" if sys.stdout.isatty() else "plain"


def given_values(**values: Any) -> dict[str, Any]:
    """The run-config fields actually given on the command line (None means not given)."""
    return {k: v for k, v in values.items() if v is not None and v != [] and v != {}}
