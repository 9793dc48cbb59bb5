"""The same Python host and the same `.wasm` inside Pyodide (Node, offline, no numpy)."""
import json
import subprocess
from pathlib import Path

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
