"""The runtime loader's rules (wasm/src/loader.cpp), checked on an IR graph before it is
written: a graph that passes becomes a file `sg_model_load` accepts, and one that fails is
refused here with the tensor or node at fault instead of by the runtime later.

Op semantics (which ops exist, which inputs an op may leave absent, shapes against
attributes) belong to the runtime's op registry and each op's prepare, not to the format."""
from __future__ import annotations

import json
import math

import numpy as np

from ..ir import Graph
from .layout import (ATTR_FLOATS, ATTR_INTS, ATTR_STRING, MAX_ATTR_VALUES, MAX_ATTRS, MAX_DIM,
                     MAX_NODE_IO, MAX_NUMEL, MAX_RANK, MAX_STR, MAX_TENSORS)
from .reader import FormatError

COMPUTE_DTYPE = np.dtype(np.float32)
MAX_META_DEPTH = 64  # runtime/host.py and web/src/session.js refuse META nested deeper
# loader.cpp parse_tensor: activations and inputs are float32; constants may be quantized.
CONSTANT_DTYPES = {np.dtype(np.float32), np.dtype(np.int8), np.dtype(np.int32),
                   np.dtype(np.float16)}
_INT64 = (-2**63, 2**63 - 1)


def attr_encoding(value) -> tuple[int, bytes | list] | None:
    """(attribute type, payload) as the writer stores `value`: a str as UTF-8 bytes, a number
    or a 1-D sequence of numbers as floats if any is a float, else as int64; None when the
    value has no encoding (nested, None, an int past int64, a float past float32)."""
    if isinstance(value, str):
        try:
            return ATTR_STRING, value.encode("utf-8")
        except UnicodeEncodeError:
            return None
    if isinstance(value, np.ndarray):
        if value.ndim != 1:
            return None
        values = value.tolist()
    else:
        values = list(value) if isinstance(value, (list, tuple)) else [value]
    if not all(isinstance(v, (int, float, np.integer, np.floating)) for v in values):
        return None
    if any(isinstance(v, (float, np.floating)) for v in values):
        floats = [float(v) for v in values]
        with np.errstate(over="ignore"):
            if any(math.isinf(np.float32(f)) and not math.isinf(f) for f in floats):
                return None  # struct's 'f' refuses what overflows float32
        return ATTR_FLOATS, floats
    ints = [int(v) for v in values]
    if any(not _INT64[0] <= v <= _INT64[1] for v in ints):
        return None
    return ATTR_INTS, ints


def metadata_json(meta: dict, source: str) -> bytes:
    """META as the hosts parse it: strict JSON (web/src/index.js uses JSON.parse, which has
    no NaN or Infinity), no NUL byte (loader.cpp model_parse); json escapes NUL in strings."""
    try:
        text = json.dumps(meta, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as e:  # RecursionError: deep nesting
        raise FormatError(f"{source}: metadata cannot be stored as JSON: {e}") from None
    if _nesting(meta) > MAX_META_DEPTH:
        raise FormatError(f"{source}: metadata nests more than {MAX_META_DEPTH} levels deep, "
                          f"which the hosts refuse")
    return text.encode("utf-8")


def _nesting(value, depth: int = 0) -> int:
    if depth > MAX_META_DEPTH or not isinstance(value, (dict, list, tuple)):
        return depth
    items = value.values() if isinstance(value, dict) else value
    return max((_nesting(v, depth + 1) for v in items), default=depth + 1)


def _name(s, what: str, source: str) -> None:
    if not isinstance(s, str):
        raise FormatError(f"{source}: {what} {s!r} is not a string")
    try:
        size = len(s.encode("utf-8"))
    except UnicodeEncodeError:
        raise FormatError(f"{source}: {what} {s[:80]!r} is not valid UTF-8") from None
    if size > MAX_STR:  # loader.cpp: ByteReader::str(…, kMaxStr)
        raise FormatError(f"{source}: {what} '{s[:80]}…' is {size} bytes; the format allows "
                          f"at most {MAX_STR}")


def _shape(name: str, shape, source: str) -> None:
    where = f"{source}: tensor '{name}'"
    if not isinstance(shape, (tuple, list)) or not all(
            isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in shape):
        raise FormatError(f"{where}: shape {shape!r} is not a sequence of integers")
    if len(shape) > MAX_RANK:
        raise FormatError(f"{where}: rank {len(shape)} exceeds {MAX_RANK}")
    numel = 1
    for i, d in enumerate(int(d) for d in shape):
        if not 0 <= d <= MAX_DIM:
            raise FormatError(f"{where}: dimension {i} is {d} (must be 0..{MAX_DIM})")
        numel *= d
    if numel > MAX_NUMEL:
        raise FormatError(f"{where}: shape {list(shape)} has {numel} elements, more than "
                          f"the runtime's {MAX_NUMEL}")


def _tensors(graph: Graph, source: str) -> None:
    if len(graph.tensors) > MAX_TENSORS:
        raise FormatError(f"{source}: {len(graph.tensors)} tensors exceed {MAX_TENSORS}")
    for name, info in graph.tensors.items():
        _name(name, "tensor name", source)
        if name == "":  # the writer's "" is an absent input (index -1)
            raise FormatError(f"{source}: a tensor has the empty name, which marks an absent input")
        _shape(name, info.shape, source)
        if info.data is None:
            if np.dtype(info.dtype) != COMPUTE_DTYPE:
                raise FormatError(f"{source}: tensor '{name}' is {np.dtype(info.dtype)}; "
                                  f"activations and inputs must be float32")
            continue
        dtype = getattr(info.data, "dtype", None)  # an ndarray or a numpy scalar (rank 0)
        if dtype not in CONSTANT_DTYPES:
            got = dtype or type(info.data).__name__
            raise FormatError(f"{source}: constant '{name}' is {got}; constants may be "
                              f"float32, int8, int32 or float16")
        if np.shape(info.data) != tuple(int(d) for d in info.shape):
            raise FormatError(f"{source}: constant '{name}' holds data of shape "
                              f"{list(np.shape(info.data))} but is declared {list(info.shape)}")


def _io_list(names, what: str, source: str) -> None:
    if len(names) > MAX_NODE_IO:
        raise FormatError(f"{source}: {what}: {len(names)} tensors exceed {MAX_NODE_IO}")
    if len(set(names)) != len(names):  # loader.cpp parse_graph: "listed twice"
        twice = next(n for n in names if names.count(n) > 1)
        raise FormatError(f"{source}: {what}: '{twice}' is listed twice")


def _attrs(node, where: str, source: str) -> None:
    if len(node.attrs) > MAX_ATTRS:
        raise FormatError(f"{source}: {where}: {len(node.attrs)} attributes exceed {MAX_ATTRS}")
    for key, value in node.attrs.items():
        _name(key, f"{where} attribute name", source)
        enc = attr_encoding(value)
        if enc is None:
            raise FormatError(f"{source}: {where} attribute '{key}': {value!r:.80} is not a "
                              f"string, an int64, a float32 or a 1-D list of them")
        if len(enc[1]) > MAX_ATTR_VALUES:
            raise FormatError(f"{source}: {where} attribute '{key}': {len(enc[1])} values "
                              f"exceed {MAX_ATTR_VALUES}")


def _nodes(graph: Graph, source: str) -> set[str]:
    """Checks node order and references (loader.cpp parse_graph); returns what nodes produce."""
    if len(graph.nodes) > MAX_TENSORS:
        raise FormatError(f"{source}: {len(graph.nodes)} nodes exceed {MAX_TENSORS}")
    inputs, produced = set(graph.inputs), set()
    for node in graph.nodes:
        _name(node.op, "op name", source)
        _name(node.name, "node name", source)
        where = f"node '{node.name}' ({node.op})"
        for what, names in (("inputs", node.inputs), ("outputs", node.outputs)):
            if len(names) > MAX_NODE_IO:
                raise FormatError(f"{source}: {where}: {len(names)} {what} exceed {MAX_NODE_IO}")
        for t in node.inputs:
            if not t:
                continue
            info = graph.tensors.get(t)
            if info is None:
                raise FormatError(f"{source}: {where} reads '{t}', which is no tensor of the graph")
            if info.data is None and t not in inputs and t not in produced:
                raise FormatError(f"{source}: {where} reads '{t}' before any node produces it")
        for t in node.outputs:
            info = graph.tensors.get(t)
            if info is None:
                raise FormatError(f"{source}: {where} writes {t!r}, which is no tensor of the graph")
            if info.data is not None or t in inputs:
                kind = "constant" if info.data is not None else "graph input"
                raise FormatError(f"{source}: {where} writes '{t}', which is a {kind}")
            if t in produced:
                raise FormatError(f"{source}: tensor '{t}' is produced twice (again by {where})")
            produced.add(t)
        _attrs(node, where, source)
    return produced


def validate(graph: Graph, source: str = "graph") -> None:
    """Raises FormatError (a ModelFormatError) naming the first rule of the loader that
    `graph` breaks; `source` prefixes the message (the file being written or converted)."""
    _tensors(graph, source)
    _io_list(graph.inputs, "graph inputs", source)
    for name in graph.inputs:
        info = graph.tensors.get(name)
        if info is None or info.data is not None:
            what = "no tensor of the graph" if info is None else "a constant"
            raise FormatError(f"{source}: graph input '{name}' is {what}")
    produced = _nodes(graph, source)
    _io_list(graph.outputs, "graph outputs", source)
    for name in graph.outputs:
        if name not in produced:  # loader.cpp: outputs are activations some node produces
            info = graph.tensors.get(name)
            what = ("no tensor of the graph" if info is None else "a constant" if info.data is not None
                    else "a graph input" if name in graph.inputs else "produced by no node")
            raise FormatError(f"{source}: graph output '{name}' is {what}; outputs must be "
                              f"computed by a node")
    if not isinstance(graph.metadata, dict):
        raise FormatError(f"{source}: metadata is a {type(graph.metadata).__name__}, not a dict")
    metadata_json(graph.metadata, source)
