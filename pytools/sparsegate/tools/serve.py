"""`sparsegate serve`: a local web server for a static folder (the detection app that
`sparsegate app` lays out, by default) and for the browser tests.

Serves a folder from 127.0.0.1 with the wasm MIME type and the cross-origin isolation headers
(COOP/COEP/CORP) that thread builds need. For the tests, which serve the checkout, also:
- `/models/<zoo name>.sgm`: the zoo model, converted on first request (cached);
- `/samples/<name>.png`: scikit-image's sample photos;
- in-memory blobs registered by tests (`put_blob`).
"""
from __future__ import annotations

import functools
import hashlib
import io
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .. import zoo
from ..vision.images import sample_images

ROOT = Path(__file__).resolve().parents[3]  # the checkout: pytools/sparsegate/tools/serve.py


def _zoo_model(name: str) -> bytes | None:
    from ..compression.conversion import convert  # onnx: needed only for conversion
    if name not in zoo.names():
        return None
    out = zoo.cache_dir() / f"{name}.sgm"
    src = zoo.fetch(name)
    if not out.exists() or out.stat().st_mtime < src.stat().st_mtime:
        convert(src, out, metadata=zoo.info(name))
    return out.read_bytes()


def _sample_png(name: str) -> bytes | None:
    from PIL import Image  # Pillow: the [images] extra
    photo = sample_images().get(name)
    if photo is None:
        return None
    buf = io.BytesIO()
    Image.fromarray(photo).save(buf, format="PNG")
    return buf.getvalue()


class Handler(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".wasm": "application/wasm",
                      ".js": "text/javascript", ".mjs": "text/javascript",
                      ".sgm": "application/octet-stream", ".json": "application/json"}

    def end_headers(self):
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def _send(self, body: bytes | None, content_type: str):
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path.startswith("/__blob/"):
            return self._send(self.server.blobs.get(path[len("/__blob/"):]), "application/octet-stream")
        if path.startswith("/models/") and path.endswith(".sgm"):
            return self._send(_zoo_model(path[len("/models/"):-4]), "application/octet-stream")
        if path.startswith("/samples/") and path.endswith(".png"):
            return self._send(_sample_png(path[len("/samples/"):-4]), "image/png")
        super().do_GET()

    def log_message(self, *args):
        if self.server.verbose:
            super().log_message(*args)


class Server:
    """A threaded server on 127.0.0.1 (port 0 = a free one) running in the background."""

    def __init__(self, root: Path = ROOT, port: int = 0, verbose: bool = False):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), functools.partial(Handler, directory=str(root)))
        self.httpd.daemon_threads = True
        self.httpd.blobs = {}
        self.httpd.verbose = verbose
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def put_blob(self, data: bytes, suffix: str = ".sgm") -> str:
        """Serves `data` and returns its path (content-addressed, so reuse is free)."""
        key = hashlib.sha256(data).hexdigest()[:24] + suffix
        self.httpd.blobs[key] = bytes(data)
        return f"/__blob/{key}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
