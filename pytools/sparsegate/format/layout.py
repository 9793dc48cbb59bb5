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
MAX_RANK = 8
MAX_STR = 4096


def align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN
