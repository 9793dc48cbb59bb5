"""Reference SparseConv and SparseGemm (docs/ir.md, "Block-sparse Conv and Gemm").

The blocked-CSR weight is expanded to the dense matrix (padding rows and columns cropped) and
the dense reference computes the rest, so a sparse node equals its dense-with-zeros twin by
construction. Indices are checked as the runtime checks them.
"""
from __future__ import annotations

import numpy as np

from ..errors import SparsegateError
from . import nn
from .activations import apply_activation

F32 = np.float32


def _index(arr, name: str) -> np.ndarray:
    a = np.asarray(arr)
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)) or np.any(a != np.floor(a)):
            raise SparsegateError(f"{name} holds non-integer values")
    return a.astype(np.int64)


def bsr_to_dense(values, col_idx, row_ptr, shape, block) -> np.ndarray:
    """The dense [rows, K] matrix of a blocked-CSR weight (blocks of block[0] × block[1])."""
    rows, k = int(shape[0]), int(shape[1])
    bh, bw = int(block[0]), int(block[1])
    values = np.asarray(values, F32)
    col, ptr = _index(col_idx, "col_idx"), _index(row_ptr, "row_ptr")
    nrb, ncb = -(-rows // bh), -(-k // bw)
    nnzb = values.shape[0]
    if values.shape != (nnzb, bh, bw) or col.shape != (nnzb,) or ptr.shape != (nrb + 1,):
        raise SparsegateError(f"blocked CSR shapes: values {values.shape}, col_idx {col.shape}, "
                              f"row_ptr {ptr.shape} for a {rows}x{k} weight in {bh}x{bw} blocks")
    if ptr[0] != 0 or ptr[-1] != nnzb or np.any(np.diff(ptr) < 0):
        raise SparsegateError("row_ptr must start at 0, never decrease and end at nnzb")
    if np.any(col < 0) or np.any(col >= ncb):
        raise SparsegateError(f"col_idx out of range (block columns: {ncb})")
    dense = np.zeros((nrb, bh, ncb, bw), F32)
    block_row = np.repeat(np.arange(nrb), np.diff(ptr))
    dense[block_row, :, col, :] = values
    return dense.reshape(nrb * bh, ncb * bw)[:rows, :k]


def sparse_conv(ins, attrs, out_shapes):
    x, values, col_idx, row_ptr = ins[:4]
    b = ins[4] if len(ins) > 4 else None
    m, c, kh, kw = (int(v) for v in attrs["weight_shape"])
    w = bsr_to_dense(values, col_idx, row_ptr, (m, c * kh * kw), attrs["block"])
    dense_attrs = {k: attrs[k] for k in ("strides", "pads", "dilations", "activation",
                                         "activation_params")}
    return nn.conv([x, w.reshape(m, c, kh, kw), b], {**dense_attrs, "group": 1}, out_shapes)


def sparse_gemm(ins, attrs, out_shapes):
    a, values, col_idx, row_ptr = ins[:4]
    b = ins[4] if len(ins) > 4 else None
    w = bsr_to_dense(values, col_idx, row_ptr, attrs["weight_shape"], attrs["block"])
    y = np.asarray(a, F32) @ w.T
    if b is not None:
        y = y + np.asarray(b, F32)
    return [apply_activation(y.astype(F32), attrs["activation"], attrs["activation_params"])]
