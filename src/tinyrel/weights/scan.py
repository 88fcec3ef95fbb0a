"""The one read pass: per-tensor digests, the NaN/Inf scan and whole-file SHA-256, on all cores.

Every byte of every weight file is read once.  Work is split into jobs — one per tensor, plus
optionally one sequential SHA-256 per file — and run on a thread pool sized to the machine: the
heavy kernels (BLAKE3, hashlib, numpy ufuncs) release the GIL, so threads scale across cores.
Data is read in fixed windows through ``mmap`` with ``MAP_POPULATE`` (no per-page faults, no copy)
and each window is unmapped before the next, so resident memory stays bounded by
``workers × WINDOW`` whatever the model size.  Inside a window the digest and the value scan run
over the same cache-sized block back to back, so the scan reads from cache, not from RAM.
numpy and blake3 are imported on first use: header-only runs never load them.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tinyrel.safe_io import open_regular

TENSOR_DIGEST = "blake3"
WINDOW = 16 * 1024 * 1024
BLOCK = 2 * 1024 * 1024
_MAP_FLAGS = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)

# dtype -> (unsigned view, mask clearing the sign bit, smallest masked value that is NaN/Inf)
_NONFINITE_RULES: dict[str, tuple[str, int, int]] = {
    "BF16": ("uint16", 0x7FFF, 0x7F80),
    "F16": ("uint16", 0x7FFF, 0x7C00),
    "F32": ("uint32", 0x7FFFFFFF, 0x7F800000),
    "C64": ("uint32", 0x7FFFFFFF, 0x7F800000),
    "F64": ("uint64", 0x7FFFFFFFFFFFFFFF, 0x7FF0000000000000),
    "F8_E5M2": ("uint8", 0x7F, 0x7C),
    "F8_E4M3": ("uint8", 0x7F, 0x7F),
}


@dataclass(frozen=True)
class TensorJob:
    """Bytes ``[start, start + nbytes)`` of ``path`` holding tensor ``name``."""

    name: str
    path: Path
    start: int
    nbytes: int
    dtype: str
    digest: bool
    finite: bool


@dataclass(frozen=True)
class TensorResult:
    digest: str | None
    nonfinite: bool


def worker_count() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def _windows(fd: int, start: int, nbytes: int) -> Iterable[memoryview]:
    """Yield read-only views of ``[start, start+nbytes)``, one mapped window at a time.

    Windows are cut at multiples of ``WINDOW`` from ``start`` so no element straddles two views.
    """
    granularity = mmap.ALLOCATIONGRANULARITY
    done = 0
    while done < nbytes:
        chunk_start = start + done
        chunk_len = min(WINDOW, nbytes - done)
        map_off = chunk_start - chunk_start % granularity
        lead = chunk_start - map_off
        with mmap.mmap(fd, lead + chunk_len, flags=_MAP_FLAGS, prot=mmap.PROT_READ, offset=map_off) as mm:
            view = memoryview(mm)
            window = view[lead : lead + chunk_len]
            try:
                yield window
            finally:
                window.release()
                view.release()
        done += chunk_len


_scratch = threading.local()  # one reusable output buffer per worker thread


def _has_nonfinite(block: memoryview, dtype: str) -> bool:
    import numpy as np

    view_type, mask, threshold = _NONFINITE_RULES[dtype]
    values = np.frombuffer(block, dtype=view_type)
    buffer = getattr(_scratch, "buffer", None)
    if buffer is None:
        buffer = _scratch.buffer = np.empty(BLOCK, dtype=np.uint8)
    out = buffer[: block.nbytes].view(view_type)
    np.bitwise_and(values, mask, out=out)
    return bool(out.max() >= threshold)


def _scan_tensor(job: TensorJob, progress: Callable[[int], None]) -> TensorResult:
    import blake3

    hasher = blake3.blake3(max_threads=1) if job.digest else None
    check = job.finite and job.dtype in _NONFINITE_RULES
    nonfinite = False
    if job.nbytes:
        fd = open_regular(job.path)
        try:
            for window in _windows(fd, job.start, job.nbytes):
                for offset in range(0, window.nbytes, BLOCK):
                    block = window[offset : offset + BLOCK]
                    if hasher is not None:
                        hasher.update(block)
                    if check and not nonfinite:
                        nonfinite = _has_nonfinite(block, job.dtype)
                    block.release()
                progress(window.nbytes)
        finally:
            os.close(fd)
    digest = hasher.hexdigest() if hasher is not None else None
    return TensorResult(digest, nonfinite)


def _sha256_file(path: Path, progress: Callable[[int], None]) -> str:
    hasher = hashlib.sha256()
    fd = open_regular(path)
    size = os.fstat(fd).st_size
    try:
        for window in _windows(fd, 0, size):
            hasher.update(window)
            progress(window.nbytes)
    finally:
        os.close(fd)
    return hasher.hexdigest()


def blake3_bytes(data: bytes) -> str:
    import blake3

    return blake3.blake3(data).hexdigest()


@dataclass
class ScanResult:
    tensors: dict[tuple[str, str], TensorResult]
    file_sha256: dict[str, str]


def run_scan(
    tensor_jobs: list[tuple[str, TensorJob]],
    sha_files: list[tuple[str, Path]],
    progress: Callable[[int], None] | None = None,
) -> ScanResult:
    """Run all jobs on all cores, biggest first (so the tail of the pool stays busy).

    ``tensor_jobs`` pairs each job with its file's relative path; results are keyed by
    ``(file, tensor name)``.  ``sha_files`` lists files whose full SHA-256 is needed.
    """
    lock = threading.Lock()
    stop = threading.Event()  # Ctrl-C: every worker stops at its next window instead of hashing on

    def tick(n: int) -> None:
        if stop.is_set():
            raise _Stopped
        if progress is not None:
            with lock:
                progress(n)

    result = ScanResult({}, {})
    # (bytes, job, where its result goes): biggest first, results stored under their own key.
    work: list[tuple[int, Callable[[], object], dict, object]] = []
    for rel, job in tensor_jobs:
        work.append((job.nbytes, lambda j=job: _scan_tensor(j, tick), result.tensors, (rel, job.name)))
    for rel, path in sha_files:
        work.append((path.stat().st_size, lambda p=path: _sha256_file(p, tick), result.file_sha256, rel))
    work.sort(key=lambda item: item[0], reverse=True)

    pool = ThreadPoolExecutor(max_workers=worker_count(), thread_name_prefix="tinyrel-scan")
    try:
        futures = [(target, key, pool.submit(fn)) for _, fn, target, key in work]
        for target, key, future in futures:
            target[key] = future.result()
    except BaseException:
        stop.set()  # Ctrl-C or a failure: queued jobs never start, running ones stop at their next window
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return result


class _Stopped(Exception):
    """The scan was abandoned (Ctrl-C): a worker stops where it is."""
