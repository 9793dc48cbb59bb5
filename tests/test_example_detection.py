"""The showcase page: detection in Chromium through the JS package, with the model and photo
served by `sparsegate serve`; boxes must agree with the Python pipeline on the same photo."""
import numpy as np
import pytest
from sparsegate.vision import detect, images
from sparsegate.runtime import Session

from browser_util import shared_runner

pytestmark = pytest.mark.browser


def _iou(a, b):
    w = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return w * h / union


def _python_detections(name, photo):
    from sparsegate.tools.serve import _zoo_model
    sess = Session(_zoo_model(name))
    x, t = images.preprocess(images.sample_images()[photo], sess.metadata["preprocess"])
    return detect.decode(sess.metadata, sess.run({sess.inputs[0]["name"]: x}), t)


@pytest.fixture(scope="module")
def page():
    runner = shared_runner()  # one Chromium and one `sparsegate serve` server per test session
    page = runner.browser.new_page()
    yield runner.server, page
    page.close()


@pytest.mark.parametrize("model,photo", [("blazeface", "astronaut"), ("yolov8n", "astronaut")])
def test_page_finds_what_python_finds(page, model, photo):
    server, p = page
    p.goto(f"{server.url}/examples/detection/index.html?model={model}&image={photo}")
    p.wait_for_function("window.detections", timeout=60_000)
    result = p.evaluate("window.detections")
    assert "error" not in result, result
    want = _python_detections(model, photo)
    assert want, "the Python pipeline found nothing to compare with"
    got = result["found"]
    assert len(got) == len(want)
    for w in want:
        best = max(got, key=lambda g: _iou(g["box"], w["box"]))
        assert best["label"] == w["label"]
        # Chromium's canvas resampling differs a little from Pillow's: boxes agree, not bits.
        assert _iou(best["box"], w["box"]) > 0.85
        assert abs(best["score"] - w["score"]) < 0.05
