"""What the commands print about a results directory: its check, the summary, figures."""

from __future__ import annotations

import json as json_mod
import sys
from pathlib import Path
from typing import Any

import typer

from nnbench.cli.app import error
from nnbench.cli.options import Output


def json_dumps(doc: Any) -> str:
    """``doc`` as indented JSON; NaN and infinities are an error (not JSON)."""
    return json_mod.dumps(doc, indent=2, allow_nan=False)


def check_results_dir(path: Path) -> None:
    """Raise NNBenchError unless ``path`` is a results directory (has runs.csv and
    config.toml)."""
    if not path.is_dir():
        raise error(f"{path} is not a results directory (it does not exist or is not a "
                    "directory); give a directory written by nnbench run or compare")
    missing = [f for f in ("runs.csv", "config.toml") if not (path / f).is_file()]
    if missing:
        raise error(f"{path} is not a results directory (no {' or '.join(missing)}); give a "
                    "directory written by nnbench run or compare")


def results_plugins(path: Path) -> None:
    """Load the plugins a results directory's config.toml names (its names are theirs:
    the check of its grid and the figures need them); one that cannot be loaded is the
    command's one-line error."""
    from nnbench.core.errors import NNBenchError
    from nnbench.plugins import load_plugins
    from nnbench.toml import parse_toml

    try:
        text = (path / "config.toml").read_text(encoding="utf-8")
        files = parse_toml(text, str(path / "config.toml")).get("plugins") or []
    except (OSError, UnicodeDecodeError, NNBenchError):
        return  # load_results names the damage, in its one line
    load_plugins([str(f) for f in files] if isinstance(files, list) else [])


def draw(out_dir: Path) -> list[Path]:
    """The figures of a results directory, drawn into ``out_dir/figures``."""
    from nnbench.plots import draw_all

    return list(draw_all(out_dir))


def report_summary(out_dir: Path, output: Output, target: float | None = None,
                   baseline: str | None = None) -> None:
    """Print the summary of a results directory as the output options ask; ``target``
    defaults to the experiment's; ``baseline`` names the cell every other is paired with
    (:func:`nnbench.summary.compare_to_baseline`)."""
    from nnbench import summary as sm
    from nnbench.store import load_results, metrics_gaps
    from nnbench.tune import ranges_of

    results = load_results(out_dir)
    every, metrics = results.runs, results.metrics
    runs = sm.final_runs(every)  # a tuned experiment: its final seeds
    if target is None and results.config is not None:
        target = results.config.base.target  # the experiment's own --target
    by = sm.cell_columns(runs)
    # a run whose rows metrics.csv lacks (a damaged file: the reader warned) may have
    # reached the target in the rows lost: unknown, not missed
    gaps = metrics_gaps(runs, metrics) if target is not None else {}
    table = sm.summarize(runs, metrics if target is not None else None, target=target, by=by,
                         incomplete=gaps)
    paired = None if baseline is None else sm.compare_to_baseline(runs, baseline, by)
    table = sm.with_baseline(table, paired, by)
    best = sm.best_lr(runs)
    tuning = sm.tuning_table(every, ranges_of(results.config))
    scores = sm.task_scores(every)
    if output.json:
        doc = {"results_dir": str(out_dir), "cells": by, "target": target,
               "interval": {"level": sm.CI_LEVEL, "method": sm.CI_METHOD},
               "baseline": None if paired is None else {
                   "name": baseline, "column": paired.attrs["column"],
                   "metric": paired.attrs["metric"]},
               "summary": sm.to_records(table),
               "best_lr": sm.to_records(None if best is None else best.drop(columns="edge")),
               "tuning": sm.to_records(tuning),
               "leaderboard": None if scores is None else {
                   "scores": {t: sm.to_records(scores.loc[[t]])[0] for t in scores.index},
                   "ranks": sm.to_records(sm.leaderboard(scores).reset_index(
                       names="method"))},
               "notes": [*sm.edge_lines(best), *sm.notes(runs, metrics)]}
        typer.echo(json_dumps(doc))
        return
    if not output.quiet:
        from nnbench.console import print_summary

        print_summary(table, by, best, rich=sys.stdout.isatty())
        for line in [*sm.tuning_lines(tuning), *sm.leaderboard_lines(scores),
                     *sm.baseline_lines(paired), *sm.notes(runs, metrics)]:
            typer.echo(line)
        typer.echo(f"results: {out_dir}")
        return
    typer.echo(str(out_dir))
