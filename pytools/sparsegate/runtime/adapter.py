"""How the Python host talks to one instance of `sparsegate.wasm`.

`Session` (host.py) needs four things from a WebAssembly engine: instantiate the module,
call an export, read bytes from and write bytes to linear memory. `WasmtimeInstance` does
that on CPython; a Pyodide adapter (js.WebAssembly) implements the same four methods.
Memory may grow during any call, so adapters re-read the memory on every access.
"""
from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

from ..errors import RuntimeFailure


def default_wasm_path(wasm: str | os.PathLike | None = None) -> Path:
    """`wasm` if given, else $SPARSEGATE_WASM, else the module shipped with the package."""
    if wasm is not None:
        return Path(wasm)
    env = os.environ.get("SPARSEGATE_WASM")
    if env:
        return Path(env)
    return Path(__file__).with_name("sparsegate.wasm")


class WasmInstance:
    """The adapter interface (documentation; adapters need not inherit from it)."""

    def call(self, name: str, *args):  # -> int | float | None
        raise NotImplementedError

    def read(self, ptr: int, size: int) -> bytes:
        raise NotImplementedError

    def write(self, ptr: int, data: bytes) -> None:
        raise NotImplementedError


_modules: dict[tuple[str, float, int], object] = {}  # compiled once per process and file
_engine = None
_lock = threading.Lock()


def _compiled(path: Path):
    import wasmtime  # CPython's host; Pyodide has none
    global _engine
    try:
        stat = path.stat()
    except OSError as e:
        raise RuntimeFailure(f"sparsegate runtime not found at {path}: run `make wasm` "
                             f"or set SPARSEGATE_WASM ({e.strerror})") from None
    key = (str(path.resolve()), stat.st_mtime, stat.st_size)
    with _lock:
        if _engine is None:
            _engine = wasmtime.Engine()
        module = _modules.get(key)
        if module is None:
            module = wasmtime.Module.from_file(_engine, str(path))
            _modules[key] = module
        return _engine, module


class WasmtimeInstance(WasmInstance):
    """One instance (own store and memory) of the runtime under wasmtime."""

    def __init__(self, path: Path):
        import wasmtime  # CPython's host; Pyodide has none
        engine, module = _compiled(path)
        self._store = wasmtime.Store(engine)
        linker = wasmtime.Linker(engine)
        linker.define_func("env", "emscripten_notify_memory_growth",
                           wasmtime.FuncType([wasmtime.ValType.i32()], []), lambda _index: None)
        self._instance = linker.instantiate(self._store, module)
        self._exports = self._instance.exports(self._store)
        self._memory = self._exports["memory"]
        self._funcs: dict[str, object] = {}
        init = self._exports.get("_initialize")
        if init is not None:
            init(self._store)

    def call(self, name: str, *args):
        fn = self._funcs.get(name)
        if fn is None:
            fn = self._funcs[name] = self._exports[name]
        return fn(self._store, *args)

    def read(self, ptr: int, size: int) -> bytes:
        return bytes(self._memory.read(self._store, ptr, ptr + size))

    def write(self, ptr: int, data: bytes) -> None:
        self._memory.write(self._store, data, ptr)


_js_modules: dict[tuple[str, float, int], object] = {}  # Pyodide: WebAssembly.Module per file


def _js_key(wasm):
    """The cache key of a module file in Pyodide's file system (None: bytes, not cached)."""
    if not isinstance(wasm, (str, os.PathLike)):
        return None
    try:
        stat = os.stat(wasm)
    except OSError as e:
        raise RuntimeFailure(f"sparsegate runtime not found at {wasm} ({e.strerror})") from None
    return (os.path.abspath(wasm), stat.st_mtime, stat.st_size)


def _js_bytes(wasm):
    from pyodide.ffi import to_js  # Pyodide's own modules: they exist only there
    return to_js(Path(wasm).read_bytes() if isinstance(wasm, (str, os.PathLike)) else bytes(wasm))


_MAIN_THREAD_HINT = ("; a page's main thread may not compile or instantiate a module this large "
                     "synchronously: use `await sparsegate.Session.create_async(...)`")


class PyodideInstance(WasmInstance):
    """One instance of the runtime through the JavaScript engine's own WebAssembly (Pyodide).

    `wasm` is a path in Pyodide's file system, the module's bytes, or an already compiled
    `WebAssembly.Module`. A module compiled from a file is kept for the next instance.
    Browsers refuse to compile or instantiate a module over 8 MB synchronously on a page's main
    thread (workers, JupyterLite's kernel among them, and Node do not): `create_async` uses
    `WebAssembly.compile` and `WebAssembly.instantiate`, which work everywhere."""

    def __init__(self, wasm):
        import js  # Pyodide's own modules: they exist only there
        from pyodide.ffi import JsException
        self._js = js
        try:
            instance = js.WebAssembly.Instance.new(self._module_sync(wasm), self._imports())
        except JsException as e:  # RangeError: over the main thread's limit
            raise RuntimeFailure(f"cannot load the sparsegate runtime: {e}{_MAIN_THREAD_HINT}") from None
        self._finish(instance)

    @classmethod
    async def create_async(cls, wasm) -> "PyodideInstance":
        """The same instance, compiled and instantiated without blocking the thread."""
        import js  # Pyodide's own modules: they exist only there
        self = cls.__new__(cls)
        self._js = js
        key = _js_key(wasm)
        module = _js_modules.get(key) if key else None
        if module is None:
            if isinstance(wasm, (str, os.PathLike, bytes, bytearray, memoryview)):
                module = await js.WebAssembly.compile(_js_bytes(wasm))
                if key:
                    _js_modules[key] = module
            else:
                module = wasm  # a compiled WebAssembly.Module
        self._finish(await js.WebAssembly.instantiate(module, self._imports()))
        return self

    def _module_sync(self, wasm):
        key = _js_key(wasm)
        module = _js_modules.get(key) if key else None
        if module is None:
            if not isinstance(wasm, (str, os.PathLike, bytes, bytearray, memoryview)):
                return wasm  # a compiled WebAssembly.Module
            module = self._js.WebAssembly.Module.new(_js_bytes(wasm))
            if key:
                _js_modules[key] = module
        return module

    def _imports(self):
        from pyodide.ffi import create_proxy  # Pyodide's own modules
        js = self._js
        self._grow = create_proxy(lambda _index: None)  # kept alive as long as the instance
        env = js.Object.new()
        env.emscripten_notify_memory_growth = self._grow
        imports = js.Object.new()
        imports.env = env
        return imports

    def _finish(self, instance) -> None:
        self._exports = instance.exports
        if hasattr(self._exports, "_initialize"):
            self._exports._initialize()

    def call(self, name: str, *args):
        return getattr(self._exports, name)(*args)

    def read(self, ptr: int, size: int) -> bytes:
        return self._js.Uint8Array.new(self._exports.memory.buffer, ptr, size).to_bytes()

    def write(self, ptr: int, data: bytes) -> None:
        self._js.Uint8Array.new(self._exports.memory.buffer, ptr, len(data)).assign(bytes(data))


def instantiate(wasm=None) -> WasmInstance:
    """A fresh runtime instance for this host: the JS engine's WebAssembly under Pyodide,
    wasmtime on CPython."""
    if sys.platform == "emscripten":
        return PyodideInstance(_pyodide_wasm(wasm))
    return WasmtimeInstance(default_wasm_path(wasm))


def _pyodide_wasm(wasm):
    return wasm if wasm is not None and not isinstance(wasm, (str, os.PathLike)) else default_wasm_path(wasm)


async def instantiate_async(wasm=None) -> WasmInstance:
    """`instantiate` without blocking: Pyodide compiles with `WebAssembly.compile` (a page's
    main thread refuses large modules synchronously); wasmtime's cached compile is synchronous."""
    if sys.platform == "emscripten":
        return await PyodideInstance.create_async(_pyodide_wasm(wasm))
    return WasmtimeInstance(default_wasm_path(wasm))
