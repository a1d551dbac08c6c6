"""The distribution's name is one that is free on the package index, and every install hint
names this project, never the unrelated distribution called ``nnbench``."""

import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def test_distribution_name_is_not_the_taken_one():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "nnbench-lab"
    assert project["scripts"]["nnbench"] == "nnbench.cli:main"


def test_no_install_hint_names_the_other_distribution():
    # `pip install nnbench`, `pip install 'nnbench[extra]'` or `nnbench\[extra]` in help text
    taken = re.compile(r"pip install '?nnbench\b|nnbench\\?\[")
    texts = {p: p.read_text(encoding="utf-8") for p in
             [*(ROOT / "nnbench").rglob("*.py"), ROOT / "README.md", *(ROOT / "docs").glob("*.md")]}
    hits = [f"{p.relative_to(ROOT)}: {m.group(0)}" for p, t in texts.items()
            for m in taken.finditer(t)]
    assert hits == []
