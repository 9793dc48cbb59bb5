"""ONNX -> IR importer: every supported ONNX op against onnxruntime, error reporting,
folding and fusion, ONNX's own node test cases and real models."""
from __future__ import annotations

import collections

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from sparsegate.errors import UnsupportedError
from sparsegate.onnx_import import import_onnx
from sparsegate.reference import run_graph

ort = pytest.importorskip("onnxruntime")
RNG = np.random.default_rng(0)


def rand(*shape, lo=-1.0, hi=1.0):
    return RNG.uniform(lo, hi, shape).astype(np.float32)


def model(nodes, inputs: dict, outputs, inits: dict | None = None, opset: int = 17):
    """A model from nodes; `inputs` maps float32 input names to shapes, `inits` holds weights."""
    graph = helper.make_graph(
        nodes, "t",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs.items()],
        [onnx.ValueInfoProto(name=n) for n in outputs],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in (inits or {}).items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def node(op, ins, outs=("y",), **attrs):
    return helper.make_node(op, list(ins), list(outs), **attrs)


def check(m, atol=1e-5, rtol=1e-4, **kw):
    """Imports `m`, runs the reference and onnxruntime on random inputs, compares outputs."""
    g = import_onnx(m, **kw)
    feeds = {n: rand(*g.tensors[n].shape) for n in g.inputs}
    got = run_graph(g, feeds)
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    want = sess.run(None, feeds)
    for out, w in zip(m.graph.output, want):
        assert got[out.name].shape == w.shape, out.name
        np.testing.assert_allclose(got[out.name], w, rtol=rtol, atol=atol, err_msg=out.name)
    return g


X = {"x": [1, 3, 7, 8]}
W3 = rand(4, 3, 3, 3)

OP_CASES = {
    "conv": model([node("Conv", ["x", "w", "b"])], X, ["y"], {"w": W3, "b": rand(4)}),
    "conv_strided_dilated_asym": model([node("Conv", ["x", "w"], strides=[2, 1], dilations=[1, 2],
                                             pads=[0, 1, 2, 1])], X, ["y"], {"w": W3}),
    "conv_group": model([node("Conv", ["x", "w"], group=3)], {"x": [1, 6, 5, 5]}, ["y"],
                        {"w": rand(9, 2, 3, 3)}),
    "conv_depthwise": model([node("Conv", ["x", "w", "b"], group=3, pads=[1, 1, 1, 1])], X, ["y"],
                            {"w": rand(3, 1, 3, 3), "b": rand(3)}),
    "conv_same_upper": model([node("Conv", ["x", "w"], auto_pad="SAME_UPPER", strides=[2, 2])],
                             X, ["y"], {"w": rand(2, 3, 4, 4)}),
    "conv_same_lower": model([node("Conv", ["x", "w"], auto_pad="SAME_LOWER")], X, ["y"],
                             {"w": rand(2, 3, 2, 2)}),
    "conv_1d": model([node("Conv", ["x", "w", "b"], pads=[1, 2], strides=[2])], {"x": [1, 3, 11]},
                     ["y"], {"w": rand(5, 3, 3), "b": rand(5)}),
    "gemm": model([node("Gemm", ["a", "b", "c"], transB=1, alpha=0.5, beta=2.0)], {"a": [3, 5]},
                  ["y"], {"b": rand(4, 5), "c": rand(4)}),
    "gemm_transA": model([node("Gemm", ["a", "b"], transA=1)], {"a": [5, 3]}, ["y"], {"b": rand(5, 2)}),
    "matmul": model([node("MatMul", ["a", "b"])], {"a": [2, 3, 5]}, ["y"], {"b": rand(5, 4)}),
    "matmul_both_inputs": model([node("MatMul", ["a", "b"])], {"a": [2, 3, 5], "b": [5, 2]}, ["y"]),
    "add_broadcast": model([node("Add", ["x", "c"])], X, ["y"], {"c": rand(3, 1, 1)}),
    "sub": model([node("Sub", ["c", "x"])], X, ["y"], {"c": rand(8)}),
    "mul_two_inputs": model([node("Mul", ["x", "z"])], {"x": [2, 3], "z": [1, 3]}, ["y"]),
    "div": model([node("Div", ["x", "c"])], X, ["y"], {"c": rand(1, 3, 1, 1, lo=0.5, hi=2)}),
    "relu": model([node("Relu", ["x"])], X, ["y"]),
    "sigmoid": model([node("Sigmoid", ["x"])], X, ["y"]),
    "tanh": model([node("Tanh", ["x"])], X, ["y"]),
    "leaky_relu": model([node("LeakyRelu", ["x"], alpha=0.3)], X, ["y"]),
    "math_chain": model([node("Abs", ["x"], ["a"]), node("Log", ["a"], ["l"]), node("Neg", ["l"], ["n"]),
                         node("Sqrt", ["a"], ["s"]), node("Reciprocal", ["s"], ["r"]),
                         node("Exp", ["x"], ["e"]), node("Erf", ["x"], ["f"]), node("Sign", ["x"], ["g"]),
                         node("Floor", ["x"], ["fl"]), node("Ceil", ["x"], ["ce"]), node("Round", ["x"], ["ro"])],
                        X, ["n", "r", "e", "f", "g", "fl", "ce", "ro"]),
    "softplus_mish": model([node("Softplus", ["x"], ["a"]), node("Mish", ["x"], ["b"])], X, ["a", "b"],
                           opset=18),
    "elu_selu": model([node("Elu", ["x"], ["a"], alpha=0.5), node("Selu", ["x"], ["b"], gamma=2.0)],
                      X, ["a", "b"]),
    "gelu": model([node("Gelu", ["x"], ["a"]), node("Gelu", ["x"], ["b"], approximate="tanh")], X,
                  ["a", "b"], opset=20),
    "pow_int_exponent": model([node("Pow", ["x", "p"])], X, ["y"], {"p": np.array([2, 3, 1, 0, 2, 3, 1, 5], np.int64)}),
    "reduce_axes_attribute": model([node("ReduceMean", ["x"], ["a"], axes=[1, -1]),
                                    node("ReduceMax", ["x"], ["b"], axes=[2], keepdims=0),
                                    node("ReduceSum", ["x", "ax"], ["c"], keepdims=0)], X, ["a", "b", "c"],
                                   {"ax": np.array([0, 2], np.int64)}, opset=13),
    "reduce_axes_input": model([node("ReduceL2", ["x", "ax"], ["a"]), node("ReduceLogSumExp", ["x"], ["b"]),
                                node("ReduceProd", ["x", "ax"], ["c"], keepdims=0),
                                node("ReduceMin", ["x", "e"], ["d"], noop_with_empty_axes=1)],
                               X, ["a", "b", "c", "d"], {"ax": np.array([-1], np.int64),
                                                        "e": np.array([], np.int64)}, opset=18),
    "layer_norm": model([node("LayerNormalization", ["x", "s", "b"], axis=-2, epsilon=1e-3)], X, ["y"],
                        {"s": rand(1, 8), "b": rand(8)}),
    "conv_transpose": model([node("ConvTranspose", ["x", "w", "b"], strides=[2, 2], pads=[1, 0, 1, 2],
                                  output_padding=[1, 1])], X, ["y"], {"w": rand(3, 4, 3, 3), "b": rand(4)}),
    "conv_transpose_group_same": model([node("ConvTranspose", ["x", "w"], group=3, strides=[2, 2],
                                             auto_pad="SAME_UPPER")], X, ["y"], {"w": rand(3, 2, 3, 3)}),
    "conv_transpose_output_shape": model([node("ConvTranspose", ["x", "w"], strides=[3, 2],
                                               output_shape=[20, 17])], X, ["y"], {"w": rand(3, 2, 3, 3)}),
    "conv_transpose_1d": model([node("ConvTranspose", ["x", "w"], strides=[2], dilations=[2])],
                               {"x": [1, 3, 9]}, ["y"], {"w": rand(3, 5, 3)}),
    "layer_norm_stats": model([node("LayerNormalization", ["x", "s"], ["y", "m", "inv"], axis=2)], X,
                              ["y", "m", "inv"], {"s": rand(7, 8)}),
    "layer_norm_no_bias": model([node("LayerNormalization", ["x", "s"])], X, ["y"], {"s": rand(8)}),
    "pow_square": model([node("Pow", ["x", "p"])], X, ["y"], {"p": np.array(2, np.int32)}),
    "pow_two_inputs": model([node("Abs", ["x"], ["a"]), node("Pow", ["a", "z"])], {"x": [2, 3], "z": [1, 3]}, ["y"]),
    "prelu": model([node("PRelu", ["x", "s"])], X, ["y"], {"s": rand(3, 1, 1)}),
    "hard_sigmoid": model([node("HardSigmoid", ["x"], alpha=0.3, beta=0.4)], X, ["y"]),
    "hard_swish": model([node("HardSwish", ["x"])], X, ["y"]),
    "clip": model([node("Clip", ["x", "lo", "hi"])], X, ["y"],
                  {"lo": np.float32(-0.2), "hi": np.float32(0.5)}),
    "clip_min_only": model([node("Clip", ["x", "lo"])], X, ["y"], {"lo": np.float32(0.1)}),
    "maxpool": model([node("MaxPool", ["x"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])],
                     X, ["y"]),
    "maxpool_ceil_dilated": model([node("MaxPool", ["x"], kernel_shape=[2, 2], strides=[2, 2],
                                        dilations=[1, 2], ceil_mode=1)], X, ["y"]),
    "maxpool_same_upper": model([node("MaxPool", ["x"], kernel_shape=[3, 3], strides=[2, 2],
                                      auto_pad="SAME_UPPER")], X, ["y"]),
    "maxpool_1d": model([node("MaxPool", ["x"], kernel_shape=[3], strides=[2])], {"x": [1, 2, 9]}, ["y"]),
    "avgpool": model([node("AveragePool", ["x"], kernel_shape=[3, 3], strides=[2, 2],
                           pads=[1, 1, 1, 1])], X, ["y"]),
    "avgpool_include_pad_ceil": model([node("AveragePool", ["x"], kernel_shape=[3, 3], strides=[2, 2],
                                            pads=[1, 1, 1, 1], count_include_pad=1, ceil_mode=1)],
                                      X, ["y"]),
    "global_avgpool": model([node("GlobalAveragePool", ["x"])], X, ["y"]),
    "global_maxpool": model([node("GlobalMaxPool", ["x"])], X, ["y"]),
    "concat": model([node("Concat", ["x", "c"], axis=-3)], X, ["y"], {"c": rand(1, 2, 7, 8)}),
    "split_sizes": model([node("Split", ["x", "s"], ["y", "z"], axis=3)], X, ["y", "z"],
                         {"s": np.array([3, 5], np.int64)}),
    "split_num_outputs": model([node("Split", ["x"], ["y", "z"], axis=2, num_outputs=2)], X,
                               ["y", "z"], opset=18),
    "slice": model([node("Slice", ["x", "s", "e", "a", "st"])], X, ["y"],
                   {"s": np.array([-1, 1], np.int64), "e": np.array([-100, 7], np.int64),
                    "a": np.array([3, 2], np.int64), "st": np.array([-2, 3], np.int64)}),
    "reshape": model([node("Reshape", ["x", "s"])], X, ["y"], {"s": np.array([0, -1, 4], np.int64)}),
    "flatten": model([node("Flatten", ["x"], axis=2)], X, ["y"]),
    "transpose": model([node("Transpose", ["x"], perm=[0, 2, 3, 1])], X, ["y"]),
    "squeeze_unsqueeze": model([node("Unsqueeze", ["x", "a"], ["u"]), node("Squeeze", ["u", "a"])],
                               X, ["y"], {"a": np.array([2], np.int64)}),
    "pad_constant": model([node("Pad", ["x", "p", "v"])], X, ["y"],
                          {"p": np.array([0, 0, 1, -2, 0, 0, 2, 1], np.int64), "v": np.float32(0.5)}),
    "pad_reflect": model([node("Pad", ["x", "p"], mode="reflect")], X, ["y"],
                         {"p": np.array([0, 0, 2, 1, 0, 0, 1, 3], np.int64)}),
    "pad_edge_axes": model([node("Pad", ["x", "p", "", "a"], mode="edge")], X, ["y"],
                           {"p": np.array([1, 2, 3, 0], np.int64), "a": np.array([2, 3], np.int64)},
                           opset=18),
    "resize_nearest": model([node("Resize", ["x", "", "s"], mode="nearest")], X, ["y"],
                            {"s": np.array([1, 1, 2, 1.5], np.float32)}),
    "resize_nearest_asym_floor": model([node("Resize", ["x", "", "s"], mode="nearest",
                                             coordinate_transformation_mode="asymmetric",
                                             nearest_mode="floor")], X, ["y"],
                                       {"s": np.array([1, 1, 2, 2], np.float32)}),
    "resize_linear_sizes": model([node("Resize", ["x", "", "", "sz"], mode="linear")], X, ["y"],
                                 {"sz": np.array([1, 3, 12, 5], np.int64)}),
    "resize_linear_align": model([node("Resize", ["x", "", "s"], mode="linear",
                                       coordinate_transformation_mode="align_corners")], X, ["y"],
                                 {"s": np.array([1, 1, 2, 2], np.float32)}),
    "resize_linear_pytorch": model([node("Resize", ["x", "", "s"], mode="linear",
                                         coordinate_transformation_mode="pytorch_half_pixel")], X,
                                   ["y"], {"s": np.array([1, 1, 0.5, 0.5], np.float32)}),
    "softmax": model([node("Softmax", ["x"], axis=1)], X, ["y"]),
    "softmax_opset11": model([node("Softmax", ["x"], axis=1)], X, ["y"], opset=11),
    "softmax_opset11_last": model([node("Softmax", ["x"])], {"x": [2, 5]}, ["y"], opset=11),
    "batchnorm_standalone": model([node("BatchNormalization", ["x", "s", "b", "m", "v"])], X, ["y"],
                                  {"s": rand(3), "b": rand(3), "m": rand(3), "v": rand(3, lo=0.5, hi=2)}),
    "identity_dropout": model([node("Identity", ["x"], ["i"]), node("Dropout", ["i"])], X, ["y"]),
    "constant": model([node("Constant", [], ["c"], value=numpy_helper.from_array(rand(8))),
                       node("Mul", ["x", "c"])], X, ["y"]),
    "gather_scalar": model([node("Gather", ["x", "i"], axis=1)], X, ["y"], {"i": np.array(-1, np.int64)}),
    "gather_range": model([node("Gather", ["x", "i"], axis=3)], X, ["y"],
                          {"i": np.array([1, 3, 5], np.int64)}),
}


@pytest.mark.parametrize("name", sorted(OP_CASES))
def test_op_matches_onnxruntime(name):
    g = check(OP_CASES[name])
    for n in g.nodes:  # the writer infers ints/floats from Python types
        for key, value in n.attrs.items():
            values = value if isinstance(value, list) else [value]
            assert all(type(v) in (int, float, str) for v in values), (n.name, key, value)


def test_square_is_a_mul_and_other_exponents_stay_pow():
    assert [n.op for n in import_onnx(OP_CASES["pow_square"]).nodes] == ["Mul"]
    assert [n.op for n in import_onnx(OP_CASES["pow_int_exponent"]).nodes] == ["Pow"]


def test_lifted_1d_conv_is_2d():
    g = import_onnx(OP_CASES["conv_1d"])
    assert [n.op for n in g.nodes] == ["Reshape", "Conv", "Reshape"]
    assert g.tensors[g.nodes[1].inputs[1]].shape == (5, 3, 1, 3)


# --- errors --------------------------------------------------------------------------------

def test_unsupported_lists_every_problem():
    m = model([node("Conv", ["x", "w"], ["c"]), node("Det", ["c"], ["e"], name="det1"),
               node("Relu", ["e"], ["r"]), node("TopK", ["r", "k"], ["y", "idx"], name="top"),
               node("Resize", ["x", "", "s"], ["z"], mode="cubic", name="rs")],
              X, ["y", "z"], {"w": W3, "k": np.array([2], np.int64),
                              "s": np.array([1, 1, 2, 2], np.float32)})
    with pytest.raises(UnsupportedError) as err:
        import_onnx(m)
    problems = {(n, op) for n, op, _ in err.value.problems}
    assert problems == {("det1", "Det"), ("top", "TopK"), ("rs", "Resize")}
    msg = str(err.value)
    assert "node 'det1' (Det): op is not supported" in msg
    assert "node 'rs' (Resize): mode 'cubic'" in msg


def test_attributes_the_converter_would_ignore_are_refused():
    m = model([node("Conv", ["x", "w"], ["c"], kernel_shape=[2, 2], name="k"),
               node("Relu", ["c"], ["y"], name="r", flavour="leaky")], X, ["y"], {"w": W3})
    with pytest.raises(UnsupportedError) as err:
        import_onnx(m)
    msg = str(err.value)
    assert "node 'k' (Conv): kernel_shape [2, 2] differs from the weight's [3, 3]" in msg
    assert "node 'r' (Relu): attribute flavour='leaky' is not supported" in msg
    # attributes equal to the ONNX default, or carried by the inferred shapes, are fine
    check(model([node("Conv", ["x", "w"], ["c"], kernel_shape=[3, 3], group=1),
                 node("Flatten", ["c"], axis=2)], X, ["y"], {"w": W3}))


def test_runtime_shape_input_is_reported():
    m = model([node("Reshape", ["x", "s"])], X, ["y"])
    m.graph.input.append(helper.make_tensor_value_info("s", TensorProto.INT64, [2]))
    with pytest.raises(UnsupportedError, match="input 's'.*constants="):
        import_onnx(m)
    g = import_onnx(m, constants={"s": np.array([3, -1], np.int64)})
    assert [n.op for n in g.nodes] == ["Reshape"] and g.tensors["y"].shape == (3, 56)


def test_dynamic_dims():
    m = model([node("Relu", ["x"])], {"x": ["N", 3, "H", 4]}, ["y"])
    with pytest.raises(UnsupportedError, match="dimension 2.*input_shapes"):
        import_onnx(m)
    g = import_onnx(m, input_shapes={"x": [2, 3, 5, 4]})
    assert g.tensors["y"].shape == (2, 3, 5, 4)
    g = import_onnx(model([node("Relu", ["x"])], {"x": ["N", 3]}, ["y"]))
    assert g.tensors["x"].shape == (1, 3)  # a dynamic batch becomes 1


def test_old_opset_is_refused():
    with pytest.raises(UnsupportedError, match="opset 9"):
        import_onnx(model([node("Relu", ["x"])], X, ["y"], opset=9))


def test_int_computation_is_refused():
    m = model([node("Shape", ["x"], ["s"]), node("Cast", ["x"], ["i"], to=TensorProto.INT64),
               node("Add", ["i", "i"], ["y"], name="int_add")], X, ["y"])
    with pytest.raises(UnsupportedError, match="int64"):
        import_onnx(m)


# --- folding and fusion ------------------------------------------------------------------

def test_conv_bn_relu_fuse_into_one_conv():
    m = model([node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1], name="conv"),
               node("BatchNormalization", ["c", "s", "bb", "m", "v"], ["n"], epsilon=1e-3),
               node("Relu", ["n"])], X, ["y"],
              {"w": W3, "b": rand(4), "s": rand(4), "bb": rand(4), "m": rand(4),
               "v": rand(4, lo=0.5, hi=2)})
    g = check(m)
    assert [(n.op, n.name, n.attrs["activation"]) for n in g.nodes] == [("Conv", "conv", "Relu")]
    assert set(g.tensors) == {"x", "y", "w", "b"}  # the BN constants are gone


def test_gemm_bn_fuses():
    m = model([node("Gemm", ["a", "w"], ["g"], transB=1),
               node("BatchNormalization", ["g", "s", "bb", "m", "v"], ["y"])], {"a": [2, 5]}, ["y"],
              {"w": rand(3, 5), "s": rand(3), "bb": rand(3), "m": rand(3), "v": rand(3, lo=0.5, hi=2)})
    assert [n.op for n in check(m).nodes] == ["Gemm"]


@pytest.mark.parametrize("tail,activation", [
    ([node("Sigmoid", ["c"], ["s"]), node("Mul", ["c", "s"])], ("Silu", [])),
    ([node("Clip", ["c", "lo", "hi"])], ("Clip", [0.0, 6.0])),
    ([node("HardSigmoid", ["c"], ["s"], alpha=1 / 6), node("Mul", ["s", "c"])], ("HardSwish", [])),
    ([node("HardSwish", ["c"])], ("HardSwish", [])),
    ([node("LeakyRelu", ["c"], alpha=0.1)], ("LeakyRelu", [pytest.approx(0.1)])),
])
def test_conv_activation_fusion(tail, activation):
    m = model([node("Conv", ["x", "w"], ["c"])] + tail, X, ["y"],
              {"w": W3, "lo": np.float32(0), "hi": np.float32(6)})
    g = check(m)
    assert len(g.nodes) == 1
    assert (g.nodes[0].attrs["activation"], g.nodes[0].attrs["activation_params"]) == activation


def test_shape_chain_folds_into_one_reshape():
    m = model([node("Shape", ["x"], ["shp"]),
               node("Gather", ["shp", "zero"], ["n"], axis=0),
               node("Unsqueeze", ["n", "ax"], ["n1"]),
               node("Concat", ["n1", "minus1"], ["target"], axis=0),
               node("Reshape", ["x", "target"])], X, ["y"],
              {"zero": np.array(0, np.int64), "ax": np.array([0], np.int64),
               "minus1": np.array([-1], np.int64)})
    g = check(m)
    assert [n.op for n in g.nodes] == ["Reshape"] and g.tensors["y"].shape == (1, 168)


def test_residual_conv_keeps_output_for_both_readers():
    # The conv output feeds a Relu and an Add: no fusion may swallow it.
    m = model([node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]), node("Relu", ["c"], ["r"]),
               node("Add", ["c", "r"])], X, ["y"], {"w": W3})
    g = check(m)
    assert [n.op for n in g.nodes] == ["Conv", "Relu", "Add"]


def test_unnamed_nodes_get_names_and_dead_nodes_go():
    m = model([node("Relu", ["x"], ["r"]), node("Sigmoid", ["x"], ["unused"]),
               node("Tanh", ["r"])], X, ["y"])
    g = import_onnx(m)
    assert [n.name for n in g.nodes] == ["Relu_0", "Tanh_0"]
    assert "unused" not in g.tensors


def test_convert_writes_sgm_that_reads_back(tmp_path):
    from sparsegate.compression.conversion import convert
    from sparsegate.format import read_model
    src = tmp_path / "m.onnx"
    onnx.save(OP_CASES["conv_depthwise"], src)
    g = convert(src, tmp_path / "m.sgm", metadata={"task": "test"})
    back = read_model((tmp_path / "m.sgm").read_bytes())
    assert back.metadata["source"] == "m.onnx" and back.metadata["task"] == "test"
    x = rand(1, 3, 7, 8)
    np.testing.assert_allclose(run_graph(back, {"x": x})["y"], run_graph(g, {"x": x})["y"])


# --- ONNX node test cases ----------------------------------------------------------------

def test_onnx_node_cases_through_reference(capsys):
    from sparsegate.testing.onnx_cases import (KNOWN_DIFFERENCES, import_case, iter_cases,
                                               runtime_inputs)
    counts = collections.defaultdict(collections.Counter)
    wrong = []
    for case in iter_cases():
        try:
            g = import_case(case)
        except UnsupportedError:
            counts[case.label]["unsupported"] += 1
            continue
        got = run_graph(g, runtime_inputs(case))
        ok = all(got[n].shape == e.shape and np.allclose(got[n], e, rtol=max(case.rtol, 1e-4),
                                                         atol=max(case.atol, 1e-5), equal_nan=True)
                 for n, e in case.outputs.items())
        counts[case.label]["pass" if ok else "fail"] += 1
        if not ok and case.name not in KNOWN_DIFFERENCES:
            wrong.append(case.name)
    with capsys.disabled():
        print("\nONNX node cases through the reference (label: pass/fail/unsupported):")
        for label in sorted(counts):
            c = counts[label]
            print(f"  {label}: {c['pass']}/{c['fail']}/{c['unsupported']}")
    assert not wrong, wrong
    assert sum(c["pass"] for c in counts.values()) > 250


# --- real models -------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("name,atol", [("mobilenetv2", 1e-3), ("blazeface", 1e-4), ("yolov8n", 1e-3)])
def test_real_model_matches_onnxruntime(name, atol):
    zoo = pytest.importorskip("sparsegate.zoo")
    path = zoo.fetch(name)
    shapes = {i["name"]: i["shape"] for i in zoo.info(name).get("inputs", [])} or None
    g = import_onnx(path, input_shapes=shapes)
    feeds = {n: rand(*g.tensors[n].shape) for n in g.inputs}
    got = run_graph(g, feeds)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for out, want in zip(sess.get_outputs(), sess.run(None, feeds)):
        scale = max(1.0, float(np.abs(want).max()))  # YOLO box outputs reach ~320
        np.testing.assert_allclose(got[out.name], want, rtol=0, atol=atol * scale, err_msg=out.name)


def test_input_shapes_the_model_cannot_take_name_the_failing_node(tmp_path):
    """A graph that hard-codes its batch (a Reshape to [1, 4]) given batch 2: a clear error
    naming the node whose shape cannot be inferred, not a KeyError later."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2, 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    shape = numpy_helper.from_array(np.array([1, 4], np.int64), "shape")
    nodes = [helper.make_node("Reshape", ["x", "shape"], ["r"], name="flat"),
             helper.make_node("Relu", ["r"], ["y"], name="act")]
    model = helper.make_model(helper.make_graph(nodes, "g", [x], [y], [shape]),
                              opset_imports=[helper.make_opsetid("", 13)])
    import_onnx(model, input_shapes={"x": [1, 2, 2]})  # fits
    with pytest.raises(UnsupportedError, match=r"'flat' \(Reshape\): reshapes \[2, 2, 2\]"):
        import_onnx(model, input_shapes={"x": [2, 2, 2]})
