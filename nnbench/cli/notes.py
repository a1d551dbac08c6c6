"""Commands that redo the notes' arithmetic without training a grid: ``plot-activations``
(the shapes of activations and their derivatives), ``overflow`` (naive against
max-shifted softmax) and ``backprop`` (notes 003's worked example: one image's deltas and
47 partial derivatives, checked against finite differences)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from nnbench.cli.app import app, boundary
from nnbench.cli.options import DebugOpt, FigureFormat, FormatOpt, OverwriteOpt, check_choice

FigOutOpt = Annotated[Path | None, typer.Option(
    "--out", metavar="DIR", help="Directory of the figure: DIR/figures/NAME.png and "
    "DIR/meta.json (nothing written without it), e.g. --out results/overflow.")]


def write_figure(fig: Any, out: Path, name: str, fmt: str, overwrite: bool) -> Path:
    """Save ``fig`` as ``out/figures/<name>.<fmt>`` with a ``meta.json`` that marks ``out``
    as nnbench's. A non-empty ``out`` needs ``overwrite`` and must be nnbench's; then only
    the files nnbench writes there are replaced."""
    from nnbench.core.errors import NNBenchError
    from nnbench.plots.style import save
    from nnbench.store import FIGURES
    from nnbench.store.files import (
        META,
        atomic_write_text,
        is_nnbench_dir,
        make_meta,
        remove_owned_files,
        utc_now,
    )

    out = Path(out)
    if str(out).strip() in ("", "."):
        raise NNBenchError("--out must name a directory other than the current one")
    if out.exists() and not out.is_dir():
        raise NNBenchError(f"{out} is a file; give a directory for the figure")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise NNBenchError(f"{out} is not empty; give --overwrite to replace the figures "
                               "nnbench wrote there, or another directory")
        if not is_nnbench_dir(out):
            raise NNBenchError(f"{out} is not a directory nnbench wrote (no nnbench "
                               "meta.json); --overwrite replaces only those")
        remove_owned_files(out)
    out.mkdir(parents=True, exist_ok=True)
    import json

    meta = make_meta()
    meta.update(end_time=utc_now(), status="complete")
    atomic_write_text(out / META, json.dumps(meta, indent=2) + "\n")
    return save(fig, out / FIGURES / name, fmt)


@app.command("plot-activations")
def plot_activations(
    names: Annotated[str, typer.Argument(
        metavar="NAMES", help="Comma-separated activations, each NAME[:KEY=VALUE;...]: "
        "sigmoid,sigmoid:beta=2,tanh,relu,leaky_relu:negative_slope=0.1 (beta is the input "
        "slope f(beta z) of any activation).", show_default=False)],
    z_max: Annotated[float, typer.Option("--z-max", help="Draw z from -Z to Z.")] = 8.0,
    out: FigOutOpt = None,
    overwrite: OverwriteOpt = False,
    fmt: FormatOpt = "png",
    debug: DebugOpt = False,
):
    """Draw each activation and its derivative, with the bound f' = 1/4 of sigmoid and the
    bands where units saturate; print where each saturates.

    Example: [bold]nnbench plot-activations sigmoid,sigmoid:beta=2,tanh,relu --out
    results/activation-shapes[/bold]
    """
    with boundary(debug):
        check_choice("--format", fmt, FigureFormat)
        import numpy as np

        from nnbench.core.errors import NNBenchError
        from nnbench.core.shapes import intervals, shape

        if not z_max > 0:
            raise NNBenchError(f"--z-max must be > 0, got {z_max:g}")
        specs = _split_specs(names)
        z = np.linspace(-z_max, z_max, 2001)
        shapes = [shape(s, z) for s in specs]
        for s in shapes:
            if s.saturated is None:
                where = "no saturation band (its layer statistic is the dead fraction, z <= 0)"
            else:
                parts = [f"[{a:.2f}, {b:.2f}]" for a, b in intervals(s.saturated, s.z)]
                where = "saturated (f' < 5% of max) on " + (" and ".join(parts) or "nothing")
            at_quarter = "; f' <= 1/4 everywhere" if s.max_grad <= 0.25 + 1e-12 else ""
            typer.echo(f"{s.spec}: max f' = {s.max_grad:.4g} at z = "
                       f"{float(s.z[np.argmax(s.df)]):.3g}{at_quarter}; {where}")
        if out is not None:
            from nnbench.plots.notes import fig_activation_shapes

            typer.echo(str(write_figure(fig_activation_shapes(shapes), out,
                                        "activation_shapes", fmt, overwrite)))


def _split_specs(names: str) -> list[str]:
    """``sigmoid,sigmoid:beta=2;x=1,tanh`` -> its specs: a comma starts a new activation
    unless what follows is a ``KEY=VALUE`` of the previous one."""
    from nnbench.core.errors import NNBenchError

    specs: list[str] = []
    for part in names.split(","):
        part = part.strip()
        if "=" in part and ":" not in part and specs:
            specs[-1] += "," + part
        elif part:
            specs.append(part.replace(";", ","))
        else:
            raise NNBenchError(f"NAMES is an empty or malformed list {names!r}: give "
                               "comma-separated activations, like sigmoid,tanh,relu")
    return specs


@app.command()
def overflow(
    t_max: Annotated[float, typer.Option(
        "--t-max", help="Largest scale t of the logits t * (1, 0.5, 0).")] = 1000.0,
    out: FigOutOpt = None,
    overwrite: OverwriteOpt = False,
    fmt: FormatOpt = "png",
    debug: DebugOpt = False,
):
    """Naive against max-shifted softmax and log-sum-exp in float32 and float64 as the
    logits grow: where each first gives inf or NaN (notes 001, section 15).

    Example: [bold]nnbench overflow --out results/overflow[/bold]
    """
    with boundary(debug):
        check_choice("--format", fmt, FigureFormat)
        import numpy as np

        from nnbench.core.errors import NNBenchError
        from nnbench.core.lse import DTYPES, FORMS, overflow_sweep, overflow_threshold

        if not 0 < t_max <= 1e6:
            raise NNBenchError(f"--t-max must be in (0, 1e6], got {t_max:g}")
        sweep = overflow_sweep(np.round(np.arange(0.0, t_max + 0.05, 0.1), 1))
        for dtype in DTYPES:
            typer.echo(f"{dtype}: e^x overflows for x > log(max) = "
                       f"{overflow_threshold(dtype):.4f}")
            for form in FORMS:
                first = sweep.first_bad[dtype, form]
                where = (f"first inf/NaN at t = {first:g}" if first is not None
                         else f"finite up to t = {t_max:g}")
                i = len(sweep.scales) - 1
                typer.echo(f"  {form:8s} {where}; at t = {sweep.scales[i]:g}: "
                           f"p = {sweep.prob[dtype, form][i]:.6g}, "
                           f"LSE = {sweep.lse[dtype, form][i]:.6g}")
        if out is not None:
            from nnbench.plots.notes import fig_overflow

            typer.echo(str(write_figure(fig_overflow(sweep), out, "overflow", fmt, overwrite)))


@app.command()
def backprop(
    example: Annotated[int, typer.Option(
        "--example", metavar="K", help="The training example: image K (1-34) of the "
        "zero-one task (odd K a 0, even K a 1).")] = 1,
    seed: Annotated[int, typer.Option(
        "--seed", help="Seed of the initial weights (torch's init).")] = 0,
    steps: Annotated[int, typer.Option(
        "--steps", help="Full-batch SGD steps on all 34 images (half_sse, lr 2, the "
        "task's suggestion) before the example's pass; 0: the initial weights.")] = 0,
    debug: DebugOpt = False,
):
    """Notes 003's worked example: one image's error deltas and 47 partial derivatives,
    by the notes' formulas, by backprop and by finite differences.

    For image K of the zero-one task, the 12-3-2 sigmoid network's z, a and delta of every
    neuron and the partials of C_k = 1/2 sum (t - a)^2, by the notes' formulas written out
    neuron by neuron, by nnbench's backprop and by central finite differences.

    Example: [bold]nnbench backprop --example 2 --steps 100[/bold]
    """
    with boundary(debug):
        from nnbench.core.errors import check_int
        from nnbench.core.worked import FD_STEP, worked_example
        from nnbench.tasks.zero_one import draw, zero_one_images

        check_int("--seed", seed, 0)
        check_int("--steps", steps, 0)
        images, labels = zero_one_images()
        w = worked_example(images, labels, example, seed=seed, steps=steps)
        for line in _worked_lines(w, len(images), FD_STEP, draw(w.image)):
            typer.echo(line)


def _worked_lines(w: Any, n: int, h: float, picture: list[str]) -> list[str]:
    """The worked example as text lines of at most 80 columns."""
    t1, t2 = (f"{v:g}" for v in w.targets)
    trained = f"trained {w.steps} steps" if w.steps else "initial weights"
    x = " ".join(f"{v:g}" for v in w.image.ravel())
    lines = [f"zero-one example {w.example} of {n}: a {w.label} (targets t1 = {t1}, "
             f"t2 = {t2})",
             f"12-3-2 sigmoid network, sigmoid outputs, float64, seed {w.seed}, {trained}",
             *(f"    {row}" for row in picture),
             f"x_1..x_12 = {x} (row by row, # = 1)", "",
             f"{'layer':10s} {'unit':>4s} {'z':>14s} {'a':>14s} {'delta = dC/dz':>14s}"]
    p = w.notes
    for name, z, a, d in (("2 hidden", p.z2, p.a2, p.delta2), ("3 output", p.z3, p.a3,
                                                                p.delta3)):
        lines += [f"{name:10s} {j + 1:4d} {z[j]:+14.6e} {a[j]:+14.6e} {d[j]:+14.6e}"
                  for j in range(len(z))]
    lines += [f"C_k = 1/2 sum_j (t_j - a3_j)^2 = {p.loss:.10g} (backprop: "
              f"{w.backprop_loss:.10g})", "",
              f"the {len(w.names)} partial derivatives dC_k/dp: the notes' formula, "
              "nnbench's backprop,", f"central finite differences (h = {h:g})",
              f"{'p':8s} {'formula':12s} {'notes':>14s} {'backprop':>14s} "
              f"{'finite diff':>14s}"]
    lines += [f"{name:8s} {formula:12s} {a:+14.6e} {b:+14.6e} {c:+14.6e}"
              for name, formula, a, b, c in zip(w.names, w.formulas, w.partials, w.backprop,
                                                w.finite_diff, strict=True)]
    lines += ["", f"largest |notes - finite difference| = {w.max_notes_fd:.2g}",
              f"largest |notes - backprop|          = {w.max_notes_backprop:.2g}"]
    return lines
