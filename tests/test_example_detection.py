"""The showcase page: detection in Chromium through the JS package (in a worker), with the model
and photo served by `sparsegate serve`, under the page's strict Content-Security-Policy; the
detections must equal the Python pipeline's on the same photo."""
import numpy as np
import pytest
from sparsegate.vision import detect, images
from sparsegate.runtime import Session

from browser_util import shared_runner

pytestmark = pytest.mark.browser


def _python_detections(name, photo):
    from sparsegate.tools.serve import _zoo_model
    sess = Session(_zoo_model(name))
    x, t = images.preprocess(images.sample_images()[photo], sess.metadata["preprocess"])
    return detect.decode(sess.metadata, sess.run({sess.inputs[0]["name"]: x}), t)


@pytest.fixture(scope="module")
def page():
    runner = shared_runner()  # one Chromium and one `sparsegate serve` server per test session
    page = runner.browser.new_page()
    page.console = []
    page.on("console", lambda m: page.console.append(m.text))
    yield runner.server, page
    page.close()


@pytest.mark.parametrize("model,photo", [("blazeface", "astronaut"), ("yolov8n", "astronaut")])
def test_page_finds_what_python_finds(page, model, photo):
    server, p = page
    p.goto(f"{server.url}/examples/detection/index.html?model={model}&image={photo}")
    p.wait_for_function("() => window.detections", timeout=60_000)
    result = p.evaluate("window.detections")
    assert "error" not in result, result
    want = _python_detections(model, photo)
    assert want, "the Python pipeline found nothing to compare with"
    got = result["found"]
    assert len(got) == len(want)
    for g, w in zip(got, want):  # the package resizes like Pillow: the same pixels, the same boxes
        assert g["label"] == w["label"]
        np.testing.assert_allclose(g["box"], w["box"], atol=0.01)
        assert abs(g["score"] - w["score"]) < 1e-4
    violations = [m for m in p.console if "Content Security Policy" in m]
    assert not violations, violations
