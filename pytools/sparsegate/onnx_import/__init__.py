"""ONNX -> IR importer (docs/ir.md). Knows ONNX and the IR, nothing of the runtime."""
from .importer import CONVERTERS, import_onnx

__all__ = ["CONVERTERS", "import_onnx"]
