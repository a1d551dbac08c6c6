"""The data cache: downloaded archives and generated data sets, checked by hash.

The cache directory is ``$NNBENCH_CACHE`` if set, else ``$XDG_CACHE_HOME/nnbench``,
else ``~/.cache/nnbench``. Generated data are stored as ``.npz`` (read with
``allow_pickle=False``) together with a SHA-256 digest of their arrays, which is
checked on every load; a truncated or corrupt file raises a one-line
:class:`~nnbench.core.errors.NNBenchError` naming the file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from nnbench.core.errors import NNBenchError

DIGEST_KEY = "_sha256"


def cache_dir() -> Path:
    """``$NNBENCH_CACHE``, else ``$XDG_CACHE_HOME/nnbench``, else ``~/.cache/nnbench``."""
    env = os.environ.get("NNBENCH_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "nnbench"


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def arrays_digest(arrays: Mapping[str, np.ndarray]) -> str:
    """SHA-256 over the names, dtypes, shapes and bytes of ``arrays`` (sorted by name)."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def new_file_mode() -> int:
    """The mode ``open`` gives a new file: ``0o666`` less the process's umask (a file from
    ``tempfile.mkstemp`` is ``0o600`` whatever the umask; atomic writes set this instead)."""
    mask = None
    try:  # Linux says it without changing it
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    mask = int(line.split()[1], 8)
                    break
    except (OSError, ValueError):
        mask = None
    if mask is None:
        mask = os.umask(0o022)
        os.umask(mask)
    return 0o666 & ~mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory (with the
    mode of a new file under the umask)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        os.fchmod(fd, new_file_mode())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_arrays(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Save ``arrays`` (no object dtypes) as compressed ``.npz`` with their digest, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".npz")
    os.close(fd)
    try:
        clean = {k: np.asarray(v) for k, v in arrays.items()}
        np.savez_compressed(tmp, **clean, **{DIGEST_KEY: np.array(arrays_digest(clean))})
        os.chmod(tmp, new_file_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    """Load a file written by :func:`save_arrays`, checking its digest.

    Raises NNBenchError (naming the file) if it is truncated, not an ``.npz``, holds
    pickled objects, or its arrays do not match the stored digest.
    """
    path = Path(path)
    hint = "delete it to rebuild"
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise NNBenchError(f"{path}: no such file") from None
    except Exception as e:  # zip, zlib or header damage: all one error
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise NNBenchError(f"{path}: truncated or corrupt data file ({msg}); {hint}") from None
    stored = arrays.pop(DIGEST_KEY, None)
    if stored is None:
        raise NNBenchError(f"{path}: no checksum in the data file; {hint}")
    if str(stored) != arrays_digest(arrays):
        raise NNBenchError(f"{path}: checksum mismatch, the data file is corrupt; {hint}")
    return arrays
