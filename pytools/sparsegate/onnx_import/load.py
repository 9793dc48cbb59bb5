"""Loading an ONNX model: opset check, node names, input shapes and bound inputs."""
from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping

import numpy as np
import onnx
from onnx import external_data_helper, numpy_helper

from ..errors import InputError, ModelFormatError, UnsupportedError

MIN_OPSET = 11


def load(model_or_path) -> tuple[onnx.ModelProto, str]:
    """Returns a private copy of the model (we rename nodes in it) and a source name.
    Accepts a path, the bytes of a model or an onnx.ModelProto; external data is read from
    the model file's folder."""
    if isinstance(model_or_path, onnx.ModelProto):
        model = onnx.ModelProto()
        model.CopyFrom(model_or_path)
        source, folder = model.graph.name or "<model>", None
    elif isinstance(model_or_path, (bytes, bytearray, memoryview)):
        source, folder = "<bytes>", None
        model = _parse(lambda: onnx.load_model_from_string(bytes(model_or_path)), source)
    elif isinstance(model_or_path, (str, os.PathLike)):
        path = os.fspath(model_or_path)
        source, folder = os.path.basename(path), os.path.dirname(os.path.abspath(path))
        try:
            model = _parse(lambda: onnx.load(path, load_external_data=False), source)
        except OSError as e:
            raise ModelFormatError(f"{path}: cannot read ({e.strerror or e})") from None
    else:
        raise InputError(f"convert takes a path, bytes or an onnx.ModelProto, not "
                         f"{type(model_or_path).__name__}")
    if not model.HasField("graph"):
        raise ModelFormatError(f"{source}: holds no graph (not an ONNX model, or empty)")
    _load_external_data(model.graph, folder, source)
    return model, source


def _parse(read, source: str) -> onnx.ModelProto:
    try:
        return read()
    except OSError:
        raise
    except Exception as e:  # noqa: BLE001 - protobuf's DecodeError (its package is no dependency of this part)
        raise ModelFormatError(f"{source}: not an ONNX model (truncated or corrupt?): {e}") from None


def _stored_tensors(graph: onnx.GraphProto):
    """Every tensor stored in the graph: initializers and tensor attributes, subgraphs too."""
    yield from graph.initializer
    for node in graph.node:
        for a in node.attribute:
            if a.HasField("t"):
                yield a.t
            yield from a.tensors
            for g in ([a.g] if a.HasField("g") else []) + list(a.graphs):
                yield from _stored_tensors(g)


def _load_external_data(graph: onnx.GraphProto, folder: str | None, source: str) -> None:
    for t in _stored_tensors(graph):
        if not external_data_helper.uses_external_data(t):
            continue
        location = next((e.value for e in t.external_data if e.key == "location"), "?")
        if folder is None:
            raise ModelFormatError(f"{source}: tensor '{t.name}' keeps its data in the external "
                                   f"file '{location}'; pass the model's path so it can be read")
        try:
            external_data_helper.load_external_data_for_tensor(t, folder)
        except (OSError, ValueError, onnx.checker.ValidationError) as e:
            raise ModelFormatError(f"{source}: tensor '{t.name}': cannot read its external data "
                                   f"'{location}' next to the model: {e}") from None


def opset_version(model: onnx.ModelProto) -> int:
    """The default-domain opset; older than MIN_OPSET fails with a clear message."""
    version = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    if version is None:
        raise UnsupportedError("model imports no default-domain (ai.onnx) opset",
                               [("<model>", "opset", "no ai.onnx opset import")])
    if version < MIN_OPSET:
        reason = (f"opset {version} is older than {MIN_OPSET}; re-export the model with "
                  f"opset >= {MIN_OPSET} (e.g. onnx.version_converter.convert_version)")
        raise UnsupportedError(reason, [("<model>", "opset", reason)])
    return version


def name_nodes(graph: onnx.GraphProto) -> None:
    """Gives every unnamed node an `<op>_<n>` name, unique within the graph."""
    taken = {n.name for n in graph.node if n.name}
    counts: Counter = Counter()
    for node in graph.node:
        if node.name:
            continue
        while True:
            name = f"{node.op_type}_{counts[node.op_type]}"
            counts[node.op_type] += 1
            if name not in taken:
                break
        node.name = name
        taken.add(name)


def _dims(value_info: onnx.ValueInfoProto) -> list:
    """Each dim as an int, or None where ONNX leaves it symbolic or unknown."""
    t = value_info.type.tensor_type
    if not t.HasField("shape"):
        return None
    return [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in t.shape.dim]


def _mapping(given, what: str) -> dict:
    if given is None:
        return {}
    if not isinstance(given, Mapping):
        raise InputError(f"{what} must map input names to values, not {type(given).__name__}")
    return dict(given)


def _given_shape(name: str, shape) -> tuple[int, ...]:
    """A shape from input_shapes: integer dims >= 0 (-1 is no static shape; ONNX's own test
    cases feed empty tensors); the format's upper limits are the writer's to check."""
    try:
        dims = list(shape)
    except TypeError:
        raise InputError(f"input_shapes['{name}']: {shape!r} is not a list of dims") from None
    if not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 0 for d in dims):
        raise InputError(f"input_shapes['{name}']: {shape!r} must list integers >= 0")
    return tuple(int(d) for d in dims)


def _given_value(name: str, value) -> np.ndarray:
    try:
        arr = np.asarray(value)
    except ValueError as e:  # ragged nesting
        raise InputError(f"constants['{name}']: not an array ({e})") from None
    if arr.dtype == object:
        raise InputError(f"constants['{name}']: holds Python objects, not tensor values")
    return arr


def bind_inputs(graph: onnx.GraphProto, input_shapes: dict | None, constants: dict | None):
    """Splits graph inputs into runtime inputs (float32, static shape) and constants.

    Returns (inputs: name -> shape, values: name -> array, fixed, problems); `fixed` maps an
    input whose dynamic batch dim was fixed to 1 to {axis: the ONNX dim's name}, for the
    hosts to explain a refused feed shape."""
    input_shapes = {name: _given_shape(name, shape)
                    for name, shape in _mapping(input_shapes, "input_shapes").items()}
    constants = _mapping(constants, "constants")
    initializers = {t.name for t in graph.initializer}
    inputs, values, fixed, problems = {}, {}, {}, []
    for vi in graph.input:
        if vi.name in initializers:
            continue  # old exporters list weights as inputs too; the initializer wins
        elem = vi.type.tensor_type.elem_type
        if vi.name in constants:
            values[vi.name] = _given_value(vi.name, constants.pop(vi.name))
            continue
        if elem != onnx.TensorProto.FLOAT:
            dtype = onnx.TensorProto.DataType.Name(elem)
            problems.append((vi.name, "input", f"graph input is {dtype}, only float32 inputs run; "
                             f"pass its value in constants={{'{vi.name}': ...}} to bind it"))
            continue
        if vi.name in input_shapes:
            inputs[vi.name] = input_shapes.pop(vi.name)
            continue
        dims = _dims(vi)
        if dims is None:
            problems.append((vi.name, "input", "graph input has no shape; pass input_shapes="))
            continue
        if dims and dims[0] is None:
            dims[0] = 1  # a dynamic leading dim is the batch: fix it to 1
            fixed[vi.name] = {"0": vi.type.tensor_type.shape.dim[0].dim_param or "?"}
        missing = [i for i, d in enumerate(dims) if d is None]
        if missing:
            problems.append((vi.name, "input", f"dimension {missing[0]} of shape "
                             f"{[d if d is not None else '?' for d in dims]} is dynamic; "
                             f"pass input_shapes={{'{vi.name}': [...]}}"))
            continue
        inputs[vi.name] = tuple(dims)
    for name in list(input_shapes) + list(constants):
        problems.append((name, "input", "not a graph input (input_shapes/constants name it)"))
    return inputs, values, fixed, problems


def initializer_values(graph: onnx.GraphProto, source: str) -> dict[str, np.ndarray]:
    values = {}
    for t in graph.initializer:
        try:
            values[t.name] = numpy_helper.to_array(t)
        except Exception as e:  # noqa: BLE001 - onnx raises ValueError, TypeError, KeyError… for bad data
            raise ModelFormatError(f"{source}: initializer '{t.name}': its data does not fit "
                                   f"its dtype and shape: {e}") from None
    return values
