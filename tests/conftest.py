"""The suite tests the NumPy reference path unless a test asks for a backend: the compiled
kernels have their own tests (test_kernels.py, test_backend.py, which name the backend),
and a cold kernel cache would add its one-time compile line to the CLI's output. The run
cache is bypassed the same way."""

import os

os.environ["NNBENCH_BACKEND"] = "numpy"
# nor does it read or write the run cache: a test that means to gives NNBENCH_NO_CACHE=0 and a
# --cache-dir of its own (never the user's cache)
os.environ["NNBENCH_NO_CACHE"] = "1"
