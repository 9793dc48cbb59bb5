"""`compress` end to end: calibration data in every form, clear errors for bad data, the
written .sgm runs in wasm, the CLI, and the HTML report."""
import numpy as np
import pytest

import sparsegate as sg
from sparsegate.compression import calibration
from sparsegate.tools import cli
from sparsegate.vision import images
from sparsegate.errors import InputError, SparsegateError


@pytest.fixture(scope="module")
def train():
    from sparsegate.zoo import fashion_mnist
    x, _ = fashion_mnist.load_inputs("train")
    raw, _ = fashion_mnist.load("train")
    return x[:48], raw[:6]


def test_compress_prunes_writes_and_runs(tmp_path, train):
    x, _ = train
    out = tmp_path / "f.sgm"
    rep = sg.compress("fashion_cnn", out, prune=0.2, calib=x, progress=False)
    assert out.stat().st_size == rep.bytes_after < rep.bytes_before
    assert rep.macs_after < 0.75 * rep.macs_before
    assert rep.metric_name == "top-1 agreement" and rep.metric_before == 1.0
    assert 0.5 < rep.metric_after <= 1.0
    assert set(rep.plan) == {"/0/Conv", "/4/Conv", "/8/Conv"}
    assert [r["out_after"] for r in rep.layers] == [13, 26, 51, 10]
    with sg.Session(out) as sess:
        y = sess.run(x[:1])["logits"]
        assert y.shape == (1, 10) and sess.stats()["macs_dense"] == rep.macs_after
    assert "MACs" in rep.summary() and "/4/Conv" in rep.summary()


def test_calibration_forms_agree(tmp_path, train):
    x, raw = train
    graph = sg.convert(sg.zoo.fetch("fashion_cnn"), metadata=sg.zoo.info("fashion_cnn"))
    np.savez(tmp_path / "c.npz", input=x[:5])
    np.save(tmp_path / "c.npy", x[:5])
    a = calibration.load_calibration(tmp_path / "c.npz", graph)
    b = calibration.load_calibration(tmp_path / "c.npy", graph)
    c = calibration.load_calibration(iter(list(x[:5])), graph)  # per-sample arrays, no batch axis
    assert len(a) == 5 and all(s.shape == (1, 1, 28, 28) for s in a)
    for u, v, w in zip(a, b, c):
        np.testing.assert_array_equal(u, v)
        np.testing.assert_array_equal(u, w)
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i, img in enumerate(raw):
        images.save_image(img, folder / f"{i}.png")
    d = calibration.load_calibration(folder, graph)
    np.testing.assert_allclose(np.concatenate(d), x[:6], atol=1e-5)  # preprocessing per the metadata


def test_bad_calibration_data_is_named(tmp_path, train):
    x, _ = train
    with pytest.raises(InputError, match="empty"):
        (tmp_path / "empty").mkdir()
        sg.compress("fashion_cnn", None, prune=0.1, calib=tmp_path / "empty", progress=False)
    folder = tmp_path / "mixed"
    folder.mkdir()
    images.save_image(np.zeros((28, 28), np.uint8), folder / "a.png")
    (folder / "notes.txt").write_text("not an image")
    with pytest.raises(InputError, match="notes.txt"):
        sg.compress("fashion_cnn", None, prune=0.1, calib=folder, progress=False)
    (folder / "notes.txt").unlink()
    (folder / "b.png").write_bytes(b"garbage")
    with pytest.raises(InputError, match="b.png"):
        sg.compress("fashion_cnn", None, prune=0.1, calib=folder, progress=False)
    with pytest.raises(InputError, match=r"\(3, 28, 28\).*\(1, 1, 28, 28\)"):
        sg.compress("fashion_cnn", None, prune=0.1, calib=[x[0], np.zeros((3, 28, 28))], progress=False)
    with pytest.raises(InputError, match="sample 1"):
        sg.compress("fashion_cnn", None, prune=0.1, calib=[x[0], np.zeros((3, 28, 28))], progress=False)
    np.savez(tmp_path / "two.npz", a=x[:2], b=x[:2])
    with pytest.raises(InputError, match="'input'"):
        sg.compress("fashion_cnn", None, prune=0.1, calib=tmp_path / "two.npz", progress=False)
    with pytest.raises(InputError, match="NaN"):
        sg.compress("fashion_cnn", None, prune=0.1, calib=np.full((2, 1, 28, 28), np.nan), progress=False)
    with pytest.raises(InputError, match="accuracy_budget needs"):
        sg.compress("fashion_cnn", None, accuracy_budget=0.01, progress=False)
    with pytest.raises(InputError, match="either prune"):
        sg.compress("fashion_cnn", None, prune=0.1, accuracy_budget=0.01, calib=x, progress=False)


def test_budget_mode_with_eval_fn(train):
    from sparsegate.zoo import fashion_mnist
    x, _ = train
    xt, yt = fashion_mnist.load_inputs("test")

    def accuracy(sess):
        out = np.concatenate([sess.run(xt[i:i + 1])["logits"] for i in range(300)])
        return float((out.argmax(1) == yt[:300]).mean())
    rep = sg.compress("fashion_cnn", None, accuracy_budget=0.02, calib=x, eval_fn=accuracy,
                      sensitivity_ratios=(0.1, 0.3), progress=False)
    assert rep.metric_name == "accuracy" and rep.metric_before > 0.88
    assert rep.metric_before - rep.metric_after <= 0.02
    assert len(rep.sensitivity) == 6
    assert rep.macs_after < rep.macs_before or not rep.plan


def test_cli_compress_and_errors(tmp_path, train, capsys):
    x, _ = train
    np.savez(tmp_path / "c.npz", input=x[:16])
    out = tmp_path / "o.sgm"
    assert cli.main(["compress", "fashion_cnn", "--calib", str(tmp_path / "c.npz"), "--prune", "0.1",
                     "-o", str(out), "--quiet", "--json", str(tmp_path / "r.json")]) == 0
    text = capsys.readouterr().out
    assert "MACs" in text and "top-1 agreement" in text and out.exists()
    assert '"macs_after"' in (tmp_path / "r.json").read_text()
    (tmp_path / "empty").mkdir()
    assert cli.main(["compress", "fashion_cnn", "--calib", str(tmp_path / "empty"), "--prune", "0.1",
                     "-o", str(tmp_path / "p.sgm"), "--quiet"]) == 2
    assert "empty" in capsys.readouterr().err


def test_cli_compress_gate(tmp_path, train, capsys):
    """`compress --gate` calibrates gates from the CLI's calibration file (it used to take the
    list of arrays for a list of feeds and fail on every input); the model runs gated."""
    x, _ = train
    np.save(tmp_path / "c.npy", x[:24])
    out = tmp_path / "g.sgm"
    assert cli.main(["compress", "fashion_cnn", "--calib", str(tmp_path / "c.npy"), "--gate", "0.05",
                     "-o", str(out), "--quiet"]) == 0, capsys.readouterr().err
    with sg.Session(out) as sess:
        gating = sess.metadata["gating"]
        assert gating["calib_loss"] <= 0.05 and gating["layers"]
        sess.set_gate(1.0)
        sess.run(x[:1])
        st = sess.stats()
        assert st["macs_executed"] < st["macs_dense"]


def test_report_html(tmp_path, train):
    pytest.importorskip("matplotlib")
    x, _ = train
    np.savez(tmp_path / "c.npz", input=x[:24])
    html = tmp_path / "r.html"
    assert cli.main(["report", "fashion_cnn", "--calib", str(tmp_path / "c.npz"), "--prune", "0.1",
                     "-o", str(html), "--quiet"]) == 0
    page = html.read_text()
    assert page.count("data:image/png;base64,") == 2
    assert "/4/Conv" in page and "float32" in page and "MACs removed" in page


def test_all_passes_in_order(tmp_path, train):
    """prune → block sparsity → int8 through compress; the result runs in wasm."""
    x, _ = train
    out = tmp_path / "all.sgm"
    rep = sg.compress("fashion_cnn", out, prune=0.1, sparsity=0.5, quantize="int8", calib=x[:32],
                      progress=False)
    assert rep.bytes_after < 0.5 * rep.bytes_before
    assert rep.macs_after < rep.macs_before
    assert len(rep.layers) == 4 and any(r["encoding"].startswith("int8") for r in rep.layers)
    assert any(r["density"] < 0.7 for r in rep.layers)
    with sg.Session(out) as sess:
        assert sess.run(x[:1])["logits"].shape == (1, 10)
