"""Element-wise activations, shared by the standalone ops and the fused `activation` attribute."""
from __future__ import annotations

import numpy as np

F32 = np.float32


def sigmoid(x):
    with np.errstate(over="ignore"):
        return (1 / (1 + np.exp(-x))).astype(F32)


def apply_activation(y: np.ndarray, name: str, params) -> np.ndarray:
    """Applies a fused activation (docs/ir.md, `activation` of Conv and Gemm)."""
    p = [float(v) for v in params] if params is not None else []
    if name == "":
        return y
    if name == "Relu":
        return np.maximum(y, F32(0))
    if name == "Clip":
        return np.clip(y, F32(p[0]), F32(p[1]))
    if name == "Sigmoid":
        return sigmoid(y)
    if name == "Silu":
        return (y * sigmoid(y)).astype(F32)
    if name == "HardSwish":
        return (y * np.clip(y / F32(6) + F32(0.5), 0, 1)).astype(F32)
    if name == "HardSigmoid":
        return np.clip(F32(p[0]) * y + F32(p[1]), 0, 1).astype(F32)
    if name == "LeakyRelu":
        return np.where(y >= 0, y, F32(p[0]) * y).astype(F32)
    if name == "Tanh":
        return np.tanh(y)
    raise ValueError(f"unknown activation {name!r}")
