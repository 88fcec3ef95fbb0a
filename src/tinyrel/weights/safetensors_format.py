"""Safetensors framing: parse a file's header and check every structural rule without reading data.

The format is ``u64 little-endian header length`` + ``UTF-8 JSON header`` + ``data buffer``.  The
rules here are the ones a loader silently relies on; checking them from the header alone lets
``--quick`` validation of gigabytes finish in milliseconds and tells the scanner exactly which byte
ranges to read.
"""

from __future__ import annotations

import json
import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path

from tinyrel.findings import Report
from tinyrel.safe_io import open_regular

MAX_HEADER_BYTES = 100 * 1024 * 1024
MAX_RANK = 64  # numpy's limit; a shape of millions of dimensions would make its element count a quadratic product

DTYPE_SIZES: dict[str, int] = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "F8_E8M0": 1,
    "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
    "I32": 4, "U32": 4, "F32": 4,
    "I64": 8, "U64": 8, "F64": 8, "C64": 8,
}  # fmt: skip


@dataclass(frozen=True)
class TensorEntry:
    """A tensor as described by a header; offsets are relative to the data buffer."""

    name: str
    file: str
    dtype: str
    shape: tuple[int, ...]
    begin: int
    end: int

    @property
    def nbytes(self) -> int:
        return self.end - self.begin

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


@dataclass
class SafetensorsHeader:
    """A parsed header; ``data_start`` is the absolute file offset of the data buffer."""

    file: str
    header_bytes: bytes
    data_start: int
    file_size: int
    metadata: dict[str, str]
    tensors: list[TensorEntry]


class _DuplicateKey(ValueError):
    pass


def _pairs_no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    seen: dict[str, object] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return seen


def read_header(path: Path, rel: str, report: Report) -> SafetensorsHeader | None:
    """Parse and check ``path``'s header; problems become findings, ``None`` if unusable."""
    try:
        fd = open_regular(path)
        size = os.fstat(fd).st_size
        with os.fdopen(fd, "rb") as handle:
            prefix = handle.read(8)
            if len(prefix) < 8:
                report.error("safetensors/truncated", "file is shorter than the 8-byte header length", rel)
                return None
            (length,) = struct.unpack("<Q", prefix)
            if length > MAX_HEADER_BYTES:
                report.error("safetensors/header-too-large", f"header length {length} exceeds 100 MB", rel)
                return None
            if 8 + length > size:
                report.error(
                    "safetensors/header-out-of-bounds",
                    f"header length {length} runs past the end of the {size}-byte file",
                    rel,
                )
                return None
            raw = handle.read(length)
    except OSError as exc:
        report.error("safetensors/unreadable", f"cannot read file: {exc.strerror or exc}", rel)
        return None
    return parse_header_bytes(prefix + raw, rel, size, report)


def parse_header_bytes(header_bytes: bytes, rel: str, file_size: int, report: Report) -> SafetensorsHeader | None:
    """Check the JSON header and the data layout it describes."""
    try:
        text = header_bytes[8:].decode("utf-8")
    except UnicodeDecodeError:
        report.error("safetensors/header-not-utf8", "header is not valid UTF-8", rel)
        return None
    try:
        doc = json.loads(text, object_pairs_hook=_pairs_no_duplicates)
    except _DuplicateKey as exc:
        report.error("safetensors/duplicate-key", f"header repeats the key {exc.args[0]!r}", rel)
        return None
    except ValueError as exc:
        report.error("safetensors/header-not-json", f"header is not JSON: {exc}", rel)
        return None
    if not isinstance(doc, dict):
        report.error("safetensors/header-not-object", "header JSON is not an object", rel)
        return None

    before = len(report.errors)
    metadata = _check_metadata(doc.pop("__metadata__", {}), rel, report)
    data_len = file_size - len(header_bytes)
    tensors = [t for name, spec in doc.items() if (t := _check_entry(name, spec, rel, report))]
    _check_layout(tensors, data_len, rel, report)
    if len(report.errors) > before:
        return None
    return SafetensorsHeader(rel, header_bytes, len(header_bytes), file_size, metadata, tensors)


def _check_metadata(meta: object, rel: str, report: Report) -> dict[str, str]:
    if meta is None:  # ``"__metadata__": null``: no metadata, as the reference reader takes it (mlx writes it)
        return {}
    if not isinstance(meta, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()):
        report.error("safetensors/bad-metadata", "__metadata__ must map strings to strings", rel)
        return {}
    return meta


def _check_entry(name: str, spec: object, rel: str, report: Report) -> TensorEntry | None:
    if not name:
        report.error("safetensors/empty-name", "a tensor has an empty name", rel)
        return None
    if not isinstance(spec, dict):
        report.error("safetensors/bad-entry", f"tensor {name!r}: entry is not an object", rel)
        return None
    dtype, shape, offsets = spec.get("dtype"), spec.get("shape"), spec.get("data_offsets")
    if dtype not in DTYPE_SIZES:
        report.error("safetensors/unknown-dtype", f"tensor {name!r}: unknown dtype {dtype!r}", rel)
        return None
    if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
        report.error("safetensors/bad-shape", f"tensor {name!r}: shape must be non-negative ints", rel)
        return None
    if len(shape) > MAX_RANK:
        report.error("safetensors/bad-shape", f"tensor {name!r}: {len(shape):,} dimensions (at most {MAX_RANK})", rel)
        return None
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(isinstance(o, int) and not isinstance(o, bool) and o >= 0 for o in offsets)
    ):
        report.error("safetensors/bad-offsets", f"tensor {name!r}: data_offsets must be [begin, end]", rel)
        return None
    begin, end = offsets
    if begin > end:
        report.error("safetensors/bad-offsets", f"tensor {name!r}: begin {begin} > end {end}", rel)
        return None
    entry = TensorEntry(name, rel, dtype, tuple(shape), begin, end)
    expected = entry.numel * DTYPE_SIZES[dtype]
    if entry.nbytes != expected:
        report.error(
            "safetensors/size-mismatch",
            f"tensor {name!r}: {entry.nbytes} bytes for {dtype}{list(shape)} (expected {expected})",
            rel,
        )
        return None
    return entry


def _check_layout(tensors: list[TensorEntry], data_len: int, rel: str, report: Report) -> None:
    """Offsets must tile the data buffer exactly: sorted, contiguous, no holes, no tail."""
    cursor = 0
    for entry in sorted(tensors, key=lambda t: (t.begin, t.end)):
        if entry.end > data_len:
            report.error(
                "safetensors/offsets-out-of-bounds",
                f"tensor {entry.name!r} ends at {entry.end}, past the {data_len}-byte data buffer",
                rel,
            )
            return
        if entry.begin < cursor:
            report.error("safetensors/overlap", f"tensor {entry.name!r} overlaps the previous tensor", rel)
            return
        if entry.begin > cursor:
            report.error(
                "safetensors/hole",
                f"{entry.begin - cursor} unused bytes before tensor {entry.name!r}",
                rel,
            )
            return
        cursor = entry.end
    if cursor != data_len:
        report.error("safetensors/trailing-bytes", f"{data_len - cursor} bytes after the last tensor", rel)
