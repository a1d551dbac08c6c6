"""``python -m nnbench.core.kernels DTYPE KIND``: compile the kernels of one dtype and kind
into the disk cache (the child process of :func:`nnbench.core.kernels.ensure_compiled`)."""

import sys

from nnbench.core.kernels import compile_here

if __name__ == "__main__":
    compile_here(sys.argv[1], sys.argv[2])
