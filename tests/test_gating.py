"""Gated inference (docs/ir.md "Gated Conv and Gemm", docs/gating.md): the wasm runtime, the
numpy reference and Chromium compute the same outputs and make the same gate decisions; knob 0
is bit-identical to dense; the MAC counter reports what was skipped (incl. folding into the
next 1×1 conv); post-training calibration meets its budget."""
from __future__ import annotations

import numpy as np
import pytest

from browser_util import browser  # noqa: F401  (fixture)
from sparsegate.compression.runner import wasm_runner
from sparsegate.errors import SparsegateError
from sparsegate.format import model_bytes
from sparsegate.ir import Graph, Node, TensorInfo
from sparsegate.passes.gating import (add_gates, calibrate_gates, gateable_convs, gated_layers,
                                      skipped_fraction)
from sparsegate.reference import run_graph
from sparsegate.reference.nn import gate_knob
from sparsegate.runtime import Session

F32 = np.float32


def _conv(name, x, w, b, y, k, act="", group=1, stride=1):
    return Node("Conv", name, [x, w, b] if b else [x, w], [y],
                dict(strides=[stride, stride], pads=[k // 2] * 4, dilations=[1, 1], group=group,
                     activation=act, activation_params=[]))


def chain_graph(seed=0, n=2, act1="Relu"):
    """x → 3×3 conv (16) → 1×1 conv (12) → depthwise 3×3 (12), plus a 1×1 conv without bias on
    x: every conv path (im2col, pointwise, depthwise), and a 1×1 reading a gated conv."""
    rng = np.random.default_rng(seed)
    t = {"x": TensorInfo("x", (n, 8, 9, 11))}

    def const(name, shape):
        t[name] = TensorInfo(name, shape, data=rng.standard_normal(shape).astype(F32))

    const("w1", (16, 8, 3, 3)); const("b1", (16,))
    const("w2", (12, 16, 1, 1)); const("b2", (12,))
    const("w3", (12, 1, 3, 3)); const("b3", (12,))
    const("w4", (10, 8, 1, 1))
    for name, c in (("y1", 16), ("y2", 12), ("y3", 12), ("y4", 10)):
        t[name] = TensorInfo(name, (n, c, 9, 11))
    nodes = [_conv("c1", "x", "w1", "b1", "y1", 3, act1), _conv("c2", "y1", "w2", "b2", "y2", 1),
             _conv("c3", "y2", "w3", "b3", "y3", 3, group=12), _conv("c4", "x", "w4", "", "y4", 1)]
    return Graph(nodes, t, ["x"], ["y1", "y2", "y3", "y4"])


def kept_channels(y: np.ndarray) -> list[np.ndarray]:
    """Per sample, the channels that are not constant planes (what a gate computed)."""
    flat = y.reshape(y.shape[0], y.shape[1], -1)
    return [np.flatnonzero(np.ptp(s, axis=1) > 0) for s in flat]


def reference(graph, feeds, knob):
    record = []
    with gate_knob(knob, record):
        return run_graph(graph, feeds), record


GATES = {"c1": 0.5, "c2": 0.4, "c3": 0.3, "c4": 0.75}


@pytest.mark.parametrize("fill", ["expected", "bias", "zero"])
@pytest.mark.parametrize("knob", [0.0, 0.3, 0.5, 1.0])
def test_heuristic_gate_matches_reference(fill, knob):
    graph = add_gates(chain_graph(act1=""), GATES, fill=fill)
    x = np.random.default_rng(1).standard_normal((2, 8, 9, 11)).astype(F32)
    want, record = reference(graph, {"x": x}, knob)
    sess = Session(model_bytes(graph))
    sess.set_gate(knob)
    got = sess.run({"x": x})
    for name in graph.outputs:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-4, atol=1e-4, err_msg=name)
    # Same decisions: the runtime's computed channels are the reference's (c1, c2, c3, c4 order).
    ref_kept = {name: record[2 * i:2 * i + 2] for i, name in enumerate(["y1", "y2", "y3", "y4"])}
    for name in graph.outputs:
        if name == "y3" and fill == "zero":
            continue  # a depthwise conv of a zero plane is a constant plane: not detectable
        m = graph.tensors[name].shape[1]
        for n, (k_ref, k_got) in enumerate(zip(ref_kept[name], kept_channels(got[name]))):
            assert len(k_ref) == m - int(np.floor(F32(knob) * F32(gated_layers(graph)[
                {"y1": "c1", "y2": "c2", "y3": "c3", "y4": "c4"}[name]]) * F32(m)))
            np.testing.assert_array_equal(k_got, k_ref, err_msg=f"{name} sample {n}")


@pytest.mark.parametrize("knob", [0.5, 1.0])
def test_unread_constant_planes_are_folded_not_written(knob):
    """Internal gated outputs read only by folding convs (c1 → 1×1 c2 → depthwise c3; only y3
    and y4 are graph outputs): the runtime leaves their constant planes unwritten and its
    readers (c2's own gate included) use the plane values. Same outputs and decisions as the
    reference, which computes every plane."""
    g = chain_graph(act1="Relu")
    g = Graph(g.nodes, g.tensors, g.inputs, ["y3", "y4"])
    graph = add_gates(g, {"c1": 0.5, "c2": 0.4, "c4": 0.75})
    x = np.random.default_rng(7).standard_normal((2, 8, 9, 11)).astype(F32)
    want, record = reference(graph, {"x": x}, knob)
    sess = Session(model_bytes(graph))
    sess.set_gate(knob)
    got = sess.run({"x": x})
    for name in ("y3", "y4"):
        np.testing.assert_allclose(got[name], want[name], rtol=1e-4, atol=1e-4, err_msg=name)
    # c3 (not gated) is constant exactly where c2 skipped (interior of the plane).
    kept_c2 = record[2:4]
    for n in range(2):
        inner = got["y3"][n, :, 1:-1, 1:-1].reshape(12, -1)
        const = np.flatnonzero(np.ptp(inner, axis=1) == 0)
        assert set(const) == set(range(12)) - set(kept_c2[n].tolist())


def test_knob_zero_is_bit_identical_to_ungated():
    plain = chain_graph()
    x = np.random.default_rng(2).standard_normal((2, 8, 9, 11)).astype(F32)
    dense = Session(model_bytes(plain)).run({"x": x})
    sess = Session(model_bytes(add_gates(plain, GATES)))
    sess.set_gate(0)
    got = sess.run({"x": x})
    for name in plain.outputs:
        assert np.array_equal(got[name], dense[name]), name
    st = sess.stats()
    assert st["macs_executed"] == st["macs_dense"]


def test_macs_counter_counts_skipped_and_folded_channels():
    graph = add_gates(chain_graph(n=1), {"c1": 0.5}, fill="expected")
    sess = Session(model_bytes(graph))
    x = np.random.default_rng(3).standard_normal((1, 8, 9, 11)).astype(F32)
    sess.set_gate(1.0)
    sess.run({"x": x})
    layers = {l["name"]: l for l in sess.stats()["layers"]}
    c1, c2, c3 = layers["c1"], layers["c2"], layers["c3"]
    # c1 computes 8 of 16 channels plus its gate's mat-vecs (16·8 importance + 8·8 expected).
    assert c1["macs_executed"] == pytest.approx(c1["macs_dense"] / 2 + 16 * 8 + 8 * 8)
    # c2 (1×1) folds c1's 8 constant planes into its bias: 8 of 16 input channels remain.
    assert c2["macs_executed"] == pytest.approx(c2["macs_dense"] / 2 + 12 * 8)
    assert c3["macs_executed"] == c3["macs_dense"]
    st = sess.stats()
    assert st["macs_executed"] == pytest.approx(sum(l["macs_executed"] for l in st["layers"]))
    # The folded 1×1 still computes the same values as the reference.
    with gate_knob(1.0):
        want = run_graph(graph, {"x": x})
    np.testing.assert_allclose(sess.run({"x": x})["y2"], want["y2"], rtol=1e-4, atol=1e-4)


def test_learned_gate_built_by_hand():
    """FBS gate: s = relu(fc_w·GAP(x) + fc_b); top-k of s above the threshold, kept channels
    scaled by s, others 0 — in the reference and the runtime, at every knob."""
    plain = chain_graph(act1="Relu")
    rng = np.random.default_rng(4)
    learned = {"c1": (rng.standard_normal((16, 8)).astype(F32), rng.standard_normal(16).astype(F32)),
               "c2": (rng.standard_normal((12, 16)).astype(F32) * 0.1, np.full(12, 0.5, F32))}
    graph = add_gates(plain, {"c1": 0.5, "c2": 0.25}, kind="learned", learned=learned, threshold=0.2)
    node = next(n for n in graph.nodes if n.name == "c1")
    assert node.attrs["gate_kind"] == "learned" and node.attrs["gate_fill"] == "zero"
    x = rng.standard_normal((2, 8, 9, 11)).astype(F32)
    sess = Session(model_bytes(graph))
    for knob in (0.0, 0.5, 1.0):
        want, record = reference(graph, {"x": x}, knob)
        sess.set_gate(knob)
        got = sess.run({"x": x})
        for name in graph.outputs:
            np.testing.assert_allclose(got[name], want[name], rtol=1e-4, atol=1e-4, err_msg=name)
        for n in range(2):
            s = np.maximum(learned["c1"][0] @ x[n].mean(axis=(1, 2)) + learned["c1"][1], 0)
            kept = record[n]
            assert len(kept) <= 16 - int(np.floor(F32(knob) * F32(0.5) * 16))
            assert np.all(s[kept] > 0.2)
            skipped = np.setdiff1d(np.arange(16), kept)
            assert np.all(got["y1"][n, skipped] == 0)
            if len(skipped) and len(kept):
                assert s[kept].min() >= s[skipped][s[skipped] > 0.2].max(initial=-1)
    st = sess.stats()
    assert st["macs_executed"] < st["macs_dense"]


def test_gated_conv_refused_with_clear_messages():
    base = chain_graph()
    cases = [({"gate_kind": "magic"}, "gate_kind 'magic'"),
             ({"gate_sparsity": 1.5}, "gate_sparsity"),
             ({"gate_fill": "mean"}, "gate_fill 'mean'")]
    for change, match in cases:
        g = add_gates(base, {"c1": 0.5})
        next(n for n in g.nodes if n.name == "c1").attrs.update(change)
        with pytest.raises(SparsegateError, match=match):
            Session(model_bytes(g))
    g = add_gates(base, {"c1": 0.5})
    node = next(n for n in g.nodes if n.name == "c1")
    node.inputs[3] = "w2"  # wrong shape for gate_norms
    with pytest.raises(SparsegateError, match="c1.*w2"):
        Session(model_bytes(g))
    with pytest.raises(SparsegateError, match="learned gate"):
        add_gates(base, {"c1": 0.5}, kind="learned")


def test_gateable_layers_skip_first_and_depthwise():
    g = chain_graph()  # every conv's output is a graph output here
    assert gateable_convs(g, include_outputs=True) == ["c2", "c4"]
    assert gateable_convs(g, include_first=True, include_depthwise=True,
                          include_outputs=True) == ["c1", "c2", "c3", "c4"]
    assert gateable_convs(g, pointwise_only=True, include_outputs=True) == ["c2", "c4"]
    assert 0 < skipped_fraction(g, {"c2": 0.5}) < 0.5


def test_gateable_layers_skip_output_convs():
    """A conv whose output reaches a graph output through no other layer (Concat, Reshape,
    Split, Sigmoid; a conv too narrow to gate, like YOLOv8's DFL 16 → 1) holds the model's
    outputs (YOLOv8n's box and class logits): not gated by default."""
    g = chain_graph()
    t = dict(g.tensors)
    t["yc"] = TensorInfo("yc", (2, 22, 9, 11))
    t["shape"] = TensorInfo("shape", (3,), np.dtype("int64"), np.array([2, 22, 99]))
    t["yr"] = TensorInfo("yr", (2, 22, 99))
    t["ya"], t["yb"] = TensorInfo("ya", (2, 12, 99)), TensorInfo("yb", (2, 10, 99))
    t["out"] = TensorInfo("out", (2, 10, 99))
    # head: c3 (depthwise, reads c2) and c4 → Concat → Reshape → Split → Sigmoid(second part) → out
    head = [Node("Concat", "cat", ["y3", "y4"], ["yc"], dict(axis=1)),
            Node("Reshape", "rs", ["yc", "shape"], ["yr"], {}),
            Node("Split", "sp", ["yr"], ["ya", "yb"], dict(axis=1, split=[12, 10])),
            Node("Sigmoid", "sig", ["yb"], ["out"], {})]
    g = Graph(g.nodes + head, t, ["x"], ["out"])
    assert gateable_convs(g) == ["c2"]  # c4 feeds the output; c2 is read by the layer c3
    assert gateable_convs(g, include_outputs=True) == ["c2", "c4"]
    assert gateable_convs(g, include_depthwise=True) == ["c2"]  # c3 feeds the output too
    # A narrow conv (1 output channel) between c2 and an output does not shield c2.
    t["w5"] = TensorInfo("w5", (1, 12, 1, 1), data=np.ones((1, 12, 1, 1), F32))
    t["y5"] = TensorInfo("y5", (2, 1, 9, 11))
    g = Graph(g.nodes + [_conv("c5", "y2", "w5", "", "y5", 1)], t, ["x"], ["out", "y5"])
    assert gateable_convs(g) == []


def test_calibration_respects_budget_on_fashion_cnn_sample():
    """A small calibration (400 training images): the result meets the agreement budget on
    its calibration data and gates only gateable layers."""
    from sparsegate.compression.conversion import convert
    from sparsegate.zoo import fashion_mnist
    import pathlib
    import sparsegate.zoo as zoo_pkg
    graph = convert(pathlib.Path(zoo_pkg.__file__).parent / "fashion_cnn.onnx",
                    metadata={"inputs": [{"name": "input", "shape": [1, 1, 28, 28]}]})
    try:
        x, _ = fashion_mnist.load_inputs("train")
    except SparsegateError as e:
        pytest.skip(str(e))
    calib = x[:400]
    out = calibrate_gates(graph, calib, budget=0.02, levels=(0.1, 0.2, 0.3, 0.5), runner=wasm_runner)
    info = out.metadata["gating"]
    assert info["calib_loss"] <= 0.02
    assert set(gated_layers(out)) <= set(gateable_convs(graph))
    assert info["macs_skipped_estimate"] > 0


def test_calibration_drops_layers_that_cost_nothing_alone_but_fail_together():
    """Each layer alone costs 0; any two together lose every sample (a runner that says so).
    Lowering the cap cannot separate them; the calibration must still gate one layer."""
    from sparsegate.compression.conversion import convert
    import pathlib
    import sparsegate.zoo as zoo_pkg
    graph = convert(pathlib.Path(zoo_pkg.__file__).parent / "fashion_cnn.onnx",
                    metadata={"inputs": [{"name": "input", "shape": [1, 1, 28, 28]}]})
    calib = np.random.default_rng(0).standard_normal((4, 1, 28, 28)).astype(F32)

    def runner(g, feeds):
        outs = wasm_runner(graph, feeds)  # ungated outputs: every layer alone costs nothing
        if len(gated_layers(g)) >= 2:
            outs = [{k: -v for k, v in o.items()} for o in outs]  # a different top-1 everywhere
        return outs

    out = calibrate_gates(graph, calib, budget=0.1, levels=(0.25, 0.5), runner=runner)
    info = out.metadata["gating"]
    assert len(info["layers"]) == 1 and info["calib_loss"] == 0
    # the one kept is the one saving the most MACs at its level
    assert info["macs_skipped_estimate"] == max(skipped_fraction(graph, {n: 0.5}) for n in gateable_convs(graph))


@pytest.mark.slow
def test_fashion_cnn_calibrated_skips_10_percent_within_1_point():
    """docs/gating.md: post-training calibration on 1000 training images (spread-scaled
    importance, agreement budget 3%) skips ≥ 10% of MACs (the runtime's counter) with a test
    accuracy drop ≤ 1 point on the full 10k test set. Batches of 500 (decisions are per sample)."""
    import pathlib
    import sparsegate.zoo as zoo_pkg
    from sparsegate.compression.conversion import convert
    from sparsegate.zoo import fashion_mnist
    batch = 500
    graph = convert(pathlib.Path(zoo_pkg.__file__).parent / "fashion_cnn.onnx",
                    metadata={"inputs": [{"name": "input", "shape": [batch, 1, 28, 28]}]})
    try:
        xtr, _ = fashion_mnist.load_inputs("train")
        xte, yte = fashion_mnist.load_inputs("test")
    except SparsegateError as e:
        pytest.skip(str(e))
    xtr = np.asarray(xtr, F32).reshape(-1, 1, 28, 28)
    xte = np.asarray(xte, F32).reshape(-1, 1, 28, 28)
    calib = [{"input": xtr[i:i + batch]} for i in range(0, 1000, batch)]
    out = calibrate_gates(graph, calib, budget=0.03, scale_samples=500, runner=wasm_runner)
    accs, fracs = [], []
    for g in (graph, out):
        sess = Session(model_bytes(g))
        pred, frac = [], []
        for i in range(0, len(xte), batch):
            pred.append(np.argmax(sess.run(xte[i:i + batch])["logits"], axis=1))
            st = sess.stats()
            frac.append(st["macs_executed"] / st["macs_dense"])
        accs.append(float(np.mean(np.concatenate(pred) == yte)))
        fracs.append(float(np.mean(frac)))
    assert 1 - fracs[1] >= 0.10, (fracs, out.metadata["gating"])
    assert accs[0] - accs[1] <= 0.01, (accs, out.metadata["gating"])


@pytest.mark.browser
@pytest.mark.parametrize("which", ["chain", "fold"])
def test_gated_model_same_in_chromium(browser, which):  # noqa: F811
    """Heuristic gates on every conv path (chain), and zero / interior-constant planes folded
    through depthwise, MaxPool, padded 3×3 and 1×1 readers (fold)."""
    graph = add_gates(chain_graph(act1=""), GATES, fill="expected") if which == "chain" else fold_graph()
    shape = graph.tensors["x"].shape
    x = np.random.default_rng(5).standard_normal(shape).astype(F32)
    sgm = model_bytes(graph)
    for knob in (0.0, 0.5, 1.0):
        want, _ = reference(graph, {"x": x}, knob)
        browser.set_gate(sgm, knob)
        got = browser.run(sgm, {"x": x})
        py = Session(sgm)
        py.set_gate(knob)
        cp = py.run({"x": x})
        for name in graph.outputs:
            # fold's random, unnormalized weights give outputs in the thousands
            atol = 1e-4 * max(1.0, float(np.abs(want[name]).max()))
            np.testing.assert_allclose(got[name], want[name], rtol=1e-4, atol=atol, err_msg=name)
            # Same engine, same binary: Chromium and CPython agree exactly, decisions included.
            assert np.array_equal(got[name], cp[name]), name
            if which == "chain":  # (fold's outputs are read behind other layers)
                for a, b in zip(kept_channels(got[name]), kept_channels(want[name])):
                    np.testing.assert_array_equal(a, b)
        st = browser.stats(sgm)
        assert st["macsExecuted"] == pytest.approx(py.stats()["macs_executed"])
    browser.release(sgm)


def fold_graph(seed=5, n=2):
    """Learned gates whose zero planes travel: x → 1×1 expand e (learned, 24) → depthwise 3×3 d
    (pads 1) → 1×1 projection p; and e → MaxPool 2×2 → 3×3 conv k (pads 1) → 3×3 conv v
    (no pads) reading k's learned gate (nonzero constants are fine without pads). And a
    heuristic gate's nonzero constants: x → 1×1 h (expected fill) → depthwise 3×3 stride 2
    hd (pads 1: constant only inside a border ring) → 1×1 hp with ReLU (folds, fixes the ring)."""
    rng = np.random.default_rng(seed)
    t = {"x": TensorInfo("x", (n, 8, 10, 12))}

    def const(name, shape, scale=1.0):
        t[name] = TensorInfo(name, shape, data=(scale * rng.standard_normal(shape)).astype(F32))

    const("we", (24, 8, 1, 1)); const("be", (24,))
    const("wd", (24, 1, 3, 3)); const("bd", (24,))
    const("wp", (10, 24, 1, 1)); const("bp", (10,))
    const("wk", (16, 24, 3, 3)); const("bk", (16,))
    const("wv", (6, 16, 3, 3)); const("bv", (6,))
    const("wh", (16, 8, 1, 1)); const("bh", (16,))
    const("whd", (16, 1, 3, 3)); const("bhd", (16,))
    const("whp", (8, 16, 1, 1)); const("bhp", (8,))
    for name, shape in (("ye", (n, 24, 10, 12)), ("yd", (n, 24, 10, 12)), ("yp", (n, 10, 10, 12)),
                        ("ym", (n, 24, 5, 6)), ("yk", (n, 16, 5, 6)), ("yv", (n, 6, 3, 4)),
                        ("yh", (n, 16, 10, 12)), ("yhd", (n, 16, 5, 6)), ("yhp", (n, 8, 5, 6))):
        t[name] = TensorInfo(name, shape)
    nodes = [_conv("e", "x", "we", "be", "ye", 1, "Relu"), _conv("d", "ye", "wd", "bd", "yd", 3, "Relu", group=24),
             _conv("p", "yd", "wp", "bp", "yp", 1),
             Node("MaxPool", "m", ["ye"], ["ym"], dict(kernel_shape=[2, 2], strides=[2, 2], pads=[0] * 4,
                                                        dilations=[1, 1], ceil_mode=0)),
             _conv("k", "ym", "wk", "bk", "yk", 3, "Relu"),
             Node("Conv", "v", ["yk", "wv", "bv"], ["yv"], dict(strides=[1, 1], pads=[0] * 4, dilations=[1, 1],
                                                                group=1, activation="", activation_params=[])),
             _conv("h", "x", "wh", "bh", "yh", 1),  # no ReLU: its expected fills are not 0
             _conv("hd", "yh", "whd", "bhd", "yhd", 3, "Relu", group=16, stride=2),
             _conv("hp", "yhd", "whp", "bhp", "yhp", 1, "Relu")]
    g = Graph(nodes, t, ["x"], ["yp", "yv", "yhp"])
    learned = {"e": (rng.standard_normal((24, 8)).astype(F32), np.full(24, 1.0, F32)),
               "k": (rng.standard_normal((16, 24)).astype(F32) * 0.1, np.full(16, 0.5, F32))}
    g = add_gates(g, {"e": 0.5, "k": 0.5}, kind="learned", learned=learned)
    return add_gates(g, {"h": 0.5}, fill="expected")


@pytest.mark.parametrize("knob", [0.0, 0.5, 1.0])
def test_zero_planes_fold_through_depthwise_maxpool_and_3x3(knob):
    """A learned gate's zero planes are folded by every reader that can: the depthwise conv
    (its output there is the constant act(B), which the projection folds), the 3×3 conv behind
    the MaxPool (zero padding keeps a zero plane zero), the unpadded 3×3 conv reading the next
    gate, the 1×1 conv behind a padded depthwise conv of nonzero constants (border corrected).
    Same outputs as the reference; per layer the MACs `macs.executed_macs` predicts."""
    from sparsegate.macs import executed_macs
    graph = fold_graph()
    x = np.random.default_rng(6).standard_normal((2, 8, 10, 12)).astype(F32)
    want, record = reference(graph, {"x": x}, knob)
    sess = Session(model_bytes(graph))
    sess.set_gate(knob)
    got = sess.run({"x": x})
    for name in graph.outputs:  # random, unnormalized weights: outputs in the thousands
        atol = 1e-4 * max(1.0, float(np.abs(want[name]).max()))
        np.testing.assert_allclose(got[name], want[name], rtol=1e-4, atol=atol, err_msg=name)
    kept = {}
    for i, (name, m) in enumerate([("e", 24), ("k", 16), ("h", 16)]):  # the reference's order
        kept[name] = np.zeros((2, m), bool)
        for n in range(2):
            kept[name][n, record[2 * i + n]] = True
    layers = {l["name"]: l for l in sess.stats()["layers"]}
    # h's expected fills are not 0 (the exact values matter only where they are)
    predicted = executed_macs(graph, kept, fill={"h": np.ones((2, 16), F32)})
    for name, layer in layers.items():
        assert layer["macs_executed"] == pytest.approx(predicted[name].sum()), name
    if knob == 1.0:  # half of each gated layer's channels skipped: every reader does less
        for name in ("d", "p", "k", "v", "hd", "hp"):
            assert layers[name]["macs_executed"] < layers[name]["macs_dense"], name
