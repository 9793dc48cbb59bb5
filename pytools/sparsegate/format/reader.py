"""Reads `.sgm` files in Python (docs/format.md), checking every offset and size.

The runtime has its own loader (wasm/src/loader.cpp); this one serves tools that need the
metadata or the graph without the runtime (`sparsegate inspect`, tests).
"""
from __future__ import annotations

import json
import struct
import zlib

import numpy as np

from ..errors import ModelFormatError
from ..ir import DTYPE_CODES, Graph, Node, TensorInfo
from .layout import (ALIGN, ATTR_FLOATS, ATTR_INTS, ATTR_STRING, FLAG_REQUIRED, HEADER,
                     KIND_CONSTANT, KIND_INPUT, MAGIC, MAX_ATTR_VALUES, MAX_ATTRS, MAX_NODE_IO,
                     MAX_RANK, MAX_SECTIONS, MAX_STR, MAX_TENSORS, SECTION, VERSION_MAJOR)

_DTYPES = {code: dt for dt, code in DTYPE_CODES.items()}
KNOWN_SECTIONS = {b"META", b"GRPH", b"DATA"}


class FormatError(ModelFormatError):
    """The bytes are not a valid `.sgm` file; the message says where and why."""


def _sections(blob: bytes, source: str) -> dict[bytes, bytes]:
    if len(blob) < HEADER.size:
        raise FormatError(f"{source}: {len(blob)} bytes is too short for an .sgm header")
    magic, major, _minor, count, file_size, table_crc = HEADER.unpack_from(blob, 0)
    if magic != MAGIC:
        raise FormatError(f"{source}: not an .sgm file (magic {magic!r})")
    if major != VERSION_MAJOR:
        raise FormatError(f"{source}: format version {major} is not supported (reader knows {VERSION_MAJOR})")
    if count > MAX_SECTIONS:
        raise FormatError(f"{source}: {count} sections exceed the limit of {MAX_SECTIONS}")
    if file_size != len(blob):
        raise FormatError(f"{source}: header says {file_size} bytes but the file has {len(blob)} (truncated?)")
    table_end = HEADER.size + SECTION.size * count
    if table_end > len(blob):
        raise FormatError(f"{source}: section table runs past the end of the file")
    if zlib.crc32(blob[HEADER.size:table_end]) != table_crc:
        raise FormatError(f"{source}: section table checksum mismatch (corrupt file)")
    out: dict[bytes, bytes] = {}
    spans = []
    for i in range(count):
        kind, flags, offset, size, crc, _ = SECTION.unpack_from(blob, HEADER.size + SECTION.size * i)
        name = kind.decode("latin-1")
        if offset % ALIGN or offset < table_end or offset + size > len(blob):
            raise FormatError(f"{source}: section {name} at {offset}+{size} lies outside the file or is misaligned")
        if any(offset < e and s < offset + size for s, e in spans):
            raise FormatError(f"{source}: section {name} overlaps another section")
        spans.append((offset, offset + size))
        payload = blob[offset:offset + size]
        if zlib.crc32(payload) != crc:
            raise FormatError(f"{source}: section {name} checksum mismatch (corrupt file)")
        if kind not in KNOWN_SECTIONS:
            if flags & FLAG_REQUIRED:
                raise FormatError(f"{source}: required section {name} is unknown to this reader")
            continue
        out[kind] = payload
    for kind in KNOWN_SECTIONS:
        if kind not in out:
            raise FormatError(f"{source}: missing section {kind.decode()}")
    return out


class _Cursor:
    def __init__(self, buf: bytes, source: str):
        self.buf, self.pos, self.source = buf, 0, source

    def take(self, fmt: str, what: str):
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.buf):
            raise FormatError(f"{self.source}: GRPH section ends inside {what}")
        values = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += size
        return values

    def string(self, what: str) -> str:
        (n,) = self.take("<I", what)
        if n > MAX_STR:
            raise FormatError(f"{self.source}: {what}: string of {n} bytes exceeds {MAX_STR}")
        (raw,) = self.take(f"<{n}s", what)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise FormatError(f"{self.source}: {what}: invalid UTF-8") from e

    def count(self, what: str, limit: int) -> int:
        (n,) = self.take("<I", what)
        if n > limit:
            raise FormatError(f"{self.source}: {what}: count {n} exceeds {limit}")
        return n


def read_metadata(blob: bytes, source: str = "<bytes>") -> dict:
    try:
        return json.loads(_sections(blob, source)[b"META"].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:  # RecursionError: deep nesting
        raise FormatError(f"{source}: META section is not valid JSON: {e}") from e


def read_model(blob: bytes, source: str = "<bytes>") -> Graph:
    """Parses a whole `.sgm` file back into an IR graph (constants as numpy arrays)."""
    sections = _sections(blob, source)
    meta = read_metadata(blob, source)
    data = sections[b"DATA"]
    c = _Cursor(sections[b"GRPH"], source)
    names: list[str] = []
    tensors: dict[str, TensorInfo] = {}
    kinds: dict[str, int] = {}
    for t in range(c.count("tensor count", MAX_TENSORS)):
        name = c.string(f"tensor {t} name")
        dtype_code, rank, kind = c.take("<BBH", f"tensor '{name}'")
        if dtype_code not in _DTYPES or rank > MAX_RANK:
            raise FormatError(f"{source}: tensor '{name}': dtype {dtype_code} / rank {rank} invalid")
        dims = c.take(f"<{rank}q", f"tensor '{name}' dims")
        offset, size = c.take("<QQ", f"tensor '{name}'")
        if any(d < 0 for d in dims):
            raise FormatError(f"{source}: tensor '{name}': negative dimension in {list(dims)}")
        dtype = _DTYPES[dtype_code]
        arr = None
        if kind == KIND_CONSTANT:
            expect = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
            if size != expect or offset % ALIGN or offset + size > len(data):
                raise FormatError(f"{source}: tensor '{name}': data {offset}+{size} invalid "
                                  f"(expected {expect} bytes inside DATA of {len(data)})")
            arr = np.frombuffer(data, dtype=dtype.newbyteorder("<"), count=expect // dtype.itemsize,
                                offset=offset).reshape(dims).astype(dtype)
        names.append(name)
        kinds[name] = kind
        tensors[name] = TensorInfo(name, tuple(dims), dtype, arr)

    def tensor_ref(i: int, what: str) -> str:
        if i == -1:
            return ""
        if not 0 <= i < len(names):
            raise FormatError(f"{source}: {what}: tensor index {i} out of range")
        return names[i]

    nodes = []
    for k in range(c.count("node count", MAX_TENSORS)):
        op = c.string(f"node {k} op")
        name = c.string(f"node {k} name")
        where = f"node '{name}' ({op})"
        ins = [tensor_ref(i, where) for i in c.take(f"<{c.count(where, MAX_NODE_IO)}i", where)]
        outs = [tensor_ref(i, where) for i in c.take(f"<{c.count(where, MAX_NODE_IO)}i", where)]
        attrs = {}
        for _ in range(c.count(f"{where} attributes", MAX_ATTRS)):
            key = c.string(f"{where} attribute name")
            typ, n = c.take("<BI", f"{where} attribute '{key}'")
            if n > MAX_ATTR_VALUES:
                raise FormatError(f"{source}: {where} attribute '{key}': {n} values")
            if typ == ATTR_INTS:
                attrs[key] = list(c.take(f"<{n}q", where))
            elif typ == ATTR_FLOATS:
                attrs[key] = list(c.take(f"<{n}f", where))
            elif typ == ATTR_STRING:
                attrs[key] = c.take(f"<{n}s", where)[0].decode("utf-8", "replace")
            else:
                raise FormatError(f"{source}: {where} attribute '{key}': unknown type {typ}")
        nodes.append(Node(op, name, ins, outs, attrs))
    inputs = [tensor_ref(i, "graph inputs") for i in c.take(f"<{c.count('graph inputs', MAX_NODE_IO)}i", "graph inputs")]
    outputs = [tensor_ref(i, "graph outputs") for i in c.take(f"<{c.count('graph outputs', MAX_NODE_IO)}i", "graph outputs")]
    for n in inputs:
        if kinds.get(n) != KIND_INPUT:
            raise FormatError(f"{source}: graph input '{n}' is not marked as an input tensor")
    return Graph(nodes, tensors, inputs, outputs, meta)
