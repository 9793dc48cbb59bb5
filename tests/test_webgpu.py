"""The webgpu backend in headless Chromium on SwiftShader (WebGPU without GPU hardware):
real models on the WGSL kernels against the wasm backend in the same page, refusals, and
the choice "auto" makes. SwiftShader's timings only prove that it runs."""
from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest

import browser_util
from browser_util import RepoServer, browser_available, launch_chromium

pytestmark = pytest.mark.browser

FIXTURES = Path(__file__).parent / "fixtures"
PAGE = "/web/test/webgpu.html"
TOLERANCE = 1e-4  # max |webgpu − wasm| over max |wasm|, per output


@pytest.fixture(scope="module")
def page():
    reason = browser_available()
    if reason:
        pytest.fail(reason)
    server = RepoServer()
    browser = launch_chromium(webgpu=True)
    try:
        p = browser.new_page()
        p.goto(server.url + PAGE)
        p.wait_for_function("window.sgwReady === true", timeout=30_000)
        p.server = server
        yield p
    finally:
        browser.close()
        server.close()
        if "runner" not in browser_util._shared:  # nobody else holds this process's Playwright
            pw = browser_util._shared.pop("playwright", None)
            if pw:
                pw.stop()


def feeds_for(sgm: bytes, seed: int) -> dict:
    from sparsegate.format import read_model
    graph = read_model(sgm)
    rng = np.random.default_rng(seed)
    out = {}
    for name in graph.inputs:
        x = rng.uniform(0, 1, graph.tensors[name].shape).astype("<f4")
        out[name] = {"dims": list(x.shape), "b64": base64.b64encode(x.tobytes()).decode("ascii")}
    return out


def compare(page, sgm: bytes, runs: int = 3) -> dict:
    url = page.server.put_blob(sgm)
    res = page.evaluate("([u, f, r]) => window.sgw.compare(u, f, r)", [url, feeds_for(sgm, 0), runs])
    gpu, cpu = res["webgpu"], res["wasm"]
    assert gpu["backend"] == "webgpu" and cpu["backend"] == "wasm"
    assert gpu["info"]["adapter"]["architecture"] == "swiftshader"
    worst = 0.0
    for name, want in cpu["outputs"].items():
        want, got = np.asarray(want, np.float64), np.asarray(gpu["outputs"][name], np.float64)
        assert got.shape == want.shape and np.isfinite(got).all(), name
        worst = max(worst, float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-30)))
    print(json.dumps({"max_rel_diff": worst, "webgpu_ms": gpu["ms"], "wasm_ms": cpu["ms"]}))
    assert worst <= TOLERANCE
    return res


def test_swiftshader_adapter(page):
    assert page.evaluate("() => window.sgw.adapter()") == {"vendor": "google", "architecture": "swiftshader"}
    caps = page.evaluate("() => window.sgw.capabilities()")
    assert caps["simd"] is True and caps["threads"]["hardwareConcurrency"] >= 1
    gpu = caps["webgpu"]
    assert gpu["architecture"] == "swiftshader" and isinstance(gpu["shaderF16"], bool)
    assert gpu["limits"]["maxStorageBufferBindingSize"] >= 1 << 27 and gpu["features"] == sorted(gpu["features"])


def test_tiny_cnn_equals_wasm(page):
    compare(page, (FIXTURES / "tiny_cnn.sgm").read_bytes())


def test_fashion_cnn_equals_wasm(page, fashion_sgm):
    compare(page, Path(fashion_sgm).read_bytes())


@pytest.mark.slow  # 15-20 s of SwiftShader on two busy cores
def test_mobilenetv2_equals_wasm(page, mobilenet_sgm):
    compare(page, Path(mobilenet_sgm).read_bytes(), runs=0)  # ~15 s a run on SwiftShader


@pytest.mark.slow  # ~40 s of SwiftShader
def test_yolov8n_equals_wasm(page, yolo_sgm):
    compare(page, Path(yolo_sgm).read_bytes(), runs=0)


def test_blazeface_equals_wasm(page, blazeface_sgm):
    compare(page, Path(blazeface_sgm).read_bytes())


def test_gated_model_is_refused_naming_the_op(page):
    url = page.server.put_blob((FIXTURES / "fashion_gated.sgm").read_bytes())
    res = page.evaluate("([u]) => window.sgw.create(u, {backend: 'webgpu'})", [url])
    assert res["code"] == "unsupported", res
    assert "gated op 'Conv'" in res["message"] and "node '" in res["message"]
    # listed after webgpu, wasm takes it
    res = page.evaluate("([u]) => window.sgw.create(u, {executionProviders: ['webgpu', 'wasm']})", [url])
    assert res["backend"] == "wasm", res


def test_auto_picks_wasm_and_says_why(page):
    url = page.server.put_blob((FIXTURES / "tiny_cnn.sgm").read_bytes())
    res = page.evaluate("([u]) => window.sgw.create(u, {})", [url])
    assert res["backend"] == "wasm"
    assert "auto does not pick webgpu" in res["reason"]
    res = page.evaluate("([u]) => window.sgw.create(u, {executionProviders: ['webgpu']})", [url])
    assert res["backend"] == "webgpu", res


def test_op_table_equals_wasm(page):
    """Every row of tests/test_ops.py's op table whose op has a WGSL kernel (f32, ungated)."""
    import test_ops as table

    ops = set(page.evaluate("() => import('/web/src/index.js').then((m) => [...m.WEBGPU_OPS])"))
    rows, batch = [], []
    for c in table.CASES:
        if c.op not in ops or any(k.startswith("gate") for k in c.attrs):
            continue
        if any(isinstance(s, table.C) and s.values is not None and s.values.dtype != np.float32 for s in c.inputs):
            continue
        graph, feeds = table.build(c)
        sgm = table.model_bytes(graph)
        batch.append([page.server.put_blob(sgm), {k: {"dims": list(v.shape), "b64": base64.b64encode(
            np.ascontiguousarray(v, "<f4").tobytes()).decode("ascii")} for k, v in feeds.items()}])
        rows.append(c)
    assert len(rows) > 50
    results = page.evaluate("([b]) => window.sgw.compareMany(b)", [batch])
    bad = [(table.case_id(c), r) for c, r in zip(rows, results)
           if "diff" not in r or not r["diff"] <= max(c.tol, 1e-5)]
    print(json.dumps({"cases": len(rows), "worst": max(r.get("diff", 0) for r in results)}))
    assert not bad, bad


def test_no_adapter_is_a_backend_error_and_falls_back(page):
    url = page.server.put_blob((FIXTURES / "tiny_cnn.sgm").read_bytes())
    none, thrown, fallback = page.evaluate("([u]) => window.sgw.withoutAdapter(u)", [url])
    assert none["code"] == "backend" and "found no adapter" in none["message"], none
    assert thrown["code"] == "backend" and "adapter blew up" in thrown["message"], thrown
    assert fallback["backend"] == "wasm", fallback


def test_device_loss_falls_back_to_wasm(page):
    sgm = (FIXTURES / "tiny_cnn.sgm").read_bytes()
    res = page.evaluate("([u, f]) => window.sgw.deviceLoss(u, f)", [page.server.put_blob(sgm), feeds_for(sgm, 1)])
    assert res["backend"] == "wasm" and "running on wasm" in res["reason"], res
    assert any("running on wasm" in w for w in res["warned"])
    assert res["macs"] > 0  # the wasm session's own statistics
    for name, want in res["before"].items():
        want = np.asarray(want)
        for run in ("after", "again"):
            got = np.asarray(res[run][name])
            assert np.max(np.abs(got - want)) <= TOLERANCE * max(np.max(np.abs(want)), 1e-30)
