"""Calibration data for the compression passes, from files, folders or arrays.

    xs = load_calibration("photos/", graph)          # folder of images, .npz/.npy, or arrays
    xs = photo_inputs(meta["preprocess"], 300)       # real photos, cropped/flipped/scaled

Every calibration sample is one input of the model's input shape (arrays go through
`feeds.as_samples`, the one place that shapes them). Bad data raises `InputError` naming the
file or sample at fault.
"""
from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import InputError
from ..feeds import as_samples
from ..ir import Graph
from ..vision.images import preprocess, sample_images

_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}


def _load_folder(folder: Path, graph: Graph, limit) -> list[np.ndarray]:
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise InputError(f"calibration folder {folder} is empty (expected image files)")
    pre = graph.metadata.get("preprocess")
    if not pre:
        raise InputError(f"calibration folder {folder}: the model has no 'preprocess' metadata to turn "
                         "images into inputs; pass an .npz of preprocessed arrays instead")
    out = []
    for path in files[:limit]:
        if path.suffix.lower() not in _IMAGE_SUFFIXES:
            raise InputError(f"calibration file {path} is not an image (suffix {path.suffix or 'none'}; "
                             f"expected one of {', '.join(sorted(_IMAGE_SUFFIXES))})")
        x, _ = preprocess(path, pre)  # raises InputError naming the file when unreadable
        out.extend(as_samples(graph, [x], str(path)))
    return out


def load_calibration(calib, graph: Graph, limit: int | None = None) -> list[np.ndarray]:
    """Calibration samples for `graph` (single input) as a list of batch-1 float32 arrays.

    `calib`: a folder of images (preprocessed per the model's `preprocess` metadata), an `.npz`
    (the array named like the input, or its only array) or `.npy` holding [N, ...], one
    ndarray [N, ...], or an iterable of arrays of the input's shape (with or without the
    batch axis)."""
    if len(graph.inputs) != 1:
        raise InputError(f"calibration data supports single-input models; this one has "
                         f"{len(graph.inputs)} inputs ({', '.join(graph.inputs)})")
    name = graph.inputs[0]
    if isinstance(calib, (str, os.PathLike)):
        path = Path(calib)
        if path.is_dir():
            samples = _load_folder(path, graph, limit)
        elif not path.exists():
            raise InputError(f"calibration data {path}: no such file or folder")
        elif path.suffix == ".npy":
            samples = as_samples(graph, _np_load(path), str(path))
        elif path.suffix == ".npz":
            samples = as_samples(graph, _npz_array(path, name), str(path))
        else:
            raise InputError(f"calibration data {path}: expected a folder of images, an .npz or an .npy")
    elif isinstance(calib, np.ndarray):
        samples = as_samples(graph, calib, "calibration array")
    else:
        try:
            items = iter(calib)
        except TypeError:
            raise InputError(f"calibration data of type {type(calib).__name__}: expected a folder, "
                             ".npz/.npy path, an array or an iterable of arrays") from None
        samples = as_samples(graph, itertools.islice(items, limit), "calibration data", "calibration sample {}")
    samples = samples[:limit]
    if not samples:
        raise InputError("calibration data is empty")
    return samples


def _np_load(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except Exception as e:
        raise InputError(f"{path}: not a readable .npy file ({type(e).__name__}: {e})") from e


def _npz_array(path: Path, name: str) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as z:
            keys = list(z.keys())
            if name in keys:
                return z[name]
            if len(keys) == 1:
                return z[keys[0]]
    except Exception as e:
        raise InputError(f"{path}: not a readable .npz file ({type(e).__name__}: {e})") from e
    raise InputError(f"{path}: holds arrays {keys}; name one '{name}' (the model's input) or keep only one")


def augment_photos(n: int, seed: int = 0, photos: dict | None = None) -> list[np.ndarray]:
    """`n` real photos (scikit-image's, via `images.sample_images`) each randomly scaled
    (0.5–1×), cropped (30–100% of the area, aspect 3:4–4:3) and flipped. H x W x 3 uint8."""
    photos = sample_images() if photos is None else photos
    names = sorted(photos)
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        img = photos[names[k % len(names)]]
        h, w = img.shape[:2]
        s = rng.uniform(0.5, 1.0)
        img = np.asarray(Image.fromarray(img).resize((max(8, round(w * s)), max(8, round(h * s))),
                                                     Image.BILINEAR))
        h, w = img.shape[:2]
        area, aspect = rng.uniform(0.3, 1.0) * h * w, np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
        ch = int(min(h, round(np.sqrt(area / aspect))))
        cw = int(min(w, round(np.sqrt(area * aspect))))
        y, x = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
        img = img[y:y + ch, x:x + cw]
        if rng.random() < 0.5:
            img = img[:, ::-1]
        out.append(np.ascontiguousarray(img))
    return out


def photo_inputs(pre: dict, n: int, seed: int = 0) -> np.ndarray:
    """`augment_photos(n, seed)` preprocessed per a model's `preprocess` metadata: [n, ...]."""
    return np.concatenate([preprocess(img, pre)[0] for img in augment_photos(n, seed)])
