"""sparsegate: compress ONNX models and run them with gated inference in WebAssembly."""
__version__ = "0.1.0"
