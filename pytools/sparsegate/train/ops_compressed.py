"""Torch twins of the compressed ops (docs/ir.md "Quantized ops", "Block-sparse Conv and
Gemm"): Dequantize, ConvInt8, GemmInt8, SparseConv, SparseGemm.

ConvInt8/GemmInt8 quantize their input as the runtime does (x·float32(1/x_scale), round half to
even, clamp to [−zp, 255−zp]) with a straight-through gradient, and compute with the int8 weights
times w_scale: the forward equals the runtime's to float32 rounding of the sum, and it is the
fake-quantized layer quantization-aware training needs. SparseConv/SparseGemm expand the
blocked-CSR weight (their stored values stay trainable) and run the dense op.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .ops import _gated, conv_raw, quantize_input, scalar


def dequantize(ins, attrs, out_shapes, ctx):
    x = ins[0]
    if x.dtype == torch.float16 or len(ins) < 2 or ins[1] is None:
        return [x.float()]
    scale = ins[1].reshape(-1)
    if scale.numel() == 1 or x.ndim == 0:
        return [x.float() * scale[0]]
    shape = [1] * x.ndim
    shape[int(scalar(attrs["axis"]))] = -1
    return [x.float() * scale.reshape(shape)]


def conv_int8(ins, attrs, out_shapes, ctx):
    x, w, w_scale = ins[0], ins[1], ins[2]
    b = ins[3] if len(ins) > 3 else None
    xs = float(scalar(attrs["x_scale"]))
    xq = quantize_input(x, xs, attrs["x_zero_point"])
    s = (w_scale.float() * np.float32(xs)).reshape(-1, 1, 1, 1)
    y = conv_raw(xq, w.float() * s, b, attrs)
    return [_gated(y, x, ins, attrs, ctx, spatial=True)]


def gemm_int8(ins, attrs, out_shapes, ctx):
    a, w, w_scale = ins[0], ins[1], ins[2]
    b = ins[3] if len(ins) > 3 else None
    xs = float(scalar(attrs["x_scale"]))
    aq = quantize_input(a, xs, attrs["x_zero_point"])
    y = aq @ (w.float() * (w_scale.float() * np.float32(xs))[:, None]).t()
    if b is not None:
        y = y + b
    return [_gated(y, a, ins, attrs, ctx, spatial=False)]


def bsr_to_dense(values, col_idx, row_ptr, shape, block) -> torch.Tensor:
    rows, k = int(shape[0]), int(shape[1])
    bh, bw = int(block[0]), int(block[1])
    nrb, ncb = -(-rows // bh), -(-k // bw)
    col = col_idx.detach().cpu().numpy().astype(np.int64)
    ptr = row_ptr.detach().cpu().numpy().astype(np.int64)
    block_row = np.repeat(np.arange(nrb), np.diff(ptr))
    dense = torch.zeros(nrb, ncb, bh, bw, dtype=values.dtype)
    dense = dense.index_put((torch.from_numpy(block_row), torch.from_numpy(col)), values)
    return dense.permute(0, 2, 1, 3).reshape(nrb * bh, ncb * bw)[:rows, :k]


def sparse_conv(ins, attrs, out_shapes, ctx):
    x, values, col_idx, row_ptr = ins[:4]
    b = ins[4] if len(ins) > 4 else None
    m, c, kh, kw = (int(v) for v in attrs["weight_shape"])
    w = bsr_to_dense(values, col_idx, row_ptr, (m, c * kh * kw), attrs["block"]).reshape(m, c, kh, kw)
    return [_gated(conv_raw(x, w, b, {**attrs, "group": 1}), x, ins, attrs, ctx, spatial=True)]


def sparse_gemm(ins, attrs, out_shapes, ctx):
    a, values, col_idx, row_ptr = ins[:4]
    b = ins[4] if len(ins) > 4 else None
    w = bsr_to_dense(values, col_idx, row_ptr, attrs["weight_shape"], attrs["block"])
    y = a @ w.t()
    if b is not None:
        y = y + b
    return [_gated(y, a, ins, attrs, ctx, spatial=False)]


OPS = {"Dequantize": dequantize, "ConvInt8": conv_int8, "GemmInt8": gemm_int8,
       "SparseConv": sparse_conv, "SparseGemm": sparse_gemm}
