"""Bad input never traps, crashes or hangs: corrupt `.sgm` files and unsupported ONNX models
give clear errors in Python (wasmtime) and in JS (Node)."""
import json
import subprocess
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import sparsegate
from sparsegate.errors import SparsegateError, UnsupportedError
from sparsegate.runtime import Session

from mutations import mutations

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def model_bytes(fashion_sgm):
    return Path(fashion_sgm).read_bytes()


def test_mutated_files_fail_cleanly_in_python(model_bytes):
    cases = mutations(model_bytes)
    assert len(cases) >= 100
    refused = 0
    for name, blob in cases:
        t0 = time.perf_counter()
        try:
            sess = Session(blob)
            x = np.full(sess.inputs[0]["shape"], 0.5, np.float32)
            sess.run({sess.inputs[0]["name"]: x})
        except SparsegateError as e:
            assert str(e), name
            refused += 1
        assert time.perf_counter() - t0 < 5, f"{name}: took too long (hang?)"
    # Truncations, random bytes and most flips must be refused, not silently accepted.
    assert refused >= len(cases) * 0.6, f"only {refused} of {len(cases)} mutations refused"


def test_mutated_files_fail_cleanly_in_node(model_bytes, tmp_path):
    for i, (_, blob) in enumerate(mutations(model_bytes)):
        (tmp_path / f"m{i:03d}.sgm").write_bytes(blob)
    proc = subprocess.run(["node", str(ROOT / "tests/js/load_each.mjs"), str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads(proc.stdout)
    others = {k: v for k, v in results.items() if v.startswith("OTHER")}
    assert not others, f"not clean errors: {list(others.items())[:5]}"
    assert sum(v.startswith("error") for v in results.values()) >= len(results) * 0.6


def test_error_messages_say_what_is_wrong(model_bytes):
    with pytest.raises(SparsegateError, match="truncated|too short|size"):
        Session(model_bytes[:len(model_bytes) // 2])
    with pytest.raises(SparsegateError, match="magic|not an .sgm"):
        Session(b"ONNX" + model_bytes[4:])


def test_unsupported_onnx_ops_are_all_listed(tmp_path):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    nodes = [helper.make_node("Relu", ["x"], ["a"], name="ok_relu"),
             helper.make_node("Det", ["a"], ["b"], name="my_det"),
             helper.make_node("Relu", ["b"], ["c"], name="ok_relu2"),
             helper.make_node("Hardmax", ["c"], ["y"], name="my_hardmax")]
    model = helper.make_model(helper.make_graph(nodes, "g", [x], [y]),
                              opset_imports=[helper.make_opsetid("", 13)])
    path = tmp_path / "bad.onnx"
    onnx.save(model, path)
    with pytest.raises(UnsupportedError) as err:
        sparsegate.convert(path, tmp_path / "bad.sgm")
    text = str(err.value)
    assert "my_det" in text and "Det" in text and "my_hardmax" in text and "Hardmax" in text
    assert not (tmp_path / "bad.sgm").exists()


def test_unsupported_onnx_error_in_cli(tmp_path, capsys):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    model = helper.make_model(helper.make_graph([helper.make_node("Det", ["x"], ["y"], name="e1")], "g", [x], [y]),
                              opset_imports=[helper.make_opsetid("", 13)])
    onnx.save(model, tmp_path / "bad.onnx")
    from sparsegate.tools.cli import main
    assert main(["convert", str(tmp_path / "bad.onnx"), "-o", str(tmp_path / "bad.sgm")]) == 2
    assert "e1" in capsys.readouterr().err


def test_onnx_file_given_to_the_runtime_gets_a_hint(tmp_path):
    onnx_bytes = (sparsegate.zoo.fetch("fashion_cnn")).read_bytes()
    with pytest.raises(SparsegateError, match="sparsegate convert"):
        Session(onnx_bytes)


def test_hostile_files_get_the_same_error_code_in_both_hosts():
    """scripts/bad_inputs.py: every file refused (or run) alike by CPython and Node, no trap or
    foreign exception, and docs/bad-inputs.md is that table."""
    import sys
    sys.path.insert(0, str(ROOT / "scripts"))
    import bad_inputs
    results = bad_inputs.outcomes()
    assert len(results) >= 25
    for r in results:
        assert "OTHER" not in (r["python_code"], r["js_code"]), r
        assert r["python_code"] == r["js_code"], r
    refused = [r for r in results if r["python_code"] != "ok"]
    assert len(refused) >= len(results) - 2, [r["file"] for r in results if r["python_code"] == "ok"]
    assert bad_inputs.DOC.read_text() == bad_inputs.markdown(results), \
        "docs/bad-inputs.md is stale: run python3 scripts/bad_inputs.py --write"
