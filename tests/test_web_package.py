"""The npm package as a web developer ships it: `npm pack` output installed into two tiny apps
(tests/web_apps/app), one bundled with esbuild and one with Vite (pinned devDependencies of
tests/web_apps), each served by a plain static server and driven in headless Chromium.

The esbuild app follows the recipe of web/README.md: esbuild does not emit `new URL(…,
import.meta.url)` assets, so the runtime files are copied next to the bundle and the session
worker is a second entry point. Vite emits everything by itself."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import numpy as np
import pytest

from browser_util import StaticServer, launch_chromium
from sparsegate.runtime import Session
from sparsegate.vision import images

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
APPS = ROOT / "tests/web_apps"
RUNTIME = ["sparsegate.wasm", "sparsegate-mt.mjs", "sparsegate-mt.wasm", "sparsegate-mt.worker.js"]


def test_npm_pack_lists_the_runtime_readme_and_license():
    out = subprocess.run(["npm", "pack", "--dry-run", "--json"], cwd=ROOT / "web", capture_output=True,
                         text=True, check=True)
    files = {f["path"] for f in json.loads(out.stdout)[0]["files"]}
    for name in RUNTIME + ["sparsegate-mt.worker.cjs", "index.js", "node.js", "worker.js", "index.d.ts"]:
        assert f"src/{name}" in files, name
    assert {"README.md", "LICENSE", "package.json"} <= files
    assert (ROOT / "web/LICENSE").read_text() == (ROOT / "LICENSE").read_text()


def test_npm_pack_refuses_a_package_without_the_runtime(tmp_path):
    web = tmp_path / "web"
    shutil.copytree(ROOT / "web", web, ignore=shutil.ignore_patterns("node_modules", "sparsegate*.wasm"))
    out = subprocess.run(["npm", "pack", "--dry-run"], cwd=web, capture_output=True, text=True)
    assert out.returncode != 0 and "cannot pack without the runtime" in out.stderr, out.stderr


def test_browser_entry_reaches_no_node_module():
    """The browser condition's module graph, walked from index.js: no `node:` import anywhere."""
    seen, todo = set(), [ROOT / "web/src/index.js", ROOT / "web/src/worker.js"]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for spec in re.findall(r"""(?:from|import)\s*\(?\s*["']([^"']+)["']""", path.read_text()):
            assert not spec.startswith("node:"), f"{path.relative_to(ROOT)} imports {spec}"
            if spec.startswith("."):
                todo.append((path.parent / spec).resolve())
    assert ROOT / "web/src/node/host.js" not in seen


# ---------------------------------------------------------------- the two apps

def _install(app: Path, tarball: Path):
    """node_modules of tests/web_apps (esbuild, vite), with sparsegate from the tarball."""
    modules = app / "node_modules"
    modules.mkdir()
    for entry in (APPS / "node_modules").iterdir():
        if entry.name != "sparsegate":
            (modules / entry.name).symlink_to(entry)
    with tarfile.open(tarball) as tar:
        tar.extractall(app / "unpacked")
    (app / "unpacked/package").rename(modules / "sparsegate")


@pytest.fixture(scope="module")
def apps(tmp_path_factory, mobilenet_sgm, yolo_sgm):
    if not (APPS / "node_modules").is_dir():
        pytest.fail("tests/web_apps/node_modules is missing: run scripts/setup.sh (npm ci there)")
    tmp = tmp_path_factory.mktemp("web_apps")
    subprocess.run(["npm", "pack", "--silent", "--pack-destination", str(tmp)], cwd=ROOT / "web", check=True,
                   capture_output=True)
    (tarball,) = tmp.glob("sparsegate-*.tgz")
    app = tmp / "app"
    shutil.copytree(APPS / "app", app)
    shutil.copy(APPS / "package.json", app)
    _install(app, tarball)
    built = {}
    bin_ = app / "node_modules/.bin"
    out = app / "dist-esbuild"
    subprocess.run([str(bin_ / "esbuild"), "main.js", "node_modules/sparsegate/src/worker.js", "--bundle",
                    "--format=esm", "--platform=browser", "--entry-names=[name]", f"--outdir={out}"], cwd=app, check=True,
                   capture_output=True)
    for f in RUNTIME:
        shutil.copy(app / "node_modules/sparsegate/src" / f, out)
    shutil.copy(app / "index.html", out)
    built["esbuild"] = out
    subprocess.run([str(bin_ / "vite"), "build", "--outDir", "dist-vite", "--logLevel", "error"], cwd=app,
                   check=True, capture_output=True)
    built["vite"] = app / "dist-vite"
    x, _ = images.preprocess(images.sample_images()["chelsea"], Session(str(mobilenet_sgm)).metadata["preprocess"])
    for dist in built.values():
        shutil.copy(mobilenet_sgm, dist / "mobilenetv2.sgm")
        shutil.copy(yolo_sgm, dist / "yolov8n.sgm")
        (dist / "chelsea.f32").write_bytes(np.ascontiguousarray(x, "<f4").tobytes())
    return built, x


@pytest.fixture(scope="module")
def chromium():
    browser = launch_chromium()
    yield browser
    browser.close()


def _open(chromium, dist: Path, isolated: bool):
    server = StaticServer(dist, isolated)
    context = chromium.new_context()
    page = context.new_page()
    console = []
    page.on("console", lambda m: console.append((m.type, m.text)))
    page.on("pageerror", lambda e: console.append(("pageerror", str(e))))
    page.goto(server.url + "/index.html")
    page.wait_for_function("window.sgAppReady === true", timeout=30_000)
    return server, context, page, console


def _call(page, method, **args):
    res = page.evaluate(f"(a) => window.sgApp.{method}(a)", args)
    if isinstance(res, dict) and "error" in res:
        raise AssertionError(f"{method} failed in the page: {res['error']}")
    return res


@pytest.mark.parametrize("bundler", ["esbuild", "vite"])
@pytest.mark.parametrize("isolated", [True, False], ids=["isolated", "plain"])
def test_app_classifies_like_cpython(apps, chromium, mobilenet_sgm, bundler, isolated):
    built, x = apps
    want = np.argsort(-Session(str(mobilenet_sgm)).run({"input": x})["logits"].reshape(-1))[:5].tolist()
    server, context, page, console = _open(chromium, built[bundler], isolated)
    try:
        r = _call(page, "classify", model="mobilenetv2.sgm", input="chelsea.f32", threads=2)
        assert r["top5"] == want
        assert r["type"] == "float32" and r["dims"] == [1, 1000]
        warnings = [t for kind, t in console if kind == "warning"]
        if isolated:
            assert r["info"]["build"] == "sparsegate-mt" and r["info"]["threads"] == 2, r["info"]
            assert not warnings, console
        else:
            assert r["info"]["build"] == "sparsegate.wasm" and r["info"]["threads"] == 1, r["info"]
            assert len(warnings) == 1 and "not crossOriginIsolated" in warnings[0], console
        assert not [c for c in console if c[0] in ("error", "pageerror")], console
    finally:
        context.close()
        server.close()


@pytest.mark.parametrize("bundler", ["esbuild", "vite"])
def test_worker_mode_keeps_the_page_responsive(apps, chromium, bundler):
    """YOLOv8n ten times: in worker mode no long task (over 50 ms) at all; on the page's thread the
    runs block it (one long task: awaiting a synchronous run yields no macrotask between runs)."""
    built, _ = apps
    server, context, page, console = _open(chromium, built[bundler], False)
    try:
        on_page = _call(page, "longTasks", model="yolov8n.sgm", runs=10, worker=False)
        in_worker = _call(page, "longTasks", model="yolov8n.sgm", runs=10, worker=True)
    finally:
        context.close()
        server.close()
    assert on_page["tasks"] and sum(on_page["tasks"]) > 10 * 20, on_page
    assert in_worker["tasks"] == [], in_worker


def test_worker_mode_classifies_like_the_page(apps, chromium, mobilenet_sgm):
    built, x = apps
    want = np.argsort(-Session(str(mobilenet_sgm)).run({"input": x})["logits"].reshape(-1))[:5].tolist()
    server, context, page, console = _open(chromium, built["vite"], True)
    try:
        r = _call(page, "classify", model="mobilenetv2.sgm", input="chelsea.f32", threads=2, worker=True)
    finally:
        context.close()
        server.close()
    assert r["top5"] == want
    assert r["info"]["worker"] is True and r["info"]["threads"] == 2, r["info"]


def test_cached_model_is_not_requested_again(apps, chromium):
    built, _ = apps
    server, context, page, console = _open(chromium, built["vite"], False)
    try:
        assert _call(page, "cached", model="mobilenetv2.sgm") == ["input"]
        page.reload()
        page.wait_for_function("window.sgAppReady === true", timeout=30_000)
        assert _call(page, "cached", model="mobilenetv2.sgm") == ["input"]
    finally:
        context.close()
        server.close()
    assert [p for p in server.log if p.endswith(".sgm")] == ["/mobilenetv2.sgm"], server.log
