"""Runs `.sgm` models in the sparsegate WebAssembly runtime (wasmtime on CPython)."""
from .host import Session

__all__ = ["Session"]
