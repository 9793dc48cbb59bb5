"""Reference kernels of the quantized ops (docs/ir.md, "Quantized ops"): Dequantize, ConvInt8,
GemmInt8.

They reproduce the runtime's arithmetic exactly up to the fused activation: the input is
quantized with the same float32 operations (x · (1/x_scale), round half to even, clamp), the
integer sums are exact (float64 holds them), and the epilogue rounds the same way
(int32 -> float32, × float32(w_scale · x_scale), + bias)."""
from __future__ import annotations

import numpy as np

from .activations import apply_activation
from .nn import _window_views, scalar

F32 = np.float32


def quantize_input(x: np.ndarray, x_scale, x_zero_point) -> np.ndarray:
    """q(x) − zero_point as float64 integers in [−zp, 255 − zp] (NaN -> 0), as the kernels do."""
    inv = F32(1.0) / F32(scalar(x_scale))
    zp = int(scalar(x_zero_point))
    v = np.rint(x.astype(F32) * inv)
    v = np.clip(v, F32(-zp), F32(255 - zp))
    return np.nan_to_num(v, nan=0.0).astype(np.float64)


def _epilogue(acc: np.ndarray, w_scale, x_scale, bias, axis: int, attrs) -> np.ndarray:
    shape = [1] * acc.ndim
    shape[axis] = -1
    scale = (np.asarray(w_scale, F32) * F32(scalar(x_scale))).astype(F32).reshape(shape)
    y = acc.astype(F32) * scale
    if bias is not None:
        y = y + np.asarray(bias, F32).reshape(shape)
    return apply_activation(y.astype(F32), attrs["activation"], attrs["activation_params"])


def dequantize(ins, attrs, out_shapes):
    x = ins[0]
    if x.dtype == np.float16 or len(ins) < 2 or ins[1] is None:  # float16: no scale
        return [x.astype(F32)]
    scale = np.asarray(ins[1], F32).reshape(-1)
    if scale.size == 1 or x.ndim == 0:
        return [(x.astype(F32) * scale[0]).astype(F32)]
    shape = [1] * x.ndim
    shape[int(scalar(attrs["axis"]))] = -1
    return [(x.astype(F32) * scale.reshape(shape)).astype(F32)]


def conv_int8(ins, attrs, out_shapes):
    x, w, w_scale = ins[0], ins[1], ins[2]
    b = ins[3] if len(ins) > 3 else None
    n, c, h, wd = x.shape
    m, cg, kh, kw = w.shape
    g = int(scalar(attrs["group"]))
    strides, dil, pads = attrs["strides"], attrs["dilations"], attrs["pads"]
    oh = (h + pads[0] + pads[2] - ((kh - 1) * dil[0] + 1)) // strides[0] + 1
    ow = (wd + pads[1] + pads[3] - ((kw - 1) * dil[1] + 1)) // strides[1] + 1
    xq = quantize_input(x, attrs["x_scale"], attrs["x_zero_point"])
    xp = np.pad(xq, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))  # real 0 -> q - zp = 0
    xp = xp.reshape(n, g, cg, *xp.shape[2:])
    cols = np.empty((n, g, cg, kh, kw, oh, ow), np.float64)
    for ky, kx, view in _window_views(xp, (kh, kw), strides, dil, (oh, ow)):
        cols[:, :, :, ky, kx] = view
    cols = cols.reshape(n, g, cg * kh * kw, oh * ow)
    acc = np.matmul(w.astype(np.float64).reshape(g, m // g, cg * kh * kw), cols).reshape(n, m, oh, ow)
    return [_epilogue(acc, w_scale, attrs["x_scale"], b, 1, attrs)]


def gemm_int8(ins, attrs, out_shapes):
    a, w, w_scale = ins[0], ins[1], ins[2]
    b = ins[3] if len(ins) > 3 else None
    aq = quantize_input(a, attrs["x_scale"], attrs["x_zero_point"])
    acc = aq @ w.astype(np.float64).T
    return [_epilogue(acc, w_scale, attrs["x_scale"], b, acc.ndim - 1, attrs)]


OPS = {"Dequantize": dequantize, "ConvInt8": conv_int8, "GemmInt8": gemm_int8}
