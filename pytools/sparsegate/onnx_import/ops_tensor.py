"""Converters for element-wise and data-movement ops (ONNX node -> IR nodes).

Each converter reads constant inputs through the builder (they become attributes) and emits
IR nodes with every attribute of docs/ir.md present."""
from __future__ import annotations

import numpy as np

from .builder import Builder, Unsupported


def _axis(axis: int, rank: int) -> int:
    return int(axis) + rank if axis < 0 else int(axis)


def binary(b: Builder, node, attrs):
    b.emit(node.op_type, node.name, [node.input[0], node.input[1]], [b.out(node.output[0])])


def unary(b: Builder, node, attrs):
    b.emit(node.op_type, node.name, [node.input[0]], [b.out(node.output[0])])


def leaky_relu(b: Builder, node, attrs):
    b.emit("LeakyRelu", node.name, [node.input[0]], [b.out(node.output[0])],
           alpha=float(attrs.get("alpha", 0.01)))


def hard_sigmoid(b: Builder, node, attrs):
    b.emit("HardSigmoid", node.name, [node.input[0]], [b.out(node.output[0])],
           alpha=float(attrs.get("alpha", 0.2)), beta=float(attrs.get("beta", 0.5)))


def elu(b: Builder, node, attrs):
    b.emit("Elu", node.name, [node.input[0]], [b.out(node.output[0])],
           alpha=float(attrs.get("alpha", 1.0)))


def selu(b: Builder, node, attrs):
    b.emit("Selu", node.name, [node.input[0]], [b.out(node.output[0])],
           alpha=float(attrs.get("alpha", 1.67326319217681884765625)),
           gamma=float(attrs.get("gamma", 1.05070102214813232421875)))


def gelu(b: Builder, node, attrs):
    approximate = attrs.get("approximate", "none")
    if approximate not in ("none", "tanh"):
        raise Unsupported(f"approximate '{approximate}' (none and tanh convert)")
    b.emit("Gelu", node.name, [node.input[0]], [b.out(node.output[0])], approximate=approximate)


def pow_(b: Builder, node, attrs):
    """Pow with float32 data; a constant integer exponent (ONNX allows int types for it)
    becomes float32 when every value is exact there. x² (written-out LayerNorm and variance)
    becomes Mul(x, x): the same correctly rounded value, without a powf per element."""
    base, exponent = node.input[0], node.input[1]
    value = b.value(exponent)
    if value is not None and value.size == 1 and float(value.reshape(-1)[0]) == 2.0 and \
            tuple(b.shape(node.output[0])) == tuple(b.shape(base)):
        b.emit("Mul", node.name, [base, base], [b.out(node.output[0])])
        return
    if value is not None and value.dtype.kind in "iu":
        as_f32 = value.astype(np.float32)
        if not np.array_equal(as_f32.astype(value.dtype), value):
            raise Unsupported(f"exponent '{exponent}' holds integers that float32 cannot represent")
        exponent = b.add_const(f"{exponent}/f32", as_f32)
    b.emit("Pow", node.name, [base, exponent], [b.out(node.output[0])])


def reduce(b: Builder, node, attrs):
    """Reduce*: axes from the attribute or (ReduceSum 13+, all of them 18+) a constant input;
    none given reduces every axis, or copies the input when noop_with_empty_axes is set."""
    x = node.input[0]
    rank = len(b.shape(x))
    if len(node.input) > 1 and node.input[1]:
        axes = [int(a) for a in b.const(node.input[1], f"{node.op_type} axes").reshape(-1)]
    else:
        axes = [int(a) for a in attrs.get("axes", [])]
    keepdims, noop = int(attrs.get("keepdims", 1)), int(attrs.get("noop_with_empty_axes", 0))
    if not axes and noop:
        b.reshape(node.name, x, b.out(node.output[0]))
        return
    axes = axes or list(range(rank))
    if any(not -rank <= a < rank for a in axes):
        raise Unsupported(f"axes {axes} out of range for input '{x}' of rank {rank}")
    norm = sorted({_axis(a, rank) for a in axes})
    if len(norm) != len(axes):
        raise Unsupported(f"axes {axes} repeat an axis")
    if not norm:  # a scalar input: nothing to reduce
        b.reshape(node.name, x, b.out(node.output[0]))
        return
    b.emit(node.op_type, node.name, [x], [b.out(node.output[0])], axes=norm,
           keepdims=int(keepdims != 0))


def clip(b: Builder, node, attrs):
    bounds = []
    for idx, default in ((1, -np.inf), (2, np.inf)):
        name = node.input[idx] if len(node.input) > idx else ""
        bounds.append(float(b.const(name, "Clip bound").reshape(-1)[0]) if name else default)
    b.emit("Clip", node.name, [node.input[0]], [b.out(node.output[0])], min=bounds[0], max=bounds[1])


def prelu(b: Builder, node, attrs):
    b.emit("PRelu", node.name, [node.input[0], node.input[1]], [b.out(node.output[0])])


def reshape_like(b: Builder, node, attrs):
    """Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout, float Cast: a copy with the
    output shape the analysis found (which carries axis, axes, allowzero; a Cast `to` other
    than float32 fails the dtype check)."""
    attrs.consume(*attrs)
    if node.op_type == "Dropout":
        if len(node.output) > 1 and node.output[1] in b.used:
            raise Unsupported("the mask output is used; only inference Dropout converts")
        if len(node.input) > 2 and node.input[2]:
            if bool(b.const(node.input[2], "training_mode")):
                raise Unsupported("training_mode=True")
    src, dst = b.shape(node.input[0]), b.shape(node.output[0])
    if int(np.prod(src)) != int(np.prod(dst)):  # e.g. a hard-coded batch 1 given batch 2
        raise Unsupported(f"reshapes {list(src)} ({int(np.prod(src))} values) to {list(dst)} "
                          f"({int(np.prod(dst))} values): do the input shapes fit the model?")
    b.reshape(node.name, node.input[0], b.out(node.output[0]))


def transpose(b: Builder, node, attrs):
    rank = len(b.shape(node.input[0]))
    perm = [int(p) for p in attrs.get("perm", range(rank - 1, -1, -1))]
    b.emit("Transpose", node.name, [node.input[0]], [b.out(node.output[0])], perm=perm)


def concat(b: Builder, node, attrs):
    rank = len(b.shape(node.output[0]))
    # Empty inputs add nothing; dropping them spares the runtime zero-size tensors.
    ins = [i for i in node.input if i and int(np.prod(b.shape(i))) > 0] or [node.input[0]]
    b.emit("Concat", node.name, ins, [b.out(node.output[0])], axis=_axis(attrs["axis"], rank))


def split(b: Builder, node, attrs):
    rank = len(b.shape(node.input[0]))
    axis = _axis(attrs.get("axis", 0), rank)
    outs = [b.out(o) for o in node.output]
    attrs.consume("split", "num_outputs")  # the inferred output shapes carry the sizes
    b.emit("Split", node.name, [node.input[0]], outs, axis=axis,
           split=[int(b.shape(o)[axis]) for o in outs])


def slice_(b: Builder, node, attrs):
    shape = b.shape(node.input[0])
    rank = len(shape)
    starts = [int(v) for v in b.const(node.input[1], "Slice starts")]
    ins = list(node.input) + [""] * (5 - len(node.input))
    axes = [int(v) for v in b.const(ins[3], "Slice axes")] if ins[3] else list(range(len(starts)))
    steps = [int(v) for v in b.const(ins[4], "Slice steps")] if ins[4] else [1] * len(starts)
    eff_starts, eff_steps = [0] * rank, [1] * rank
    for axis, start, step in zip(axes, starts, steps):
        axis, dim = _axis(axis, rank), shape[_axis(axis, rank)]
        if step == 0:
            raise Unsupported("Slice step 0")
        start = start + dim if start < 0 else start
        # ONNX clamps the start into the readable range for the step's direction.
        start = min(max(start, 0), dim) if step > 0 else min(max(start, 0), dim - 1)
        eff_starts[axis], eff_steps[axis] = start, step
    b.emit("Slice", node.name, [node.input[0]], [b.out(node.output[0])],
           starts=eff_starts, steps=eff_steps)


def pad(b: Builder, node, attrs):
    mode = attrs.get("mode", "constant")
    if mode not in ("constant", "reflect", "edge"):
        raise Unsupported(f"mode '{mode}'")
    rank = len(b.shape(node.input[0]))
    ins = list(node.input) + [""] * (4 - len(node.input))
    given = [int(v) for v in b.const(ins[1], "Pad pads")]
    axes = [_axis(int(a), rank) for a in b.const(ins[3], "Pad axes")] if ins[3] else list(range(rank))
    pads = [0] * (2 * rank)
    for k, axis in enumerate(axes):
        pads[axis], pads[rank + axis] = given[k], given[len(axes) + k]
    value = float(b.const(ins[2], "Pad value").reshape(-1)[0]) if ins[2] else 0.0
    b.emit("Pad", node.name, [node.input[0]], [b.out(node.output[0])], pads=pads, mode=mode,
           value=value)


def gather(b: Builder, node, attrs):
    """Gather from run-time data with constant indices forming an arithmetic progression
    (a scalar index, or e.g. [2, 3, 4]): a Slice (plus a Reshape dropping the axis)."""
    shape = b.shape(node.input[0])
    axis = _axis(attrs.get("axis", 0), len(shape))
    idx = b.const(node.input[1], "Gather indices").astype(np.int64)
    flat = np.where(idx < 0, idx + shape[axis], idx).reshape(-1)
    step = int(flat[1] - flat[0]) if flat.size > 1 else 1
    if idx.ndim > 1 or flat.size == 0 or step == 0 or np.any(np.diff(flat) != step):
        raise Unsupported("Gather on run-time data needs constant indices: a scalar or an "
                          "evenly spaced 1-D list")
    starts, steps = [0] * len(shape), [1] * len(shape)
    starts[axis], steps[axis] = int(flat[0]), step
    sliced = list(shape)
    sliced[axis] = flat.size
    out = b.out(node.output[0])
    if idx.ndim == 1:
        b.emit("Slice", node.name, [node.input[0]], [out], starts=starts, steps=steps)
        return
    tmp = b.temp(f"{node.output[0]}/slice", sliced)
    b.emit("Slice", node.name, [node.input[0]], [tmp], starts=starts, steps=steps)
    b.reshape(f"{node.name}/reshape", tmp, out)
