"""``nnbench run`` and ``nnbench compare``: an experiment from the flags, trained and summarized.

``run`` trains one configuration, ``compare`` a grid of them (comma-separated axes, every
cell over several seeds); both write a results directory, draw its figures and print
the summary over seeds. The flags actually given (Typer defaults are ``None``) become
flat experiment keys, applied with :func:`nnbench.config.merge` over ``--config FILE``;
every run is checked before anything is written. Ctrl-C during training keeps what was
computed, says how to resume, and exits with 130.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from nnbench.cli.app import EXIT_INTERRUPTED, app, boundary, error, one_line
from nnbench.cli.options import (
    GRID,
    BackendOpt,
    BaselineOpt,
    Execution,
    ExecutorOpt,
    GroupSizeOpt,
    JobsOpt,
    Output,
    SchedulerOpt,
    ThreadsOpt,
    experiment_options,
    given_values,
    parse_batch,
    parse_bools,
    parse_hp,
    parse_list,
    parse_sched,
    parse_seeds,
    with_options,
)
from nnbench.cli.output import check_results_dir, draw, json_dumps, report_summary
from nnbench.schema import AXES, RUN_KEYS, field_kind


def _threads(threads: ThreadsOpt = None, backend: BackendOpt = None) -> None:
    """The execution options of ``run`` (a signature for :func:`with_options`)."""


@app.command()
@with_options(experiment_options, _threads)
def run(**options: Any):
    """Train one configuration and print its summary.

    Example: [bold]nnbench run --task sin --optim adam --lr 0.005 --steps 2000[/bold]
    """
    output = _output(options)
    output.execution = Execution(threads=options["threads"], backend=options["backend"])
    with boundary(options["debug"]):
        given = _run_fields(options)
        given["seeds"] = 1
        _execute("run", given, options["config"], None, output)


def _axis(help: str) -> Any:
    """A grid option: a comma-separated list of values (see :func:`_grid`)."""
    return typer.Option(help=help, rich_help_panel=GRID)


TUNING = "Tuning (random search with a budget, then final seeds)"


def _grid_options(
    tasks: Annotated[str | None, _axis(
        "Tasks, e.g. sin-small,moons,digits: a grid axis; the summary ranks the optimizers "
        "per task (a leaderboard) and draws their performance profile.")] = None,
    optims: Annotated[str | None, _axis("Optimizers to compare, e.g. sgd,momentum,adam.")
                      ] = None,
    acts: Annotated[str | None, _axis("Activations, e.g. sigmoid,relu.")] = None,
    depths: Annotated[str | None, _axis("Numbers of hidden layers, e.g. 1,2,4,8.")] = None,
    widths: Annotated[str | None, _axis("Widths, e.g. 10,100.")] = None,
    lrs: Annotated[str | None, _axis(
        "Learning rates (the summary names the best per optimizer).")] = None,
    inits: Annotated[str | None, _axis("Initializations.")] = None,
    batch_sizes: Annotated[str | None, _axis("Minibatch sizes (integers or full).")] = None,
    schedules: Annotated[str | None, _axis("Learning-rate schedules.")] = None,
    models: Annotated[str | None, _axis(
        "Models, e.g. perceptron,mlp ([bold]nnbench list models[/bold]).")] = None,
    losses: Annotated[str | None, _axis("Losses, e.g. bce_with_logits,sigmoid_mse.")] = None,
    forms: Annotated[str | None, _axis(
        "Written forms of the optimizer's rule, e.g. torch,book,lecture (as --hp form=).")
                     ] = None,
    budgets: Annotated[str | None, _axis(
        "Parameter budgets (as --params), e.g. 1000,10000 --depths 1,2,4.")] = None,
    degrees: Annotated[str | None, _axis(
        "Fit degrees of the poly task (as --degree), e.g. 1,3,9.")] = None,
    l2s: Annotated[str | None, _axis(
        "L2 penalties (as --l2; 0 is none), e.g. 0,0.001,0.01.")] = None,
    dropouts: Annotated[str | None, _axis(
        "Dropout rates (as --dropout; 0 is none), e.g. 0,0.2,0.5.")] = None,
    data_seeds: Annotated[str | None, _axis(
        "Seeds of the data set (each a new draw of the task's data: repeated experiments), "
        "e.g. 0,1,2,3.")] = None,
    residuals: Annotated[str | None, _axis(
        "Without and with skip connections between hidden layers, e.g. false,true "
        "(as --residual).")] = None,
    seeds: Annotated[str | None, typer.Option(
        "--seeds", metavar="N|S,S,...",
        help="Seeds per cell: N seeds 0..N-1 (3 by default; from --seed on), or the seeds "
             "themselves, e.g. 0,3,7.",
        rich_help_panel=GRID)] = None,
    resume: Annotated[Path | None, typer.Option(
        "--resume", metavar="DIR",
        help="Finish an interrupted experiment in its results directory.",
        rich_help_panel=GRID)] = None,
    tune: Annotated[str | None, typer.Option(
        "--tune", metavar="lr",
        help="Tune the learning rate of every optimizer by random search: --tune lr "
             "--budget 8 --final-seeds 3.", rich_help_panel=TUNING)] = None,
    budget: Annotated[int | None, typer.Option(
        "--budget", metavar="N",
        help="Learning rates tried per optimizer (and per cell of the other axes), drawn "
             "log-uniformly, one seed each, e.g. --budget 8.", rich_help_panel=TUNING)] = None,
    final_seeds: Annotated[int | None, typer.Option(
        "--final-seeds", metavar="K",
        help="Seeds the best rate is trained with again, after the tuning seed (3 by "
             "default), e.g. --final-seeds 5.", rich_help_panel=TUNING)] = None,
    lr_range: Annotated[str | None, typer.Option(
        "--lr-range", metavar="LO,HI",
        help="The range of every optimizer's rates (each its own by default: nnbench.tune), "
             "e.g. --lr-range 1e-4,1.", rich_help_panel=TUNING)] = None,
) -> None:
    """The grid options of ``compare`` (a signature for :func:`with_options`)."""


def _execution_options(
    jobs: JobsOpt = 1, threads: ThreadsOpt = None, executor: ExecutorOpt = "local",
    scheduler: SchedulerOpt = None, group_size: GroupSizeOpt = None,
    backend: BackendOpt = None,
) -> None:
    """The execution options of ``compare`` (a signature for :func:`with_options`)."""


def _analysis_options(baseline: BaselineOpt = None) -> None:
    """How ``compare`` summarizes (a signature for :func:`with_options`)."""


@app.command()
@with_options(_grid_options, experiment_options, _analysis_options, _execution_options)
def compare(**options: Any):
    """Compare a grid of configurations, every cell over several seeds.

    Comma-separated axes (--tasks, --optims, --acts, --depths, --widths, --lrs, --inits,
    --batch-sizes, --schedules, --models, --losses, --forms, --budgets, --degrees,
    --standardize true,false, --l2s, --dropouts, --data-seeds) make the grid; the summary
    gives mean ± std and a 95% interval over seeds per cell, and the best learning rate per
    optimizer when --lrs is swept; --tune lr --budget N searches the rates instead.

    Example: [bold]nnbench compare --optims sgd,adam --task sin[/bold]

    Example: [bold]nnbench compare --tasks sin-small,moons --optims sgd,adam --tune lr
    --budget 8 --final-seeds 3 --baseline sgd[/bold]
    """
    output = _output(options)
    output.execution = Execution(*(options[k] for k in ("jobs", "threads", "executor",
                                                        "scheduler", "group_size",
                                                        "backend")))
    output.baseline = options["baseline"]
    config, resume = options["config"], options["resume"]
    with boundary(options["debug"]):
        given = _run_fields(options)
        grid = _grid(options)
        for axis, field in AXES.items():
            if axis in grid and field in given:
                raise error(f"--{field.replace('_', '-')} and --{axis.replace('_', '-')} "
                            "both given: give one value or a list, not both")
        if resume is not None:
            if given or grid or config is not None or options["out"] is not None:
                raise error("--resume takes the experiment from its results directory; "
                            "give no experiment options with it")
            _execute("compare", {}, None, resume, output)
        else:
            _execute("compare", {**given, **grid}, config, None, output)


def _output(options: dict[str, Any]) -> Output:
    """The output options given to run or compare."""
    output = Output(*(options[k] for k in ("out", "overwrite", "no_plot", "quiet", "json",
                                           "debug")))
    output.cache_dir, output.no_cache = options["cache_dir"], options["no_cache"]
    return output


def _option(name: str) -> str:
    """The command-line spelling of key ``name`` (``batch_sizes`` is ``--batch-sizes``)."""
    return "--" + name.replace("_", "-")


def _bool(text: str) -> bool:
    """``true`` or ``false`` (any case) of a list of booleans; ValueError otherwise."""
    if text.lower() not in ("true", "false"):
        raise ValueError(text)
    return text.lower() == "true"


def _grid(options: dict[str, Any]) -> dict[str, Any]:
    """The grid axes given to compare (``options``: its parameters, in their order), each
    list parsed as its field's kind, and ``seeds``."""
    parsers: dict[str, Any] = {"int": int, "float": float, "bool": _bool}
    grid: dict[str, Any] = {}
    for axis in (k for k in options if k in AXES):
        kind = field_kind(AXES[axis])
        values = parse_list(_option(axis), options[axis], parsers.get(kind, str))
        if kind == "batch":
            values = [parse_batch(_option(axis), b) for b in values or []]
        grid[axis] = values
    lr_range = parse_list("--lr-range", options["lr_range"], float)
    if lr_range is not None and len(lr_range) != 2:
        raise error(f"--lr-range takes two numbers LO,HI, e.g. 1e-4,1, got "
                    f"'{options['lr_range']}'")
    return given_values(**grid, seeds=parse_seeds(options["seeds"]), tune=options["tune"],
                        budget=options["budget"], final_seeds=options["final_seeds"],
                        lr_range=lr_range)


def _run_fields(options: dict[str, Any]) -> dict[str, Any]:
    """The run-config fields (and the experiment's name) given on the command line
    (``options``: the command's parameters), converted for the config layer."""
    fields = {k: v for k, v in options.items() if k in RUN_KEYS and k != "standardize"
              or k == "name"}
    sched = parse_sched(options["sched"])
    if "warmup_steps" in sched:  # a field of its own, for every schedule
        fields["warmup_steps"] = sched.pop("warmup_steps")
    fields["schedule_kw"] = sched or None
    standardize = parse_bools("--standardize", options["standardize"])
    if standardize is not None and len(standardize) > 1:  # both: an axis of the grid
        fields["standardizes"] = standardize
    elif standardize is not None:
        fields["standardize"] = standardize[0]
    if fields.get("steps") is not None and fields.get("epochs") is not None:
        raise error("--steps and --epochs both given: give one (epochs set the steps from "
                    "the size of the training set)")
    start, data_dir, batch_size = fields["start"], fields["data_dir"], fields["batch_size"]
    fields.update(
        start=None if start is None else str(start),
        data_dir=None if data_dir is None else str(data_dir),
        hp=parse_hp(fields["hp"]),
        batch_size=None if batch_size is None else parse_batch("--batch-size", batch_size),
        plugins=[str(p) for p in options["plugin"] or []])
    return given_values(**fields)


def _experiment(command: str, overrides: dict[str, Any], config_file: Path | None):
    """The experiment to train: defaults < the config file < the flags given.

    Validates every run (unknown names, impossible values) before anything trains.
    """
    from nnbench import config as cfg

    base = cfg.load_toml(config_file) if config_file is not None else cfg.ExperimentConfig()
    exp = cfg.merge(base, overrides)
    load_plugins(exp, config_file.parent if config_file is not None else None)
    runs = cfg.expand(exp)
    if command == "run" and len(runs) > 1:
        raise error(f"nnbench run trains one configuration, this one has {len(runs)} runs; "
                    "use nnbench compare for a grid")
    _, runs = cfg.resolve_experiment(exp)  # raises on the first impossible run
    from nnbench.resolve import batch_warnings
    from nnbench.tasks.build import make_task

    for first in {r.task: r for r in runs}.values():
        for line in batch_warnings([r for r in runs if r.task == first.task],
                                   make_task(first)):
            typer.echo(f"nnbench: warning: {line}", err=True)
    return exp


def load_plugins(exp: Any, results: Path | None = None) -> None:
    """Load the installed packages' plugins and the experiment's plugin files; when the
    experiment comes from a results directory (``results``: ``--config DIR/config.toml``,
    ``--resume DIR``), warn about a plugin file whose SHA-256 is not the one its
    ``meta.json`` recorded."""
    from nnbench.plugins import load_plugins as load

    files = load(exp.plugins or [])
    if results is None or not (results / "meta.json").is_file():
        return
    from nnbench.store import load_meta

    try:
        then = {p["path"]: p["sha256"] for p in load_meta(results).get("plugins", [])}
    except (OSError, KeyError, TypeError, ValueError):
        return
    for f in files:
        if f.path in then and then[f.path] != f.sha256:
            typer.echo(f"nnbench: warning: plugin {f.path} changed since {results} was made "
                       f"(sha256 {then[f.path][:12]}... then, {f.sha256[:12]}... now): the "
                       "numbers may differ", err=True)


def _compile_kernels(exp: Any, backend: str | None, output: Output) -> None:
    """Compile the kernels the experiment will use and that are not in the disk cache yet,
    saying so in one line (the first time only: later runs load them in well under a
    second)."""
    from nnbench.config import resolve_experiment
    from nnbench.engine import compile_kernels, kernel_names, kernels_to_compile
    from nnbench.experiment import make_groups

    todo = kernels_to_compile([g[0] for g in make_groups(resolve_experiment(exp)[1])],
                              backend)
    if not todo:
        return
    if output.mode != "quiet":
        what = ", ".join(kernel_names(todo))
        typer.echo(f"nnbench: compiling kernels for {what}, once", err=True)
    compile_kernels(todo)


def _execute(command: str, overrides: dict[str, Any], config_file: Path | None,
             resume: Path | None, output: Output) -> None:
    """Resolve the experiment, train it with a reporter, draw, and print the summary.

    Runs inside :func:`~nnbench.cli.app.boundary`: NNBenchError/OSError become one-line
    errors.
    """
    if resume is not None:
        from nnbench import config as cfg
        from nnbench.store import load_results

        check_results_dir(resume)
        load_results(resume)  # a damaged file: which and how, before anything is written
        exp = cfg.load_toml(resume / "config.toml")
        load_plugins(exp, resume)
        out_dir = resume
    else:
        exp = _experiment(command, overrides, config_file)
        out_dir = _out_dir(exp, output)
    if output.baseline is not None:
        _check_baseline(exp, output.baseline)
    from nnbench.console import make_reporter
    from nnbench.executors import make_executor
    from nnbench.store import locked

    ex = output.execution or Execution()
    executor = make_executor(ex.executor, ex.jobs, ex.scheduler, ex.threads, ex.backend)
    _compile_kernels(exp, ex.backend, output)
    reporter = make_reporter(output.mode)
    if resume is not None:
        command = f"{command} --resume"
    with locked(out_dir, command):  # training, figures and summary: one writer at a time
        _train(exp, out_dir, resume, output, reporter, executor, ex, command)


def _train(exp: Any, out_dir: Path, resume: Path | None, output: Output, reporter: Any,
           executor: Any, ex: Execution, command: str) -> None:
    """Train into the locked ``out_dir``, draw the figures and print the summary."""
    from nnbench.experiment import run_experiment

    try:
        out_dir = Path(run_experiment(exp, out_dir, reporter, resume=resume is not None,
                                      overwrite=output.overwrite,
                                      executor=executor,
                                      group_size=ex.group_size, command=command,
                                      cache=_cache(output)))
    except KeyboardInterrupt as stop:  # the experiment layer saved and marked the runs
        # (Ctrl-C, SIGTERM or SIGHUP: exit 128 + the signal's number, 130 for Ctrl-C)
        if getattr(stop, "out_dir", None) is None:  # before anything was written
            raise
        out_dir = Path(stop.out_dir)
        typer.echo(f"nnbench: interrupted; the partial results are in {out_dir}", err=True)
        typer.echo(f"nnbench: to finish them: nnbench compare --resume {out_dir}", err=True)
        if output.json:
            typer.echo(json_dumps({"results_dir": str(out_dir), "interrupted": True}))
        else:
            typer.echo(str(out_dir))
        code = 128 + int(getattr(stop, "signum", EXIT_INTERRUPTED - 128))
        raise typer.Exit(code) from None
    if not output.no_plot:
        from nnbench.core.errors import NNBenchError

        try:
            draw(out_dir)
        except NNBenchError as err:  # the results are safe; say why there is no figure
            if output.debug:
                raise
            typer.echo(f"nnbench: warning: no figures: {one_line(str(err))}", err=True)
    report_summary(out_dir, output, target=exp.base.target, baseline=output.baseline)


def _check_baseline(exp: Any, name: str) -> None:
    """``--baseline NAME`` must be a value of one of the experiment's axes (before
    anything trains)."""
    values = {str(v) for axis in AXES for v in (getattr(exp, axis) or [])
              if len(getattr(exp, axis) or []) > 1}
    if name not in values:
        raise error(f"--baseline {name!r} is not a value of the grid's axes; give one of "
                    f"{', '.join(sorted(values)) or '(none: nothing varies)'}")


def _cache(output: Output) -> Any:
    """The run cache (``--cache-dir``, else nnbench's), or ``None`` with ``--no-cache`` or
    ``NNBENCH_NO_CACHE=1``."""
    from nnbench.store.runcache import RunCache, bypassed

    if output.no_cache or bypassed():
        return None
    return RunCache(output.cache_dir)


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
