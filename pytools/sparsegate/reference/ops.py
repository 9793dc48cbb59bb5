"""The op registry: IR op name -> function(inputs, attrs, out_shapes) -> list of outputs.

Each function gets input arrays (None for an absent optional input), the node's attributes
and the declared output shapes, or None (some ops, e.g. pools with ceil_mode, Slice and Resize, take
their output shape from the graph as docs/ir.md says; without one they assume floor-mode
pools, slices to the end of each axis and floor(size·scale) for Resize)."""
from __future__ import annotations

import math

import numpy as np

from . import nn, quant, sparse
from .activations import apply_activation, sigmoid
from .nn import scalar

F32 = np.float32


def _binary(fn):
    """Add/Sub/Mul/Div, then the optional fused `activation` (absent or "" = none)."""
    def run(ins, attrs, out_shapes):
        y = fn(ins[0].astype(F32), ins[1].astype(F32)).astype(F32)
        if attrs.get("activation"):
            y = apply_activation(y, attrs["activation"], attrs.get("activation_params", []))
        return [y]
    return run


def _activation(name, *param_keys):
    def run(ins, attrs, out_shapes):
        return [apply_activation(ins[0].astype(F32), name, [scalar(attrs[k]) for k in param_keys])]
    return run


_erf = np.frompyfunc(math.erf, 1, 1)


def _gelu(x, attrs):
    if attrs["approximate"] == "tanh":
        return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1 + _erf(x / np.sqrt(2)).astype(np.float64))


def _softplus(x, attrs):
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _selu(x, attrs):
    alpha, gamma = float(scalar(attrs["alpha"])), float(scalar(attrs["gamma"]))
    return gamma * np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


# Element-wise math (docs/ir.md), computed in float64 and rounded once to float32.
_MATH = {
    "Exp": lambda x, a: np.exp(x),
    "Log": lambda x, a: np.log(x),
    "Sqrt": lambda x, a: np.sqrt(x),
    "Abs": lambda x, a: np.abs(x),
    "Neg": lambda x, a: -x,
    "Reciprocal": lambda x, a: 1 / x,
    "Floor": lambda x, a: np.floor(x),
    "Ceil": lambda x, a: np.ceil(x),
    "Round": lambda x, a: np.round(x),  # half to even, as ONNX
    "Sign": lambda x, a: np.sign(x),
    "Erf": lambda x, a: _erf(x).astype(np.float64),
    "Softplus": _softplus,
    "Elu": lambda x, a: np.where(x < 0, float(scalar(a["alpha"])) * np.expm1(np.minimum(x, 0)), x),
    "Selu": _selu,
    "Mish": lambda x, a: x * np.tanh(_softplus(x, a)),
    "Gelu": _gelu,
}


def _math(name):
    def run(ins, attrs, out_shapes):
        with np.errstate(all="ignore"):
            return [np.asarray(_MATH[name](ins[0].astype(np.float64), attrs), dtype=F32)]
    return run


def prelu(ins, attrs, out_shapes):
    x, slope = ins[0], ins[1].astype(F32)
    return [np.where(x < 0, slope * x, x).astype(F32)]


def clip(ins, attrs, out_shapes):
    return [np.clip(ins[0], F32(scalar(attrs["min"])), F32(scalar(attrs["max"])))]


def softmax(ins, attrs, out_shapes):
    x, axis = ins[0], int(scalar(attrs["axis"]))
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return [(e / e.sum(axis=axis, keepdims=True)).astype(F32)]


def _logsumexp(x, axis, keepdims):
    m = np.max(x, axis=axis, keepdims=True, initial=-np.inf)
    safe = np.where(np.isfinite(m), m, 0)
    y = safe + np.log(np.sum(np.exp(x - safe), axis=axis, keepdims=True))
    y = np.where(np.isfinite(m), y, m)
    return y if keepdims else np.squeeze(y, axis=axis)


def _mean(x, axis, keepdims):
    n = math.prod(x.shape[a] for a in axis)
    total = np.sum(x, axis=axis, keepdims=keepdims)
    return total / n if n else np.full_like(total, np.nan)  # 0/0, as the runtime


# Reductions over `axes` (every axis listed, ≥ 0), in float64; an empty set gives the identity.
_REDUCE = {
    "ReduceSum": lambda x, ax, k: np.sum(x, axis=ax, keepdims=k),
    "ReduceMean": lambda x, ax, k: _mean(x, ax, k),
    "ReduceMax": lambda x, ax, k: np.max(x, axis=ax, keepdims=k, initial=-np.inf),
    "ReduceMin": lambda x, ax, k: np.min(x, axis=ax, keepdims=k, initial=np.inf),
    "ReduceProd": lambda x, ax, k: np.prod(x, axis=ax, keepdims=k),
    "ReduceL2": lambda x, ax, k: np.sqrt(np.sum(x * x, axis=ax, keepdims=k)),
    "ReduceLogSumExp": _logsumexp,
}


def _reduce(name):
    def run(ins, attrs, out_shapes):
        axes = tuple(int(a) for a in (attrs["axes"] if isinstance(attrs["axes"], (list, tuple))
                                      else [attrs["axes"]]))
        with np.errstate(all="ignore"):
            y = _REDUCE[name](ins[0].astype(np.float64), axes, bool(int(scalar(attrs["keepdims"]))))
        return [np.asarray(y, dtype=F32)]
    return run


def layer_norm(ins, attrs, out_shapes):
    x, scale, bias = (None if t is None else t.astype(np.float64) for t in ins[:3] + [None] * (3 - len(ins)))
    axes = tuple(range(int(scalar(attrs["axis"])), x.ndim))
    mean = x.mean(axis=axes, keepdims=True) if x.size else x
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True) if x.size else x
    y = (x - mean) / np.sqrt(var + float(scalar(attrs["epsilon"]))) * scale
    return [(y if bias is None else y + bias).astype(F32)]


def concat(ins, attrs, out_shapes):
    return [np.concatenate(ins, axis=int(scalar(attrs["axis"])))]


def split(ins, attrs, out_shapes):
    axis = int(scalar(attrs["axis"]))
    bounds = np.cumsum([int(s) for s in attrs["split"]])[:-1]
    return list(np.split(ins[0], bounds, axis=axis))


def _slice_len(dim: int, start: int, step: int) -> int:
    """Without a declared shape a slice reads to the end of the axis."""
    if step > 0:
        return max(0, -(-(dim - start) // step))
    return start // -step + 1 if dim else 0


def slice_(ins, attrs, out_shapes):
    x = ins[0]
    starts, steps = [int(v) for v in attrs["starts"]], [int(v) for v in attrs["steps"]]
    lengths = out_shapes[0] if out_shapes is not None else \
        [_slice_len(d, s, st) for d, s, st in zip(x.shape, starts, steps)]
    index = [s + np.arange(n) * st for s, st, n in zip(starts, steps, lengths)]
    return [x[np.ix_(*index)] if x.ndim else x.copy()]


def reshape(ins, attrs, out_shapes):
    if out_shapes is None:
        raise ValueError("Reshape takes its shape from the graph: pass the output shape")
    return [ins[0].reshape(out_shapes[0]).copy()]


def transpose(ins, attrs, out_shapes):
    return [np.ascontiguousarray(np.transpose(ins[0], [int(p) for p in attrs["perm"]]))]


OPS = {
    "Conv": nn.conv,
    "ConvTranspose": nn.conv_transpose,
    "Gemm": nn.gemm,
    "MatMul": nn.matmul,
    "Add": _binary(np.add),
    "Sub": _binary(np.subtract),
    "Mul": _binary(np.multiply),
    "Div": _binary(np.divide),
    "PRelu": prelu,
    "Relu": _activation("Relu"),
    "Sigmoid": lambda ins, attrs, out_shapes: [sigmoid(ins[0])],
    "Tanh": _activation("Tanh"),
    "HardSwish": _activation("HardSwish"),
    "Silu": _activation("Silu"),
    "LeakyRelu": _activation("LeakyRelu", "alpha"),
    "HardSigmoid": _activation("HardSigmoid", "alpha", "beta"),
    "Clip": clip,
    **{name: _math(name) for name in _MATH},
    "Pow": _binary(lambda a, b: np.power(a, b)),
    "MaxPool": nn.max_pool,
    "AveragePool": nn.average_pool,
    "GlobalAveragePool": nn.global_average_pool,
    "GlobalMaxPool": nn.global_max_pool,
    "Concat": concat,
    "Split": split,
    "Slice": slice_,
    "Reshape": reshape,
    "Transpose": transpose,
    "Pad": nn.pad,
    "Resize": nn.resize,
    "Softmax": softmax,
    **{name: _reduce(name) for name in _REDUCE},
    "LayerNormalization": layer_norm,
    "SparseConv": sparse.sparse_conv,
    "SparseGemm": sparse.sparse_gemm,
}
OPS.update(quant.OPS)  # Dequantize, ConvInt8, GemmInt8
