"""ONNX's node test cases through the real `.wasm`; docs/ops.md must match what runs."""
from pathlib import Path

import pytest

from sparsegate.testing.conformance import WASM_KNOWN_FAILURES, ops_markdown, run_all
from sparsegate.testing.onnx_cases import KNOWN_DIFFERENCES, iter_cases

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def results():
    return run_all(iter_cases())


def test_every_supported_case_passes_or_is_explained(results):
    assert sum(r.status == "pass" for r in results) >= 200
    unexplained = [f"{r.name}: {r.detail}" for r in results if r.status == "fail"
                   and r.name not in WASM_KNOWN_FAILURES and r.name not in KNOWN_DIFFERENCES]
    assert not unexplained, "\n".join(unexplained)


def test_core_ops_run_in_the_runtime(results):
    ran = {r.label for r in results if r.status == "pass"}
    for op in ["Conv", "Gemm", "MatMul", "Add", "Relu", "Clip", "Sigmoid", "MaxPool", "AveragePool",
               "GlobalAveragePool", "Concat", "Split", "Slice", "Reshape", "Flatten", "Transpose",
               "Squeeze", "Unsqueeze", "Pad", "Resize", "Softmax", "LeakyRelu", "PRelu",
               "HardSigmoid", "HardSwish", "Tanh", "Exp", "Log", "Sqrt", "Erf", "Gelu", "Pow",
               "ReduceMean", "ReduceSum", "ReduceMax", "LayerNormalization", "ConvTranspose"]:
        assert op in ran, f"no {op} case ran in the wasm runtime"


def test_docs_ops_md_is_current(results):
    committed = (ROOT / "docs" / "ops.md").read_text()
    assert committed == ops_markdown(results), "docs/ops.md is stale: run python scripts/gen_ops_doc.py"
