"""report.md and report.html of a synthetic results directory."""

from __future__ import annotations

import base64
import re

import numpy as np
import pytest
from test_plots import write_results

from nnbench.core.errors import NNBenchError
from nnbench.report import write_report


@pytest.fixture
def results(tmp_path):
    d, truth = write_results(tmp_path / "exp", diverged={("adam", 0.1, 1)})
    (d / "config.toml").write_text('name = "a <b> & c"\ntask = "sin"\noptims = ["sgd", "adam"]\n')
    return d, truth


def test_markdown(results):
    d, truth = results
    md_path, html_path = write_report(d)
    assert md_path == d / "report.md" and html_path == d / "report.html"
    md = md_path.read_text()
    assert 'optims = ["sgd", "adam"]' in md  # the configuration, verbatim
    assert "nnbench compare" in md  # the command from meta.json
    assert f"| numpy | {np.__version__} |" in md  # versions
    # every figure linked by a relative path that exists
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert "figures/loss.png" in links and "figures/lr_sensitivity.png" in links
    for link in links:
        assert not link.startswith("/") and (d / link).is_file()
    # the summary: sgd at lr 0.1, mean over its three seeds of the final loss
    finals = [y[-1] for cfg, y in truth.values() if cfg["optimizer"] == "sgd"
              and cfg["lr"] == 0.1]
    row = next(line for line in md.splitlines() if line.startswith("| sgd | 0.1 |"))
    assert f"{np.mean(finals):.4g} ± {np.std(finals, ddof=1):.2g}" in row
    # adam at 0.1: one diverged seed, counted in the last column
    row = next(line for line in md.splitlines() if line.startswith("| adam | 0.1 |"))
    assert row.rstrip(" |").endswith("1")
    assert "best lr for sgd: 0.1" in md and "best lr for adam: 0.01" in md


def test_html_is_self_contained(results):
    d, _ = results
    _, html_path = write_report(d)
    text = html_path.read_text()
    assert text.startswith("<!DOCTYPE html>")
    uris = re.findall(r'src="data:image/png;base64,([^"]+)"', text)
    pngs = sorted((d / "figures").glob("*.png"))
    assert len(uris) == len(pngs) >= 2
    assert {base64.b64decode(u) for u in uris} == {p.read_bytes() for p in pngs}
    assert not re.search(r'src="(?!data:)', text)  # nothing fetched from elsewhere
    assert "a &lt;b&gt; &amp; c" in text and "a <b> & c" not in text


def test_draws_missing_figures_and_rejects_non_results(results, tmp_path):
    d, _ = results
    assert not (d / "figures").exists()
    write_report(d)
    assert (d / "figures" / "loss.png").stat().st_size > 0
    with pytest.raises(NNBenchError, match="no runs.csv"):
        write_report(tmp_path)
