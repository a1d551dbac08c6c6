"""The IDX file format (MNIST, Fashion-MNIST): a validating reader and the download.

An IDX file is a header and raw big-endian data::

    bytes 0-1   0x00 0x00
    byte  2     dtype code: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                0x0D float32, 0x0E float64
    byte  3     number of dimensions d
    4*d bytes   the dimensions, big-endian uint32
    the rest    prod(dims) items of that dtype, big-endian, row-major

Files may be gzipped (recognised by their first two bytes, ``1f 8b``). Every way a
file can be wrong (truncated header, bad magic number, unknown dtype code, data
size not matching the dimensions, bad gzip stream) raises a one-line
:class:`~nnbench.core.errors.NNBenchError` naming the file and the problem.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import struct
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from nnbench.core.errors import NNBenchError, UnknownNameError
from nnbench.tasks.cache import atomic_write_bytes, cache_dir, sha256_file

IDX_DTYPES: dict[int, str] = {
    0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8",
}

GZIP_MAGIC = b"\x1f\x8b"


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """The array stored in the (uncompressed) IDX bytes ``data``, in native byte order."""
    n = len(data)
    if n < 4:
        raise NNBenchError(f"{name}: truncated IDX header ({n} bytes, need at least 4)")
    if data[0] != 0 or data[1] != 0:
        magic = int.from_bytes(data[:4], "big")
        raise NNBenchError(f"{name}: bad IDX magic number 0x{magic:08x}; "
                           "an IDX file starts with two zero bytes")
    code, ndim = data[2], data[3]
    if code not in IDX_DTYPES:
        valid = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise NNBenchError(f"{name}: unknown IDX dtype code 0x{code:02X}; valid: {valid}")
    if ndim == 0:
        raise NNBenchError(f"{name}: IDX file with 0 dimensions; need at least 1")
    header = 4 + 4 * ndim
    if n < header:
        raise NNBenchError(f"{name}: truncated IDX header ({n} bytes, "
                           f"{ndim} dimensions need {header})")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    dtype = np.dtype(IDX_DTYPES[code])
    count = math.prod(dims)
    need = count * dtype.itemsize
    have = n - header
    if have != need:
        what = "truncated" if have < need else "trailing bytes"
        raise NNBenchError(f"{name}: {what}: dimensions {tuple(dims)} of {dtype.name} need "
                           f"{need} data bytes, the file has {have}")
    arr = np.frombuffer(data, dtype=dtype, count=count, offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="))


def decode_idx(raw: bytes, name: str = "<bytes>") -> np.ndarray:
    """The array in IDX bytes ``raw``, gunzipped first if they start with ``1f 8b``."""
    if raw[:2] == GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise NNBenchError(f"{name}: truncated or corrupt gzip data ({e})") from None
    return parse_idx(raw, name)


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file, gzipped or not (see :func:`parse_idx`)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise NNBenchError(f"{path}: cannot read ({e.strerror or e})") from None
    return decode_idx(raw, str(path))


def idx_shape(path: Path) -> tuple[int, ...] | None:
    """The dimensions in an IDX file's header, gzipped or not, reading only the header
    (``None`` when it is not a readable IDX header: :func:`read_idx` then says why)."""
    try:
        with open(path, "rb") as f:
            gz = f.read(2) == GZIP_MAGIC
        with (gzip.open(path, "rb") if gz else open(path, "rb")) as f:
            head = f.read(4)
            if len(head) < 4 or head[:2] != b"\0\0" or head[3] == 0:
                return None
            dims = f.read(4 * head[3])
            if len(dims) < 4 * head[3]:
                return None
            return struct.unpack(f">{head[3]}I", dims)
    except (OSError, EOFError, zlib.error):
        return None


# -- MNIST and Fashion-MNIST ---------------------------------------------------

FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

SOURCES: dict[str, dict] = {
    "mnist": {
        "urls": ["https://ossci-datasets.s3.amazonaws.com/mnist/",
                 "https://storage.googleapis.com/cvdf-datasets/mnist/"],
        "sha256": {
            "train-images-idx3-ubyte.gz":
                "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "train-labels-idx1-ubyte.gz":
                "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "t10k-images-idx3-ubyte.gz":
                "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "t10k-labels-idx1-ubyte.gz":
                "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        },
    },
    "fashion-mnist": {
        "urls": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
        "sha256": {
            "train-images-idx3-ubyte.gz":
                "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            "train-labels-idx1-ubyte.gz":
                "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            "t10k-images-idx3-ubyte.gz":
                "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            "t10k-labels-idx1-ubyte.gz":
                "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        },
    },
}


def _source(name: str) -> dict:
    if name not in SOURCES:
        raise UnknownNameError("data set", name, SOURCES)
    return SOURCES[name]


def default_dir(name: str) -> Path:
    """Where ``fetch`` puts data set ``name``: ``cache_dir() / name``."""
    _source(name)
    return cache_dir() / name


def fetch(name: str, dest: Path | None = None, urls: Sequence[str] | None = None,
          sha256: dict[str, str] | None = None,
          opener: Callable | None = None, timeout: float = 60.0) -> list[Path]:
    """Download the four gzipped IDX files of ``name`` into ``dest`` (default: the cache).

    Each file is tried from each base URL in turn, its SHA-256 checked against the
    known checksum and written atomically; a file already present with the right
    checksum is kept. ``urls``/``sha256``/``opener`` (default
    ``urllib.request.urlopen``) override the sources, for mirrors and tests.
    Returns the paths. Raises NNBenchError if no source gives the right bytes.
    """
    src = _source(name)
    dest = Path(dest) if dest is not None else default_dir(name)
    urls = list(urls) if urls is not None else src["urls"]
    sums = dict(sha256) if sha256 is not None else src["sha256"]
    opener = opener or urllib.request.urlopen
    paths = []
    for base in FILES.values():
        fname = base + ".gz"
        path = dest / fname
        want = sums[fname]
        if path.exists() and sha256_file(path) == want:
            paths.append(path)
            continue
        problems = []
        for url in urls:
            full = url.rstrip("/") + "/" + fname
            try:
                with opener(full, timeout=timeout) as r:
                    data = r.read()
            except (urllib.error.URLError, OSError, ValueError) as e:
                problems.append(f"{full}: {getattr(e, 'reason', e)}")
                continue
            got = hashlib.sha256(data).hexdigest()
            if got != want:
                problems.append(f"{full}: SHA-256 {got[:12]}... is not the expected "
                                f"{want[:12]}...")
                continue
            atomic_write_bytes(path, data)
            paths.append(path)
            break
        else:
            raise NNBenchError(f"could not fetch {name} file {fname}: {'; '.join(problems)}")
    return paths


def find_files(name: str, data_dir: Path | None) -> dict[str, Path]:
    """The four IDX files of ``name`` in ``data_dir`` (or the cache), ``.gz`` or not."""
    d = Path(data_dir).expanduser() if data_dir is not None else default_dir(name)
    found = {}
    for key, base in FILES.items():
        for cand in (d / (base + ".gz"), d / base):
            if cand.is_file():
                found[key] = cand
                break
        else:
            raise NNBenchError(
                f"{name}: no {base}[.gz] in {d}; run 'nnbench data fetch {name}' "
                "or give the directory that holds the files (data_dir, --data-dir)")
    return found


def load_idx_dataset(name: str, data_dir: Path | None = None, n_classes: int = 10):
    """``(X_train, y_train, X_test, y_test)`` of MNIST-like IDX files, validated.

    Images must be ``(n, rows, cols)`` uint8 and labels ``(n,)`` uint8 in
    ``0..n_classes-1`` with as many labels as images. Files in the cache are checked
    against their known SHA-256. Returns images flattened to ``(n, rows*cols)``
    uint8 and labels int64.
    """
    files = find_files(name, data_dir)
    sums = _source(name)["sha256"]
    if data_dir is None:
        for p in files.values():
            if p.name in sums and sha256_file(p) != sums[p.name]:
                raise NNBenchError(f"{p}: SHA-256 does not match the known checksum; delete "
                                   f"it and run 'nnbench data fetch {name}'")
    out = []
    for part in ("train", "test"):
        ip, lp = files[f"{part}_images"], files[f"{part}_labels"]
        images, labels = read_idx(ip), read_idx(lp)
        if images.ndim != 3 or images.dtype != np.uint8:
            raise NNBenchError(f"{ip}: expected uint8 images of shape (n, rows, cols), "
                               f"got {images.dtype} {images.shape}")
        if labels.ndim != 1 or labels.dtype != np.uint8:
            raise NNBenchError(f"{lp}: expected uint8 labels of shape (n,), "
                               f"got {labels.dtype} {labels.shape}")
        if len(labels) != len(images):
            raise NNBenchError(f"{lp}: {len(labels)} labels for {len(images)} images in {ip}")
        if len(labels) and int(labels.max()) >= n_classes:
            raise NNBenchError(f"{lp}: label {int(labels.max())} out of range "
                               f"0..{n_classes - 1}")
        out += [images.reshape(len(images), -1), labels.astype(np.int64)]
    return tuple(out)
