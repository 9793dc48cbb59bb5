"""The state shared by the per-op converters while they emit IR nodes."""
from __future__ import annotations

import numpy as np
import onnx
from onnx import helper

from ..ir import Node, TensorInfo
from .fold import Analysis


class Unsupported(Exception):
    """Raised by a converter: this node cannot become IR (the message says why)."""


class Attributes(dict):
    """A node's ONNX attributes as Python values (strings decoded) that remembers which ones its
    converter read: an attribute nobody read would be silently ignored (`unread`)."""

    def __init__(self, node: onnx.NodeProto):
        super().__init__((a.name, _value(a)) for a in node.attribute)
        self.read: set[str] = set()

    def __getitem__(self, name):
        self.read.add(name)
        return super().__getitem__(name)

    def get(self, name, default=None):
        self.read.add(name)
        return super().get(name, default)

    def consume(self, *names: str) -> None:
        """Marks attributes whose meaning the converter takes from elsewhere (e.g. the inferred
        output shape) as handled."""
        self.read.update(names)

    def unread(self, node: onnx.NodeProto, opset: int) -> list[str]:
        """The attributes never read whose value differs from the ONNX default for this op."""
        try:
            schema = onnx.defs.get_schema(node.op_type, opset, node.domain or "")
            defaults = {name: _value(a.default_value) for name, a in schema.attributes.items()
                        if a.default_value.type != onnx.AttributeProto.UNDEFINED}
        except onnx.defs.SchemaError:
            defaults = {}
        return [name for name, v in self.items() if name not in self.read
                and not (name in defaults and _same(v, defaults[name]))]


def _value(a: onnx.AttributeProto):
    v = helper.get_attribute_value(a)
    return v.decode("utf-8") if isinstance(v, bytes) else v


def _same(a, b) -> bool:
    try:
        return bool(np.array_equal(np.asarray(a), np.asarray(b)))
    except (TypeError, ValueError):
        return a == b


def attributes(node: onnx.NodeProto) -> Attributes:
    return Attributes(node)


class Builder:
    def __init__(self, an: Analysis, opset: int, used: set[str]):
        self.an, self.opset, self.used = an, opset, used
        self.nodes: list[Node] = []
        self.tensors: dict[str, TensorInfo] = {}
        self._node_names: set[str] = set()

    # --- what the analysis knows -------------------------------------------------------
    def shape(self, name: str) -> tuple[int, ...]:
        return self.an.shapes[name]

    def value(self, name: str) -> np.ndarray | None:
        return self.an.values.get(name) if name else None

    def const(self, name: str, what: str) -> np.ndarray:
        """The value of an input that must be known at conversion (shape, pads, scales…)."""
        v = self.value(name)
        if v is None:
            raise Unsupported(f"{what} ('{name}') must be a constant, it is computed at run time")
        return v

    # --- IR tensors --------------------------------------------------------------------
    def use(self, name: str) -> str:
        """Registers an input tensor: a float32 constant or an activation."""
        if not name or name in self.tensors:
            return name
        v = self.value(name)
        if v is not None:
            if v.dtype.kind != "f":
                raise Unsupported(f"input '{name}' is a {v.dtype} constant where float32 data is read")
            v = np.ascontiguousarray(v, dtype=np.float32)
            self.tensors[name] = TensorInfo(name, tuple(v.shape), np.dtype(np.float32), v)
        else:
            self._activation(name)
        return name

    def out(self, name: str) -> str:
        """Registers an output tensor of the node being converted."""
        return self._activation(name)

    def _activation(self, name: str) -> str:
        dtype = self.an.dtypes[name]
        if dtype != np.float32:
            raise Unsupported(f"tensor '{name}' is {dtype}: only float32 computation runs "
                              f"(non-float tensors must fold to constants)")
        self.tensors[name] = TensorInfo(name, tuple(self.shape(name)))
        return name

    def temp(self, base: str, shape) -> str:
        """A new activation tensor named after `base`."""
        name, k = base, 1
        while name in self.tensors or name in self.an.shapes:
            name, k = f"{base}_{k}", k + 1
        self.tensors[name] = TensorInfo(name, tuple(int(d) for d in shape))
        return name

    def add_const(self, base: str, array: np.ndarray) -> str:
        name = self.temp(base, array.shape)
        self.tensors[name].data = np.ascontiguousarray(array, dtype=np.float32)
        return name

    # --- IR nodes ----------------------------------------------------------------------
    def emit(self, op: str, name: str, inputs: list[str], outputs: list[str], **attrs) -> Node:
        unique, k = name, 1
        while unique in self._node_names:
            unique, k = f"{name}_{k}", k + 1
        self._node_names.add(unique)
        node = Node(op, unique, [self.use(i) for i in inputs], list(outputs), attrs)
        self.nodes.append(node)
        return node

    def reshape(self, name: str, src: str, dst: str) -> str:
        self.emit("Reshape", name, [src], [dst])
        return dst
