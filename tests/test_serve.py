"""`sparsegate serve DIR` serves that folder and nothing outside it, with the headers threads
need; `sparsegate app` writes only into a new folder or one it made."""
import urllib.error
import urllib.request

import pytest

from sparsegate.errors import SparsegateError
from sparsegate.tools.app import build_app
from sparsegate.tools.serve import Server


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    (root / "index.html").write_text("<!doctype html>")
    (root / "m.wasm").write_bytes(b"\0asm")
    (root.parent / "secret.txt").write_text("outside")
    return root


@pytest.fixture(scope="module")
def server(folder):
    s = Server(root=folder)
    yield s
    s.close()


def _get(server, path, method="GET"):
    try:
        with urllib.request.urlopen(urllib.request.Request(server.url + path, method=method)) as r:
            r.read()
            return r.status, r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.headers


@pytest.mark.parametrize("path", ["/index.html", "/m.wasm", "/"])
def test_folder_files_are_served_isolated(server, path):
    status, headers = _get(server, path)
    assert status == 200
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert headers["Cross-Origin-Embedder-Policy"] == "require-corp"
    assert _get(server, path, "HEAD")[0] == 200
    if path.endswith(".wasm"):
        assert headers["Content-Type"] == "application/wasm"


@pytest.mark.parametrize("path", ["/../secret.txt", "/%2E%2E/secret.txt", "/..%2Fsecret.txt", "/missing.js"])
def test_nothing_outside_the_folder_is(server, path):
    assert _get(server, path)[0] == 404


def test_app_never_writes_into_a_folder_it_did_not_make(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(SparsegateError, match="not empty and was not made by `sparsegate app`"):
        build_app(mine, progress=lambda *_: None)
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(SparsegateError, match="is not a folder"):
        build_app(tmp_path / "file", progress=lambda *_: None)
