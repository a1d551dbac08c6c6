"""The suite tests the NumPy reference path unless a test asks for a backend: the compiled
kernels have their own tests (test_kernels.py, test_backend.py, which name the backend),
and a cold kernel cache would add its one-time compile line to the CLI's output."""

import os

os.environ["NNBENCH_BACKEND"] = "numpy"
