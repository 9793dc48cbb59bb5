"""Training inputs without labels: a folder of images (preprocessed as the model's metadata says)
or arrays (.npy/.npz files holding one input or a batch of them)."""
from __future__ import annotations

import pathlib

import numpy as np

from ..errors import InputError
from ..vision.images import load_image, preprocess as prep

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


def _arrays(path: pathlib.Path) -> list[np.ndarray]:
    if path.suffix == ".npz":
        with np.load(path) as z:
            return [z[k] for k in z.files]
    return [np.load(path)]


def load_inputs(path, input_shape, preprocess: dict | None = None, limit: int | None = None) -> np.ndarray:
    """Returns float32 inputs [N, *input_shape[1:]] from `path`: a .npy/.npz file, or a folder
    of them and/or images (images need `preprocess`, the model's metadata entry)."""
    path = pathlib.Path(path)
    want = tuple(input_shape[1:])
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    if not files:
        raise InputError(f"{path}: no such file, or an empty folder")
    out = []
    for f in files:
        suffix = f.suffix.lower()
        if suffix in (".npy", ".npz"):
            for a in _arrays(f):
                a = np.asarray(a, np.float32)
                if a.shape == want:
                    a = a[None]
                if a.shape[1:] != want:
                    raise InputError(f"{f}: array of shape {a.shape}, the model's input is {tuple(input_shape)}")
                out.append(a)
        elif suffix in IMAGE_SUFFIXES:
            if not preprocess:
                raise InputError(f"{f}: an image, but the model has no preprocessing in its metadata; "
                                 "pass arrays (.npy) instead")
            x, _ = prep(load_image(str(f)), preprocess)
            out.append(np.asarray(x, np.float32).reshape(1, *want))
        if limit and sum(len(a) for a in out) >= limit:
            break
    if not out:
        raise InputError(f"{path}: found no images or .npy/.npz arrays")
    x = np.concatenate(out)
    return x[:limit] if limit else x
