"""How close a compressed model's outputs stay to the original's, one definition each.

Outputs come either as arrays [N, ...] (one row per sample) or as lists of output dicts (one
per feed, as runners return them; the first output is scored, each batch row a sample).
"""
from __future__ import annotations

import numpy as np


def _rows(outputs) -> np.ndarray:
    if isinstance(outputs, np.ndarray):
        return outputs.reshape(len(outputs), -1)
    if not outputs:
        return np.zeros((0, 0), np.float32)
    key = next(iter(outputs[0]))
    parts = []
    for o in outputs:
        a = np.asarray(o[key])
        n = a.shape[0] if a.ndim > 1 else 1
        parts.append(a.reshape(n, -1))
    return np.concatenate(parts)


def top1_agreement(reference, outputs, mask=None) -> float:
    """Fraction of samples whose argmax equals the reference's (optionally only where `mask`);
    NaN when no sample is scored."""
    same = _rows(reference).argmax(axis=1) == _rows(outputs).argmax(axis=1) if len(reference) else np.zeros(0, bool)
    if mask is not None:
        same = same[np.asarray(mask, bool)]
    return float(same.mean()) if same.size else float("nan")


def relative_error(reference, outputs) -> float:
    """Mean over samples of ‖out − ref‖² / ‖ref‖² (first output)."""
    ref, out = _rows(reference).astype(np.float64), _rows(outputs).astype(np.float64)
    return float(np.mean(((out - ref) ** 2).sum(axis=1) / np.maximum((ref ** 2).sum(axis=1), 1e-30)))


def cosine_similarity(reference, outputs) -> float:
    """Mean over samples of the cosine between output and reference (first output)."""
    ref, out = _rows(reference).astype(np.float64), _rows(outputs).astype(np.float64)
    num = (out * ref).sum(axis=1)
    den = np.linalg.norm(out, axis=1) * np.linalg.norm(ref, axis=1) + 1e-30
    return float(np.mean(num / den))


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of [N, ...] logits (float64)."""
    z = logits.reshape(len(logits), -1).astype(np.float64)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
