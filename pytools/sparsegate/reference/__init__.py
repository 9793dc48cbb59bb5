"""Numpy reference executor of the IR (docs/ir.md): the golden model in tests.

Plain float32 numpy, one small function per op; speed is not a goal, clarity is.
"""
from .executor import run_graph, run_node
from .ops import OPS, apply_activation

__all__ = ["OPS", "apply_activation", "run_graph", "run_node"]
