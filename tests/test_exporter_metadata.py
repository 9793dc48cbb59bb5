"""Detectors exported by Ultralytics convert with their labels, preprocessing and decoding
(onnx_import/exporters.py): a YOLO11n built by the `ultralytics` package from its model YAML at
random initialisation (no weight download) converts and its raw outputs equal onnxruntime's;
metadata strings that are hostile or incomplete give no metadata, never an error."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import sparsegate
from sparsegate.errors import InputError
from sparsegate.runtime import Session
from sparsegate.vision import detect, images


def _fake_export(props: dict, classes=2, anchors=8) -> onnx.ModelProto:
    shape = [1, 4 + classes, anchors]
    graph = helper.make_graph([helper.make_node("Relu", ["images"], ["output0"])], "g",
                              [helper.make_tensor_value_info("images", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("output0", TensorProto.FLOAT, shape)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    helper.set_model_props(model, props)
    return model


ULTRA = {"author": "Ultralytics", "task": "detect", "end2end": "False", "imgsz": "[64, 96]",
         "names": "{0: 'cat', 1: 'dog'}", "description": "Ultralytics YOLO11n model"}


def test_ultralytics_props_become_labels_preprocess_and_postprocess():
    meta = sparsegate.convert(_fake_export(ULTRA)).metadata
    assert meta["labels"] == ["cat", "dog"]
    assert meta["preprocess"]["size"] == [64, 96] and meta["preprocess"]["pad_value"] == 114
    assert meta["postprocess"]["kind"] == "yolov8" and meta["postprocess"]["num_classes"] == 2


@pytest.mark.parametrize("change", [
    {"author": "someone"}, {"task": "segment"}, {"end2end": "True"}, {"names": "{0: 'cat'}"},
    {"names": "{0: 'cat', 2: 'dog'}"}, {"names": "__import__('os').system('true')"},
    {"names": "[" * 10_000 + "]" * 10_000}, {"names": "{0: 'x'}" + " " * (2 << 20)},
    {"imgsz": "[64]"}, {"imgsz": "'big'"}, {"imgsz": "[-1, 64]"}],
    ids=["author", "task", "end2end", "count", "gap", "code", "deep", "huge", "imgsz-len", "imgsz-str", "imgsz-neg"])
def test_unexpected_props_give_no_metadata(change):
    meta = sparsegate.convert(_fake_export({**ULTRA, **change})).metadata
    assert "labels" not in meta and "postprocess" not in meta


def test_labels_must_name_every_class():
    with pytest.raises(InputError, match="3 labels given for a detector of 2 classes"):
        sparsegate.convert(_fake_export(ULTRA), metadata={"labels": ["a", "b", "c"]})


@pytest.mark.slow
def test_a_yolo11n_export_converts_and_equals_onnxruntime(tmp_path, monkeypatch):
    ort = pytest.importorskip("onnxruntime")
    monkeypatch.chdir(tmp_path)  # Ultralytics writes its export beside the working directory
    monkeypatch.setenv("YOLO_OFFLINE", "1")
    from ultralytics import YOLO  # scripts/setup.sh installs it (AGPL-3.0: tests only)
    import torch
    torch.manual_seed(0)
    onnx_path = YOLO("yolo11n.yaml").export(format="onnx", imgsz=320, opset=17, simplify=False)
    sparsegate.convert(onnx_path, tmp_path / "yolo11n.sgm")
    sess = Session(str(tmp_path / "yolo11n.sgm"))
    meta = sess.metadata
    assert meta["postprocess"]["kind"] == "yolov8" and len(meta["labels"]) == 80
    x, transform = images.preprocess(images.sample_images()["astronaut"], meta["preprocess"])
    got = sess.run({"images": x})["output0"]
    want = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"]).run(None, {"images": x})[0]
    assert got.shape == want.shape == (1, 84, 2100)
    assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max()
    # random weights score every anchor near 0: decoding runs on the metadata, finding nothing
    assert detect.decode(meta, {"output0": got}, transform) == []
