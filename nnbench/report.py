"""A self-contained report of one results directory: ``report.md`` and ``report.html``.

Both hold the experiment's configuration (``config.toml``), the summary table (mean and
standard deviation over seeds of every cell, see :mod:`nnbench.summary`), the best
learning rate per optimizer when learning rates were swept, every figure under
``figures/`` and the versions recorded in ``meta.json``. The Markdown links the figures
by relative path; the HTML embeds them as base64 ``data:`` URIs, so the one file can be
mailed or attached to a CI run. Figures are drawn first when the directory has none.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nnbench import summary as sm
from nnbench.plots import FIGURE_NAMES, caption, draw_all, load
from nnbench.store import CONFIG, FIGURES, Results
from nnbench.tune import ranges_of

_IMAGE_TYPES = {".png": "image/png", ".svg": "image/svg+xml"}

_CSS = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto;
       padding: 0 1em; color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
figure { margin: 1.5em 0; }
figcaption { color: #555; font-size: 0.9em; }
"""


def _tables(res: Results, baseline: str | None = None
            ) -> tuple[list[str], list[list[str]], list[str]]:
    """Summary headers and rows, and the lines under them: what the interval is, the
    comparison with the baseline, the best learning rates and the notes (the classic
    models, runs that ended far above their start)."""
    metrics = None if res.metrics.empty else res.metrics
    runs = sm.final_runs(res.runs)  # a tuned experiment: its final seeds
    by = sm.cell_columns(runs)
    table = sm.summarize(runs, metrics, by=by)
    paired = None if baseline is None else sm.compare_to_baseline(runs, baseline, by)
    table = sm.with_baseline(table, paired, by)
    headers, rows = sm.display_rows(table, by)
    best = sm.best_lr(runs)
    lines = sm.best_lr_lines(best) if best is not None else []
    note = sm.interval_note(table)
    return headers, rows, [*([note] if note else []), *sm.cross_lines(
        res.runs, ranges_of(res.config)), *sm.baseline_lines(paired), *lines,
        *sm.notes(runs, metrics)]


def _figures(path: Path) -> list[Path]:
    """The figures under ``figures/`` (drawn first when there is no PNG), one file per
    figure (the PNG where there is one), in the registry's order, others by name."""
    figdir = path / FIGURES
    found = [p for p in sorted(figdir.glob("*")) if p.suffix in _IMAGE_TYPES] \
        if figdir.is_dir() else []
    if not any(p.suffix == ".png" for p in found):
        draw_all(path)
        found = [p for p in sorted(figdir.glob("*")) if p.suffix in _IMAGE_TYPES]
    by_stem: dict[str, Path] = {}
    for p in found:
        if p.stem not in by_stem or p.suffix == ".png":
            by_stem[p.stem] = p

    def rank(stem: str) -> tuple[int, str]:
        return (FIGURE_NAMES.index(stem) if stem in FIGURE_NAMES else len(FIGURE_NAMES),
                stem)

    return [by_stem[s] for s in sorted(by_stem, key=rank)]


def _flatten(d: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out += _flatten(v, key + ".")
        elif isinstance(v, list):
            out.append((key, " ".join(str(x) for x in v)))
        else:
            out.append((key, str(v)))
    return out


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(_md_escape(h) for h in headers) + " |",
             "|" + "|".join(" --- " for _ in headers) + "|"]
    lines += ["| " + " | ".join(_md_escape(c) for c in r) + " |" for r in rows]
    return lines


def _is_num(text: str) -> bool:
    head = text.split(" ")[0].replace("-", "", 1).replace(".", "", 1).replace("e", "", 1)
    return head.replace("+", "").replace("-", "").isdigit()


def _html_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{e(c)}</td>' if _is_num(c) else f"<td>{e(c)}</td>"
                         for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_report(path: str | Path, baseline: str | None = None) -> tuple[Path, Path]:
    """Write ``report.md`` and ``report.html`` into the results directory ``path``;
    ``baseline`` pairs every cell with that one (:func:`nnbench.summary.compare_to_baseline`).

    Returns their paths. Raises NNBenchError if ``path`` holds no ``runs.csv``.
    """
    res = load(path)
    path = res.path
    config_text = ""
    if (path / CONFIG).is_file():  # as it is, even damaged (load has said so)
        config_text = (path / CONFIG).read_bytes().decode("utf-8", errors="replace")
    meta = res.meta
    headers, rows, best = _tables(res, baseline)
    figures = _figures(path)
    title = f"nnbench report: {res.title}"
    command = meta.get("command") or meta.get("argv")
    if isinstance(command, list):
        command = " ".join(str(c) for c in command)
    versions = _flatten(meta.get("versions", {})) if isinstance(meta.get("versions"), dict) \
        else []
    other_meta = [(k, v) for k, v in _flatten(meta)
                  if not k.startswith("versions.") and k not in ("command", "argv")]

    # ---- Markdown
    md = [f"# {title}", ""]
    if command:
        md += ["Made by:", "", "```sh", str(command), "```", ""]
    md += ["## Configuration", "", "```toml", config_text.rstrip() or "# (no config.toml)",
           "```", "", "## Summary", "",
           "Mean ± sample standard deviation over seeds, [lo, hi] the 95% confidence "
           "interval of the mean (Student's t); diverged runs are counted and left out of "
           "the statistics.", ""]
    md += _md_table(headers, rows) + [""]
    if best:
        md += [f"- {line}" for line in best] + [""]
    md += ["## Figures", ""]
    for f in figures:
        rel = f.relative_to(path).as_posix()
        md += [f"### {f.stem.replace('_', ' ')}", "", f"![{caption(f.stem)}]({rel})", "",
               caption(f.stem), ""]
    md += ["## Versions", ""]
    md += _md_table(["field", "value"], versions + other_meta) if versions or other_meta \
        else ["(no meta.json)"]
    md_path = path / "report.md"
    _atomic_write(md_path, "\n".join(md) + "\n")

    # ---- HTML
    e = html.escape
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
             f"<title>{e(title)}</title><style>{_CSS}</style></head><body>",
             f"<h1>{e(title)}</h1>"]
    if command:
        parts.append(f"<p>Made by:</p><pre>{e(str(command))}</pre>")
    parts.append(f"<h2>Configuration</h2><pre>{e(config_text.rstrip())}</pre>")
    parts.append("<h2>Summary</h2><p>Mean ± sample standard deviation over seeds, [lo, hi] "
                 "the 95% confidence interval of the mean (Student's t); diverged runs are "
                 "counted and left out of the statistics.</p>")
    parts.append(_html_table(headers, rows))
    if best:
        parts.append("<ul>" + "".join(f"<li>{e(b)}</li>" for b in best) + "</ul>")
    parts.append("<h2>Figures</h2>")
    for f in figures:
        data = base64.b64encode(f.read_bytes()).decode("ascii")
        uri = f"data:{_IMAGE_TYPES[f.suffix]};base64,{data}"
        parts.append(f"<figure><img src=\"{uri}\" alt=\"{e(caption(f.stem))}\">"
                     f"<figcaption>{e(caption(f.stem))}</figcaption></figure>")
    parts.append("<h2>Versions</h2>")
    parts.append(_html_table(["field", "value"], versions + other_meta) if versions or other_meta
                 else "<p>(no meta.json)</p>")
    parts.append("</body></html>")
    html_path = path / "report.html"
    _atomic_write(html_path, "\n".join(parts) + "\n")
    return md_path, html_path


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
