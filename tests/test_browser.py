"""The JS package in headless Chromium: same numbers as CPython, clean errors in the page."""
import json
from pathlib import Path

import numpy as np
import pytest

from browser_util import BrowserError, browser  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

FIXTURES = Path(__file__).parent / "fixtures"


def _fixture(name):
    doc = json.loads((FIXTURES / f"{name}.json").read_text())
    arrays = lambda d: {k: np.array(v["data"], np.float32).reshape(v["dims"]) for k, v in d.items()}
    return (FIXTURES / f"{name}.sgm").read_bytes(), arrays(doc["inputs"]), arrays(doc["outputs"])


@pytest.mark.parametrize("name", ["tiny_cnn", "two_inputs"])
def test_fixture_matches_numpy_in_chromium(browser, name):
    sgm, inputs, want = _fixture(name)
    got = browser.run(sgm, inputs)
    assert set(got) == set(want)
    for k in want:
        assert got[k].shape == want[k].shape, k
        np.testing.assert_allclose(got[k], want[k], rtol=1e-4, atol=1e-5, err_msg=k)


def test_chromium_matches_cpython_session(browser):
    runtime = pytest.importorskip("sparsegate.runtime")
    sgm, inputs, _ = _fixture("tiny_cnn")
    x = np.random.default_rng(7).uniform(-2, 2, inputs["x"].shape).astype(np.float32)
    want = runtime.Session(sgm).run({"x": x})
    got = browser.run(sgm, {"x": x})
    for k in ("logits", "probs"):
        # One .wasm in both hosts: the numbers are identical, not merely close.
        np.testing.assert_array_equal(got[k], np.asarray(want[k]).reshape(got[k].shape), err_msg=k)


def test_info_and_stats_in_chromium(browser):
    sgm, inputs, _ = _fixture("tiny_cnn")
    info = browser.info(sgm)
    assert info["backend"] == "wasm"
    assert info["inputs"] == [{"name": "x", "dims": [1, 3, 8, 8], "type": "float32"}]
    assert [o["name"] for o in info["outputs"]] == ["logits", "probs"]
    assert info["metadata"]["labels"] == ["ant", "bee", "cat", "dog", "eel"]
    browser.run(sgm, inputs)
    stats = browser.stats(sgm)
    assert stats["macsDense"] >= 4 * 3 * 3 * 3 * 8 * 8
    assert [layer["op"] for layer in stats["layers"]][0] == "Conv"


def test_corrupt_file_gives_clean_error_in_page(browser):
    sgm, inputs, want = _fixture("tiny_cnn")
    for bad in (sgm[: len(sgm) // 2], b"ONNX" + sgm[4:], bytes(100)):
        with pytest.raises(BrowserError) as e:
            browser.run(bad, inputs)
        assert e.value.code == "format", str(e.value)
        assert e.value.js_name == "SparsegateError"
    # The page is still healthy afterwards.
    np.testing.assert_allclose(browser.run(sgm, inputs)["probs"], want["probs"], rtol=1e-4, atol=1e-5)


def test_wrong_dims_name_the_input_in_page(browser):
    sgm, inputs, _ = _fixture("tiny_cnn")
    with pytest.raises(BrowserError, match=r'"x".*\[1, 3, 8, 8\].*\[1, 3, 8, 4\]') as e:
        browser.run(sgm, {"x": inputs["x"][..., :4]})
    assert e.value.code == "input"


def test_wasm_served_as_application_wasm_with_isolation_headers(browser):
    res = browser.page.evaluate("""async () => {
        const r = await fetch('/web/src/sparsegate.wasm');
        return {type: r.headers.get('content-type'), coop: r.headers.get('cross-origin-opener-policy'),
                isolated: self.crossOriginIsolated};
    }""")
    assert res == {"type": "application/wasm", "coop": "same-origin", "isolated": True}


@pytest.mark.slow
def test_mobilenetv2_on_photos_in_chromium(browser, mobilenet_sgm):
    """Five real photos: Chromium gives CPython's numbers and agrees with onnxruntime."""
    ort = pytest.importorskip("onnxruntime")
    from sparsegate.vision import images
    from sparsegate import zoo
    from sparsegate.runtime import Session
    sgm = Path(mobilenet_sgm).read_bytes()
    sess = Session(sgm)
    ref = ort.InferenceSession(str(zoo.fetch("mobilenetv2")), providers=["CPUExecutionProvider"])
    photos = images.sample_images()
    assert len(photos) >= 5
    for name in list(photos)[:5]:
        x, _ = images.preprocess(photos[name], sess.metadata["preprocess"])
        got = browser.run(sgm, {"input": x})["logits"].reshape(-1)
        np.testing.assert_allclose(got, np.asarray(sess.run({"input": x})["logits"]).reshape(-1),
                                   rtol=0, atol=1e-5, err_msg=name)
        want = ref.run(None, {ref.get_inputs()[0].name: x})[0].reshape(-1)
        assert np.abs(got - want).max() <= 1e-3, name
        assert list(np.argsort(-got)[:5]) == list(np.argsort(-want)[:5]), name
    browser.release(sgm)
