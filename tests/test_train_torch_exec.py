"""The torch executor of the IR (sparsegate.train.torch_exec) is the numpy reference's twin:
same outputs on the zoo models, any batch size, and an exact graph → torch → graph round trip."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import sparsegate  # noqa: E402
from sparsegate import zoo  # noqa: E402
from sparsegate.reference import run_graph  # noqa: E402
from sparsegate.reference.nn import gate_knob  # noqa: E402
from sparsegate.train.torch_exec import OPS as TORCH_OPS  # noqa: E402
from sparsegate.train.torch_exec import GraphModule  # noqa: E402


def _graph(name):
    return sparsegate.convert(zoo.fetch(name), metadata=zoo.info(name))


def _check_model(name, batch=1):
    torch.set_num_threads(2)
    g = _graph(name)
    shape = list(g.tensors[g.inputs[0]].shape)
    x = np.random.default_rng(0).standard_normal([batch] + shape[1:]).astype(np.float32)
    module = GraphModule(g).eval()
    with torch.no_grad():
        got = module.run({g.inputs[0]: torch.from_numpy(x)})
    for i in range(batch):
        want = run_graph(g, {g.inputs[0]: x[i:i + 1]})
        for out in g.outputs:
            a, b = got[out][i:i + 1].numpy(), want[out]
            assert a.shape == b.shape, out
            assert np.abs(a - b).max() <= 1e-4 * np.abs(b).max(), (name, out)
    back = module.to_graph()
    assert [n.op for n in back.nodes] == [n.op for n in g.nodes]
    assert [n.attrs for n in back.nodes] == [n.attrs for n in g.nodes]
    for tname, info in g.tensors.items():
        other = back.tensors[tname]
        assert other.shape == info.shape
        if info.data is not None:
            assert other.data.dtype == info.data.dtype and np.array_equal(other.data, info.data), tname


def test_every_reference_op_has_a_torch_twin():
    assert set(TORCH_OPS) >= set(sparsegate.reference.OPS)


def test_fashion_cnn_matches_reference_batched_and_round_trips():
    _check_model("fashion_cnn", batch=3)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mobilenetv2", "yolov8n", "blazeface"])
def test_zoo_model_matches_reference_and_round_trips(name):
    _check_model(name, batch=2 if name == "blazeface" else 1)


def test_weights_are_parameters_and_training_changes_only_them():
    g = _graph("fashion_cnn")
    module = GraphModule(g)
    names = {n for n, _ in module.named_graph_parameters()}
    assert names == {i for n in g.nodes if n.op in ("Conv", "Gemm") for i in n.inputs[1:] if i}
    x = torch.randn(4, 1, 28, 28)
    loss = module(x).square().mean()
    loss.backward()
    assert all(p.grad is not None for p in module.parameters())
    with torch.no_grad():
        for p in module.parameters():
            p -= 0.01 * p.grad
    back = module.to_graph()
    with torch.no_grad():
        want = module(x[:1]).numpy()
    got = run_graph(back, {"input": x[:1].numpy()})["logits"]
    assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max()
    assert not np.array_equal(back.tensors[g.nodes[0].inputs[1]].data, g.tensors[g.nodes[0].inputs[1]].data)


def test_learned_gate_matches_reference_and_knob():
    """A learned gate added in torch runs in the numpy reference with the same kept channels."""
    g = _graph("fashion_cnn")
    module = GraphModule(g)
    rng = np.random.default_rng(1)
    for node in [n for n in g.nodes if n.op == "Conv"][1:]:
        m, c = g.tensors[node.inputs[1]].shape[:2]
        module.add_learned_gate(node.name, 0.5, threshold=0.3,
                                init_w=rng.normal(0, 1, (m, c)).astype(np.float32),
                                init_b=rng.normal(0.5, 0.5, m).astype(np.float32))
    back = module.to_graph()
    x = rng.standard_normal((4, 1, 28, 28)).astype(np.float32)
    for knob in (1.0, 0.5, 0.0):
        module.gate = knob
        with torch.no_grad():
            got = module(torch.from_numpy(x)).numpy()
        kept_torch = [[np.flatnonzero(mask[i].numpy()) for _, mask in module.last_gates.values()]
                      for i in range(len(x))]
        for i in range(len(x)):
            record = []
            with gate_knob(knob, record):
                want = run_graph(back, {"input": x[i:i + 1]})["logits"]
            assert np.abs(got[i:i + 1] - want).max() <= 1e-4 * np.abs(want).max()
            assert [list(r) for r in record] == [list(k) for k in kept_torch[i]]
            if knob == 1.0:
                assert all(len(k) <= m // 2 for k, m in zip(kept_torch[i], (32, 64)))
