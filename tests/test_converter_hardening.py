"""Issue 17, the converter and the format: `convert` fails on bad ONNX only with a sparsegate
error naming what is at fault, and never writes a file the runtime refuses, because the
writer checks the loader's rules first (format/validate.py).

A table of bad inputs, then three hypothesis properties (derandomized, bounded, no example
database): mutated ONNX graphs convert to files that load and match onnxruntime, or raise a
sparsegate error; the format round-trips random graphs exactly; the writer's validator and the
wasm loader accept exactly the same graphs."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import sparsegate
from sparsegate.errors import InputError, ModelFormatError, SparsegateError, UnsupportedError
from sparsegate.format import model_bytes, read_metadata, read_model, validate, write_model
from sparsegate.ir import Graph, Node, TensorInfo
from sparsegate.runtime import Session
from sparsegate.runtime.adapter import instantiate

pytest.importorskip("hypothesis")
ort = pytest.importorskip("onnxruntime")
from hypothesis import HealthCheck, event, given, settings, strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

FASHION = Path(sparsegate.__file__).parent / "zoo" / "fashion_cnn.onnx"
PROPERTY = dict(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def mk(nodes, outs=("y",), inits=None, ins=(("x", [1, 4]),), opset=17):
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in ins],
        [onnx.ValueInfoProto(name=o) for o in outs],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in (inits or {}).items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def relu(i="x", o="y", **kw):
    return helper.make_node("Relu", [i], [o], **kw)


GOOD = mk([relu()])
ONE = {"c": np.ones((1, 4), np.float32)}


def external(tmp: Path) -> Path:
    m = mk([helper.make_node("Add", ["x", "w"], ["y"])], inits={"w": np.ones((1, 4), np.float32)})
    onnx.save(m, tmp / "ext.onnx", save_as_external_data=True, location="ext.bin", size_threshold=0)
    os.remove(tmp / "ext.bin")
    return tmp / "ext.onnx"


def unloaded_external(tmp: Path) -> onnx.ModelProto:
    return onnx.load(external(tmp), load_external_data=False)


def short_initializer(tmp: Path) -> onnx.ModelProto:
    m = mk([helper.make_node("Add", ["x", "w"], ["y"])])
    m.graph.initializer.append(TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[1, 4], raw_data=b"\0" * 4))
    return m


def file_of(blob: bytes):
    def write(tmp: Path) -> Path:
        (tmp / "m.onnx").write_bytes(blob)
        return tmp / "m.onnx"
    return write


def nested(depth: int) -> dict:
    d: dict = {}
    for _ in range(depth):
        d = {"a": d}
    return d


# id -> (source: a model, or tmp_path -> source; convert's keyword arguments; error; fragment)
BAD = {
    "bytes that are not protobuf": (file_of(b"\xff\xfe garbage" * 8), {}, ModelFormatError,
                                    "m.onnx: not an ONNX model (truncated or corrupt?)"),
    "truncated file": (file_of(FASHION.read_bytes()[:100_000]), {}, ModelFormatError,
                       "not an ONNX model (truncated or corrupt?)"),
    "empty file": (file_of(b""), {}, ModelFormatError, "m.onnx: holds no graph"),
    "missing file": (lambda tmp: tmp / "nope.onnx", {}, ModelFormatError,
                     "nope.onnx: cannot read (No such file or directory)"),
    "missing external data file": (external, {}, ModelFormatError,
                                   "ext.onnx: tensor 'w': cannot read its external data 'ext.bin'"),
    "external data of a ModelProto not loaded": (unloaded_external, {}, ModelFormatError,
                                                 "tensor 'w' keeps its data in the external file 'ext.bin'"),
    "initializer data shorter than its shape": (short_initializer, {}, ModelFormatError,
                                                "initializer 'w': its data does not fit"),
    "not a model at all": (42, {}, InputError, "convert takes a path, bytes or an onnx.ModelProto"),
    "cyclic graph": (mk([relu("b", "a", name="r1"), relu("a", "b", name="r2"),
                         helper.make_node("Add", ["x", "b"], ["y"], name="add")]), {},
                     ModelFormatError, "nodes 'r1', 'r2', 'add' form a cycle"),
    "node reads an undefined tensor": (mk([helper.make_node("Add", ["x", "q"], ["y"], name="add")]),
                                       {}, ModelFormatError,
                                       "node 'add' (Add) reads 'q', which is no graph input"),
    "output nobody produces": (mk([relu("x", "z")]), {}, ModelFormatError,
                               "graph output 'y' is no graph input, initializer or node output"),
    "output without a name": (mk([relu("x", "")], outs=("",)), {}, ModelFormatError,
                              "a graph output has no name"),
    "tensor produced twice": (mk([relu(name="r"), helper.make_node("Sigmoid", ["x"], ["y"], name="s")]),
                              {}, ModelFormatError,
                              "tensor 'y' is produced by node 's' (Sigmoid) but already by node 'r'"),
    "node overwrites a graph input": (mk([relu("x", "x", name="r"), relu("x", "y")]), {},
                                      ModelFormatError, "tensor 'x' is produced by node 'r' (Relu) "
                                      "but already by a graph input"),
    "node overwrites an initializer": (mk([relu("x", "c", name="r"), helper.make_node("Add", ["c", "x"], ["y"])],
                                          inits=ONE), {}, ModelFormatError,
                                       "tensor 'c' is produced by node 'r' (Relu) but already by an initializer"),
    "graph input listed twice": (mk([relu()], ins=(("x", [1, 4]), ("x", [1, 4]))), {},
                                 ModelFormatError, "graph input 'x' is listed twice"),
    "output listed twice": (mk([relu()], outs=("y", "y")), {}, UnsupportedError,
                            "output 'y': is listed twice as a graph output"),
    "output equal to an input": (mk([relu("x", "z")], outs=("x", "z")), {}, UnsupportedError,
                                 "output 'x': is also a graph input"),
    "tensor name over 4096 bytes": (mk([relu("x", "y" * 5000)], outs=("y" * 5000,)), {},
                                    ModelFormatError, "is 5000 bytes; the format allows at most 4096"),
    "node name over 4096 bytes": (mk([relu(name="n" * 4097)]), {}, ModelFormatError,
                                  "node name 'nnnn"),
    "input_shapes with -1": (GOOD, {"input_shapes": {"x": [-1, 4]}}, InputError,
                             "input_shapes['x']: [-1, 4] must list integers >= 0"),
    "input_shapes with 1.5": (GOOD, {"input_shapes": {"x": [1.5, 4]}}, InputError,
                              "must list integers >= 0"),
    "input_shapes with 2^31": (GOOD, {"input_shapes": {"x": [1, 2**31]}}, ModelFormatError,
                               "tensor 'x': dimension 1 is 2147483648 (must be 0..2147483647)"),
    "input_shapes of rank 9": (GOOD, {"input_shapes": {"x": [1] * 9}}, ModelFormatError,
                               "tensor 'x': rank 9 exceeds 8"),
    "input_shapes past 2^40 values": (GOOD, {"input_shapes": {"x": [2**21, 2**20]}}, ModelFormatError,
                                      "more than the runtime's 1099511627776"),
    "input_shapes not a dict": (GOOD, {"input_shapes": [1, 4]}, InputError,
                                "input_shapes must map input names to values, not list"),
    "input_shapes entry not a list": (GOOD, {"input_shapes": {"x": None}}, InputError,
                                      "input_shapes['x']: None is not a list of dims"),
    "constants that are objects": (mk([relu()], ins=(("x", [1, 4]), ("k", [1]))),
                                   {"constants": {"k": [object()]}}, InputError,
                                   "constants['k']: holds Python objects"),
    "metadata nested 100,000 deep": (GOOD, {"metadata": nested(100_000)}, ModelFormatError,
                                     "metadata cannot be stored as JSON"),
    "metadata with NaN (JSON.parse refuses it)": (GOOD, {"metadata": {"score": float("nan")}},
                                                  ModelFormatError, "metadata cannot be stored as JSON"),
    "metadata not a dict": (GOOD, {"metadata": ["a"]}, InputError, "metadata must be a dict"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_onnx_raises_a_sparsegate_error_and_writes_nothing(case, tmp_path):
    src, kwargs, error, fragment = BAD[case]
    src = src(tmp_path) if callable(src) else src
    dst = tmp_path / "out.sgm"
    with pytest.raises(error) as err:
        sparsegate.convert(src, dst, **kwargs)
    assert fragment in str(err.value)
    assert not dst.exists()


# Valid ONNX that used to become files the runtime refused; now they run.
GOOD_NOW = {
    "nodes out of topological order": mk([relu("a", "y"), helper.make_node("Sigmoid", ["x"], ["a"])]),
    "output that is an initializer": mk([relu("x", "z")], outs=("c", "z"), inits={"c": np.arange(3, dtype=np.float32)}),
    "graph input shadowed by an initializer": mk([helper.make_node("Add", ["x", "x"], ["y"])],
                                                 inits={"x": np.ones((1, 4), np.float32)}),
}


@pytest.mark.parametrize("case", sorted(GOOD_NOW))
def test_valid_onnx_that_once_made_refused_files_runs(case, tmp_path):
    assert assert_matches_onnxruntime(GOOD_NOW[case], tmp_path / "m.sgm")


def test_empty_input_converts_and_runs(tmp_path):
    # The loader takes 0 dims (ONNX's node tests feed empty tensors); only -1 is no shape.
    sparsegate.convert(GOOD, tmp_path / "m.sgm", input_shapes={"x": [0, 4]})
    assert Session(tmp_path / "m.sgm").run(np.zeros((0, 4), np.float32))["y"].shape == (0, 4)


def test_bytes_convert_like_a_file(tmp_path):
    g = sparsegate.convert(FASHION.read_bytes(), tmp_path / "m.sgm")
    assert g.metadata["source"] == "<bytes>" and Session(tmp_path / "m.sgm").inputs


def test_the_writer_refuses_what_the_loader_refuses(tmp_path):
    g = Graph([Node("Relu", "r", ["x"], ["y"])], {"x": TensorInfo("x", (2,)), "y": TensorInfo("y", (2,))},
              ["x"], ["y", "y"])
    with pytest.raises(ModelFormatError, match="m.sgm: graph outputs: 'y' is listed twice"):
        write_model(g, tmp_path / "m.sgm")
    g.outputs = ["x"]
    with pytest.raises(ModelFormatError, match="graph output 'x' is a graph input"):
        write_model(g, tmp_path / "m.sgm")
    assert not list(tmp_path.iterdir())


def test_graphs_that_cannot_be_encoded_are_format_errors():
    g = Graph([Node("Relu", "r", ["x"], ["missing"], {"a": [[1]]})], {"x": TensorInfo("x", (2,))}, ["x"], [])
    with pytest.raises(ModelFormatError, match="node 'r' \\(Relu\\) writes 'missing', which is no tensor"):
        model_bytes(g)


# --- mutated ONNX graphs -----------------------------------------------------------------

def _small_models() -> dict[str, onnx.ModelProto]:
    rng = np.random.default_rng(0)
    r = lambda *s: rng.standard_normal(s).astype(np.float32)  # noqa: E731
    n = helper.make_node
    cnn = mk([n("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1], strides=[1, 1]),
              n("BatchNormalization", ["c", "s", "t", "m", "v"], ["bn"], epsilon=1e-5),
              n("Relu", ["bn"], ["r"]), n("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
              n("Flatten", ["p"], ["f"], axis=1), n("Gemm", ["f", "g", "gb"], ["z"], transB=1),
              n("Softmax", ["z"], ["y"], axis=1)], ins=(("x", [1, 2, 6, 6]),),
             inits={"w": r(3, 2, 3, 3), "b": r(3), "s": r(3), "t": r(3), "m": r(3),
                    "v": np.abs(r(3)) + 0.5, "g": r(5, 27), "gb": r(5)})
    tensor = mk([n("Sigmoid", ["x"], ["sg"]), n("Mul", ["x", "sg"], ["si"]),
                 n("Transpose", ["si"], ["tr"], perm=[0, 2, 1]), n("Concat", ["tr", "tr"], ["cc"], axis=1),
                 n("Slice", ["cc", "st", "en", "ax"], ["sl"]), n("Pad", ["sl", "pd"], ["pa"], mode="constant"),
                 n("Reshape", ["pa", "sh"], ["re"]), n("Add", ["re", "k"], ["ad"]),
                 n("Clip", ["ad", "lo", "hi"], ["cl"]), n("LeakyRelu", ["cl"], ["y"], alpha=0.2)],
                ins=(("x", [1, 3, 4]),),
                inits={"st": np.array([1], np.int64), "en": np.array([7], np.int64),
                       "ax": np.array([1], np.int64), "pd": np.array([0, 0, 1, 0, 0, 1], np.int64),
                       "sh": np.array([1, -1], np.int64), "k": r(1, 30),
                       "lo": np.array(-0.5, np.float32), "hi": np.array(0.7, np.float32)})
    return {"cnn": cnn, "tensor": tensor}


BASES = {"fashion_cnn": onnx.load(FASHION), **_small_models()}
OPS = ["Relu", "Sigmoid", "Add", "Mul", "Conv", "MaxPool", "Gemm", "Concat", "Reshape", "Erf",
       "Identity", "Softmax", "Transpose"]


def assert_matches_onnxruntime(model, dst: Path) -> str:
    """Converts `model` (a ModelProto or bytes): "" when it raises a sparsegate error.
    Otherwise the file must load, and match onnxruntime wherever onnxruntime runs the model."""
    try:
        graph = sparsegate.convert(model, dst)
    except SparsegateError:
        return ""
    sess = Session(dst)
    rng = np.random.default_rng(1)
    feeds = {i["name"]: rng.uniform(-1, 1, i["shape"]).astype(np.float32) for i in sess.inputs}
    got = sess.run(feeds)
    try:
        blob = model if isinstance(model, bytes) else model.SerializeToString()
        ref = ort.InferenceSession(blob, providers=["CPUExecutionProvider"])
        want = dict(zip([o.name for o in ref.get_outputs()], ref.run(None, feeds)))
    except Exception:  # noqa: BLE001 - onnxruntime refusing a mutant leaves nothing to compare
        return "loads (onnxruntime refuses it)"
    for name in graph.outputs:
        w = np.asarray(want[name], np.float32)
        scale = max(1.0, float(np.nanmax(np.abs(w), initial=0)))
        np.testing.assert_allclose(got[name], w, rtol=1e-3, atol=1e-4 * scale, equal_nan=True,
                                   err_msg=name)
    return "loads, matches onnxruntime"


def _names(m: onnx.ModelProto) -> list[str]:
    g = m.graph
    return sorted({vi.name for vi in g.input} | {t.name for t in g.initializer}
                  | {o for n in g.node for o in n.output if o})


def _mutate(m: onnx.ModelProto, data) -> None:
    g = m.graph
    k = data.draw(st.integers(0, len(g.node) - 1)) if len(g.node) else 0
    node = g.node[k] if len(g.node) else None
    kind = data.draw(st.sampled_from(["drop", "duplicate", "rename", "swap", "attribute", "dims",
                                      "op", "initializer", "output"]))
    if node is None or kind == "dims":
        dims = g.input[0].type.tensor_type.shape.dim
        d = data.draw(st.integers(0, max(len(dims) - 1, 0)))
        if len(dims):
            dims[d].dim_value = data.draw(st.integers(-2, 40))
        if data.draw(st.booleans()):
            dims.add().dim_value = 1
    elif kind == "drop":
        del g.node[k]
    elif kind == "duplicate":
        g.node.insert(k, node)
    elif kind == "rename":
        side = node.input if node.input and data.draw(st.booleans()) else node.output
        side[data.draw(st.integers(0, len(side) - 1))] = data.draw(st.sampled_from(_names(m) + ["fresh", ""]))
    elif kind == "swap" and len(node.input) > 1:
        a, b = data.draw(st.permutations(range(len(node.input))))[:2]
        node.input[a], node.input[b] = node.input[b], node.input[a]
    elif kind == "attribute" and node.attribute:
        a = node.attribute[data.draw(st.integers(0, len(node.attribute) - 1))]
        if a.type == onnx.AttributeProto.INT:
            a.i = data.draw(st.integers(-3, 8))
        elif a.type == onnx.AttributeProto.FLOAT:
            a.f = data.draw(st.floats(-10, 10, width=32))
        elif a.type == onnx.AttributeProto.INTS and a.ints:
            a.ints[data.draw(st.integers(0, len(a.ints) - 1))] = data.draw(st.integers(-3, 8))
    elif kind == "op":
        node.op_type = data.draw(st.sampled_from(OPS))
    elif kind == "initializer" and g.initializer:
        t = g.initializer[data.draw(st.integers(0, len(g.initializer) - 1))]
        if t.dims:
            t.dims[data.draw(st.integers(0, len(t.dims) - 1))] = data.draw(st.integers(0, 30))
    elif kind == "output":
        name = data.draw(st.sampled_from(_names(m)))
        if data.draw(st.booleans()) and len(g.output) > 1:
            del g.output[0]
        g.output.append(onnx.ValueInfoProto(name=name))


@settings(max_examples=300, **PROPERTY)
@given(data=st.data())
def test_mutated_onnx_converts_to_a_matching_model_or_raises_a_sparsegate_error(data, tmp_path_factory):
    base = data.draw(st.sampled_from(sorted(BASES)))
    m = onnx.ModelProto()
    m.CopyFrom(BASES[base])
    for _ in range(data.draw(st.sampled_from([1, 1, 1, 2, 3]))):
        _mutate(m, data)
    blob = m.SerializeToString()
    if data.draw(st.integers(0, 9)) == 0:  # damage the bytes themselves
        cut = data.draw(st.integers(0, len(blob)))
        blob = blob[:cut] + bytes(data.draw(st.binary(max_size=8)))
    outcome = assert_matches_onnxruntime(blob, tmp_path_factory.mktemp("mut") / "m.sgm")
    event(outcome or "refused with a sparsegate error")


@pytest.mark.parametrize("base", sorted(BASES))
def test_unmutated_bases_convert_and_match(base, tmp_path):
    assert assert_matches_onnxruntime(BASES[base], tmp_path / "m.sgm")


# --- format round trip -------------------------------------------------------------------

NAMES = st.text(min_size=1, max_size=12)
SHAPES = st.lists(st.integers(0, 3), max_size=8).map(tuple)
ATTR = st.one_of(st.integers(-2**63, 2**63 - 1), st.floats(width=32, allow_nan=False), st.text(max_size=20),
                 st.lists(st.integers(-2**63, 2**63 - 1), max_size=5),
                 st.lists(st.floats(width=32, allow_nan=False), min_size=1, max_size=5))
JSON = st.recursive(st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=8)
                    | st.floats(allow_nan=False, allow_infinity=False),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
                    max_leaves=10)
CONST_DTYPES = [np.float32, np.int8, np.int32, np.float16]


@st.composite
def graphs(draw, op=NAMES, absent=True) -> Graph:
    names = iter(draw(st.lists(NAMES, min_size=12, max_size=12, unique=True)))
    tensors, inputs, readable = {}, [], []
    for _ in range(draw(st.integers(1, 3))):
        n = next(names)
        tensors[n] = TensorInfo(n, draw(SHAPES))
        inputs.append(n)
    for _ in range(draw(st.integers(0, 3))):
        n, shape = next(names), draw(SHAPES)
        data = draw(hnp.arrays(draw(st.sampled_from(CONST_DTYPES)), shape))
        tensors[n] = TensorInfo(n, shape, data.dtype, data)
    readable = list(tensors)
    nodes, produced = [], []
    for _ in range(draw(st.integers(1, 3))):
        ins = draw(st.lists(st.sampled_from(readable + ([""] if absent else [])), max_size=3))
        outs = [next(names) for _ in range(draw(st.integers(1, 2)))]
        for o in outs:
            tensors[o] = TensorInfo(o, draw(SHAPES))
        attrs = draw(st.dictionaries(NAMES, ATTR, max_size=3))
        nodes.append(Node(draw(op), draw(NAMES), ins, outs, attrs))
        readable += outs
        produced += outs
    outputs = draw(st.lists(st.sampled_from(produced), min_size=1, unique=True))
    meta = draw(st.dictionaries(st.text(max_size=5).filter(lambda k: k not in ("inputs", "outputs", "producer")),
                                JSON, max_size=3))
    return Graph(nodes, tensors, inputs, outputs, meta)


def _as_stored(value):
    return value if isinstance(value, str) else list(value) if isinstance(value, list) else [value]


@settings(max_examples=150, **PROPERTY)
@given(g=graphs())
def test_format_round_trip_is_exact(g):
    back = read_model(model_bytes(g))
    assert list(back.tensors) == list(g.tensors)
    for name, t in g.tensors.items():
        b = back.tensors[name]
        assert (b.name, b.shape, b.is_constant) == (name, t.shape, t.is_constant)
        if t.is_constant:
            assert b.data.dtype == t.data.dtype and b.data.tobytes() == t.data.tobytes()
    assert [(n.op, n.name, n.inputs, n.outputs) for n in back.nodes] == \
           [(n.op, n.name, n.inputs, n.outputs) for n in g.nodes]
    for n, b in zip(g.nodes, back.nodes):
        assert b.attrs == {k: _as_stored(v) for k, v in n.attrs.items()}
    assert (back.inputs, back.outputs) == (g.inputs, g.outputs)
    assert {k: back.metadata[k] for k in g.metadata} == json.loads(json.dumps(g.metadata))
    assert read_metadata(model_bytes(g))["outputs"][0]["name"] == g.outputs[0]


# --- the validator and the wasm loader agree ---------------------------------------------

def _break(g: Graph, data) -> None:
    """One change that may break a loader rule, often at its exact limit."""
    t = data.draw(st.sampled_from(sorted(g.tensors)))
    info = g.tensors[t]
    kind = data.draw(st.sampled_from(["name", "node name", "attr name", "dim", "numel", "rank",
                                      "int64", "output twice", "output input", "output const",
                                      "input twice", "writes const", "writes input", "twice",
                                      "order", "none"]))
    node = g.nodes[data.draw(st.integers(0, len(g.nodes) - 1))]
    size = data.draw(st.sampled_from([4096, 4097]))
    if kind == "name":
        new = "n" * size
        g.tensors = {new if k == t else k: TensorInfo(new, v.shape, v.dtype, v.data) if k == t else v
                     for k, v in g.tensors.items()}
        for n in g.nodes:
            n.inputs = [new if i == t else i for i in n.inputs]
            n.outputs = [new if o == t else o for o in n.outputs]
        g.inputs = [new if i == t else i for i in g.inputs]
        g.outputs = [new if o == t else o for o in g.outputs]
    elif kind == "node name":
        node.name = "n" * size
    elif kind == "attr name":
        node.attrs["a" * size] = 1
    elif kind in ("dim", "numel", "rank") and not info.is_constant:
        info.shape = {"dim": (data.draw(st.sampled_from([2**31 - 1, 2**31])),),
                      "numel": (2**20, data.draw(st.sampled_from([2**20, 2**21]))),
                      "rank": (1,) * data.draw(st.sampled_from([8, 9]))}[kind]
    elif kind == "int64" and info.is_constant:
        info.data = info.data.astype(np.int64)
    elif kind == "output twice":
        g.outputs.append(g.outputs[0])
    elif kind == "output input":
        g.outputs.append(g.inputs[0])
    elif kind == "output const" and info.is_constant:
        g.outputs.append(t)
    elif kind == "input twice":
        g.inputs.append(g.inputs[0])
    elif kind == "writes const" and info.is_constant:
        node.outputs.append(t)
    elif kind == "writes input":
        node.outputs.append(g.inputs[0])
    elif kind == "twice":
        node.outputs.append(g.nodes[0].outputs[0])
    elif kind == "order":
        g.nodes.reverse()


@pytest.fixture(scope="module")
def loader():
    w = instantiate()

    def loads(blob: bytes) -> bool:
        ptr = w.call("sg_alloc", len(blob))
        w.write(ptr, blob)
        model = w.call("sg_model_load", ptr, len(blob))
        if model:
            w.call("sg_model_free", model)
        w.call("sg_free", ptr)
        return bool(model)
    return loads


@settings(max_examples=150, **PROPERTY)
@given(g=graphs(op=st.just("Relu"), absent=False), data=st.data())
def test_validator_accepts_exactly_what_the_loader_accepts(g, data, loader):
    _break(g, data)
    try:
        validate(g)
        valid = True
    except ModelFormatError:
        valid = False
    assert loader(model_bytes(g)) == valid  # model_bytes writes what it is given
