"""Calibration data for the compression passes, and running a graph over many inputs.

    xs = load_calibration("photos/", graph)          # folder of images, .npz/.npy, or arrays
    xs = photo_inputs(meta["preprocess"], 300)       # real photos, cropped/flipped/scaled
    logits = run_outputs(graph, xs)                  # [N, ...] first output, wasm runtime

Every calibration sample is one batch-1 input of the model's input shape. Bad data raises
`InputError` naming the file or sample at fault.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .errors import InputError
from .ir import Graph


def _input_shape(graph: Graph) -> tuple[str, tuple[int, ...]]:
    if len(graph.inputs) != 1:
        raise InputError(f"calibration data supports single-input models; this one has "
                         f"{len(graph.inputs)} inputs ({', '.join(graph.inputs)})")
    name = graph.inputs[0]
    return name, tuple(graph.tensors[name].shape)


def _as_sample(a, shape: tuple[int, ...], what: str) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype == object or not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
        raise InputError(f"{what}: dtype {a.dtype}; expected numbers")
    if a.shape == shape[1:]:
        a = a[None]
    if a.shape != shape:
        raise InputError(f"{what} has shape {a.shape}; the model's input expects {shape} "
                         f"(or {shape[1:]} per sample)")
    if not np.all(np.isfinite(a)):
        raise InputError(f"{what} holds NaN or infinite values")
    return np.ascontiguousarray(a, dtype=np.float32)


def _split_batch(a: np.ndarray, shape: tuple[int, ...], what: str) -> list[np.ndarray]:
    """An array of N samples: [N, *shape[1:]] (or one sample of the input's shape)."""
    if a.ndim == len(shape) and a.shape[1:] == shape[1:]:
        return [_as_sample(a[i:i + 1], shape, f"{what}[{i}]") for i in range(a.shape[0])]
    if a.ndim == len(shape) + 1 and a.shape[1:] == shape:
        return [_as_sample(a[i], shape, f"{what}[{i}]") for i in range(a.shape[0])]
    raise InputError(f"{what} has shape {a.shape}; expected N samples of {shape[1:]}, "
                     f"i.e. [N, {', '.join(map(str, shape[1:]))}]")


_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}


def _load_folder(folder: Path, graph: Graph, shape, limit) -> list[np.ndarray]:
    from .images import preprocess
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
        out.append(_as_sample(x, shape, str(path)))
    return out


def load_calibration(calib, graph: Graph, limit: int | None = None) -> list[np.ndarray]:
    """Calibration samples for `graph` (single input) as a list of batch-1 float32 arrays.

    `calib`: a folder of images (preprocessed per the model's `preprocess` metadata), an `.npz`
    (the array named like the input, or its only array) or `.npy` holding [N, ...], one
    ndarray [N, ...], or an iterable of arrays of the input's shape (with or without the
    batch axis)."""
    name, shape = _input_shape(graph)
    if isinstance(calib, (str, os.PathLike)):
        path = Path(calib)
        if path.is_dir():
            samples = _load_folder(path, graph, shape, limit)
        elif not path.exists():
            raise InputError(f"calibration data {path}: no such file or folder")
        elif path.suffix == ".npy":
            samples = _split_batch(_np_load(path), shape, str(path))
        elif path.suffix == ".npz":
            samples = _split_batch(_npz_array(path, name), shape, str(path))
        else:
            raise InputError(f"calibration data {path}: expected a folder of images, an .npz or an .npy")
    elif isinstance(calib, np.ndarray):
        samples = _split_batch(calib, shape, "calibration array")
    else:
        try:
            items = iter(calib)
        except TypeError:
            raise InputError(f"calibration data of type {type(calib).__name__}: expected a folder, "
                             ".npz/.npy path, an array or an iterable of arrays") from None
        samples = []
        for i, a in enumerate(items):
            if limit is not None and i >= limit:
                break
            samples.append(_as_sample(a, shape, f"calibration sample {i}"))
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
    from PIL import Image
    from .images import sample_images
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
    from .images import preprocess
    return np.concatenate([preprocess(img, pre)[0] for img in augment_photos(n, seed)])


def run_outputs(model, inputs, progress=None) -> np.ndarray:
    """Runs `model` (a Graph, `.sgm` bytes or path) in the wasm runtime on each batch-1 input;
    returns the first output of every run stacked: [N, ...]."""
    from .runtime import Session
    if isinstance(model, Graph):
        from .format.writer import model_bytes
        model = model_bytes(model)
    if isinstance(inputs, np.ndarray):  # [N, ...] -> N batch-1 arrays
        inputs = [inputs[i:i + 1] for i in range(len(inputs))]
    with Session(model) as sess:
        name = sess.outputs[0]["name"]
        return np.concatenate([np.asarray(sess.run(x)[name]) for x in (progress(inputs) if progress else inputs)])


def top1_agreement(reference: np.ndarray, outputs: np.ndarray, mask=None) -> float:
    """Fraction of samples whose top-1 class equals the reference's (optionally on `mask`)."""
    ref, out = reference.reshape(len(reference), -1), outputs.reshape(len(outputs), -1)
    same = ref.argmax(axis=1) == out.argmax(axis=1)
    if mask is not None:
        same = same[np.asarray(mask, bool)]
    return float(same.mean()) if same.size else float("nan")


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits.reshape(len(logits), -1).astype(np.float64)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
