"""The import graph of the package: acyclic, counting the imports inside functions too.

Every module's imports are read with :mod:`ast` (module level and function level alike),
so a cycle hidden behind a function-level import still counts. Only the command line
(``nnbench.cli``) imports lazily, to keep ``nnbench --help`` fast and free of NumPy.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "nnbench"

# Modules that import nnbench modules inside functions, besides the command line, and why:
# the package root's lazy attributes (``nnbench.MLP`` without NumPy at ``import nnbench``);
# the compiled kernels, whose numba module (and numba, a second to import) loads only when a
# kernel is asked for.
LAZY_ALLOWED = {"nnbench", "nnbench.core.kernels", "nnbench.console"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _target(name: str) -> str | None:
    """The nnbench module an import of ``name`` loads (``None``: not nnbench's)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str) -> list[tuple[str, bool]]:
    """The nnbench modules ``module`` imports, each with whether the import is inside a
    function. ``from P import m`` with ``m`` a module counts as importing ``P.m`` only
    (its package ``P`` is not an import of the module's own code)."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, lazy: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = lazy or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef,
                                               ast.Lambda))
            if isinstance(child, ast.Import):
                found.extend((t, inner) for a in child.names if (t := _target(a.name)))
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.rsplit(".", child.level - 1)[0] if child.level > 1 \
                        else package
                    base = f"{anchor}.{base}" if base else anchor
                for alias in child.names:
                    sub = f"{base}.{alias.name}"
                    target = sub if sub in MODULES else _target(base)
                    if target:
                        found.append((target, inner))
            visit(child, inner)

    visit(tree, False)
    return [(t, lazy) for t, lazy in found if t != module]


GRAPH = {m: sorted({t for t, _ in _imports(m)}) for m in MODULES}


def _cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each as a
    cycle through it, sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in graph:
        if v not in index:
            connect(v)
    return sorted(components)


def _describe(component: list[str]) -> str:
    """One cycle through ``component``, as ``a -> b -> a``."""
    members = set(component)
    path = [component[0]]
    while True:
        nxt = next(w for w in GRAPH[path[-1]] if w in members
                   and (w == component[0] or w not in path))
        path.append(nxt)
        if nxt == component[0]:
            return " -> ".join(path)


def test_the_graph_is_read():
    assert "nnbench.config" in GRAPH["nnbench.experiment"]
    assert "nnbench.schema" in GRAPH["nnbench.cli.options"]
    # a function-level import counts: cli's commands load config only when they run
    assert "nnbench.config" in GRAPH["nnbench.cli.train"]


def test_no_import_cycle_at_all():
    cycles = _cycles(GRAPH)
    assert not cycles, "import cycles: " + "; ".join(_describe(c) for c in cycles)


def test_only_the_command_line_imports_lazily():
    lazy = sorted({f"{m} -> {t}" for m in MODULES for t, inside in _imports(m)
                   if inside and m != "nnbench.cli" and not m.startswith("nnbench.cli.")
                   and m not in LAZY_ALLOWED})
    assert not lazy, "function-level imports outside nnbench.cli: " + ", ".join(lazy)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.mark.parametrize("code", [
    "import sys, nnbench.cli; assert 'numpy' not in sys.modules",
    "import sys, nnbench.schema; assert 'numpy' not in sys.modules",
    "import sys; from nnbench.cli import _main; rc = _main(['--help']); "
    "assert rc == 0 and 'numpy' not in sys.modules",
], ids=["import nnbench.cli", "import nnbench.schema", "nnbench --help"])
def test_the_command_line_starts_without_numpy(code):
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=_env(), timeout=60)
    assert proc.returncode == 0, proc.stderr
