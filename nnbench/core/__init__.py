"""The numerical core: NumPy only, no I/O."""
