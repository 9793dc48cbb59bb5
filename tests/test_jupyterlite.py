"""`make lite`'s offline JupyterLite site, opened in headless Chromium: the "Faces in the browser"
notebook runs top to bottom (`%pip install sparsegate` from the site's own index, BlazeFace on the
bundled photo, boxes as SVG, per-layer MACs), its face box is within 10 px of CPython's on the
same photo, and no request leaves 127.0.0.1."""
import json
import re
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import build_lite
    finally:
        sys.path.pop(0)
    return build_lite.build(tmp_path_factory.mktemp("lite"))


def _cpython_face() -> list[float]:
    import sparsegate as sg
    from sparsegate import zoo
    from sparsegate.vision import detect, images
    sgm = zoo.cache_dir() / "blazeface.sgm"  # what the site bundles (build_lite converts it)
    with sg.Session(sgm) as sess:
        x, t = images.preprocess(images.sample_images()["astronaut"], sess.metadata["preprocess"])
        (face,) = detect.decode(sess.metadata, sess.run(x), t)
    return face["box"]


def test_faces_notebook_runs_offline_and_finds_cpythons_face(site):
    from browser_util import launch_chromium
    from sparsegate.tools.serve import Server
    assert (site / "files" / "faces.ipynb").exists() and (site / "static" / "pyodide" / "pyodide.mjs").exists()
    config = json.loads((site / "jupyter-lite.json").read_text())["jupyter-config-data"]
    kernel = config["litePluginSettings"]["@jupyterlite/pyodide-kernel-extension:kernel"]
    assert kernel["disablePyPIFallback"] is True and kernel["pyodideUrl"].startswith("./static/pyodide/")
    want = _cpython_face()
    server = Server(site)
    browser = launch_chromium()
    try:
        context = browser.new_context()
        requests, refused = [], []

        def guard(route):
            url = route.request.url
            requests.append(url)
            if url.startswith(server.url + "/"):
                route.continue_()
            else:
                refused.append(url)
                route.abort()
        context.route("**/*", guard)
        context.on("request", lambda r: requests.append(r.url))
        page = context.new_page()
        start = time.time()
        page.goto(server.url + "/lab/index.html?path=faces.ipynb")
        page.wait_for_function("window.jupyterapp && document.querySelector('.jp-Notebook')", timeout=60_000)
        page.wait_for_function("""() => { const w = window.jupyterapp.shell.currentWidget;
            const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
            return k && k.status === 'idle'; }""", timeout=120_000)
        page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
        outputs = "() => [...document.querySelectorAll('.jp-OutputArea-output')].map(e => e.textContent)"
        page.wait_for_function(f"() => ({outputs})().some(t => t.includes('faces:') || t.includes('Error'))",
                               timeout=120_000)
        first = time.time() - start
        page.wait_for_function(f"() => ({outputs})().some(t => t.includes('MACs executed') || t.includes('Error'))",
                               timeout=60_000)
        texts = page.evaluate(outputs)
        assert not [t for t in texts if "Error" in t], [t[-2000:] for t in texts if "Error" in t]
        (line,) = [t for t in texts if t.startswith("faces:")]
        faces = json.loads(re.match(r"faces: (.*)", line).group(1))
        assert len(faces) == 1, faces
        got = faces[0]["box"]
        assert max(abs(a - b) for a, b in zip(got, want)) <= 10, (got, want)
        assert page.evaluate("() => document.querySelectorAll('svg.sg-faces rect').length") == 1
        assert not refused, refused
        assert requests and all(u.startswith(server.url + "/") for u in requests), \
            sorted({u for u in requests if not u.startswith(server.url + "/")})
        size = sum(f.stat().st_size for f in site.rglob("*") if f.is_file())
        print(f"\nJupyterLite: site {size / 1e6:.1f} MB; first result (the face) {first:.1f} s after opening the "
              f"page; box {got} vs CPython {[round(v, 1) for v in want]}; {len(requests)} requests, all to 127.0.0.1")
        context.close()
    finally:
        browser.close()
        server.close()
