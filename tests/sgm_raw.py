"""Raw `.sgm` files for tests that need what the writer refuses to make (duplicate names,
absent inputs where an op takes none, shapes no converter would write).

Tensors: (name, dims, kind) with kind "act", "input" or ("const", float32 array). Nodes:
(op, name, input indices, output indices, attrs) where -1 marks an absent input. Checksums are
valid, so only the loader's own rules can refuse the result.
"""
from __future__ import annotations

import json
import struct
import zlib

import numpy as np

from sparsegate.format.layout import ATTR_FLOATS, ATTR_INTS, ATTR_STRING, HEADER, SECTION, align


def _str(s: str | bytes) -> bytes:
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<I", len(b)) + b


def _attr(name: str, v) -> bytes:
    if isinstance(v, str):
        return _str(name) + struct.pack("<BI", ATTR_STRING, len(v.encode())) + v.encode()
    vals = list(v) if isinstance(v, (list, tuple)) else [v]
    if any(isinstance(x, float) for x in vals):
        return _str(name) + struct.pack(f"<BI{len(vals)}f", ATTR_FLOATS, len(vals), *vals)
    return _str(name) + struct.pack(f"<BI{len(vals)}q", ATTR_INTS, len(vals), *vals)


def sgm(tensors, nodes, inputs, outputs, meta: bytes | None = None) -> bytes:
    grph, data = [struct.pack("<I", len(tensors))], bytearray()
    for name, dims, kind in tensors:
        offset = size = 0
        code = 0
        if isinstance(kind, tuple):
            raw = np.ascontiguousarray(kind[1], "<f4").tobytes()
            data += b"\0" * (align(len(data)) - len(data))
            offset, size, code = len(data), len(raw), 1
            data += raw
        elif kind == "input":
            code = 2
        grph.append(_str(name) + struct.pack(f"<BBH{len(dims)}qQQ", 1, len(dims), code, *dims, offset, size))
    grph.append(struct.pack("<I", len(nodes)))
    for op, name, ins, outs, attrs in nodes:
        grph.append(_str(op) + _str(name))
        grph.append(struct.pack(f"<I{len(ins)}i", len(ins), *ins))
        grph.append(struct.pack(f"<I{len(outs)}i", len(outs), *outs))
        grph.append(struct.pack("<I", len(attrs)) + b"".join(_attr(k, v) for k, v in attrs.items()))
    for ids in (inputs, outputs):
        grph.append(struct.pack(f"<I{len(ids)}i", len(ids), *ids))
    if meta is None:
        meta = json.dumps({"inputs": [], "outputs": []}).encode()
    parts = [(b"META", meta), (b"GRPH", b"".join(grph)), (b"DATA", bytes(data))]
    offset = align(HEADER.size + SECTION.size * len(parts))
    table, body = [], bytearray()
    for kind, payload in parts:
        table.append(SECTION.pack(kind, 1, offset + len(body), len(payload), zlib.crc32(payload), 0))
        body += payload + b"\0" * (align(len(payload)) - len(payload))
    tb = b"".join(table)
    head = HEADER.pack(b"SGM\x01", 1, 0, len(parts), offset + len(body), zlib.crc32(tb)) + tb
    return head + b"\0" * (offset - len(head)) + bytes(body)
