"""The pthreads build (`make wasm-mt`): same outputs as the single-thread build, in Node and in
a crossOriginIsolated Chromium page; a page that is not isolated warns and falls back to one
thread. Correctness only: the speed is `sparsegate bench`'s business (docs/benchmarks.md)."""
import base64
import functools
import os
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
MT = ROOT / "web/src/sparsegate-mt.mjs"

def _require_mt():
    # `make test` builds it: a missing build is a failure, not a skip.
    assert MT.exists(), "web/src/sparsegate-mt.mjs is missing: run `make wasm-mt`"


needs_mt = pytest.mark.usefixtures("mt_build")


@pytest.fixture
def mt_build():
    _require_mt()


@needs_mt
def test_node_two_threads_equal_one_thread(mobilenet_sgm, blazeface_sgm, fashion_sgm):
    models = ",".join(str(p) for p in (mobilenet_sgm, blazeface_sgm, fashion_sgm))
    env = dict(os.environ, SPARSEGATE_THREADS_MODELS=models)
    proc = subprocess.run(["node", "--test", "tests/js/threads.test.mjs"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    failed = [line for line in proc.stdout.splitlines() if line.startswith("not ok")]
    assert proc.returncode == 0, "\n".join(failed) + "\n" + proc.stdout[-6000:] + proc.stderr[-2000:]
    assert proc.stdout.count("\nok ") >= 7, proc.stdout[-3000:]


# ---------------------------------------------------------------- Chromium

COMPARE_JS = """async ([url, n]) => {
  const { Session } = await import("/web/src/index.js");
  const one = await Session.create(url, { threads: 1 });
  const two = await Session.create(url, { threads: n });
  const info = one.inputs[0];
  const size = info.dims.reduce((a, b) => a * b, 1);
  const data = Float32Array.from({ length: size }, (_, i) => Math.sin(0.37 * i));
  const feeds = { [info.name]: { data, dims: info.dims } };
  const a = await one.run(feeds), b = await two.run(feeds);
  const diff = {};
  for (const k of one.outputNames) {
    let d = 0;
    for (let i = 0; i < a[k].data.length; i++) d = Math.max(d, Math.abs(a[k].data[i] - b[k].data[i]));
    diff[k] = d;
  }
  const r = { isolated: crossOriginIsolated, one: one.backendInfo, two: two.backendInfo, diff,
              first: Array.from(a[one.outputNames[0]].data.slice(0, 4)) };
  one.release(); two.release();
  return r;
}"""


@pytest.mark.browser
@needs_mt
def test_chromium_isolated_two_threads_equal_one_thread(mobilenet_sgm, blazeface_sgm):
    from browser_util import shared_runner
    runner = shared_runner()
    for sgm in (mobilenet_sgm, blazeface_sgm):
        url = runner.server.put_blob(Path(sgm).read_bytes(), ".mt.sgm")
        r = runner.page.evaluate(COMPARE_JS, [url, 2])
        assert r["isolated"] is True
        assert r["one"]["build"] == "sparsegate.wasm" and r["one"]["threads"] == 1
        assert r["two"]["build"] == "sparsegate-mt" and r["two"]["threads"] == 2, r["two"]
        assert all(d == 0 for d in r["diff"].values()), (sgm, r["diff"])  # bit-identical
        assert np.all(np.isfinite(r["first"]))


class _NotIsolated(SimpleHTTPRequestHandler):
    """The repository without COOP/COEP headers: crossOriginIsolated is false there."""
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".wasm": "application/wasm",
                      ".js": "text/javascript", ".mjs": "text/javascript"}

    def log_message(self, *args):
        pass


@pytest.mark.browser
@needs_mt
def test_chromium_not_isolated_warns_and_falls_back(fashion_sgm):
    from browser_util import shared_runner
    runner = shared_runner()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_NotIsolated, directory=str(ROOT)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    page = runner.browser.new_page()
    console = []
    page.on("console", lambda m: console.append((m.type, m.text)))
    try:
        page.goto(url + "/web/test/harness.html")
        page.wait_for_function("window.sgReady === true", timeout=30_000)
        model = "data:application/octet-stream;base64," + base64.b64encode(Path(fashion_sgm).read_bytes()).decode()
        r = page.evaluate("""async (url) => {
          const { Session } = await import("/web/src/index.js");
          const asked = await Session.create(url, { threads: 2 });
          const auto = await Session.create(url);
          const res = { isolated: crossOriginIsolated, asked: asked.backendInfo, askedThreads: asked.threads,
                        auto: auto.backendInfo };
          const info = asked.inputs[0];
          const data = new Float32Array(info.dims.reduce((a, b) => a * b, 1)).fill(0.5);
          res.ran = (await asked.run({ [info.name]: { data, dims: info.dims } }))[asked.outputNames[0]].data.length;
          asked.release(); auto.release();
          return res;
        }""", model)
    finally:
        page.close()
        httpd.shutdown()
        httpd.server_close()
    assert r["isolated"] is False
    assert r["askedThreads"] == 1 and r["asked"]["build"] == "sparsegate.wasm"
    assert "crossOriginIsolated" in r["asked"]["reason"] and "Cross-Origin-Embedder-Policy" in r["asked"]["reason"]
    assert r["ran"] > 0
    warnings = [t for kind, t in console if kind == "warning"]
    assert len(warnings) == 1 and "not crossOriginIsolated" in warnings[0], console  # only the explicit ask warns
    assert r["auto"]["threads"] == 1 and "crossOriginIsolated" in r["auto"]["reason"]
