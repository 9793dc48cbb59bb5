"""Writes an IR graph as one `.sgm` file (docs/format.md). `write_model` refuses, before
writing, any graph the runtime's loader would refuse (validate.py); `model_bytes` encodes a
graph as given, so that tests can hand the runtime files its own checks must refuse."""
from __future__ import annotations

import os
import struct
import tempfile
import zlib

import numpy as np

from ..ir import DTYPE_CODES, Graph
from .layout import (ATTR_FLOATS, ATTR_STRING, FLAG_REQUIRED, HEADER, KIND_ACTIVATION,
                     KIND_CONSTANT, KIND_INPUT, MAGIC, SECTION, VERSION_MAJOR, VERSION_MINOR,
                     align)
from .validate import attr_encoding, metadata_json, validate


def _str(s: str) -> bytes:
    b = s.encode("utf-8")
    return struct.pack("<I", len(b)) + b


def _attr(name: str, value) -> bytes:
    typ, payload = attr_encoding(value)
    if typ == ATTR_STRING:
        return _str(name) + struct.pack("<BI", ATTR_STRING, len(payload)) + payload
    code = "f" if typ == ATTR_FLOATS else "q"
    return _str(name) + struct.pack(f"<BI{len(payload)}{code}", typ, len(payload), *payload)


def _graph_and_data(graph: Graph) -> tuple[bytes, bytes]:
    index = {name: i for i, name in enumerate(graph.tensors)}
    inputs = set(graph.inputs)
    grph = [struct.pack("<I", len(graph.tensors))]
    data = bytearray()
    for name, info in graph.tensors.items():
        dtype = np.dtype(info.dtype if info.data is None else info.data.dtype)
        offset = size = 0
        if info.data is not None:
            kind = KIND_CONSTANT
            raw = np.ascontiguousarray(info.data, dtype=dtype).astype(dtype.newbyteorder("<")).tobytes()
            data.extend(b"\0" * (align(len(data)) - len(data)))
            offset, size = len(data), len(raw)
            data.extend(raw)
        else:
            kind = KIND_INPUT if name in inputs else KIND_ACTIVATION
        grph.append(_str(name))
        grph.append(struct.pack(f"<BBH{len(info.shape)}qQQ", DTYPE_CODES[dtype], len(info.shape),
                                kind, *info.shape, offset, size))
    grph.append(struct.pack("<I", len(graph.nodes)))
    for node in graph.nodes:
        ins = [index[i] if i else -1 for i in node.inputs]
        outs = [index[o] for o in node.outputs]
        grph.append(_str(node.op) + _str(node.name))
        grph.append(struct.pack(f"<I{len(ins)}i", len(ins), *ins))
        grph.append(struct.pack(f"<I{len(outs)}i", len(outs), *outs))
        grph.append(struct.pack("<I", len(node.attrs)))
        grph.extend(_attr(k, v) for k, v in node.attrs.items())
    for names in (graph.inputs, graph.outputs):
        grph.append(struct.pack(f"<I{len(names)}i", len(names), *[index[n] for n in names]))
    return b"".join(grph), bytes(data)


def model_bytes(graph: Graph, source: str = "graph") -> bytes:
    """The `.sgm` bytes of `graph` (metadata from `graph.metadata`, inputs/outputs filled in),
    unchecked against the loader's rules. A graph that cannot be encoded at all raises
    FormatError naming the tensor or node at fault."""
    try:
        return _encode(graph, source)
    except (KeyError, TypeError, ValueError, AttributeError, UnicodeError, struct.error):
        validate(graph, source)  # names the rule the graph breaks
        raise


def _encode(graph: Graph, source: str) -> bytes:
    meta = dict(graph.metadata)
    meta.setdefault("producer", "sparsegate")
    meta["inputs"] = [{"name": n, "shape": [int(d) for d in graph.tensors[n].shape],
                       "dtype": "float32"} for n in graph.inputs]
    meta["outputs"] = [{"name": n, "shape": [int(d) for d in graph.tensors[n].shape],
                        "dtype": "float32"} for n in graph.outputs]
    grph, data = _graph_and_data(graph)
    sections = [(b"META", metadata_json(meta, source)), (b"GRPH", grph), (b"DATA", data)]
    offset = align(HEADER.size + SECTION.size * len(sections))
    table, body = [], bytearray()
    for kind, payload in sections:
        table.append(SECTION.pack(kind, FLAG_REQUIRED, offset + len(body), len(payload),
                                  zlib.crc32(payload), 0))
        body.extend(payload)
        body.extend(b"\0" * (align(len(body)) - len(body)))
    table_bytes = b"".join(table)
    head = HEADER.pack(MAGIC, VERSION_MAJOR, VERSION_MINOR, len(sections), offset + len(body),
                       zlib.crc32(table_bytes))
    out = head + table_bytes
    return out + b"\0" * (offset - len(out)) + bytes(body)


def write_model(graph: Graph, path: str | os.PathLike) -> int:
    """Writes `graph` to `path` atomically (a failed write leaves any old file intact).
    Returns the file size."""
    validate(graph, os.fspath(path))
    blob = model_bytes(graph, os.fspath(path))
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".sgm.tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return len(blob)
