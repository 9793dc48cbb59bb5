"""sparsegate.nn and sparsegate.export: a user's torch model with DynamicSparseConv2d exports to
`.sgm`, and the torch model, the torch executor, the numpy reference and the wasm runtime give
the same outputs and keep the same channels."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import sparsegate as sg  # noqa: E402
from sparsegate.errors import SparsegateError  # noqa: E402
from sparsegate.format import model_bytes  # noqa: E402
from sparsegate.reference import run_graph  # noqa: E402
from sparsegate.reference.nn import gate_knob  # noqa: E402
from sparsegate.runtime import Session  # noqa: E402
from sparsegate.train.torch_exec import GraphModule  # noqa: E402


class Net(torch.nn.Module):
    def __init__(self, linear_gate=False):
        super().__init__()
        self.c1 = sg.nn.DynamicSparseConv2d(3, 16, 3, sparsity_ratio=0.4, padding=1, batch_norm=True,
                                            threshold=0.9)
        self.c2 = sg.nn.DynamicSparseConv2d(16, 32, 3, sparsity_ratio=0.5, stride=2, padding=1,
                                            activation="relu6")
        self.c3 = torch.nn.Conv2d(32, 24, 1)
        self.fc = (sg.nn.DynamicSparseLinear(24, 20, sparsity_ratio=0.25, activation="relu")
                   if linear_gate else torch.nn.Sequential(torch.nn.Linear(24, 20), torch.nn.ReLU()))
        self.out = torch.nn.Linear(20, 10)

    def forward(self, x):
        x = self.c3(self.c2(self.c1(x)))
        x = torch.nn.functional.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.out(self.fc(x))


def _net(seed=0, linear_gate=False):
    torch.manual_seed(seed)
    net = Net(linear_gate)
    with torch.no_grad():
        bn = net.c1.bn
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.uniform_(0.5, 1.5)
        for _, layer in sg.nn.dynamic_layers(net):  # trained-looking gates: input-dependent
            layer.gate.weight.normal_(0, 0.5)
            layer.gate.bias.normal_(0.8, 0.5)
    return net.eval()


def test_export_round_trip_same_outputs_and_kept_channels(tmp_path):
    net = _net()
    x = torch.randn(6, 3, 16, 16)
    graph = sg.export(net, x[:1], tmp_path / "net.sgm")
    gated = [n for n in graph.nodes if n.attrs.get("gate_kind")]
    assert [n.attrs["gate_kind"] for n in gated] == ["learned", "learned"]
    assert gated[0].attrs["gate_threshold"] == pytest.approx(0.9)
    sess = Session(str(tmp_path / "net.sgm"))
    executor = GraphModule(graph).eval()
    with torch.no_grad():
        want_all = net(x).numpy()
        kept_torch = [layer.last_gate[1].numpy().astype(bool) for _, layer in sg.nn.dynamic_layers(net)]
        got_exec = executor(x).numpy()
    np.testing.assert_allclose(got_exec, want_all, rtol=1e-4, atol=1e-5)
    skipped_any = False
    for i in range(len(x)):
        xi = x[i:i + 1].numpy()
        record = []
        with gate_knob(1.0, record):
            ref = run_graph(graph, {"input": xi})
        want = want_all[i:i + 1]
        np.testing.assert_allclose(list(ref.values())[0], want, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(list(sess.run({"input": xi}).values())[0], want, rtol=1e-4, atol=1e-5)
        for layer_kept, rec in zip(kept_torch, record):
            assert list(np.flatnonzero(layer_kept[i])) == list(rec)
        # budget: c1 keeps at most 16 − 6, c2 at most 32 − 16; the threshold skips more
        assert kept_torch[0][i].sum() <= 10 and kept_torch[1][i].sum() <= 16
        skipped_any |= kept_torch[0][i].sum() < 10
        stats = sess.stats()
        assert stats["macs_executed"] < stats["macs_dense"]
    assert skipped_any  # the threshold made some inputs cheaper than the cap


def test_dynamic_linear_runs_everywhere():
    """DynamicSparseLinear → gated Gemm: same outputs and kept columns in torch, the torch
    executor, the numpy reference and the wasm runtime; the runtime's MAC count is
    `macs.executed_macs`'s."""
    from sparsegate.macs import executed_macs
    net = _net(1, linear_gate=True)
    x = torch.randn(4, 3, 16, 16)
    graph = sg.export(net, x[:1])
    gemm = [n for n in graph.nodes if n.op == "Gemm" and n.attrs.get("gate_kind")]
    assert len(gemm) == 1 and gemm[0].attrs["activation"] == "Relu"
    executor = GraphModule(graph).eval()
    with torch.no_grad():
        want = net(x).numpy()
        np.testing.assert_allclose(executor(x).numpy(), want, rtol=1e-4, atol=1e-5)
        assert torch.equal(executor.last_gates[gemm[0].name][1], net.fc.last_gate[1])
    kept = {name: mask.numpy().astype(bool) for name, (_, mask) in executor.last_gates.items()}
    sess = sg.Session(model_bytes(graph))
    for i in range(len(x)):
        xi = x[i:i + 1].numpy()
        record = []
        with gate_knob(1.0, record):
            ref = list(run_graph(graph, {"input": xi}).values())[0]
        np.testing.assert_allclose(ref, want[i:i + 1], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(list(sess.run({"input": xi}).values())[0], want[i:i + 1], rtol=1e-4, atol=1e-5)
        assert list(record[-1]) == list(np.flatnonzero(kept[gemm[0].name][i]))
        assert kept[gemm[0].name][i].sum() <= 20 - 5  # the budget: floor(0.25·20) skipped
        layers = {l["name"]: l["macs_executed"] for l in sess.stats()["layers"]}
        predicted = executed_macs(graph, {k: v[i:i + 1] for k, v in kept.items()})
        for name, macs in layers.items():
            assert macs == pytest.approx(float(predicted[name][0])), name


def test_gates_train_and_penalty_lowers_gate_values():
    torch.manual_seed(0)
    layer = sg.nn.DynamicSparseConv2d(4, 8, 3, sparsity_ratio=0.25, padding=1)
    opt = torch.optim.Adam(layer.parameters(), lr=0.05)
    x = torch.randn(16, 4, 8, 8)
    before = None
    for _ in range(30):
        y = layer(x)
        loss = 10 * sg.nn.gate_penalty(layer)
        before = before if before is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert layer.last_gate[1].sum(1).max() <= 6  # the budget: 8 − floor(0.25·8)
    assert loss.item() < 0.5 * before
    assert layer.gate.weight.grad is not None


def test_masked_adam_keeps_pruned_weights_zero():
    torch.manual_seed(0)
    lin = torch.nn.Linear(8, 4)
    with torch.no_grad():
        lin.weight[:, ::2] = 0
    opt = sg.nn.MaskedAdam(lin.parameters(), masks=sg.nn.masks_from_zeros([lin.weight]), lr=0.1)
    for _ in range(5):
        loss = lin(torch.randn(16, 8)).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert torch.all(lin.weight[:, ::2] == 0)
    assert torch.all(lin.weight[:, 1::2] != 0)


def test_export_refuses_an_activation_it_cannot_fuse():
    class Odd(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.c = sg.nn.DynamicSparseConv2d(3, 8, 3, activation="relu")
            self.c.act = torch.nn.Softplus()  # not the declared activation: the gate would lie

        def forward(self, x):
            return self.c(x)

    with pytest.raises(SparsegateError):
        sg.export(Odd().eval(), torch.zeros(1, 3, 8, 8))


def test_bad_arguments():
    with pytest.raises(ValueError):
        sg.nn.DynamicSparseConv2d(3, 8, 3, sparsity_ratio=1.0)
    with pytest.raises(ValueError):
        sg.nn.DynamicSparseConv2d(3, 8, 3, activation="gelu")
