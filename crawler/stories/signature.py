"""MinHash signatures of article texts, and how similar two of them say the texts are.

The hashing is rensa's ``RMinHash`` (Rust, no dependencies): 35 times faster than datasketch
on the network's briefs and as accurate (benchmarks/stories.py; the README's dependency list).
A signature is comparable only with signatures of the same :data:`SCHEME`: the number of
permutations, the seed, the shingle size and the library's hashing. rensa is pinned for that
reason; the index keeps the scheme with its entries and ignores entries of another.
"""

from __future__ import annotations

import struct
from array import array
from dataclasses import dataclass

import rensa

from crawler.stories.text import SHINGLE_WORDS, shingles

PERMUTATIONS = 128
"""Signature length: the estimate of a Jaccard similarity near 0.5 is within ±0.09 (two
standard deviations); the measured mean error on the fixture pairs is 0.02."""
SEED = 14
SCHEME = f"rensa-r/{PERMUTATIONS}/{SEED}/w{SHINGLE_WORDS}"
"""Names what makes two signatures comparable."""

_HEAD = struct.Struct("<I")


@dataclass(frozen=True, slots=True)
class Signature:
    """The MinHash of a text's shingles, and how many distinct shingles it has."""

    values: array[int]
    """``PERMUTATIONS`` unsigned 32-bit minimum hashes."""
    size: int
    """Distinct shingles of the text (for the containment estimate)."""

    def to_bytes(self) -> bytes:
        """``4 + 4 * PERMUTATIONS`` bytes, little-endian."""
        values = self.values
        if values.itemsize != 4 or _BIG_ENDIAN:
            values = array("I", values)
            if _BIG_ENDIAN:
                values.byteswap()
        return _HEAD.pack(self.size) + values.tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> Signature:
        if len(data) != _HEAD.size + 4 * PERMUTATIONS:
            raise ValueError(
                f"a signature has {_HEAD.size + 4 * PERMUTATIONS} bytes, not {len(data)}"
            )
        (size,) = _HEAD.unpack_from(data)
        values = array("I")
        values.frombytes(data[_HEAD.size :])
        if _BIG_ENDIAN:
            values.byteswap()
        return cls(values, size)

    def jaccard(self, other: Signature) -> float:
        """The estimated Jaccard similarity of the two shingle sets: the share of equal
        values."""
        # All 128 values compared at once, as lanes of one integer (SWAR): the lanes of the
        # XOR that are not zero are the values that differ. A loop over the values cost a
        # third of the story index's time (20 candidates an article, 15 us each; this: 1).
        x = _lanes(self.values) ^ _lanes(other.values)
        differ = ((((x & _LOW) + _LOW) | x) & _HIGH).bit_count()
        return (PERMUTATIONS - differ) / PERMUTATIONS

    def containment(self, other: Signature) -> float:
        """The estimated share of the smaller text's shingles that the other text holds.

        A copy with its tail cut is contained whole in the original (1.0) though their
        Jaccard similarity is only the ratio of their lengths; derived from the Jaccard
        estimate J and the set sizes: |A ∩ B| = J (|A| + |B|) / (1 + J)."""
        small = min(self.size, other.size)
        if small == 0:
            return 0.0
        j = self.jaccard(other)
        common = j * (self.size + other.size) / (1 + j)
        return min(1.0, common / small)


_BIG_ENDIAN = array("I", [1]).tobytes()[0] == 0
_LOW = int.from_bytes(b"\xff\xff\xff\x7f" * PERMUTATIONS, "little")
"""The low 31 bits of every 32-bit lane: adding it to a lane's low bits carries into the
lane's top bit exactly when they are not all zero, and never into the next lane."""
_HIGH = int.from_bytes(b"\x00\x00\x00\x80" * PERMUTATIONS, "little")
"""The top bit of every lane."""


def _lanes(values: array[int]) -> int:
    """The values as one integer, value ``i`` in bits ``32 i`` to ``32 i + 31``."""
    return int.from_bytes(values.tobytes(), "little" if not _BIG_ENDIAN else "big")


assert array("I").itemsize == 4, "array('I') must hold 32-bit values"


def signature(text: str) -> Signature | None:
    """The signature of ``text``; None for a text without words."""
    parts = shingles(text)
    if not parts:
        return None
    minhash = rensa.RMinHash(PERMUTATIONS, SEED)
    minhash.update(parts)
    return Signature(array("I", minhash.digest()), len(parts))


def signature_bytes(text: str) -> bytes | None:
    """:func:`signature` as bytes, as the extraction worker sends it to the crawler."""
    sig = signature(text)
    return None if sig is None else sig.to_bytes()
