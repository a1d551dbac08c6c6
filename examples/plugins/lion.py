"""Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms") as a plugin:
nnbench compare --plugin examples/plugins/lion.py --optims adam,lion --task sin-small"""

import numpy as np

import nnbench
from nnbench.core.optimizers import Optimizer, per_run
from nnbench.core.optimizers.constraints import BETAS, NON_NEGATIVE


@nnbench.register_optimizer("lion", description="Lion: the sign of a momentum mix, "
                            "decoupled weight decay (Chen et al. 2023)")
class Lion(Optimizer):
    """c = b1 m + (1 - b1) g;  theta -= lr (sign(c) + wd theta);  m = b2 m + (1 - b2) g"""

    _parameter_constraints = {"betas": BETAS, "weight_decay": NON_NEGATIVE}

    def __init__(self, lr=1e-3, betas=(0.9, 0.99), weight_decay=0.0):
        super().__init__(lr=lr, betas=betas, weight_decay=weight_decay)

    def _init(self, params):
        return [np.zeros_like(p) for p in params]  # m, one per parameter

    def _update(self, params, grads, m, lr):
        (b1, b2), wd = self.betas, self.weight_decay
        for p, g, mi in zip(params, grads, m, strict=True):
            c = per_run(b1, p) * mi + per_run(1 - np.asarray(b1), p) * g
            p -= per_run(lr, p) * (np.sign(c) + per_run(wd, p) * p)
            mi *= per_run(b2, p)
            mi += per_run(1 - np.asarray(b2), p) * g
