"""Optional dependencies: each command checks for its extra before it starts work, and names
the `pip install` that brings it (a plain install runs `.sgm` files and nothing more)."""
from __future__ import annotations

import importlib.util

from ..errors import SparsegateError

# extra -> the top-level modules it installs (pyproject.toml [project.optional-dependencies])
EXTRAS = {
    "images": ("PIL",),
    "convert": ("onnx", "PIL", "tqdm"),
    "report": ("onnx", "PIL", "tqdm", "matplotlib"),
    "train": ("onnx", "PIL", "tqdm", "torch"),
    "demo": ("onnx", "PIL", "tqdm", "torch", "skimage"),
    "app": ("onnx", "PIL", "tqdm", "skimage"),
}
PACKAGE = {"PIL": "Pillow", "skimage": "scikit-image"}  # where the module's name is not the package's


def need(extra: str, what: str) -> None:
    """Raises SparsegateError naming `pip install 'sparsegate[extra]'` unless every module of
    `extra` is importable. `what` is the command or option that needs it."""
    missing = [m for m in EXTRAS[extra] if importlib.util.find_spec(m) is None]
    if missing:
        names = ", ".join(PACKAGE.get(m, m) for m in missing)
        raise SparsegateError(f"{what} needs {names}: pip install 'sparsegate[{extra}]'")
