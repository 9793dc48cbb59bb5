"""Training-aware compression: the fine-tuning loop (resume after an interruption gives the same
model), learned gates (budgets, statistics), static pruning, input loading and `sparsegate train`."""
from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import sparsegate  # noqa: E402
from sparsegate import zoo  # noqa: E402
from sparsegate.tools.cli import main as cli_main  # noqa: E402
from sparsegate.format import model_bytes, read_model  # noqa: E402
from sparsegate.macs import graph_macs  # noqa: E402
from sparsegate.reference import run_graph  # noqa: E402
from sparsegate.reference.nn import gate_knob  # noqa: E402
from sparsegate.train import gates, recipes  # noqa: E402
from sparsegate.train.data import load_inputs  # noqa: E402
from sparsegate.train.loop import FitConfig, fit, shifted  # noqa: E402
from sparsegate.train.torch_exec import GraphModule  # noqa: E402


@pytest.fixture(scope="module")
def fashion():
    return sparsegate.convert(zoo.fetch("fashion_cnn"), metadata=zoo.info("fashion_cnn"))


def _inputs(n=96, seed=0):
    return torch.from_numpy(np.random.default_rng(seed).standard_normal((n, 1, 28, 28)).astype(np.float32))


def test_resume_after_interruption_gives_the_same_model(fashion, tmp_path):
    torch.set_num_threads(1)
    x = _inputs()
    cfg = FitConfig(epochs=2, batch=32, progress=False, checkpoint=str(tmp_path / "a.ckpt"),
                    checkpoint_every=2, flip=True, shift=2)  # augmentation repeats on resume
    whole = GraphModule(fashion)
    fit(whole, recipes.frozen(fashion), x, cfg=cfg)

    cfg_b = FitConfig(**{**cfg.__dict__, "checkpoint": str(tmp_path / "b.ckpt"), "resume": True})
    first = GraphModule(fashion)

    def interrupt(progress):
        if progress >= 0.5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit(first, recipes.frozen(fashion), x, cfg=cfg_b, on_step=interrupt)
    assert torch.load(tmp_path / "b.ckpt", weights_only=False)["step"] == 2
    resumed = GraphModule(fashion)
    fit(resumed, recipes.frozen(fashion), x, cfg=cfg_b)
    for (_, a), (_, b) in zip(whole.named_graph_parameters(), resumed.named_graph_parameters()):
        assert torch.allclose(a, b, atol=1e-6)
    assert not torch.equal(whole.named_graph_parameters()[0][1],
                           GraphModule(fashion).named_graph_parameters()[0][1])


def test_shifted_translates_each_image_by_its_own_offset():
    x = torch.zeros(64, 1, 9, 9)
    x[:, 0, 4, 4] = torch.arange(1, 65, dtype=torch.float32)  # one marked pixel per image
    out = shifted(x, 2, np.random.default_rng(0))
    moves = set()
    for i in range(64):
        (ys, xs) = torch.nonzero(out[i, 0] == i + 1, as_tuple=True)
        assert len(ys) == 1 and out[i].sum() == i + 1  # moved, not smeared or lost
        moves.add((int(ys[0]) - 4, int(xs[0]) - 4))
    assert moves <= {(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)} and len(moves) > 10
    ramp = torch.arange(1.0, 26.0).reshape(1, 1, 5, 5).repeat(8, 1, 1, 1)
    edge = shifted(ramp, 1, np.random.default_rng(3))
    assert not torch.equal(edge, ramp) and edge.min() >= 1  # gaps filled from the edge, not zeros


def test_learned_gates_meet_budget_and_export_to_reference(fashion):
    torch.set_num_threads(1)
    x = _inputs(64)
    cfg = FitConfig(epochs=1, batch=32, progress=False)
    student = recipes.learned_gates(fashion, x, None, cfg, sparsity=0.5, threshold=0.05, l1=0.1)
    assert [n.name for n in student.gated_nodes()] == gates.gateable(fashion)
    stats = gates.gate_statistics(student, x[:16])
    for name, layer in stats["layers"].items():
        assert layer["mean_kept"] <= layer["channels"] // 2
        assert layer["always_on"] + layer["always_off"] + layer["dynamic"] == layer["channels"]
    assert stats["skipped_min"] >= 0.45  # every run skips at least the budget's MACs
    graph = student.to_graph()
    with torch.no_grad():
        want = student(x[:2]).numpy()
    kept = [[np.flatnonzero(m[i].numpy()) for _, m in student.last_gates.values()] for i in range(2)]
    for i in range(2):
        record = []
        with gate_knob(1.0, record):
            got = run_graph(graph, {"input": x[i:i + 1].numpy()})["logits"]
        np.testing.assert_allclose(got, want[i:i + 1], rtol=1e-4, atol=1e-4)
        assert [list(r) for r in record] == [list(k) for k in kept[i]]


def test_adaptive_budgets_are_means_with_a_per_input_floor(fashion):
    torch.set_num_threads(1)
    x = _inputs(96)
    cfg = FitConfig(epochs=4, batch=16, progress=False)
    student = recipes.learned_gates(fashion, x, None, cfg, sparsity=0.5, adaptive=0.5)
    graph = student.to_graph()
    stats = gates.gate_statistics(student, x)
    assert stats["skipped_max"] > stats["skipped_min"] + 0.02  # inputs differ in what they skip
    student(x)
    for node in graph.nodes:
        if node.attrs.get("gate_kind"):
            m = graph.tensors[node.inputs[1]].shape[0]
            assert node.attrs["gate_threshold"] > 0 and int(node.attrs["gate_sparsity"] * m) == m // 4
            skipped = 1 - student.last_gates[node.name][1].float().mean(1)
            assert skipped.min() >= 0.25  # the floor
            assert 0.3 < float(skipped.mean()) < 0.7  # about the budget, on average
    record = []
    with gate_knob(1.0, record):
        run_graph(graph, {"input": x[:1].numpy()})
    assert [list(r) for r in record] == [list(np.flatnonzero(m[0].numpy())) for _, m in student.last_gates.values()]


def test_budget_for_macs(fashion):
    layers = gates.gateable(fashion)
    s = gates.budget_for_macs(fashion, layers, 0.5)
    dense, executed = recipes.pruned_macs(fashion, {n: 0 for n in layers})
    assert 0.5 < s < 0.55 and executed < dense


def test_static_pruning_holds_channels_at_zero(fashion):
    torch.set_num_threads(1)
    x = _inputs(64)
    keep = {"/4/Conv": 20, "/8/Conv": 40}
    student, pruner = recipes.static_pruning(fashion, x, None, FitConfig(epochs=1, batch=32, progress=False), keep)
    g = student.to_graph()
    for node in g.nodes:
        if node.name in keep:
            w = g.tensors[node.inputs[1]].data
            assert int((np.abs(w).reshape(len(w), -1).sum(1) > 0).sum()) == keep[node.name]
    dense, executed = recipes.pruned_macs(fashion, keep)
    assert executed < 0.7 * dense
    small, removed = recipes.remove_pruned(g, pruner.masks, x[:4].numpy())
    assert removed == 12 + 24 and graph_macs(small) <= executed  # the Gemm also loses 49 columns per channel
    sess = sparsegate.Session(model_bytes(small))
    sess.run({"input": x[:1].numpy()})
    assert sess.stats()["macs_executed"] == graph_macs(small)
    shapes = {n.name: small.tensors[n.inputs[1]].shape[0] for n in small.nodes if n.name in keep}
    assert shapes == keep
    for i in range(2):
        feeds = {"input": x[i:i + 1].numpy()}
        np.testing.assert_allclose(run_graph(small, feeds)["logits"], run_graph(g, feeds)["logits"],
                                   rtol=1e-5, atol=1e-5)


def test_remove_pruned_follows_residuals_and_folds_what_depthwise_convs_leave():
    """A residual channel goes only when both layers making it pruned it; a channel an expand
    conv pruned still carries the depthwise conv's bias, which is folded into the projection."""
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(0)
    shapes = {"wa": (8, 3, 1, 1), "wb": (8, 8, 1, 1), "we": (8, 8, 1, 1), "wd": (8, 1, 3, 3), "wf": (4, 8, 1, 1)}
    w = {k: rng.standard_normal(s).astype(np.float32) * 0.5 for k, s in shapes.items()}
    w.update({f"b{k[1]}": rng.standard_normal(s[0]).astype(np.float32) * 0.5 for k, s in shapes.items()})
    w["wa"][[2, 3]], w["ba"][[2, 3]] = 0, 0  # a prunes 2 and 3, b only 2: channel 3 of the sum stays
    w["wb"][2], w["bb"][2] = 0, 0
    w["we"][5], w["be"][5] = 0, 0            # the depthwise conv then outputs relu(bd[5]) there
    n = helper.make_node
    nodes = [n("Conv", ["x", "wa", "ba"], ["a"], name="a"), n("Relu", ["a"], ["ra"]),
             n("Conv", ["ra", "wb", "bb"], ["b"], name="b"), n("Add", ["b", "ra"], ["s"]),
             n("Conv", ["s", "we", "be"], ["e"], name="e"), n("Relu", ["e"], ["re"]),
             n("Conv", ["re", "wd", "bd"], ["d"], name="d", group=8, pads=[1, 1, 1, 1]), n("Relu", ["d"], ["rd"]),
             n("Conv", ["rd", "wf", "bf"], ["y"], name="f")]
    m = helper.make_model(helper.make_graph(
        nodes, "t", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 6, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 6, 6])],
        [numpy_helper.from_array(v, k) for k, v in w.items()]), opset_imports=[helper.make_opsetid("", 17)])
    g = sparsegate.convert(m)
    masks = {name: torch.ones(8) for name in ("a", "b", "e")}
    masks["a"][[2, 3]] = 0
    masks["b"][2] = 0
    masks["e"][5] = 0
    x = np.random.default_rng(1).standard_normal((4, 1, 3, 6, 6)).astype(np.float32)
    small, removed = recipes.remove_pruned(g, masks, x)
    convs = {nd.name: small.tensors[nd.inputs[1]].shape for nd in small.nodes if nd.op == "Conv"}
    assert removed == 3 and convs["a"][0] == convs["b"][0] == 7 and convs["e"][0] == 7
    assert convs["d"][0] == 7 and convs["f"][1] == 7
    for xi in x:
        np.testing.assert_allclose(run_graph(small, {"x": xi})["y"], run_graph(g, {"x": xi})["y"],
                                   rtol=1e-5, atol=1e-5)


def test_block_sparse_fine_tuning_keeps_blocks_at_zero_and_runs_sparse(fashion):
    """Gradual block sparsity: after fine-tuning each layer has exactly its fraction of zero
    4×1 blocks; encode_sparse stores them as SparseConv/SparseGemm, and the runtime computes
    what the torch executor does with fewer MACs."""
    from sparsegate.format import model_bytes
    from sparsegate.passes.block_sparsity import density, encode_sparse, weight_matrix
    torch.set_num_threads(1)
    x = _inputs(64)
    plan = {"/4/Conv": 0.5, "/8/Conv": 0.75, "/12/Gemm": 0.75}
    student = recipes.block_sparse(fashion, x, None, FitConfig(epochs=1, batch=32, progress=False), plan)
    g = student.to_graph()
    for node in g.nodes:
        if node.name in plan:
            kept = density(weight_matrix(g, node), (4, 1))
            assert kept == pytest.approx(1 - plan[node.name], abs=0.01), node.name
    sparse = encode_sparse(g, (4, 1), force=True)
    assert {n.op for n in sparse.nodes} >= {"SparseConv", "SparseGemm"}
    with torch.no_grad():
        want = student(x[:4]).numpy()
    sess = sparsegate.Session(model_bytes(sparse))
    for i in range(4):
        got = sess.run({"input": x[i:i + 1].numpy()})["logits"]
        np.testing.assert_allclose(got, want[i:i + 1], rtol=1e-4, atol=1e-4)
    st = sess.stats()
    assert st["macs_executed"] < 0.6 * st["macs_dense"]


def test_load_inputs_from_arrays_and_images(tmp_path, fashion):
    a = np.random.default_rng(0).standard_normal((5, 1, 28, 28)).astype(np.float32)
    np.save(tmp_path / "batch.npy", a)
    np.save(tmp_path / "one.npy", a[0])
    x = load_inputs(tmp_path, (1, 1, 28, 28))
    assert x.shape == (6, 1, 28, 28)
    from sparsegate.vision import images
    img_dir = tmp_path / "imgs"
    img_dir.mkdir()
    images.save_image(np.full((28, 28, 3), 200, np.uint8), img_dir / "a.png")
    x = load_inputs(img_dir, (1, 1, 28, 28), fashion.metadata["preprocess"])
    assert x.shape == (1, 1, 28, 28)
    with pytest.raises(sparsegate.InputError):
        load_inputs(img_dir, (1, 1, 28, 28))
    with pytest.raises(sparsegate.InputError):
        load_inputs(tmp_path / "batch.npy", (1, 3, 28, 28))


@pytest.mark.slow
@pytest.mark.parametrize("name, shape", [("mobilenetv2", (3, 224, 224)), ("yolov8n", (3, 320, 320))])
def test_pruned_real_models_lose_their_channels_not_their_outputs(name, shape):
    """Every group-1 conv pruned to 70%: channels made by several convs (MobileNetV2's residual
    streams, YOLOv8n's C2f Split + Add) are pruned in all of them at once, channels feeding the
    outputs not at all, so every pruned channel leaves the model; the outputs do not change."""
    torch.set_num_threads(2)
    g = sparsegate.convert(zoo.fetch(name), metadata=zoo.info(name))
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((4, *shape)).astype(np.float32))
    nodes = {n.name: n for n in g.nodes}
    keep = {n: round(g.tensors[nodes[n].inputs[1]].shape[0] * 0.7) for n in gates.gateable(g)}
    student, pruner = recipes.static_pruning(g, x, None, FitConfig(epochs=1, batch=2, progress=False), keep)
    zeros = student.to_graph()
    small, removed = recipes.remove_pruned(zeros, pruner.masks, x[:2].numpy())
    pruned = sum(int((m == 0).sum()) for m in pruner.masks.values())
    assert removed == pruned > 0.25 * sum(m.numel() for m in pruner.masks.values())
    assert graph_macs(small) < 0.6 * graph_macs(g)
    for i in range(2):
        feeds = {g.inputs[0]: x[i:i + 1].numpy()}
        want = run_graph(zeros, feeds)[g.outputs[0]]
        np.testing.assert_allclose(run_graph(small, feeds)[g.outputs[0]], want, rtol=1e-4,
                                   atol=1e-5 * float(np.abs(want).max()))


def test_cli_train_gated_writes_sgm_and_summary(tmp_path, capsys):
    from sparsegate.zoo import fashion_mnist
    try:
        x, y = fashion_mnist.load_inputs("test")
    except sparsegate.SparsegateError:
        pytest.skip("dataset-fashion-mnist is not installed")
    np.save(tmp_path / "x.npy", x[:200])
    np.save(tmp_path / "y.npy", y[:200])
    out = tmp_path / "g.sgm"
    rc = cli_main(["train", "fashion_cnn", "--data", str(tmp_path / "x.npy"), "--labels", str(tmp_path / "y.npy"),
                   "-o", str(out), "--epochs", "1", "--batch", "32", "--sparsity", "0.5", "--threads", "1",
                   "--report", str(tmp_path / "r.html")])
    assert rc == 0
    text = capsys.readouterr().out
    summary = json.loads(text[text.index("{"):text.index("report:")])
    assert summary["macs_skipped_min"] >= 0.45 and 0 <= summary["holdout_accuracy"] <= 1
    page = (tmp_path / "r.html").read_text()
    assert "always off" in page and "/8/Conv" in page and "data:image/png;base64" in page
    g = read_model(out.read_bytes(), str(out))
    assert sum(1 for n in g.nodes if n.attrs.get("gate_kind") == "learned") == 3
    assert not (tmp_path / "g.sgm.ckpt").exists()
    sess = sparsegate.Session(str(out))
    sess.run({"input": x[:1]})
    assert sess.stats()["macs_executed"] < 0.6 * sess.stats()["macs_dense"]


def _train_cli(tmp_path, out: str, *options: str) -> tuple[int, np.ndarray]:
    """`sparsegate train fashion_cnn` on 120 random inputs, 1 epoch, writing tmp_path/out."""
    x = _inputs(120).numpy()
    np.save(tmp_path / "x.npy", x)
    rc = cli_main(["train", "fashion_cnn", "--data", str(tmp_path / "x.npy"), "-o", str(tmp_path / out),
                   "--epochs", "1", "--batch", "32", "--threads", "1", *options])
    return rc, x


def test_cli_train_block_writes_sparse_layers(tmp_path, capsys):
    rc, x = _train_cli(tmp_path, "b.sgm", "--mode", "block", "--sparsity", "0.8", "--flip", "--shift", "2")
    assert rc == 0
    out = tmp_path / "b.sgm"
    g = read_model(out.read_bytes(), str(out))
    assert {n.op for n in g.nodes} >= {"SparseConv", "SparseGemm"}
    sess = sparsegate.Session(str(out))
    sess.run({"input": x[:1]})
    assert sess.stats()["macs_executed"] < 0.4 * sess.stats()["macs_dense"]


def test_cli_train_prune_writes_the_smaller_model(tmp_path, capsys):
    rc, x = _train_cli(tmp_path, "p.sgm", "--mode", "prune", "--sparsity", "0.5")
    assert rc == 0
    out = tmp_path / "p.sgm"
    text = capsys.readouterr().out
    summary = json.loads(text[text.index("{"):])
    g = read_model(out.read_bytes(), str(out))
    assert [g.tensors[n.inputs[1]].shape[0] for n in g.nodes if n.op == "Conv"] == [8, 16, 32]
    sess = sparsegate.Session(str(out))
    sess.run({"input": x[:1]})
    assert sess.stats()["macs_executed"] == summary["macs_executed"] < 0.3 * summary["macs_dense"]

    rc, _ = _train_cli(tmp_path, "q.sgm", "--mode", "prune", "--sparsity", "0.5", "--int8", "--qat-epochs", "0.5")
    assert rc == 0
    q = tmp_path / "q.sgm"
    gq = read_model(q.read_bytes(), str(q))
    assert [gq.tensors[n.inputs[1]].shape[0] for n in gq.nodes if n.op == "ConvInt8"] == [8, 16, 32]
    assert q.stat().st_size < 0.35 * out.stat().st_size and not list(tmp_path.glob("*.ckpt*"))
    capsys.readouterr()
    assert _train_cli(tmp_path, "q.sgm", "--int8")[0] != 0
    assert "--int8 goes with --mode prune or dense, not gated" in capsys.readouterr().err


def test_sparsegate_works_without_torch():
    import subprocess
    import sys
    code = ("import sys; sys.modules['torch'] = None\n"
            "import sparsegate\nfrom sparsegate.tools import cli\n"
            "assert cli.main(['train', 'fashion_cnn', '--data', '.', '-o', 'x.sgm']) == 2\n"
            "g = sparsegate.convert(sparsegate.zoo.fetch('fashion_cnn'))\n"
            "print(len(g.nodes))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "needs torch" in out.stderr
