"""`Session`: one `.sgm` model loaded into the WebAssembly runtime, ready to run.

Works with numpy when it is installed (inputs: arrays; outputs: float32 ndarrays) and
without it (inputs: flat or nested lists, `array('f')`; outputs: flat `array('f')`).

    sess = Session("model.sgm")        # or: await Session.create_async("model.sgm")
    sess.inputs          # [{"name": "input", "shape": [1, 3, 224, 224]}]
    outs = sess.run({"input": x})
    sess.set_gate(0.4); sess.stats()
"""
from __future__ import annotations

import json
import re
import numbers
import os
import sys
from array import array

from ..errors import (InputError, ModelFormatError, OutOfMemoryError, ResourceLimitError,
                      RuntimeFailure, RuntimeUnsupportedError)
from .adapter import instantiate, instantiate_async

try:
    import numpy as np
except ImportError:  # Pyodide offline, minimal installs
    np = None


# SG_ERR_* codes of the C ABI (wasm/include/sparsegate.h) -> the error raised. A format error
# (1) at load is a ModelFormatError; at session creation (a node's shapes or attributes do not
# agree) it stays a RuntimeFailure, as an invalid argument (3) is.
SG_ERR_FORMAT, SG_ERR_UNSUPPORTED, SG_ERR_INVALID, SG_ERR_MEMORY, SG_ERR_LIMIT = 1, 2, 3, 4, 5
_ERRORS = {SG_ERR_UNSUPPORTED: RuntimeUnsupportedError, SG_ERR_MEMORY: OutOfMemoryError,
           SG_ERR_LIMIT: ResourceLimitError}
_CODE_NAMES = {SG_ERR_FORMAT: "format", SG_ERR_UNSUPPORTED: "unsupported", SG_ERR_INVALID: "invalid",
               SG_ERR_MEMORY: "memory", SG_ERR_LIMIT: "limit"}  # web/src/errors.js

# META deeper than this is refused by both hosts (web/src/session.js) and never written
# (format/validate.py): JSON parsers differ in how deep they go (CPython's recurses).
MAX_META_DEPTH = 64


def _json_depth(text: str) -> int:
    """How deep arrays and objects nest in a JSON text (brackets inside strings not counted)."""
    depth = deepest = 0
    for ch in re.sub(r'"(?:[^"\\]|\\.)*"', "", text):
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


# What a feed may be: arrays and (nested) sequences of numbers. Strings, bytes and mappings
# would otherwise become NaNs, raw float bits or a TypeError deep inside numpy.
_NOT_FEEDS = (str, bytes, bytearray, memoryview, dict, set, frozenset)


def _limit(value, name: str) -> float:
    """A session limit as the ABI's double: None -> 0 (none); else a number > 0."""
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise InputError(f"{name} must be a positive number (or None for no limit), got {value!r}")
    return float(value)


def _numel(shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _flatten(value, out: list) -> list:
    """Nested lists/tuples -> (flat list of floats, shape)."""
    shape = []
    level = value
    while isinstance(level, (list, tuple)):
        shape.append(len(level))
        level = level[0] if level else None
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, (list, tuple)):
            stack.extend(reversed(v))
        elif isinstance(v, numbers.Real):
            out.append(float(v))
        else:
            raise TypeError(f"{type(v).__name__} {v!r} is not a number")
    return shape


def _float_bytes(value, name: str, shape: list[int]) -> bytes:
    """Little-endian float32 bytes of one input, after checking its shape or size."""
    want = _numel(shape)
    if isinstance(value, _NOT_FEEDS) or value is None:
        raise InputError(f"input '{name}': pass floats (an ndarray, a list or array('f')), "
                         f"not {type(value).__name__}")
    if np is not None and not isinstance(value, array):
        try:
            arr = np.asarray(value)
        except (TypeError, ValueError) as e:  # ragged lists
            raise InputError(f"input '{name}': not an array of numbers ({e})") from None
        if arr.dtype.kind not in "biuf":  # strings would parse, objects fail deep in numpy
            raise InputError(f"input '{name}': expected numbers, got an array of {arr.dtype}")
        if isinstance(value, np.ndarray) and arr.dtype.kind != "f":  # never a silent cast of ints/bools
            raise InputError(f"input '{name}': expected dtype float32, got {arr.dtype}; "
                             f"convert with .astype(np.float32) if the values are meant as floats")
        arr = arr.astype(np.float32, copy=False)
        if list(arr.shape) != list(shape):
            raise InputError(f"input '{name}': expected shape {list(shape)}, got {list(arr.shape)}")
        return np.ascontiguousarray(arr, dtype="<f4").tobytes()
    if isinstance(value, array):
        flat, got = value, [len(value)]
        if value.typecode != "f":
            flat = array("f", value)
    elif isinstance(value, (bytes, bytearray, memoryview)):
        raise InputError(f"input '{name}': pass floats (array('f'), a list or an ndarray), not bytes")
    else:
        items: list = []
        try:
            got = _flatten(value, items)
        except (TypeError, ValueError) as e:
            raise InputError(f"input '{name}': not a sequence of numbers ({e})") from None
        flat = array("f", items)
        if len(got) > 1 and got != list(shape):
            raise InputError(f"input '{name}': expected shape {list(shape)}, got {got}")
    if len(flat) != want:
        raise InputError(f"input '{name}': expected shape {list(shape)} ({want} values), "
                         f"got {got} ({len(flat)} values)")
    if sys.byteorder != "little":
        flat = array("f", flat)
        flat.byteswap()
    return flat.tobytes()


class Session:
    """A model loaded into its own runtime instance. Not thread-safe; one per thread."""

    def __init__(self, model, wasm=None, *, max_memory=None, max_macs=None):
        """`model`: a path or the file's bytes. `max_memory` (bytes) and `max_macs` (dense
        multiply-accumulates per run) refuse, with ResourceLimitError, a model that needs
        more: for pages and services that run models they did not make."""
        blob, limits = self._read(model, max_memory, max_macs)
        self._wasm = instantiate(wasm)
        self._load(blob, limits)

    @classmethod
    async def create_async(cls, model, wasm=None, *, max_memory=None, max_macs=None) -> "Session":
        """`Session(...)` without compiling the runtime synchronously: in Pyodide it uses
        `WebAssembly.compile`/`instantiate`, which a page's main thread needs for a module over
        8 MB (workers, JupyterLite's kernel among them, and Node accept both). Same arguments;
        on CPython it is the plain constructor.

            sess = await sparsegate.Session.create_async("model.sgm")"""
        self = cls.__new__(cls)
        blob, limits = self._read(model, max_memory, max_macs)
        self._wasm = await instantiate_async(wasm)
        self._load(blob, limits)
        return self

    def _read(self, model, max_memory, max_macs) -> tuple[bytes, tuple[float, float]]:
        limits = (_limit(max_memory, "max_memory"), _limit(max_macs, "max_macs"))
        if isinstance(model, (bytes, bytearray, memoryview)):
            blob, self.source = bytes(model), None
        else:
            self.source = os.fspath(model)
            try:
                with open(self.source, "rb") as f:
                    blob = f.read()
            except OSError as e:
                raise ModelFormatError(f"{self.source}: cannot read ({e.strerror})") from None
        return blob, limits

    def _load(self, blob: bytes, limits: tuple[float, float]) -> None:
        self._blob_ptr = self._model = self._session = 0
        if len(blob) >= 1 << 32:
            raise ModelFormatError(self._where(f"{len(blob)} bytes is too large for a wasm32 runtime"))
        ptr = self._call("sg_alloc", len(blob))
        if not ptr:
            raise OutOfMemoryError(self._where(f"out of memory for a model of {len(blob)} bytes"))
        self._blob_ptr = ptr
        self._wasm.write(ptr, blob)
        self._model = self._call("sg_model_load", ptr, len(blob))
        if not self._model:
            raise self._error(ModelFormatError)
        meta_ptr = self._call("sg_model_metadata", self._model)
        meta_size = self._call("sg_model_metadata_size", self._model)
        try:
            text = self._wasm.read(meta_ptr, meta_size).decode("utf-8")
            depth = _json_depth(text)
            if depth > MAX_META_DEPTH:
                raise ValueError(f"it nests {depth} levels deep, more than {MAX_META_DEPTH}")
            self.metadata = json.loads(text)
        except (UnicodeDecodeError, ValueError) as e:
            raise ModelFormatError(self._where(f"META section is not valid JSON: {e}")) from None
        if any(limits):
            self._session = self._call("sg_session_create_limited", self._model, *limits)
        else:
            self._session = self._call("sg_session_create", self._model)
        if not self._session:
            raise self._error(RuntimeFailure)
        self.inputs = [self._io(False, i) for i in range(self._call("sg_session_input_count", self._session))]
        self.outputs = [self._io(True, i) for i in range(self._call("sg_session_output_count", self._session))]

    # --- plumbing -------------------------------------------------------------------------
    def _call(self, name, *args):
        return self._wasm.call(name, *args)

    def _where(self, message: str) -> str:
        return f"{self.source}: {message}" if self.source else message

    def _cstr(self, ptr: int) -> str:
        if not ptr:
            return ""
        out = b""
        while True:
            chunk = self._wasm.read(ptr + len(out), 256)
            end = chunk.find(b"\0")
            if end >= 0 or not chunk:  # no chunk: the end of memory
                return (out + (chunk[:end] if end >= 0 else b"")).decode("utf-8", "replace")
            out += chunk

    def _last_error(self) -> str:
        return self._cstr(self._call("sg_last_error")) or "unknown runtime error"

    def _error(self, default: type) -> Exception:
        """The typed error of the runtime's last failure (sg_last_error_code)."""
        code = self._call("sg_last_error_code")
        err = _ERRORS.get(code, default)(self._where(self._last_error()))
        err.code = _CODE_NAMES.get(code, err.code)  # a format error at creation stays a RuntimeFailure
        return err

    def _io(self, output: bool, i: int) -> dict:
        kind = "output" if output else "input"
        s = self._session
        rank = self._call(f"sg_session_{kind}_rank", s, i)
        return {"name": self._cstr(self._call(f"sg_session_{kind}_name", s, i)),
                "shape": [self._call(f"sg_session_{kind}_dim", s, i, a) for a in range(rank)]}

    def _alive(self):
        if not self._session:
            raise RuntimeFailure(self._where("session is closed"))

    # --- API ------------------------------------------------------------------------------
    def _fixed_note(self, info: dict, message: str) -> str:
        """Why a refused shape cannot simply be fed: the converter fixed a dynamic dim."""
        fixed = self.metadata.get("fixed_dims", {}) if isinstance(self.metadata, dict) else {}
        axes = fixed.get(info["name"]) if isinstance(fixed, dict) else None
        if not isinstance(axes, dict) or "expected shape" not in message:
            return ""
        dims = ", ".join(f'{a} ("{n}")' for a, n in axes.items())
        return (f"; dim {dims} was dynamic in the ONNX model and fixed to 1 at conversion: "
                f"reconvert with input_shapes={{'{info['name']}': [...]}} to run another shape")

    def run(self, feeds) -> dict:
        """Runs the model. `feeds`: {input name: array}, or one array when there is one input.
        Returns {output name: float32 ndarray} (flat array('f') without numpy)."""
        self._alive()
        if not isinstance(feeds, dict):
            if len(self.inputs) != 1:
                raise InputError(f"the model has {len(self.inputs)} inputs "
                                 f"({', '.join(i['name'] for i in self.inputs)}); pass a dict")
            feeds = {self.inputs[0]["name"]: feeds}
        names = [i["name"] for i in self.inputs]
        unknown = [k for k in feeds if k not in names]
        if unknown:
            raise InputError(f"unknown input(s) {unknown}; the model's inputs are {names}")
        missing = [k for k in names if k not in feeds]
        if missing:
            raise InputError(f"missing input(s) {missing}; the model's inputs are {names}")
        for i, info in enumerate(self.inputs):
            try:
                data = _float_bytes(feeds[info["name"]], info["name"], info["shape"])
            except InputError as e:
                raise InputError(f"{e}{self._fixed_note(info, str(e))}") from None
            ptr = self._call("sg_session_input_data", self._session, i)
            if data:
                self._wasm.write(ptr, data)
        if self._call("sg_session_run", self._session) != 0:
            raise self._error(RuntimeFailure)
        out = {}
        for i, info in enumerate(self.outputs):
            n = _numel(info["shape"])
            raw = self._wasm.read(self._call("sg_session_output_data", self._session, i), 4 * n) if n else b""
            if np is not None:
                out[info["name"]] = np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(info["shape"])
            else:
                values = array("f", raw)
                if sys.byteorder != "little":
                    values.byteswap()
                out[info["name"]] = values
        return out

    def set_gate(self, gate: float) -> None:
        """0 = dense (identical to an ungated run); 1 = every gated layer at its calibrated
        sparsity. Models without gates ignore it."""
        self._alive()
        if isinstance(gate, bool) or not isinstance(gate, numbers.Real):
            raise InputError(f"gate must be a number in [0, 1], got {gate!r}")
        gate = float(gate)
        if not 0.0 <= gate <= 1.0:
            raise InputError(f"gate must be in [0, 1], got {gate}")
        if self._call("sg_session_set_gate", self._session, gate) != 0:
            raise RuntimeFailure(self._where(self._last_error()))

    def run_range(self, first: int, last: int) -> None:
        """Profiling only: runs nodes [first, last) on what memory holds (sg_session_run_range;
        run the whole model first). Outputs are not meaningful afterwards."""
        self._alive()
        if self._call("sg_session_run_range", self._session, int(first), int(last)) != 0:
            raise RuntimeFailure(self._where(self._last_error()))

    def stats(self) -> dict:
        """MACs of the last run: dense versus executed, in total and per layer."""
        self._alive()
        s = self._session
        layers = []
        for k in range(self._call("sg_session_node_count", s)):
            layers.append({"name": self._cstr(self._call("sg_session_node_name", s, k)),
                           "op": self._cstr(self._call("sg_session_node_op", s, k)),
                           "macs_dense": self._call("sg_session_node_macs_dense", s, k),
                           "macs_executed": self._call("sg_session_node_macs_executed", s, k)})
        return {"macs_dense": self._call("sg_session_macs_dense", s),
                "macs_executed": self._call("sg_session_macs_executed", s),
                "layers": layers,
                "arena_bytes": self._call("sg_session_arena_bytes", s),
                "memory_bytes": self._call("sg_session_memory_bytes", s)}

    def close(self) -> None:
        """Frees the session, the model and its bytes inside the runtime (idempotent)."""
        wasm = getattr(self, "_wasm", None)
        if wasm is None:
            return
        if getattr(self, "_session", 0):
            wasm.call("sg_session_free", self._session)
            self._session = 0
        if getattr(self, "_model", 0):
            wasm.call("sg_model_free", self._model)
            self._model = 0
        if getattr(self, "_blob_ptr", 0):
            wasm.call("sg_free", self._blob_ptr)
            self._blob_ptr = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self) -> str:
        return f"Session({self.source or '<bytes>'}, inputs={self.inputs}, outputs={self.outputs})"
