"""The numpy reference executor: op semantics of docs/ir.md on hand-checked cases."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from sparsegate.errors import InputError, SparsegateError
from sparsegate.format import model_bytes, read_model
from sparsegate.ir import Graph, Node, TensorInfo
from sparsegate.reference import OPS, run_graph

RNG = np.random.default_rng(1)


def one_node(op, in_shapes, out_shapes, consts=None, **attrs):
    """A graph of one node: inputs x0.. (constants where `consts` gives data), outputs y0.."""
    consts = consts or {}
    tensors, ins = {}, []
    for i, shape in enumerate(in_shapes):
        name = f"x{i}"
        tensors[name] = TensorInfo(name, tuple(shape), data=consts.get(i))
        ins.append(name)
    outs = [f"y{i}" for i in range(len(out_shapes))]
    for name, shape in zip(outs, out_shapes):
        tensors[name] = TensorInfo(name, tuple(shape))
    inputs = [n for i, n in enumerate(ins) if i not in consts]
    return Graph([Node(op, "n", ins, outs, attrs)], tensors, inputs, outs)


def run1(graph, *arrays):
    return run_graph(graph, dict(zip(graph.inputs, arrays)))


def test_every_ir_op_has_a_reference():
    table = (Path(__file__).parents[1] / "docs" / "ir.md").read_text().split("## Fused")[0]
    ops = set()
    for row in table.splitlines():
        if row.startswith("| `"):
            ops.update(re.findall(r"`([A-Z][A-Za-z]+)`", row.split("|")[1]))
    assert ops and ops <= set(OPS), ops - set(OPS)


def test_max_pool_padding_never_wins():
    g = one_node("MaxPool", [(1, 1, 3, 3)], [(1, 1, 2, 2)], kernel_shape=[2, 2], strides=[2, 2],
                 pads=[1, 1, 0, 0], dilations=[1, 1])
    x = -np.arange(1, 10, dtype=np.float32).reshape(1, 1, 3, 3)
    np.testing.assert_array_equal(run1(g, x)["y0"][0, 0], [[-1, -2], [-4, -5]])


def test_average_pool_ceil_cells_never_count():
    # 5 wide, kernel 2, stride 2, ceil_mode -> 3 outputs; the last window has one real cell.
    x = np.arange(5, dtype=np.float32).reshape(1, 1, 1, 5)
    for include in (0, 1):
        g = one_node("AveragePool", [(1, 1, 1, 5)], [(1, 1, 1, 3)], kernel_shape=[1, 2],
                     strides=[1, 2], pads=[0, 0, 0, 0], count_include_pad=include)
        np.testing.assert_allclose(run1(g, x)["y0"].ravel(), [0.5, 2.5, 4.0])
    g = one_node("AveragePool", [(1, 1, 1, 5)], [(1, 1, 1, 3)], kernel_shape=[1, 3],
                 strides=[1, 2], pads=[0, 1, 0, 1], count_include_pad=1)
    np.testing.assert_allclose(run1(g, x)["y0"].ravel(), [1 / 3, 2.0, 7 / 3])


def test_slice_negative_steps():
    g = one_node("Slice", [(2, 6)], [(2, 3)], starts=[0, 5], steps=[1, -2])
    x = np.arange(12, dtype=np.float32).reshape(2, 6)
    np.testing.assert_array_equal(run1(g, x)["y0"], [[5, 3, 1], [11, 9, 7]])


def test_pad_negative_crops():
    g = one_node("Pad", [(2, 4)], [(3, 3)], pads=[0, -1, 1, 0], mode="edge", value=0.0)
    x = np.arange(8, dtype=np.float32).reshape(2, 4)
    np.testing.assert_array_equal(run1(g, x)["y0"], [[1, 2, 3], [5, 6, 7], [5, 6, 7]])


def test_fused_activations():
    x = np.linspace(-8, 8, 33, dtype=np.float32).reshape(1, 33)
    w = np.eye(33, dtype=np.float32)
    expect = {
        ("Relu", ()): np.maximum(x, 0),
        ("Clip", (0.0, 6.0)): np.clip(x, 0, 6),
        ("Sigmoid", ()): 1 / (1 + np.exp(-x)),
        ("Silu", ()): x / (1 + np.exp(-x)),
        ("HardSwish", ()): x * np.clip(x / 6 + 0.5, 0, 1),
        ("HardSigmoid", (0.2, 0.5)): np.clip(0.2 * x + 0.5, 0, 1),
        ("LeakyRelu", (0.1,)): np.where(x >= 0, x, 0.1 * x),
        ("Tanh", ()): np.tanh(x),
    }
    for (act, params), want in expect.items():
        g = one_node("Gemm", [(1, 33), (33, 33)], [(1, 33)], consts={1: w}, transA=0, transB=0,
                     alpha=1.0, beta=1.0, activation=act, activation_params=list(params))
        np.testing.assert_allclose(run1(g, x)["y0"], want, rtol=1e-5, atol=1e-6, err_msg=act)


def test_grouped_conv_matches_loops():
    x = RNG.standard_normal((1, 4, 5, 6)).astype(np.float32)
    w = RNG.standard_normal((6, 2, 3, 2)).astype(np.float32)
    g = one_node("Conv", [(1, 4, 5, 6), w.shape], [(1, 6, 2, 3)], consts={1: w}, strides=[2, 2],
                 pads=[1, 0, 0, 1], dilations=[1, 2], group=2, activation="", activation_params=[])
    xp = np.pad(x, ((0, 0), (0, 0), (1, 0), (0, 1)))
    want = np.zeros((1, 6, 2, 3), np.float32)
    for m in range(6):
        grp = m // 3
        for oy in range(2):
            for ox in range(3):
                patch = xp[0, 2 * grp:2 * grp + 2, 2 * oy:2 * oy + 3, 2 * ox:2 * ox + 3:2]
                want[0, m, oy, ox] = (patch * w[m]).sum()
    np.testing.assert_allclose(run1(g, x)["y0"], want, rtol=1e-5, atol=1e-5)


def test_resize_nearest_and_linear():
    x = np.array([[[[0, 1], [2, 3]]]], np.float32)
    base = dict(coordinate_transformation_mode="asymmetric", nearest_mode="floor",
                scales=[1.0, 1.0, 2.0, 2.0], cubic_coeff_a=-0.75, exclude_outside=0,
                extrapolation_value=0.0)
    g = one_node("Resize", [(1, 1, 2, 2)], [(1, 1, 4, 4)], mode="nearest", **base)
    np.testing.assert_array_equal(run1(g, x)["y0"][0, 0, 0], [0, 0, 1, 1])
    g = one_node("Resize", [(1, 1, 2, 2)], [(1, 1, 4, 4)], mode="linear", **base)
    np.testing.assert_allclose(run1(g, x)["y0"][0, 0, 0], [0, 0.5, 1, 1])


def test_keep_all_and_attrs_read_back_as_lists():
    x = RNG.standard_normal((1, 2, 4, 4)).astype(np.float32)
    w = RNG.standard_normal((3, 2, 1, 1)).astype(np.float32)
    conv = Node("Conv", "c", ["x", "w"], ["h"], dict(strides=[1, 1], pads=[0, 0, 0, 0],
                dilations=[1, 1], group=1, activation="LeakyRelu", activation_params=[0.2]))
    soft = Node("Softmax", "s", ["h"], ["y"], dict(axis=1))
    g = Graph([conv, soft], {"x": TensorInfo("x", x.shape), "w": TensorInfo("w", w.shape, data=w),
                             "h": TensorInfo("h", (1, 3, 4, 4)), "y": TensorInfo("y", (1, 3, 4, 4))},
              ["x"], ["y"])
    every = run_graph(g, {"x": x}, keep_all=True)
    assert set(every) == {"x", "w", "h", "y"}
    back = read_model(model_bytes(g))  # scalars come back as one-element lists
    assert back.nodes[0].attrs["group"] == [1]
    np.testing.assert_allclose(run_graph(back, {"x": x})["y"], every["y"], rtol=1e-6)


def test_bad_feeds_and_shapes_are_reported():
    g = one_node("Relu", [(2, 3)], [(2, 3)])
    with pytest.raises(InputError, match="missing input 'x0'"):
        run_graph(g, {})
    with pytest.raises(InputError, match=r"shape \(3, 2\)"):
        run_graph(g, {"x0": np.zeros((3, 2), np.float32)})
    with pytest.raises(InputError, match="unknown"):
        run_graph(g, {"x0": np.zeros((2, 3), np.float32), "z": np.zeros(1)})
    bad = one_node("Relu", [(2, 3)], [(3, 2)])
    with pytest.raises(SparsegateError, match="declares"):
        run1(bad, np.zeros((2, 3), np.float32))
