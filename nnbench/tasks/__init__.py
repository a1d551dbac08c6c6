"""Tasks: data sets and objective landscapes.

``get_task(name, **params)`` builds a task from the :data:`TASKS` registry; every
entry carries a one-line description (ending with its parameters and their
defaults) and the run configuration it suggests (``entry.defaults``).

Data tasks (``kind`` ``"regression"``/``"classification"``) give a
:class:`Dataset` via ``task.load(seed, val_frac, dtype)``; landscape tasks
(``kind`` ``"landscape"``) give ``value``/``grad``/``distance_to_min`` of 2-D
points and a ``model(runs, dtype)`` the engine trains like a network.
"""

# registration order is the order of `nnbench list tasks`
from nnbench.tasks import regression  # noqa: F401

# isort: split
from nnbench.tasks import classification  # noqa: F401

# isort: split
from nnbench.tasks import zero_one  # noqa: F401

# isort: split
from nnbench.tasks import landscapes  # noqa: F401

# isort: split
from nnbench.tasks.base import TASKS, Dataset, DataTask, Task, get_task, task_params

__all__ = ["TASKS", "Task", "DataTask", "Dataset", "get_task", "task_params"]
