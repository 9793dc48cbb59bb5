"""The drivers that users call: `convert` (ONNX → `.sgm`), `compress` (ONNX → passes → `.sgm`
with a report), the calibration data they read (`calibration`) and the one runner that runs
candidate graphs for the passes (`runner`)."""
