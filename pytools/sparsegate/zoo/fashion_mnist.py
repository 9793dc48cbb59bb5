"""Fashion-MNIST from Debian's `dataset-fashion-mnist` package (IDX files, gzip'ed).

60,000 training and 10,000 test images, 28x28 uint8, white garment on black; labels 0-9.
"""
from __future__ import annotations

import gzip
import json
import os
import pathlib

import numpy as np

from ..errors import SparsegateError

DEFAULT_DIR = pathlib.Path("/usr/share/datasets/fashion-mnist")
LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
          "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
_FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
          "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}


def data_dir() -> pathlib.Path:
    """Where the IDX files live: $SPARSEGATE_FASHION_MNIST or Debian's install path."""
    return pathlib.Path(os.environ.get("SPARSEGATE_FASHION_MNIST", DEFAULT_DIR))


def read_idx(path: pathlib.Path) -> np.ndarray:
    """Read one IDX file (optionally gzip'ed): magic 0x0000 <dtype> <rank>, u32 BE dims, data."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise SparsegateError(f"{path}: not an unsigned-byte IDX file (magic {raw[:4].hex()})")
    rank = raw[3]
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(rank))
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * rank)
    if data.size != int(np.prod(dims)):
        raise SparsegateError(f"{path}: header says {dims} ({int(np.prod(dims))} bytes), "
                              f"file holds {data.size}")
    return data.reshape(dims)


def load(split: str = "test") -> tuple[np.ndarray, np.ndarray]:
    """Return (images N x 28 x 28 uint8, labels N int64) for split 'train' or 'test'."""
    if split not in _FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    folder = data_dir()
    paths = [folder / name for name in _FILES[split]]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise SparsegateError(
            f"Fashion-MNIST files not found: {', '.join(missing)}. Install them with "
            "`apt-get install dataset-fashion-mnist` (or set SPARSEGATE_FASHION_MNIST to a "
            "folder holding the IDX files).")
    images, labels = read_idx(paths[0]), read_idx(paths[1])
    if images.shape[0] != labels.shape[0] or images.shape[1:] != (28, 28):
        raise SparsegateError(f"{folder}: images {images.shape} do not match labels {labels.shape}")
    return images, labels.astype(np.int64)


def load_inputs(split: str = "test") -> tuple[np.ndarray, np.ndarray]:
    """Return (model inputs N x 1 x 28 x 28 float32, labels N) normalized as the zoo's
    fashion_cnn expects (its META preprocess: x = (pixel * scale - mean) / std)."""
    pre = json.loads((pathlib.Path(__file__).parent / "fashion_cnn.json").read_text())["preprocess"]
    images, labels = load(split)
    x = (images.astype(np.float32) * np.float32(pre["scale"]) - np.float32(pre["mean"][0])) / np.float32(pre["std"][0])
    return x[:, None], labels
