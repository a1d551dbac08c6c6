"""--help shows metavars, not type names; the shell completes the names of tasks,
optimizers, activations, losses, inits, schedules and models."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from nnbench.core.optimizers import OPTIMIZERS
from nnbench.tasks import TASKS


def _help(*args: str) -> str:
    env = dict(os.environ, COLUMNS="140")
    out = subprocess.run([sys.executable, "-m", "nnbench", *args, "--help"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.parametrize("command", [(), ("run",), ("compare",), ("plot",), ("show",),
                                     ("prune",), ("report",), ("list",)])
def test_help_names_values_not_types(command):
    out = _help(*command)
    assert re.search(r"--help\s+-h\s+Show this message", out), out  # a flag: no metavar
    assert not re.findall(r"<(bool|str|int|float|path|list\[[a-z]+\])( range)?>", out), out


@pytest.mark.parametrize("option, key", [
    ("--model", "model"), ("--act", "act"), ("--depth", "depth"), ("--width", "width"),
    ("--init", "init"), ("--optim", "optim"), ("--steps", "steps")])
def test_defaults_a_task_changes_are_said_to_be_the_tasks(option, key):
    """Where the task's suggestion is the default, the help says so and names the value
    used when the task suggests none (the value resolve applies)."""
    from nnbench.resolve import task_default
    from nnbench.schema import FALLBACK

    out = " ".join(_help("run").replace("│", " ").split())  # the table's borders aside
    line = re.search(re.escape(option) + r" \S+ (?:(?!--)\S+ )*?Default: the task's "
                     r"\(nnbench list tasks\), else ([^ .]+)", out)
    assert line, out
    assert line.group(1) == str(FALLBACK[key])
    assert task_default(object(), key) == FALLBACK[key]  # a task suggesting nothing


def test_metavars_say_what_a_value_is():
    out = _help("compare")
    assert re.search(r"--optims\s+NAME,\.\.\.", out)
    assert re.search(r"--depths\s+V,\.\.\.", out)
    assert re.search(r"--depth\s+N\b", out)
    assert re.search(r"--lr\s+X\b", out)
    assert re.search(r"--overwrite\s+Replace", out)  # a flag takes no value


def _complete(words: str) -> list[str]:
    env = dict(os.environ, _NNBENCH_COMPLETE="complete_bash", COMP_WORDS=words,
               COMP_CWORD=str(len(words.split()) - (0 if words.endswith(" ") else 1)))
    out = subprocess.run([sys.executable, "-m", "nnbench"], env=env, capture_output=True,
                         text=True, timeout=60)
    return out.stdout.split()


def test_the_shell_completes_a_task():
    want = sorted(n for n in TASKS.names() if n.startswith("s"))
    assert sorted(_complete("nnbench run --task s")) == want


def test_the_shell_completes_the_last_item_of_a_list():
    got = _complete("nnbench compare --optims sgd,ada")
    want = sorted(f"sgd,{n}" for n in OPTIMIZERS.names() if n.startswith("ada"))
    assert sorted(got) == want and want
