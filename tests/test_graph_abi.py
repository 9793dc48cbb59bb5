"""The validated-graph exports of the C ABI (sparsegate.h, sg_session_tensor_* and
sg_session_node_{input,output,attr}_*): what an executor outside the runtime (the WebGPU
backend) reads instead of parsing the file again. Checked against the Python reader of the
same file, and every index out of range must fail with SG_ERR_INVALID, never trap."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from sparsegate.format import read_model
from sparsegate.runtime import Session

FIXTURES = Path(__file__).parent / "fixtures"
SG_ERR_INVALID = 3


def graph_from_runtime(sess: Session) -> dict:
    """The graph as a host reads it through the exports."""
    c, s = sess._call, sess._session
    tensors = []
    for t in range(c("sg_session_tensor_count", s)):
        rank = c("sg_session_tensor_rank", s, t)
        dims = tuple(c("sg_session_tensor_dim", s, t, a) for a in range(rank))
        kind, dtype = c("sg_session_tensor_kind", s, t), c("sg_session_tensor_dtype", s, t)
        data = None
        if kind == 1:
            ptr, size = c("sg_session_tensor_data", s, t), c("sg_session_tensor_data_size", s, t)
            assert ptr % 4 == 0 and dtype == 1
            data = np.frombuffer(sess._wasm.read(ptr, size), np.float32).reshape(dims)
        tensors.append({"name": sess._cstr(c("sg_session_tensor_name", s, t)), "kind": kind,
                        "dims": dims, "data": data})
    nodes = []
    for n in range(c("sg_session_node_count", s)):
        attrs = {}
        for a in range(c("sg_session_node_attr_count", s, n)):
            name = sess._cstr(c("sg_session_node_attr_name", s, n, a))
            kind, size = c("sg_session_node_attr_type", s, n, a), c("sg_session_node_attr_size", s, n, a)
            if kind == 3:
                attrs[name] = sess._cstr(c("sg_session_node_attr_string", s, n, a))
            else:
                attrs[name] = [c("sg_session_node_attr_value", s, n, a, i) for i in range(size)]
        nodes.append({
            "op": sess._cstr(c("sg_session_node_op", s, n)),
            "inputs": [c("sg_session_node_input", s, n, i) for i in range(c("sg_session_node_input_count", s, n))],
            "outputs": [c("sg_session_node_output", s, n, i) for i in range(c("sg_session_node_output_count", s, n))],
            "attrs": attrs,
        })
    return {"tensors": tensors, "nodes": nodes}


@pytest.mark.parametrize("fixture", ["tiny_cnn.sgm", "fashion_gated.sgm"])
def test_graph_equals_the_file(fixture):
    path = FIXTURES / fixture
    graph = read_model(path.read_bytes())
    with Session(path) as sess:
        got = graph_from_runtime(sess)
    names = [t["name"] for t in got["tensors"]]
    assert sorted(names) == sorted(graph.tensors)
    for t in got["tensors"]:
        info = graph.tensors[t["name"]]
        assert t["dims"] == tuple(info.shape)
        if info.is_constant:
            assert t["kind"] == 1
            np.testing.assert_array_equal(t["data"], info.data)
        else:
            assert t["data"] is None
            assert t["kind"] == (2 if t["name"] in graph.inputs else 0)
    assert len(got["nodes"]) == len(graph.nodes)
    for node, want in zip(got["nodes"], graph.nodes):
        assert node["op"] == want.op
        assert [names[i] if i >= 0 else "" for i in node["inputs"]] == want.inputs
        assert [names[i] for i in node["outputs"]] == want.outputs
        assert set(node["attrs"]) == set(want.attrs)
        for key, value in want.attrs.items():
            if isinstance(value, str):
                assert node["attrs"][key] == value
            else:
                values = value if isinstance(value, (list, tuple)) else [value]
                np.testing.assert_allclose(node["attrs"][key], np.asarray(values, np.float64), rtol=1e-7)


def test_indices_out_of_range_fail_without_trapping():
    with Session(FIXTURES / "tiny_cnn.sgm") as sess:
        c, s = sess._call, sess._session
        nt, nn = c("sg_session_tensor_count", s), c("sg_session_node_count", s)

        def refused(result, sentinel):
            ok = math.isnan(result) if sentinel == "nan" else result == sentinel
            return ok and c("sg_last_error_code") == SG_ERR_INVALID and "out of range" in sess._last_error()

        for t in (-1, nt, 1 << 30):
            assert refused(c("sg_session_tensor_rank", s, t), -1)
            assert refused(c("sg_session_tensor_kind", s, t), -1)
            assert refused(c("sg_session_tensor_dtype", s, t), -1)
            assert refused(c("sg_session_tensor_name", s, t), 0)
            assert refused(c("sg_session_tensor_data", s, t), 0)
            assert refused(c("sg_session_tensor_data_size", s, t), 0)
        assert refused(c("sg_session_tensor_dim", s, 0, 99), -1)
        for n in (-1, nn):
            assert refused(c("sg_session_node_input_count", s, n), -2)
            assert refused(c("sg_session_node_output", s, n, 0), -2)
            assert refused(c("sg_session_node_attr_count", s, n), -2)
        assert refused(c("sg_session_node_input", s, 0, 99), -2)
        assert refused(c("sg_session_node_output", s, 0, -1), -2)
        assert refused(c("sg_session_node_attr_name", s, 0, 99), 0)
        assert refused(c("sg_session_node_attr_type", s, 0, -1), -1)
        assert refused(c("sg_session_node_attr_value", s, 0, 0, 1 << 20), "nan")
        # a non-constant has no data; a non-string attribute has no string
        x = c("sg_session_node_input", s, 0, 0)
        assert c("sg_session_tensor_data", s, x) == 0 and c("sg_session_tensor_data_size", s, x) == 0
        ints = next(a for a in range(c("sg_session_node_attr_count", s, 0)) if c("sg_session_node_attr_type", s, 0, a) == 1)
        assert c("sg_session_node_attr_string", s, 0, ints) == 0 and c("sg_last_error_code") == SG_ERR_INVALID
