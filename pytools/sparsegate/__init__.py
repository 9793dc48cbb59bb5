"""sparsegate: compress ONNX models and run them with gated inference in WebAssembly.

    import sparsegate as sg
    sg.convert("model.onnx", "model.sgm")
    sess = sg.Session("model.sgm")
    outs = sess.run({"input": x})
"""
__version__ = "0.1.0"

# Imported on first use so that `import sparsegate` stays cheap (Pyodide, CLI start-up).
_LAZY = {
    "convert": ("compression.conversion", "convert"),
    "compress": ("compression.driver", "compress"),
    "Session": ("runtime", "Session"),
    "zoo": ("zoo", None),
    "export": ("train.export", "export"),  # needs torch (pip install sparsegate[train])
    "nn": ("train.nn", None),  # needs torch
    "SparsegateError": ("errors", "SparsegateError"),
    "UnsupportedError": ("errors", "UnsupportedError"),
    "ModelFormatError": ("errors", "ModelFormatError"),
    "InputError": ("errors", "InputError"),
    "RuntimeFailure": ("errors", "RuntimeFailure"),
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'sparsegate' has no attribute '{name}'")
    import importlib
    module_name, attr = _LAZY[name]
    module = importlib.import_module(f".{module_name}", __name__)
    return module if attr is None else getattr(module, attr)
