"""The JS vision helpers (web/src/vision) in headless Chromium give Python's numbers.

`imageToTensor` must equal `images.preprocess`, `decodeDetections` `detect.decode` and `topK`
the softmax top-5 of `sparsegate run`, on five scikit-image photos. The reference source is
ImageData built from the pixels Python decoded; the other source types (ImageBitmap, <img>,
canvas, OffscreenCanvas, VideoFrame) are made from a PNG of the same pixels, since PNG
decodes losslessly in every browser while JPEG decoders differ from Pillow's. The page decodes
its own model outputs and Python decodes those same outputs, so only the decoders are compared.
"""
import base64
import json
from pathlib import Path

import numpy as np
import pytest

from browser_util import shared_runner
from sparsegate.runtime import Session
from sparsegate.vision import detect, images

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHOTOS = ["astronaut", "chelsea", "coffee", "rocket", "camera"]  # square, landscape, gray
SOURCE_TYPES = {"ImageBitmap", "HTMLImageElement", "HTMLCanvasElement", "OffscreenCanvas", "VideoFrame"}
# Per model: the metadata's thresholds, then looser ones so that NMS has more to do.
DECODE_OPTIONS = {"blazeface": [{}, {"scoreThreshold": 0.1, "iouThreshold": 0.5}],
                  "yolov8n": [{}, {"scoreThreshold": 0.02, "iouThreshold": 0.6, "maxDetections": 20}]}
TINY_CNN = Path(__file__).parent / "fixtures" / "tiny_cnn.sgm"


def _f32(t: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(t["b64"]), "<f4").reshape(t["dims"])


@pytest.fixture(scope="module")
def page():
    runner = shared_runner()
    p = runner.browser.new_page()
    p.goto(runner.server.url + "/web/test/vision.html")
    p.wait_for_function("window.visionReady === true", timeout=30_000)
    yield runner.server, p
    p.close()


def _check(page, sgm: Path, photo: str, decode_options=()):
    """Runs the page's pipeline on one photo; returns (Python's tensor, transform, page result)."""
    server, p = page
    rgb = images.sample_images()[photo]
    model, png, raw = (server.put_blob(sgm.read_bytes()), f"/samples/{photo}.png",
                       server.put_blob(rgb.tobytes(), ".rgb"))
    res = p.evaluate("([m, png, raw, w, h, o]) => window.vision.check(m, png, raw, w, h, o)",
                     [model, png, raw, rgb.shape[1], rgb.shape[0], list(decode_options)])
    meta = Session(sgm.read_bytes()).metadata
    x, t = images.preprocess(rgb, meta["preprocess"])
    got = _f32(res["tensor"])
    assert got.shape == x.shape, photo
    assert np.abs(got - x).max() <= 1e-6, photo
    assert res["transform"] == pytest.approx(_transform_dict(t))
    assert set(res["sourceDiffs"]) == SOURCE_TYPES
    for kind, d in res["sourceDiffs"].items():
        assert d["diff"] <= 1e-6 and d["sameTransform"], (photo, kind, d)
    return meta, t, res


def _transform_dict(t) -> dict:
    return {"scaleX": t.scale_x, "scaleY": t.scale_y, "offsetX": t.offset_x, "offsetY": t.offset_y,
            "width": t.width, "height": t.height}


def _python_decode(meta, outputs, t, options):
    post = dict(meta["postprocess"])
    post.update({k: v for k, v in (("score_threshold", options.get("scoreThreshold")),
                                   ("iou_threshold", options.get("iouThreshold")),
                                   ("max_detections", options.get("maxDetections"))) if v is not None})
    return detect.decode({**meta, "postprocess": post}, outputs, t)


@pytest.mark.parametrize("model", ["blazeface", "yolov8n"])
def test_detector_pipeline_matches_python(page, request, model):
    sgm = Path(request.getfixturevalue({"blazeface": "blazeface_sgm", "yolov8n": "yolo_sgm"}[model]))
    found = 0
    for photo in PHOTOS:
        meta, t, res = _check(page, sgm, photo, DECODE_OPTIONS[model])
        outputs = {name: _f32(o) for name, o in res["outputs"].items()}
        for options, got in zip(DECODE_OPTIONS[model], res["results"]):
            want = _python_decode(meta, outputs, t, options)
            assert len(got) == len(want), (photo, options)
            for g, w in zip(got, want):
                assert (g["label"], g["class"]) == (w["label"], w["class"]), (photo, options)
                assert np.abs(np.subtract(g["box"], w["box"])).max() <= 0.5, (photo, options, g, w)
                assert abs(g["score"] - w["score"]) <= 1e-4, (photo, options)
                if "keypoints" in w:
                    assert np.abs(np.subtract(g["keypoints"], w["keypoints"])).max() <= 0.5, (photo, options)
            found += len(want)
    assert found, f"{model} found nothing in {PHOTOS}: the comparison would be empty"


def test_classifier_top5_matches_python(page, mobilenet_sgm):
    for photo in PHOTOS:
        meta, _, res = _check(page, Path(mobilenet_sgm), photo)
        logits = _f32(next(iter(res["outputs"].values()))).reshape(-1).astype(np.float64)
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        want = np.argsort(-probs, kind="stable")[:5]
        got = res["results"]
        assert [g["index"] for g in got] == list(want), photo
        assert [g["label"] for g in got] == [meta["labels"][i] for i in want], photo
        np.testing.assert_allclose([g["score"] for g in got], probs[want], rtol=1e-9, atol=0, err_msg=photo)


# Every resize mode, colour order and layout, on a session stand-in: {metadata, inputs}.
VARIANTS = [
    ({"resize": "stretch", "size": [96, 160], "color": "BGR", "scale": 1 / 255, "mean": [0.5], "std": [0.25]}, None),
    ({"resize": "letterbox", "size": [100, 100], "color": "GRAY", "layout": "NHWC", "pad_value": 77}, None),
    ({"resize": "shorter_center_crop", "layout": "nchw", "mean": [0.1, 0.2, 0.3], "std": [0.3, 0.2, 0.1]},
     [1, 3, 160, 128]),  # size from the input's dims; resize_shorter from size / 0.875
    ({"resize": "shorter_center_crop", "resize_shorter": 301, "size": [64, 300], "scale": 2 / 255}, None),
    ({}, [1, 3, 57, 43]),  # every default: stretch, RGB, NCHW, 1/255
]


@pytest.mark.parametrize("pre, dims", VARIANTS)
def test_every_preprocess_variant_matches_python(page, pre, dims):
    server, p = page
    inputs = [{"name": "other", "dims": [1]}, {"name": "x", "dims": dims or [1, 3, *pre["size"]]}]
    for photo in PHOTOS[1:4]:  # three aspect ratios
        rgb = images.sample_images()[photo]
        raw = server.put_blob(rgb.tobytes(), ".rgb")
        res = p.evaluate("([raw, w, h, pre, inputs]) => window.vision.tensor(raw, w, h, pre, inputs, 'x')",
                         [raw, rgb.shape[1], rgb.shape[0], pre, inputs])
        layout = pre.get("layout", "NCHW").upper()
        size = pre.get("size") or (dims[1:3] if layout == "NHWC" else dims[2:4])
        x, t = images.preprocess(rgb, {**pre, "size": size})
        got = _f32(res["tensor"])
        assert got.shape == x.shape and np.abs(got - x).max() <= 1e-6, (photo, pre)
        assert res["transform"] == pytest.approx(_transform_dict(t)), (photo, pre)
        assert res["feedNames"] == ["x"]


def test_wrong_sources_and_outputs_name_the_problem(page, blazeface_sgm, yolo_sgm):
    server, p = page
    urls = [server.put_blob(Path(f).read_bytes()) for f in (yolo_sgm, blazeface_sgm, TINY_CNN)]
    errors = p.evaluate("(a) => window.vision.errors(...a)", urls + ["/samples/astronaut.png"])
    words = {"plainObject": "cannot read an image from an object", "string": "cannot read an image from a string",
             "noPreprocess": "no 'preprocess'", "unknownInput": 'no input "nope"',
             "videoWithoutFrame": "no frame yet", "unknownKind": 'postprocess kind "mystery"',
             "noOutputs": "no outputs", "missingOutput": 'missing outputs "Identity_1:0"'}
    assert set(errors) == set(words)
    for case, e in errors.items():
        assert e["code"] == "input" and e["name"] == "SparsegateError", (case, json.dumps(e))
        assert words[case] in e["message"], (case, e["message"])
