"""Helpers shared by the test suites (ONNX conformance cases, …)."""
