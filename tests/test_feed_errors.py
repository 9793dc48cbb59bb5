"""Every wrong feed → its InputError and message in Python (the JS table is
tests/js/feeds.test.mjs); names JS objects treat specially stay plain names."""
import json
import subprocess
from array import array
from pathlib import Path

import numpy as np
import pytest

from sgm_raw import sgm
from sparsegate.errors import InputError
from sparsegate.runtime import Session

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests/fixtures/tiny_cnn.sgm"  # x [1, 3, 8, 8]
X = np.zeros((1, 3, 8, 8), np.float32)

CASES = [
    ("int32 ndarray", {"x": X.astype(np.int32)}, "input 'x': expected dtype float32, got int32"),
    ("int64 ndarray", {"x": X.astype(np.int64)}, "input 'x': expected dtype float32, got int64"),
    ("uint8 ndarray", {"x": X.astype(np.uint8)}, "input 'x': expected dtype float32, got uint8"),
    ("bool ndarray", {"x": X.astype(bool)}, "input 'x': expected dtype float32, got bool"),
    ("strings", {"x": np.full((1, 3, 8, 8), "a")}, "input 'x': expected numbers, got an array of <U1"),
    ("shape", {"x": np.zeros((1, 3, 8, 9), np.float32)}, "input 'x': expected shape [1, 3, 8, 8], got [1, 3, 8, 9]"),
    ("rank", {"x": np.zeros((3, 8, 8), np.float32)}, "input 'x': expected shape [1, 3, 8, 8], got [3, 8, 8]"),
    ("length", {"x": array("f", [0.0] * 191)}, "input 'x': expected shape [1, 3, 8, 8] (192 values), got [191] (191 values)"),
    ("bytes", {"x": b"\0" * 768}, "input 'x': pass floats"),
    ("string feed", {"x": "hello"}, "input 'x': pass floats (an ndarray, a list or array('f')), not str"),
    ("ragged list", {"x": [[1.0], [1.0, 2.0]]}, "input 'x': not"),
    ("unknown input", {"x": X, "y": X}, "unknown input(s) ['y']; the model's inputs are ['x']"),
    ("missing input", {}, "missing input(s) ['x']; the model's inputs are ['x']"),
]


@pytest.mark.parametrize("what,feeds,message", CASES, ids=[c[0] for c in CASES])
def test_wrong_feed_is_an_input_error(what, feeds, message):
    sess = Session(str(TINY))
    with pytest.raises(InputError) as e:
        sess.run(feeds)
    assert message in str(e.value), (what, str(e.value))


def test_float64_and_lists_are_float_feeds():
    sess = Session(str(TINY))
    x = np.random.default_rng(0).standard_normal((1, 3, 8, 8))
    a = sess.run({"x": x})["logits"]
    b = sess.run({"x": x.astype(np.float32).tolist()})["logits"]
    np.testing.assert_array_equal(a, b)


def test_output_named_proto_is_an_output_in_js(tmp_path):
    """`__proto__` and `constructor` are names like any other for a JS output object."""
    model = sgm([("x", [1, 4], "input"), ("__proto__", [1, 4], "act"), ("constructor", [1, 4], "act")],
                [("Relu", "r", [0], [1], {}), ("Relu", "s", [1], [2], {})], [0], [1, 2])
    path = tmp_path / "proto.sgm"
    path.write_bytes(model)
    script = f"""
      import {{ Session }} from "{ROOT}/web/src/node.js";
      const s = await Session.create({json.dumps(str(path))});
      const out = await s.run({{ x: new Float32Array([-1, 2, -3, 4]) }});
      console.log(JSON.stringify({{ keys: Object.keys(out), proto: Array.from(out["__proto__"].data),
        isPlain: Object.getPrototypeOf(out) === Object.prototype }}));
    """
    got = json.loads(subprocess.run(["node", "--input-type=module", "-e", script], capture_output=True,
                                    text=True, check=True).stdout)
    assert got == {"keys": ["__proto__", "constructor"], "proto": [0, 2, 0, 4], "isPlain": True}


def test_a_batch_the_converter_fixed_is_named_in_both_hosts(tmp_path):
    """A dynamic batch dim becomes 1 at conversion; feeding another batch says so and how to
    reconvert, from Python and from JS (both read `fixed_dims` in the model's metadata)."""
    import onnx
    from onnx import TensorProto, helper

    import sparsegate
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])])
    src = tmp_path / "dynamic.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), src)
    path = tmp_path / "dynamic.sgm"
    sparsegate.convert(src, path)
    sess = Session(str(path))
    assert sess.metadata["fixed_dims"] == {"x": {"0": "N"}}
    with pytest.raises(InputError, match=r"expected shape \[1, 4\], got \[2, 4\]; dim 0 \(\"N\"\) "
                                         r"was dynamic in the ONNX model and fixed to 1"):
        sess.run({"x": np.zeros((2, 4), np.float32)})
    script = f"""
      import {{ Session }} from "{ROOT}/web/src/node.js";
      const s = await Session.create({json.dumps(str(path))});
      try {{ await s.run({{ x: {{ data: new Float32Array(8), dims: [2, 4] }} }}); }}
      catch (e) {{ console.log(e.message); }}
    """
    message = subprocess.run(["node", "--input-type=module", "-e", script], capture_output=True,
                             text=True, check=True).stdout
    assert 'got [2, 4]; dim 0 ("N") was dynamic in the ONNX model and fixed to 1' in message, message
    assert "input_shapes=" in message
