"""One writer at a time: the lock file of a results directory (stale locks of dead
processes taken over)."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from nnbench.core.errors import NNBenchError
from nnbench.store.files import print_warning, utc_now

LOCK = ".nnbench.lock"
_held: dict[Path, list] = {}  # directories this process holds: [count, token, created]


class DirectoryInUse(NNBenchError):
    """Another nnbench process is writing the results directory."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    except OSError:
        return False
    return True


def _read_lock(f: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(f.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _started(holder: dict[str, Any]) -> str:
    """The holder's start time as local HH:MM:SS."""
    try:
        t = datetime.strptime(str(holder.get("start_time")), "%Y-%m-%dT%H:%M:%SZ")
        return t.replace(tzinfo=timezone.utc).astimezone().strftime("%H:%M:%S")
    except ValueError:
        return "at an unknown time"


def _in_use(path: Path, holder: dict[str, Any]) -> DirectoryInUse:
    host = holder.get("host")
    where = "" if host in (None, platform.node()) else f" on {host}"
    return DirectoryInUse(
        f"{path} is in use by nnbench pid {holder.get('pid', '?')}{where} "
        f"({holder.get('command') or '?'}, started {_started(holder)}); wait for it or "
        f"remove {path / LOCK} if that process is gone")


def _stale(holder: dict[str, Any]) -> bool:
    """A lock of this host whose process is gone (an unreadable lock is not stale: it may
    be being written)."""
    pid = holder.get("pid")
    return (holder.get("host") == platform.node() and isinstance(pid, int)
            and pid > 0 and not _pid_alive(pid))


def acquire_lock(path: Path, command: str, warn: Any = None) -> None:
    """Take the lock of the results directory ``path`` (made if missing) for ``command``:
    ``path/.nnbench.lock``, created atomically (``O_CREAT | O_EXCL``), holding this
    process's pid, host, start time and command. Held by another live process:
    :class:`DirectoryInUse` naming it. Left by a dead process of this host: taken over,
    saying so through ``warn`` (a function of one line; stderr by default). A process
    may take a lock it holds again (counted); :func:`release_lock` gives it back."""
    path = Path(path)
    key = path.resolve()
    if key in _held:
        _held[key][0] += 1
        return
    if path.exists() and not path.is_dir():
        raise NNBenchError(f"{path} is a file; give a directory for the results")
    created = None
    if not path.is_dir():
        missing = [path, *(p for p in path.parents if not p.exists())]
        path.mkdir(parents=True, exist_ok=True)
        created = missing[-1]
    token = f"{os.getpid()}-{time.monotonic_ns()}"
    doc = {"pid": os.getpid(), "host": platform.node(), "start_time": utc_now(),
           "command": command, "argv": list(sys.argv), "token": token}
    f = path / LOCK
    try:
        for _ in range(5):
            try:
                fd = os.open(f, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                holder = _read_lock(f)
                if holder is None:  # released meanwhile
                    continue
                if not holder:  # being written this instant, or damaged: look again
                    time.sleep(0.1)
                    holder = _read_lock(f)
                    if holder is None:
                        continue
                if not _stale(holder):
                    raise _in_use(path, holder) from None
                if _take_over(f, holder):
                    (warn or print_warning)(
                        f"{path}: took over the lock of nnbench pid {holder['pid']} "
                        f"({holder.get('command') or '?'}, started {_started(holder)}), "
                        "which is no longer running")
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(json.dumps(doc) + "\n")
            _held[key] = [1, token, created]
            return
        raise _in_use(path, _read_lock(f) or {})
    except BaseException:
        if created is not None and key not in _held:
            _remove_empty(path, created)
        raise


def _take_over(f: Path, holder: dict[str, Any]) -> bool:
    """Move the stale lock ``holder`` out of the way; ``False`` when another process took
    it over first (the lock then is theirs, and is put back)."""
    aside = f.with_name(f"{LOCK}.{os.getpid()}.stale")
    try:
        os.rename(f, aside)
    except FileNotFoundError:
        return False
    if _read_lock(aside) != holder:  # a fresh lock, not the stale one: give it back
        try:
            os.link(aside, f)
        except FileExistsError:
            pass
        aside.unlink(missing_ok=True)
        return False
    aside.unlink(missing_ok=True)
    return True


def _remove_empty(path: Path, top: Path) -> None:
    """Remove ``path`` and its parents up to ``top`` while they are empty (directories
    this process made and wrote nothing into)."""
    p = path
    while True:
        try:
            p.rmdir()
        except OSError:
            return
        if p == top or top not in p.parents:
            return
        p = p.parent


def release_lock(path: Path) -> None:
    """Give back the lock of :func:`acquire_lock` (the file is removed when the last
    acquisition of this process is released, and only if it is still this process's)."""
    key = Path(path).resolve()
    entry = _held.get(key)
    if entry is None:
        return
    entry[0] -= 1
    if entry[0] > 0:
        return
    del _held[key]
    f = Path(path) / LOCK
    holder = _read_lock(f)
    if holder and holder.get("token") == entry[1]:
        f.unlink(missing_ok=True)
    if entry[2] is not None:
        _remove_empty(Path(path), entry[2])


@contextmanager
def locked(path: Path, command: str) -> Iterator[Path]:
    """:func:`acquire_lock` for the length of a ``with`` block; the lock goes at its end,
    also on an exception or Ctrl-C."""
    acquire_lock(path, command)
    try:
        yield Path(path)
    finally:
        release_lock(path)


# --------------------------------------------------------------------------- #
# writing
