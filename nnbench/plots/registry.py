"""The one list of figures: name, drawing function, caption and which results it applies
to. :func:`draw_all` draws from it, the report orders and captions figures by it, and
``python -m nnbench.plots.check`` (``make check-figures``) checks that a results
directory holds every figure it says applies."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nnbench.core.errors import NNBenchError
from nnbench.plots.benchmark import fig_leaderboard, fig_performance_profile, has_tasks
from nnbench.plots.capacity import (
    fig_bias_variance,
    fig_regularization,
    fig_why_deep,
    has_budgets,
    has_degrees,
    has_regularizers,
)
from nnbench.plots.curves import (
    fig_accuracy,
    fig_closed_form,
    fig_curves,
    fig_lr_sensitivity,
    has_accuracy,
    has_closed_form,
    has_curve,
)
from nnbench.plots.data import load, lr_swept
from nnbench.plots.generative import fig_boundaries, has_gaussian
from nnbench.plots.landscape import fig_landscape, has_trajectories
from nnbench.plots.layers import (
    fig_activation_depths,
    fig_activation_heatmap,
    fig_gradients,
    fig_layer_speed,
    has_layer_gradients,
    has_layer_speed,
    varies_activation_and_depth,
)
from nnbench.plots.models import decision_panels, fig_decision, fig_fit, fit_panels, model_panels
from nnbench.plots.scaling import fig_feature_scaling, has_scaling
from nnbench.plots.schedules import fig_lr_schedule, has_schedules
from nnbench.plots.sparsity import fig_sparsity, has_pruning
from nnbench.plots.style import FORMATS, save
from nnbench.store import FIGURES as FIGURES_DIR
from nnbench.store import Results

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


@dataclass
class Drawing:
    """What the figures of one :func:`draw_all` call share: the results, the curve
    figure's metric and abscissas, and the rebuilt models (loaded once, when needed)."""

    res: Results
    metric: str = "train_loss"
    xs: tuple[str, ...] = ("step", "wall_s")
    _panels: list[Any] | None = field(default=None, repr=False)

    @property
    def panels(self) -> list[Any]:
        """The trained models with their data, one per configuration (first seed)."""
        if self._panels is None:
            self._panels = model_panels(self.res)
        return self._panels


@dataclass(frozen=True)
class FigureSpec:
    """One figure: its file name (``figures/<name>.<fmt>``), how it is drawn (``None``
    when the results hold nothing to draw), the report's caption (``None``: its name),
    and whether a results directory should have it."""

    name: str
    draw: Callable[[Drawing], Figure | None]
    caption: str | None
    applies: Callable[[Results], bool]


def _has_models(select: Callable[[list[Any]], list[Any]]) -> Callable[[Results], bool]:
    return lambda res: bool(select(model_panels(res)))


# In the order draw_all draws them and the report shows them.
FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec("loss", lambda d: fig_curves(d.res, d.metric, d.xs),
               "Loss against step and wall time: mean over seeds, band from min to max "
               "(triangle: the step at which a SWATS run switched from Adam to SGD).",
               has_curve),
    FigureSpec("accuracy", lambda d: fig_accuracy(d.res),
               "Accuracy against step: mean over seeds, band from min to max.",
               has_accuracy),
    FigureSpec("lr_sensitivity", lambda d: fig_lr_sensitivity(d.res),
               "Final loss against learning rate (x: a seed diverged, star: the tuned "
               "learning rate).", lr_swept),
    FigureSpec("lr_schedule", lambda d: fig_lr_schedule(d.res, d.metric),
               "Loss of each learning-rate schedule (mean over seeds, band min-max) beside "
               "the learning rate it trained with at every step, lr * f(step).",
               has_schedules),
    FigureSpec("activations_depths", lambda d: fig_activation_depths(d.res),
               "Training loss of each activation, one panel per depth.",
               varies_activation_and_depth),
    FigureSpec("activations_heatmap", lambda d: fig_activation_heatmap(d.res),
               "Mean final loss, activation x depth.", varies_activation_and_depth),
    FigureSpec("gradients", lambda d: fig_gradients(d.res),
               "Gradient norm of each layer at initialization and after training; "
               "saturated or dead fraction of each hidden layer.", has_layer_gradients),
    FigureSpec("layer_speed", lambda d: fig_layer_speed(d.res),
               "Speed of learning: the gradient norm of each layer's weights against the "
               "step (mean over seeds), one panel per network.", has_layer_speed),
    FigureSpec("landscape", lambda d: fig_landscape(d.res),
               "Trajectories on the landscape (circle: start, square: end) and the "
               "distance to the nearest minimum.", has_trajectories),
    FigureSpec("decision_regions", lambda d: fig_decision(d.res, d.panels),
               "Decision regions of the trained models (first seed).",
               _has_models(decision_panels)),
    FigureSpec("boundaries", lambda d: fig_boundaries(d.res, d.panels),
               "The decision boundary of each model (first seed), the generative Gaussian "
               "classifier's beside the others, with training and test accuracy.",
               has_gaussian),
    FigureSpec("fit", lambda d: fig_fit(d.res, d.panels),
               "The fitted curves over the data (first seed).", _has_models(fit_panels)),
    FigureSpec("closed_form", lambda d: fig_closed_form(d.res), None, has_closed_form),
    FigureSpec("sparsity", lambda d: fig_sparsity(d.res), None, has_pruning),
    FigureSpec("performance_profile", lambda d: fig_performance_profile(d.res),
               "Performance profile (Dolan and Moré, 2002): the fraction of tasks on which "
               "each method's mean final loss (validation loss where the task has one) is "
               "within a factor tau of the best method's.", has_tasks),
    FigureSpec("leaderboard", lambda d: fig_leaderboard(d.res),
               "Rank of each method on each task (1: lowest mean final loss; the score "
               "under it) and its mean rank, best first.", has_tasks),
    FigureSpec("bias_variance", lambda d: fig_bias_variance(d.res),
               "Final training and validation loss against the polynomial degree of the fit "
               "(mean over seeds, band min-max), with the closed-form least-squares fit's.",
               has_degrees),
    FigureSpec("regularization", lambda d: fig_regularization(d.res),
               "Training and validation loss of each L2 penalty and dropout rate (triangle: "
               "the lowest validation loss, where early stopping keeps the weights).",
               has_regularizers),
    FigureSpec("why_deep", lambda d: fig_why_deep(d.res),
               "Test accuracy against depth, one line per parameter budget (each depth's "
               "width chosen to have closest to that many parameters).", has_budgets),
    FigureSpec("feature_scaling", lambda d: fig_feature_scaling(d.res),
               "Loss contours of linear regression in the raw and the standardized inputs, "
               "and gradient descent's path on each (circle: start, star: the closed form).",
               has_scaling),
)
FIGURE_NAMES = tuple(f.name for f in FIGURES)


def caption(name: str) -> str:
    """The report's caption of figure ``name`` (its name in words when it has none)."""
    spec = next((f for f in FIGURES if f.name == name), None)
    return spec.caption if spec is not None and spec.caption else name.replace("_", " ")


def expected_figures(res: Results) -> list[str]:
    """The names of the figures :func:`draw_all` makes for these results."""
    return [f.name for f in FIGURES if f.applies(res)]


def _abscissas(x: str | None) -> tuple[str, ...]:
    if x is None:
        return ("step", "wall_s")
    if x in ("step",):
        return ("step",)
    if x in ("wall_s", "time", "wall"):
        return ("wall_s",)
    raise NNBenchError(f"x must be 'step' or 'wall_s', got {x!r}")


def draw_all(out_dir: str | Path, x: str | None = None, metric: str = "train_loss",
             fmt: str | Sequence[str] = "png") -> list[Path]:
    """Draw every figure that applies to the results in ``out_dir`` into
    ``out_dir/figures/`` and return their paths.

    ``x``: ``"step"`` or ``"wall_s"`` (also ``"time"``) to draw the curves against one
    abscissa only; ``None`` draws both. ``metric``: the metrics.csv column of the curve
    figure, whose file is ``loss`` for a loss and the metric's name otherwise. ``fmt``:
    ``png``, ``svg``, ``pdf`` or several (a list or ``"png,svg"``).
    """
    res = load(out_dir)
    fmts = [f.strip() for f in fmt.split(",")] if isinstance(fmt, str) else list(fmt)
    for f in fmts:
        if f not in FORMATS:
            raise NNBenchError(f"figure format must be one of {', '.join(FORMATS)}, "
                               f"got {f!r}")
    xs = _abscissas(x)
    if not res.metrics.empty and metric not in res.metrics.columns:
        valid = [c for c in res.metrics.columns if c not in ("run_id", "step", "wall_s")]
        raise NNBenchError(f"metric {metric!r} is not in metrics.csv; valid: "
                           + ", ".join(valid))
    if not res.metrics.empty and res.metrics[metric].isna().all():
        none = ("there is no validation data (train with --val-frac F to have some)"
                if metric.startswith("val_") else "it was never measured")
        raise NNBenchError(f"metric {metric!r} has no values in {res.path / 'metrics.csv'}: "
                           + none)
    drawing = Drawing(res, metric, xs)
    written = []
    for spec in FIGURES:
        fig = spec.draw(drawing)
        if fig is None:
            continue
        name = spec.name if spec.name != "loss" or "loss" in metric else metric
        for f in fmts:
            written.append(save(fig, res.path / FIGURES_DIR / name, f))
    return written
