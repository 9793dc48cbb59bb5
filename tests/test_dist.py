"""Release artifacts: the wheel built from a clean tree (`git archive HEAD`) carries the runtime
and the license, and a fresh venv with that wheel alone runs a converted model with
`sparsegate run`, away from the checkout; commands that need an extra say which at once."""
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import sparsegate as sg
from dist_util import build_wheel, tree_from_head

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("dist")
    src = tree_from_head(tmp / "src")
    assert not (src / "pytools/sparsegate/runtime/sparsegate.wasm").exists()  # a build output, not in git
    return build_wheel(src, tmp / "wheels")


def test_wheel_from_a_clean_tree_carries_the_runtime_and_license(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "sparsegate/runtime/sparsegate.wasm" in names
    assert any(n.endswith("LICENSE") and ".dist-info/" in n for n in names)
    assert not any(n.startswith(("tests/", "wasm/", "web/")) for n in names)
    meta = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    required = [l for l in meta.splitlines() if l.startswith("Requires-Dist:") and "extra ==" not in l]
    assert sorted(l.split()[1].split(">")[0] for l in required) == ["numpy", "wasmtime"], required
    assert all("Emscripten" in l for l in required)  # nothing to install in Pyodide


def test_fresh_venv_with_the_wheel_alone_runs_a_model(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run([str(venv / "bin/python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                          str(wheel)], capture_output=True, text=True)
    assert pip.returncode == 0, pip.stderr[-3000:]
    work = tmp_path / "work"  # away from the checkout: only the installed package is importable
    work.mkdir()
    sg.convert(sg.zoo.fetch("fashion_cnn"), work / "m.sgm", metadata=sg.zoo.info("fashion_cnn"))
    x = np.random.default_rng(0).standard_normal((1, 1, 28, 28)).astype(np.float32)
    np.save(work / "x.npy", x)
    cli = str(venv / "bin/sparsegate")

    def run(*args):
        return subprocess.run([cli, *args], cwd=work, capture_output=True, text=True, timeout=300)

    where = subprocess.run([str(venv / "bin/python"), "-c", "import sparsegate; print(sparsegate.__file__)"],
                           cwd=work, capture_output=True, text=True)
    assert str(venv) in where.stdout, where
    assert run("--version").stdout.strip() == f"sparsegate {sg.__version__}"
    out = run("run", "m.sgm", "--input", "x.npy", "--json")
    assert out.returncode == 0, out.stderr
    with sg.Session(work / "m.sgm") as sess:
        want = sess.run(x)["logits"].reshape(-1)
    assert json.loads(out.stdout)["results"][0].endswith(f"(class {int(want.argmax())})")
    for args, extra in ((["convert", "fashion_cnn", "-o", "y.sgm"], "convert"),
                        (["compress", "fashion_cnn", "--prune", "0.1", "-o", "y.sgm"], "convert"),
                        (["report", "fashion_cnn", "--calib", "x.npy", "-o", "r.html"], "report"),
                        (["demo"], "demo"),
                        (["run", "m.sgm", "--input", "photo.png"], "images"),
                        (["serve"], "app")):
        out = run(*args)
        assert out.returncode == 2 and f"pip install 'sparsegate[{extra}]'" in out.stderr, (args, out.stderr)
        assert len(out.stderr.strip().splitlines()) == 1, out.stderr  # one line, no traceback
