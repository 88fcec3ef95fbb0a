"""An inspect-ai ``.eval`` log's zip structure, read exactly the way inspect-ai's own reader reads it.

inspect-ai reads a ``.eval`` log with its own zip reader (``inspect_ai._util.async_zip``), not with
``zipfile``: it takes the end record at the end of the file (zip64 through its locator), the
central directory at the offset the end record states (``zipfile`` would shift it by any bytes
prepended to the archive), and each member's data after its local header, inflated whole.  The
limits in ``log_limits`` must hold for what inspect-ai will read, so this module finds members
the same way; anything inspect-ai would read differently or not at all (a comment or trailing
bytes after the end record, a directory that does not parse to its last byte, an unknown
compression method) is refused as damaged rather than guessed at.  Members are inflated here a
chunk at a time, so a member that lies about its size costs a chunk, not its size.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from tinyrel.evidence.scores import shown

STORED, DEFLATED, ZSTD = 0, 8, 93  # the methods inspect-ai's reader inflates
CHUNK = 1024 * 1024
_EOCD = struct.Struct("<4sHHHHIIH")  # end of central directory record (22 bytes)
_ENTRY = struct.Struct("<4sHHHHHHIIIHHHHHII")  # central directory file header (46 bytes)
_ZIP64_SENTINELS = (0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF)


class LogDamaged(Exception):
    """The archive is not one inspect-ai's reader would read as it says (or at all)."""


@dataclass(frozen=True)
class Member:
    name: str
    method: int
    compressed: int
    size: int  # as the central directory states it
    offset: int  # of the local header

    @property
    def is_sample(self) -> bool:
        return self.name.startswith("samples/") and self.name.endswith(".json")


def read_directory(handle: BinaryIO, file_size: int, max_members: int) -> list[Member]:
    """The central directory's entries, stopping after ``max_members + 1`` (the caller refuses that many)."""
    try:
        return _central_directory(handle, file_size, max_members)
    except struct.error:  # a field too short for what it says it holds
        raise LogDamaged("the zip structure is damaged") from None


def _read_exactly(handle: BinaryIO, offset: int, length: int, file_size: int, what: str) -> bytes:
    if offset < 0 or offset + length > file_size:
        raise LogDamaged(f"{what} lies outside the file")
    handle.seek(offset)
    data = handle.read(length)
    if len(data) != length:
        raise LogDamaged(f"{what} is cut short")
    return data


def _central_directory(handle: BinaryIO, file_size: int, max_members: int) -> list[Member]:
    """Every central directory entry, located and parsed the way inspect-ai's reader does."""
    if file_size < _EOCD.size:
        raise LogDamaged("not a zip archive (too short)")
    eocd_at = file_size - _EOCD.size
    fields = _EOCD.unpack(_read_exactly(handle, eocd_at, _EOCD.size, file_size, "the end record"))
    if fields[0] != b"PK\x05\x06" or fields[7] != 0:
        raise LogDamaged("not a zip archive ending in its end record (no end record, a comment, or trailing bytes)")
    cd_size, cd_offset = fields[5], fields[6]
    if any(value == sentinel for value, sentinel in zip(fields[1:7], _ZIP64_SENTINELS, strict=True)):
        cd_size, cd_offset = _zip64_directory(handle, file_size, eocd_at, cd_size, cd_offset)
    if cd_offset + cd_size > file_size:
        raise LogDamaged("the central directory lies outside the file")
    members: list[Member] = []
    handle.seek(cd_offset)
    position = 0
    while position < cd_size:
        if position + _ENTRY.size > cd_size:
            raise LogDamaged("the central directory ends inside an entry")
        entry = _ENTRY.unpack(handle.read(_ENTRY.size))
        if entry[0] != b"PK\x01\x02":
            raise LogDamaged("the central directory holds something other than entries")
        method, compressed, size, name_len, extra_len, comment_len, offset = (
            entry[4], entry[8], entry[9], entry[10], entry[11], entry[12], entry[16])  # fmt: skip
        position += _ENTRY.size + name_len + extra_len + comment_len
        if position > cd_size:
            raise LogDamaged("the central directory ends inside an entry")
        try:
            name = handle.read(name_len).decode("utf-8")
        except UnicodeDecodeError:
            raise LogDamaged("a member name is not UTF-8") from None
        extra = handle.read(extra_len)
        handle.seek(comment_len, os.SEEK_CUR)
        try:
            size, compressed, offset = _zip64_sizes(extra, size, compressed, offset)
        except struct.error:
            raise LogDamaged(f"the zip64 field of member {shown(name)} is damaged") from None
        if method not in (STORED, DEFLATED, ZSTD):
            raise LogDamaged(f"member {shown(name)} uses compression method {method}, which inspect-ai does not read")
        members.append(Member(name, method, compressed, size, offset))
        if len(members) > max_members:
            break
    return members


def _zip64_directory(handle: BinaryIO, file_size: int, eocd_at: int, cd_size: int, cd_offset: int) -> tuple[int, int]:
    """The zip64 directory size and offset, when the end record says there are some (as inspect-ai reads them)."""
    if eocd_at < 20:
        return cd_size, cd_offset
    locator = _read_exactly(handle, eocd_at - 20, 20, file_size, "the zip64 locator")
    if locator[:4] != b"PK\x06\x07":
        return cd_size, cd_offset  # inspect-ai takes the sentinels for real values then
    record_at = struct.unpack_from("<IQI", locator, 4)[1]
    record = _read_exactly(handle, record_at, 56, file_size, "the zip64 end record")
    if record[:4] != b"PK\x06\x06":
        raise LogDamaged("the zip64 end record is damaged")
    cd_size, cd_offset = struct.unpack_from("<QQ", record, 40)
    return cd_size, cd_offset


def _zip64_sizes(extra: bytes, size: int, compressed: int, offset: int) -> tuple[int, int, int]:
    """Sizes and offset from a zip64 extra field, read in the order and cases inspect-ai reads them."""
    if 0xFFFFFFFF not in (size, compressed, offset):
        return size, compressed, offset
    at = 0
    while at + 4 <= len(extra):
        header_id, data_size = struct.unpack_from("<HH", extra, at)
        at += 4
        if header_id == 0x0001:
            values = list(struct.unpack_from(f"<{data_size // 8}Q", extra, at)) if data_size // 8 else []
            if size == 0xFFFFFFFF and values:
                size = values.pop(0)
            if compressed == 0xFFFFFFFF and values:
                compressed = values.pop(0)
            if offset == 0xFFFFFFFF and values:
                offset = values.pop(0)
            break
        at += data_size
    return size, compressed, offset


def _compressed_chunks(handle: BinaryIO, file_size: int, member: Member) -> Iterator[bytes]:
    """The member's stored bytes, a chunk at a time, found where inspect-ai finds them."""
    local = _read_exactly(handle, member.offset, 30, file_size, f"the local header of {shown(member.name)}")
    name_len, extra_len = struct.unpack_from("<HH", local, 26)
    start = member.offset + 30 + name_len + extra_len
    if start + member.compressed > file_size:
        raise LogDamaged(f"member {shown(member.name)} lies outside the file")
    position, end = start, start + member.compressed
    while position < end:
        handle.seek(position)  # the handle is shared: never rely on where the last read left it
        chunk = handle.read(min(end - position, CHUNK))
        if not chunk:
            raise LogDamaged(f"member {shown(member.name)} is cut short")
        position += len(chunk)
        yield chunk


def inflate(handle: BinaryIO, file_size: int, member: Member) -> Iterator[bytes]:
    """The member's bytes as inspect-ai inflates them, at most ``CHUNK`` at a time and none kept.

    The caller counts and stops when it has seen enough: a member is never inflated further
    than the caller reads, whatever its directory entry says.
    """
    chunks = _compressed_chunks(handle, file_size, member)
    if member.method == STORED:
        yield from chunks
    elif member.method == DEFLATED:
        try:
            yield from _inflate_deflate(chunks)
        except zlib.error:
            raise LogDamaged(f"member {shown(member.name)} is not valid deflate data") from None
    else:
        import zstandard  # inspect-ai's own dependency: needed only where inspect-ai is installed

        try:
            # every frame, as inspect-ai's streaming reader inflates them; zstd's default window
            # limit (128 MiB) refuses a frame that would need more memory than that to inflate
            reader = zstandard.ZstdDecompressor().stream_reader(ChunkReader(chunks), read_across_frames=True)
            while out := reader.read(CHUNK):
                yield out
        except zstandard.ZstdError:
            raise LogDamaged(f"member {shown(member.name)} is not valid zstd data") from None


def _inflate_deflate(chunks: Iterator[bytes]) -> Iterator[bytes]:
    inflater = zlib.decompressobj(-15)  # raw deflate, as inspect-ai inflates it
    for chunk in chunks:
        data = chunk
        while data and not inflater.eof:
            yield inflater.decompress(data, CHUNK)
            data = inflater.unconsumed_tail
        if inflater.eof:
            return
    yield inflater.flush()


class ChunkReader:
    """A file's ``read(n)`` over an iterator of chunks (for zstandard's and ijson's readers)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks, self._pending = chunks, b""

    def read(self, size: int = -1) -> bytes:
        if not self._pending:
            self._pending = next(self._chunks, b"")
        size = len(self._pending) if size is None or size < 0 else size
        out, self._pending = self._pending[:size], self._pending[size:]
        return out
