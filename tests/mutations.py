"""Seeded mutations of a valid `.sgm` file for the bad-input tests (Python and JS alike).

Plain bit flips are caught by the section checksums, so half of the mutations re-seal the
checksums afterwards: those reach the parser's bounds checks, which is where a trap would hide.
"""
from __future__ import annotations

import random
import struct
import zlib

from sparsegate.format.layout import HEADER, SECTION


def reseal(blob: bytes) -> bytes:
    """Recomputes every checksum so that only the parser's own checks can refuse the file."""
    b = bytearray(blob)
    count = min(struct.unpack_from("<I", b, 12)[0], 64)
    for i in range(count):
        at = HEADER.size + SECTION.size * i
        if at + SECTION.size > len(b):
            break
        kind, flags, offset, size, _, res = SECTION.unpack_from(b, at)
        if offset + size <= len(b):
            SECTION.pack_into(b, at, kind, flags, offset, size, zlib.crc32(b[offset:offset + size]), res)
    end = HEADER.size + SECTION.size * count
    if end <= len(b):
        struct.pack_into("<I", b, 24, zlib.crc32(b[HEADER.size:end]))
    return bytes(b)


def _section(blob: bytes, kind: bytes) -> tuple[int, int]:
    count = struct.unpack_from("<I", blob, 12)[0]
    for i in range(count):
        k, _, offset, size, _, _ = SECTION.unpack_from(blob, HEADER.size + SECTION.size * i)
        if k == kind:
            return offset, size
    raise KeyError(kind)


def mutations(blob: bytes, seed: int = 0) -> list[tuple[str, bytes]]:
    """About 200 broken variants of `blob`, each with a name saying what was done."""
    rng = random.Random(seed)
    out: list[tuple[str, bytes]] = []
    for cut in sorted({0, 1, 4, 63, 64, 95, 96, 127, 128} | {rng.randrange(len(blob)) for _ in range(31)}):
        out.append((f"truncated at {cut}", blob[:cut]))
    for _ in range(40):
        pos, bit = rng.randrange(len(blob)), rng.randrange(8)
        b = bytearray(blob)
        b[pos] ^= 1 << bit
        out.append((f"bit {bit} flipped at {pos}", bytes(b)))
    g_off, g_size = _section(blob, b"GRPH")
    for _ in range(60):  # flips inside the graph description, checksums re-sealed
        b = bytearray(blob)
        for _ in range(rng.randint(1, 4)):
            b[g_off + rng.randrange(g_size)] ^= 1 << rng.randrange(8)
        out.append(("graph bytes flipped, resealed", reseal(bytes(b))))
    for _ in range(20):  # a 32-bit field of the graph set to a hostile value, resealed
        b = bytearray(blob)
        at = g_off + rng.randrange(max(1, g_size - 4))
        struct.pack_into("<I", b, at, rng.choice([0, 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 1 << 20, 65]))
        out.append((f"graph u32 at {at} set hostile, resealed", reseal(bytes(b))))
    for field, fmt, at in [("section count", "<I", 12), ("file size", "<Q", 16),
                           ("first section offset", "<Q", 72), ("first section size", "<Q", 80)]:
        for value in (0, 1, 0xFFFFFFFF, 1 << 40):
            b = bytearray(blob)
            struct.pack_into(fmt, b, at, value if fmt == "<Q" else value & 0xFFFFFFFF)
            out.append((f"{field} = {value}, resealed", reseal(bytes(b))))
    for n in (0, 7, 64, 1000, 100_000):
        out.append((f"{n} random bytes", rng.randbytes(n)))
    out.append(("random bytes after a valid header", blob[:64] + rng.randbytes(len(blob) - 64)))
    return out
