"""The detection app as users get it: `sparsegate app` lays it out, a plain static server hosts
it (no Python behind it), and headless Chromium runs it under its strict CSP: the face box on a
bundled photo agrees with onnxruntime for each backend, webcam frames (Chromium's fake capture
of a photo) flow without long tasks on the main thread, and the gate slider changes the MACs
executed while the face stays found."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from browser_util import StaticServer, launch_chromium
from sparsegate import zoo
from sparsegate.tools.app import build_app
from sparsegate.vision import detect, images

pytestmark = pytest.mark.browser
LONG_TASK_MS = 50


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return build_app(tmp_path_factory.mktemp("app") / "site", progress=lambda *_: None)


def onnxruntime_faces(name: str) -> list[dict]:
    """The zoo's BlazeFace through onnxruntime on the original ONNX, decoded by the Python helpers."""
    ort = pytest.importorskip("onnxruntime")
    meta = zoo.info(name)
    x, transform = images.preprocess(images.sample_images()["astronaut"], meta["preprocess"])
    sess = ort.InferenceSession(str(zoo.fetch(name)), providers=["CPUExecutionProvider"])
    outs = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {sess.get_inputs()[0].name: x})))
    return detect.decode(meta, outs, transform)


def _open(browser, url, console):
    page = browser.new_page()
    page.on("console", lambda m: console.append(m.text))
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    page.goto(url)
    return page


def _result(page, timeout=60_000):
    page.wait_for_function("() => window.app.last || window.app.error", timeout=timeout)
    state = page.evaluate("window.app")
    assert state["error"] is None, state["error"]
    return state["last"]


def _no_csp_violation(console):
    violations = [m for m in console if "Content Security Policy" in m or m.startswith("pageerror")]
    assert not violations, violations


@pytest.mark.parametrize("model,backend,isolated,threads", [("blazeface", "wasm", False, 1),
                                                          ("blazeface", "wasm-threads", True, 2),
                                                          ("blazeface_back", "wasm", False, 1)])
def test_photo_face_matches_onnxruntime(app, tmp_path, model, backend, isolated, threads):
    want = onnxruntime_faces(model)
    server, browser, console = StaticServer(app, isolated), launch_chromium(), []
    try:
        page = _open(browser, f"{server.url}/index.html?model={model}&image=astronaut&backend={backend}", console)
        last = _result(page)
        page.screenshot(path=str(tmp_path / f"{model}-{backend}.png"))
        assert Image.open(tmp_path / f"{model}-{backend}.png").size[0] > 0
    finally:
        browser.close()
        server.close()
    assert last["threads"] == 1 if threads == 1 else last["threads"] >= 2
    assert len(last["found"]) == len(want) == 1
    np.testing.assert_allclose(last["found"][0]["box"], want[0]["box"], atol=10)
    _no_csp_violation(console)


def _y4m(path, photo: np.ndarray, frames=10, size=(640, 480)):
    """A YUV 4:2:0 video of `photo` letterboxed into `size`, for Chromium's fake camera."""
    w, h = size
    img = Image.fromarray(photo)
    img.thumbnail((w, h))
    canvas = Image.new("RGB", (w, h))
    canvas.paste(img, ((w - img.width) // 2, (h - img.height) // 2))
    y, u, v = (np.asarray(c) for c in canvas.convert("YCbCr").split())
    sub = lambda c: c.reshape(h // 2, 2, w // 2, 2).mean((1, 3)).round().astype(np.uint8)  # noqa: E731
    frame = b"FRAME\n" + y.tobytes() + sub(u).tobytes() + sub(v).tobytes()
    path.write_bytes(f"YUV4MPEG2 W{w} H{h} F30:1 Ip A1:1 C420jpeg\n".encode() + frame * frames)


LONG_TASKS = """
  window.longTasks = [];
  new PerformanceObserver((list) => window.longTasks.push(...list.getEntries().map(
    (e) => ({ start: e.startTime, ms: e.duration })))).observe({ type: "longtask", buffered: true });
"""


def test_webcam_frames_flow_without_long_tasks(app, tmp_path):
    video = tmp_path / "astronaut.y4m"
    _y4m(video, images.sample_images()["astronaut"])
    server, console = StaticServer(app, isolated=False), []
    browser = launch_chromium(["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                               f"--use-file-for-fake-video-capture={video}"])
    try:
        page = browser.new_page()
        page.on("console", lambda m: console.append(m.text))
        page.add_init_script(LONG_TASKS)
        page.goto(f"{server.url}/index.html?model=blazeface&webcam=1")
        page.wait_for_function("() => window.app.frames >= 1 || window.app.error", timeout=60_000)
        first = page.evaluate("performance.now()")  # loading and compiling happen before this
        page.wait_for_function("() => window.app.frames >= 31 || window.app.error", timeout=120_000)
        state, tasks = page.evaluate("[window.app, window.longTasks]")
        readout = page.inner_text("#readout")
    finally:
        browser.close()
        server.close()
    assert state["error"] is None, state["error"]
    assert state["last"]["found"] and state["last"]["found"][0]["label"] == "face"
    assert "frames per second" in readout and state["fps"] > 0, readout
    late = [t for t in tasks if t["start"] > first and t["ms"] > LONG_TASK_MS]
    assert not late, late
    print(f"webcam: {state['frames']} frames, {state['fps']} fps, {state['dropped']} dropped; {readout}")


def test_gate_slider_changes_macs_and_keeps_the_face(app):
    server, browser, console = StaticServer(app, isolated=False), launch_chromium(), []
    try:
        page = _open(browser, f"{server.url}/index.html?model=blazeface-gated&image=astronaut", console)
        at_calibrated = _result(page)
        assert page.is_visible("#gate")
        seen = {}
        for gate in (0.0, 0.5, 1.0):
            frames = page.evaluate("window.app.frames")
            page.evaluate("(g) => { const s = document.getElementById('gate'); s.value = g;"
                          " s.dispatchEvent(new Event('input')); }", gate)
            page.wait_for_function("(n) => window.app.frames > n", arg=frames, timeout=30_000)
            seen[gate] = _result(page)
            assert f"MACs executed {seen[gate]['macsExecuted'] / 1e6:.1f} M" in page.inner_text("#readout")
    finally:
        browser.close()
        server.close()
    assert seen[0.0]["macsExecuted"] == seen[0.0]["macsDense"]
    assert seen[1.0]["macsExecuted"] < seen[0.5]["macsExecuted"] < seen[0.0]["macsExecuted"]
    assert at_calibrated["macsExecuted"] == seen[1.0]["macsExecuted"]
    for result in seen.values():
        assert [d["label"] for d in result["found"]] == ["face"], result
    meta = json.loads((app / "app.json").read_text())
    assert {m["id"] for m in meta["models"]} == {"blazeface", "blazeface_back", "blazeface-gated", "yolov8n"}
    _no_csp_violation(console)


def test_your_own_model_from_disk(app, yolo_sgm):
    """A user's .sgm detector (here the zoo's YOLOv8n file picked from disk) runs with the
    preprocessing and decoding its metadata names."""
    server, browser, console = StaticServer(app, isolated=False), launch_chromium(), []
    try:
        page = _open(browser, f"{server.url}/index.html?model=blazeface&image=astronaut", console)
        _result(page)
        frames = page.evaluate("window.app.frames")
        page.set_input_files("#own-model", str(yolo_sgm))
        page.wait_for_function("(n) => window.app.frames > n || window.app.error", arg=frames, timeout=60_000)
        last = _result(page)
    finally:
        browser.close()
        server.close()
    assert last["model"] == f"own:{yolo_sgm.name}"
    assert last["macsDense"] > 5e8  # YOLOv8n (1.0 G MACs), not BlazeFace (31 M)
    _no_csp_violation(console)
