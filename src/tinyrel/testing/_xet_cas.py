"""The emulator's Xet storage: a local content-addressed store that the real ``hf_xet`` writes to.

The emulator hands out ``local://<data>/cas`` as the Xet endpoint; clients upload xorbs and
shards there with hf_xet itself.  A commit then names files by SHA-256 only, so the emulator reads
the shards hf_xet wrote to map each SHA-256 to its Xet file hash (the Hub does the same).  Shard
layout (xet-core's MDB format): a 48-byte header, then per file a 48-byte header (file hash;
flags; entry count), 48-byte entries, optional 48-byte verification entries, and an optional
48-byte metadata extension whose first 32 bytes are the SHA-256, ending in an all-0xff bookend.
Hashes are stored as four little-endian u64 words — the order their hex form is printed in.

Only what hf_xet itself writes is read: regular files named ``<64 hex>.mdb`` (shards) and
``default.<64 hex>`` (xorbs), never a symlink or any other name, and a shard that is cut short or
malformed yields the files it described completely and nothing more.
"""

from __future__ import annotations

import re
import struct
import threading
from pathlib import Path

from tinyrel.testing._hub_names import xet_hash as checked_xet_hash

_VERIFICATION = 0x80000000
_METADATA_EXT = 0x40000000
_BOOKEND = b"\xff" * 32
_SHARD_NAME = re.compile(r"[0-9a-f]{64}\.mdb")
_XORB_NAME = re.compile(r"default\.[0-9a-f]{64}")


def hash_hex(raw: bytes) -> str:
    """A 32-byte Xet hash as hf_xet prints it (four little-endian u64 words)."""
    return "".join(f"{int.from_bytes(raw[i : i + 8], 'little'):016x}" for i in range(0, 32, 8))


def parse_shard(data: bytes) -> dict[str, tuple[str, int]]:
    """SHA-256 → (Xet file hash, size) for every file a shard describes with a SHA-256."""
    out: dict[str, tuple[str, int]] = {}
    pos = 48
    while pos + 48 <= len(data):
        file_hash = data[pos : pos + 32]
        if file_hash == _BOOKEND:
            break
        flags, count = struct.unpack_from("<II", data, pos + 32)
        pos += 48
        end = pos + 48 * count * (2 if flags & _VERIFICATION else 1) + (48 if flags & _METADATA_EXT else 0)
        if end > len(data):  # cut short, or a count no shard of this size can hold
            break
        size = sum(struct.unpack_from("<I", data, pos + 48 * i + 36)[0] for i in range(count))
        pos += 48 * count
        if flags & _VERIFICATION:
            pos += 48 * count
        if flags & _METADATA_EXT:
            out[hash_hex(data[pos : pos + 32])] = (hash_hex(file_hash), size)
            pos += 48
    return out


class XetStore:
    """The CAS directory plus what the shards in it say (re-read when new shards arrive)."""

    def __init__(self, root: Path):
        self.root = root
        self._known: dict[str, tuple[str, int]] = {}
        self._read: set[str] = set()
        self._lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return f"local://{self.root.resolve()}"

    def _shards(self) -> list[Path]:
        return _written_by_hf_xet(self.root / "xet" / "xorbs" / "shards", _SHARD_NAME)

    def lookup(self, sha256: str) -> tuple[str, int] | None:
        """The Xet file hash and size of the file with this SHA-256, if any shard holds it."""
        with self._lock:
            for shard in self._shards():
                if shard.name not in self._read:
                    self._known.update(parse_shard(shard.read_bytes()))
                    self._read.add(shard.name)
            return self._known.get(sha256)

    def stats(self) -> dict[str, int]:
        xorbs = _written_by_hf_xet(self.root / "xet" / "xorbs" / "xorbs", _XORB_NAME)
        self.lookup("")
        return {"xet_files": len(self._known), "xet_xorb_bytes": sum(p.stat().st_size for p in xorbs)}

    def materialize(self, xet_hash: str, size: int, dest: Path) -> None:
        """Reconstruct a file from the CAS with hf_xet (for clients that download without it)."""
        import warnings

        import hf_xet

        checked_xet_hash(xet_hash)
        dest.parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():  # the one-call API is deprecated in favour of sessions; it still works
            warnings.simplefilter("ignore", DeprecationWarning)
            hf_xet.download_files([hf_xet.PyXetDownloadInfo(str(dest), xet_hash, size)], self.endpoint,
                                  ("emulator", 2**40), None, None)  # fmt: skip


def _written_by_hf_xet(folder: Path, name: re.Pattern) -> list[Path]:
    """The regular files in ``folder`` whose names hf_xet gives them (no symlinks, no strays)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if name.fullmatch(p.name) and p.is_file() and not p.is_symlink())
