"""Typed errors. Every message names the file, op, node, tensor or shape at fault."""


class SparsegateError(Exception):
    """Base class of every error sparsegate raises on bad input. `code` names the kind of
    failure with the JS package's codes (web/src/errors.js), so both hosts branch alike; an
    error from the runtime carries the code of the C ABI (SG_ERR_*)."""
    code = "invalid"


class ModelFormatError(SparsegateError, ValueError):
    """A model is malformed, truncated or corrupt: an `.sgm` file read, a graph that would
    break the `.sgm` rules if written, or an ONNX model given to `convert` (not a protobuf,
    missing external data, a graph that is not valid ONNX: cycles, undefined or twice-defined
    tensors)."""
    code = "format"


class UnsupportedError(SparsegateError):
    """An ONNX model uses ops, dtypes or attributes sparsegate cannot convert.

    `problems` lists every one found, as (node name, op type, reason)."""
    code = "unsupported"

    def __init__(self, message: str, problems: list[tuple[str, str, str]] | None = None):
        super().__init__(message)
        self.problems = problems or []


class RuntimeFailure(SparsegateError):
    """The runtime refused a model or an input (message from sg_last_error)."""


class InputError(SparsegateError, ValueError):
    """A user-supplied input (array, image, calibration data) has the wrong shape or kind."""
    code = "input"


class RuntimeUnsupportedError(UnsupportedError, ModelFormatError):
    """The runtime does not know an op, dtype or required section of an `.sgm` file
    (SG_ERR_UNSUPPORTED): made by a newer sparsegate, or not by sparsegate at all."""
    code = "unsupported"


class OutOfMemoryError(RuntimeFailure, MemoryError):
    """The runtime could not allocate what a model needs, or the model needs more than its
    own caps allow (SG_ERR_MEMORY: 1 GiB of activations, 1 GiB of per-node state)."""
    code = "memory"


class ResourceLimitError(RuntimeFailure):
    """A model needs more memory or MACs per run than the session's limits
    (`Session(..., max_memory=, max_macs=)`; SG_ERR_LIMIT)."""
    code = "limit"
