"""What a model argument on the command line names: an `.onnx` path, an `.sgm` path or a zoo name."""
from __future__ import annotations

import os
from pathlib import Path

from .. import zoo
from ..errors import SparsegateError
from ..format import read_model


def parse_shapes(items: list[str] | None) -> dict[str, list[int]] | None:
    """`--input-shape NAME=D0,D1,…` values as {name: dims}."""
    if not items:
        return None
    shapes = {}
    for item in items:
        name, sep, dims = item.partition("=")
        try:
            if not sep:
                raise ValueError
            shapes[name] = [int(d) for d in dims.split(",")]
        except ValueError:
            raise SparsegateError(f"--input-shape '{item}': expected NAME=D0,D1,… (e.g. input=1,3,224,224)")
    return shapes


def resolve_source(src: str) -> tuple[Path, dict]:
    """A path to an .onnx file, or a model zoo name (then its metadata comes along)."""
    if not os.path.exists(src) and src in zoo.names():
        return zoo.fetch(src), zoo.info(src)
    if not os.path.exists(src):
        raise SparsegateError(f"{src}: no such file (and not a zoo model: {', '.join(zoo.names())})")
    return Path(src), {}


def load_graph(path: str, convert_zoo: bool = False):
    """The IR graph of an `.sgm` file, an `.onnx` file or a zoo model (with its metadata when
    `convert_zoo`, as `convert` gives it; else the bare import)."""
    if path.endswith(".onnx") or not os.path.exists(path):
        from ..compression.conversion import convert  # onnx: needed only for conversion
        from ..onnx_import import import_onnx
        src, meta = resolve_source(path)
        return convert(src, metadata=meta) if convert_zoo and path in zoo.names() else import_onnx(src)
    return read_model(Path(path).read_bytes(), path)
