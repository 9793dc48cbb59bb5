"""Images → model inputs, following a model's META `preprocess` (docs/format.md).

    x, t = preprocess("cat.jpg", meta["preprocess"])   # 1x3x224x224 float32, and a Transform
    boxes = t.to_original(boxes_in_input_pixels)       # back to the photo's pixels

`preprocess` keys: `layout` NCHW|NHWC, `size` [H, W], `color` RGB|BGR|GRAY, `scale`, `mean`,
`std` (x = (pixel * scale - mean[c]) / std[c]), and `resize`:
- `stretch`: resize to H x W, aspect ratio not kept;
- `shorter_center_crop`: resize the shorter side to `resize_shorter` (default size / 0.875,
  i.e. 256 for 224) and cut the centre H x W (classification);
- `letterbox`: fit inside H x W keeping the aspect ratio, centred, borders `pad_value`
  (a pixel value, default 0) (detection).
Resampling is Pillow's bilinear filter on uint8 pixels.
"""
from __future__ import annotations

import io
import os
import pathlib
from dataclasses import dataclass

import numpy as np

from ..errors import InputError

_RESIZE_MODES = ("stretch", "shorter_center_crop", "letterbox")


@dataclass(frozen=True)
class Transform:
    """How original-image pixel coordinates map to model-input pixels, per axis:
    input = original * scale + offset. `width`, `height`: the original image's size."""
    scale_x: float
    scale_y: float
    offset_x: float
    offset_y: float
    width: int
    height: int

    def to_original(self, xy: np.ndarray) -> np.ndarray:
        """Map points (..., 2) or boxes (..., 4) [x1, y1, x2, y2] from input to original pixels."""
        xy = np.asarray(xy, np.float64)
        out = np.empty_like(xy)
        out[..., 0::2] = (xy[..., 0::2] - self.offset_x) / self.scale_x
        out[..., 1::2] = (xy[..., 1::2] - self.offset_y) / self.scale_y
        return out


def _pil():
    from PIL import Image  # Pillow: not in Pyodide, where the runtime path needs no images
    return Image


def load_image(src) -> np.ndarray:
    """Return an H x W x 3 uint8 RGB array from a path, bytes, PIL image or array.

    Arrays may be H x W (gray), H x W x 1, x 3 (RGB) or x 4 (RGBA, alpha dropped); uint8, bool,
    other integers in 0..255, or floats in [0, 1] (scikit-image's convention)."""
    Image = _pil()
    if isinstance(src, (str, os.PathLike)):
        path = pathlib.Path(src)
        if not path.is_file():
            raise InputError(f"{path}: no such image file")
        try:
            with Image.open(path) as im:
                return np.asarray(im.convert("RGB"))
        except Exception as e:  # Pillow raises several kinds for a file it cannot read
            raise InputError(f"{path}: not a readable image ({type(e).__name__}: {e})") from e
    if isinstance(src, (bytes, bytearray, memoryview)):
        try:
            with Image.open(io.BytesIO(bytes(src))) as im:
                return np.asarray(im.convert("RGB"))
        except Exception as e:
            raise InputError(f"bytes ({len(src)}) are not a readable image ({type(e).__name__})") from e
    if isinstance(src, Image.Image):
        return np.asarray(src.convert("RGB"))
    if isinstance(src, np.ndarray) or hasattr(src, "__array__"):
        return _array_to_rgb(np.asarray(src))
    raise InputError(f"cannot read an image from {type(src).__name__}; "
                     "pass a path, bytes, a PIL image or an H x W x 3 array")


def _array_to_rgb(a: np.ndarray) -> np.ndarray:
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim == 2:
        a = np.stack([a] * 3, axis=-1)
    elif a.ndim == 3 and a.shape[2] == 4:
        a = a[:, :, :3]  # alpha dropped; composite it yourself if the background matters
    if a.ndim != 3 or a.shape[2] != 3:
        raise InputError(f"image array has shape {a.shape}; expected H x W, or H x W x C "
                         "with C = 1, 3 or 4")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise InputError(f"image array is empty: shape {a.shape}")
    if a.dtype == np.uint8:
        return np.ascontiguousarray(a)
    if a.dtype == bool:
        return a.astype(np.uint8) * 255
    if np.issubdtype(a.dtype, np.integer):
        if a.min() < 0 or a.max() > 255:
            raise InputError(f"integer image values span {a.min()}..{a.max()}; expected 0..255")
        return a.astype(np.uint8)
    if np.issubdtype(a.dtype, np.floating):
        if not np.all(np.isfinite(a)) or a.min() < 0 or a.max() > 1:
            raise InputError(f"float image values span {a.min():g}..{a.max():g}; "
                             "expected [0, 1] (convert 0..255 data to uint8 first)")
        return np.round(a * 255).astype(np.uint8)
    raise InputError(f"image array has dtype {a.dtype}; expected uint8, integer or float")


def _resize(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    Image = _pil()
    return np.asarray(Image.fromarray(rgb).resize((width, height), Image.BILINEAR))


def _geometry(rgb: np.ndarray, pre: dict) -> tuple[np.ndarray, Transform]:
    """Resize/crop/pad `rgb` to the model's H x W as `pre["resize"]` says."""
    try:
        out_h, out_w = (int(v) for v in pre["size"])
    except (KeyError, TypeError, ValueError) as e:
        raise InputError(f"preprocess needs 'size': [H, W], got {pre.get('size')!r}") from e
    h, w = rgb.shape[:2]
    mode = pre.get("resize", "stretch")
    if mode == "stretch":
        return _resize(rgb, out_w, out_h), Transform(out_w / w, out_h / h, 0.0, 0.0, w, h)
    if mode == "shorter_center_crop":
        shorter = float(pre.get("resize_shorter", round(min(out_h, out_w) / 0.875)))
        # Never smaller than the crop, whatever the aspect ratio.
        r = max(shorter / min(h, w), out_w / w, out_h / h)
        nw, nh = max(out_w, round(w * r)), max(out_h, round(h * r))
        left, top = (nw - out_w) // 2, (nh - out_h) // 2
        crop = _resize(rgb, nw, nh)[top:top + out_h, left:left + out_w]
        return crop, Transform(nw / w, nh / h, -left, -top, w, h)
    if mode == "letterbox":
        r = min(out_w / w, out_h / h)
        nw, nh = max(1, round(w * r)), max(1, round(h * r))
        left, top = (out_w - nw) // 2, (out_h - nh) // 2
        canvas = np.full((out_h, out_w, 3), int(pre.get("pad_value", 0)), np.uint8)
        canvas[top:top + nh, left:left + nw] = _resize(rgb, nw, nh)
        return canvas, Transform(nw / w, nh / h, left, top, w, h)
    raise InputError(f"preprocess resize {mode!r} unknown; expected one of {', '.join(_RESIZE_MODES)}")


def preprocess(image, pre: dict) -> tuple[np.ndarray, Transform]:
    """Turn an image (anything `load_image` takes) into a 1-image float32 batch as the META
    `preprocess` dict `pre` says; also return the `Transform` from original to input pixels."""
    rgb = load_image(image)
    pixels, transform = _geometry(rgb, pre)
    color = pre.get("color", "RGB").upper()
    if color == "GRAY":
        pixels = np.asarray(_pil().fromarray(pixels).convert("L"))[:, :, None]
    elif color == "BGR":
        pixels = pixels[:, :, ::-1]
    elif color != "RGB":
        raise InputError(f"preprocess color {color!r} unknown; expected RGB, BGR or GRAY")
    channels = pixels.shape[2]
    mean = np.asarray(pre.get("mean", [0.0]), np.float32).reshape(-1)
    std = np.asarray(pre.get("std", [1.0]), np.float32).reshape(-1)
    for key, v in (("mean", mean), ("std", std)):
        if v.size not in (1, channels):
            raise InputError(f"preprocess {key} has {v.size} values for {channels} channels ({color})")
    if np.any(std == 0):
        raise InputError("preprocess std contains 0")
    x = (pixels.astype(np.float32) * np.float32(pre.get("scale", 1 / 255)) - mean) / std
    layout = pre.get("layout", "NCHW").upper()
    if layout == "NCHW":
        x = x.transpose(2, 0, 1)
    elif layout != "NHWC":
        raise InputError(f"preprocess layout {layout!r} unknown; expected NCHW or NHWC")
    return np.ascontiguousarray(x[None], dtype=np.float32), transform


def save_image(image, path) -> None:
    """Write an image (anything `load_image` takes) to `path`; the suffix picks the format."""
    _pil().fromarray(load_image(image)).save(path)


# scikit-image's bundled photos (no download); gray ones are converted to RGB.
_SAMPLES = ("astronaut", "chelsea", "coffee", "rocket", "camera", "coins", "moon", "clock",
            "page", "text")


def sample_images() -> dict[str, np.ndarray]:
    """Real photos from scikit-image: name -> H x W x 3 uint8 RGB."""
    try:
        import skimage.data  # the optional test dependency
    except ImportError as e:
        raise ImportError("sample_images() needs scikit-image: pip install scikit-image") from e
    return {name: _array_to_rgb(getattr(skimage.data, name)()) for name in _SAMPLES}
