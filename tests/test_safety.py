"""nnbench never deletes or overwrites what it did not write.

``--overwrite`` replaces only a results directory nnbench wrote (its meta.json says so)
and removes only the files nnbench writes there; an empty ``--out`` and a ``--name`` that
is a path are errors.
"""

import json
import os
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nnbench.cli import app
from nnbench.store import is_nnbench_dir, remove_owned_files

runner = CliRunner()
TINY = ["--task", "sin-small", "--steps", "5", "--log-every", "5", "--no-plot", "--quiet"]


def _user_project(root: Path) -> dict[Path, bytes]:
    """A user's directory holding files with the names nnbench uses."""
    files = {
        root / "figures" / "loss.png": b"my own figure",
        root / "weights" / "model.npz": b"my own weights",
        root / "runs.csv": b"my,own\n1,2\n",
        root / "config.toml": b"[tool]\nx = 1\n",
        root / "meta.json": b'{"author": "me"}',
        root / "notes.txt": b"keep me",
    }
    for f, data in files.items():
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(data)
    return files


def _unchanged(files: dict[Path, bytes]) -> bool:
    return all(f.is_file() and f.read_bytes() == data for f, data in files.items())


def test_empty_out_in_a_project_is_refused_and_deletes_nothing(tmp_path):
    files = _user_project(tmp_path)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = runner.invoke(app, ["run", *TINY, "--out", "", "--overwrite"])
    finally:
        os.chdir(cwd)
    assert result.exit_code == 2
    assert "--out" in result.stderr and "empty" in result.stderr
    assert _unchanged(files)


@pytest.mark.parametrize("out", ["", "   "])
def test_blank_out_is_an_error(tmp_path, out):
    result = runner.invoke(app, ["compare", *TINY, "--out", out])
    assert result.exit_code == 2 and "--out" in result.stderr


def test_overwrite_refuses_a_directory_nnbench_did_not_write(tmp_path):
    files = _user_project(tmp_path / "p")
    result = runner.invoke(app, ["run", *TINY, "--out", str(tmp_path / "p"), "--overwrite"])
    assert result.exit_code == 2
    assert "not a results directory nnbench wrote" in result.stderr
    assert _unchanged(files)


def test_overwrite_replaces_only_nnbench_files(tmp_path):
    out = tmp_path / "r"
    assert runner.invoke(app, ["compare", *TINY, "--seeds", "2", "--out", str(out)]
                         ).exit_code == 0
    assert is_nnbench_dir(out)
    old_weights = sorted(p.name for p in (out / "weights").iterdir())
    assert len(old_weights) == 2
    mine = {out / "notes.txt": b"mine", out / "figures" / "sketch.txt": b"mine too",
            out / "weights" / "README": b"keep"}
    for f, data in mine.items():
        f.parent.mkdir(exist_ok=True)
        f.write_bytes(data)
    result = runner.invoke(app, ["run", *TINY, "--out", str(out), "--overwrite"])
    assert result.exit_code == 0, result.output
    assert _unchanged(mine)
    # the second experiment has one run: the first one's second run is gone
    assert len(list((out / "weights").glob("*.npz"))) == 1
    assert json.loads((out / "meta.json").read_text())["status"] == "complete"


def test_remove_owned_files_leaves_the_rest(tmp_path):
    (tmp_path / "figures").mkdir()
    (tmp_path / "weights").mkdir()
    owned = [tmp_path / "runs.csv", tmp_path / "report.html", tmp_path / ".runs.csv.x.tmp",
             tmp_path / "figures" / "loss.svg", tmp_path / "weights" / "a.npz"]
    kept = [tmp_path / "data.csv", tmp_path / "figures" / "notes.md", tmp_path / ".hidden.tmp"]
    for f in owned + kept:
        f.write_text("x")
    removed = remove_owned_files(tmp_path)
    assert sorted(removed) == sorted(owned)
    assert all(f.is_file() for f in kept)
    assert not (tmp_path / "weights").exists()  # emptied, so removed
    assert (tmp_path / "figures").is_dir()  # still holds the user's file


def test_damaged_meta_is_not_nnbench(tmp_path):
    (tmp_path / "meta.json").write_text("{not json")
    assert not is_nnbench_dir(tmp_path)
    (tmp_path / "meta.json").write_text('{"versions": {"numpy": "2"}}')
    assert not is_nnbench_dir(tmp_path)
    (tmp_path / "meta.json").write_text('{"versions": {"nnbench": "0.1"}}')
    assert is_nnbench_dir(tmp_path)


@pytest.mark.parametrize("name", ["../escape", "a/b", "a\\b", ".."])
def test_name_that_is_a_path_is_an_error(tmp_path, name):
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = runner.invoke(app, ["run", *TINY, "--name", name])
    finally:
        os.chdir(cwd)
    assert result.exit_code == 2 and "name" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_config_file_with_blank_out_is_an_error(tmp_path):
    f = tmp_path / "e.toml"
    f.write_text('task = "sin-small"\nsteps = 5\nout = " "\n')
    result = runner.invoke(app, ["compare", "--config", str(f), "--quiet", "--no-plot"])
    assert result.exit_code == 2 and "out" in result.stderr


def test_every_gallery_directory_can_be_redrawn_by_make_figures(tmp_path):
    """The README gallery's committed directories hold a meta.json nnbench recognizes, so
    that `make figures` (compare --out results/NAME --overwrite) replaces their figures
    on a fresh clone instead of refusing."""
    import shutil
    import subprocess


    root = Path(__file__).resolve().parents[1]
    tracked = subprocess.run(["git", "ls-files", "results"], cwd=root, capture_output=True,
                             text=True).stdout.split()
    gallery = sorted({Path(p).parts[1] for p in tracked if "/figures/" in p})
    if not gallery:
        pytest.skip("not a git checkout")
    assert [g for g in gallery if not is_nnbench_dir(root / "results" / g)] == []
    copy = tmp_path / "sin"
    shutil.copytree(root / "results" / gallery[0], copy)
    (copy / "figures" / "mine.txt").write_text("not nnbench's")
    out = subprocess.run([sys.executable, "-m", "nnbench", "run", "--task", "sin-small",
                          "--steps", "5", "--out", str(copy), "--overwrite", "--no-plot",
                          "--quiet"], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "NNBENCH_BACKEND": "numpy"})
    assert out.returncode == 0, out.stderr
    assert (copy / "runs.csv").is_file() and (copy / "figures" / "mine.txt").is_file()
