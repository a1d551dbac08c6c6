"""The command line: parses, validates, delegates. Heavy imports stay inside commands.

``nnbench run`` trains one configuration, ``nnbench compare`` a grid of them
(:mod:`~nnbench.cli.train`); ``plot``, ``show``, ``report`` and ``prune`` work on a results
directory afterwards (:mod:`~nnbench.cli.results`); ``list`` shows the names of every
family (:mod:`~nnbench.cli.listing`); ``data`` prepares data sets
(:mod:`~nnbench.cli.data`); ``cache`` shows and clears the run cache
(:mod:`~nnbench.cli.cache`). The app, its one-line errors and the entry point :func:`main`
are in :mod:`~nnbench.cli.app`, the options in :mod:`~nnbench.cli.options`.

Importing this package registers the commands, in the order ``--help`` lists them.
"""

from nnbench.cli.app import EXIT_INTERRUPTED, EXIT_USAGE, _main, app, main

# isort: split
from nnbench.cli import train  # noqa: F401  (run, compare)

# isort: split
from nnbench.cli import results  # noqa: F401  (plot, show, report, prune)

# isort: split
from nnbench.cli import listing  # noqa: F401  (list)

# isort: split
from nnbench.cli import data  # noqa: F401  (data fetch | dir | info)

# isort: split
from nnbench.cli import cache  # noqa: F401  (cache info | clear)

# isort: split
from nnbench.cli import notes  # noqa: F401  (plot-activations, overflow)

# isort: split
from nnbench.cli.options import Output, parse_batch, parse_hp, parse_list

__all__ = ["app", "main", "_main", "EXIT_USAGE", "EXIT_INTERRUPTED", "Output",
           "parse_batch", "parse_hp", "parse_list"]
