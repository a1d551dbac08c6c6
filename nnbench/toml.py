"""TOML text <-> plain data: the reader with one-line errors and a small writer.

Knows nothing of experiments: :mod:`nnbench.config` turns the data into an
:class:`~nnbench.config.ExperimentConfig` (``load_toml``) and back (``dump_toml``).
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Mapping
from typing import Any

from nnbench.core.errors import NNBenchError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def parse_toml(text: str, source: str = "<string>") -> dict[str, Any]:
    """TOML text as a dict (tomllib, or its backport tomli on Python 3.10); malformed text
    raises NNBenchError naming ``source`` and the line."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        msg = str(e)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        where = f"{source}:{m.group(1)}" if m else source
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", msg)
        raise NNBenchError(f"{where}: malformed TOML: {msg}") from None


def line_of(text: str, key: str) -> int | None:
    """The line (from 1) where TOML ``text`` sets ``key`` or opens table ``[key]``, to
    locate an error about that key; ``None`` if it does not."""
    pat = re.compile(r'^\s*(?:"?' + re.escape(key) + r'"?)\s*=')
    for i, line in enumerate(text.splitlines(), 1):
        if pat.match(line):
            return i
    head = re.compile(r"^\s*\[\s*" + re.escape(key) + r"\s*\]")
    for i, line in enumerate(text.splitlines(), 1):
        if head.match(line):
            return i
    return None


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_key(k: str) -> str:
    return k if _BARE_KEY.match(k) else json.dumps(k)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{" + ", ".join(f"{_toml_key(str(k))} = {_toml_value(x)}"
                               for k, x in v.items()) + "}"
    if hasattr(v, "item"):  # numpy scalars
        return _toml_value(v.item())
    raise NNBenchError(f"cannot write {v!r} ({type(v).__name__}) to TOML")


def to_toml(data: Mapping[str, Any]) -> str:
    """A small TOML writer: strings, numbers, bools, arrays and (nested) tables.

    Scalars and arrays first, then one ``[table]`` per mapping value.
    """
    lines: list[str] = []
    tables: list[tuple[str, Mapping[str, Any]]] = []

    def emit(prefix: str, d: Mapping[str, Any]) -> None:
        for k, v in d.items():
            if v is None:
                continue
            if isinstance(v, Mapping):
                tables.append((f"{prefix}{_toml_key(str(k))}", v))
            else:
                lines.append(f"{_toml_key(str(k))} = {_toml_value(v)}")

    emit("", data)
    while tables:
        name, d = tables.pop(0)
        lines.append("")
        lines.append(f"[{name}]")
        before = len(tables)
        emit(f"{name}.", d)
        # nested tables of this one come right after it
        tables[:] = tables[before:] + tables[:before]
    return "\n".join(lines) + "\n"
