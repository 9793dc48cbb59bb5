"""Block sparsity: magnitude pruning in SIMD-shaped blocks, stored as blocked CSR.

    g = block_sparsify(graph, 0.7, block=(4, 1))          # prune, then encode where it pays
    g = block_prune(graph, {"conv_3": 0.8}, block=(1, 4))  # dense with zeros only
    g = encode_sparse(g, block=(1, 4))                     # SparseConv / SparseGemm nodes

A layer's weight is seen as the matrix W [rows, K] the kernels multiply: a group-1 Conv's
[M, C·kH·kW], a Gemm's alpha·B' transposed to [N, K], a MatMul's constant B transposed. It is
cut into blocks of `block` = (bh, bw) — bh output rows × bw consecutive input columns, padded
at the edges — and the blocks with the smallest L2 norm are zeroed (`sparsity` = fraction of
blocks zeroed per layer). Encoding turns a layer into `SparseConv` / `SparseGemm`
(docs/ir.md, "Block-sparse Conv and Gemm") only when its block density is at most
`MAX_DENSITY`, where the WASM sparse kernel beat the dense one on MobileNetV2's layer
shapes (scripts/bench_block_sparse.py; docs/compression.md, "Block sparsity"), and the file
gets smaller; other layers stay dense (with their zeros).
"""
from __future__ import annotations

import copy

import numpy as np

from ..ir import Graph, Node, TensorInfo

BLOCKS = ((1, 4), (4, 1), (8, 1), (1, 1))
# Largest block density (kept blocks / all blocks) at which the sparse kernel was faster than
# the dense one on every shape measured by scripts/bench_block_sparse.py (MobileNetV2's 1×1
# convs and its classifier Gemm; docs/compression.md, "Block sparsity"). Convolutions want
# blocks of output rows (one X vector feeds 4 or 8 accumulators); 1×4 and 1×1 lose to the
# dense GEMM there up to 90 % sparsity on some shapes. A batch-1 Gemm is a mat-vec, where
# every block shape but 1×1 wins from 30 % on.
MAX_DENSITY = {
    "conv": {(4, 1): 0.6, (8, 1): 0.4, (1, 4): 0.05, (1, 1): 0.05},
    "gemm": {(4, 1): 0.7, (8, 1): 0.7, (1, 4): 0.7, (1, 1): 0.3},
}


def _attr(node: Node, key, default=None):
    """A scalar attribute (attributes read back from `.sgm` are one-element lists)."""
    v = node.attrs.get(key, default)
    return v[0] if isinstance(v, (list, tuple)) else v


def _const(graph: Graph, name: str) -> np.ndarray | None:
    return graph.constant(name) if name else None


def weight_matrix(graph: Graph, node: Node) -> np.ndarray | None:
    """The [rows, K] float32 weight matrix of a node the pass can sparsify, else None."""
    if node.op == "Conv" and not node.attrs.get("gate_kind") and int(_attr(node, "group", 1)) == 1:
        w = _const(graph, node.inputs[1])
        if w is not None and w.ndim == 4:
            return w.astype(np.float32).reshape(w.shape[0], -1)
    if node.op == "Gemm" and not int(_attr(node, "transA", 0)):
        b = _const(graph, node.inputs[1])
        c = _const(graph, node.inputs[2]) if len(node.inputs) > 2 else None
        if b is None or b.ndim != 2 or (len(node.inputs) > 2 and node.inputs[2] and c is None):
            return None
        n = b.shape[0] if int(_attr(node, "transB", 0)) else b.shape[1]
        if c is not None and c.shape not in ((n,), (1, n)):
            return None
        w = b if int(_attr(node, "transB", 0)) else b.T
        return (np.float32(_attr(node, "alpha", 1.0)) * w.astype(np.float32))
    if node.op == "MatMul":
        b = _const(graph, node.inputs[1])
        if b is not None and b.ndim == 2 and len(graph.tensors[node.inputs[0]].shape) == 2:
            return np.ascontiguousarray(b.astype(np.float32).T)
    return None


def eligible(graph: Graph, block=(1, 4)) -> list[str]:
    """Names of the nodes whose weight the pass can prune and encode in `block`s."""
    out = []
    for n in graph.nodes:
        w = weight_matrix(graph, n)
        if w is not None and w.shape[1] >= block[1]:
            out.append(n.name)
    return out


def default_layers(graph: Graph, block=(1, 4)) -> list[str]:
    """The eligible nodes except those reading a graph input (what `compress` prunes): the first
    conv sees raw pixels and has few weights, so pruning it costs the most for the least saving."""
    inputs = set(graph.inputs)
    by_name = {n.name: n for n in graph.nodes}
    return [name for name in eligible(graph, block) if by_name[name].inputs[0] not in inputs]


def _blocks(w2: np.ndarray, block) -> np.ndarray:
    """[nrb, bh, ncb, bw] view of w2 padded with zeros to whole blocks."""
    bh, bw = block
    rows, k = w2.shape
    nrb, ncb = -(-rows // bh), -(-k // bw)
    padded = np.zeros((nrb * bh, ncb * bw), np.float32)
    padded[:rows, :k] = w2
    return padded.reshape(nrb, bh, ncb, bw)


def block_mask(w2: np.ndarray, sparsity: float, block=(1, 4)) -> np.ndarray:
    """Boolean [rows, K] mask keeping all but the round(sparsity · blocks) lowest-L2 blocks."""
    b = _blocks(w2, block)
    norms = np.sqrt((b.astype(np.float64) ** 2).sum(axis=(1, 3)))  # [nrb, ncb]
    drop = int(round(float(sparsity) * norms.size))
    keep = np.ones(norms.size, bool)
    if drop > 0:
        keep[np.argsort(norms.ravel(), kind="stable")[:drop]] = False
    keep = keep.reshape(norms.shape)
    full = np.repeat(np.repeat(keep, block[0], axis=0), block[1], axis=1)
    return full[:w2.shape[0], :w2.shape[1]]


def _set_weight_matrix(graph: Graph, node: Node, mask: np.ndarray) -> None:
    """Zeroes the masked-out entries of the node's stored weight (a fresh array)."""
    name = node.inputs[1]
    w = graph.tensors[name].data
    if node.op == "Conv":
        m = mask.reshape(w.shape)
    elif node.op == "Gemm" and int(_attr(node, "transB", 0)):
        m = mask
    else:  # Gemm without transB, MatMul: stored [K, N]
        m = mask.T
    new = np.where(m, w, np.zeros((), w.dtype)).astype(w.dtype)
    graph.tensors[name] = TensorInfo(name, tuple(new.shape), new.dtype, new)


def _copy(graph: Graph) -> Graph:
    return Graph([copy.deepcopy(n) for n in graph.nodes], dict(graph.tensors), list(graph.inputs),
                 list(graph.outputs), copy.deepcopy(graph.metadata))


def _plan(graph: Graph, sparsity, layers, block) -> dict[str, float]:
    names = eligible(graph, block) if layers is None else list(layers)
    ok = set(eligible(graph, block))
    bad = [n for n in names if n not in ok]
    if bad:
        raise ValueError(f"block sparsity cannot handle nodes {bad} (eligible: group-1 Conv, Gemm "
                         f"with transA=0 and a constant B, MatMul with a constant 2-D B; K ≥ {block[1]})")
    if isinstance(sparsity, dict):
        return {n: float(sparsity[n]) for n in names if n in sparsity}
    return {n: float(sparsity) for n in names}


def block_prune(graph: Graph, sparsity, block=(1, 4), layers=None) -> Graph:
    """Zeroes the lowest-magnitude blocks of each listed layer (all eligible ones when `layers`
    is None); `sparsity` is one fraction of blocks for every layer or {node name: fraction}.
    Returns a new graph, still dense (weights with zeros)."""
    block = tuple(int(v) for v in block)
    if block not in BLOCKS:
        raise ValueError(f"block {block} is not supported (supported: {list(BLOCKS)})")
    plan = _plan(graph, sparsity, layers, block)
    for s in plan.values():
        if not 0.0 <= s <= 1.0:
            raise ValueError(f"sparsity must be in [0, 1], got {s}")
    out = _copy(graph)
    for node in out.nodes:
        if node.name in plan and plan[node.name] > 0:
            _set_weight_matrix(out, node, block_mask(weight_matrix(out, node), plan[node.name], block))
    return out


def to_bsr(w2: np.ndarray, block, index_dtype=np.int32):
    """Blocked CSR of w2 [rows, K]: (values [nnzb, bh, bw], col_idx [nnzb], row_ptr [nrb + 1]);
    a block is stored when any of its entries is nonzero."""
    b = _blocks(w2, block)                       # [nrb, bh, ncb, bw]
    nz = np.any(b != 0, axis=(1, 3))             # [nrb, ncb]
    rows, cols = np.nonzero(nz)                  # row-major: rows ascending, cols ascending
    values = np.ascontiguousarray(b.transpose(0, 2, 1, 3)[rows, cols])
    row_ptr = np.concatenate([[0], np.cumsum(nz.sum(axis=1))])
    return values.astype(np.float32), cols.astype(index_dtype), row_ptr.astype(index_dtype)


def density(w2: np.ndarray, block) -> float:
    """Fraction of blocks holding a nonzero."""
    return float(np.any(_blocks(w2, block) != 0, axis=(1, 3)).mean())


def sparse_bytes(w2: np.ndarray, block) -> int:
    """Bytes of the blocked-CSR encoding (float32 values, 4-byte indices)."""
    values, col, ptr = to_bsr(w2, block)
    return 4 * (values.size + col.size + ptr.size)


def _replace(graph: Graph, node: Node, w2: np.ndarray, block, index_dtype) -> Node:
    values, col, ptr = to_bsr(w2, block, index_dtype)
    base = node.name
    names = [f"{base}/bsr_values", f"{base}/bsr_col_idx", f"{base}/bsr_row_ptr"]
    for name, arr in zip(names, (values, col, ptr)):
        graph.tensors[name] = TensorInfo(name, tuple(arr.shape), arr.dtype, arr)
    act = {"activation": node.attrs.get("activation", ""),
           "activation_params": list(node.attrs.get("activation_params", []))}
    if node.op == "Conv":
        w = graph.tensors[node.inputs[1]].data
        bias = node.inputs[2] if len(node.inputs) > 2 else ""
        attrs = {k: list(node.attrs[k]) for k in ("strides", "pads", "dilations")}
        attrs.update(act, weight_shape=list(w.shape), block=list(block))
        return Node("SparseConv", node.name, [node.inputs[0], *names, bias][: 5 if bias else 4],
                    list(node.outputs), attrs)
    bias = ""
    if node.op == "Gemm" and len(node.inputs) > 2 and node.inputs[2]:
        c = graph.tensors[node.inputs[2]].data
        b = (np.float32(_attr(node, "beta", 1.0)) * c.astype(np.float32)).reshape(-1)
        if b.shape[0] == 1:
            b = np.repeat(b, w2.shape[0])
        bias = f"{base}/bias"
        graph.tensors[bias] = TensorInfo(bias, tuple(b.shape), np.dtype(np.float32), b)
    if node.op == "MatMul":
        act = {"activation": "", "activation_params": []}
    attrs = {**act, "weight_shape": list(w2.shape), "block": list(block)}
    return Node("SparseGemm", node.name, [node.inputs[0], *names, bias][: 5 if bias else 4],
                list(node.outputs), attrs)


def encode_sparse(graph: Graph, block=(1, 4), layers=None, max_density: float | None = None,
                  index_dtype=np.int32, force: bool = False) -> Graph:
    """Turns each listed (default: every eligible) layer whose weight matrix has block density
    ≤ `max_density` (default MAX_DENSITY[conv or gemm][block]) and whose blocked CSR is smaller than the
    dense weight into SparseConv / SparseGemm (`force`: every listed layer, for benchmarks and
    tests). Unused dense weights are dropped."""
    block = tuple(int(v) for v in block)
    if block not in BLOCKS:
        raise ValueError(f"block {block} is not supported (supported: {list(BLOCKS)})")
    names = set(eligible(graph, block) if layers is None else layers)
    out = _copy(graph)
    for i, node in enumerate(out.nodes):
        if node.name not in names:
            continue
        w2 = weight_matrix(out, node)
        if w2 is None or w2.shape[1] < block[1]:
            continue
        kind = "conv" if node.op == "Conv" else "gemm"
        limit = MAX_DENSITY[kind][block] if max_density is None else float(max_density)
        if force or (density(w2, block) <= limit and sparse_bytes(w2, block) < 4 * w2.size):
            out.nodes[i] = _replace(out, node, w2, block, index_dtype)
    used = {i for n in out.nodes for i in n.inputs if i} | set(out.inputs) | set(out.outputs)
    out.tensors = {k: t for k, t in out.tensors.items() if t.data is None or k in used}
    return out


def block_sparsify(graph: Graph, sparsity, block=(1, 4), layers=None, *,
                   max_density: float | None = None, index_dtype=np.int32) -> Graph:
    """Prunes (block_prune) and encodes the layers where the sparse kernel pays (encode_sparse)."""
    pruned = block_prune(graph, sparsity, block, layers)
    return encode_sparse(pruned, block, layers, max_density, index_dtype)


def macs_removed(graph: Graph, node: Node) -> tuple[int, int]:
    """(dense MACs, MACs of its zero weights) of an eligible dense node."""
    w2 = weight_matrix(graph, node)
    per_row = int(np.prod(graph.tensors[node.outputs[0]].shape)) // w2.shape[0]
    return w2.size * per_row, int((w2 == 0).sum()) * per_row
