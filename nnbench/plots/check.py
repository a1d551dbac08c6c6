"""``python -m nnbench.plots.check DIR...``: every figure the registry says a results
directory makes (:func:`nnbench.plots.registry.expected_figures`) is there as a non-empty
PNG. Prints ``missing or empty figure: PATH`` for each one that is not and exits 1, else
prints ``all figures present under PARENT/``. ``make check-figures`` runs it on the
reproductions' directories."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from nnbench.plots.data import load
from nnbench.plots.registry import expected_figures
from nnbench.store import FIGURES, is_results_dir


def missing_figures(path: Path, fmt: str = "png") -> list[Path]:
    """The figures of the results directory ``path`` that are absent or empty."""
    res = load(path)
    files = [path / FIGURES / f"{name}.{fmt}" for name in expected_figures(res)]
    return [f for f in files if not f.is_file() or f.stat().st_size == 0]


def main(argv: Sequence[str] | None = None) -> int:
    """Check each directory of ``argv``; print what is missing; 0 when nothing is."""
    dirs = [Path(a) for a in (sys.argv[1:] if argv is None else argv)]
    if not dirs:
        print("usage: python -m nnbench.plots.check RESULTS_DIR...", file=sys.stderr)
        return 2
    status = 0
    for d in dirs:
        if not is_results_dir(d):
            print(f"missing results: {d} (no runs.csv)")
            status = 1
            continue
        for f in missing_figures(d):
            print(f"missing or empty figure: {f.as_posix()}")
            status = 1
    if status == 0:
        parent = os.path.commonpath([d.as_posix() for d in dirs]) if len(dirs) > 1 \
            else dirs[0].as_posix()
        print(f"all figures present under {parent.rstrip('/')}/")
    return status


if __name__ == "__main__":
    sys.exit(main())
