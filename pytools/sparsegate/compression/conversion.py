"""`convert`: ONNX file or ModelProto -> IR graph, optionally written as `.sgm`."""
from __future__ import annotations

import os

from ..errors import InputError
from ..format import validate, write_model
from ..ir import Graph
from ..onnx_import import import_onnx


def convert(src, dst=None, *, input_shapes: dict | None = None, constants: dict | None = None,
            metadata: dict | None = None) -> Graph:
    """Imports `src` (path or onnx.ModelProto), merges `metadata` into the graph's metadata
    ("source" is the file name) and writes `dst` when given. Returns the IR graph.

    Without `input_shapes`, shapes listed in `metadata["inputs"]` (as `zoo.info` gives them)
    fix the inputs' dynamic dims. Raises a SparsegateError naming what is at fault, and
    refuses (before writing) any graph the runtime would refuse."""
    if metadata is not None and not isinstance(metadata, dict):
        raise InputError(f"metadata must be a dict, not {type(metadata).__name__}")
    if input_shapes is None and metadata and metadata.get("inputs"):
        input_shapes = {i["name"]: i["shape"] for i in metadata["inputs"]
                        if isinstance(i, dict) and "name" in i and "shape" in i}
    graph = import_onnx(src, input_shapes=input_shapes, constants=constants)
    if isinstance(src, (str, os.PathLike)):
        graph.metadata["source"] = os.path.basename(os.fspath(src))
    graph.metadata.update(metadata or {})
    _check_labels(graph.metadata, graph.metadata.get("source", "<model>"))
    validate(graph, graph.metadata.get("source", "<model>"))
    if dst is not None:
        write_model(graph, dst)
    return graph


def _check_labels(meta: dict, source: str) -> None:
    """A detector's labels name each of its classes: a wrong count would mislabel every box."""
    post, labels = meta.get("postprocess"), meta.get("labels")
    if not isinstance(post, dict) or labels is None or "num_classes" not in post:
        return
    if not isinstance(labels, list) or len(labels) != post["num_classes"]:
        count = len(labels) if isinstance(labels, list) else type(labels).__name__
        raise InputError(f"{source}: {count} labels given for a detector of {post['num_classes']} "
                         f"classes; give one label per class, in class-index order")
