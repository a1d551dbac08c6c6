"""The IDX reader, the MNIST-like tasks and the download, on files written here."""

from __future__ import annotations

import gzip
import hashlib
import io
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnbench.core.errors import NNBenchError
from nnbench.tasks import get_task
from nnbench.tasks.idx import FILES, decode_idx, fetch, parse_idx, read_idx

CODES = {np.dtype("u1"): 0x08, np.dtype("i1"): 0x09, np.dtype(">i2"): 0x0B,
         np.dtype(">i4"): 0x0C, np.dtype(">f4"): 0x0D, np.dtype(">f8"): 0x0E}


def idx_bytes(a: np.ndarray) -> bytes:
    """IDX encoding written from the format description (independent of the reader)."""
    dt = a.dtype.newbyteorder(">") if a.dtype.itemsize > 1 else a.dtype
    head = bytes([0, 0, CODES[dt], a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape)
    return head + a.astype(dt).tobytes()


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NNBENCH_CACHE", str(tmp_path / "cache"))


@pytest.mark.parametrize("dtype", ["u1", "i1", "i2", "i4", "f4", "f8"])
@pytest.mark.parametrize("gz", [False, True])
def test_roundtrip_every_dtype(tmp_path, dtype, gz):
    rng = np.random.default_rng(0)
    a = (rng.standard_normal((3, 4, 5)) * 50).astype(dtype)
    data = idx_bytes(a)
    path = tmp_path / ("a.idx.gz" if gz else "a.idx")
    path.write_bytes(gzip.compress(data) if gz else data)
    b = read_idx(path)
    assert b.shape == a.shape and b.dtype == np.dtype(dtype).newbyteorder("=")
    np.testing.assert_array_equal(b, a)


def test_header_errors():
    good = idx_bytes(np.arange(6, dtype=np.uint8).reshape(2, 3))
    cases = {
        b"\x00\x00": "truncated IDX header",
        b"\x01" + good[1:]: "bad IDX magic number 0x01000802",
        good[:2] + b"\x07" + good[3:]: "unknown IDX dtype code 0x07",
        good[:3] + b"\x00": "0 dimensions",
        good[:7]: "truncated IDX header",
        good[:-1]: "truncated: dimensions \\(2, 3\\) of uint8 need 6 data bytes, the file has 5",
        good + b"\x00": "trailing bytes",
    }
    for data, msg in cases.items():
        with pytest.raises(NNBenchError, match=msg):
            parse_idx(data, "x.idx")


def test_corrupt_gzip_names_the_file(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros((2, 2, 2), np.uint8)))[:-6])
    with pytest.raises(NNBenchError, match=r"train-images-idx3-ubyte.gz: truncated or corrupt"):
        read_idx(path)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_fuzz_random_bytes(data):
    try:
        a = parse_idx(data)
    except NNBenchError as e:
        assert "\n" not in str(e)
    else:
        assert a.ndim == data[3]


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10 ** 6), st.booleans(), st.data())
def test_fuzz_truncated_and_flipped_files(seed, gz, draw):
    rng = np.random.default_rng(seed)
    shape = tuple(rng.integers(1, 4, size=rng.integers(1, 4)))
    raw = idx_bytes(rng.integers(0, 255, size=shape).astype(np.uint8))
    data = gzip.compress(raw) if gz else raw
    cut = draw.draw(st.integers(0, len(data)))
    data = bytearray(data[:cut])
    if data and draw.draw(st.booleans()):
        i = draw.draw(st.integers(0, len(data) - 1))
        data[i] ^= draw.draw(st.integers(1, 255))
    try:
        a = decode_idx(bytes(data), "f.idx")
    except NNBenchError as e:  # the only error allowed
        assert "\n" not in str(e) and str(e).startswith("f.idx: ")
        return
    raw = gzip.decompress(bytes(data)) if data[:2] == b"\x1f\x8b" else bytes(data)
    assert a.size * a.itemsize == len(raw) - 4 - 4 * a.ndim


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=80), st.booleans())
def test_fuzz_read_idx_files(tmp_path_factory, data, gz):
    path = tmp_path_factory.mktemp("fuzz") / "f.idx"
    path.write_bytes(gzip.compress(data)[: max(2, len(data))] if gz else data)
    try:
        read_idx(path)
    except NNBenchError as e:
        assert "\n" not in str(e) and "f.idx" in str(e)


# -- MNIST-like tasks from a directory ---------------------------------------------


def write_mnist(d: Path, n_train=30, n_test=10, gz=True, labels_max=9, seed=0) -> dict:
    rng = np.random.default_rng(seed)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28)).astype(np.uint8),
        "train_labels": rng.integers(0, labels_max + 1, n_train).astype(np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28)).astype(np.uint8),
        "test_labels": rng.integers(0, labels_max + 1, n_test).astype(np.uint8),
    }
    d.mkdir(parents=True, exist_ok=True)
    for key, base in FILES.items():
        data = idx_bytes(arrays[key])
        if gz:
            (d / (base + ".gz")).write_bytes(gzip.compress(data))
        else:
            (d / base).write_bytes(data)
    return arrays


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_mnist_task_from_data_dir(tmp_path, name, gz):
    arrays = write_mnist(tmp_path / "m", gz=gz)
    task = get_task(name, data_dir=str(tmp_path / "m"))
    d = task.load(seed=0, val_frac=0.2, dtype="float64")
    assert d.X_train.shape == (24, 784) and d.X_val.shape == (6, 784)
    assert d.X_test.shape == (10, 784) and d.n_classes == 10 and d.n_outputs == 10
    assert d.y_test.dtype == np.int64
    np.testing.assert_array_equal(d.y_test, arrays["test_labels"])
    # pixels scaled to [0, 1], then standardized with training statistics
    raw = arrays["test_images"].reshape(10, -1) / 255.0
    np.testing.assert_allclose(d.X_test * d.std + d.mean, raw, atol=1e-12)
    np.testing.assert_allclose(d.X_train.mean(0), 0, atol=1e-12)
    assert get_task(name, data_dir=str(tmp_path / "m"), n_train=5).load(val_frac=0).X_train.shape \
        == (5, 784)


def test_mnist_validation(tmp_path):
    write_mnist(tmp_path / "a", labels_max=12, seed=1)
    with pytest.raises(NNBenchError, match="label 1[0-2] out of range 0..9"):
        get_task("mnist", data_dir=str(tmp_path / "a")).load()
    write_mnist(tmp_path / "b")
    (tmp_path / "b" / "t10k-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(idx_bytes(np.zeros(3, np.uint8))))
    with pytest.raises(NNBenchError, match="3 labels for 10 images"):
        get_task("mnist", data_dir=str(tmp_path / "b")).load()
    (tmp_path / "b" / "t10k-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(idx_bytes(np.zeros((10, 2), np.uint8))))
    with pytest.raises(NNBenchError, match=r"expected uint8 labels of shape \(n,\)"):
        get_task("mnist", data_dir=str(tmp_path / "b")).load()
    with pytest.raises(NNBenchError, match="nnbench data fetch mnist"):
        get_task("mnist", data_dir=str(tmp_path / "empty")).load()
    with pytest.raises(NNBenchError, match="unknown parameter 'data_dir'"):
        get_task("sin", data_dir=str(tmp_path))


# -- fetch, without the network ------------------------------------------------------


def _sources(tmp_path):
    src = tmp_path / "mirror"
    write_mnist(src)
    sums = {b + ".gz": hashlib.sha256((src / (b + ".gz")).read_bytes()).hexdigest()
            for b in FILES.values()}
    return src, sums


def test_fetch_from_a_file_url_into_the_cache(tmp_path):
    src, sums = _sources(tmp_path)
    paths = fetch("mnist", urls=["file://" + str(src)], sha256=sums)
    assert [p.parent for p in paths] == [tmp_path / "cache" / "mnist"] * 4
    # (loading from the cache would check the real MNIST checksums: see below)
    d = get_task("mnist", data_dir=str(tmp_path / "cache" / "mnist")).load(seed=0)
    assert d.X_test.shape == (10, 784)


def test_fetch_with_an_opener_checks_sha256_and_tries_mirrors(tmp_path):
    src, sums = _sources(tmp_path)
    calls = []

    def opener(url, timeout):
        calls.append(url)
        if url.startswith("https://bad/"):
            return io.BytesIO(b"not the file")
        if url.startswith("https://down/"):
            raise OSError("connection refused")
        return io.BytesIO((src / url.rsplit("/", 1)[1]).read_bytes())

    dest = tmp_path / "dest"
    paths = fetch("fashion-mnist", dest, urls=["https://down/", "https://bad/", "https://ok/"],
                  sha256=sums, opener=opener)
    assert len(calls) == 12 and all(p.exists() for p in paths)
    for p in paths:
        assert hashlib.sha256(p.read_bytes()).hexdigest() == sums[p.name]
    calls.clear()
    fetch("fashion-mnist", dest, urls=["https://ok/"], sha256=sums, opener=opener)
    assert calls == []  # present with the right checksum: kept
    with pytest.raises(NNBenchError, match=r"could not fetch mnist file .*SHA-256.*"
                                           r"connection refused"):
        fetch("mnist", tmp_path / "x", urls=["https://bad/", "https://down/"], sha256=sums,
              opener=opener)
    assert not list((tmp_path / "x").glob("*.gz"))


def test_cache_files_are_checked_against_the_known_checksums(tmp_path):
    from nnbench.tasks.cache import cache_dir

    write_mnist(cache_dir() / "mnist")  # not the real MNIST: checksums differ
    with pytest.raises(NNBenchError, match="SHA-256 does not match"):
        get_task("mnist").load()


def test_data_cli(tmp_path):
    from typer.testing import CliRunner

    from nnbench.cli.data import data_app

    write_mnist(tmp_path / "m")
    r = CliRunner().invoke(data_app, ["info", "mnist", "--data-dir", str(tmp_path / "m")])
    assert r.exit_code == 0 and "test: X (10, 784)" in r.output
    r = CliRunner().invoke(data_app, ["fetch", "mnst"])
    assert r.exit_code == 2 and "did you mean 'mnist'" in r.output
    src = tmp_path / "mirror"
    write_mnist(src)
    r = CliRunner().invoke(data_app, ["fetch", "mnist", "--mirror", "file://" + str(src)])
    assert r.exit_code == 2 and "SHA-256" in r.output  # not the real files
    r = CliRunner().invoke(data_app, ["dir"])
    assert r.exit_code == 0 and r.output.strip() == str(tmp_path / "cache")
