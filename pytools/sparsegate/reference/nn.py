"""Reference kernels with windows or weights: Conv, Gemm, MatMul, pools, Resize, Pad."""
from __future__ import annotations

import contextlib
import math

import numpy as np

from .activations import apply_activation

F32 = np.float32


def scalar(v):
    """Attributes read back from `.sgm` are lists even for scalars; accept both."""
    return v[0] if isinstance(v, (list, tuple)) else v


def _pad_to(x: np.ndarray, begins: list[int], lengths: list[int], fill: float) -> np.ndarray:
    """Pads (or crops) the last two axes so that they start `begins` before the data and
    span exactly `lengths` cells: explicit pads plus whatever a ceil-mode window needs."""
    widths = [(0, 0)] * (x.ndim - 2)
    slices = [slice(None)] * (x.ndim - 2)
    for size, b, length in zip(x.shape[-2:], begins, lengths):
        end = length - size - b
        widths.append((b, max(end, 0)))
        slices.append(slice(0, length))
    return np.pad(x, widths, constant_values=fill)[tuple(slices)]


def _window_views(xp: np.ndarray, kernel, strides, dilations, out_hw):
    """Yields (ky, kx, view) where view[..., oy, ox] = xp[..., oy*sh + ky*dh, ox*sw + kx*dw]."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, strides, dilations, out_hw
    for ky in range(kh):
        for kx in range(kw):
            y0, x0 = ky * dh, kx * dw
            yield ky, kx, xp[..., y0:y0 + (oh - 1) * sh + 1:sh, x0:x0 + (ow - 1) * sw + 1:sw]


def conv(ins, attrs, out_shapes):
    x, w = ins[0], ins[1]
    b = ins[2] if len(ins) > 2 else None
    n, c, h, wd = x.shape
    m, cg, kh, kw = w.shape
    g = int(scalar(attrs["group"]))
    strides, dil, pads = attrs["strides"], attrs["dilations"], attrs["pads"]
    oh = (h + pads[0] + pads[2] - ((kh - 1) * dil[0] + 1)) // strides[0] + 1
    ow = (wd + pads[1] + pads[3] - ((kw - 1) * dil[1] + 1)) // strides[1] + 1
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    xp = xp.reshape(n, g, cg, *xp.shape[2:])
    cols = np.empty((n, g, cg, kh, kw, oh, ow), F32)
    for ky, kx, view in _window_views(xp, (kh, kw), strides, dil, (oh, ow)):
        cols[:, :, :, ky, kx] = view
    cols = cols.reshape(n, g, cg * kh * kw, oh * ow)
    y = np.matmul(w.astype(F32).reshape(g, m // g, cg * kh * kw), cols).reshape(n, m, oh, ow)
    if b is not None:
        y = y + b.astype(F32).reshape(1, m, 1, 1)
    y = apply_activation(y, attrs["activation"], attrs["activation_params"])
    if attrs.get("gate_kind"):
        y = _gate(y, x, ins, attrs, g)
    return [y]


def conv_transpose(ins, attrs, out_shapes):
    """Scatter form, in float64: every input pixel adds W·x to the window it spreads over."""
    x, w = ins[0].astype(np.float64), ins[1].astype(np.float64)
    b = ins[2] if len(ins) > 2 else None
    n, c, h, wd = x.shape
    _, mg, kh, kw = w.shape
    g = int(scalar(attrs["group"]))
    s, d, p, op = (list(map(int, attrs[k])) for k in ("strides", "dilations", "pads", "output_padding"))
    oh = (h - 1) * s[0] + (kh - 1) * d[0] + 1 + op[0] - p[0] - p[2]
    ow = (wd - 1) * s[1] + (kw - 1) * d[1] + 1 + op[1] - p[1] - p[3]
    full = np.zeros((n, g * mg, (h - 1) * s[0] + (kh - 1) * d[0] + 1 + op[0] + p[2],
                     (wd - 1) * s[1] + (kw - 1) * d[1] + 1 + op[1] + p[3]))
    xg = x.reshape(n, g, c // g, h * wd)
    for ky in range(kh):
        for kx in range(kw):
            contrib = np.einsum("ngcp,gcm->ngmp", xg, w[:, :, ky, kx].reshape(g, c // g, mg))
            y0, x0 = ky * d[0], kx * d[1]
            full[:, :, y0:y0 + (h - 1) * s[0] + 1:s[0], x0:x0 + (wd - 1) * s[1] + 1:s[1]] += \
                contrib.reshape(n, g * mg, h, wd)
    y = full[:, :, p[0]:p[0] + oh, p[1]:p[1] + ow]
    if b is not None:
        y = y + b.astype(np.float64).reshape(1, -1, 1, 1)
    return [np.ascontiguousarray(y, dtype=F32)]


# --- gates (docs/ir.md, "Gated Conv and Gemm") -------------------------------------------------
# The run-time knob and an optional record of decisions, as `gate_knob` sets them.
_GATE = {"knob": 1.0, "record": None}


@contextlib.contextmanager
def gate_knob(knob: float = 1.0, record: list | None = None):
    """Runs reference gated convs at `knob` (0 = dense, 1 = calibrated sparsity, the runtime's
    default). When `record` is a list, each gated conv appends, per sample, the indices of the
    channels it computed (increasing), in execution order."""
    old = dict(_GATE)
    _GATE.update(knob=float(knob), record=record)
    try:
        yield
    finally:
        _GATE.update(old)


def gate_skip_count(sparsity, m: int, knob: float) -> int:
    """floor(g · gate_sparsity · M), evaluated in float32 as the runtime does."""
    return int(np.floor(F32(knob) * F32(scalar(sparsity)) * F32(m)))


def gate_topk(score: np.ndarray, keep: int) -> np.ndarray:
    """Boolean mask of the `keep` largest scores (NaN ranks lowest; ties keep the lower index)."""
    key = np.where(np.isnan(score), -np.inf, score)
    order = np.lexsort((np.arange(len(key)), -key.astype(np.float64)))
    mask = np.zeros(len(key), bool)
    mask[order[:max(0, min(keep, len(key)))]] = True
    return mask


def _gate(y: np.ndarray, x: np.ndarray, ins, attrs, group: int) -> np.ndarray:
    kind, fill = attrs["gate_kind"], attrs["gate_fill"]
    n, m = y.shape[:2]
    c = x.shape[1]
    knob, record = _GATE["knob"], _GATE["record"]
    keep = m - min(m, max(0, gate_skip_count(attrs["gate_sparsity"], m, knob)))
    act = lambda v: apply_activation(v, attrs["activation"], attrs["activation_params"])  # noqa: E731
    bias = ins[2].astype(F32) if len(ins) > 2 and ins[2] is not None else np.zeros(m, F32)
    y = y.copy()
    for i in range(n):
        xi = x[i].reshape(c, -1)
        if kind == "heuristic":
            if keep == m:
                mask = np.ones(m, bool)
            else:
                cg, mg = c // group, m // group
                mabs = np.abs(xi).mean(axis=1, dtype=F32).reshape(group, cg)
                norms = ins[3].astype(F32).reshape(group, mg, cg)
                score = np.einsum("gmc,gc->gm", norms, mabs).reshape(m).astype(F32)
                mask = gate_topk(score, keep)
                if fill == "expected":
                    mu = xi.mean(axis=1, dtype=F32).reshape(group, cg)
                    sums = ins[4].astype(F32).reshape(group, mg, cg)
                    value = act(np.einsum("gmc,gc->gm", sums, mu).reshape(m).astype(F32) + bias)
                elif fill == "bias":
                    value = act(bias)
                else:
                    value = np.zeros(m, F32)
                y[i, ~mask] = value[~mask, None, None]
        elif kind == "learned":
            s = ins[3].astype(F32) @ xi.mean(axis=1, dtype=F32) + ins[4].astype(F32)
            s = np.where(s > 0, s, F32(0)).astype(F32)
            mask = gate_topk(s, keep) & (s > F32(scalar(attrs["gate_threshold"])))
            y[i] = np.where(mask[:, None, None], y[i] * s[:, None, None], F32(0))
        else:
            raise ValueError(f"unknown gate_kind {kind!r}")
        if record is not None:
            record.append(np.flatnonzero(mask))
    return y


def gemm(ins, attrs, out_shapes):
    a, b = ins[0].astype(F32), ins[1].astype(F32)
    c = ins[2] if len(ins) > 2 else None
    if scalar(attrs["transA"]):
        a = a.T
    if scalar(attrs["transB"]):
        b = b.T
    y = F32(scalar(attrs["alpha"])) * (a @ b)
    if c is not None:
        y = y + F32(scalar(attrs["beta"])) * c.astype(F32)
    y = np.broadcast_to(y, (a.shape[0], b.shape[1])).astype(F32)
    y = apply_activation(y, attrs["activation"], attrs["activation_params"])
    if attrs.get("gate_kind"):  # each row of A is a 1×1 "image" of K channels
        if attrs["gate_kind"] != "learned":
            raise ValueError("a gated Gemm takes a learned gate only")
        y = _gate(y[:, :, None, None], a[:, :, None, None], ins, attrs, 1)[:, :, 0, 0]
    return [y]


def matmul(ins, attrs, out_shapes):
    return [np.matmul(ins[0].astype(F32), ins[1].astype(F32))]


def _pool_out_hw(x, attrs, out_shapes, dilations):
    """The declared output size (ceil_mode may have made it larger), else the floor size."""
    if out_shapes is not None:
        return tuple(out_shapes[0][2:])
    k, s, p = attrs["kernel_shape"], attrs["strides"], attrs["pads"]
    return tuple((size + p[a] + p[a + 2] - ((k[a] - 1) * dilations[a] + 1)) // s[a] + 1
                 for a, size in enumerate(x.shape[2:]))


def max_pool(ins, attrs, out_shapes):
    x = ins[0]
    k, s, d, p = attrs["kernel_shape"], attrs["strides"], attrs["dilations"], attrs["pads"]
    out_hw = _pool_out_hw(x, attrs, out_shapes, d)
    need = [(o - 1) * st + (kk - 1) * dd + 1 for o, st, kk, dd in zip(out_hw, s, k, d)]
    # -inf: padding (explicit or added by ceil_mode) never wins the max.
    xp = _pad_to(x, [p[0], p[1]], need, -np.inf)
    y = np.full(x.shape[:2] + tuple(out_hw), -np.inf, F32)
    for _, _, view in _window_views(xp, k, s, d, out_hw):
        y = np.maximum(y, view)
    return [y]


def average_pool(ins, attrs, out_shapes):
    x = ins[0]
    k, s, p = attrs["kernel_shape"], attrs["strides"], attrs["pads"]
    out_hw = _pool_out_hw(x, attrs, out_shapes, (1, 1))
    need = [(o - 1) * st + kk for o, st, kk in zip(out_hw, s, k)]
    xp = _pad_to(x, [p[0], p[1]], need, 0.0)
    # The divisor counts real cells, plus explicit pads when count_include_pad; cells that
    # only ceil_mode added never count.
    h, w = x.shape[-2:]
    if scalar(attrs["count_include_pad"]):
        ones = np.ones((h + p[0] + p[2], w + p[1] + p[3]), F32)
        mask = _pad_to(ones, [0, 0], need, 0.0)
    else:
        mask = _pad_to(np.ones((h, w), F32), [p[0], p[1]], need, 0.0)
    total = np.zeros(x.shape[:2] + tuple(out_hw), F32)
    count = np.zeros(tuple(out_hw), F32)
    for _, _, view in _window_views(xp, k, s, (1, 1), out_hw):
        total += view
    for _, _, view in _window_views(mask, k, s, (1, 1), out_hw):
        count += view
    return [total / count]


def global_average_pool(ins, attrs, out_shapes):
    x = ins[0]
    return [x.mean(axis=tuple(range(2, x.ndim)), keepdims=True, dtype=F32)]


def global_max_pool(ins, attrs, out_shapes):
    x = ins[0]
    return [x.max(axis=tuple(range(2, x.ndim)), keepdims=True)]


def pad(ins, attrs, out_shapes):
    x = ins[0]
    pads = [int(v) for v in attrs["pads"]]
    r = x.ndim
    begins, ends = pads[:r], pads[r:]
    # Negative pads crop first; the positive rest pads.
    crop = tuple(slice(max(-b, 0), x.shape[a] - max(-e, 0)) for a, (b, e) in enumerate(zip(begins, ends)))
    x = x[crop]
    widths = [(max(b, 0), max(e, 0)) for b, e in zip(begins, ends)]
    mode = attrs["mode"]
    if mode == "constant":
        return [np.pad(x, widths, mode="constant", constant_values=F32(scalar(attrs["value"])))]
    return [np.pad(x, widths, mode={"reflect": "reflect", "edge": "edge"}[mode])]


def _source_coords(mode: str, out_len: int, in_len: int, scale: float) -> np.ndarray:
    """Maps each output coordinate to the input coordinate (float64), as ONNX Resize does."""
    x = np.arange(out_len, dtype=np.float64)
    if mode == "half_pixel":
        return (x + 0.5) / scale - 0.5
    if mode == "half_pixel_symmetric":
        adjustment = out_len / (scale * in_len)
        center = in_len / 2
        return center * (1 - adjustment) + (x + 0.5) / scale - 0.5
    if mode == "pytorch_half_pixel":
        return (x + 0.5) / scale - 0.5 if out_len > 1 else np.zeros_like(x)
    if mode == "align_corners":
        return x * (in_len - 1) / (out_len - 1) if out_len > 1 else np.zeros_like(x)
    if mode == "asymmetric":
        return x / scale
    raise ValueError(f"Resize: coordinate_transformation_mode {mode!r} is not supported")


def _nearest_index(coords: np.ndarray, nearest_mode: str, in_len: int) -> np.ndarray:
    if nearest_mode == "floor":
        idx = np.floor(coords)
    elif nearest_mode == "ceil":
        idx = np.ceil(coords)
    elif nearest_mode == "round_prefer_floor":
        idx = np.where(coords - np.floor(coords) == 0.5, np.floor(coords), np.round(coords))
    else:  # round_prefer_ceil
        idx = np.where(coords - np.floor(coords) == 0.5, np.ceil(coords), np.round(coords))
    return np.clip(idx, 0, in_len - 1).astype(np.int64)


def resize(ins, attrs, out_shapes):
    x = ins[0].astype(F32)
    scales = [float(v) for v in attrs["scales"]]
    out_shape = out_shapes[0] if out_shapes is not None else \
        [int(math.floor(n * sc)) for n, sc in zip(x.shape, scales)]
    mode, ctm = attrs["mode"], attrs["coordinate_transformation_mode"]
    for axis, (in_len, out_len, scale) in enumerate(zip(x.shape, out_shape, scales)):
        if in_len == out_len and scale == 1.0:
            continue
        coords = _source_coords(ctm, out_len, in_len, scale)
        if mode == "nearest":
            x = np.take(x, _nearest_index(coords, attrs["nearest_mode"], in_len), axis=axis)
            continue
        coords = np.clip(coords, 0, in_len - 1)
        i0 = np.floor(coords).astype(np.int64)
        i1 = np.minimum(i0 + 1, in_len - 1)
        shape = [1] * x.ndim
        shape[axis] = out_len
        w1 = (coords - i0).astype(F32).reshape(shape)
        x = np.take(x, i0, axis=axis) * (1 - w1) + np.take(x, i1, axis=axis) * w1
    return [x.astype(F32)]
