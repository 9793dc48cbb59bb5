"""ONNX's own node test cases (`onnx.backend.test.case.node`), ready to import and run.

Each case is a small model plus inputs and expected outputs. `iter_cases()` yields those whose
ops sparsegate converts; `case_constants()` says which graph inputs must be bound at
conversion (shape-like inputs such as Reshape's shape, Clip bounds, Conv weights), and
`import_case()` imports a case with them bound."""
from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import onnx
from onnx import numpy_helper

from ..onnx_import import CONVERTERS, import_onnx

# Input slots read at conversion time: graph inputs feeding them become constants.
# Conv/Gemm/BatchNormalization weights are bound too: real models carry them as weights.
CONSTANT_SLOTS = {
    "Clip": (1, 2), "Slice": (1, 2, 3, 4), "Pad": (1, 2, 3), "Resize": (1, 2, 3),
    "Reshape": (1,), "Split": (1,), "Squeeze": (1,), "Unsqueeze": (1,), "Gather": (1,),
    "Dropout": (1, 2), "BatchNormalization": (1, 2, 3, 4), "Conv": (1, 2), "ConvTranspose": (1, 2), "Gemm": (1, 2),
    "Expand": (1,), "Tile": (1,), "ConstantOfShape": (0,), "Range": (0, 1, 2),
    **{op: (1,) for op in ("ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd",
                           "ReduceL2", "ReduceLogSumExp")},
}

# Cases where sparsegate follows onnxruntime rather than ONNX's reference implementation.
KNOWN_DIFFERENCES = {
    "test_resize_downsample_scales_linear_align_corners":
        "align_corners with a fractional output size: the ONNX reference divides by "
        "scale*length-1, onnxruntime (and sparsegate) by the integer output length-1",
}

# Ops that only compute constants: allowed in a case, they must fold away.
FOLD_ONLY = {"Constant", "Shape", "Size", "ConstantOfShape", "Range"}


@dataclass
class OnnxCase:
    name: str
    model: onnx.ModelProto
    inputs: dict[str, np.ndarray]
    outputs: dict[str, np.ndarray]
    op_types: set[str] = field(default_factory=set)
    rtol: float = 1e-3
    atol: float = 1e-5

    @property
    def label(self) -> str:
        """The ops under test, e.g. 'Conv' or 'Softmax' ('+'-joined when several)."""
        main = sorted(self.op_types - FOLD_ONLY) or sorted(self.op_types)
        return "+".join(main)


@functools.lru_cache(maxsize=1)
def _all_cases():
    from onnx.backend.test.case.node import collect_testcases  # slow to import: only when cases are asked for
    with warnings.catch_warnings():  # the generators overflow casts on purpose
        warnings.simplefilter("ignore", RuntimeWarning)
        return tuple(collect_testcases())


def _array(value):
    if isinstance(value, onnx.TensorProto):
        return numpy_helper.to_array(value)
    if isinstance(value, (np.ndarray, np.generic)):
        return np.asarray(value)
    return None  # sequences, optionals, maps: not tensors


def _op_types(graph: onnx.GraphProto) -> set[str]:
    return {n.op_type for n in graph.node}


def iter_cases(supported_ops: set[str] | None = None) -> Iterator[OnnxCase]:
    """Yields every case (first data set and the rest, suffixed `_1`, …) whose ops are all in
    `supported_ops` (default: the importer's converters plus ops that only fold)."""
    if supported_ops is None:
        supported_ops = set(CONVERTERS) | FOLD_ONLY
    for case in _all_cases():
        model = case.model
        ops = _op_types(model.graph)
        if not ops or not ops <= supported_ops or any(n.domain not in ("", "ai.onnx")
                                                       for n in model.graph.node):
            continue
        init = {t.name for t in model.graph.initializer}
        in_names = [i.name for i in model.graph.input if i.name not in init]
        out_names = [o.name for o in model.graph.output]
        for k, (ins, outs) in enumerate(case.data_sets):
            ins, outs = [_array(v) for v in ins], [_array(v) for v in outs]
            if any(v is None for v in ins + outs) or len(ins) != len(in_names):
                continue
            yield OnnxCase(case.name + (f"_{k}" if k else ""), model, dict(zip(in_names, ins)),
                           dict(zip(out_names, outs)), ops, case.rtol or 1e-3, case.atol or 1e-5)


def case_constants(case: OnnxCase) -> dict[str, np.ndarray]:
    """Graph inputs to bind at conversion: non-float32 ones and those in CONSTANT_SLOTS."""
    bound = {n for n, v in case.inputs.items() if v.dtype != np.float32}
    for node in case.model.graph.node:
        for slot in CONSTANT_SLOTS.get(node.op_type, ()):
            if slot < len(node.input) and node.input[slot] in case.inputs:
                bound.add(node.input[slot])
    return {n: case.inputs[n] for n in bound}


def runtime_inputs(case: OnnxCase) -> dict[str, np.ndarray]:
    """The inputs fed at run time (those not bound as constants)."""
    bound = case_constants(case)
    return {n: v for n, v in case.inputs.items() if n not in bound}


def import_case(case: OnnxCase):
    """The case's model as an IR graph (raises UnsupportedError like any import)."""
    feeds = runtime_inputs(case)
    return import_onnx(case.model, input_shapes={n: v.shape for n, v in feeds.items()},
                       constants=case_constants(case))
