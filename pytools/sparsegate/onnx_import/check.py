"""The ONNX rules a graph must keep before anything is folded or converted: every tensor is
defined once (graph input, initializer or one node's output) and defined before it is read.

Nodes out of order are sorted (onnxruntime accepts them too); everything else that breaks
these rules — a cycle, a tensor nobody defines, a tensor defined twice — is a malformed
model, reported with every name at fault in one ModelFormatError."""
from __future__ import annotations

import heapq
from collections import Counter

import onnx

from ..errors import ModelFormatError


def _twice(names) -> list[str]:
    return [n for n, k in Counter(names).items() if k > 1]


def _subgraph_reads(node: onnx.NodeProto) -> set[str]:
    """Names the node's subgraphs (If, Loop, Scan bodies) read; some come from outside."""
    reads = set()
    for a in node.attribute:
        for g in ([a.g] if a.HasField("g") else []) + list(a.graphs):
            for inner in g.node:
                reads.update(i for i in inner.input if i)
                reads |= _subgraph_reads(inner)
    return reads


def _definitions(graph: onnx.GraphProto, problems: list[str]) -> dict[str, int]:
    """tensor -> index of the node producing it (-1: a graph input or initializer)."""
    inputs = [vi.name for vi in graph.input]
    inits = [t.name for t in graph.initializer]
    problems += [f"graph input '{n}' is listed twice" for n in _twice(inputs)]
    problems += [f"initializer '{n}' is defined twice" for n in _twice(inits)]
    defined = {n: -1 for n in inputs + inits}
    for k, node in enumerate(graph.node):
        for out in node.output:
            if not out:
                continue
            if out in defined:
                first = defined[out]
                was = (f"node '{graph.node[first].name}'" if first >= 0 else
                       "an initializer" if out in inits else "a graph input")
                problems.append(f"tensor '{out}' is produced by node '{node.name}' ({node.op_type}) "
                                f"but already by {was}")
                continue
            defined[out] = k
    return defined


def _sorted(graph: onnx.GraphProto, defined: dict[str, int], problems: list[str]) -> list[int]:
    """Node indices in an order where producers come first, keeping the file's order where it
    already is one (so a valid model converts exactly as before)."""
    waits: list[set[int]] = []
    for node in graph.node:
        reads = {i for i in node.input if i} | _subgraph_reads(node)
        waits.append({defined[i] for i in reads if defined.get(i, -1) >= 0})
    readers: dict[int, list[int]] = {}
    for k, deps in enumerate(waits):
        for d in deps:
            readers.setdefault(d, []).append(k)
    ready = [k for k, deps in enumerate(waits) if not deps]
    heapq.heapify(ready)
    order = []
    while ready:
        k = heapq.heappop(ready)
        order.append(k)
        for r in readers.get(k, []):
            waits[r].discard(k)
            if not waits[r]:
                heapq.heappush(ready, r)
    if len(order) < len(graph.node):
        stuck = sorted(set(range(len(graph.node))) - set(order))
        names = ", ".join(f"'{graph.node[k].name}'" for k in stuck[:8])
        problems.append(f"nodes {names}{' …' if len(stuck) > 8 else ''} form a cycle or depend "
                        f"on one (each waits for another's output)")
    return order


def check_graph(graph: onnx.GraphProto, source: str) -> None:
    """Sorts `graph.node` topologically in place, or raises ModelFormatError listing every
    undefined, twice-defined or cyclic tensor."""
    problems: list[str] = []
    defined = _definitions(graph, problems)
    for node in graph.node:
        for i in node.input:
            if i and i not in defined:
                problems.append(f"node '{node.name}' ({node.op_type}) reads '{i}', which is no "
                                f"graph input, initializer or node output")
    for vi in graph.output:
        if not vi.name:
            problems.append("a graph output has no name")
        elif vi.name not in defined:
            problems.append(f"graph output '{vi.name}' is no graph input, initializer or "
                            f"node output")
    order = _sorted(graph, defined, problems)
    if problems:
        raise ModelFormatError(f"{source}: not a valid ONNX graph: {len(problems)} problem(s)\n  "
                               + "\n  ".join(problems))
    if order != list(range(len(graph.node))):
        nodes = [graph.node[k] for k in order]
        kept = [onnx.NodeProto() for _ in nodes]
        for new, old in zip(kept, nodes):
            new.CopyFrom(old)
        del graph.node[:]
        graph.node.extend(kept)
