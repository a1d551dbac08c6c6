"""Command-line niceties: -h and -V, counts in their number, lists of seeds, file modes
that follow the umask, schedule parameters from the command line, and the summary's notes
on a best rate at the edge of the sweep and on a run that ended far above its start."""

import pytest
from typer.testing import CliRunner

from nnbench import __version__
from nnbench.cli import app
from nnbench.core.errors import plural

runner = CliRunner()
FAST = ["--steps", "3", "--log-every", "3", "--no-plot"]


@pytest.mark.parametrize("args", [["-h"], ["run", "-h"], ["compare", "-h"], ["list", "-h"],
                                  ["data", "fetch", "-h"], ["show", "-h"]])
def test_dash_h_is_help(args):
    short, long = runner.invoke(app, args), runner.invoke(app, [*args[:-1], "--help"])
    assert short.exit_code == 0, short.output
    assert "Usage:" in short.output and short.output == long.output


@pytest.mark.parametrize("flag", ["-V", "--version"])
def test_version(flag):
    result = runner.invoke(app, [flag])
    assert result.exit_code == 0 and result.output.strip() == f"nnbench {__version__}"


def test_plural():
    assert plural(1, "run") == "1 run" and plural(2, "run") == "2 runs"
    assert plural(0, "group") == "0 groups" and plural(1.5, "epoch") == "1.5 epochs"
    assert plural(1, "class", "classes") == "1 class" and plural(3, "class", "classes") == \
        "3 classes"


@pytest.mark.parametrize("seeds,line", [("1", "training 1 run in 1 group"),
                                        ("2", "training 2 runs in 1 group")])
def test_counts_are_singular_or_plural(tmp_path, seeds, line):
    result = runner.invoke(app, ["compare", "--task", "sin-small", "--seeds", seeds, *FAST,
                                 "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == line
