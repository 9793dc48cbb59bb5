"""Block sparsity: the pass (passes/block_sparsity.py), SparseConv / SparseGemm in the numpy
reference and the wasm runtime (CPython and Chromium), and refusal of corrupt indices.

A sparse model must give the outputs of its dense-with-zeros twin: in the reference (it
expands the blocks; exact but for a Gemm's alpha, folded into the weight) and in the runtime
within float rounding (another summation order)."""
from __future__ import annotations

import numpy as np
import pytest

from browser_util import browser  # noqa: F401  (fixture)
from sparsegate.errors import SparsegateError
from sparsegate.format import model_bytes
from sparsegate.ir import Graph, Node, TensorInfo
from sparsegate.passes.block_sparsity import (BLOCKS, block_prune, block_sparsify, eligible,
                                              encode_sparse, to_bsr)
from sparsegate.reference import run_graph
from sparsegate.runtime import Session


def conv_graph(c, m, h, w, k=1, pads=(0, 0, 0, 0), strides=(1, 1), act="Relu", bias=True,
               n=1, seed=0) -> Graph:
    rng = np.random.default_rng(seed)
    wt = rng.standard_normal((m, c, k, k)).astype(np.float32)
    t = {"x": TensorInfo("x", (n, c, h, w)), "W": TensorInfo("W", wt.shape, data=wt)}
    ins = ["x", "W"]
    if bias:
        t["B"] = TensorInfo("B", (m,), data=rng.standard_normal(m).astype(np.float32))
        ins.append("B")
    oh = (h + pads[0] + pads[2] - k) // strides[0] + 1
    ow = (w + pads[1] + pads[3] - k) // strides[1] + 1
    t["y"] = TensorInfo("y", (n, m, oh, ow))
    node = Node("Conv", "conv", ins, ["y"], dict(strides=list(strides), pads=list(pads),
                                                dilations=[1, 1], group=1, activation=act,
                                                activation_params=[0.0, 6.0] if act == "Clip" else []))
    return Graph([node], t, ["x"], ["y"])


def gemm_graph(batch, k, n, trans_b=1, c_shape=(None,), alpha=1.0, beta=1.0, act="", seed=0) -> Graph:
    rng = np.random.default_rng(seed)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(np.float32)
    t = {"x": TensorInfo("x", (batch, k)), "B": TensorInfo("B", b.shape, data=b),
         "y": TensorInfo("y", (batch, n))}
    ins = ["x", "B"]
    if c_shape != (None,):
        c = rng.standard_normal(c_shape).astype(np.float32)
        t["C"] = TensorInfo("C", c.shape, data=c)
        ins.append("C")
    node = Node("Gemm", "gemm", ins, ["y"], dict(transA=0, transB=trans_b, alpha=alpha, beta=beta,
                                                activation=act, activation_params=[]))
    return Graph([node], t, ["x"], ["y"])


def matmul_graph(m, k, n, seed=0) -> Graph:
    b = np.random.default_rng(seed).standard_normal((k, n)).astype(np.float32)
    t = {"x": TensorInfo("x", (m, k)), "B": TensorInfo("B", b.shape, data=b),
         "y": TensorInfo("y", (m, n))}
    return Graph([Node("MatMul", "mm", ["x", "B"], ["y"], {})], t, ["x"], ["y"])


def feeds_for(graph: Graph, seed=1):
    rng = np.random.default_rng(seed)
    return {n: rng.standard_normal(graph.tensors[n].shape).astype(np.float32) for n in graph.inputs}


def check_sparse_equals_dense(dense: Graph, block, sparsity=0.6, index_dtype=np.int32, tol=1e-4):
    pruned = block_prune(dense, sparsity, block)
    sparse = encode_sparse(pruned, block, force=True, index_dtype=index_dtype)
    assert all(n.op.startswith("Sparse") for n in sparse.nodes), [n.op for n in sparse.nodes]
    feeds = feeds_for(dense)
    want = run_graph(pruned, feeds)["y"]
    # alpha is folded into the sparse weight, hence rounding-level differences for Gemm.
    np.testing.assert_allclose(run_graph(sparse, feeds)["y"], want, rtol=1e-5, atol=1e-6)
    got_dense = Session(model_bytes(pruned)).run(feeds)["y"]
    got = Session(model_bytes(sparse)).run(feeds)["y"]
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    np.testing.assert_allclose(got, got_dense, rtol=tol, atol=tol)
    return sparse


# Odd shapes: M not a multiple of the block height, H·W not a multiple of 4, K not a multiple
# of the block width (edge blocks re-anchored), batch > 1, and the im2col path.
CONV_SHAPES = [
    dict(c=16, m=24, h=8, w=8),
    dict(c=7, m=13, h=5, w=3),
    dict(c=12, m=9, h=7, w=9, act="Clip", bias=False),
    dict(c=6, m=10, h=9, w=11, k=3, pads=(1, 1, 1, 1)),
    dict(c=5, m=11, h=10, w=7, k=3, pads=(0, 1, 1, 0), strides=(2, 2), n=2),
    dict(c=96, m=40, h=14, w=14),
]


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: f"{b[0]}x{b[1]}")
@pytest.mark.parametrize("shape", CONV_SHAPES, ids=lambda s: "_".join(f"{k}{v}" for k, v in s.items()))
def test_sparse_conv_equals_dense_with_zeros(block, shape):
    check_sparse_equals_dense(conv_graph(**shape), block)


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: f"{b[0]}x{b[1]}")
@pytest.mark.parametrize("graph", [
    gemm_graph(1, 64, 50, c_shape=(50,)),
    gemm_graph(3, 37, 13, trans_b=0, c_shape=(1, 13), alpha=0.5, beta=2.0, act="Relu"),
    gemm_graph(2, 9, 7, c_shape=(None,), act="Sigmoid"),
    matmul_graph(5, 22, 9),
], ids=["gemm_bias", "gemm_noTransB_alpha_beta", "gemm_nobias", "matmul"])
def test_sparse_gemm_equals_dense_with_zeros(block, graph):
    check_sparse_equals_dense(graph, block)


@pytest.mark.parametrize("sparsity", [0.0, 1.0])
def test_empty_and_full_patterns(sparsity):
    sparse = check_sparse_equals_dense(conv_graph(8, 12, 5, 5), (4, 1), sparsity)
    assert sparse.tensors["conv/bsr_values"].shape[0] == (0 if sparsity == 1.0 else 3 * 8)


def test_float32_indices_are_accepted():
    check_sparse_equals_dense(conv_graph(8, 12, 6, 5, k=3, pads=(1, 1, 1, 1)), (1, 4),
                              index_dtype=np.float32)


def test_pruning_zeroes_whole_blocks_of_smallest_norm():
    g = conv_graph(8, 16, 3, 3)
    w = block_prune(g, 0.5, (4, 1)).tensors["W"].data.reshape(16, 8)
    blocks = w.reshape(4, 4, 8)
    zero = np.all(blocks == 0, axis=1)
    assert zero.sum() == 16 and np.all(np.any(blocks != 0, axis=1) | zero)
    norms = np.sqrt((g.tensors["W"].data.reshape(4, 4, 8) ** 2).sum(axis=1))
    assert norms[zero].max() <= norms[~zero].min()
    assert g.tensors["W"].data.reshape(16, 8).all()  # the input graph is untouched


def test_encoding_only_where_it_pays():
    g = conv_graph(64, 64, 8, 8)
    assert block_sparsify(g, 0.2, (4, 1)).nodes[0].op == "Conv"   # too dense: stays dense
    s = block_sparsify(g, 0.8, (4, 1))
    assert s.nodes[0].op == "SparseConv" and "W" not in s.tensors
    assert len(model_bytes(s)) < 0.4 * len(model_bytes(g))


def test_to_bsr_layout():
    w = np.zeros((5, 6), np.float32)
    w[0, 4] = 1.0
    w[4, 1] = 2.0
    values, col, ptr = to_bsr(w, (4, 1))
    assert ptr.tolist() == [0, 1, 2] and col.tolist() == [4, 1]
    assert values[:, :, 0].tolist() == [[1, 0, 0, 0], [2, 0, 0, 0]]


def test_fashion_cnn_sparse_in_reference_and_wasm():
    from sparsegate import convert, zoo
    g = convert(str(zoo.fetch("fashion_cnn")))
    assert eligible(g, (4, 1)) == ["/0/Conv", "/4/Conv", "/8/Conv", "/12/Gemm"]
    layers = ["/4/Conv", "/8/Conv", "/12/Gemm"]
    pruned = block_prune(g, 0.7, (4, 1), layers)
    sparse = encode_sparse(pruned, (4, 1), layers)
    assert [n.op for n in sparse.nodes if n.name in layers] == ["SparseConv", "SparseConv", "SparseGemm"]
    x = np.random.default_rng(0).standard_normal((1, 1, 28, 28)).astype(np.float32)
    name = g.inputs[0]
    want = run_graph(pruned, {name: x})
    sess = Session(model_bytes(sparse))
    got = sess.run({name: x})
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-4, atol=1e-4)
    stats = sess.stats()
    assert stats["macs_executed"] < 0.5 * stats["macs_dense"]


# ---- corrupt sparse index tensors are refused by prepare, with a clear error ----

def _sparse_conv_model(**change):
    """A small SparseConv graph (4x1 blocks, float32 indices) with some tensors replaced."""
    g = encode_sparse(block_prune(conv_graph(8, 12, 5, 5), 0.5, (4, 1)), (4, 1), force=True,
                      index_dtype=np.float32)
    for name, arr in change.items():
        key = f"conv/bsr_{name}"
        arr = np.asarray(arr)
        g.tensors[key] = TensorInfo(key, tuple(arr.shape), arr.dtype, arr)
    return g


def _ptr_col(g):
    return g.tensors["conv/bsr_row_ptr"].data.copy(), g.tensors["conv/bsr_col_idx"].data.copy()


def _bad_cases():
    ptr, col = _ptr_col(_sparse_conv_model())  # ptr: 4 entries (3 row blocks), 12 blocks
    out_of_range = col.copy()
    out_of_range[-1] = 8
    negative = col.copy()
    negative[0] = -1
    repeat = col.copy()
    repeat[1] = repeat[0]
    non_monotone = ptr.copy()
    non_monotone[1], non_monotone[2] = non_monotone[2], non_monotone[1]
    short_end = ptr.copy()
    short_end[-1] -= 1
    start = ptr.copy()
    start[0] = 1
    frac = col.copy()
    frac[2] += 0.5
    huge_ptr = ptr.copy()
    huge_ptr[1] = 1e9
    return [
        (dict(col_idx=out_of_range), r"col_idx 'conv/bsr_col_idx'\[11\] = 8 is out of range"),
        (dict(col_idx=negative), r"col_idx .*= -1 is out of range"),
        (dict(col_idx=repeat), "block columns must increase"),
        (dict(row_ptr=non_monotone), r"row_ptr 'conv/bsr_row_ptr'\[2\] .* non-decreasing"),
        (dict(row_ptr=short_end), "ends at 11, expected nnzb = 12"),
        (dict(row_ptr=start), r"row_ptr .*\[0\] = 1, expected 0"),
        (dict(col_idx=frac), "is not an integer"),
        (dict(row_ptr=huge_ptr), "non-decreasing and at most nnzb"),
        (dict(row_ptr=ptr[:-1]), r"tensor 'conv/bsr_row_ptr' has shape \[3\], expected \[4\]"),
        (dict(col_idx=col[:-1]), r"tensor 'conv/bsr_col_idx' has shape \[11\], expected \[12\]"),
        (dict(values=np.zeros((12, 2, 2), np.float32)), r"expected \[nnzb, 4, 1\]"),
    ]


@pytest.mark.parametrize("change,match", _bad_cases(), ids=[m[:30] for _, m in _bad_cases()])
def test_corrupt_indices_are_refused(change, match):
    g = _sparse_conv_model(**change)
    with pytest.raises(SparsegateError, match=match) as err:
        Session(model_bytes(g))
    assert "SparseConv node 'conv'" in str(err.value)


def test_unsupported_block_and_bad_weight_shape_are_refused():
    g = _sparse_conv_model()
    g.nodes[0].attrs["block"] = [2, 2]
    with pytest.raises(SparsegateError, match=r"block \[2, 2\] is not supported"):
        Session(model_bytes(g))
    g = _sparse_conv_model()
    g.nodes[0].attrs["weight_shape"] = [12, 9, 1, 1]
    with pytest.raises(SparsegateError, match="does not match the 8 input channels"):
        Session(model_bytes(g))


@pytest.mark.browser
def test_sparse_model_in_chromium(browser):  # noqa: F811
    dense = conv_graph(7, 13, 5, 3, act="Clip")
    pruned = block_prune(dense, 0.6, (4, 1))
    sparse = encode_sparse(pruned, (4, 1), force=True)
    feeds = feeds_for(dense)
    got = browser.run(model_bytes(sparse), feeds)["y"]
    np.testing.assert_allclose(got, run_graph(pruned, feeds)["y"], rtol=1e-4, atol=1e-4)
