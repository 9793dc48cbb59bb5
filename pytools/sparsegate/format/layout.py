"""Constants of the `.sgm` layout shared by the writer and the reader (docs/format.md)."""
import struct

MAGIC = b"SGM\x01"
VERSION_MAJOR = 1
VERSION_MINOR = 0
ALIGN = 64
HEADER = struct.Struct("<4sIIIQI36x")  # magic, major, minor, section count, file size, table crc
SECTION = struct.Struct("<4sIQQII")    # kind, flags, offset, size, crc, reserved
MAX_SECTIONS = 64
FLAG_REQUIRED = 1

ATTR_INTS, ATTR_FLOATS, ATTR_STRING = 1, 2, 3
KIND_ACTIVATION, KIND_CONSTANT, KIND_INPUT = 0, 1, 2

# The loader's limits (wasm/src/loader.cpp, wasm/src/graph.h). The writer refuses what exceeds
# them (format/validate.py) and the reader applies them, so no side accepts a file the
# runtime refuses.
MAX_RANK = 8             # graph.h kMaxRank; loader.cpp parse_tensor
MAX_STR = 4096           # loader.cpp kMaxStr: tensor, node, op and attribute names (bytes)
MAX_DIM = 2**31 - 1      # graph.h kMaxDim (hosts read dims as int); loader.cpp parse_tensor
MAX_NUMEL = 2**40        # graph.h kMaxNumel; loader.cpp parse_tensor
MAX_TENSORS = 2**24      # loader.cpp kMaxTensors: tensors, and nodes, per graph
MAX_NODE_IO = 2**16      # loader.cpp kMaxNodeIO: inputs or outputs of a node or the graph
MAX_ATTRS = 2**10        # loader.cpp kMaxAttrs: attributes per node
MAX_ATTR_VALUES = 2**20  # loader.cpp kMaxAttrValues: values (string bytes) per attribute


def align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN
