"""The op lists agree: the runtime's registry (`SG_OPS` in wasm/src/ops/registry.h) is the one
list; every op in it has a numpy reference, a torch twin for training, a row in the IR docs,
at least one row in the op table of test_ops.py, and MACs counted the same in `macs.py` as in
the runtime's `stats()` on every row of that table."""
import re
from pathlib import Path

import pytest

import test_ops
from sparsegate.format import model_bytes
from sparsegate.macs import node_macs
from sparsegate.reference import OPS as REFERENCE_OPS
from sparsegate.runtime import Session

ROOT = Path(__file__).resolve().parents[1]


def runtime_ops() -> list[str]:
    text = (ROOT / "wasm/src/ops/registry.h").read_text()
    body = text[text.index("#define SG_OPS(X)"):]
    # X(Name, <optional-input mask>): the name is all this list needs.
    return re.findall(r"X\((\w+),", body.split("\n\n")[0])


def test_registry_parses():
    ops = runtime_ops()
    assert len(ops) == len(set(ops)) and {"Conv", "Gemm", "SparseGemm"} <= set(ops)


def test_every_runtime_op_has_a_reference_and_nothing_else_does():
    assert sorted(REFERENCE_OPS) == sorted(runtime_ops())


def test_every_runtime_op_has_a_torch_twin():
    """Training runs the IR in torch (train/torch_exec.py): every op, so any model converts to a
    trainable module (the compressed ops too: QAT and fine-tuning start from them)."""
    from sparsegate.train.torch_exec import OPS as TORCH_OPS
    assert sorted(TORCH_OPS) == sorted(runtime_ops())


def test_every_runtime_op_is_documented():
    table = [line for line in (ROOT / "docs/ir.md").read_text().splitlines() if line.startswith("| `")]
    documented = {op for line in table for op in re.findall(r"`(\w+)`", line.split("|")[1])}
    assert set(runtime_ops()) <= documented, sorted(set(runtime_ops()) - documented)


def test_every_runtime_op_has_a_row_in_the_op_table():
    assert set(runtime_ops()) <= {c.op for c in test_ops.CASES}


@pytest.mark.parametrize("c", test_ops.CASES, ids=[test_ops.case_id(c) for c in test_ops.CASES])
def test_macs_agree_with_the_runtime(c):
    graph, feeds = test_ops.build(c)
    with Session(model_bytes(graph)) as sess:
        sess.run(feeds)
        layers = sess.stats()["layers"]
    assert [l["macs_dense"] for l in layers] == [node_macs(graph, n) for n in graph.nodes], c.op
