"""Torch twins of the numpy reference ops (docs/ir.md): the op registry of the torch executor.

Each function takes (inputs, attrs, out_shapes, ctx) — input tensors (None for an absent optional
input), the node's attributes, the output shapes with the run's batch size, and the run context
(`RunContext`: gate knob, gate records) — and returns a list of tensors. Formulas follow
`sparsegate.reference` operation by operation, so both agree to float32 rounding.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from ..reference.nn import _source_coords, _nearest_index


def scalar(v):
    return v[0] if isinstance(v, (list, tuple)) else v


def activation(y: torch.Tensor, name: str, params) -> torch.Tensor:
    """The fused `activation` attribute of Conv and Gemm, and the standalone activations."""
    p = [float(v) for v in params] if params is not None else []
    if name == "":
        return y
    if name == "Relu":
        return torch.relu(y)
    if name == "Clip":
        return torch.clamp(y, p[0], p[1])
    if name == "Sigmoid":
        return torch.sigmoid(y)
    if name == "Silu":
        return y * torch.sigmoid(y)
    if name == "HardSwish":
        return y * torch.clamp(y / 6 + 0.5, 0, 1)
    if name == "HardSigmoid":
        return torch.clamp(p[0] * y + p[1], 0, 1)
    if name == "LeakyRelu":
        return torch.where(y >= 0, y, p[0] * y)
    if name == "Tanh":
        return torch.tanh(y)
    raise ValueError(f"unknown activation {name!r}")


class RunContext:
    """Per-run state shared by the ops: the gate knob (0 = dense, 1 = calibrated sparsity) and,
    when `records` is a dict, each gated node's gate values and kept-channel mask."""

    def __init__(self, gate: float = 1.0, records: dict | None = None):
        self.gate = float(gate)
        self.records = records
        self.node = ""  # name of the node being run (the executor sets it)


def gate_skip_count(sparsity: float, m: int, knob: float) -> int:
    """Channels a gated layer skips: floor(g · gate_sparsity · M) (docs/ir.md)."""
    return int(math.floor(float(knob) * float(scalar(sparsity)) * m))


def learned_gate(s: torch.Tensor, attrs, knob: float) -> torch.Tensor:
    """Kept-channel mask [N, M] (float 0/1) for gate values s [N, M]: the largest values, at
    most M − skipped of them, and only those above gate_threshold (ties: lower index kept)."""
    n, m = s.shape
    keep = m - gate_skip_count(attrs.get("gate_sparsity", 0.0), m, knob)
    order = torch.sort(s.detach(), dim=1, descending=True, stable=True).indices[:, :keep]
    mask = torch.zeros_like(s, dtype=torch.bool)
    mask.scatter_(1, order, True)
    mask &= s.detach() > float(scalar(attrs.get("gate_threshold", 0.0)))
    return mask.to(s.dtype)


def heuristic_gate(x, ins, attrs, knob) -> tuple[torch.Tensor, torch.Tensor]:
    """(mask [N, M], fill [N, M] pre-activation) of the heuristic gate (docs/ir.md)."""
    norms, sums = ins[3], ins[4]
    n, c = x.shape[:2]
    m = norms.shape[0]
    g = c // norms.shape[1]
    absmean = x.abs().mean(dim=(2, 3)).reshape(n, g, c // g)
    mean = x.mean(dim=(2, 3)).reshape(n, g, c // g)
    per_group = m // g
    norms_g = norms.reshape(g, per_group, -1)
    sums_g = sums.reshape(g, per_group, -1)
    importance = torch.einsum("gmc,ngc->ngm", norms_g, absmean).reshape(n, m)
    expected = torch.einsum("gmc,ngc->ngm", sums_g, mean).reshape(n, m)
    keep = m - gate_skip_count(attrs.get("gate_sparsity", 0.0), m, knob)
    # lowest importance skipped, ties: lower index kept -> sort descending, stable.
    order = torch.sort(importance.detach(), dim=1, descending=True, stable=True).indices[:, :keep]
    mask = torch.zeros((n, m), dtype=x.dtype)
    mask.scatter_(1, order, 1.0)
    return mask, expected


def quantize_input(x: torch.Tensor, x_scale, x_zero_point) -> torch.Tensor:
    """q(x) − zp as ConvInt8/GemmInt8 compute it (x·float32(1/x_scale), round half to even,
    clamp to [−zp, 255−zp]), with a straight-through gradient inside the range."""
    inv = float(np.float32(1.0) / np.float32(scalar(x_scale)))
    zp = int(scalar(x_zero_point))
    v = x * inv
    q = torch.nan_to_num(torch.clamp(torch.round(v), -zp, 255 - zp), nan=0.0)
    inside = (v >= -zp - 0.5) & (v <= 255 - zp + 0.5)
    return torch.where(inside, v + (q - v).detach(), q.detach())


def fake_quant_weight(w: torch.Tensor, axis: int = 0) -> torch.Tensor:
    """Symmetric int8 per slice along `axis` (max|w|/127, as passes.quantize), straight-through."""
    other = tuple(d for d in range(w.ndim) if d != axis)
    amax = w.detach().abs().amax(dim=other, keepdim=True)
    scale = torch.where(amax > 0, amax / 127, torch.ones_like(amax))
    q = torch.clamp(torch.round(w / scale), -127, 127) * scale
    return w + (q - w).detach()


def _qat(x, w, attrs, axis):
    """Quantization-aware training: a float Conv/Gemm carrying `qat_x_scale` and
    `qat_x_zero_point` computes what its ConvInt8/GemmInt8 twin will (fake quantization)."""
    if "qat_x_scale" not in attrs:
        return x, w
    xs = float(scalar(attrs["qat_x_scale"]))
    return quantize_input(x, xs, attrs["qat_x_zero_point"]) * xs, fake_quant_weight(w, axis)


def conv_raw(x, w, b, attrs) -> torch.Tensor:
    """Conv without activation or gate (asymmetric pads padded explicitly)."""
    pads = [int(p) for p in attrs["pads"]]
    if pads[0] == pads[2] and pads[1] == pads[3]:
        xp, padding = x, (pads[0], pads[1])
    else:
        xp, padding = F.pad(x, (pads[1], pads[3], pads[0], pads[2])), (0, 0)
    return F.conv2d(xp, w, b, stride=tuple(attrs["strides"]), padding=padding,
                    dilation=tuple(attrs["dilations"]), groups=int(scalar(attrs.get("group", 1))))


def conv(ins, attrs, out_shapes, ctx):
    x, w = _qat(ins[0], ins[1], attrs, 0)
    y = conv_raw(x, w, ins[2] if len(ins) > 2 else None, attrs)
    return [_gated(y, ins[0], ins, attrs, ctx, spatial=True)]


def _gated(y, x, ins, attrs, ctx, spatial):
    """Applies the fused activation and, for a gated node, its gate (docs/ir.md)."""
    kind = attrs.get("gate_kind")
    act = lambda t: activation(t, attrs["activation"], attrs["activation_params"])  # noqa: E731
    if not kind:
        return act(y)
    expand = (lambda t: t[:, :, None, None]) if spatial else (lambda t: t)
    pooled = x.mean(dim=tuple(range(2, x.ndim))) if spatial else x
    if kind == "learned":
        s = torch.relu(pooled @ ins[3].t() + ins[4])
        mask = learned_gate(s, attrs, ctx.gate)
        out = act(y) * expand(s * mask)
    elif kind == "heuristic":
        mask, expected = heuristic_gate(x, ins, attrs, ctx.gate)
        s = mask
        fill_kind = attrs.get("gate_fill", "expected")
        b = ins[2] if len(ins) > 2 and ins[2] is not None else torch.zeros(y.shape[1])
        if fill_kind == "zero":
            fill = torch.zeros_like(mask)
        else:
            base = b[None, :] + (expected if fill_kind == "expected" else 0)
            fill = act(base)
        out = act(y) * expand(mask) + expand(fill * (1 - mask))
    else:
        raise ValueError(f"unknown gate_kind {kind!r}")
    if ctx.records is not None:
        ctx.records[ctx.node] = (s, mask)
    return out


def gemm(ins, attrs, out_shapes, ctx):
    a, b = ins[0], ins[1]
    c = ins[2] if len(ins) > 2 else None
    if scalar(attrs["transA"]):
        a = a.t()
    if scalar(attrs["transB"]):
        b = b.t()
    a, b = _qat(a, b, attrs, 1)
    y = float(scalar(attrs["alpha"])) * (a @ b)
    if c is not None:
        y = y + float(scalar(attrs["beta"])) * c
    y = y.expand(a.shape[0], b.shape[1])
    return [_gated(y, a, ins, attrs, ctx, spatial=False)]


def _pad_to(x, begins, lengths, fill):
    """Pads (or crops) the last two axes: `begins` cells before, `lengths` cells in all."""
    h, w = x.shape[-2:]
    ends = [lengths[0] - h - begins[0], lengths[1] - w - begins[1]]
    x = F.pad(x, (begins[1], max(ends[1], 0), begins[0], max(ends[0], 0)), value=fill)
    return x[..., :lengths[0], :lengths[1]]


def _pool_out_hw(x, attrs, out_shapes, dilations):
    if out_shapes is not None:
        return tuple(out_shapes[0][2:])
    k, s, p = attrs["kernel_shape"], attrs["strides"], attrs["pads"]
    return tuple((size + p[a] + p[a + 2] - ((k[a] - 1) * dilations[a] + 1)) // s[a] + 1
                 for a, size in enumerate(x.shape[2:]))


def max_pool(ins, attrs, out_shapes, ctx):
    x = ins[0]
    k, s, d, p = attrs["kernel_shape"], attrs["strides"], attrs["dilations"], attrs["pads"]
    out_hw = _pool_out_hw(x, attrs, out_shapes, d)
    need = [(o - 1) * st + (kk - 1) * dd + 1 for o, st, kk, dd in zip(out_hw, s, k, d)]
    xp = _pad_to(x, [p[0], p[1]], need, -math.inf)
    return [F.max_pool2d(xp, tuple(k), tuple(s), dilation=tuple(d))]


def average_pool(ins, attrs, out_shapes, ctx):
    x = ins[0]
    k, s, p = attrs["kernel_shape"], attrs["strides"], attrs["pads"]
    out_hw = _pool_out_hw(x, attrs, out_shapes, (1, 1))
    need = [(o - 1) * st + kk for o, st, kk in zip(out_hw, s, k)]
    xp = _pad_to(x, [p[0], p[1]], need, 0.0)
    h, w = x.shape[-2:]
    if scalar(attrs["count_include_pad"]):
        mask = _pad_to(torch.ones(1, 1, h + p[0] + p[2], w + p[1] + p[3]), [0, 0], need, 0.0)
    else:
        mask = _pad_to(torch.ones(1, 1, h, w), [p[0], p[1]], need, 0.0)
    total = F.avg_pool2d(xp, tuple(k), tuple(s), divisor_override=1)
    count = F.avg_pool2d(mask, tuple(k), tuple(s), divisor_override=1)
    return [total / count]


def pad(ins, attrs, out_shapes, ctx):
    x = ins[0]
    pads = [int(v) for v in attrs["pads"]]
    r = x.ndim
    begins, ends = pads[:r], pads[r:]
    crop = tuple(slice(max(-b, 0), x.shape[a] - max(-e, 0)) for a, (b, e) in enumerate(zip(begins, ends)))
    x = x[crop]
    widths = [(max(b, 0), max(e, 0)) for b, e in zip(begins, ends)]
    mode = attrs["mode"]
    if mode == "constant":
        flat = [v for bw in reversed(widths) for v in bw]
        return [F.pad(x, flat, value=float(scalar(attrs["value"])))]
    np_mode = {"reflect": "reflect", "edge": "edge"}[mode]
    for axis, (b, e) in enumerate(widths):
        if b or e:
            idx = np.pad(np.arange(x.shape[axis]), (b, e), mode=np_mode)
            x = torch.index_select(x, axis, torch.from_numpy(idx))
    return [x]


def resize(ins, attrs, out_shapes, ctx):
    x = ins[0]
    scales = [float(v) for v in attrs["scales"]]
    out_shape = out_shapes[0]
    mode, ctm = attrs["mode"], attrs["coordinate_transformation_mode"]
    for axis, (in_len, out_len, scale) in enumerate(zip(x.shape, out_shape, scales)):
        if in_len == out_len and scale == 1.0:
            continue
        coords = _source_coords(ctm, out_len, in_len, scale)
        if mode == "nearest":
            idx = _nearest_index(coords, attrs["nearest_mode"], in_len)
            x = torch.index_select(x, axis, torch.from_numpy(idx))
            continue
        coords = np.clip(coords, 0, in_len - 1)
        i0 = np.floor(coords).astype(np.int64)
        i1 = np.minimum(i0 + 1, in_len - 1)
        shape = [1] * x.ndim
        shape[axis] = out_len
        w1 = torch.from_numpy((coords - i0).astype(np.float32).reshape(shape))
        x = torch.index_select(x, axis, torch.from_numpy(i0)) * (1 - w1) + \
            torch.index_select(x, axis, torch.from_numpy(i1)) * w1
    return [x]


def slice_(ins, attrs, out_shapes, ctx):
    x = ins[0]
    for axis, (start, step, n) in enumerate(zip(attrs["starts"], attrs["steps"], out_shapes[0])):
        start, step = int(start), int(step)
        if step == 1 and start == 0 and n == x.shape[axis]:
            continue
        if step == 1:
            x = x.narrow(axis, start, n)
        else:
            x = torch.index_select(x, axis, torch.arange(n, dtype=torch.int64) * step + start)
    return [x]


def concat(ins, axis):
    """A constant operand (batch 1, e.g. zero channels appended) follows the run's batch."""
    batch = max(t.shape[0] for t in ins)
    if axis != 0 and batch > 1:
        ins = [t.expand(batch, *t.shape[1:]) if t.shape[0] == 1 else t for t in ins]
    return torch.cat(ins, dim=axis)


def split(ins, attrs, out_shapes, ctx):
    axis = int(scalar(attrs["axis"]))
    sizes = [int(s) for s in attrs["split"]]
    if axis == 0 and len(sizes) == 1:
        sizes = [ins[0].shape[0]]
    return list(torch.split(ins[0], sizes, dim=axis))


def _binary(fn):
    def run(ins, attrs, out_shapes, ctx):  # optional fused `activation` (docs/ir.md)
        y = fn(ins[0], ins[1])
        if attrs.get("activation"):
            y = activation(y, attrs["activation"], attrs.get("activation_params", []))
        return [y]
    return run


def _act(name, *keys):
    return lambda ins, attrs, out_shapes, ctx: [activation(ins[0], name, [scalar(attrs[k]) for k in keys])]


def _gelu(x, attrs):
    return F.gelu(x, approximate=str(attrs["approximate"]))


# Element-wise math (docs/ir.md), as sparsegate.reference computes it.
MATH = {
    "Exp": lambda x, a: torch.exp(x),
    "Log": lambda x, a: torch.log(x),
    "Sqrt": lambda x, a: torch.sqrt(x),
    "Abs": lambda x, a: torch.abs(x),
    "Neg": lambda x, a: -x,
    "Reciprocal": lambda x, a: torch.reciprocal(x),
    "Floor": lambda x, a: torch.floor(x),
    "Ceil": lambda x, a: torch.ceil(x),
    "Round": lambda x, a: torch.round(x),  # half to even, as ONNX
    "Sign": lambda x, a: torch.sign(x),
    "Erf": lambda x, a: torch.erf(x),
    "Softplus": lambda x, a: F.softplus(x),
    "Elu": lambda x, a: torch.where(x < 0, float(scalar(a["alpha"])) * torch.expm1(torch.clamp(x, max=0)), x),
    "Selu": lambda x, a: float(scalar(a["gamma"])) * torch.where(
        x > 0, x, float(scalar(a["alpha"])) * torch.expm1(torch.clamp(x, max=0))),
    "Mish": lambda x, a: F.mish(x),
    "Gelu": _gelu,
}


def _math(name):
    return lambda ins, attrs, out_shapes, ctx: [MATH[name](ins[0], attrs)]


def _prod(x, axes, keepdim):
    for a in sorted(axes, reverse=True):
        x = torch.prod(x, dim=a, keepdim=keepdim)
    return x


def layer_norm(ins, attrs, out_shapes, ctx):
    x, axis = ins[0], int(scalar(attrs["axis"]))
    bias = ins[2] if len(ins) > 2 else None
    return [F.layer_norm(x, x.shape[axis:], ins[1], bias, float(scalar(attrs["epsilon"])))]


def conv_transpose(ins, attrs, out_shapes, ctx):
    """F.conv_transpose2d, with the end pads and output_padding applied by cropping/padding."""
    s, d, p, op = ([int(v) for v in attrs[k]] for k in ("strides", "dilations", "pads", "output_padding"))
    y = F.conv_transpose2d(ins[0], ins[1], ins[2] if len(ins) > 2 else None, stride=s, dilation=d,
                           groups=int(scalar(attrs["group"])))
    y = F.pad(y, [0, op[1], 0, op[0]])  # extra end rows/columns: bias only
    if len(ins) > 2 and ins[2] is not None and (op[0] or op[1]):
        mask = torch.zeros_like(y[:1, :1])
        mask[..., y.shape[2] - op[0]:, :] = 1
        mask[..., :, y.shape[3] - op[1]:] = 1
        y = y + mask * ins[2].reshape(1, -1, 1, 1)
    return [y[:, :, p[0]:y.shape[2] - p[2], p[1]:y.shape[3] - p[3]]]


def _extreme(fn, empty):
    """amax/amin; over an empty axis the identity (∓inf), as the reference (torch refuses)."""
    def run(x, axes, keepdim):
        if any(x.shape[a] == 0 for a in axes):
            shape = [1 if i in axes else d for i, d in enumerate(x.shape) if keepdim or i not in axes]
            return torch.full(shape, empty, dtype=x.dtype, device=x.device)
        return fn(x, dim=axes, keepdim=keepdim)
    return run


REDUCE = {
    "ReduceSum": lambda x, ax, k: torch.sum(x, dim=ax, keepdim=k),
    "ReduceMean": lambda x, ax, k: torch.mean(x, dim=ax, keepdim=k),
    "ReduceMax": _extreme(torch.amax, -math.inf),
    "ReduceMin": _extreme(torch.amin, math.inf),
    "ReduceProd": _prod,
    "ReduceL2": lambda x, ax, k: torch.sqrt(torch.sum(x * x, dim=ax, keepdim=k)),
    "ReduceLogSumExp": lambda x, ax, k: torch.logsumexp(x, dim=ax, keepdim=k),
}


def _reduce(name):
    def run(ins, attrs, out_shapes, ctx):
        axes = attrs["axes"] if isinstance(attrs["axes"], (list, tuple)) else [attrs["axes"]]
        return [REDUCE[name](ins[0], [int(a) for a in axes], bool(int(scalar(attrs["keepdims"]))))]
    return run


OPS = {
    "Conv": conv,
    "ConvTranspose": conv_transpose,
    "Gemm": gemm,
    "MatMul": _binary(torch.matmul),
    "Add": _binary(torch.add),
    "Sub": _binary(torch.sub),
    "Mul": _binary(torch.mul),
    "Div": _binary(torch.div),
    "PRelu": lambda ins, attrs, out_shapes, ctx: [torch.where(ins[0] < 0, ins[1] * ins[0], ins[0])],
    "Relu": _act("Relu"),
    "Sigmoid": _act("Sigmoid"),
    "Tanh": _act("Tanh"),
    "HardSwish": _act("HardSwish"),
    "Silu": _act("Silu"),
    "LeakyRelu": _act("LeakyRelu", "alpha"),
    "HardSigmoid": _act("HardSigmoid", "alpha", "beta"),
    "Clip": lambda ins, attrs, out_shapes, ctx: [torch.clamp(ins[0], float(scalar(attrs["min"])),
                                                             float(scalar(attrs["max"])))],
    **{name: _math(name) for name in MATH},
    "Pow": _binary(torch.pow),
    "MaxPool": max_pool,
    "AveragePool": average_pool,
    "GlobalAveragePool": lambda ins, attrs, out_shapes, ctx: [
        ins[0].mean(dim=tuple(range(2, ins[0].ndim)), keepdim=True)],
    "GlobalMaxPool": lambda ins, attrs, out_shapes, ctx: [
        ins[0].amax(dim=tuple(range(2, ins[0].ndim)), keepdim=True)],
    "Concat": lambda ins, attrs, out_shapes, ctx: [concat(ins, int(scalar(attrs["axis"])))],
    "Split": split,
    "Slice": slice_,
    "Reshape": lambda ins, attrs, out_shapes, ctx: [ins[0].reshape(out_shapes[0])],
    "Transpose": lambda ins, attrs, out_shapes, ctx: [ins[0].permute(*[int(p) for p in attrs["perm"]])],
    "Pad": pad,
    "Resize": resize,
    "Softmax": lambda ins, attrs, out_shapes, ctx: [torch.softmax(ins[0], dim=int(scalar(attrs["axis"])))],
    **{name: _reduce(name) for name in REDUCE},
    "LayerNormalization": layer_norm,
}
