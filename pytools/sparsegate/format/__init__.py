"""The `.sgm` file format (docs/format.md): bytes only, no knowledge of the runtime."""
from .reader import FormatError, read_model, read_metadata
from .validate import validate
from .writer import write_model, model_bytes

__all__ = ["FormatError", "read_model", "read_metadata", "validate", "write_model", "model_bytes"]
