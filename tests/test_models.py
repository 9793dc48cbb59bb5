"""Real models on real images through the real `.wasm` (CPython, wasmtime), checked against
onnxruntime running the original ONNX file."""
import numpy as np
import onnxruntime as ort
import pytest

from sparsegate import zoo
from sparsegate.vision import detect, images
from sparsegate.runtime import Session

pytestmark = pytest.mark.slow

PHOTOS = ["chelsea", "astronaut", "coffee", "rocket", "motorcycle_left", "hubble_deep_field"]


def _ort(name):
    return ort.InferenceSession(str(zoo.fetch(name)), providers=["CPUExecutionProvider"])


def _photo_inputs(name, count):
    pre = zoo.info(name)["preprocess"]
    photos = images.sample_images()
    return [(p, images.preprocess(photos[p], pre)[0]) for p in list(photos)[:count]]


def test_mobilenetv2_matches_onnxruntime_on_photos(mobilenet_sgm):
    ref, sess = _ort("mobilenetv2"), Session(str(mobilenet_sgm))
    inputs = _photo_inputs("mobilenetv2", 6)
    assert len(inputs) >= 5
    for photo, x in inputs:
        want = ref.run(None, {ref.get_inputs()[0].name: x})[0].reshape(-1)
        got = sess.run({"input": x})["logits"].reshape(-1)
        assert np.abs(got - want).max() <= 1e-3, photo
        assert list(np.argsort(-got)[:5]) == list(np.argsort(-want)[:5]), photo


def test_mobilenetv2_knows_a_cat(mobilenet_sgm):
    sess = Session(str(mobilenet_sgm))
    x, _ = images.preprocess(images.sample_images()["chelsea"], sess.metadata["preprocess"])
    top = int(np.argmax(sess.run({"input": x})["logits"]))
    assert 281 <= top <= 285, sess.metadata["labels"][top]  # the ImageNet cat classes


@pytest.mark.parametrize("name", ["blazeface", "blazeface_back"])
def test_blazeface_matches_onnxruntime_and_finds_the_face(name, request):
    sgm = request.getfixturevalue(f"{name}_sgm")
    ref, sess = _ort(name), Session(str(sgm))
    meta = sess.metadata
    image = images.sample_images()["astronaut"]
    x, info = images.preprocess(image, meta["preprocess"])
    want = ref.run(None, {ref.get_inputs()[0].name: x})
    got = sess.run({sess.inputs[0]["name"]: x})
    for w, (name, g) in zip(want, got.items()):
        assert g.shape == w.shape, name
        # within 1e-4 of the output's range (float32 sums in another order; the back model's
        # 256 px input and deeper stack leave 1.1e-4 on a regressor of range 57)
        assert np.abs(g - w).max() <= 1e-4 * max(1.0, float(np.abs(w).max())), name
    faces = detect.decode(meta, got, info)
    assert len(faces) == 1
    x1, y1, x2, y2 = faces[0]["box"]
    assert 150 <= (x1 + x2) / 2 <= 270 and 40 <= (y1 + y2) / 2 <= 160  # her face, in pixels of 512×512


def test_yolov8n_matches_onnxruntime_on_two_photos(yolo_sgm):
    ref, sess = _ort("yolov8n"), Session(str(yolo_sgm))
    for photo, x in _photo_inputs("yolov8n", 2):
        want = ref.run(None, {ref.get_inputs()[0].name: x})[0]
        got = next(iter(sess.run({sess.inputs[0]["name"]: x}).values()))
        assert got.shape == want.shape
        assert np.abs(got - want).max() <= 1e-3, photo


def test_fashion_cnn_predictions_equal_onnxruntime_on_all_test_images(fashion_sgm):
    from sparsegate.zoo import fashion_mnist
    x_all, _labels = fashion_mnist.load_inputs("test")
    ref, sess = _ort("fashion_cnn"), Session(str(fashion_sgm))
    name = sess.inputs[0]["name"]
    assert len(x_all) == 10_000
    want = ref.run(None, {ref.get_inputs()[0].name: x_all})[0].argmax(1) \
        if ref.get_inputs()[0].shape[0] != 1 else None
    disagree = []
    for i in range(len(x_all)):
        got = sess.run({name: x_all[i:i + 1]})
        pred = int(np.argmax(next(iter(got.values()))))
        ref_pred = int(want[i]) if want is not None else \
            int(np.argmax(ref.run(None, {ref.get_inputs()[0].name: x_all[i:i + 1]})[0]))
        if pred != ref_pred:
            disagree.append(i)
    assert not disagree, f"{len(disagree)} of 10000 predictions differ, e.g. {disagree[:10]}"
