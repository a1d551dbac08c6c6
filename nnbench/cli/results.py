"""The commands on a results directory: ``plot``, ``show``, ``report`` and ``prune``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from nnbench.cli.app import app, boundary
from nnbench.cli.options import (
    BaselineOpt,
    DebugOpt,
    FigureFormat,
    FormatOpt,
    JsonOpt,
    Output,
    PlotX,
    ResultsDir,
    TargetOpt,
    check_choice,
)
from nnbench.cli.output import check_results_dir, report_summary, results_plugins


@app.command()
def plot(
    results_dir: ResultsDir,
    x: Annotated[PlotX | None, typer.Option(
        "--x", parser=str, help="Horizontal axis of the curves (both by default).")] = None,
    metric: Annotated[str | None, typer.Option(
        "--metric", help="metrics.csv column of the curves (train_loss by default).")] = None,
    fmt: FormatOpt = "png",
    debug: DebugOpt = False,
):
    """Draw the figures of a results directory again, into DIR/figures.

    Example: [bold]nnbench plot results/demo --x wall --format svg[/bold]
    """
    with boundary(debug):
        if x is not None:
            check_choice("--x", x, PlotX)
        check_choice("--format", fmt, FigureFormat)
        check_results_dir(results_dir)
        results_plugins(results_dir)
        from nnbench.plots import draw_all
        from nnbench.store import locked

        kw: dict[str, Any] = {"x": x, "fmt": fmt}
        if metric is not None:
            kw["metric"] = metric
        with locked(results_dir, "plot"):
            paths = draw_all(results_dir, **kw)
        for path in paths:
            typer.echo(str(path))


@app.command()
def show(
    results_dir: ResultsDir,
    target: TargetOpt = None,
    baseline: BaselineOpt = None,
    json: JsonOpt = False,
    debug: DebugOpt = False,
):
    """Print the summary table of a finished experiment again.

    Example: [bold]nnbench show results/demo --baseline sgd[/bold]
    """
    with boundary(debug):
        check_results_dir(results_dir)
        results_plugins(results_dir)
        report_summary(results_dir, Output(json=json), target=target, baseline=baseline)


@app.command()
def report(results_dir: ResultsDir, baseline: BaselineOpt = None, debug: DebugOpt = False):
    """Write report.md and report.html (configuration, summary, figures) into DIR.

    Example: [bold]nnbench report results/demo --baseline sgd[/bold]
    """
    with boundary(debug):
        check_results_dir(results_dir)
        results_plugins(results_dir)
        from nnbench.report import write_report
        from nnbench.store import locked

        with locked(results_dir, "report"):
            paths = write_report(results_dir, baseline=baseline)
        for path in paths:
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
    fmt: FormatOpt = "png",
    debug: DebugOpt = False,
):
    """Prune the trained weights of a results directory by magnitude and evaluate each
    level: DIR/prune.csv and DIR/figures/sparsity.png.

    Example: [bold]nnbench prune results/sparsity --sparsity 0,0.5,0.9 --finetune 50[/bold]
    """
    with boundary(debug):
        check_choice("--format", fmt, FigureFormat)
        check_results_dir(results_dir)
        results_plugins(results_dir)
        from nnbench.core.prune import parse_sparsities
        from nnbench.prune import prune_dir

        for path in prune_dir(results_dir, parse_sparsities(sparsity), finetune, fmt):
            typer.echo(str(path))
