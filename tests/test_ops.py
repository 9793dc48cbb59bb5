"""The cross-backend op table: every IR op, many shapes (odd sizes included), each case run
through the real wasm runtime and compared with the numpy reference executor.

One row = one case: `case(op, inputs, outs=None, tol=..., **attrs)`. `inputs` lists shapes;
`C(shape)` makes that input a constant (stored in DATA, used in place by the runtime).
`outs` lists output shapes; when absent they come from the numpy reference. New op -> new
rows here, always. ERRORS lists graphs every backend must refuse with a clear message.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np
import pytest

from sparsegate.errors import RuntimeFailure, SparsegateError
from sparsegate.format import model_bytes
from sparsegate.ir import Graph, Node, TensorInfo
from sparsegate.reference import OPS, run_graph
from sparsegate.runtime import Session


@dataclass
class C:
    """An input that is a constant tensor of this shape."""
    shape: tuple
    values: np.ndarray | None = None


@dataclass
class Case:
    op: str
    inputs: list
    attrs: dict = field(default_factory=dict)
    outs: list | None = None
    tol: float = 1e-5
    data: str = "normal"  # "normal" | "positive" (e.g. divisors) | "int" (exact ties for max)
    name: str = ""


def case(op, inputs, outs=None, tol=1e-5, data="normal", name="", **attrs) -> Case:
    return Case(op, inputs, attrs, outs, tol, data, name)


def _values(rng, shape, kind):
    if kind == "positive":
        return rng.uniform(0.5, 2.0, shape).astype(np.float32)
    if kind == "int":
        return rng.integers(-4, 5, shape).astype(np.float32)
    return rng.standard_normal(shape).astype(np.float32)


def build(c: Case, seed: int = 0):
    """The one-node graph of a case and its feeds."""
    rng = np.random.default_rng(seed)
    tensors, feeds, names, arrays = {}, {}, [], []
    for i, spec in enumerate(c.inputs):
        name = f"in{i}"
        if spec is None:  # absent optional input
            names.append("")
            arrays.append(None)
            continue
        if isinstance(spec, C):
            arr = spec.values if spec.values is not None else _values(rng, tuple(spec.shape), c.data)
            stored = arr.dtype if arr.dtype in (np.int8, np.int32, np.float16) else np.float32
            tensors[name] = TensorInfo(name, tuple(arr.shape), data=np.asarray(arr, stored))
        else:
            arr = _values(rng, tuple(spec), c.data)
            tensors[name] = TensorInfo(name, tuple(arr.shape))
            feeds[name] = arr
        names.append(name)
        arrays.append(arr)
    outs = c.outs
    if outs is None:
        outs = [tuple(o.shape) for o in OPS[c.op](arrays, c.attrs, None)]
    out_names = [f"out{i}" for i in range(len(outs))]
    for name, shape in zip(out_names, outs):
        tensors[name] = TensorInfo(name, tuple(shape))
    node = Node(c.op, f"{c.op.lower()}_node", names, out_names, dict(c.attrs))
    graph = Graph([node], tensors, [n for n in names if n in feeds], out_names)
    return graph, feeds


def case_id(c: Case) -> str:
    if c.name:
        return c.name
    shapes = "_".join("c" + "x".join(map(str, s.shape)) if isinstance(s, C) else
                      "none" if s is None else "x".join(map(str, s)) or "scalar" for s in c.inputs)
    attrs = "_".join(f"{k}{v}" for k, v in c.attrs.items() if not isinstance(v, str) or v)
    tag = zlib.crc32(repr((shapes, c.attrs)).encode()) % 1000
    return f"{c.op}-{shapes}-{attrs}-{tag}"[:90]


D = dict  # shorthand for attribute dicts in rows
CASES: list[Case] = [
    # --- elementwise binary, numpy broadcasting ---
    *[case(op, [[2, 3, 5, 7], [2, 3, 5, 7]], data="positive" if op == "Div" else "normal")
      for op in ("Add", "Sub", "Mul", "Div")],
    *[case(op, [[1, 13, 7, 9], C((1, 13, 1, 1))], data="positive" if op == "Div" else "normal")
      for op in ("Add", "Sub", "Mul", "Div")],
    case("Add", [[3, 1, 5], [1, 4, 1]]),
    case("Sub", [[1], [2, 3, 17]]),
    case("Mul", [[2, 3, 17], C(())]),
    case("Div", [C(()), [5, 3]], data="positive"),
    case("Add", [[6], [4, 6]]),
    case("Sub", [[4, 1], [6]]),
    case("Mul", [[2, 1, 3, 1, 5], [1, 4, 1, 6, 1]]),
    case("Add", [[1, 2, 1, 2, 1, 2, 1, 3], [2, 1, 2, 1, 2, 1, 2, 1]]),
    case("Add", [[2, 0, 3], [1, 3]]),
    case("Mul", [[1, 1], [1, 1]]),
    case("Add", [[], []]),
    case("Add", [[1027], [1027]]),
    # fused activation (the importer's Add+Relu fusion): blocks of 1024 with a tail, broadcasts
    case("Add", [[1, 24, 9, 11], [1, 24, 9, 11]], activation="Relu", activation_params=[]),
    case("Add", [[1, 3000], [1, 3000]], activation="Relu", activation_params=[]),
    case("Add", [[2, 3, 5, 7], C((1, 3, 1, 1))], activation="Clip", activation_params=[0.0, 6.0]),
    case("Sub", [[2, 3, 17], C(())], activation="LeakyRelu", activation_params=[0.1]),
    case("Mul", [[1], [2, 3, 17]], activation="Sigmoid", activation_params=[]),
    case("Div", [[4, 6], [6]], data="positive", activation="Tanh", activation_params=[]),
    case("Add", [[], []], activation="HardSwish", activation_params=[]),
    case("PRelu", [[1, 8, 5, 5], C((8, 1, 1))]),
    case("PRelu", [[2, 7, 3], C((1,))]),
    case("PRelu", [[3, 9], [3, 9]]),
    case("PRelu", [[1, 5, 6], C((5, 6))]),
    # --- Concat / Split ---
    case("Concat", [[1, 3, 4, 5], [1, 2, 4, 5], C((1, 1, 4, 5))], axis=1),
    case("Concat", [[2, 3], [2, 5]], axis=1),
    case("Concat", [[2, 3, 7], [1, 3, 7]], axis=0),
    case("Concat", [[4, 3, 1], [4, 3, 2], [4, 3, 0]], axis=2),
    case("Concat", [[5, 2]], axis=0),
    case("Split", [[1, 10, 3, 3]], axis=1, split=[3, 7]),
    case("Split", [[4, 9]], axis=1, split=[2, 2, 5]),
    case("Split", [[6, 5, 2]], axis=0, split=[1, 0, 5]),
    case("Split", [[3, 4, 11]], axis=2, split=[11]),
    # --- Slice (outs given: the output shape is the tensor's) ---
    case("Slice", [[2, 10, 7]], outs=[(2, 4, 3)], starts=[0, 1, 2], steps=[1, 2, 1]),
    case("Slice", [[9, 8]], outs=[(9, 8)], starts=[8, 7], steps=[-1, -1]),
    case("Slice", [[1, 3, 11, 13]], outs=[(1, 3, 6, 7)], starts=[0, 0, 0, 0], steps=[1, 1, 2, 2]),
    case("Slice", [[1, 3, 11, 13]], outs=[(1, 2, 5, 4)], starts=[0, 2, 10, 1], steps=[1, -1, -2, 3]),
    case("Slice", [[6, 5]], outs=[(0, 5)], starts=[0, 0], steps=[1, 1]),
    case("Slice", [[7]], outs=[(1,)], starts=[6], steps=[100]),
    # --- Reshape ---
    case("Reshape", [[2, 3, 4]], outs=[(6, 4)]),
    case("Reshape", [[1, 1280, 1, 1]], outs=[(1, 1280)]),
    case("Reshape", [[5]], outs=[(1, 5, 1)]),
    case("Reshape", [C((3, 4))], outs=[(12,)], name="Reshape-of-constant"),
    # --- Transpose ---
    case("Transpose", [[2, 3, 5]], perm=[2, 0, 1]),
    case("Transpose", [[1, 3, 7, 9]], perm=[0, 2, 3, 1]),
    case("Transpose", [[1, 7, 9, 3]], perm=[0, 3, 1, 2]),
    case("Transpose", [[17, 33]], perm=[1, 0]),
    case("Transpose", [[2, 3, 4, 5, 6]], perm=[4, 2, 0, 3, 1]),
    case("Transpose", [[2, 3, 4]], perm=[0, 1, 2]),
    case("Transpose", [[2, 1, 3, 1, 2, 1, 2, 2]], perm=[7, 6, 5, 4, 3, 2, 1, 0]),
    # --- Pad ---
    case("Pad", [[1, 3, 5, 6]], pads=[0, 0, 1, 2, 0, 0, 3, 1], mode="constant", value=0.5),
    case("Pad", [[1, 3, 5, 6]], pads=[0, 0, 2, 1, 0, 0, 1, 3], mode="reflect", value=0.0),
    case("Pad", [[1, 3, 5, 6]], pads=[0, 0, 2, 3, 0, 0, 4, 1], mode="edge", value=0.0),
    case("Pad", [[2, 7]], pads=[-1, 2, 0, -3], mode="constant", value=-1.0),
    case("Pad", [[4, 9]], pads=[1, -2, 2, 3], mode="reflect", value=0.0),
    case("Pad", [[4, 9]], pads=[-1, 2, -2, -4], mode="edge", value=0.0),
    case("Pad", [[3, 4]], pads=[0, 9, 0, 7], mode="reflect", value=0.0),
    case("Pad", [[3, 1]], pads=[0, 2, 0, 3], mode="reflect", value=0.0),
    case("Pad", [[0, 3]], pads=[1, 0, 2, 0], mode="constant", value=2.0),
    case("Pad", [[5]], pads=[0, 0], mode="edge", value=0.0),
    # --- Softmax ---
    case("Softmax", [[2, 1000]], axis=1),
    case("Softmax", [[3, 7, 5]], axis=1),
    case("Softmax", [[3, 7, 5]], axis=0),
    case("Softmax", [[1, 5, 4, 3]], axis=3),
    case("Softmax", [[9]], axis=0),
    case("Softmax", [[4, 1]], axis=1),

    # --- compute ops ---
    # Conv: im2col, pointwise (1x1) and depthwise paths; odd sizes, groups, strides, dilations,
    # asymmetric pads and every fused activation.
    case("Conv", [[1, 3, 7, 9], C((5, 3, 3, 3)), C((5,))], strides=[1, 1], pads=[1, 1, 1, 1],
         dilations=[1, 1], group=1, activation="", activation_params=[]),
    # im2col rows of strides 1 and 2 copied 4 columns at a time, across 8-column panels
    case("Conv", [[1, 3, 37, 41], C((8, 3, 5, 5)), C((8,))], strides=[2, 2], pads=[2, 2, 2, 2],
         dilations=[1, 1], group=1, activation="", activation_params=[]),
    case("Conv", [[1, 2, 12, 29], C((5, 2, 3, 3)), C((5,))], strides=[1, 1], pads=[0, 1, 2, 1],
         dilations=[1, 1], group=1, activation="Relu", activation_params=[]),
    # depthwise 3×3 (the unrolled kernels): row path strides 1 and 2, flat path
    case("Conv", [[1, 4, 33, 35], C((4, 1, 3, 3)), C((4,))], strides=[1, 1], pads=[1, 1, 1, 1],
         dilations=[1, 1], group=4, activation="Relu", activation_params=[]),
    case("Conv", [[1, 4, 33, 35], C((4, 1, 3, 3)), C((4,))], strides=[2, 2], pads=[0, 0, 1, 1],
         dilations=[1, 1], group=4, activation="", activation_params=[]),
    case("Conv", [[1, 6, 8, 8], C((6, 1, 3, 3)), C((6,))], strides=[1, 1], pads=[1, 1, 1, 1],
         dilations=[1, 1], group=6, activation="", activation_params=[]),
    case("Conv", [[1, 7, 5, 5], C((13, 7, 1, 1)), C((13,))], strides=[1, 1], pads=[0, 0, 0, 0],
         dilations=[1, 1], group=1, activation="Relu", activation_params=[]),
    case("Conv", [[2, 16, 14, 14], C((8, 16, 1, 1))], strides=[1, 1], pads=[0, 0, 0, 0],
         dilations=[1, 1], group=1, activation="Clip", activation_params=[0.0, 6.0]),
    case("Conv", [[1, 37, 3, 11], C((37, 37, 1, 1)), C((37,))], strides=[1, 1], pads=[0, 0, 0, 0],
         dilations=[1, 1], group=1, activation="Silu", activation_params=[]),
    case("Conv", [[1, 5, 11, 10], C((6, 5, 3, 3)), C((6,))], strides=[2, 2], pads=[0, 1, 1, 0],
         dilations=[1, 1], group=1, activation="HardSwish", activation_params=[]),
    case("Conv", [[1, 4, 12, 13], C((7, 4, 3, 3)), C((7,))], strides=[1, 1], pads=[2, 3, 2, 3],
         dilations=[2, 3], group=1, activation="Sigmoid", activation_params=[]),
    case("Conv", [[1, 6, 9, 8], C((9, 2, 3, 3)), C((9,))], strides=[1, 1], pads=[1, 1, 1, 1],
         dilations=[1, 1], group=3, activation="Silu", activation_params=[]),
    case("Conv", [[1, 3, 32, 32], C((16, 3, 3, 3)), C((16,))], strides=[2, 2], pads=[0, 0, 1, 1],
         dilations=[1, 1], group=1, activation="Relu", activation_params=[]),
    case("Conv", [[1, 6, 9, 9], C((5, 6, 1, 1)), C((5,))], strides=[2, 2], pads=[0, 0, 0, 0],
         dilations=[1, 1], group=1, activation="LeakyRelu", activation_params=[0.1]),
    case("Conv", [[1, 64, 24, 24], C((20, 64, 3, 3)), C((20,))], strides=[1, 1],
         pads=[1, 1, 1, 1], dilations=[1, 1], group=1, activation="", activation_params=[],
         tol=1e-4),
    case("Conv", [[1, 3, 5, 5], C((4, 3, 7, 7)), C((4,))], strides=[1, 1], pads=[3, 3, 3, 3],
         dilations=[1, 1], group=1, activation="Tanh", activation_params=[]),
    case("Conv", [[1, 5, 9, 15], C((3, 5, 1, 7)), C((3,))], strides=[1, 2], pads=[0, 3, 0, 3],
         dilations=[1, 1], group=1, activation="HardSigmoid", activation_params=[0.2, 0.5]),
    case("Conv", [[2, 3, 6, 7], C((4, 3, 2, 2))], strides=[3, 2], pads=[1, 0, 0, 2],
         dilations=[2, 1], group=1, activation="", activation_params=[]),
    # depthwise: stride 1, stride 2, generic stride, dilation, 5x5, channel multiplier
    case("Conv", [[1, 8, 13, 11], C((8, 1, 3, 3)), C((8,))], strides=[1, 1], pads=[1, 1, 1, 1],
         dilations=[1, 1], group=8, activation="Clip", activation_params=[0.0, 6.0]),
    case("Conv", [[1, 5, 15, 17], C((5, 1, 3, 3)), C((5,))], strides=[2, 2], pads=[1, 1, 1, 1],
         dilations=[1, 1], group=5, activation="HardSigmoid", activation_params=[0.2, 0.5]),
    case("Conv", [[2, 7, 20, 21], C((7, 1, 5, 5)), C((7,))], strides=[2, 2], pads=[2, 2, 2, 2],
         dilations=[1, 1], group=7, activation="LeakyRelu", activation_params=[0.1]),
    case("Conv", [[1, 4, 10, 19], C((4, 1, 3, 3)), C((4,))], strides=[1, 1], pads=[2, 2, 2, 2],
         dilations=[2, 2], group=4, activation="Tanh", activation_params=[]),
    case("Conv", [[1, 3, 14, 23], C((3, 1, 3, 2))], strides=[3, 3], pads=[0, 1, 2, 0],
         dilations=[1, 1], group=3, activation="Sigmoid", activation_params=[]),
    case("Conv", [[1, 16, 7, 7], C((16, 1, 3, 3)), C((16,))], strides=[2, 2], pads=[0, 0, 1, 1],
         dilations=[1, 1], group=16, activation="HardSwish", activation_params=[]),
    case("Conv", [[1, 4, 6, 7], C((8, 1, 3, 3)), C((8,))], strides=[1, 1], pads=[1, 1, 1, 1],
         dilations=[1, 1], group=4, activation="Silu", activation_params=[]),
    case("Conv", [[1, 3, 9, 37], C((3, 1, 3, 3)), C((3,))], strides=[1, 1], pads=[1, 0, 1, 2],
         dilations=[1, 1], group=3, activation="Relu", activation_params=[]),
    case("Conv", [[1, 64, 23, 23], C((6, 64, 3, 3)), C((6,))], strides=[1, 1],
         pads=[1, 1, 1, 1], dilations=[1, 1], group=1, activation="Silu", activation_params=[],
         tol=1e-4),
    # Gemm: constant B packed (transB), activation B (transposed at run time), transA, alpha,
    # beta and every broadcast of C.
    case("Gemm", [[1, 64], C((50, 64)), C((50,))], transA=0, transB=1, alpha=1.0, beta=1.0,
         activation="", activation_params=[]),
    case("Gemm", [[5, 7], C((7, 11)), C((1, 11))], transA=0, transB=0, alpha=0.5, beta=2.0,
         activation="Relu", activation_params=[]),
    case("Gemm", [[7, 5], [11, 7], C((5, 1))], transA=1, transB=1, alpha=1.0, beta=1.0,
         activation="", activation_params=[]),
    case("Gemm", [[6, 9], [9, 13]], transA=0, transB=0, alpha=1.5, beta=1.0,
         activation="Sigmoid", activation_params=[]),
    case("Gemm", [[9, 6], C((13, 9)), [6, 13]], transA=1, transB=1, alpha=1.0, beta=-1.0,
         activation="Tanh", activation_params=[]),
    case("Gemm", [[3, 4], C((4, 5)), C(())], transA=0, transB=0, alpha=2.0, beta=0.5,
         activation="LeakyRelu", activation_params=[0.2]),
    # MatMul: numpy semantics, 1-D operands, batch broadcasting
    case("MatMul", [[3, 5], [5, 7]]),
    case("MatMul", [[2, 3, 5, 9], C((9, 4))]),
    case("MatMul", [[7], [7, 5]]),
    case("MatMul", [[4, 6], [6]]),
    case("MatMul", [[2, 1, 4, 5], [3, 5, 6]]),
    case("MatMul", [[13, 33], [33, 17]]),
    case("MatMul", [[9], [9]]),
    # unary activations: odd element counts, and a wide range for the exp-based ones
    *[case(op, [[2, 3, 5, 7]]) for op in ("Relu", "Sigmoid", "Tanh", "HardSwish", "Silu")],
    *[case(op, [C((1001,), np.linspace(-30, 30, 1001, dtype=np.float32))], name=f"{op}-range")
      for op in ("Sigmoid", "Tanh", "Silu", "HardSwish")],
    case("Tanh", [C((801,), np.linspace(-1, 1, 801, dtype=np.float32))], name="Tanh-near-zero"),
    case("LeakyRelu", [[3, 1027]], alpha=0.1),
    case("HardSigmoid", [[2, 3, 5, 7]], alpha=0.2, beta=0.5),
    case("Clip", [[2, 3, 5, 7]], min=-0.5, max=1.5),
    case("Clip", [[1, 7, 3]], min=0, max=6),
    case("Clip", [[13]], min=float("-inf"), max=0.25),
    # element-wise math (kernels/math_f32.h): odd counts (SIMD tails), wide ranges, specials
    *[case(op, [[2, 3, 5, 7]]) for op in ("Exp", "Abs", "Neg", "Floor", "Ceil", "Sign", "Erf",
                                           "Softplus", "Mish")],
    *[case(op, [[3, 37]], data="positive") for op in ("Log", "Sqrt", "Reciprocal")],
    case("Round", [C((13,), np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.49, -0.51, 3.7, -3.2, 0,
                                      1e7 + 0.5, -7.5], np.float32))], name="Round-half-even"),
    *[case(op, [C((1001,), np.linspace(-90, 90, 1001, dtype=np.float32))], name=f"{op}-range",
           tol=3e-5) for op in ("Exp", "Erf", "Softplus", "Mish", "Sign")],
    case("Exp", [C((801,), np.linspace(-1, 1, 801, dtype=np.float32))], name="Exp-near-zero"),
    case("Log", [C((9,), np.array([0, 1e-40, 1e-30, 0.5, 1, 2, 1e30, 3e38, np.inf], np.float32))],
         name="Log-specials"),
    case("Log", [C((2001,), np.geomspace(1e-3, 1e3, 2001, dtype=np.float32))], name="Log-range"),
    case("Elu", [[3, 1027]], alpha=0.7),
    case("Selu", [[2, 3, 5, 7]], alpha=1.67326319217681884765625, gamma=1.05070102214813232421875),
    case("Gelu", [[2, 3, 5, 7]], approximate="none"),
    case("Gelu", [[5, 41]], approximate="tanh"),
    *[case("Gelu", [C((1001,), np.linspace(-12, 12, 1001, dtype=np.float32))], tol=3e-5,
           approximate=a, name=f"Gelu-{a}-range") for a in ("none", "tanh")],
    case("Pow", [[2, 3, 7], C(())], data="positive"),
    case("Pow", [[3, 13], [3, 13]], data="positive"),
    case("Pow", [[2, 3, 5], C((1, 5), np.array([[2, 3, 0.5, -1, 0]], np.float32))], data="positive"),
    case("Pow", [C((6,), np.array([-2, -1, 0, 2, -3, 4], np.float32)), C((1,), np.array([3], np.float32))],
         name="Pow-negative-base-integer-exponent"),
    # reductions: contiguous and split axes, kept innermost rows, size-1 and empty dims
    *[case(op, [[2, 3, 5, 7]], axes=ax, keepdims=k, tol=2e-5 if op == "ReduceProd" else 1e-5)
      for op in ("ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL2",
                 "ReduceLogSumExp")
      for ax, k in (([1], 1), ([0, 2], 0), ([3], 0), ([0, 1, 2, 3], 1))],
    case("ReduceMean", [[1, 13, 1, 33]], axes=[1, 3], keepdims=1),
    case("ReduceSum", [[3, 1027]], axes=[1], keepdims=0, tol=1e-4),
    case("ReduceSum", [[4099, 3]], axes=[0], keepdims=1, tol=1e-4),
    case("ReduceMax", [[5, 3, 9]], axes=[1], keepdims=1, data="int"),
    case("ReduceLogSumExp", [C((2, 5), np.array([[1000, 999, 998, -1, 0], [-np.inf] * 5], np.float32))],
         axes=[1], keepdims=0, name="ReduceLogSumExp-large-and-inf"),
    *[case(op, [[2, 0, 4]], axes=[1], keepdims=1, name=f"{op}-empty")
      for op in ("ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL2",
                 "ReduceLogSumExp")],
    case("ReduceSum", [[2, 0, 4]], axes=[2], keepdims=0, name="ReduceSum-empty-input-kept-axis"),
    # ConvTranspose: strides, pads, dilations, groups, output_padding, odd sizes, GEMM tiles
    *[case("ConvTranspose", [[n, c, h, w], C((c, mg, kh, kw))] + ([C((mg * g,))] if bias else []),
           strides=list(s), pads=list(p), dilations=list(d), group=g, output_padding=list(op), tol=2e-5)
      for n, c, h, w, mg, kh, kw, s, p, d, g, op, bias in [
          (1, 3, 5, 7, 4, 3, 3, (1, 1), (0, 0, 0, 0), (1, 1), 1, (0, 0), True),
          (2, 4, 6, 5, 3, 3, 3, (2, 2), (1, 1, 1, 1), (1, 1), 1, (1, 1), True),
          (1, 6, 7, 9, 2, 4, 3, (2, 3), (1, 0, 2, 1), (1, 2), 3, (1, 0), False),
          (1, 8, 9, 9, 1, 2, 2, (2, 2), (0, 0, 0, 0), (1, 1), 8, (0, 0), True),
          (1, 5, 3, 4, 7, 1, 1, (1, 1), (0, 0, 0, 0), (1, 1), 1, (0, 0), False),
          (1, 2, 40, 41, 9, 5, 5, (1, 1), (2, 2, 2, 2), (1, 1), 1, (0, 0), True),
      ]],
    # LayerNormalization: last axis and several, odd rows, optional B, run-time Scale
    case("LayerNormalization", [[2, 3, 37], C((37,)), C((37,))], axis=2, epsilon=1e-5),
    case("LayerNormalization", [[3, 5, 7], C((5, 7))], axis=1, epsilon=1e-3),
    case("LayerNormalization", [[1, 4, 1027], [1027], None], axis=2, epsilon=1e-5, tol=2e-5),
    case("LayerNormalization", [[6, 3], C((6, 3)), [6, 3]], axis=0, epsilon=0.1),
    case("LayerNormalization", [[0, 5], C((5,))], axis=1, epsilon=1e-5, name="LayerNormalization-no-rows"),
    # pools: floor and ceil output sizes, pads, dilations, count_include_pad
    case("MaxPool", [[1, 3, 9, 11]], kernel_shape=[3, 3], strides=[2, 2], pads=[0, 0, 0, 0],
         dilations=[1, 1]),
    case("MaxPool", [[1, 2, 10, 10]], outs=[(1, 2, 5, 5)], kernel_shape=[3, 3], strides=[2, 2],
         pads=[0, 0, 0, 0], dilations=[1, 1], name="MaxPool-ceil"),
    case("MaxPool", [[1, 4, 13, 13]], kernel_shape=[5, 5], strides=[1, 1], pads=[2, 2, 2, 2],
         dilations=[1, 1]),
    case("MaxPool", [[2, 3, 11, 9]], kernel_shape=[3, 3], strides=[1, 1], pads=[2, 2, 2, 2],
         dilations=[2, 2]),
    case("MaxPool", [[1, 3, 7, 8]], kernel_shape=[2, 3], strides=[2, 1], pads=[0, 1, 2, 0],
         dilations=[1, 1]),
    case("MaxPool", [[1, 2, 10, 40]], kernel_shape=[5, 5], strides=[1, 1], pads=[2, 2, 2, 2],
         dilations=[1, 1]),
    # 2×2 stride 2 without pads (the SIMD path): 4-wide groups and tails, odd sizes, ceil mode
    case("MaxPool", [[1, 3, 10, 22]], kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0],
         dilations=[1, 1]),
    case("MaxPool", [[2, 2, 9, 11]], kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0],
         dilations=[1, 1]),
    case("MaxPool", [[1, 2, 9, 11]], outs=[(1, 2, 5, 6)], kernel_shape=[2, 2], strides=[2, 2],
         pads=[0, 0, 0, 0], dilations=[1, 1], name="MaxPool-2x2-ceil"),
    case("AveragePool", [[1, 3, 9, 11]], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
         count_include_pad=0),
    case("AveragePool", [[1, 3, 9, 11]], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
         count_include_pad=1),
    case("AveragePool", [[1, 2, 10, 10]], outs=[(1, 2, 6, 6)], kernel_shape=[3, 3],
         strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=1, name="AveragePool-ceil-pad"),
    *[case("AveragePool", [[1, 3, 7, 7]], outs=[(1, 3, 4, 4)], kernel_shape=[2, 2],
           strides=[2, 2], pads=[0, 0, 0, 0], count_include_pad=cip,
           name=f"AveragePool-ceil-cip{cip}") for cip in (0, 1)],
    case("AveragePool", [[1, 2, 8, 9]], kernel_shape=[3, 2], strides=[1, 3], pads=[0, 1, 2, 0],
         count_include_pad=1),
    case("GlobalAveragePool", [[2, 5, 7, 9]]),
    case("GlobalAveragePool", [[1, 3, 1000]]),
    case("GlobalAveragePool", [[1, 16, 20, 20]]),
    case("GlobalMaxPool", [[2, 5, 7, 9]]),
    case("GlobalMaxPool", [[1, 3, 3]]),
    # Resize: nearest (every nearest_mode) and linear (every coordinate mode), up and down
    case("Resize", [[1, 3, 5, 7]], outs=[(1, 3, 10, 14)], mode="nearest",
         coordinate_transformation_mode="asymmetric", nearest_mode="floor",
         scales=[1.0, 1.0, 2.0, 2.0]),
    case("Resize", [[1, 3, 5, 7]], outs=[(1, 3, 10, 14)], mode="nearest",
         coordinate_transformation_mode="half_pixel", nearest_mode="round_prefer_floor",
         scales=[1.0, 1.0, 2.0, 2.0]),
    case("Resize", [[1, 2, 8, 9]], outs=[(1, 2, 4, 4)], mode="nearest",
         coordinate_transformation_mode="half_pixel", nearest_mode="round_prefer_ceil",
         scales=[1.0, 1.0, 0.5, 0.5]),
    case("Resize", [[1, 1, 4, 5]], outs=[(1, 1, 12, 15)], mode="nearest",
         coordinate_transformation_mode="align_corners", nearest_mode="ceil",
         scales=[1.0, 1.0, 3.0, 3.0]),
    case("Resize", [[2, 3, 4]], outs=[(2, 5, 9)], mode="nearest",
         coordinate_transformation_mode="pytorch_half_pixel", nearest_mode="round_prefer_floor",
         scales=[1.0, 5 / 3, 2.25]),
    case("Resize", [[1, 3, 5, 7]], outs=[(1, 3, 10, 14)], mode="linear",
         coordinate_transformation_mode="half_pixel", nearest_mode="round_prefer_floor",
         scales=[1.0, 1.0, 2.0, 2.0]),
    case("Resize", [[1, 2, 4, 6]], outs=[(1, 2, 7, 11)], mode="linear",
         coordinate_transformation_mode="align_corners", nearest_mode="round_prefer_floor",
         scales=[1.0, 1.0, 7 / 4, 11 / 6]),
    case("Resize", [[1, 2, 4, 5]], outs=[(1, 2, 1, 10)], mode="linear",
         coordinate_transformation_mode="pytorch_half_pixel", nearest_mode="round_prefer_floor",
         scales=[1.0, 1.0, 0.25, 2.0]),
    case("Resize", [[1, 1, 10, 10]], outs=[(1, 1, 6, 6)], mode="linear",
         coordinate_transformation_mode="asymmetric", nearest_mode="round_prefer_floor",
         scales=[1.0, 1.0, 0.6, 0.6]),
    case("Resize", [[2, 6, 5]], outs=[(2, 9, 5)], mode="linear",
         coordinate_transformation_mode="half_pixel", nearest_mode="round_prefer_floor",
         scales=[1.0, 1.5, 1.0]),
    case("Resize", [[1, 1, 5, 5]], outs=[(1, 1, 7, 7)], mode="linear",
         coordinate_transformation_mode="half_pixel_symmetric", nearest_mode="round_prefer_floor",
         scales=[1.0, 1.0, 1.5, 1.5]),
    case("Resize", [[2, 3, 2, 3, 4]], outs=[(4, 3, 4, 3, 6)], mode="linear",
         coordinate_transformation_mode="half_pixel", nearest_mode="round_prefer_floor",
         scales=[2.0, 1.0, 2.0, 1.0, 1.5]),
]


# --- quantized ops (docs/ir.md, "Quantized ops"): int8/int32/float16 constants ---
def _i8(shape, seed=1):
    return np.random.default_rng(seed).integers(-127, 128, shape).astype(np.int8)


def _wscale(m, seed=2):
    return np.random.default_rng(seed).uniform(0.002, 0.02, m).astype(np.float32)


Q = D(x_scale=0.03, x_zero_point=128)  # asymmetric uint8 input quantization
CASES += [
    case("Dequantize", [C((5, 3, 2, 2), _i8((5, 3, 2, 2))), C((5,), _wscale(5))], axis=0),
    case("Dequantize", [C((7, 9), _i8((7, 9))), C((9,), _wscale(9))], axis=1),
    case("Dequantize", [C((4, 6), _i8((4, 6))), C((1,), _wscale(1))], axis=0),
    case("Dequantize", [C((3, 11), np.arange(-16, 17, dtype=np.int32).repeat(1)[:33].reshape(3, 11)),
                        C((3,), _wscale(3))], axis=0, name="Dequantize-int32"),
    case("Dequantize", [C((2, 65), np.concatenate([
        np.array([0, -0.0, 1e-7, -6e-8, 65504, -65504, np.inf, -np.inf], np.float16),
        np.random.default_rng(3).standard_normal(122).astype(np.float16)]).reshape(2, 65))],
        axis=0, name="Dequantize-float16"),
    # ConvInt8: pointwise (full and partial 8-column panels, odd C), im2col (pads, strides,
    # dilations, groups, odd K), depthwise through the general path, every activation.
    case("ConvInt8", [[1, 7, 5, 5], C((13, 7, 1, 1), _i8((13, 7, 1, 1))), C((13,), _wscale(13)),
                      C((13,))], strides=[1, 1], pads=[0, 0, 0, 0], dilations=[1, 1], group=1,
         activation="Relu", activation_params=[], **Q),
    case("ConvInt8", [[2, 16, 8, 12], C((9, 16, 1, 1), _i8((9, 16, 1, 1))), C((9,), _wscale(9))],
         strides=[1, 1], pads=[0, 0, 0, 0], dilations=[1, 1], group=1, activation="Clip",
         activation_params=[0.0, 6.0], x_scale=0.05, x_zero_point=0),
    case("ConvInt8", [[1, 64, 13, 13], C((40, 64, 1, 1), _i8((40, 64, 1, 1))), C((40,), _wscale(40)),
                      C((40,))], strides=[1, 1], pads=[0, 0, 0, 0], dilations=[1, 1], group=1,
         activation="", activation_params=[], x_scale=0.01, x_zero_point=255),
    case("ConvInt8", [[1, 3, 17, 19], C((8, 3, 3, 3), _i8((8, 3, 3, 3))), C((8,), _wscale(8)),
                      C((8,))], strides=[2, 2], pads=[0, 0, 1, 1], dilations=[1, 1], group=1,
         activation="HardSwish", activation_params=[], **Q),
    case("ConvInt8", [[1, 5, 11, 10], C((6, 5, 3, 3), _i8((6, 5, 3, 3))), C((6,), _wscale(6)),
                      C((6,))], strides=[1, 1], pads=[1, 1, 1, 1], dilations=[1, 1], group=1,
         activation="Silu", activation_params=[], **Q),
    case("ConvInt8", [[1, 4, 12, 13], C((7, 4, 3, 3), _i8((7, 4, 3, 3))), C((7,), _wscale(7))],
         strides=[1, 1], pads=[2, 3, 2, 3], dilations=[2, 3], group=1, activation="Sigmoid",
         activation_params=[], **Q),
    case("ConvInt8", [[1, 6, 9, 8], C((9, 2, 3, 3), _i8((9, 2, 3, 3))), C((9,), _wscale(9)),
                      C((9,))], strides=[1, 1], pads=[1, 1, 1, 1], dilations=[1, 1], group=3,
         activation="LeakyRelu", activation_params=[0.1], **Q),
    case("ConvInt8", [[1, 8, 10, 9], C((8, 1, 3, 3), _i8((8, 1, 3, 3))), C((8,), _wscale(8)),
                      C((8,))], strides=[2, 1], pads=[1, 1, 1, 1], dilations=[1, 1], group=8,
         activation="Tanh", activation_params=[], **Q),
    case("ConvInt8", [[1, 6, 9, 9], C((5, 6, 1, 1), _i8((5, 6, 1, 1))), C((5,), _wscale(5))],
         strides=[2, 2], pads=[0, 0, 0, 0], dilations=[1, 1], group=1, activation="HardSigmoid",
         activation_params=[0.2, 0.5], **Q),
    case("ConvInt8", [[1, 96, 20, 20], C((24, 96, 3, 3), _i8((24, 96, 3, 3))), C((24,), _wscale(24)),
                      C((24,))], strides=[1, 1], pads=[1, 1, 1, 1], dilations=[1, 1], group=1,
         activation="Relu", activation_params=[], **Q),
    # GemmInt8: batch 1 and more, rank-3 A (MatMul), N not a multiple of 4, K not of 8
    case("GemmInt8", [[1, 64], C((50, 64), _i8((50, 64))), C((50,), _wscale(50)), C((50,))],
         activation="", activation_params=[], **Q),
    case("GemmInt8", [[5, 13], C((7, 13), _i8((7, 13))), C((7,), _wscale(7))],
         activation="Relu", activation_params=[], x_scale=0.02, x_zero_point=0),
    case("GemmInt8", [[2, 3, 37], C((11, 37), _i8((11, 37))), C((11,), _wscale(11)), C((11,))],
         activation="Tanh", activation_params=[], **Q),
    case("GemmInt8", [[1, 1280], C((1000, 1280), _i8((1000, 1280))), C((1000,), _wscale(1000)),
                      C((1000,))], activation="", activation_params=[], x_scale=0.05, x_zero_point=3),
]

# --- block-sparse ops (docs/ir.md, "Block-sparse Conv and Gemm"): blocked-CSR weights ---
def _bsr(rows, k, block, keep=0.5, seed=0, bad_col=False):
    """Random blocked-CSR weight inputs (values, col_idx, row_ptr as float32 constants) of a
    rows × k matrix in `block`s, about `keep` of the blocks stored."""
    rng = np.random.default_rng(seed)
    nrb, ncb = -(-rows // block[0]), -(-k // block[1])
    nz = rng.random((nrb, ncb)) < keep
    ptr = np.concatenate([[0], np.cumsum(nz.sum(axis=1))]).astype(np.float32)
    col = np.nonzero(nz)[1].astype(np.float32)
    if bad_col:
        col[-1] = ncb
    vals = rng.standard_normal((len(col), *block)).astype(np.float32)
    return [C(vals.shape, vals), C(col.shape, col), C(ptr.shape, ptr)]


def _sparse_conv(x, ws, block, pads=(0, 0, 0, 0), strides=(1, 1), act="", params=(), bias=True, **kw):
    b = [C((ws[0],))] if bias else []
    return case("SparseConv", [x, *_bsr(ws[0], ws[1] * ws[2] * ws[3], block, **kw), *b],
                strides=list(strides), pads=list(pads), dilations=[1, 1], activation=act,
                activation_params=list(params), weight_shape=list(ws), block=list(block))


def _sparse_gemm(a, n, block, act="", bias=True, **kw):
    b = [C((n,))] if bias else []
    return case("SparseGemm", [a, *_bsr(n, a[1], block, **kw), *b], activation=act,
                activation_params=[], weight_shape=[n, a[1]], block=list(block))


# Pointwise and im2col paths; odd M, H·W and K (edge blocks); every block shape.
CASES += [
    _sparse_conv([1, 16, 7, 9], (24, 16, 1, 1), (4, 1), act="Relu"),
    _sparse_conv([2, 7, 5, 3], (13, 7, 1, 1), (8, 1), act="Clip", params=(0.0, 6.0), bias=False),
    _sparse_conv([1, 10, 6, 6], (9, 10, 1, 1), (1, 4), act="Silu"),
    _sparse_conv([1, 6, 9, 11], (10, 6, 3, 3), (1, 1), pads=(1, 1, 1, 1)),
    _sparse_conv([1, 5, 10, 7], (11, 5, 3, 3), (4, 1), pads=(0, 1, 1, 0), strides=(2, 2),
                 act="HardSwish"),
    _sparse_conv([1, 3, 8, 8], (6, 3, 3, 3), (1, 4), pads=(1, 1, 1, 1), keep=1.0),
    _sparse_gemm([1, 64], 50, (1, 4)),
    _sparse_gemm([3, 37], 13, (4, 1), act="Relu"),
    _sparse_gemm([2, 9], 7, (8, 1), act="Tanh", bias=False),
    _sparse_gemm([1, 33], 21, (1, 1), keep=0.3),
]


# --- gated Conv (docs/ir.md, "Gated Conv and Gemm"), at the default knob 1: heuristic gates
# with each fill on the pointwise, im2col and depthwise paths (gate_norms/gate_sums are arbitrary
# constants here: the op computes with whatever it is given), a conv without bias, and learned
# (FBS) gates with and without a threshold. tests/test_gating.py covers knobs and decisions.
def _gated(x, m, cg, k, fill="expected", sparsity=0.5, group=1, bias=True, stride=1, act="",
           params=(), **kw):
    pad = k // 2
    ins = [x, C((m, cg, k, k)), C((m,)) if bias else C((m,), np.zeros(m, np.float32)),
           C((m, cg), np.abs(np.random.default_rng(m).standard_normal((m, cg))).astype(np.float32)),
           C((m, cg))]
    return case("Conv", ins, strides=[stride, stride], pads=[pad] * 4, dilations=[1, 1],
                group=group, activation=act, activation_params=list(params),
                gate_kind="heuristic", gate_sparsity=sparsity, gate_fill=fill, **kw)


def _learned(x, m, c, k, sparsity=0.5, threshold=0.0, act="Relu"):
    rng = np.random.default_rng(7)
    return case("Conv", [x, C((m, c, k, k)), C((m,)), C((m, c), rng.standard_normal((m, c)).astype(np.float32)),
                         C((m,), rng.uniform(-0.5, 1.0, m).astype(np.float32))],
                strides=[1, 1], pads=[k // 2] * 4, dilations=[1, 1], group=1, activation=act,
                activation_params=[], gate_kind="learned", gate_sparsity=sparsity, gate_fill="zero",
                gate_threshold=threshold)


CASES += [
    _gated([1, 16, 7, 9], 24, 16, 1, "expected", act="Clip", params=(0.0, 6.0)),
    _gated([2, 13, 5, 6], 11, 13, 1, "bias", 0.7),
    _gated([1, 9, 11, 10], 17, 9, 1, "zero", 1.0),
    _gated([1, 5, 11, 10], 6, 5, 3, "expected", 0.4, act="HardSwish"),
    _gated([2, 6, 12, 13], 10, 6, 3, "bias", 0.5, stride=2, act="Silu"),
    _gated([1, 8, 13, 11], 8, 1, 3, "expected", 0.5, group=8, act="Relu"),
    _gated([1, 12, 7, 7], 12, 1, 3, "bias", 0.25, group=12),
    _gated([1, 7, 6, 5], 9, 7, 1, "expected", 0.6, bias=False),
    _learned([1, 8, 9, 7], 16, 8, 3, 0.5),
    _learned([2, 12, 5, 5], 20, 12, 1, 0.25, threshold=0.3, act=""),
    _learned([1, 6, 4, 9], 7, 6, 1, 0.0, threshold=0.5),
]


@pytest.mark.parametrize("c", CASES, ids=[case_id(c) for c in CASES])
def test_op_matches_reference(c: Case):
    graph, feeds = build(c)
    want = run_graph(graph, feeds)
    sess = Session(model_bytes(graph))
    got = sess.run(feeds)
    for name in graph.outputs:
        assert got[name].shape == want[name].shape, name
        np.testing.assert_allclose(got[name], want[name], rtol=c.tol, atol=c.tol, err_msg=f"{c.op} {name}")


def _bad(op, inputs, outs, **attrs):
    return case(op, inputs, outs=outs, **attrs)


# Graphs the runtime must refuse at session creation, with a message naming the node and
# the problem (regex). Output shapes are given explicitly, since they are often the fault.
ERRORS = [
    (_bad("Add", [[2, 3], [4, 3]], [(2, 3)]), "do not broadcast"),
    (_bad("Add", [[2, 3], [1, 3]], [(3, 2)]), r"output 'out0' has shape \[3, 2\], expected \[2, 3\]"),
    (_bad("Add", [[2, 3]], [(2, 3)]), "expects 2 inputs"),
    (_bad("PRelu", [[1, 3], [2, 3]], [(2, 3)]), "slope"),
    (_bad("Concat", [[1, 3], [2, 4]], [(3, 3)], axis=0), "Concat node .*in1"),
    (_bad("Concat", [[1, 3], [1, 3]], [(2, 3)], axis=2), "axis"),
    (_bad("Concat", [[1, 3], [1, 3]], [(3, 3)], axis=0), "shape"),
    (_bad("Split", [[4, 6]], [(4, 2), (4, 3)], axis=1, split=[2, 3]), "split"),
    (_bad("Split", [[4, 6]], [(4, 2), (4, 4)], axis=1, split=[2, 3]), "split"),
    (_bad("Slice", [[5, 5]], [(3, 3)], starts=[0, 3], steps=[1, 1]), "out of range"),
    (_bad("Slice", [[5, 5]], [(3, 3)], starts=[0, 0], steps=[1, 0]), "step"),
    (_bad("Slice", [[5, 5]], [(3, 3)], starts=[3, 0], steps=[-2, 1]), "out of range"),
    (_bad("Slice", [[5, 5]], [(3, 3)], starts=[0], steps=[1]), "starts"),
    (_bad("Reshape", [[2, 3]], [(7,)]), "element count"),
    (_bad("Transpose", [[2, 3, 4]], [(4, 3, 2)], perm=[2, 1, 1]), "perm"),
    (_bad("Transpose", [[2, 3, 4]], [(4, 2, 3)], perm=[2, 1, 0]), "shape"),
    (_bad("Pad", [[2, 3]], [(2, 5)], pads=[0, 1, 0, 1, 0], mode="constant", value=0.0), "pads"),
    (_bad("Pad", [[2, 3]], [(2, 9)], pads=[0, 1, 0, 1], mode="constant", value=0.0), "shape"),
    (_bad("Pad", [[2, 3]], [(2, 5)], pads=[0, 1, 0, 1], mode="wrap", value=0.0), "mode"),
    (_bad("Pad", [[2, 3]], [(2, -3)], pads=[0, -4, 0, -2], mode="constant", value=0.0), "negative|shape|dimension"),
    (_bad("Pad", [[2, 0]], [(2, 2)], pads=[0, 1, 0, 1], mode="edge", value=0.0), "empty"),
    (_bad("Softmax", [[2, 3]], [(2, 3)], axis=2), "axis"),
    (_bad("Softmax", [[2, 3]], [(2, 3)]), "attribute 'axis' is missing"),
    (_bad("Softmax", [[2, 3]], [(2, 3)], axis="x"), "axis"),
    # --- compute ops ---
    *[(_bad("Conv", ins, outs, **{**D(strides=[1, 1], pads=[1, 1, 1, 1], dilations=[1, 1], group=1,
                                     activation="", activation_params=[]), **kw}), match)
      for ins, outs, kw, match in [
          ([[1, 4, 5, 5], C((2, 3, 3, 3))], [(1, 2, 5, 5)], {}, r"W 'in1' .* C/group"),
          ([[1, 4, 5, 5], C((3, 2, 3, 3))], [(1, 3, 5, 5)], D(group=2), "group 2 must divide"),
          ([[1, 4, 5, 5], C((2, 4, 3, 3))], [(1, 2, 4, 4)], {},
           r"'out0' has shape \[1, 2, 4, 4\], expected \[1, 2, 5, 5\]"),
          ([[1, 4, 5, 5], C((2, 4, 3, 3))], [(1, 2, 5, 5)], D(strides=[0, 1]), r"strides\[0\] = 0"),
          ([[1, 4, 5, 5], C((2, 4, 3, 3))], [(1, 2, 5, 5)], D(dilations=[1, -1]), "dilations"),
          ([[1, 4, 5, 5], C((2, 4, 3, 3))], [(1, 2, 5, 5)], D(pads=[1, 1]), "'pads' has 2 values"),
          ([[1, 4, 5, 5], C((2, 4, 3, 3))], [(1, 2, 5, 5)], D(pads=[1, -1, 1, 1]), "pads"),
          ([[1, 4, 5, 5], C((2, 4, 3, 3))], [(1, 2, 5, 5)], D(activation="Gelu"), "unknown activation"),
          ([[1, 4, 5, 5], C((2, 4, 3, 3))], [(1, 2, 5, 5)], D(activation="Clip"), "activation_params"),
          ([[1, 4, 5, 5], [2, 4, 3, 3]], [(1, 2, 5, 5)], {}, "must be a float32 constant"),
          ([[1, 4, 5, 5], C((2, 4, 3, 3)), C((3,))], [(1, 2, 5, 5)], {}, r"shape \[3\], expected \[2\]"),
          ([[1, 4, 5], C((2, 4, 3, 3))], [(1, 2, 5)], {}, "rank 4"),
          ([[1, 4, 2, 2], C((2, 4, 7, 7))], [(1, 2, 1, 1)], D(pads=[0, 0, 0, 0]), "exceeds padded input"),
      ]],
    (_bad("Gemm", [[3, 4], C((5, 6))], [(3, 6)], transA=0, transB=0, alpha=1.0, beta=1.0,
          activation="", activation_params=[]), "inner dimensions differ"),
    (_bad("Gemm", [[3, 4], C((4, 6)), C((2, 6))], [(3, 6)], transA=0, transB=0, alpha=1.0,
          beta=1.0, activation="", activation_params=[]), "does not broadcast"),
    (_bad("Gemm", [[3, 4], C((4, 6))], [(3, 6)], transA=2, transB=0, alpha=1.0, beta=1.0,
          activation="", activation_params=[]), "transA"),
    (_bad("MatMul", [[2, 3, 4], [3, 4, 5]], [(3, 3, 5)]), "batch dims do not broadcast"),
    (_bad("MatMul", [[3, 4], [5, 6]], [(3, 6)]), "inner dimensions differ"),
    (_bad("MatMul", [[3, 4], [4, 6]], [(3, 7)]), "expected"),
    (_bad("Relu", [[2, 3]], [(3, 2)]), "expected"),
    (_bad("Clip", [[2, 3]], [(2, 3)], min=0.0), "attribute 'max' is missing"),
    (_bad("LeakyRelu", [[2, 3]], [(2, 3)], alpha="x"), "alpha"),
    (_bad("Exp", [[2, 3]], [(2, 4)]), "expected"),
    (_bad("Elu", [[2, 3]], [(2, 3)]), "attribute 'alpha' is missing"),
    (_bad("Selu", [[2, 3]], [(2, 3)], alpha=1.0), "attribute 'gamma' is missing"),
    (_bad("Gelu", [[2, 3]], [(2, 3)], approximate="erf"), "approximate"),
    (_bad("Gelu", [[2, 3]], [(2, 3)]), "attribute 'approximate' is missing"),
    (_bad("Pow", [[2, 3], [4, 3]], [(2, 3)]), "do not broadcast"),
    *[(_bad("ConvTranspose", ins, outs, **{**D(strides=[1, 1], pads=[0, 0, 0, 0], dilations=[1, 1], group=1,
                                              output_padding=[0, 0]), **kw}), match)
      for ins, outs, kw, match in [
          ([[1, 4, 5, 5], C((3, 2, 3, 3))], [(1, 2, 7, 7)], {}, r"W 'in1' .* does not fit"),
          ([[1, 4, 5, 5], C((4, 2, 3, 3))], [(1, 4, 7, 7)], D(group=3), "does not fit"),
          ([[1, 4, 5, 5], C((4, 2, 3, 3))], [(1, 2, 6, 6)], {}, r"expected \[1, 2, 7, 7\]"),
          ([[1, 4, 5, 5], [4, 2, 3, 3]], [(1, 2, 7, 7)], {}, "must be a float32 constant"),
          ([[1, 4, 5, 5], C((4, 2, 3, 3)), C((3,))], [(1, 2, 7, 7)], {}, r"shape \[3\], expected \[2\]"),
          ([[1, 4, 5, 5], C((4, 2, 3, 3))], [(1, 2, 7, 7)], D(output_padding=[0, -1]), "output_padding"),
          ([[1, 4, 5, 5], C((4, 2, 3, 3))], [(1, 2, 7, 7)], D(strides=[0, 1]), "strides"),
          ([[1, 4, 2, 2], C((4, 2, 1, 1))], [(1, 2, 0, 0)], D(pads=[3, 3, 3, 3]), "leave no output"),
      ]],
    (_bad("LayerNormalization", [[2, 3], C((2,))], [(2, 3)], axis=1, epsilon=1e-5), r"'in1' has shape \[2\], expected \[3\]"),
    (_bad("LayerNormalization", [[2, 3], C((3,)), C((1,))], [(2, 3)], axis=1, epsilon=1e-5), r"'in2' has shape \[1\]"),
    (_bad("LayerNormalization", [[2, 3], C((3,))], [(2, 3)], axis=2, epsilon=1e-5), "axis"),
    (_bad("LayerNormalization", [[2, 3], C((3,))], [(2, 3)], axis=1), "attribute 'epsilon' is missing"),
    (_bad("LayerNormalization", [[2, 3], C((3,))], [(2, 3)], axis=1, epsilon=-1.0), "epsilon"),
    (_bad("LayerNormalization", [[2, 3]], [(2, 3)], axis=1, epsilon=1e-5), "expects 2 to 3 inputs"),
    (_bad("ReduceSum", [[2, 3]], [(2,)], axes=[2], keepdims=0), r"axes\[0\] = 2 is out of range"),
    (_bad("ReduceSum", [[2, 3]], [(1, 1)], axes=[1, 1], keepdims=1), "twice"),
    (_bad("ReduceMean", [[2, 3]], [(2, 1)], axes=[1], keepdims=0), r"expected \[2\]"),
    (_bad("ReduceMax", [[2, 3]], [(2,)], axes=[1]), "attribute 'keepdims' is missing"),
    (_bad("ReduceMin", [[2, 3]], [(2,)], axes=[1], keepdims=2), "keepdims"),
    (_bad("MaxPool", [[1, 2, 10, 10]], [(1, 2, 6, 6)], kernel_shape=[3, 3], strides=[2, 2],
          pads=[0, 0, 0, 0], dilations=[1, 1]), "gives 4..5"),
    (_bad("MaxPool", [[1, 2, 10, 10]], [(1, 2, 8, 8)], kernel_shape=[3], strides=[1, 1],
          pads=[0, 0, 0, 0], dilations=[1, 1]), "kernel_shape"),
    (_bad("AveragePool", [[1, 2, 10, 10]], [(1, 2, 8, 8)], kernel_shape=[3, 3], strides=[1, 1],
          pads=[0, 0, 0, 0]), "attribute 'count_include_pad' is missing"),
    (_bad("AveragePool", [[1, 2, 4, 4]], [(1, 2, 1, 1)], kernel_shape=[5, 5], strides=[1, 1],
          pads=[0, 0, 0, 0], count_include_pad=0), "gives"),
    (_bad("GlobalAveragePool", [[1, 3, 4, 4]], [(1, 3, 2, 2)]), "expected"),
    (_bad("GlobalMaxPool", [[3, 4]], [(3, 4)]), "rank"),
    (_bad("Resize", [[1, 1, 2, 2]], [(1, 1, 4, 4)], mode="cubic",
          coordinate_transformation_mode="half_pixel", nearest_mode="floor",
          scales=[1.0, 1.0, 2.0, 2.0]), "mode 'cubic' is not supported"),
    (_bad("Resize", [[1, 1, 2, 2]], [(1, 1, 4, 4)], mode="linear",
          coordinate_transformation_mode="tf_crop_and_resize", nearest_mode="floor",
          scales=[1.0, 1.0, 2.0, 2.0]), "'tf_crop_and_resize' is not supported"),
    (_bad("Resize", [[1, 1, 2, 2]], [(1, 1, 4, 4)], mode="nearest",
          coordinate_transformation_mode="asymmetric", nearest_mode="floor",
          scales=[2.0, 2.0]), "scales"),
    (_bad("Resize", [[1, 1, 2, 2]], [(1, 1, 4, 4)], mode="nearest",
          coordinate_transformation_mode="asymmetric", nearest_mode="floor",
          scales=[1.0, 1.0, 0.0, 2.0]), "positive"),
]


_CI8 = D(strides=[1, 1], pads=[0, 0, 0, 0], dilations=[1, 1], group=1, activation="",
         activation_params=[], x_scale=0.03, x_zero_point=128)
ERRORS += [
    (_bad("Dequantize", [[4, 3], C((4,))], [(4, 3)], axis=0), "must be a constant"),
    (_bad("Dequantize", [C((4, 3)), C((4,))], [(4, 3)], axis=0), "expected int8, int32 or float16"),
    (_bad("Dequantize", [C((4, 3), _i8((4, 3))), C((3,))], [(4, 3)], axis=0), r"scale 'in1' has shape \[3\]"),
    (_bad("Dequantize", [C((4, 3), _i8((4, 3)))], [(4, 3)], axis=0), "needs a scale"),
    (_bad("Dequantize", [C((4, 3), _i8((4, 3))), C((4,))], [(4, 3)], axis=2), "axis"),
    (_bad("Dequantize", [C((4, 3), _i8((4, 3))), C((4,))], [(3, 4)], axis=0), "shape"),
    (_bad("ConvInt8", [[1, 4, 5, 5], C((2, 4, 1, 1)), C((2,))], [(1, 2, 5, 5)], **_CI8), "must be an int8 constant"),
    (_bad("ConvInt8", [[1, 4, 5, 5], C((2, 4, 1, 1), _i8((2, 4, 1, 1))), C((3,))], [(1, 2, 5, 5)], **_CI8),
     r"shape \[3\], expected \[2\]"),
    (_bad("ConvInt8", [[1, 4, 5, 5], C((2, 4, 1, 1), _i8((2, 4, 1, 1))), C((2,))], [(1, 2, 5, 5)],
          **{**_CI8, "x_scale": 0.0}), "x_scale"),
    (_bad("ConvInt8", [[1, 4, 5, 5], C((2, 4, 1, 1), _i8((2, 4, 1, 1))), C((2,))], [(1, 2, 5, 5)],
          **{**_CI8, "x_zero_point": 256}), "x_zero_point"),
    (_bad("ConvInt8", [[1, 4, 5, 5], C((2, 4, 1, 1), _i8((2, 4, 1, 1))), C((2,))], [(1, 2, 4, 4)], **_CI8),
     "expected"),
    (_bad("ConvInt8", [[1, 4, 5, 5], C((2, 4, 1, 1), _i8((2, 4, 1, 1)))], [(1, 2, 5, 5)], **_CI8), "expects 3 to 4 inputs"),
    (_bad("GemmInt8", [[1, 8], C((4, 9), _i8((4, 9))), C((4,))], [(1, 4)], activation="",
          activation_params=[], x_scale=0.1, x_zero_point=0), "inner dimensions differ"),
    (_bad("GemmInt8", [[1, 8], C((4, 8), _i8((4, 8))), C((4,))], [(1, 4)], activation="",
          activation_params=[], x_scale=0.1), "x_zero_point"),
    (_bad("GemmInt8", [[1, 8], C((4, 8), _i8((4, 8))), C((4,))], [(1, 5)], activation="",
          activation_params=[], x_scale=0.1, x_zero_point=0), "expected"),
]

# Corrupt blocked-CSR indices (more in tests/test_block_sparsity.py).
ERRORS += [
    (_bad("SparseConv", [[1, 8, 4, 4], *_bsr(12, 8, (4, 1), bad_col=True)], [(1, 12, 4, 4)],
          strides=[1, 1], pads=[0, 0, 0, 0], dilations=[1, 1], activation="", activation_params=[],
          weight_shape=[12, 8, 1, 1], block=[4, 1]), "col_idx 'in2'.* is out of range"),
    (_bad("SparseGemm", [[1, 9], *_bsr(6, 9, (1, 4))], [(1, 6)], activation="",
          activation_params=[], weight_shape=[6, 9], block=[2, 4]), r"block \[2, 4\] is not supported"),
]


@pytest.mark.parametrize("c,match", ERRORS, ids=[f"{c.op}-{m[:24]}" for c, m in ERRORS])
def test_op_refuses_inconsistent_graph(c: Case, match: str):
    graph, _ = build(c)
    try:
        blob = model_bytes(graph)
    except (ValueError, SparsegateError):
        pytest.skip("the writer refuses this graph already")
    with pytest.raises(SparsegateError, match=match) as err:
        Session(blob)
    assert f"{c.op.lower()}_node" in str(err.value) or err.type is not RuntimeFailure
