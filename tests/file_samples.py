"""The bytes of small real files, for tests that judge files by their content."""

from __future__ import annotations

import struct
import zlib

# The DOS header every Windows program starts with ("MZ"), pointing at a PE header.
EXE = b"MZ" + b"\x00" * 58 + struct.pack("<I", 64) + b"PE\x00\x00\x4c\x01" + b"\x00" * 200


def png() -> bytes:
    """Return a valid one-pixel PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )
