"""Runs `.sgm` models in headless Chromium through the JS package, for any test.

    from browser_util import browser  # noqa: F401  (the session-wide pytest fixture)

    def test_x(browser):
        outs = browser.run(sgm_bytes, {"input": x})      # name -> np.ndarray (float32)

One threaded http.server serves the repository from 127.0.0.1 (wasm MIME type, COOP/COEP/CORP
headers so that thread builds can run) plus in-memory model blobs; one Chromium (Debian's,
never a downloaded one) opens web/test/harness.html, which imports /web/src/index.js. Both
live for the whole pytest session; sessions in the page are cached per model.
"""
from __future__ import annotations

import base64
import functools
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from sparsegate.tools.serve import Server

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
HARNESS = "/web/test/harness.html"
# WebGPU without GPU hardware: Debian's Chromium on SwiftShader (Vulkan), with --disable-gpu
# dropped from CHROMIUM_ARGS (launch_chromium(webgpu=True)).
WEBGPU_ARGS = ["--enable-unsafe-webgpu", "--use-webgpu-adapter=swiftshader", "--enable-features=Vulkan"]


class BrowserError(Exception):
    """An error raised inside the page; `code` is the SparsegateError code (or None)."""

    def __init__(self, message: str, code: str | None = None, name: str | None = None):
        super().__init__(message)
        self.code, self.js_name = code, name


class RepoServer(Server):
    """Serves the repository root and registered blobs on a free port of 127.0.0.1."""

    def __init__(self, root: Path = ROOT):
        super().__init__(root)


def _encode(arr) -> dict:
    a = np.ascontiguousarray(arr, dtype="<f4")
    return {"dims": list(a.shape), "b64": base64.b64encode(a.tobytes()).decode("ascii")}


def _decode(t: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(t["b64"]), dtype="<f4").reshape(t["dims"]).copy()


class BrowserRunner:
    """One Chromium page with the harness loaded. Not thread-safe (Playwright's sync API)."""

    def __init__(self, server: RepoServer, extra_args: list[str] | None = None):
        self.server = server
        self.console: list[str] = []
        self.browser = launch_chromium(extra_args)
        try:
            self.page = self.browser.new_page()
            self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
            self.page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))
            self.page.goto(server.url + HARNESS)
            self.page.wait_for_function("window.sgReady === true", timeout=30_000)
        except BaseException:
            self.browser.close()
            raise

    def _call(self, method: str, *args):
        res = self.page.evaluate(f"([a]) => window.sg.{method}(...a)", [list(args)])
        if isinstance(res, dict) and "error" in res:
            e = res["error"]
            raise BrowserError(e["message"], e.get("code"), e.get("name"))
        return res

    def model_url(self, sgm_bytes: bytes) -> str:
        return self.server.put_blob(sgm_bytes)

    def info(self, sgm_bytes: bytes) -> dict:
        """{inputs: [{name, dims}], outputs, metadata, backend} from the page's Session."""
        return self._call("info", self.model_url(sgm_bytes))

    def run(self, sgm_bytes: bytes, feeds: dict) -> dict[str, np.ndarray]:
        """Runs the model on `feeds` (name -> array) in the page; name -> float32 array."""
        return self.run_timed(sgm_bytes, feeds)[0]

    def run_timed(self, sgm_bytes: bytes, feeds: dict) -> tuple[dict[str, np.ndarray], float]:
        """Like run, plus the milliseconds `Session.run` took in the page."""
        res = self._call("run", self.model_url(sgm_bytes),
                         {k: _encode(v) for k, v in feeds.items()})
        return {k: _decode(v) for k, v in res["outputs"].items()}, res["ms"]

    def set_gate(self, sgm_bytes: bytes, gate: float) -> None:
        self._call("setGate", self.model_url(sgm_bytes), gate)

    def stats(self, sgm_bytes: bytes) -> dict:
        return self._call("stats", self.model_url(sgm_bytes))

    def release(self, sgm_bytes: bytes) -> None:
        self._call("release", self.model_url(sgm_bytes))

    def close(self):
        self.browser.close()


def browser_available() -> str | None:
    """None when Chromium and Playwright are usable, else the reason they are not."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        return f"no Chromium at {CHROMIUM}"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    if not (ROOT / "web/src/sparsegate.wasm").exists():
        return "web/src/sparsegate.wasm is missing (run `make wasm`)"
    return None


_shared: dict = {}


def launch_chromium(extra_args: list[str] | None = None, webgpu: bool = False):
    """A new headless Chromium from the process's one Playwright: its sync API refuses to start
    a second Playwright while one is running, and the shared runner keeps one for the session.
    `webgpu`: without --disable-gpu and with WEBGPU_ARGS (SwiftShader's adapter)."""
    if "playwright" not in _shared:
        from playwright.sync_api import sync_playwright
        _shared["playwright"] = sync_playwright().start()
    base = [a for a in CHROMIUM_ARGS if a != "--disable-gpu"] + WEBGPU_ARGS if webgpu else CHROMIUM_ARGS
    return _shared["playwright"].chromium.launch(executable_path=CHROMIUM, headless=True,
                                                 args=base + (extra_args or []))


def shared_runner() -> BrowserRunner:
    """The process-wide server and browser, started on first use."""
    if "runner" not in _shared:
        reason = browser_available()
        if reason:  # `make test` installs all of these: a missing one is a failure, not a skip
            pytest.fail(reason)
        server = RepoServer()
        try:
            _shared["runner"] = BrowserRunner(server)
        except BaseException:
            server.close()
            raise
        _shared["server"] = server
    return _shared["runner"]


def close_shared() -> None:
    runner, server = _shared.pop("runner", None), _shared.pop("server", None)
    if runner:
        runner.close()
    if server:
        server.close()
    playwright = _shared.pop("playwright", None)
    if playwright:
        playwright.stop()


@pytest.fixture(scope="session")
def browser():
    """The session-wide BrowserRunner (one Chromium for every test module that imports this)."""
    yield shared_runner()
    close_shared()


class StaticServer:
    """A plain static server of one folder; `isolated` adds COOP/COEP; it logs every path."""

    def __init__(self, root: Path, isolated: bool):
        log = self.log = []

        class Handler(SimpleHTTPRequestHandler):
            extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".wasm": "application/wasm",
                              ".js": "text/javascript", ".mjs": "text/javascript"}

            def end_headers(self):
                if isolated:
                    self.send_header("Cross-Origin-Opener-Policy", "same-origin")
                    self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
                super().end_headers()

            def do_GET(self):
                log.append(self.path)
                super().do_GET()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
