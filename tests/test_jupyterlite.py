"""`make lite`'s offline JupyterLite site, opened in headless Chromium: the "Faces in the browser"
notebook runs top to bottom (`%pip install sparsegate` from the site's own index, BlazeFace on the
bundled photo, boxes as SVG, per-layer MACs, the gated BlazeFace over five gate values), its face
box is within 10 px of CPython's on the same photo, the gated model executes fewer MACs at each
higher gate and still finds the face; the "Compress on the desktop, run in the browser" notebook
runs fashion_cnn as fp32, int8, pruned and pruned int8 side by side, and its top-1 agreement and
accuracy counts equal what CPython computes on the same files; no request leaves 127.0.0.1."""
import json
import re
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.browser]
KERNEL = "@jupyterlite/pyodide-kernel-extension:kernel"
OUTPUTS = "() => [...document.querySelectorAll('.jp-OutputArea-output')].map(e => e.textContent)"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import build_lite
    finally:
        sys.path.pop(0)
    site = build_lite.build(tmp_path_factory.mktemp("lite"))
    config = json.loads((site / "jupyter-lite.json").read_text())["jupyter-config-data"]
    kernel = config["litePluginSettings"][KERNEL]
    assert kernel["disablePyPIFallback"] is True and kernel["pyodideUrl"].startswith("./static/pyodide/")
    assert (site / "static" / "pyodide" / "pyodide.mjs").exists()
    return site


@pytest.fixture(scope="module")
def lite(site):
    """Opens a notebook of the site in a fresh browser context, runs every cell, and returns
    (output texts, seconds from opening the page to the first output holding `first`, page);
    asserts that no request left 127.0.0.1."""
    from browser_util import launch_chromium
    from sparsegate.tools.serve import Server
    server = Server(site)
    browser = launch_chromium()
    contexts = []

    def run(notebook: str, first: str, last: str):
        assert (site / "files" / notebook).exists()
        context = browser.new_context()
        contexts.append(context)
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
        page.goto(f"{server.url}/lab/index.html?path={notebook}")
        page.wait_for_function("window.jupyterapp && document.querySelector('.jp-Notebook')", timeout=60_000)
        page.wait_for_function("""() => { const w = window.jupyterapp.shell.currentWidget;
            const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
            return k && k.status === 'idle'; }""", timeout=120_000)
        page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
        page.wait_for_function(f"() => ({OUTPUTS})().some(t => t.includes({first!r}) || t.includes('Error'))",
                               timeout=120_000)
        seconds = time.time() - start
        page.wait_for_function(f"() => ({OUTPUTS})().some(t => t.includes({last!r}) || t.includes('Error'))",
                               timeout=60_000)
        texts = page.evaluate(OUTPUTS)
        assert not [t for t in texts if "Error" in t], [t[-2000:] for t in texts if "Error" in t]
        assert not refused, refused
        assert requests and all(u.startswith(server.url + "/") for u in requests), \
            sorted({u for u in requests if not u.startswith(server.url + "/")})
        print(f"\n{notebook}: every cell ran; {len(requests)} requests, all to 127.0.0.1")
        return texts, seconds, page

    try:
        yield run
    finally:
        for c in contexts:
            c.close()
        browser.close()
        server.close()


def _cpython_faces(sgm: Path, gates=(None,)) -> list[list[dict]]:
    """CPython's faces on the astronaut photo, one list per gate (None: not set)."""
    import sparsegate as sg
    from sparsegate.vision import detect, images
    with sg.Session(sgm) as sess:
        x, t = images.preprocess(images.sample_images()["astronaut"], sess.metadata["preprocess"])
        found = []
        for g in gates:
            if g is not None:
                sess.set_gate(g)
            found.append(detect.decode(sess.metadata, sess.run(x), t))
    return found


def _near(a, b, px=10) -> bool:
    return max(abs(u - v) for u, v in zip(a, b)) <= px


GATE_ROW = re.compile(r"^\s*(\d\.\d\d)\s+([\d,]+)\s+([\d,]+)\s+[\d.]+%\s+(yes|no)\s+(\[[^\]]*\]|-)\s*$")


def test_faces_notebook_runs_offline_and_finds_cpythons_face(site, lite):
    from sparsegate import zoo
    # what the site bundles (build_lite makes both with sparsegate app's functions, in the zoo cache)
    ((want,),) = _cpython_faces(zoo.cache_dir() / "blazeface.sgm")
    gates = (0, 0.25, 0.5, 0.75, 1)
    gated_want = _cpython_faces(zoo.cache_dir() / "blazeface-gated-0.3.sgm", gates)
    texts, first, page = lite("faces.ipynb", "faces:", "MACs; the face is")
    (line,) = [t for t in texts if t.startswith("faces:")]
    faces = json.loads(re.match(r"faces: (.*)", line).group(1))
    assert len(faces) == 1, faces
    got = faces[0]["box"]
    assert _near(got, want["box"]), (got, want)
    assert page.evaluate("() => document.querySelectorAll('svg.sg-faces rect').length") == 1

    (table,) = [t for t in texts if "MACs; the face is" in t]
    rows = [GATE_ROW.match(r) for r in table.strip().splitlines()[1:-1]]
    assert len(rows) == len(gates) and all(rows), table
    assert [float(r.group(1)) for r in rows] == list(gates)
    executed = [int(r.group(2).replace(",", "")) for r in rows]
    dense = {int(r.group(3).replace(",", "")) for r in rows}
    assert dense == {executed[0]}, table  # gate 0 is the dense model
    assert all(a > b for a, b in zip(executed, executed[1:])), table
    for r, cpython in zip(rows, gated_want):
        assert r.group(4) == "yes" and len(cpython) == 1, table
        assert _near(json.loads(r.group(5)), cpython[0]["box"]), (table, cpython)
    size = sum(f.stat().st_size for f in site.rglob("*") if f.is_file())
    print(f"JupyterLite: site {size / 1e6:.1f} MB; first result (the face) {first:.1f} s after opening the "
          f"page; box {got} vs CPython {[round(v, 1) for v in want['box']]}\n{table.strip()}")


def _cpython_variants(files: Path) -> dict[str, dict]:
    """Top-1 agreement with fp32 and correct labels, as counts, of each model the compress
    notebook runs, computed in CPython on the site's own files."""
    import numpy as np
    import sparsegate as sg
    x, y = np.load(files / "fashion_test_x.npy"), np.load(files / "fashion_test_y.npy")
    preds = {}
    for name in ("fashion_fp32", "fashion_int8", "fashion_pruned", "fashion_pruned_int8"):
        with sg.Session(files / f"{name}.sgm") as sess:
            preds[name] = np.array([int(np.argmax(sess.run(x[i:i + 1])["logits"])) for i in range(len(x))])
    return {f"{k}.sgm": {"agree": int((p == preds["fashion_fp32"]).sum()), "correct": int((p == y).sum()),
                         "n": len(x)} for k, p in preds.items()}


def test_compress_notebook_agreement_equals_cpythons(site, lite):
    want = _cpython_variants(site / "files")
    texts, first, page = lite("compress.ipynb", "ran 4 models", "top-1 agreement with fp32")
    rows = page.evaluate("""() => [...document.querySelectorAll('table.sg-variants tr')].slice(1)
        .map(tr => [...tr.querySelectorAll('td')].map(td => td.textContent))""")
    assert [r[1] for r in rows] == list(want), rows
    count = re.compile(r"^(\d+)/(\d+) \(")
    table = [f"{'model':18} {'size':>8} {'MACs':>7} {'ms/run':>9} {'agreement':>17} {'accuracy':>17}"]
    for model, file, size, macs, ms, agree, correct in rows:
        w = want[file]
        assert count.match(agree).groups() == (str(w["agree"]), str(w["n"])), (file, agree, w)
        assert count.match(correct).groups() == (str(w["correct"]), str(w["n"])), (file, correct, w)
        table.append(f"{model:18} {size:>8} {macs:>7} {ms:>9} {agree:>17} {correct:>17}")
    assert want["fashion_fp32.sgm"]["agree"] == want["fashion_fp32.sgm"]["n"]
    print(f"compress.ipynb: first result {first:.1f} s after opening the page; agreement and accuracy "
          f"equal CPython's on the same files\n" + "\n".join(table))
