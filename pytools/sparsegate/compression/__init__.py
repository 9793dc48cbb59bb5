"""The drivers that users call: `convert` (ONNX → `.sgm`), `compress` (ONNX → passes → `.sgm`
with a report), the calibration data they read (`calibration`) and the one runner that runs
candidate graphs for the passes (`runner`)."""
import sys

if sys.platform == "emscripten":  # Pyodide, JupyterLite: onnx and torch do not exist there
    from .. import _needs_cpython
    raise _needs_cpython("conversion and compression (sparsegate.compression)")
