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
# In Pyodide (JupyterLite) these exist, so that one notebook serves both, and raise one
# SparsegateError when called: onnx and torch have no Pyodide build.
_CPYTHON_ONLY = {"convert": "sparsegate.convert (conversion)", "compress": "sparsegate.compress (compression)",
                 "export": "sparsegate.export (training and export)"}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'sparsegate' has no attribute '{name}'")
    import importlib
    import sys
    if sys.platform == "emscripten" and name in _CPYTHON_ONLY:
        return _cpython_only(name)
    module_name, attr = _LAZY[name]
    module = importlib.import_module(f".{module_name}", __name__)
    return module if attr is None else getattr(module, attr)


def _needs_cpython(what: str):
    """The error that conversion, compression and training raise in Pyodide."""
    from .errors import SparsegateError
    return SparsegateError(
        f"{what} needs CPython (onnx and torch have no Pyodide build): convert or compress on the "
        f"desktop (pip install 'sparsegate[convert]'; sparsegate convert model.onnx -o model.sgm) "
        f"and run the .sgm here with sparsegate.Session")


def _cpython_only(name: str):
    def unavailable(*args, **kwargs):
        raise _needs_cpython(_CPYTHON_ONLY[name])
    unavailable.__name__ = unavailable.__qualname__ = name
    unavailable.__doc__ = f"Not available in Pyodide: {_CPYTHON_ONLY[name]} needs CPython."
    return unavailable
