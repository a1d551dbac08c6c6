"""nnbench: optimizer and activation experiments on small neural networks.

The library side::

    import nnbench
    net = nnbench.MLP([1, 100, 1], activation="sigmoid", seed=0)
    opt = nnbench.optimizer("adam", lr=0.005)
    state = opt.init(net.params)
    loss, grads = net.loss_and_grads(X, Y, loss="mse")
    opt.update(net.params, grads, state)

Entries of one's own: ``nnbench.register_optimizer``, ``register_activation``,
``register_task``, ``register_schedule`` (see :mod:`nnbench.plugins`).
"""

__version__ = "0.1.0"

__all__ = ["MLP", "optimizer", "NNBenchError", "__version__", "register_optimizer",
           "register_activation", "register_task", "register_schedule", "load_plugins"]

_PLUGIN_API = ("register_optimizer", "register_activation", "register_task",
               "register_schedule", "load_plugins")


def __getattr__(name):  # lazy, so that `nnbench --help` does not import numpy
    if name == "MLP":
        from nnbench.core.mlp import MLP

        return MLP
    if name == "optimizer":
        from nnbench.core.optimizers import optimizer

        return optimizer
    if name in _PLUGIN_API:
        from nnbench import plugins

        return getattr(plugins, name)
    if name == "NNBenchError":
        from nnbench.core.errors import NNBenchError

        return NNBenchError
    raise AttributeError(f"module 'nnbench' has no attribute {name!r}")
