"""The intermediate representation every part of the tooling shares.

A `Graph` is a list of `Node`s in execution order plus `TensorInfo` for every tensor. Constant
tensors carry their data as numpy arrays; every other tensor has a static shape fixed by the
importer. Op names and attributes are the canonical ones listed in docs/ir.md: the importer
normalizes ONNX into them, the numpy reference, the torch executor and the C++ runtime read
them, and `format` writes them to `.sgm` unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# The C++ runtime computes in float32; these are the dtypes a constant may be stored in.
DTYPE_CODES = {np.dtype("float32"): 1, np.dtype("int8"): 3, np.dtype("int32"): 6,
               np.dtype("int64"): 7, np.dtype("float16"): 10}


@dataclass
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype = np.dtype("float32")
    data: np.ndarray | None = None  # set for constants

    @property
    def is_constant(self) -> bool:
        return self.data is not None


@dataclass
class Node:
    op: str
    name: str
    inputs: list[str]  # "" = optional input absent
    outputs: list[str]
    attrs: dict[str, Any] = field(default_factory=dict)  # int, float, str, list[int], list[float]


@dataclass
class Graph:
    nodes: list[Node]
    tensors: dict[str, TensorInfo]
    inputs: list[str]
    outputs: list[str]
    metadata: dict[str, Any] = field(default_factory=dict)

    def producer(self) -> dict[str, Node]:
        return {out: n for n in self.nodes for out in n.outputs}

    def consumers(self) -> dict[str, list[Node]]:
        users: dict[str, list[Node]] = {}
        for n in self.nodes:
            for i in n.inputs:
                if i:
                    users.setdefault(i, []).append(n)
        return users

    def constant(self, name: str) -> np.ndarray | None:
        info = self.tensors.get(name)
        return None if info is None else info.data
