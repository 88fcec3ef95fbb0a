"""The deep check: the variant's quantized values are mlx's quantization of the parent's tensors.

Shapes and digests (``variant_check``) cannot tell a 4-bit conversion of these weights from one of
another checkpoint of the same architecture: this reads the values.  For each quantized module, row
block by row block (at most ``CHUNK_BYTES`` of the parent's tensor at a time, so memory stays bounded
whatever the model size), the parent's rows are quantized again with ``mlx.core.quantize`` at the
module's bits, group size and mode, and compared with the variant's packed weight, scales and biases:

- **bit-identical** — the usual case for a variant converted by mlx-lm from these files;
- otherwise (affine mode) the block is quantized again in float32, which yields the very codes of
  mlx's kernel (it computes in float32 whatever the input dtype) and the scales and biases it had
  before storing them.  Each stored code must be that code, or its neighbour for a value at the
  rounding tie between the two (within ``TIE`` of a step); each stored scale and bias must be the
  computed one up to the rounding of its dtype.  A variant made on another device or mlx build lands
  here (a few values rounded the other way at a tie); a variant of another checkpoint has other
  scales in nearly every group, and a single tampered code is off the rounding by a whole step;
- the float modes (``mxfp4``, ``mxfp8``, ``nvfp4``) must be bit-identical.

Every tensor read is hashed on the way (BLAKE3) and must have its manifest's digest, so the verdict
is about the files the manifests describe.  Tensors the conversion only cast to another float dtype
are compared value for value after the same cast.
"""

from __future__ import annotations

import math
import os
import struct
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinyrel.findings import Finding
from tinyrel.safe_io import checked_relpath, open_regular
from tinyrel.weights.variant_check import MAX_PER_CODE, Comparison, ConvertedModule

CHUNK_BYTES = 16 * 1024 * 1024  # of the parent's tensor per block
CACHE_BYTES = 8 * CHUNK_BYTES  # mlx's cache of freed buffers while the check runs
_NUMPY = {"BF16": "uint16", "F16": "float16", "F32": "float32", "U32": "uint32", "U8": "uint8"}
_ROUNDOFF = {"BF16": 2.0**-8, "F16": 2.0**-11, "F32": 2.0**-24}  # unit roundoff of a stored scale or bias
TIE = 1e-3  # of a step: how near the midpoint of two codes a value must be for either code to be its rounding


@dataclass
class DeepResult:
    identical: list[str] = field(default_factory=list)  # modules whose re-quantization is bit-identical
    at_ties: list[str] = field(default_factory=list)  # not bit-identical: codes differ only at rounding ties
    cast_equal: list[str] = field(default_factory=list)  # cast tensors equal to the parent's, value for value
    findings: list[Finding] = field(default_factory=list)
    bytes_read: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"identical": len(self.identical), "at_ties": sorted(self.at_ties),
                "cast_equal": len(self.cast_equal), "bytes_read": self.bytes_read,
                "seconds": round(self.seconds, 3)}  # fmt: skip


class _Files:
    """Open safetensors files of one model directory, and where each one's data buffer starts."""

    def __init__(self, root: Path):
        self.root, self.fds, self.starts = root, {}, {}

    def read(self, rel: str, begin: int, length: int) -> bytes:
        if rel not in self.fds:
            fd = open_regular(self.root / checked_relpath(rel))
            self.fds[rel] = fd
            head = os.pread(fd, 8, 0)
            if len(head) != 8:
                raise OSError(f"{rel} is not a safetensors file")
            self.starts[rel] = 8 + struct.unpack("<Q", head)[0]
        data = os.pread(self.fds[rel], length, self.starts[rel] + begin)
        if len(data) != length:
            raise OSError(f"{rel} is shorter than its manifest says")
        return data

    def close(self) -> None:
        for fd in self.fds.values():
            os.close(fd)


class _Tensor:
    """One tensor, read as 2-D row blocks; its bytes are hashed in order as they are read."""

    def __init__(self, files: _Files, record: dict[str, Any]):
        import blake3

        self.files, self.record = files, record
        shape = list(record["shape"]) or [1]
        self.rows, self.width = math.prod(shape[:-1]), shape[-1]
        self.row_bytes = (record["data_offsets"][1] - record["data_offsets"][0]) // max(1, self.rows)
        self.hasher = blake3.blake3(max_threads=1)

    def rows_array(self, start: int, stop: int):
        import mlx.core as mx
        import numpy as np

        begin = self.record["data_offsets"][0] + start * self.row_bytes
        data = self.files.read(self.record["file"], begin, (stop - start) * self.row_bytes)
        self.hasher.update(data)
        array = mx.array(np.frombuffer(data, dtype=_NUMPY[self.record["dtype"]]).reshape(stop - start, -1))
        return array.view(mx.bfloat16) if self.record["dtype"] == "BF16" else array

    def digest_ok(self) -> bool:
        return self.record.get("digest") in (None, self.hasher.hexdigest())


def _mx_dtype(name: str):
    import mlx.core as mx

    return {"BF16": mx.bfloat16, "F16": mx.float16, "F32": mx.float32}[name]


def _off_the_rounding(w, wq, scales, biases, module: ConvertedModule) -> tuple[int, int]:
    """(values whose code is not mlx's rounding of the parent's value, groups whose scale or bias is
    not the parent's group's), for a block that is not bit-identical.

    The parent's rows are quantized again in float32, which gives the same codes as mlx's kernel (it
    computes in float32 whatever the input dtype) and the scales and biases before they are stored.
    A code may differ only for a value at a rounding tie between the two codes (``TIE`` of a step);
    a stored scale or bias only by the rounding of its dtype.  Only rows with a differing packed word
    are unpacked: a conversion made elsewhere differs in a few values, not in every row."""
    import mlx.core as mx
    import numpy as np

    exact = w.astype(mx.float32)
    codes32, scales32, biases32 = mx.quantize(exact, module.group_size, module.bits, mode="affine")
    u = _ROUNDOFF[module.scales["dtype"]]
    bad = mx.zeros(scales.shape, dtype=mx.bool_)
    for stored, computed in ((scales, scales32), (biases, biases32)):
        bad = bad | (mx.abs(stored.astype(mx.float32) - computed) > 2 * u * mx.abs(computed))
    differs = mx.any(codes32 != wq, axis=-1)
    mx.eval(bad, differs)
    groups = int(mx.sum(bad).item())
    rows = np.flatnonzero(np.array(differs))
    if rows.size == 0:
        return 0, groups
    take = mx.array(rows.astype(np.int32))
    count, width = rows.size, scales.shape[-1]

    def codes(packed):
        ones, zeros = mx.ones((count, width), dtype=mx.float32), mx.zeros((count, width), dtype=mx.float32)
        unpacked = mx.dequantize(mx.take(packed, take, axis=0), ones, zeros, module.group_size, module.bits,
                                 mode="affine", dtype=mx.float32)  # fmt: skip
        return unpacked.reshape(count, width, -1)

    ours, theirs = codes(codes32), codes(wq)
    grid = (mx.take(exact, take, axis=0).reshape(count, width, -1) - mx.take(biases32, take, axis=0)[..., None])
    position = grid / mx.take(scales32, take, axis=0)[..., None]
    at_tie = mx.abs(position - (ours + theirs) / 2) <= TIE
    wrong = mx.sum((ours != theirs) & ((mx.abs(ours - theirs) != 1) | ~at_tie))
    mx.eval(wrong)
    return int(wrong.item()), groups


def _check_module(files: tuple[_Files, _Files], module: ConvertedModule, result: DeepResult, label: str) -> None:
    import mlx.core as mx

    parent = _Tensor(files[0], module.parent)
    weight, scales = _Tensor(files[1], module.weight), _Tensor(files[1], module.scales)
    biases = _Tensor(files[1], module.biases) if module.biases is not None else None
    step = max(1, CHUNK_BYTES // max(1, parent.row_bytes))
    identical, wrong, groups = True, 0, 0
    for start in range(0, parent.rows, step):
        stop = min(parent.rows, start + step)
        w = parent.rows_array(start, stop)
        if module.scales["dtype"] in _ROUNDOFF:  # quantized from the dtype its scales are stored in
            w = w.astype(_mx_dtype(module.scales["dtype"]))
        wq, sc = weight.rows_array(start, stop), scales.rows_array(start, stop)
        bi = biases.rows_array(start, stop) if biases is not None else None
        again = mx.quantize(w, module.group_size, module.bits, mode=module.mode)
        same = mx.array_equal(again[0], wq) and mx.array_equal(again[1], sc)
        if bi is not None:
            same = same and mx.array_equal(again[2], bi)
        if bool(same):
            continue
        identical = False
        if module.mode == "affine" and bi is not None:
            values, bad_groups = _off_the_rounding(w, wq, sc, bi, module)
            wrong, groups = wrong + values, groups + bad_groups
        else:
            wrong = max(wrong, 1)
    result.bytes_read += sum(t.record["data_offsets"][1] - t.record["data_offsets"][0]
                             for t in (parent, weight, scales, biases) if t is not None)  # fmt: skip
    _digests(label, (parent, weight, scales, biases), result)
    name = f"{module.prefix}.weight"
    if identical:
        result.identical.append(module.prefix)
    elif module.mode != "affine":
        result.findings.append(Finding("variant/not-from-parent", "error", f"{label}: {name} is not mlx's "
                                       f"{module.mode} quantization of the parent's tensor (this mode must be "
                                       "bit-identical)"))  # fmt: skip
    elif wrong or groups:
        total = parent.rows * module.scales["shape"][-1]
        result.findings.append(Finding("variant/not-from-parent", "error", f"{label}: {name}: {wrong:,} of "
                                       f"{parent.rows * parent.width:,} codes are not mlx's {module.bits}-bit rounding "
                                       f"of the parent's values and {groups:,} of {total:,} groups have another scale "
                                       "or bias: not a quantization of these weights"))  # fmt: skip
    else:
        result.at_ties.append(module.prefix)


def _check_cast(files: tuple[_Files, _Files], pair: tuple[dict, dict], result: DeepResult, label: str) -> None:
    import mlx.core as mx

    parent, variant = _Tensor(files[0], pair[0]), _Tensor(files[1], pair[1])
    step = max(1, CHUNK_BYTES // max(1, parent.row_bytes))
    equal = True
    for start in range(0, parent.rows, step):
        stop = min(parent.rows, start + step)
        want = parent.rows_array(start, stop).astype(_mx_dtype(pair[1]["dtype"]))
        equal = equal and bool(mx.array_equal(want, variant.rows_array(start, stop)))
    result.bytes_read += sum(t["data_offsets"][1] - t["data_offsets"][0] for t in pair)
    _digests(label, (parent, variant), result)
    if equal:
        result.cast_equal.append(pair[1]["name"])
    else:
        result.findings.append(Finding("variant/not-from-parent", "error", f"{label}: {pair[1]['name']} is not the "
                                       f"parent's tensor cast to {pair[1]['dtype']}: not a conversion of these "
                                       "weights"))  # fmt: skip


def _digests(label: str, tensors, result: DeepResult) -> None:
    for side, tensor in zip(("parent", "variant", "variant", "variant"), tensors, strict=False):
        if tensor is not None and not tensor.digest_ok():
            result.findings.append(Finding("variant/changed-on-disk", "error", f"{label}: the {side}'s "
                                           f"{tensor.record['name']} on disk is not the tensor its manifest describes "
                                           "(re-run tinyrel manifest, or restore the files)"))  # fmt: skip


def deep_check(parent_root: Path, variant_root: Path, comparison: Comparison, label: str,
               progress: Callable[[int], None] | None = None) -> DeepResult:  # fmt: skip
    """Read every quantized module and cast tensor of the variant, and its parent's tensor."""
    import mlx.core as mx

    result = DeepResult()
    started = time.monotonic()
    files = (_Files(parent_root), _Files(variant_root))
    previous = mx.set_cache_limit(CACHE_BYTES)  # mlx keeps freed buffers for reuse: bounded, like the reads
    try:
        for module in comparison.converted:
            if module.global_scale:
                result.findings.append(Finding("variant/not-checked", "warning", f"{label}: {module.prefix} has a "
                                               "global scale; its values were not compared"))  # fmt: skip
                continue
            _check_module(files, module, result, label)
            if progress is not None:
                progress(1)
        for pair in comparison.cast:
            _check_cast(files, pair, result, label)
    finally:
        for f in files:
            f.close()
        mx.set_cache_limit(previous)
        # The cached buffers this check freed go back to the system.  mlx has one cache per process,
        # so a host's cached buffers go too: that costs it a re-allocation at most, never a value.
        mx.clear_cache()
    result.seconds = time.monotonic() - started
    result.findings = _capped(result.findings, label)
    return result


def _capped(findings: list[Finding], label: str) -> list[Finding]:
    """At most ``MAX_PER_CODE`` findings of a code: another checkpoint fails every module alike."""
    kept, extra = [], Counter()
    for f in findings:
        if sum(1 for k in kept if k.code == f.code) < MAX_PER_CODE:
            kept.append(f)
        else:
            extra[f.code] += 1
    kept += [Finding(code, "error", f"{label}: {n:,} more {code} findings (the first {MAX_PER_CODE} are listed)")
             for code, n in sorted(extra.items())]  # fmt: skip
    return kept
