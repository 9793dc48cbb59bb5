"""Converters for ops with windows, weights or layouts: Conv, Gemm, pools, BatchNorm,
Resize, Softmax. 1-D convs and pools are lifted to 2-D between two Reshapes."""
from __future__ import annotations

import numpy as np

from .builder import Builder, Unsupported


def _resolve_pads(attrs, in_sizes, kernel, strides, dilations) -> list[int]:
    """auto_pad resolved into explicit ONNX-order pads (all begins, then all ends)."""
    n = len(in_sizes)
    auto = attrs.get("auto_pad", "NOTSET")
    if auto == "VALID":
        return [0] * (2 * n)
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        begins, ends = [], []
        for size, k, s, d in zip(in_sizes, kernel, strides, dilations):
            out = -(-size // s)
            total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
            small, large = total // 2, total - total // 2
            begins.append(small if auto == "SAME_UPPER" else large)
            ends.append(large if auto == "SAME_UPPER" else small)
        return begins + ends
    return [int(p) for p in attrs.get("pads", [0] * (2 * n))]


def _lift(b: Builder, node, src: str) -> str:
    """[N, C, L] -> [N, C, 1, L] ahead of a 2-D op."""
    n, c, length = b.shape(src)
    return b.reshape(f"{node.name}/to2d", src, b.temp(f"{src}/2d", (n, c, 1, length)))


def _spatial(b: Builder, node) -> int:
    rank = len(b.shape(node.input[0]))
    if rank not in (3, 4):
        raise Unsupported(f"{rank - 2}-D {node.op_type}: only 1-D and 2-D convert")
    return rank - 2


def _emit_2d(b: Builder, node, op: str, inputs: list[str], lifted: bool, **attrs):
    """Emits `op`, reshaping its output back to 1-D when the node was lifted."""
    out = b.out(node.output[0])
    if not lifted:
        b.emit(op, node.name, inputs, [out], **attrs)
        return
    n, c, length = b.shape(out)
    tmp = b.temp(f"{out}/2d", (n, c, 1, length))
    b.emit(op, node.name, inputs, [tmp], **attrs)
    b.reshape(f"{node.name}/to1d", tmp, out)


def _lift_attrs(lifted: bool, kernel, strides, dilations, pads):
    if not lifted:
        return list(kernel), list(strides), list(dilations), pads
    return [1, *kernel], [1, *strides], [1, *dilations], [0, pads[0], 0, pads[1]]


def _check_conv_shapes(b: Builder, node, x: str, w: str, bias: str, group: int) -> None:
    """ONNX Conv's shape rules, which later passes (BatchNorm folding, gating) rely on."""
    xs, ws = list(b.shape(x)), list(b.shape(w))
    if len(ws) != len(xs):
        raise Unsupported(f"weight '{w}' of shape {ws} does not match input '{x}' of shape {xs}")
    if group < 1 or ws[0] % group or ws[1] * group != xs[1]:
        raise Unsupported(f"weight '{w}' of shape {ws} with group={group} does not fit "
                          f"{xs[1]} input channels")
    if bias and list(b.shape(bias)) != ws[:1]:
        raise Unsupported(f"bias '{bias}' has shape {list(b.shape(bias))}, expected {ws[:1]}")


def conv(b: Builder, node, attrs):
    nd = _spatial(b, node)
    x, w = node.input[0], node.input[1]
    bias = node.input[2] if len(node.input) > 2 else ""
    _check_conv_shapes(b, node, x, w, bias, int(attrs.get("group", 1)))
    kernel = list(b.shape(w)[2:])
    if [int(k) for k in attrs.get("kernel_shape", kernel)] != kernel:
        raise Unsupported(f"kernel_shape {list(attrs['kernel_shape'])} differs from the weight's {kernel}")
    strides = [int(v) for v in attrs.get("strides", [1] * nd)]
    dilations = [int(v) for v in attrs.get("dilations", [1] * nd)]
    pads = _resolve_pads(attrs, b.shape(x)[2:], kernel, strides, dilations)
    lifted = nd == 1
    if lifted:
        x = _lift(b, node, x)
        m, cg, k = b.shape(w)
        wv = b.value(w)
        w = (b.add_const(f"{w}/2d", wv.reshape(m, cg, 1, k)) if wv is not None else
             b.reshape(f"{node.name}/w2d", w, b.temp(f"{w}/2d", (m, cg, 1, k))))
    _, strides, dilations, pads = _lift_attrs(lifted, kernel, strides, dilations, pads)
    _emit_2d(b, node, "Conv", [x, w] + ([bias] if bias else []), lifted, strides=strides,
             pads=pads, dilations=dilations, group=int(attrs.get("group", 1)), activation="",
             activation_params=[])


def conv_transpose(b: Builder, node, attrs):
    """ConvTranspose: auto_pad and output_shape resolve into pads (a positive total padding
    split as onnxruntime does: the larger half at the end for SAME_UPPER, else at the start)
    plus the output_padding that reaches the inferred output size (an output_shape larger than
    the natural size extends the end, as onnx's reference does)."""
    nd = _spatial(b, node)
    x, w = node.input[0], node.input[1]
    bias = node.input[2] if len(node.input) > 2 else ""
    xs, ws = list(b.shape(x)), list(b.shape(w))
    group = int(attrs.get("group", 1))
    if len(ws) != len(xs) or group < 1 or ws[0] != xs[1] or xs[1] % group:
        raise Unsupported(f"weight '{w}' of shape {ws} with group={group} does not fit input "
                          f"'{x}' of shape {xs} (W is [C, M/group, k...])")
    kernel = ws[2:]
    if [int(k) for k in attrs.get("kernel_shape", kernel)] != kernel:
        raise Unsupported(f"kernel_shape {list(attrs['kernel_shape'])} differs from the weight's {kernel}")
    strides = [int(v) for v in attrs.get("strides", [1] * nd)]
    dilations = [int(v) for v in attrs.get("dilations", [1] * nd)]
    opad = [int(v) for v in attrs.get("output_padding", [0] * nd)]
    auto = attrs.get("auto_pad", "NOTSET")
    out = list(b.shape(node.output[0])[2:])
    attrs.consume("output_shape")  # the inferred output shape carries it
    ins_sp = xs[2:]
    natural = [s * (i - 1) + o + (k - 1) * d + 1 for s, i, o, k, d in zip(strides, ins_sp, opad, kernel, dilations)]
    if auto in ("SAME_UPPER", "SAME_LOWER") or ("pads" not in attrs and "output_shape" in attrs):
        total = [max(nat - o, 0) for nat, o in zip(natural, out)]
        upper = auto == "SAME_UPPER"
        begins = [t // 2 if upper else t - t // 2 for t in total]
        ends = [t - t // 2 if upper else t // 2 for t in total]
    elif auto == "VALID":
        begins, ends = [0] * nd, [0] * nd
    else:
        pads = [int(p) for p in attrs.get("pads", [0] * (2 * nd))]
        begins, ends = pads[:nd], pads[nd:]
    # The output size the graph declares decides; what padding leaves short is output_padding.
    extra = [o - (nat - bg - en) for o, nat, bg, en in zip(out, natural, begins, ends)]
    ends = [en - min(e, 0) for en, e in zip(ends, extra)]
    opad = [o + max(e, 0) for o, e in zip(opad, extra)]
    if any(p < 0 for p in begins + ends):
        raise Unsupported(f"pads {begins + ends} for output size {out}: negative padding")
    lifted = nd == 1
    if lifted:
        x = _lift(b, node, x)
        wv = b.value(w)
        if wv is None:
            raise Unsupported(f"weight '{w}' must be a constant")
        w = b.add_const(f"{w}/2d", wv.reshape(ws[0], ws[1], 1, ws[2]))
        strides, dilations, opad = [1, *strides], [1, *dilations], [0, *opad]
        begins, ends = [0, *begins], [0, *ends]
    _emit_2d(b, node, "ConvTranspose", [x, w] + ([bias] if bias else []), lifted, strides=strides,
             pads=begins + ends, dilations=dilations, group=group, output_padding=opad)


def _pool(b: Builder, node, attrs, op: str):
    nd = _spatial(b, node)
    if len(node.output) > 1 and node.output[1] in b.used:
        raise Unsupported("the Indices output is used")
    kernel = [int(v) for v in attrs["kernel_shape"]]
    attrs.consume("ceil_mode")  # the inferred output shape carries it
    strides = [int(v) for v in attrs.get("strides", [1] * nd)]
    dilations = [int(v) for v in attrs.get("dilations", [1] * nd)]
    pads = _resolve_pads(attrs, b.shape(node.input[0])[2:], kernel, strides, dilations)
    lifted = nd == 1
    x = _lift(b, node, node.input[0]) if lifted else node.input[0]
    kernel, strides, dilations, pads = _lift_attrs(lifted, kernel, strides, dilations, pads)
    extra = {"dilations": dilations}
    if op == "AveragePool":
        if any(d != 1 for d in dilations):
            raise Unsupported(f"dilations {dilations}")
        extra = {"count_include_pad": int(attrs.get("count_include_pad", 0))}
    _emit_2d(b, node, op, [x], lifted, kernel_shape=kernel, strides=strides, pads=pads, **extra)


def max_pool(b: Builder, node, attrs):
    if int(attrs.get("storage_order", 0)) and len(node.output) > 1 and node.output[1] in b.used:
        raise Unsupported("storage_order")
    _pool(b, node, attrs, "MaxPool")


def average_pool(b: Builder, node, attrs):
    _pool(b, node, attrs, "AveragePool")


def global_pool(b: Builder, node, attrs):
    b.emit(node.op_type, node.name, [node.input[0]], [b.out(node.output[0])])


def gemm(b: Builder, node, attrs):
    c = node.input[2] if len(node.input) > 2 else ""
    out = b.shape(node.output[0])
    if c and not _broadcasts_to(b.shape(c), out):  # ONNX: C broadcasts one way, to A·B
        raise Unsupported(f"C '{c}' of shape {list(b.shape(c))} does not broadcast to the "
                          f"output shape {list(out)}")
    trans = [int(int(attrs.get(t, 0)) != 0) for t in ("transA", "transB")]  # ONNX: nonzero is true
    b.emit("Gemm", node.name, [node.input[0], node.input[1]] + ([c] if c else []),
           [b.out(node.output[0])], transA=trans[0], transB=trans[1],
           alpha=float(attrs.get("alpha", 1.0)), beta=float(attrs.get("beta", 1.0)),
           activation="", activation_params=[])


def _broadcasts_to(shape, target) -> bool:
    return len(shape) <= len(target) and all(
        d in (1, t) for d, t in zip(reversed(shape), reversed(target)))


def matmul(b: Builder, node, attrs):
    b.emit("MatMul", node.name, [node.input[0], node.input[1]], [b.out(node.output[0])])


def batch_norm(b: Builder, node, attrs):
    """y = x·s + t per channel (axis 1). A Mul and an Add with constants; the fusion pass
    folds them into a preceding Conv or Gemm."""
    if int(attrs.get("training_mode", 0)) or any(o in b.used for o in node.output[1:]):
        raise Unsupported("training mode (running statistics outputs are used)")
    scale, bias, mean, var = (b.const(n, what).astype(np.float64) for n, what in
                              zip(node.input[1:5], ("scale", "B", "mean", "var")))
    s = scale / np.sqrt(var + float(attrs.get("epsilon", 1e-5)))
    t = bias - mean * s
    x = node.input[0]
    shape = (-1,) + (1,) * (len(b.shape(x)) - 2)
    out = b.out(node.output[0])
    scaled = b.temp(f"{out}/scaled", b.shape(x))
    b.emit("Mul", node.name, [x, b.add_const(f"{node.name}/scale", s.reshape(shape))], [scaled])
    b.emit("Add", f"{node.name}/shift", [scaled, b.add_const(f"{node.name}/shift", t.reshape(shape))],
           [out])


def resize(b: Builder, node, attrs):
    mode = attrs.get("mode", "nearest")
    ctm = attrs.get("coordinate_transformation_mode", "half_pixel")
    if mode not in ("nearest", "linear"):
        raise Unsupported(f"mode '{mode}' (nearest and linear convert)")
    if ctm not in ("half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
                   "asymmetric"):
        raise Unsupported(f"coordinate_transformation_mode '{ctm}'")
    x = node.input[0]
    in_shape, out_shape = b.shape(x), b.shape(node.output[0])
    rank = len(in_shape)
    if int(attrs.get("antialias", 0)) and any(o < i for i, o in zip(in_shape, out_shape)):
        raise Unsupported("antialias when downscaling")
    axes = [int(a) + rank if a < 0 else int(a) for a in attrs.get("axes", range(rank))]
    ins = list(node.input) + [""] * (4 - len(node.input))
    scales_in = b.value(ins[2]) if ins[2] else None
    scales = [1.0] * rank
    if scales_in is not None and scales_in.size:
        for a, s in zip(axes, scales_in.astype(np.float32)):
            scales[a] = float(s)
    else:
        sizes = b.const(ins[3], "Resize sizes")
        ratios = [np.float32(s) / np.float32(in_shape[a]) for a, s in zip(axes, sizes)]
        policy = attrs.get("keep_aspect_ratio_policy", "stretch")
        if policy != "stretch":
            common = min(ratios) if policy == "not_larger" else max(ratios)
            ratios = [common] * len(axes)
        for a, r in zip(axes, ratios):
            scales[a] = float(np.float32(r))
    b.emit("Resize", node.name, [x], [b.out(node.output[0])], mode=mode,
           coordinate_transformation_mode=ctm,
           nearest_mode=attrs.get("nearest_mode", "round_prefer_floor"), scales=scales,
           cubic_coeff_a=float(attrs.get("cubic_coeff_a", -0.75)),
           exclude_outside=int(attrs.get("exclude_outside", 0)),
           extrapolation_value=float(attrs.get("extrapolation_value", 0.0)))


def layer_norm(b: Builder, node, attrs):
    """LayerNormalization (opset 17): one IR node for Y; constant Scale/B are broadcast to the
    normalized shape X.shape[axis:], run-time ones must have it already. Mean and InvStdDev,
    when read, are computed beside it from ReduceMean, Sub, Mul, Add, Sqrt and Reciprocal."""
    if int(attrs.get("stash_type", 1)) != 1:
        raise Unsupported(f"stash_type {attrs['stash_type']} (float32 statistics only)")
    x = node.input[0]
    shape = b.shape(x)
    rank = len(shape)
    axis = int(attrs.get("axis", -1))
    if not -rank <= axis < rank:
        raise Unsupported(f"axis {axis} out of range for input '{x}' of shape {list(shape)}")
    axis = axis + rank if axis < 0 else axis
    norm = tuple(shape[axis:])
    ins = [x]
    for name, what in zip(node.input[1:3], ("Scale", "B")):
        if not name:
            continue
        if tuple(b.shape(name)) == norm:
            ins.append(name)
            continue
        v = b.value(name)
        if v is None or not _broadcasts_to(v.shape, norm):
            raise Unsupported(f"{what} '{name}' of shape {list(b.shape(name))} must be a constant "
                              f"broadcasting to {list(norm)} or have that shape")
        ins.append(b.add_const(f"{name}/full", np.broadcast_to(v.astype(np.float32), norm)))
    epsilon = float(attrs.get("epsilon", 1e-5))
    b.emit("LayerNormalization", node.name, ins, [b.out(node.output[0])], axis=axis, epsilon=epsilon)
    outs = list(node.output) + [""] * (3 - len(node.output))
    if not any(o and o in b.used for o in outs[1:]):
        return
    axes, stat = list(range(axis, rank)), tuple(shape[:axis]) + (1,) * (rank - axis)
    mean = b.out(outs[1]) if outs[1] in b.used else b.temp(f"{node.name}/mean", stat)
    b.emit("ReduceMean", f"{node.name}/mean", [x], [mean], axes=axes, keepdims=1)
    if outs[2] not in b.used:
        return
    step = lambda op, ins, shp, name: b.emit(op, f"{node.name}/{name}", ins,  # noqa: E731
                                             [b.temp(f"{node.name}/{name}", shp)]).outputs[0]
    centered = step("Sub", [x, mean], shape, "centered")
    var = b.temp(f"{node.name}/var", stat)
    b.emit("ReduceMean", f"{node.name}/var", [step("Mul", [centered, centered], shape, "square")],
           [var], axes=axes, keepdims=1)
    eps = b.add_const(f"{node.name}/epsilon", np.array(epsilon, np.float32))
    std = step("Sqrt", [step("Add", [var, eps], stat, "var_eps")], stat, "std")
    b.emit("Reciprocal", f"{node.name}/inv_std", [std], [b.out(outs[2])])


def softmax(b: Builder, node, attrs):
    x = node.input[0]
    shape = b.shape(x)
    rank = len(shape)
    axis = int(attrs.get("axis", -1 if b.opset >= 13 else 1))
    axis = axis + rank if axis < 0 else axis
    out = b.out(node.output[0])
    if b.opset >= 13 or axis == rank - 1:
        b.emit("Softmax", node.name, [x], [out], axis=axis)
        return
    # Before opset 13 Softmax normalizes over all axes from `axis` on, as one flattened axis.
    flat = (int(np.prod(shape[:axis], dtype=np.int64)), int(np.prod(shape[axis:], dtype=np.int64)))
    tmp_in = b.reshape(f"{node.name}/flatten", x, b.temp(f"{x}/2d", flat))
    tmp_out = b.temp(f"{out}/2d", flat)
    b.emit("Softmax", node.name, [tmp_in], [tmp_out], axis=1)
    b.reshape(f"{node.name}/unflatten", tmp_out, out)
