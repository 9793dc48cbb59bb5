"""Writes an IR graph as one `.sgm` file (docs/format.md)."""
from __future__ import annotations

import json
import os
import struct
import tempfile
import zlib

import numpy as np

from ..ir import DTYPE_CODES, Graph
from .layout import (ALIGN, ATTR_FLOATS, ATTR_INTS, ATTR_STRING, FLAG_REQUIRED, HEADER,
                     KIND_ACTIVATION, KIND_CONSTANT, KIND_INPUT, MAGIC, MAX_RANK, SECTION,
                     VERSION_MAJOR, VERSION_MINOR, align)


def _str(s: str) -> bytes:
    b = s.encode("utf-8")
    return struct.pack("<I", len(b)) + b


def _attr(name: str, value) -> bytes:
    if isinstance(value, str):
        b = value.encode("utf-8")
        return _str(name) + struct.pack("<BI", ATTR_STRING, len(b)) + b
    values = list(value) if isinstance(value, (list, tuple, np.ndarray)) else [value]
    is_float = any(isinstance(v, (float, np.floating)) for v in values)
    if is_float:
        return _str(name) + struct.pack(f"<BI{len(values)}f", ATTR_FLOATS, len(values), *values)
    return _str(name) + struct.pack(f"<BI{len(values)}q", ATTR_INTS, len(values),
                                    *[int(v) for v in values])


def _graph_and_data(graph: Graph) -> tuple[bytes, bytes]:
    index = {name: i for i, name in enumerate(graph.tensors)}
    inputs = set(graph.inputs)
    grph = [struct.pack("<I", len(graph.tensors))]
    data = bytearray()
    for name, info in graph.tensors.items():
        if len(info.shape) > MAX_RANK:
            raise ValueError(f"tensor '{name}': rank {len(info.shape)} exceeds {MAX_RANK}")
        dtype = np.dtype(info.dtype if info.data is None else info.data.dtype)
        if dtype not in DTYPE_CODES:
            raise ValueError(f"tensor '{name}': dtype {dtype} cannot be stored in .sgm")
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


def model_bytes(graph: Graph) -> bytes:
    """The `.sgm` bytes of `graph` (metadata from `graph.metadata`, inputs/outputs filled in)."""
    meta = dict(graph.metadata)
    meta.setdefault("producer", "sparsegate")
    meta["inputs"] = [{"name": n, "shape": list(graph.tensors[n].shape), "dtype": "float32"}
                      for n in graph.inputs]
    meta["outputs"] = [{"name": n, "shape": list(graph.tensors[n].shape), "dtype": "float32"}
                       for n in graph.outputs]
    grph, data = _graph_and_data(graph)
    sections = [(b"META", json.dumps(meta).encode("utf-8")), (b"GRPH", grph), (b"DATA", data)]
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
    blob = model_bytes(graph)
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
