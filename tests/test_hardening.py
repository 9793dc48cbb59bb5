"""Regression tests for the defects of issue 17, each through the real wasm runtime: the
per-op contract of absent inputs, allocations bounded and checked before they happen, the
error code of the C ABI and the typed Python errors it maps to, session limits, unique names."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from sparsegate.errors import (InputError, ModelFormatError, OutOfMemoryError,
                               ResourceLimitError, RuntimeFailure, RuntimeUnsupportedError,
                               SparsegateError)
from sparsegate.format import model_bytes
from sparsegate.ir import Graph, Node, TensorInfo as T
from sparsegate.runtime import Session
from sparsegate.runtime.adapter import instantiate

from sgm_raw import sgm

ROOT = Path(__file__).resolve().parents[1]

# Input positions each op may leave absent (-1): stated here independently of
# wasm/src/ops/registry.h, which must agree.
OPTIONAL = {"Conv": {2, 3, 4}, "Gemm": {2, 3, 4}, "ConvTranspose": {2}, "LayerNormalization": {2},
            "Resize": {1, 2, 3}, "Dequantize": {1},
            "ConvInt8": {3}, "GemmInt8": {3}, "SparseConv": {4}, "SparseGemm": {4}}


def registry_ops() -> list[str]:
    text = (ROOT / "wasm/src/ops/registry.h").read_text()
    body = text[text.index("#define SG_OPS(X)"):]
    return re.findall(r"X\((\w+),", body)


def test_registry_lists_every_op_with_a_contract():
    ops = registry_ops()
    assert len(ops) >= 30 and "Concat" in ops and "SparseGemm" in ops
    assert set(OPTIONAL) <= set(ops)


def absent_input_model(op: str, position: int) -> bytes:
    """x -> op(x, …, -1 at `position`, …) -> y, with every other input present."""
    tensors = [("x", [2, 3], "input"), ("y", [2, 3], "act")]
    ins = [0] * (position + 1)
    ins[position] = -1
    return sgm(tensors, [(op, "n", ins, [1], {})], [0], [1])


@pytest.mark.parametrize("op", registry_ops())
def test_absent_input_is_refused_where_the_op_takes_none(op):
    for position in range(1, 6):
        blob = absent_input_model(op, position)
        if position in OPTIONAL.get(op, set()):
            # The loader lets it through; the op's prepare decides (and must not crash).
            try:
                Session(blob)
            except SparsegateError as e:
                assert "absent, but" not in str(e)
            continue
        with pytest.raises(ModelFormatError, match=f"input {position} is absent, but {op} has no optional input"):
            Session(blob)


def test_concat_with_absent_input_fails_fast():
    # The fuzz case: Concat(x, -1) spun for seconds, then trapped reading tensors[-1].
    blob = sgm([("x", [1, 3], "input"), ("y", [2, 3], "act")],
               [("Concat", "cat", [0, -1], [1], {"axis": 0})], [0], [1])
    with pytest.raises(ModelFormatError, match="node 'cat' \\(Concat\\): input 1 is absent"):
        Session(blob)


# --- allocations checked before they happen ----------------------------------------------

def raw_abi(blob: bytes, limits=None):
    """(instance, model, session or 0, error code, message) through the C ABI directly."""
    w = instantiate()
    ptr = w.call("sg_alloc", len(blob))
    w.write(ptr, blob)
    model = w.call("sg_model_load", ptr, len(blob))
    session = 0
    if model:
        session = (w.call("sg_session_create_limited", model, *limits) if limits
                   else w.call("sg_session_create", model))
    code = w.call("sg_last_error_code")
    msg_ptr = w.call("sg_last_error")
    msg = w.read(msg_ptr, 400).split(b"\0")[0].decode()
    return w, model, session, code, msg


def memory_bytes(w) -> int:
    return w._memory.data_len(w._store)


def test_refused_model_allocates_nothing_for_its_inputs():
    # 512 MiB of input and output, then a 1 GiB hidden activation: refused before the input
    # buffers are allocated (they were allocated and zeroed first).
    tensors = {"x": T("x", (1 << 27,)), "h": T("h", (1 << 28,)), "y": T("y", (1 << 27,))}
    g = Graph([Node("Pad", "grow", ["x"], ["h"], {"pads": [0, 1 << 27], "mode": "constant", "value": 0.0}),
               Node("Slice", "cut", ["h"], ["y"], {"starts": [0], "steps": [1]})], tensors, ["x"], ["y"])
    blob = model_bytes(g)
    w, model, session, code, msg = raw_abi(blob)
    assert model and not session
    assert code == 4 and "activation memory exceeds the limit" in msg
    assert memory_bytes(w) < 64 << 20, "buffers were allocated for a refused model"


def test_pad_to_huge_output_is_a_memory_error():
    tensors = {"x": T("x", (1, 1)), "y": T("y", (1, (1 << 31) - 1))}
    g = Graph([Node("Pad", "pad", ["x"], ["y"], {"pads": [0, 0, 0, (1 << 31) - 2], "mode": "edge", "value": 0.0})],
              tensors, ["x"], ["y"])
    with pytest.raises(OutOfMemoryError, match="activation memory exceeds the limit"):
        Session(model_bytes(g))


def test_resize_output_must_match_its_scales():
    # A 600-byte file asked linear Resize for 2^28 outputs at scale 1 (tables of gigabytes);
    # any output the scales do not give is refused.
    attrs = {"mode": "linear", "coordinate_transformation_mode": "half_pixel",
             "nearest_mode": "floor", "scales": [1.0, 1.0, 1.0, 1.0]}
    tensors = {"x": T("x", (1, 1, 2, 2)), "y": T("y", (1, 1, 8192, 8192))}
    g = Graph([Node("Resize", "rs", ["x"], ["y"], attrs)], tensors, ["x"], ["y"])
    with pytest.raises(SparsegateError, match="axis 2: output 'y' .* does not match input 'x' .* at scale 1"):
        Session(model_bytes(g))
    tensors["y"] = T("y", (1, 1, 4, 6))
    g.nodes[0].attrs["scales"] = [1.0, 1.0, 2.0, 2.0]
    with pytest.raises(SparsegateError, match="axis 3"):
        Session(model_bytes(g))


def gemms_sharing(weight_shape, n: int) -> Graph:
    """n Gemms at batch 1 reading one shared constant B: each packs its own copy of B."""
    k, m = weight_shape
    w = np.zeros(weight_shape, np.float32)
    tensors = {"x": T("x", (1, k)), "w": T("w", weight_shape, data=w)}
    nodes, outs = [], []
    for i in range(n):
        tensors[f"y{i}"] = T(f"y{i}", (1, m))
        nodes.append(Node("Gemm", f"gemm{i}", ["x", "w"], [f"y{i}"],
                          {"transA": 0, "transB": 0, "alpha": 1.0, "beta": 1.0,
                           "activation": "", "activation_params": []}))
        outs.append(f"y{i}")
    return Graph(nodes, tensors, ["x"], outs)


def test_gemms_copying_a_shared_weight_hit_the_cap_before_allocating():
    # 20 copies of a 64 MiB weight: past the 1 GiB cap on per-node state, refused by the
    # node that would cross it, before it allocates.
    blob = model_bytes(gemms_sharing((4096, 4096), 20))
    w, model, session, code, msg = raw_abi(blob)
    assert model and not session and code == 4
    assert re.search(r"Gemm node 'gemm1\d': rows of B needs \d+ bytes, past the runtime's limit", msg), msg
    assert memory_bytes(w) < len(blob) + (1 << 30) + (64 << 20)


def test_memory_limit_counts_packed_weights():
    blob = model_bytes(gemms_sharing((256, 256), 12))  # 12 copies of 256 KiB
    sess = Session(blob)
    need = sess.stats()["memory_bytes"]
    assert need >= 12 * 256 * 256 * 4
    with pytest.raises(ResourceLimitError, match="Gemm node 'gemm\\d+': rows of B needs .* memory limit of 1000000 bytes"):
        Session(blob, max_memory=1_000_000)
    Session(blob, max_memory=need)  # exactly enough


def test_memory_limit_counts_activations():
    g = Graph([Node("Relu", "r", ["x"], ["y"])], {"x": T("x", (1024, 1024)), "y": T("y", (1024, 1024))},
              ["x"], ["y"])
    with pytest.raises(ResourceLimitError, match="8388608 bytes of activation memory, over the session's memory limit"):
        Session(model_bytes(g), max_memory=(8 << 20) - 1)


def conv_graph(h=32) -> Graph:
    rng = np.random.default_rng(0)
    w = rng.standard_normal((8, 4, 3, 3)).astype(np.float32)
    tensors = {"x": T("x", (1, 4, h, h)), "w": T("w", w.shape, data=w), "y": T("y", (1, 8, h, h))}
    attrs = {"strides": [1, 1], "pads": [1, 1, 1, 1], "dilations": [1, 1], "group": 1,
             "activation": "", "activation_params": []}
    return Graph([Node("Conv", "conv", ["x", "w"], ["y"], attrs)], tensors, ["x"], ["y"])


def test_mac_limit_refuses_at_creation_and_changes_nothing_below_it():
    blob = model_bytes(conv_graph())
    dense = 8 * 32 * 32 * 4 * 9
    with pytest.raises(ResourceLimitError, match=f"more than 1000 MACs per run \\({dense} up to node 'conv'\\)"):
        Session(blob, max_macs=1000)
    x = np.random.default_rng(1).standard_normal((1, 4, 32, 32)).astype(np.float32)
    limited = Session(blob, max_macs=dense, max_memory=1 << 30)
    assert limited.stats()["macs_dense"] == dense
    np.testing.assert_array_equal(limited.run(x)["y"], Session(blob).run(x)["y"])


@pytest.mark.parametrize("value", [-1, 0, float("nan"), "1e9", True])
def test_limits_must_be_positive_numbers(value):
    with pytest.raises(InputError, match="must be a positive number"):
        Session(model_bytes(conv_graph(4)), max_memory=value)
    with pytest.raises(InputError, match="max_macs"):
        Session(model_bytes(conv_graph(4)), max_macs=value)


def test_abi_refuses_negative_or_nan_limits_with_invalid():
    for limits in ((-1.0, 0.0), (0.0, float("nan"))):
        _, model, session, code, msg = raw_abi(model_bytes(conv_graph(4)), limits)
        assert model and not session and code == 3 and "limits must be >= 0" in msg


# --- the error code and the typed errors ---------------------------------------------------

def test_last_error_code_after_each_kind_of_failure():
    good = model_bytes(conv_graph(4))
    assert raw_abi(good)[3] == 0
    assert raw_abi(b"XXXX" + good[4:])[3] == 1                     # format
    det = sgm([("x", [2], "input"), ("y", [2], "act")], [("Det", "e", [0], [1], {})], [0], [1])
    assert raw_abi(det)[3] == 2                                    # unsupported
    assert raw_abi(good, (0.0, 10.0))[3] == 5                      # limit
    huge = Graph([Node("Relu", "r", ["x"], ["y"])], {"x": T("x", (1 << 29,)), "y": T("y", (1 << 29,))},
                 ["x"], ["y"])
    assert raw_abi(model_bytes(huge))[3] == 4                      # memory


def test_python_errors_are_typed_by_code():
    det = sgm([("x", [2], "input"), ("y", [2], "act")], [("Det", "e", [0], [1], {})], [0], [1])
    with pytest.raises(RuntimeUnsupportedError, match="unsupported op 'Det'") as err:
        Session(det)
    assert isinstance(err.value, ModelFormatError)  # as before: a file this runtime cannot read
    huge = Graph([Node("Relu", "r", ["x"], ["y"])], {"x": T("x", (1 << 29,)), "y": T("y", (1 << 29,))},
                 ["x"], ["y"])
    with pytest.raises(OutOfMemoryError) as err:
        Session(model_bytes(huge))
    assert isinstance(err.value, MemoryError) and isinstance(err.value, RuntimeFailure)


# --- names hosts key by ------------------------------------------------------------------

def test_duplicate_input_names_are_refused():
    blob = sgm([("x", [2], "input"), ("x", [2], "input"), ("y", [2], "act")],
               [("Add", "add", [0, 1], [2], {})], [0, 1], [2])
    with pytest.raises(ModelFormatError, match="two tensors are named 'x'"):
        Session(blob)


def test_duplicate_output_names_are_refused():
    blob = sgm([("x", [2], "input"), ("y", [2], "act"), ("y", [2], "act")],
               [("Relu", "r1", [0], [1], {}), ("Relu", "r2", [0], [2], {})], [0], [1, 2])
    with pytest.raises(ModelFormatError, match="two tensors are named 'y'"):
        Session(blob)


# --- Python-side inputs ------------------------------------------------------------------

def test_deeply_nested_metadata_is_a_format_error():
    meta = b"[" * 100_000 + b"]" * 100_000
    blob = sgm([("x", [2], "input"), ("y", [2], "act")], [("Relu", "r", [0], [1], {})], [0], [1], meta=meta)
    with pytest.raises(ModelFormatError, match="META section is not valid JSON"):
        Session(blob)
    from sparsegate.format import read_metadata
    with pytest.raises(ModelFormatError, match="META"):
        read_metadata(blob)


@pytest.mark.parametrize("feed", ["abc", {"a": 1}, b"\0" * 24, bytearray(24), None,
                                  [["1", "2", "3"], ["4", "5", "6"]], [[1, 2, 3], [4, 5]],
                                  np.array([["a"] * 3] * 2), [[1, 2, object()], [4, 5, 6]]],
                         ids=["str", "dict", "bytes", "bytearray", "none", "str-list", "ragged",
                              "str-array", "object"])
def test_feeds_that_are_not_numbers_are_input_errors(feed):
    g = Graph([Node("Relu", "r", ["x"], ["y"])], {"x": T("x", (2, 3)), "y": T("y", (2, 3))}, ["x"], ["y"])
    sess = Session(model_bytes(g))
    with pytest.raises(InputError, match="input 'x'"):
        sess.run({"x": feed})
    with pytest.raises(InputError):
        sess.run(feed)


@pytest.mark.parametrize("gate", [None, "0.5", [0.5], True])
def test_set_gate_needs_a_number(gate):
    sess = Session(model_bytes(conv_graph(4)))
    with pytest.raises(InputError, match="gate must be a number"):
        sess.set_gate(gate)
