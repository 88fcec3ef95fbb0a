"""What an inspect-ai log may cost to read, checked before inspect-ai's reader opens it.

inspect-ai's reader inflates each ``.eval`` member whole and builds Python objects from its JSON,
so a small file can ask for gigabytes twice over: compression (a deflate member inflates up to
~1,000 times its size, a zstd member ~30,000 times, and a forged directory can state 1 KB for a
member that inflates to 1 GB), then parsing (``[{},{},…]`` is one dict, 64 bytes and more, per 3
bytes of JSON).  So before inspect-ai sees a log, tinyrel

- counts its members and samples from the central directory and adds up their stated sizes;
- inflates every member a chunk at a time (``log_archive``), keeping nothing, and stops at the
  first size limit crossed, so a member that lies about its size is caught at the limit;
- bounds the JSON values inspect-ai will build: from the bytes (every value or key needs a
  ``{``, ``[``, ``:`` or ``,``) when that bound is low, as it is for most logs, and otherwise by
  streaming the samples through ijson and counting what inspect-ai builds of them, which is not
  the transcripts (``UNREAD_SAMPLE_FIELDS``, skipped by inspect-ai's reader at tinyrel's request).

The compression ratio is deliberately not limited: a degenerate model repeating one token for its
whole output budget produces a real transcript that compresses a thousandfold, and that is the
kind of model whose evidence a release gate must be able to read.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from tinyrel.evidence.log_archive import CHUNK, STORED, ChunkReader, LogDamaged, Member, inflate, read_directory
from tinyrel.evidence.scores import MAX_RECORDS_BYTES, shown
from tinyrel.safe_io import open_regular

# A sample is one member ("samples/<id>_epoch_<n>.json").  The largest common benchmarks hold
# 10,000-20,000 items (MMLU 14,042, TriviaQA 17,944); several epochs of one stay under this.
MAX_LOG_SAMPLES = 100_000
# Per sample at most one journal summary besides its own member, plus a few fixed members.
MAX_LOG_MEMBERS = 2 * MAX_LOG_SAMPLES + 1_000
# One member inflated: a long agent transcript with tool output and screenshots is tens of MB.
# No more JSON than a whole .json log or JSONL file may hold.
MAX_MEMBER_BYTES = MAX_RECORDS_BYTES
# The whole log inflated.  A simple QA sample is ~10 KB of JSON and an agent's transcript a few
# MB, so thousands of samples are hundreds of MB to a few GB; at the ~8x zstd gets on transcripts
# the on-disk limit (MAX_RECORDS_BYTES, 256 MiB) allows about this much, so this one rarely binds
# first.  It bounds time, not memory: inspect-ai is asked to skip transcripts, not to build them.
MAX_LOG_BYTES = 2 * 1024 * 1024 * 1024
# JSON values and keys inspect-ai builds as Python objects (transcripts not counted: they are not
# built).  A sample's id, input, target, scores and timings are a few dozen, its reductions about
# a dozen per scorer: a log at MAX_LOG_SAMPLES needs well under half of this.  Built and validated,
# an object costs ~100 bytes, so about 2 GB at the limit.  (pydantic keeps an error object of 1-8 KB
# per element that fails validation; this limit bounds the elements, not that constant.)
MAX_LOG_VALUES = 20_000_000

# Sample fields tinyrel never reads.  inspect-ai's ``.eval`` reader skips them while it streams a
# member, so the transcripts (most of a log's bytes) never become Python objects.
UNREAD_SAMPLE_FIELDS = frozenset({
    "messages", "events", "events_data", "timelines", "store", "attachments", "output", "metadata", "sandbox",
    "files", "setup", "choices", "model_usage", "role_usage", "model_fallbacks", "error_retries",
})  # fmt: skip
# Members inspect-ai's ``read_eval_log`` never opens: the viewer's per-sample summaries.
_UNREAD_MEMBERS = ("summaries.json", "_journal/summaries/")


class LogTooLarge(Exception):
    """The log is over one of the limits above; the message names the limit."""


def check_eval_log(path: Path) -> bool:
    """Raise ``LogTooLarge`` or ``LogDamaged`` unless the ``.eval`` log at ``path`` is within every limit.

    Returns whether inspect-ai may build the whole log, transcripts included: when it inflates to
    no more than a ``.json`` log may hold and its bytes alone bound its values.  inspect-ai's
    whole-member reads are about three times faster than the streaming reads that skip fields.
    """
    with os.fdopen(open_regular(path), "rb") as handle:
        file_size = os.fstat(handle.fileno()).st_size
        members = read_directory(handle, file_size, MAX_LOG_MEMBERS)
        if len(members) > MAX_LOG_MEMBERS:
            raise LogTooLarge(f"more than {MAX_LOG_MEMBERS:,} members, the limit for an inspect-ai log")
        _check_stated_sizes(members)
        bounds = [_inflated_within_limits(handle, file_size, member, sum_before) for member, sum_before in
                  zip(members, _running_sizes(members), strict=True)]  # fmt: skip
        built = [(member, bound) for member, bound in zip(members, bounds, strict=True)
                 if not member.name.startswith(_UNREAD_MEMBERS)]  # fmt: skip
        if sum(bound for _, bound in built) <= MAX_LOG_VALUES:  # the bytes alone show it, as for most logs
            return sum(_effective_size(member) for member in members) <= MAX_RECORDS_BYTES
        total = 0
        for member, bound in built:  # count what inspect-ai builds of each sample, transcripts skipped
            left = MAX_LOG_VALUES - total
            counted = _values_built(inflate(handle, file_size, member), left) if member.is_sample else None
            total += bound if counted is None else counted
            if total > MAX_LOG_VALUES:
                raise LogTooLarge(_too_many_values("JSON values outside its transcripts"))
    return False


def check_json_log(path: Path) -> None:
    """Raise ``LogTooLarge`` unless inspect-ai builds at most ``MAX_LOG_VALUES`` objects from the ``.json`` log.

    inspect-ai reads a ``.json`` log whole, transcripts included; its size is already limited.
    """

    def chunks() -> Iterator[bytes]:
        with os.fdopen(open_regular(path), "rb") as handle:
            while chunk := handle.read(CHUNK):
                yield chunk

    if sum(_value_bound(chunk) for chunk in chunks()) + 1 <= MAX_LOG_VALUES:
        return
    counted = _values_built(chunks(), MAX_LOG_VALUES, skip=frozenset())
    if counted is None or counted > MAX_LOG_VALUES:
        raise LogTooLarge(_too_many_values())


def _too_many_values(what: str = "JSON values") -> str:
    return f"the log holds more than {MAX_LOG_VALUES:,} {what}, the limit for an inspect-ai log"


def _too_large(member: Member, total: int, inflated: int) -> str:
    if total + inflated > MAX_LOG_BYTES:
        return f"the log inflates to more than {MAX_LOG_BYTES:,} bytes, the limit for an inspect-ai log"
    return (f"member {shown(member.name)} inflates to more than {MAX_MEMBER_BYTES:,} bytes, the limit for "
            "one member of an inspect-ai log")  # fmt: skip


def _effective_size(member: Member) -> int:
    return member.compressed if member.method == STORED else member.size  # inspect-ai passes stored bytes as they are


def _running_sizes(members: list[Member]) -> list[int]:
    """The stated inflated size of all members before each one."""
    out, total = [], 0
    for member in members:
        out.append(total)
        total += _effective_size(member)
    return out


def _check_stated_sizes(members: list[Member]) -> None:
    """The limits as the central directory states the sizes: most bombs end here, nothing inflated."""
    samples = {member.name for member in members if member.is_sample}
    if len(samples) > MAX_LOG_SAMPLES:
        raise LogTooLarge(f"{len(samples):,} samples, more than the {MAX_LOG_SAMPLES:,} allowed in an inspect-ai log")
    for member, before in zip(members, _running_sizes(members), strict=True):
        size = _effective_size(member)
        if size > MAX_MEMBER_BYTES or before + size > MAX_LOG_BYTES:
            raise LogTooLarge(_too_large(member, before, size))


def _inflated_within_limits(handle: BinaryIO, file_size: int, member: Member, before: int) -> int:
    """Inflate one member up to its limits (never further); its bound on JSON values built."""
    budget = min(MAX_MEMBER_BYTES, MAX_LOG_BYTES - before)
    inflated, bound = 0, 1
    for chunk in inflate(handle, file_size, member):
        inflated += len(chunk)
        if inflated > budget:
            raise LogTooLarge(_too_large(member, before, inflated))
        bound += _value_bound(chunk)
    if inflated != _effective_size(member):
        raise LogDamaged(f"member {shown(member.name)} inflates to {inflated:,} bytes, not the {member.size:,} "
                         "its directory states")  # fmt: skip
    return bound


def _value_bound(chunk: bytes) -> int:
    """At most how many Python objects parsing ``chunk`` can build (a container also needs its closing byte)."""
    return 2 * (chunk.count(b"{") + chunk.count(b"[")) + chunk.count(b":") + chunk.count(b",")


def _values_built(chunks: Iterator[bytes], limit: int, skip: frozenset[str] = UNREAD_SAMPLE_FIELDS) -> int | None:
    """The objects inspect-ai builds from one JSON document, top-level ``skip`` fields left out.

    Counting stops once over ``limit``.  ``None`` when ijson cannot parse the document (NaN or
    Infinity, which inspect-ai's log writer emits): inspect-ai then loads it whole with ``json``.
    """
    import ijson  # inspect-ai's own dependency, and the parser its reader skips fields with

    count, depth, skipping = 0, 0, False
    try:
        # a string spanning ijson's buffers costs it time quadratic in the string's length: buffers
        # of a MiB, not its default 64 KiB, make that 16 times cheaper
        for event, value in ijson.basic_parse(ChunkReader(chunks), buf_size=CHUNK, use_float=True):
            if event in ("end_map", "end_array"):
                depth -= 1
                continue
            if depth == 1 and event == "map_key":
                skipping = value in skip
            if not skipping:
                count += 1
                if count > limit:
                    return count
            if event in ("start_map", "start_array"):
                depth += 1
    except (ijson.JSONError, ValueError):
        return None
    return count
