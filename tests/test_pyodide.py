"""The same Python host and the same `.wasm` inside Pyodide (Node, offline, no numpy): the checkout's
package copied in, and the wheel installed by micropip with default options (real models, equal
to CPython)."""
import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUNNER = ROOT / "tests" / "pyodide" / "run.mjs"

SCRIPT = r'''
import json, sys
from sparsegate.runtime import Session
from sparsegate.errors import ModelFormatError, InputError
result = {"platform": sys.platform}
try:
    import numpy
    result["numpy"] = True
except ImportError:
    result["numpy"] = False
fixture = json.load(open("/data/tiny_cnn.json"))
sess = Session("/data/tiny_cnn.sgm")
outs = sess.run({k: v["data"] for k, v in fixture["inputs"].items()})
result["outputs"] = {k: list(v) for k, v in outs.items()}
result["macs"] = sess.stats()["macs_dense"]
blob = open("/data/tiny_cnn.sgm", "rb").read()
try:
    Session(blob[: len(blob) // 2])
except ModelFormatError as e:
    result["truncated"] = str(e)
try:
    sess.run({k: [0.0] * 3 for k in fixture["inputs"]})
except InputError as e:
    result["bad_input"] = str(e)
print(json.dumps(result))
'''


def test_python_host_runs_in_pyodide_without_numpy(tmp_path):
    script = tmp_path / "check.py"
    script.write_text(SCRIPT)
    fixtures = ROOT / "tests" / "fixtures"
    proc = subprocess.run(["node", str(RUNNER), str(script), str(fixtures / "tiny_cnn.sgm"),
                           str(fixtures / "tiny_cnn.json")], capture_output=True, text=True,
                          timeout=300, cwd=RUNNER.parent)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["platform"] == "emscripten" and result["numpy"] is False
    expected = json.loads((fixtures / "tiny_cnn.json").read_text())["outputs"]
    for name, want in expected.items():
        got = result["outputs"][name]
        want = want["data"] if isinstance(want, dict) else want
        assert len(got) == len(want)
        assert max(abs(a - b) for a, b in zip(got, want)) < 1e-5, name
    assert result["macs"] > 0
    assert "truncated" in result["truncated"] or "size" in result["truncated"]
    assert "expected shape" in result["bad_input"]


# --- the wheel, installed in Pyodide by micropip with default options, on real models -------

WHEEL_SCRIPT = r'''
import base64, json, os, sys
from array import array
import js
result = {"platform": sys.platform}
try:
    import sparsegate
    result["before_install"] = sparsegate.__file__
except ImportError:
    result["before_install"] = None
import micropip
start = js.performance.now()
await micropip.install(WHEEL)  # default options: the wheel's own dependencies decide
result["install_ms"] = js.performance.now() - start
import sparsegate as sg
result["file"] = sg.__file__
try:
    import numpy
    result["numpy"] = True
except ImportError:
    result["numpy"] = False
def feed(name):
    x = array("f")
    with open(f"/data/{name}.f32", "rb") as f:
        x.frombytes(f.read())
    return x


def encoded(outs):
    return {k: base64.b64encode(v.tobytes()).decode("ascii") for k, v in outs.items()}


names = sorted(f[:-4] for f in os.listdir("/data") if f.endswith(".sgm"))
result["models"], result["async"] = {}, {}
for name in names:
    start = js.performance.now()
    outs = sg.Session(f"/data/{name}.sgm").run(feed(name))
    result["models"][name] = {"outputs": encoded(outs), "ms": js.performance.now() - start,
                              "done_at_ms": js.performance.now()}
for name in names:  # the runtime compiled and instantiated without blocking
    start = js.performance.now()
    sess = await sg.Session.create_async(f"/data/{name}.sgm")
    result["async"][name] = {"outputs": encoded(sess.run(feed(name))), "ms": js.performance.now() - start}
if os.path.exists("/data/big.wasm"):  # the runtime padded past the 8 MB a page's main thread compiles
    try:
        sg.Session("/data/blazeface.sgm", wasm="/data/big.wasm")
        result["big_sync"] = "ok"
    except sg.RuntimeFailure as e:
        result["big_sync"] = str(e)
    start = js.performance.now()
    sess = await sg.Session.create_async("/data/blazeface.sgm", wasm="/data/big.wasm")
    result["big_async"] = {"blazeface": {"outputs": encoded(sess.run(feed("blazeface"))),
                                         "ms": js.performance.now() - start}}
errors = {}
for call in ("convert", "compress"):
    try:
        getattr(sg, call)("/data/model.onnx", "/data/model.sgm")
    except sg.SparsegateError as e:
        errors[call] = str(e)
try:
    import sparsegate.compression.conversion
except sg.SparsegateError as e:
    errors["import"] = str(e)
result["errors"] = errors
print(json.dumps(result))
'''

MICROPIP = ROOT / "tests" / "pyodide" / "wheels"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """This working tree's wheel, built as `make dist` builds it."""
    from dist_util import build_wheel, tree_from_worktree
    tmp = tmp_path_factory.mktemp("wheel")
    return build_wheel(tree_from_worktree(tmp / "src"), tmp / "out")


def _micropip() -> Path:
    found = sorted(MICROPIP.glob("micropip-*.whl"))
    if not found:  # scripts/setup.sh downloads it: missing is a failure, not a skip
        pytest.fail(f"no micropip wheel in {MICROPIP}: run scripts/setup.sh")
    return found[-1]


def _inputs(tmp: Path, sgms: dict[str, Path]) -> dict[str, dict]:
    """Each model's .sgm and one real photo as its input (.f32) in `tmp`; CPython's outputs."""
    import numpy as np
    import sparsegate as sg
    from sparsegate.vision import images
    photos = {"blazeface": "astronaut", "mobilenetv2": "chelsea"}
    want = {}
    for name, sgm in sgms.items():
        with sg.Session(sgm) as sess:
            x, _ = images.preprocess(images.sample_images()[photos[name]], sess.metadata["preprocess"])
            want[name] = {k: np.asarray(v, np.float32).reshape(-1) for k, v in sess.run(x).items()}
        (tmp / f"{name}.sgm").write_bytes(Path(sgm).read_bytes())
        (tmp / f"{name}.f32").write_bytes(np.ascontiguousarray(x, "<f4").tobytes())
    return want


def _leb(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _big_runtime(dest: Path, pad_mb: int = 9) -> Path:
    """The runtime with a custom section of zeros appended: the same code, over the 8 MB that a
    browser's main thread may compile synchronously."""
    from dist_util import ROOT as root, RUNTIME
    name = b"sparsegate.padding"
    body = _leb(len(name)) + name + bytes(pad_mb << 20)
    dest.write_bytes((root / RUNTIME).read_bytes() + b"\x00" + _leb(len(body)) + body)
    return dest


def _compare(models: dict, want: dict) -> float:
    import base64
    import numpy as np
    worst = 0.0
    for name, expected in want.items():
        got = {k: np.frombuffer(base64.b64decode(v), "<f4") for k, v in models[name]["outputs"].items()}
        assert list(got) == list(expected), name
        for k, w in expected.items():
            assert got[k].shape == w.shape, (name, k)
            worst = max(worst, float(np.abs(got[k] - w).max()))
    return worst


def _check_result(result: dict, want: dict):
    assert result["platform"] == "emscripten"
    assert result["before_install"] is None  # nothing of the checkout: the wheel is what runs
    assert "site-packages/sparsegate/" in result["file"]
    assert result["numpy"] is False  # the npm package has no numpy: the host runs without it
    for call in ("convert", "compress", "import"):
        assert "needs CPython" in result["errors"][call] and "sparsegate.Session" in result["errors"][call], call
    assert set(result["models"]) == set(result["async"]) == set(want)
    assert _compare(result["async"], want) <= 1e-5  # Session.create_async: the same results
    assert _compare(result["big_async"], {"blazeface": want["blazeface"]}) <= 1e-5


@pytest.mark.slow
def test_wheel_installs_with_micropip_defaults_and_runs_real_models_in_node(
        wheel, blazeface_sgm, mobilenet_sgm, tmp_path):
    want = _inputs(tmp_path, {"blazeface": blazeface_sgm, "mobilenetv2": mobilenet_sgm})
    _big_runtime(tmp_path / "big.wasm")
    script = tmp_path / "check.py"
    script.write_text(WHEEL_SCRIPT)
    files = [str(p) for p in sorted(tmp_path.glob("*.sgm")) + sorted(tmp_path.glob("*.f32")) + [tmp_path / "big.wasm"]]
    proc = subprocess.run(["node", str(RUNNER), "--wheel", str(wheel), "--micropip", str(_micropip()),
                           str(script), *files], capture_output=True, text=True, timeout=300, cwd=RUNNER.parent)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    _check_result(result, want)
    worst = _compare(result["models"], want)
    assert worst <= 1e-5, worst
    assert result["big_sync"] == "ok"  # Node compiles any size synchronously
    first = min(m["done_at_ms"] for m in result["models"].values())
    print(f"\nPyodide (Node): wheel {wheel.stat().st_size / 1e3:.0f} kB installed in {result['install_ms']:.0f} ms; "
          f"first result {first / 1e3:.1f} s after Node started; "
          + ", ".join(f"{k} {m['ms']:.0f} ms (load + run)" for k, m in result["models"].items())
          + f"; create_async {result['async']['blazeface']['ms']:.0f} ms (blazeface), with a 9 MB runtime "
          f"{result['big_async']['blazeface']['ms']:.0f} ms; max |diff| vs CPython {worst:.1e}")


PAGE = """<!doctype html><meta charset="utf-8"><title>sparsegate in Pyodide</title>
<script type="module">
import { loadPyodide } from "/pyodide/pyodide.mjs";
window.sgCheck = async ({ script, files, wheel, micropip }) => {
  const out = [];
  const py = await loadPyodide({ indexURL: "/pyodide/", stdout: (s) => out.push(s), stderr: (s) => out.push(s) });
  await py.loadPackage(micropip, { messageCallback: () => {} });
  py.FS.mkdirTree("/data");
  for (const f of files) {
    const bytes = new Uint8Array(await (await fetch(f)).arrayBuffer());
    py.FS.writeFile("/data/" + f.split("/").pop(), bytes);
  }
  py.globals.set("WHEEL", wheel);
  try {
    await py.runPythonAsync(script);
  } catch (e) {
    return { error: String(e), out };
  }
  return { out };
};
window.sgReady = true;
</script>"""


def _site(tmp: Path, wheel: Path) -> Path:
    """A static folder for the page: Pyodide from the npm package, the wheels, the page."""
    import shutil
    site = tmp / "site"
    (site / "wheels").mkdir(parents=True)
    (site / "pyodide").symlink_to(RUNNER.parent / "node_modules" / "pyodide")
    shutil.copy2(wheel, site / "wheels" / wheel.name)
    shutil.copy2(_micropip(), site / "wheels" / _micropip().name)
    (site / "index.html").write_text(PAGE)
    return site


@pytest.fixture(scope="module")
def chromium():
    from browser_util import launch_chromium
    browser = launch_chromium()
    yield browser
    browser.close()


def _in_chromium(chromium, site: Path, script: str, files: list[Path]) -> tuple[dict, list[str]]:
    """Runs `script` in Pyodide on the page's main thread; (the JSON it printed, every URL the
    page requested)."""
    from sparsegate.tools.serve import Server
    server = Server(site)
    context = chromium.new_context()
    try:
        page = context.new_page()
        requests = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(server.url + "/index.html")
        page.wait_for_function("window.sgReady === true", timeout=30_000)
        wheel = next(p.name for p in (site / "wheels").glob("sparsegate-*.whl"))
        res = page.evaluate("(a) => window.sgCheck(a)", {
            "script": script, "files": [f"/data/{f.name}" for f in files],
            "wheel": f"{server.url}/wheels/{wheel}", "micropip": f"{server.url}/wheels/{_micropip().name}"})
        assert "error" not in res, (res["error"], res["out"][-20:])
        return json.loads(res["out"][-1]), requests
    finally:
        context.close()
        server.close()


@pytest.mark.slow
@pytest.mark.browser
def test_wheel_installs_with_micropip_defaults_and_runs_real_models_in_chromium(
        wheel, blazeface_sgm, mobilenet_sgm, chromium, tmp_path):
    site = _site(tmp_path, wheel)
    (site / "data").mkdir()
    want = _inputs(site / "data", {"blazeface": blazeface_sgm, "mobilenetv2": mobilenet_sgm})
    _big_runtime(site / "data" / "big.wasm")
    files = sorted((site / "data").iterdir())
    result, requests = _in_chromium(chromium, site, WHEEL_SCRIPT, files)
    _check_result(result, want)
    worst = _compare(result["models"], want)
    assert worst <= 1e-5, worst
    # The page's main thread refuses the 9 MB runtime synchronously (Chromium's own limit), and
    # the error says what to do; create_async loads it.
    assert "8MB" in result["big_sync"] and "create_async" in result["big_sync"], result["big_sync"]
    assert requests and all(u.startswith("http://127.0.0.1:") for u in requests), \
        [u for u in requests if not u.startswith("http://127.0.0.1:")]
    first = min(m["done_at_ms"] for m in result["models"].values())
    print(f"\nPyodide (Chromium, main thread): wheel installed in {result['install_ms']:.0f} ms; "
          f"first result {first / 1e3:.1f} s after the page opened; "
          + ", ".join(f"{k} {m['ms']:.0f} ms (load + run)" for k, m in result["models"].items())
          + f"; create_async {result['async']['blazeface']['ms']:.0f} ms (blazeface), with a 9 MB runtime "
          f"{result['big_async']['blazeface']['ms']:.0f} ms; max |diff| vs CPython {worst:.1e}")


def test_create_async_on_cpython_is_the_plain_constructor():
    import asyncio
    from sparsegate.runtime import Session
    fixture = ROOT / "tests" / "fixtures" / "tiny_cnn.sgm"
    import numpy as np
    x = json.loads(fixture.with_suffix(".json").read_text())["inputs"]
    feeds = {k: np.asarray(v["data"], np.float32).reshape(v["dims"])
             for k, v in x.items()}
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(1) as pool:  # a loop of its own (Playwright's may be running here)
        a = pool.submit(asyncio.run, Session.create_async(fixture)).result()
    with a, Session(fixture) as b:
        assert a.inputs == b.inputs and a.source == b.source
        for k, v in a.run(feeds).items():
            assert (v == b.run(feeds)[k]).all()
