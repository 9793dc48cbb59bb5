"""Structured channel pruning: tied channels, valid shrunk graphs (numpy reference = wasm),
and compensation of removed channels measured on real Fashion-MNIST accuracy."""
from dataclasses import replace

import numpy as np
import pytest

import sparsegate as sg
from sparsegate.compression.runner import run_outputs
from sparsegate import zoo
from sparsegate.errors import SparsegateError
from sparsegate.format.writer import model_bytes
from sparsegate.macs import graph_macs
from sparsegate.passes import pruning, pruning_budget
from sparsegate.reference import run_graph


@pytest.fixture(scope="module")
def fashion():
    return sg.convert(zoo.fetch("fashion_cnn"), metadata=zoo.info("fashion_cnn"))


@pytest.fixture(scope="module")
def fashion_data():
    from sparsegate.zoo import fashion_mnist
    x, _ = fashion_mnist.load_inputs("train")
    xt, yt = fashion_mnist.load_inputs("test")
    return x[:64], xt[:1000], yt[:1000]


def _same_in_wasm(graph, seed=0):
    """The pruned graph runs in the wasm runtime with the numpy reference's results."""
    name = graph.inputs[0]
    x = np.random.default_rng(seed).standard_normal(graph.tensors[name].shape).astype(np.float32)
    ref = run_graph(graph, {name: x})
    with sg.Session(model_bytes(graph)) as sess:
        out = sess.run({name: x})
    for k, v in ref.items():
        np.testing.assert_allclose(out[k], v, rtol=1e-3, atol=1e-3 * max(1.0, float(np.abs(v).max())))


def test_fashion_groups_and_shapes(fashion):
    groups = pruning.channel_groups(fashion)
    assert [g.size for g in groups] == [16, 32, 64]
    assert all(len(g.channels) == g.size for g in groups)  # nothing tied to an output
    small = pruning.prune(fashion, 0.25)
    convs = [n for n in small.nodes if n.op == "Conv"]
    assert [small.tensors[c.outputs[0]].shape[1] for c in convs] == [12, 24, 48]
    gemm = next(n for n in small.nodes if n.op == "Gemm")
    assert small.tensors[gemm.inputs[1]].shape == (10, 48 * 7 * 7)  # Flatten columns sliced
    assert graph_macs(small) < 0.6 * graph_macs(fashion)
    assert fashion.tensors[convs[0].outputs[0]].shape[1] == 16  # the input graph is untouched
    _same_in_wasm(small)


def test_plan_checks(fashion):
    with pytest.raises(SparsegateError, match="unknown channel groups"):
        pruning.prune(fashion, {"nope": 0.5})
    with pytest.raises(SparsegateError, match=r"\[0, 1\)"):
        pruning.prune(fashion, 1.0)
    one = pruning.prune(fashion, {"/0/Conv": 0.99})  # every tensor keeps at least one channel
    conv = next(n for n in one.nodes if n.op == "Conv")
    assert one.tensors[conv.outputs[0]].shape[1] == 1
    _same_in_wasm(one)


def test_mean_folding_is_exact_for_a_constant_channel(fashion):
    """A channel whose output is constant (zero filter → relu(bias)) removed with mean folding
    leaves the logits unchanged, through Flatten into the Gemm's bias."""
    g = pruning.shrink(fashion, {})  # a copy (constants shared: replace them, never edit)
    conv = [n for n in g.nodes if n.op == "Conv"][2]
    w = g.tensors[conv.inputs[1]].data.copy()
    b = g.tensors[conv.inputs[2]].data.copy()
    w[5] = 0
    b[5] = 0.7
    g.tensors[conv.inputs[1]] = replace(g.tensors[conv.inputs[1]], data=w)
    g.tensors[conv.inputs[2]] = replace(g.tensors[conv.inputs[2]], data=b)
    x = np.random.default_rng(1).standard_normal((1, 1, 28, 28)).astype(np.float32)
    stats = pruning.channel_stats(g, [{"input": x}])
    flat = next(n for n in g.nodes if n.op == "Gemm").inputs[0]
    assert np.all(stats.stds[flat][5 * 49:6 * 49] == 0)
    removed = pruning.tied(g, conv.outputs[0], [5])
    assert set(removed) == {conv.outputs[0], flat}
    np.testing.assert_array_equal(removed[flat], np.arange(5 * 49, 6 * 49))
    small = pruning.shrink(g, removed, stats.without_covs())
    np.testing.assert_allclose(run_graph(small, {"input": x})["logits"], run_graph(g, {"input": x})["logits"],
                               rtol=1e-4, atol=1e-4)
    unfolded = pruning.shrink(g, removed)
    assert np.abs(run_graph(unfolded, {"input": x})["logits"] - run_graph(g, {"input": x})["logits"]).max() > 1e-2


def test_compensation_measurably_helps(fashion, fashion_data):
    """Real accuracy on 1,000 test images after pruning 20% of every group: no compensation <
    bias folding (means) <= linear estimate from the kept channels."""
    calib, xt, yt = fashion_data
    stats = pruning.channel_stats(fashion, [{"input": calib[i:i + 1]} for i in range(len(calib))])
    groups = pruning.channel_groups(fashion, stats.stds)
    acc = lambda g: float((run_outputs(g, xt).argmax(1) == yt).mean())  # noqa: E731
    base = acc(fashion)
    none = acc(pruning.prune(fashion, 0.2, None, groups))
    mean = acc(pruning.prune(fashion, 0.2, stats.without_covs(), groups))
    linear = acc(pruning.prune(fashion, 0.2, stats, groups))
    assert base > 0.9
    assert mean > none + 0.02, (none, mean)
    assert linear >= mean - 0.005, (mean, linear)


def test_budget_mode_stays_within_budget(fashion, fashion_data):
    calib, xt, yt = fashion_data
    stats = pruning.channel_stats(fashion, [{"input": calib[i:i + 1]} for i in range(32)])
    groups = pruning.channel_groups(fashion, stats.stds)
    acc = lambda g: float((run_outputs(g, xt[:300]).argmax(1) == yt[:300]).mean())  # noqa: E731
    base = acc(fashion)
    rows = pruning_budget.sensitivity(fashion, acc, stats, groups, ratios=(0.1, 0.3))
    assert {r["group"] for r in rows} == {g.name for g in groups} and len(rows) == 6
    assert all(r["macs_removed"] > 0 for r in rows)
    plan, metric = pruning_budget.budget_plan(fashion, acc, rows, base, 0.02, stats, groups)
    assert base - metric <= 0.02
    assert metric == acc(pruning.prune(fashion, plan, stats, groups))


@pytest.mark.slow
def test_mobilenetv2_residual_stages_are_tied():
    g = sg.convert(zoo.fetch("mobilenetv2"), metadata=zoo.info("mobilenetv2"))
    groups = {gr.name: gr for gr in pruning.channel_groups(g)}
    adds = [n for n in g.nodes if n.op == "Add"]
    for add in adds:  # both operands and the sum of every residual Add are in one group
        owners = [name for name, gr in groups.items() if set(add.inputs + add.outputs) <= set(gr.tensors)]
        assert len(owners) == 1, add.name
    stage = groups["/features/features.4/conv/conv.2/Conv"]  # 32 channels, blocks 4-6
    assert stage.size == 32 and len(stage.layers) == 3
    small = pruning.prune(g, 0.25)
    for add in [n for n in small.nodes if n.op == "Add"]:
        shapes = {small.tensors[t].shape for t in add.inputs + add.outputs}
        assert len(shapes) == 1, (add.name, shapes)
    dw = [n for n in small.nodes if n.op == "Conv" and n.attrs["group"] > 1]
    assert all(n.attrs["group"] == small.tensors[n.outputs[0]].shape[1] < g.tensors[n.outputs[0]].shape[1]
               for n in dw)
    assert graph_macs(small) < 0.7 * graph_macs(g)
    _same_in_wasm(small)


@pytest.mark.slow
def test_yolov8n_split_and_concat_are_tied():
    g = sg.convert(zoo.fetch("yolov8n"), metadata=zoo.info("yolov8n"))
    groups = pruning.channel_groups(g)
    producer = g.producer()
    split_groups = [gr for gr in groups if any(producer[t].op == "Split" for t in gr.tensors if t in producer)]
    assert split_groups and all(any(producer[t].op == "Concat" for t in gr.tensors) for gr in split_groups)
    small = pruning.prune(g, 0.25)
    for node in small.nodes:
        if node.op == "Split" and node.attrs["axis"] == 1:
            assert sum(node.attrs["split"]) == small.tensors[node.inputs[0]].shape[1]
            assert node.attrs["split"] == [small.tensors[o].shape[1] for o in node.outputs]
        if node.op == "Concat" and node.attrs["axis"] == 1:
            assert sum(small.tensors[i].shape[1] for i in node.inputs) == small.tensors[node.outputs[0]].shape[1]
    assert small.tensors["output0"].shape == g.tensors["output0"].shape  # the head stays
    assert graph_macs(small) < 0.75 * graph_macs(g)
    _same_in_wasm(small)
