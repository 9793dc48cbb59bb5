"""The one place that turns a user's in-memory inputs into feeds: lists of {input name: array}.

    feeds = as_feeds(graph, xs)        # [N, ...] array, list of arrays, a feed dict, list of dicts

Arrays are for single-input graphs: one sample of the input's shape (with or without its batch
axis), or N samples stacked; a batch-1 input takes each sample as its own feed. Files and
folders of calibration data are read by `compression.calibration`, which ends here too. Bad
data raises `InputError` naming the sample and the shape expected.
"""
from __future__ import annotations

import numpy as np

from .errors import InputError
from .ir import Graph


def _numbers(a, what: str) -> np.ndarray:
    if isinstance(a, (str, bytes, dict)):
        raise InputError(f"{what}: got {type(a).__name__}; expected an array of numbers")
    a = np.asarray(a)
    if a.dtype == object or not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)
                                 or a.dtype == np.bool_):
        raise InputError(f"{what}: dtype {a.dtype}; expected numbers")
    if not np.all(np.isfinite(a)):
        raise InputError(f"{what} holds NaN or infinite values")
    return np.ascontiguousarray(a, dtype=np.float32)


def _single_input(graph: Graph, what: str) -> tuple[str, tuple[int, ...]]:
    if len(graph.inputs) != 1:
        raise InputError(f"{what}: arrays are for single-input models; this one has inputs "
                         f"{list(graph.inputs)}: pass feed dicts {{name: array}}")
    name = graph.inputs[0]
    return name, tuple(graph.tensors[name].shape)


def as_samples(graph: Graph, data, what: str = "calibration data", item: str | None = None) -> list[np.ndarray]:
    """`data` (one array of one or N samples, or an iterable of samples) as a list of float32
    arrays of the single input's exact shape. Errors name the i-th item `item.format(i)`
    (default "what[i]")."""
    item = item or what + "[{}]"
    name, shape = _single_input(graph, what)
    if isinstance(data, np.ndarray):
        a = _numbers(data, what)
        if a.shape == shape:
            return [a]
        if a.shape == shape[1:]:
            return [a[None]]
        if shape[0] == 1 and a.ndim == len(shape) and a.shape[1:] == shape[1:]:
            return [a[i:i + 1] for i in range(a.shape[0])]
        if a.ndim == len(shape) + 1 and a.shape[1:] == shape:
            return list(a)
        raise InputError(f"{what} has shape {a.shape}; the model's input '{name}' expects {shape}, "
                         f"or N samples [N, {', '.join(map(str, shape[1:]))}]")
    if isinstance(data, (str, bytes, dict)):
        raise InputError(f"{what}: got {type(data).__name__}; expected arrays of the input's shape {shape}")
    try:
        items = list(data)
    except TypeError:
        raise InputError(f"{what} of type {type(data).__name__}: expected an array or a list of arrays") from None
    out = []
    for i, x in enumerate(items):
        a = _numbers(x, item.format(i))
        if a.shape == shape[1:]:
            a = a[None]
        if a.shape != shape:
            raise InputError(f"{item.format(i)} has shape {a.shape}; the model's input '{name}' expects "
                             f"{shape} (or {shape[1:]} per sample)")
        out.append(a)
    return out


def _feed(graph: Graph, feed: dict, what: str) -> dict:
    missing = [n for n in graph.inputs if n not in feed]
    extra = [n for n in feed if n not in graph.inputs]
    if missing or extra:
        raise InputError(f"{what}: feed names {sorted(map(str, feed))}; the model's inputs are "
                         f"{list(graph.inputs)}" + (f" (missing {missing})" if missing else ""))
    out = {}
    for n in graph.inputs:
        a = _numbers(feed[n], f"{what} input '{n}'")
        shape = tuple(graph.tensors[n].shape)
        if a.shape != shape and a.shape != shape[1:]:
            raise InputError(f"{what} input '{n}' has shape {a.shape}; expected {shape}")
        out[n] = a.reshape(shape)
    return out


def as_feeds(graph: Graph, data, what: str = "calibration data") -> list[dict]:
    """`data` as a non-empty list of feed dicts {input name: float32 array of its shape}: a feed
    dict, a list of feed dicts, or arrays as `as_samples` takes them (single-input graphs)."""
    if data is None:
        raise InputError(f"{what}: none given")
    if isinstance(data, dict):
        feeds = [_feed(graph, data, what)]
    elif isinstance(data, (list, tuple)) and data and all(isinstance(d, dict) for d in data):
        feeds = [_feed(graph, d, f"{what}[{i}]") for i, d in enumerate(data)]
    else:
        name = _single_input(graph, what)[0]
        feeds = [{name: a} for a in as_samples(graph, data, what)]
    if not feeds:
        raise InputError(f"{what} is empty")
    return feeds
