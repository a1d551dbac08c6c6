"""Figures drawn from a results directory alone (``runs.csv``, ``metrics.csv``,
``layers.csv``, ``config.toml``, ``weights/``, ``prune.csv``).

Each figure is one function ``fig_*(res) -> Figure | None`` that returns ``None`` when
the directory holds nothing it can draw; the registry (:data:`FIGURES`, in
:mod:`nnbench.plots.registry`) names them, and :func:`draw_all` draws those that apply
under ``<dir>/figures/``. The modules, by figure family:

- :mod:`~nnbench.plots.style`: palette, line styles, labels, figure helpers, :func:`save`
- :mod:`~nnbench.plots.data`: axes of variation, series over seeds, the tuned learning rate
- :mod:`~nnbench.plots.curves`: loss, accuracy, closed form, learning-rate sensitivity
- :mod:`~nnbench.plots.layers`: activations across depths, gradients per layer
- :mod:`~nnbench.plots.models`: decision regions and fitted curves of the trained models
- :mod:`~nnbench.plots.landscape`: trajectories over an objective landscape
- :mod:`~nnbench.plots.sparsity`: accuracy against sparsity after pruning
- :mod:`~nnbench.plots.check`: ``python -m nnbench.plots.check DIR...``

The *hue* of every figure comes from a fixed palette keyed by name (:data:`PALETTE`),
so ``sgd`` is the same colour in every figure and every experiment.
"""

from nnbench.plots.curves import fig_accuracy, fig_closed_form, fig_curves, fig_lr_sensitivity
from nnbench.plots.data import (
    Axes_,
    Series,
    describe,
    final_loss,
    final_loss_name,
    load,
    lr_swept,
    seed_stats,
    series,
    split_axes,
    tuned_runs,
)
from nnbench.plots.landscape import fig_landscape
from nnbench.plots.layers import (
    activation_depth_table,
    fig_activation_depths,
    fig_activation_heatmap,
    fig_gradients,
    layer_profile,
)
from nnbench.plots.models import fig_decision, fig_fit, load_model
from nnbench.plots.registry import (
    FIGURE_NAMES,
    FIGURES,
    FigureSpec,
    caption,
    draw_all,
    expected_figures,
)
from nnbench.plots.sparsity import draw_sparsity, fig_sparsity
from nnbench.plots.style import DPI, FORMATS, PALETTE, colours, linestyles, save
from nnbench.store import Results

__all__ = [
    "DPI", "FIGURES", "FIGURE_NAMES", "FORMATS", "PALETTE", "Axes_", "FigureSpec", "Results",
    "Series", "activation_depth_table", "caption", "colours", "describe", "draw_all",
    "draw_sparsity", "expected_figures", "fig_accuracy", "fig_activation_depths",
    "fig_activation_heatmap", "fig_closed_form", "fig_curves", "fig_decision", "fig_fit",
    "fig_gradients", "fig_landscape", "fig_lr_sensitivity", "fig_sparsity", "final_loss",
    "final_loss_name", "layer_profile", "linestyles", "load", "load_model", "lr_swept",
    "save", "seed_stats", "series", "split_axes", "tuned_runs",
]
