"""What a figure's text says and where it is: the heatmap's colorbar label inside the figure,
titles that name the task once, the note under the wall-time panel."""

from __future__ import annotations

import re

import pytest

from nnbench import plots
from nnbench.plots.curves import WALL_NOTE
from tests.test_plots import write_results


def _texts(fig) -> list[str]:
    out = [t.get_text() for t in fig.texts]
    out += [ax.get_title() for ax in fig.axes]
    return [t for t in out if t]


def test_the_heatmaps_colorbar_label_lies_inside_the_figure(tmp_path):
    d, _ = write_results(tmp_path / "act", optims=("adam",), lrs=(0.01,),
                         acts=("sigmoid", "relu"), depths=(1, 2), seeds=(0,), task="moons")
    fig = plots.fig_activation_heatmap(plots.load(d))
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    cbar_ax = fig.axes[-1]
    label = cbar_ax.yaxis.label
    assert "loss" in label.get_text()
    box, page = label.get_window_extent(renderer), fig.bbox
    assert box.x0 >= page.x0 and box.x1 <= page.x1 and box.y0 >= page.y0 and box.y1 <= page.y1


@pytest.mark.parametrize("name, task, expect_on", [("sin", "sin", False),
                                                    ("optimizers-moons", "moons", False),
                                                    ("synthetic", "moons", True)])
def test_a_title_names_the_task_once(tmp_path, name, task, expect_on):
    d, _ = write_results(tmp_path / name, task=task)
    (d / "config.toml").write_text(f'name = "{name}"\ntask = "{task}"\n')
    fig = plots.fig_curves(plots.load(d))
    title = fig.get_suptitle()
    assert len(re.findall(rf"(?<![a-z]){task}(?![a-z])", title)) == 1, title
    assert (f" on {task}" in title) == expect_on


def test_the_wall_time_panel_says_why_a_rule_can_be_slower(tmp_path):
    d, _ = write_results(tmp_path / "opt")
    fig = plots.fig_curves(plots.load(d))
    notes = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert WALL_NOTE in notes and "subnormal" in WALL_NOTE
    step_only = plots.fig_curves(plots.load(d), xs=("step",))
    assert WALL_NOTE not in [t.get_text() for ax in step_only.axes for t in ax.texts]
