"""The committed learned-gate models, each with its record (command, seed 0, per-layer
kept-channel frequencies): the Fashion CNN (tests/fixtures/fashion_gated.sgm, made by
`python scripts/train_gates_fashion.py --sgm ...`) and the MobileNet-style net
(fashion_mobilenet_gated.sgm, `python scripts/train_mobilenet_fashion.py --stage gated
--epochs 10 --sparsity 0.35`): the wasm runtime skips what the record says on every input and
keeps the recorded accuracy; the torch executor and the numpy reference make the same gate
decisions."""
from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

import sparsegate
from sparsegate.format import read_model
from sparsegate.reference import run_graph
from sparsegate.reference.nn import gate_knob

FIXTURES = pathlib.Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def fashion_test():
    from sparsegate.zoo import fashion_mnist
    try:
        return fashion_mnist.load_inputs("test")
    except sparsegate.SparsegateError:
        pytest.skip("dataset-fashion-mnist is not installed")


@pytest.mark.parametrize("name", ["fashion_gated", "fashion_mobilenet_gated"])
def test_gated_fixture_in_the_runtime(fashion_test, name):
    record = json.loads((FIXTURES / f"{name}.json").read_text())
    x, y = fashion_test
    sess = sparsegate.Session(str(FIXTURES / f"{name}.sgm"))
    n, hits, skipped = 500, 0, []
    for i in range(n):
        hits += int(np.argmax(sess.run({"input": x[i:i + 1]})["logits"])) == int(y[i])
        st = sess.stats()
        skipped.append(1 - st["macs_executed"] / st["macs_dense"])
    assert min(skipped) >= (0.5 if name == "fashion_gated" else 0.3)
    assert abs(np.mean(skipped) - record["skipped_mean"]) < 0.01
    # the record's accuracy is on all 10,000 images; 500 of them agree within sampling noise
    assert hits / n >= record["accuracy"] - 0.04
    sess.set_gate(0.0)  # dense with the gates' scaling: far fewer MACs skipped
    sess.run({"input": x[:1]})
    assert sess.stats()["macs_executed"] > 0.95 * sess.stats()["macs_dense"]


@pytest.mark.parametrize("name", ["fashion_gated", "fashion_mobilenet_gated"])
def test_gated_fixture_same_decisions_in_torch_and_reference(fashion_test, name):
    torch = pytest.importorskip("torch")
    from sparsegate.train.torch_exec import GraphModule
    path = FIXTURES / f"{name}.sgm"
    graph = read_model(path.read_bytes(), str(path))
    x, _ = fashion_test
    module = GraphModule(graph).eval()
    with torch.no_grad():
        want = module(torch.from_numpy(x[:8])).numpy()
    sess = sparsegate.Session(str(path))
    for i in range(8):
        record = []
        with gate_knob(1.0, record):
            ref = run_graph(graph, {"input": x[i:i + 1]})["logits"]
        kept = [np.flatnonzero(m[i].numpy()) for _, m in module.last_gates.values()]
        assert [list(r) for r in record] == [list(k) for k in kept]
        np.testing.assert_allclose(ref, want[i:i + 1], rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(sess.run({"input": x[i:i + 1]})["logits"], want[i:i + 1], rtol=1e-4, atol=1e-4)
