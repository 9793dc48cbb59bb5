"""`sparsegate serve` serves the example pages and the JS package, never the rest of the checkout."""
import urllib.error
import urllib.request

import pytest

from sparsegate.tools.serve import APP_PATHS, Server


@pytest.fixture(scope="module")
def server():
    s = Server(allow=APP_PATHS)
    yield s
    s.close()


def _status(server, path, method="GET"):
    try:
        with urllib.request.urlopen(urllib.request.Request(server.url + path, method=method)) as r:
            r.read()
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


@pytest.mark.parametrize("path", ["/examples/detection/index.html", "/web/src/index.js", "/web/src/sparsegate.wasm"])
def test_app_files_are_served(server, path):
    assert _status(server, path) == 200
    assert _status(server, path, "HEAD") == 200


@pytest.mark.parametrize("path", ["/.git/config", "/README.md", "/pytools/sparsegate/__init__.py", "/",
                                  "/examples/../.git/config", "/web/src/../../.git/config",
                                  "/examples%2F..%2F.git/config", "/web/package.json", "/examplesX/a"])
def test_everything_else_is_not(server, path):
    assert _status(server, path) == 404
    assert _status(server, path, "HEAD") == 404
