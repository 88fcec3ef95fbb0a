"""The Hub is untrusted: bound every request in time and size, and check what the server chooses.

tinyrel talks to the Hub only through huggingface_hub; this module installs the HTTP client that
huggingface_hub uses (``set_client_factory``) with three guards:

- **timeouts**: connect, read and write timeouts on every request, whatever the caller asked for
  (``TINYREL_HUB_TIMEOUT`` seconds of silence, default 60; the Hub can take a while to answer a
  large commit), so a silent server ends in one clear error, not a hang (huggingface_hub's default
  client has no timeout, and retries timeouts with growing pauses);
- **size**: a response body may not exceed its declared ``Content-Length``, the size tinyrel
  expects for a file (sent as a private header that is stripped before the request leaves), or
  a cap for undeclared bodies — an endless body ends in an error, not a full disk;
- **names**: ``ETag``, ``X-Linked-Etag`` and ``X-Repo-Commit`` are checked before huggingface_hub
  uses them, because it builds file paths from them (a blob named after the ETag, a snapshot
  folder named after the commit): a value with ``/`` could place a file outside the cache.

Xet transfers do not pass through this client: ``hf_xet`` (Rust) talks to the Xet CAS itself.  For
them, ``xet_settings`` holds ``hf_xet`` to the same bound of silence and one retry (a silent CAS
ends in ``hub/xet-storage`` after about three times the bound), and
to a bounded read-ahead (its default 8 MB ingestion blocks took its peak memory to ~480 MB on an
8 GB upload; 1 MB blocks take ~200 MB at the same speed).  Their integrity does not rest on the
transport: ``hf_xet`` checks every chunk against the file's Merkle hash, and tinyrel checks size and
SHA-256 of every downloaded file against the signed list.
"""

from __future__ import annotations

import os
import re

EXPECTED_SIZE_HEADER = "x-tinyrel-expected-size"
FILE_HEADER = "x-tinyrel-file"  # the repo path being downloaded: digests computed in flight are keyed by it
UNDECLARED_CAP = 256 * 1024 * 1024
_ETAG = re.compile(r'^(W/)?"?([A-Za-z0-9._:+=-]{1,256})"?$')
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


# tinyrel's own progress display for transfers (huggingface_hub's bars are off: one display, not two).
_progress: dict[str, object] = {"upload": None, "download": None}


def report_progress(kind: str, advance) -> None:
    """Send the byte counts of uploads (PUT bodies) or downloads (GET bodies) to ``advance``.

    Nothing is wrapped when nothing is displayed: re-streaming an upload body through a Python
    generator costs seconds on gigabytes (measured: 8 GB over LFS, 19.9 s wrapped vs 14.0 s not).
    """
    from tinyrel.progress import no_progress

    _progress[kind] = None if advance is no_progress else advance


# SHA-256 of downloads, computed while the bytes stream in: ("org/name@commit:path", size) -> hex.  Only a
# body that arrived whole in one response is recorded (a resumed download is hashed afterwards).
streamed_sha256: dict[tuple[str, int], str] = {}


class UntrustedHubResponse(Exception):
    """The server answered something tinyrel will not act on (a path-like ETag, a body too long)."""


class HubTimeout(Exception):
    """The server did not answer within the bound.  Not an httpx timeout on purpose: huggingface_hub
    retries those with growing pauses (and longer timeouts), which turns silence into minutes."""


def timeout_seconds() -> float:
    try:
        return max(0.1, float(os.environ.get("TINYREL_HUB_TIMEOUT", "60")))
    except ValueError:
        return 60.0


def check_headers(response) -> None:
    for name in ("etag", "x-linked-etag"):
        value = response.headers.get(name)
        if value is not None and not _ETAG.match(value.strip()):
            raise UntrustedHubResponse(f"the Hub sent an unsafe {name} header ({value[:80]!r}); refusing to use it")
    commit = response.headers.get("x-repo-commit")
    if commit is not None and not _COMMIT.match(commit):
        raise UntrustedHubResponse(f"the Hub sent an unsafe commit id ({commit[:80]!r}); refusing to use it")


def _counted(stream, advance):
    import httpx2

    class Counted(httpx2.SyncByteStream):
        def __iter__(self):
            for chunk in stream:
                advance(len(chunk))
                yield chunk

    return Counted()


def _bounded_stream(stream, limit: int, url: str, advance=None, record: tuple[str, int] | None = None):
    import hashlib

    import httpx2

    class Bounded(httpx2.SyncByteStream):
        def __iter__(self):
            seen = 0
            digest = hashlib.sha256() if record is not None else None
            for chunk in stream:
                seen += len(chunk)
                if seen > limit:
                    raise UntrustedHubResponse(f"{url}: the response is longer than the {limit:,} bytes declared")
                if advance is not None:
                    advance(len(chunk))
                if digest is not None:
                    digest.update(chunk)
                yield chunk
            if digest is not None and record is not None and seen == record[1]:
                streamed_sha256[record] = digest.hexdigest()

        def close(self) -> None:
            close = getattr(stream, "close", None)
            if close is not None:
                close()

    return Bounded()


def _transport():
    import httpx2

    class BoundedTransport(httpx2.BaseTransport):
        def __init__(self) -> None:
            self.inner = httpx2.HTTPTransport()

        def handle_request(self, request):
            expected = request.headers.pop(EXPECTED_SIZE_HEADER, None)
            name = request.headers.pop(FILE_HEADER, None)
            if "/resolve/" not in request.url.path:
                # huggingface_hub sends a download's headers to the Xet token route too: the
                # file's size and name describe only the file's own body.
                expected = name = None
            # huggingface_hub retries a failed metadata request with a 60 s timeout of its own:
            # every request is held to tinyrel's bound, whatever the caller asked for.
            limit = timeout_seconds()
            timeouts = dict(request.extensions.get("timeout") or {})
            request.extensions["timeout"] = {
                key: limit if value is None else min(value, limit)
                for key, value in {**dict.fromkeys(("connect", "read", "write", "pool")), **timeouts}.items()
            }
            upload = _progress["upload"]
            if upload is not None and request.method == "PUT":
                request.stream = _counted(request.stream, upload)
            try:
                response = self.inner.handle_request(request)
            except httpx2.TimeoutException as exc:
                raise HubTimeout(f"no answer within {limit:g} s ({type(exc).__name__})") from None
            check_headers(response)
            limits = [UNDECLARED_CAP]
            declared = response.headers.get("content-length")
            if declared is not None and declared.isdigit():
                limits.append(int(declared))
            if expected is not None and expected.isdigit() and request.method == "GET":
                limits.append(int(expected))
            advance = _progress["download"] if expected is not None else None
            url = str(request.url.copy_with(query=None))
            # Only a whole, unencoded body is the file's bytes (a gzip body is not what lands on disk).
            whole = (request.method == "GET" and response.status_code == 200 and "range" not in request.headers
                     and response.headers.get("content-encoding", "identity") == "identity")  # fmt: skip
            record = (name, int(expected)) if whole and name and expected and expected.isdigit() else None
            response.stream = _bounded_stream(response.stream, min(limits), url, advance, record)
            return response

        def close(self) -> None:
            self.inner.close()

    return BoundedTransport()


def client_factory():
    import httpx2
    from huggingface_hub.utils._http import hf_request_event_hook

    seconds = timeout_seconds()
    return httpx2.Client(
        transport=_transport(),
        event_hooks={"request": [hf_request_event_hook]},
        follow_redirects=True,
        timeout=httpx2.Timeout(seconds, connect=min(seconds, 10.0)),
    )


def xet_settings() -> dict[str, str]:
    """The ``HF_XET_*`` settings tinyrel asks of ``hf_xet`` (see the module docstring)."""
    seconds = max(1, round(timeout_seconds()))
    return {
        "HF_XET_CLIENT_CONNECT_TIMEOUT": f"{min(seconds, 10)}s",
        "HF_XET_CLIENT_READ_TIMEOUT": f"{seconds}s",
        # hf_xet's default is 5 retries after growing pauses: a silent CAS took 6 reads of silence
        # (6 minutes at the default bound); 2 attempts keep one retry for a transient failure.
        "HF_XET_CLIENT_RETRY_MAX_ATTEMPTS": "2",
        "HF_XET_CLIENT_RETRY_BASE_DELAY": "1s",
        "HF_XET_CLIENT_RETRY_MAX_DURATION": f"{seconds}s",
        "HF_XET_DATA_INGESTION_BLOCK_SIZE": "1000000",
    }


OWN_XET_SETTINGS = "TINYREL_HF_XET_SET"  # the HF_XET_* names tinyrel set, as opposed to the user


def apply_xet_settings() -> None:
    """Put ``xet_settings`` in the environment, where hf_xet reads them when huggingface_hub opens
    its session (the first Xet transfer).  A value the user set is theirs and is kept; one that
    tinyrel set (here, or in a parent process: children inherit the environment) is renewed, so a
    child's own ``TINYREL_HUB_TIMEOUT`` is honoured."""
    owned = set(filter(None, os.environ.get(OWN_XET_SETTINGS, "").split(",")))
    for name, value in xet_settings().items():
        if name not in os.environ or name in owned:
            os.environ[name] = value
            owned.add(name)
    os.environ[OWN_XET_SETTINGS] = ",".join(sorted(owned))


def install() -> None:
    from huggingface_hub import constants, set_client_factory

    apply_xet_settings()
    set_client_factory(client_factory)
    # huggingface_hub passes these per request for HEAD and file GETs.
    seconds = timeout_seconds()
    constants.HF_HUB_DOWNLOAD_TIMEOUT = min(constants.HF_HUB_DOWNLOAD_TIMEOUT, seconds)  # type: ignore[misc]
    constants.HF_HUB_ETAG_TIMEOUT = min(constants.HF_HUB_ETAG_TIMEOUT, seconds)  # type: ignore[misc]
