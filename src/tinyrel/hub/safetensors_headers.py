"""A safetensors file's header from the Hub by HTTP range reads: tensor names, dtypes and shapes
without downloading the weights (the base-model check, ``tinyrel diff`` of a repo with no manifest).

The requests are the ones huggingface_hub's ``HfApi.parse_safetensors_file_metadata`` makes (the
first 100 kB, then the rest of the header if it is longer), through huggingface_hub's own session
(tinyrel's bounded client, inside the call's ``HubSession``).  Its parsing is not used, because a
hostile Hub could make it run for hours: it multiplies out every tensor's shape (``TensorInfo``'s
``parameter_count``), and a 25 MB header can hold a shape of millions of dimensions, whose product
costs time quadratic in its length.  The bytes go through tinyrel's strict header parser instead.
``get_safetensors_metadata`` is not used either: it downloads a sharded repo's index into the
shared cache and takes the shard names from it; here the names come from the checked listing (or
the lock's pins) and the revision is a commit.

Bounds: every request is held to tinyrel's bound of silence (``tinyrel.hub.guard``), and every body
to ``8 + MAX_HEADER_BYTES`` and to the file's size — also when a server ignores the ``Range`` and
sends the whole file (which the emulator does, and which HTTP allows): a 5 GB shard is refused at
the cap, never read into memory.  A header longer than huggingface_hub's 25 MB limit is refused
before it is requested.

A header read this way is the Hub's word for that commit: it is not checked against the file's
SHA-256 (that takes the whole file).  Whoever fetches the files checks every byte.
"""

from __future__ import annotations

import re
import struct

from tinyrel.findings import Report, TinyrelError
from tinyrel.weights.safetensors_format import SafetensorsHeader, parse_header_bytes

FIRST_READ = 100_000  # huggingface_hub's first range: most headers fit in it
MAX_HEADER_BYTES = 25_000_000  # huggingface_hub's SAFETENSORS_MAX_HEADER_LENGTH
_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")


def _get_range(url: str, headers: dict[str, str], start: int, end: int, size: int, rel: str) -> bytes:
    """Bytes ``start..end`` (inclusive) of the file, from a 206 that says it holds them or a 200
    that holds the whole file — each body bounded by the cap and the file's size."""
    from huggingface_hub.utils import get_session, hf_raise_for_status

    from tinyrel.hub.guard import DownloadCapture, capturing

    with capturing(DownloadCapture(expected=min(size, 8 + MAX_HEADER_BYTES), file_size=size)):
        response = get_session().get(url, headers={**headers, "range": f"bytes={start}-{end}"})
        hf_raise_for_status(response)
        body = response.content
    if response.status_code == 206:
        match = _RANGE.match(response.headers.get("content-range", "").strip())
        if match is None or int(match.group(1)) != start or len(body) != int(match.group(2)) - start + 1:
            raise TinyrelError("hub/untrusted-response", f"{rel}: the Hub answered a range request with other bytes "
                               f"than it asked for ({response.headers.get('content-range', 'no Content-Range')[:60]})")
        return body[: end - start + 1]
    if response.status_code != 200 or len(body) != size:
        raise TinyrelError("hub/untrusted-response", f"{rel}: the Hub answered a range request with {len(body):,} "
                           f"bytes (HTTP {response.status_code}); the file is {size:,} bytes")  # fmt: skip
    return body[start : end + 1]


def read_remote_header(repo_id: str, rel: str, commit: str, size: int, report: Report,
                       token: str | bool | None = None) -> SafetensorsHeader | None:  # fmt: skip
    """``rel``'s header at ``commit`` (``size``: the file's size, from the listing or a pin), parsed
    and checked like a local one; problems are findings in ``report`` (``None``: unusable)."""
    from huggingface_hub import hf_hub_url
    from huggingface_hub.utils import build_hf_headers

    from tinyrel.hub.client import endpoint
    from tinyrel.hub.session import current

    current().bounds()  # tinyrel's bounded client is huggingface_hub's session from here on
    if size < 8:
        report.error("safetensors/truncated", f"the file is {size} bytes, shorter than the header length", rel)
        return None
    url = hf_hub_url(repo_id, rel, revision=commit, endpoint=endpoint())
    headers = build_hf_headers(token=token)
    first = _get_range(url, headers, 0, min(FIRST_READ, size - 1), size, rel)
    (length,) = struct.unpack("<Q", first[:8])
    if length > MAX_HEADER_BYTES:
        report.error("safetensors/header-too-large", f"header length {length:,} exceeds {MAX_HEADER_BYTES:,} bytes",
                     rel)  # fmt: skip
        return None
    if 8 + length > size:
        report.error("safetensors/header-out-of-bounds", f"header length {length:,} runs past the end of the "
                     f"{size:,}-byte file", rel)  # fmt: skip
        return None
    raw = first[: 8 + length] if len(first) >= 8 + length else first[:8] + _get_range(url, headers, 8, 7 + length,
                                                                                      size, rel)  # fmt: skip
    return parse_header_bytes(raw, rel, size, report)
