"""The offline list of breached passwords (V2.1.7): a Bloom filter shipped with the code.

`is_breached(password)` is True for the 19,640 most common passwords (Django's ranked list) and
for 1.46 million passwords of 12+ characters from SecLists' Common-Credentials lists, also when
only the letter case differs for the common ones; built by `scripts/build_breached_passwords.py`
(sources and licences there). A Bloom filter has no false negatives and, here, about one false
positive in 1,000 checks. No network call is made: nothing about a password leaves the process.
"""

from __future__ import annotations

import functools
import hashlib
import math
import struct
from pathlib import Path

DATA_FILE = Path(__file__).with_name("data") / "breached-passwords.bloom"
_MAGIC = b"REUPBLM1"


class BloomFilter:
    def __init__(self, m: int, k: int, bits: bytearray | None = None) -> None:
        self.m, self.k = m, k
        self.bits = bits if bits is not None else bytearray((m + 7) // 8)

    @classmethod
    def sized_for(cls, n: int, fp_rate: float) -> BloomFilter:
        m = math.ceil(-n * math.log(fp_rate) / (math.log(2) ** 2))
        return cls(m, max(1, round(m / n * math.log(2))))

    def _positions(self, item: str) -> list[int]:
        d = hashlib.sha256(item.encode("utf-8")).digest()
        h1, h2 = struct.unpack("<QQ", d[:16])
        return [(h1 + i * h2) % self.m for i in range(self.k)]

    def add(self, item: str) -> None:
        for p in self._positions(item):
            self.bits[p >> 3] |= 1 << (p & 7)

    def __contains__(self, item: str) -> bool:
        return all(self.bits[p >> 3] & (1 << (p & 7)) for p in self._positions(item))

    def to_bytes(self) -> bytes:
        return _MAGIC + struct.pack("<QI", self.m, self.k) + bytes(self.bits)

    @classmethod
    def from_bytes(cls, data: bytes) -> BloomFilter:
        if data[:8] != _MAGIC:
            raise ValueError("not a ReUp Bloom filter")
        m, k = struct.unpack("<QI", data[8:20])
        return cls(m, k, bytearray(data[20:]))


@functools.cache
def _filter() -> BloomFilter:
    return BloomFilter.from_bytes(DATA_FILE.read_bytes())


def is_breached(password: str) -> bool:
    bloom = _filter()
    return password in bloom or password.lower() in bloom
