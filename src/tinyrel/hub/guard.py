"""The Hub is untrusted: bound every request in time and size, and check what the server chooses.

tinyrel talks to the Hub only through huggingface_hub; this module installs the HTTP client that
huggingface_hub uses (``set_client_factory``) with three guards:

- **timeouts**: connect, read and write timeouts on every request, whatever the caller asked for
  (``TINYREL_HUB_TIMEOUT`` seconds of silence, default 60; the Hub can take a while to answer a
  large commit), so a silent server ends in one clear error, not a hang (huggingface_hub's default
  client has no timeout, and retries timeouts with growing pauses);
- **size**: a response body may not exceed its declared ``Content-Length``, nor, during a
  download, the size the listing declared for the file (through every redirect), nor a cap for
  undeclared bodies — an endless body ends in an error, not a full disk;
- **digests**: during a download (``DownloadCapture``, one per call, never shared) each body is
  hashed as it streams, and a digest is used only when it provably describes the bytes written;
- **names**: ``ETag``, ``X-Linked-Etag`` and ``X-Repo-Commit`` are checked before huggingface_hub
  uses them, because it builds file paths from them (a blob named after the ETag, a snapshot
  folder named after the commit): a value with ``/`` could place a file outside the cache.

Xet transfers do not pass through this client: ``hf_xet`` (Rust) talks to the Xet CAS itself.  For
them, ``xet_config`` holds ``hf_xet`` to the same bound of silence and one retry (a silent CAS
ends in ``hub/xet-storage`` after about three times the bound), and
to a bounded read-ahead (its default 8 MB ingestion blocks took its peak memory to ~480 MB on an
8 GB upload; 1 MB blocks take ~200 MB at the same speed).  Their integrity does not rest on the
transport: ``hf_xet`` checks every chunk against the file's Merkle hash, and tinyrel checks size and
SHA-256 of every downloaded file against the signed list.

Nothing here is process-wide: the client and the Xet configuration are made for one
``tinyrel.hub.session.HubSession``, which installs them into huggingface_hub for as long as tinyrel
calls run and then puts back what was there.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

UNDECLARED_CAP = 256 * 1024 * 1024  # a body with no size of its own or of tinyrel's (API answers)
TOKEN_CAP = 1024 * 1024  # a Xet access token is a few hundred bytes of JSON
_ETAG = re.compile(r'^(W/)?"?([A-Za-z0-9._:+=-]{1,256})"?$')
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


@dataclass
class Body:
    """One response body that streamed through the transport during a download."""

    status: int
    identity: bool  # no content coding: the bytes on the wire are the bytes written
    ranged: bool  # the request asked for a range (a resumed download)
    complete: bool = False  # iterated to its end
    size: int = 0
    sha256: str | None = None


@dataclass
class DownloadCapture:
    """What one ``hf_hub_download`` call sent through the transport: the bound on every body of
    that call (the size the listing declared, through redirects too), the progress callback, and
    each body with the SHA-256 of its bytes.  It lives for one call in one thread (a ContextVar),
    so a digest can only ever describe a body of *this* download, never an earlier request's."""

    expected: int | None = None
    advance: Callable[[int], None] | None = None
    bodies: list[Body] = field(default_factory=list)
    hash_bodies: bool = True  # False: the caller verifies the file another way (no SHA-256 in flight)

    def written_sha256(self, path: Path) -> str | None:
        """The SHA-256 of ``path`` if it is provably the one body this call streamed: exactly one
        2xx body, a plain 200 to a request for the whole file, with no content coding, read to its
        end, and as long as the file.  Anything else (a retry, a resumed or partial answer, an
        encoded body, Xet) is ``None``: the caller hashes the file on disk instead."""
        bodies = [b for b in self.bodies if 200 <= b.status < 300]
        if len(bodies) != 1:
            return None
        body = bodies[0]
        if body.status != 200 or body.ranged or not body.identity or not body.complete:
            return None
        try:
            size = path.stat().st_size
        except OSError:
            return None
        return body.sha256 if size == body.size else None


_download: ContextVar[DownloadCapture | None] = ContextVar("tinyrel_download", default=None)


@contextlib.contextmanager
def capturing(capture: DownloadCapture) -> Iterator[DownloadCapture]:
    """Route the bodies of the requests made inside the block (this thread) through ``capture``."""
    token = _download.set(capture)
    try:
        yield capture
    finally:
        _download.reset(token)


def current_capture() -> DownloadCapture | None:
    """The download this thread is running, if any (hf_xet's progress reaches its display)."""
    return _download.get()


class UntrustedHubResponse(Exception):
    """The server answered something tinyrel will not act on (a path-like ETag, a body too long)."""


class HubTimeout(Exception):
    """The server did not answer within the bound.  Not an httpx timeout on purpose: huggingface_hub
    retries those with growing pauses (and longer timeouts), which turns silence into minutes."""


TIMEOUT_VARIABLE = "TINYREL_HUB_TIMEOUT"


def timeout_seconds() -> float:
    """``TINYREL_HUB_TIMEOUT`` (default 60): a finite, positive number of seconds, or a usage error."""
    import math

    from tinyrel.findings import TinyrelError

    raw = os.environ.get(TIMEOUT_VARIABLE, "60")
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise TinyrelError("usage/hub-timeout", f"{TIMEOUT_VARIABLE} must be a positive, finite number of seconds, "
                           f"not {raw[:40]!r}", usage=True)  # fmt: skip
    return max(0.1, value)


def check_headers(response) -> None:
    for name in ("etag", "x-linked-etag"):
        value = response.headers.get(name)
        if value is not None and not _ETAG.match(value.strip()):
            raise UntrustedHubResponse(f"the Hub sent an unsafe {name} header ({value[:80]!r}); refusing to use it")
    commit = response.headers.get("x-repo-commit")
    if commit is not None and not _COMMIT.match(commit):
        raise UntrustedHubResponse(f"the Hub sent an unsafe commit id ({commit[:80]!r}); refusing to use it")


def _counted(stream, advance, cancelled: threading.Event):
    import httpx2

    class Counted(httpx2.SyncByteStream):
        def __iter__(self):
            for chunk in stream:
                if cancelled.is_set():
                    raise Cancelled("upload")
                advance(len(chunk))
                yield chunk

    return Counted()


class Cancelled(Exception):
    """The call this transfer belongs to was interrupted (Ctrl-C): stop at the next chunk."""


class _Hasher:
    """SHA-256 of a body on its own thread, so hashing overlaps the network and the disk instead of
    adding to them (hashlib releases the GIL on large buffers).  At most ``depth`` chunks wait."""

    def __init__(self, depth: int = 64) -> None:
        import hashlib
        import queue

        self._digest = hashlib.sha256()
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=depth)
        self._thread = threading.Thread(target=self._run, name="tinyrel-sha256", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            self._digest.update(chunk)

    def update(self, chunk: bytes) -> None:
        self._queue.put(chunk)

    def hexdigest(self) -> str:
        self._queue.put(None)
        self._thread.join()
        return self._digest.hexdigest()

    def abandon(self) -> None:
        self._queue.put(None)


def _bounded_stream(stream, limit: int, url: str, advance=None, body: Body | None = None,
                    cancelled: threading.Event | None = None):  # fmt: skip
    import httpx2

    class Bounded(httpx2.SyncByteStream):
        def __iter__(self):
            seen = 0
            digest = _Hasher() if body is not None else None
            try:
                for chunk in stream:
                    if cancelled is not None and cancelled.is_set():
                        raise Cancelled(url)
                    seen += len(chunk)
                    if seen > limit:
                        raise UntrustedHubResponse(f"{url}: the response is longer than the {limit:,} bytes declared")
                    if advance is not None:
                        advance(len(chunk))
                    if digest is not None:
                        digest.update(chunk)
                    yield chunk
            except BaseException:
                if digest is not None:
                    digest.abandon()
                raise
            if body is not None and digest is not None:
                body.size, body.sha256, body.complete = seen, digest.hexdigest(), True

        def close(self) -> None:
            close = getattr(stream, "close", None)
            if close is not None:
                close()

    return Bounded()


def _identity(response) -> bool:
    codings = [c.strip().lower() for c in response.headers.get_list("content-encoding", split_commas=True)]
    return all(c in ("", "identity") for c in codings)


def _declared_length(response) -> int | None:
    declared = response.headers.get("content-length")
    return int(declared) if declared is not None and declared.strip().isdigit() else None


def _body_limit(request, response, capture: DownloadCapture | None) -> tuple[int, Body | None]:
    """The most bytes this response may carry, and the record of its body when it may be a file's.

    During a download every body is held to the size the listing declared, whatever URL a redirect
    led to — except the Xet token's, which is held to a token's size.  Outside a download (API
    answers) a body is held to its own declared length, and never more than ``UNDECLARED_CAP``.
    """
    declared = _declared_length(response)
    own = min(declared, UNDECLARED_CAP) if declared is not None else UNDECLARED_CAP
    if capture is None or request.method != "GET":
        return own, None
    if "/xet-read-token/" in request.url.path or "/xet-write-token/" in request.url.path:
        return min(own, TOKEN_CAP), None
    body = Body(response.status_code, _identity(response), "range" in request.headers)
    capture.bodies.append(body)
    if capture.expected is not None:
        return min(capture.expected, declared if declared is not None else capture.expected), body
    return own, body


@dataclass
class Bounds:
    """What one installation of tinyrel's client holds its requests to, and reports to: the bound
    of silence, the upload progress callback of the call that uploads, and the cancellation flag
    that Ctrl-C sets (huggingface_hub uploads in its own threads, which no ContextVar reaches)."""

    seconds: float
    upload_progress: Callable[[int], None] | None = None
    cancelled: threading.Event = field(default_factory=threading.Event)


def _transport(bounds: Bounds):
    import httpx2

    class BoundedTransport(httpx2.BaseTransport):
        def __init__(self) -> None:
            self.inner = httpx2.HTTPTransport()

        def handle_request(self, request):
            # huggingface_hub retries a failed metadata request with a 60 s timeout of its own:
            # every request is held to tinyrel's bound, whatever the caller asked for.
            limit = bounds.seconds
            timeouts = dict(request.extensions.get("timeout") or {})
            request.extensions["timeout"] = {
                key: limit if value is None else min(value, limit)
                for key, value in {**dict.fromkeys(("connect", "read", "write", "pool")), **timeouts}.items()
            }
            if bounds.cancelled.is_set():
                raise Cancelled(str(request.url.copy_with(query=None)))
            upload = bounds.upload_progress
            if upload is not None and request.method == "PUT":
                request.stream = _counted(request.stream, upload, bounds.cancelled)
            try:
                response = self.inner.handle_request(request)
            except httpx2.TimeoutException as exc:
                raise HubTimeout(f"no answer within {limit:g} s ({type(exc).__name__})") from None
            check_headers(response)
            capture = _download.get()
            most, body = _body_limit(request, response, capture)
            advance = capture.advance if capture is not None and body is not None else None
            url = str(request.url.copy_with(query=None))
            hashed = body if capture is None or capture.hash_bodies else None
            response.stream = _bounded_stream(response.stream, most, url, advance, hashed, bounds.cancelled)
            return response

        def close(self) -> None:
            self.inner.close()

    return BoundedTransport()


def make_client(bounds: Bounds):
    """An httpx2 client for huggingface_hub, configured like its default one (its request hook,
    redirects followed) but bounded by ``bounds``."""
    import httpx2

    from tinyrel.hub._hf_private import request_event_hook

    return httpx2.Client(
        transport=_transport(bounds),
        event_hooks={"request": [request_event_hook()]},
        follow_redirects=True,
        timeout=httpx2.Timeout(bounds.seconds, connect=min(bounds.seconds, 10.0)),
    )


# hf_xet setting -> its environment variable: a variable the user set is theirs and wins.
_XET_ENV = {
    "client.connect_timeout": "HF_XET_CLIENT_CONNECT_TIMEOUT",
    "client.read_timeout": "HF_XET_CLIENT_READ_TIMEOUT",
    "client.retry_max_attempts": "HF_XET_CLIENT_RETRY_MAX_ATTEMPTS",
    "client.retry_base_delay": "HF_XET_CLIENT_RETRY_BASE_DELAY",
    "client.retry_max_duration": "HF_XET_CLIENT_RETRY_MAX_DURATION",
    "data.ingestion_block_size": "HF_XET_DATA_INGESTION_BLOCK_SIZE",
    "reconstruction.download_buffer_size": "HF_XET_RECONSTRUCTION_DOWNLOAD_BUFFER_SIZE",
    "reconstruction.download_buffer_perfile_size": "HF_XET_RECONSTRUCTION_DOWNLOAD_BUFFER_PERFILE_SIZE",
    "reconstruction.download_buffer_limit": "HF_XET_RECONSTRUCTION_DOWNLOAD_BUFFER_LIMIT",
    "reconstruction.min_prefetch_buffer": "HF_XET_RECONSTRUCTION_MIN_PREFETCH_BUFFER",
    "reconstruction.min_reconstruction_fetch_size": "HF_XET_RECONSTRUCTION_MIN_RECONSTRUCTION_FETCH_SIZE",
}


def xet_settings(seconds: float) -> dict[str, str | int]:
    """The ``hf_xet`` settings tinyrel asks for (see the module docstring), before the user's own."""
    whole = max(1, round(seconds))
    settings: dict[str, str | int] = {
        "client.connect_timeout": f"{min(whole, 10)}s",
        "client.read_timeout": f"{whole}s",
        # hf_xet's default is 5 retries after growing pauses: a silent CAS took 6 reads of silence
        # (6 minutes at the default bound); 2 attempts keep one retry for a transient failure.
        "client.retry_max_attempts": 2,
        "client.retry_base_delay": "1s",
        "client.retry_max_duration": f"{whole}s",
        "data.ingestion_block_size": 1_000_000,
        # hf_xet's download buffers default to 1.5 GB (6.3 GB limit, 1 GB prefetch): a 2.4 GB pull
        # peaked at 1.0-1.2 GB.  At 192 MB it keeps its speed (5.2 s either way) at ~0.5 GB; below
        # ~150 MB it slows down sharply (128 MB: 8.5 s).  Measured with bench/bench_pull.py; a user's
        # own HF_XET_RECONSTRUCTION_* settings win.
        "reconstruction.download_buffer_size": 192_000_000,
        "reconstruction.download_buffer_perfile_size": 96_000_000,
        "reconstruction.download_buffer_limit": 192_000_000,
        "reconstruction.min_prefetch_buffer": 48_000_000,
        "reconstruction.min_reconstruction_fetch_size": 96_000_000,
    }
    return {key: value for key, value in settings.items() if _XET_ENV[key] not in os.environ}


def xet_config(seconds: float):
    """An ``hf_xet.XetConfig``: the user's ``HF_XET_*`` settings, and tinyrel's where they set none."""
    import hf_xet

    return hf_xet.XetConfig().with_config(xet_settings(seconds))
