"""The Hub is untrusted: bound every request in time and size, and check what the server chooses.

tinyrel talks to the Hub only through huggingface_hub; this module installs the HTTP client that
huggingface_hub uses (``set_client_factory``) with three guards:

- **timeouts**: connect, read and write timeouts on every request, whatever the caller asked for
  (``TINYREL_HUB_TIMEOUT`` seconds of silence, default 60; the Hub can take a while to answer a
  large commit), so a silent server ends in one clear error, not a hang (huggingface_hub's default
  client has no timeout, and retries timeouts with growing pauses);
- **size**: a response body may not exceed its declared ``Content-Length``, nor, during a
  download, the size the caller expects for the file (the signed size, or what the listing
  declared; through every redirect), nor a cap for undeclared answers — an endless body ends in an
  error, not a full disk; and a file's metadata answer may not announce more than that size, since
  hf_xet writes what it announces without crossing this client;
- **digests**: during a download (``DownloadCapture``, one per call, never shared) each body is
  hashed as it streams, and a digest is used only when it provably describes the bytes written —
  never when the server announced Xet for the file (hf_xet then writes bytes that never cross this
  client, and the server chooses the URL of the token request that does);
- **names**: ``ETag``, ``X-Linked-Etag`` and ``X-Repo-Commit`` are checked before huggingface_hub
  uses them, because it builds file paths from them (a blob named after the ETag, a snapshot
  folder named after the commit): a value with ``/`` could place a file outside the cache.

Xet transfers do not pass through this client: ``hf_xet`` (Rust) talks to the Xet CAS itself,
held to the same bound by ``tinyrel.hub.xet_session``.

Nothing here is process-wide: the client is made for one
``tinyrel.hub.session.HubSession``, which installs them into huggingface_hub for as long as tinyrel
calls run and then puts back what was there.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

from tinyrel.hub.upload_owners import UploadOwners, is_batch_request

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
    that call (the size the caller expects, through redirects too), the progress callback, and
    each body with the SHA-256 of its bytes.  It lives for one call in one thread (a ContextVar),
    so a digest can only ever describe a body of *this* download, never an earlier request's."""

    expected: int | None = None
    advance: Callable[[int], None] | None = None
    bodies: list[Body] = field(default_factory=list)
    hash_bodies: bool = True  # False: the caller verifies the file another way (no SHA-256 in flight)
    xet_announced: bool = False  # an answer named a Xet hash: hf_xet, not this client, writes the file
    file_size: int | None = None  # the whole file's expected size, which no answer may announce more than

    def written_sha256(self, path: Path) -> str | None:
        """The SHA-256 of ``path`` if it is provably the one body this call streamed: exactly one
        2xx body, a plain 200 to a request for the whole file, with no content coding, read to its
        end, and as long as the file.  Anything else (a retry, a resumed or partial answer, an
        encoded body, Xet) is ``None``: the caller hashes the file on disk instead.

        Xet is recognised by what the server *said* (an ``X-Xet-Hash`` on any answer of the call),
        not by the URLs it sent us to: huggingface_hub fetches the Xet token from a route the server
        picks, so a hostile server can make the token answer's body the genuine file while hf_xet
        writes other bytes of the same size from its own storage."""
        if self.xet_announced:
            return None
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
    from tinyrel.timeouts import seconds_from_environment

    return seconds_from_environment(TIMEOUT_VARIABLE, "usage/hub-timeout")


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
                if advance is not None:
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


def _bounded_stream(stream, limit: int | None, bound: str, url: str, advance=None, body: Body | None = None,
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
                    if limit is not None and seen > limit:
                        raise UntrustedHubResponse(f"{url}: the response is longer than the {limit:,} bytes {bound}")
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


def _is_xet_token(request, response) -> bool:
    """A Xet token answer: by tinyrel's routes, or by the token headers a server-chosen route sends."""
    path = request.url.path
    return ("/xet-read-token/" in path or "/xet-write-token/" in path
            or "x-xet-access-token" in response.headers)  # fmt: skip


def _body_limit(request, response, capture: DownloadCapture | None, ours: bool) -> tuple[int | None, str, Body | None]:
    """The most bytes this response may carry (``None``: no bound), what that bound is, and the
    record of its body when it may be a file's.

    During a download every body is held to the size the caller expects, whatever URL a redirect
    led to — except a Xet token's, held to a token's size.  Other answers to tinyrel's calls are held
    to their declared length, and never more than ``UNDECLARED_CAP``.  A request that is not a
    tinyrel call's (the host's own, through the shared client) keeps huggingface_hub's behaviour: a
    download as long as it declares; only an answer to an upload or API call without a length of
    its own is capped.
    """
    declared = _declared_length(response)
    if capture is not None and request.method == "GET" and _is_xet_token(request, response):
        return min(declared, TOKEN_CAP) if declared is not None else TOKEN_CAP, "a Xet token may hold", None
    if capture is not None and request.method == "GET":
        body = Body(response.status_code, _identity(response), "range" in request.headers)
        capture.bodies.append(body)
        if capture.expected is not None:
            if declared is not None and declared < capture.expected:
                return declared, "declared", body
            return capture.expected, "expected for this file", body
        return (declared, "declared", body) if declared is not None else (UNDECLARED_CAP, "tinyrel accepts", body)
    if declared is not None:
        if ours and declared > UNDECLARED_CAP:
            return UNDECLARED_CAP, "tinyrel accepts in an answer", None
        return declared, "declared", None
    if not ours and request.method == "GET":
        return None, "", None
    return UNDECLARED_CAP, "tinyrel accepts in an answer without a length", None


@dataclass(eq=False)
class CallState:
    """One tinyrel call's own part of the shared transport: its Ctrl-C flag, its upload display,
    and the Xet transfers it started (aborted on its Ctrl-C, and only those)."""

    cancelled: threading.Event = field(default_factory=threading.Event)
    upload_progress: Callable[[int], None] | None = None
    xet_transfers: list = field(default_factory=list)


def _no_call() -> CallState | None:
    return None


@dataclass
class Bounds:
    """What one installation of tinyrel's client holds its requests to: the bound of silence, and
    how to find the tinyrel call a request belongs to — the call whose context the thread carries,
    or, for huggingface_hub's own upload threads (which no ContextVar reaches), the call the Hub
    gave that upload URL to (``upload_owners``).  A request of no tinyrel call is the host's."""

    seconds: float
    of_context: Callable[[], CallState | None] = _no_call
    uploads: UploadOwners = field(default_factory=UploadOwners)

    def call_of(self, request) -> CallState | None:
        state = self.of_context()
        if state is None and request.method == "PUT":
            state = self.uploads.owner(request.url)
        return state


def _check_announced_size(request, response, expected: int) -> None:
    """A file's metadata answer may not announce more bytes than the file is expected to have:
    huggingface_hub hands that size to hf_xet, which writes that many bytes without crossing this
    client, so the bound on bodies alone would come too late (after the bytes are on disk)."""
    announced = [response.headers.get("x-linked-size")]
    if request.method == "HEAD" and 200 <= response.status_code < 300:
        announced.append(response.headers.get("content-length"))
    for value in announced:
        if value is not None and value.strip().isdigit() and int(value) > expected:
            raise UntrustedHubResponse(f"{request.url.copy_with(query=None)}: the Hub announces {int(value):,} bytes "
                                       f"for a file of {expected:,}")  # fmt: skip


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
            call = bounds.call_of(request)
            cancelled = call.cancelled if call is not None else None
            if cancelled is not None and cancelled.is_set():
                raise Cancelled(str(request.url.copy_with(query=None)))
            if call is not None and request.method == "PUT":
                request.stream = _counted(request.stream, call.upload_progress, call.cancelled)
            learn_uploads = call is not None and is_batch_request(request)
            if learn_uploads:  # its answer is read here: as plain JSON, not whatever coding the server picks
                request.headers["Accept-Encoding"] = "identity"
            try:
                response = self.inner.handle_request(request)
            except httpx2.TimeoutException as exc:
                raise HubTimeout(f"no answer within {limit:g} s ({type(exc).__name__})") from None
            check_headers(response)
            capture = _download.get()
            if capture is not None and "x-xet-hash" in response.headers:
                capture.xet_announced = True
            if capture is not None and capture.file_size is not None:
                _check_announced_size(request, response, capture.file_size)
            most, bound, body = _body_limit(request, response, capture, call is not None)
            advance = capture.advance if capture is not None and body is not None else None
            url = str(request.url.copy_with(query=None))
            hashed = body if capture is None or capture.hash_bodies else None
            response.stream = _bounded_stream(response.stream, most, bound, url, advance, hashed, cancelled)
            if learn_uploads and 200 <= response.status_code < 300 and _identity(response):
                bounded = response.stream
                try:
                    answer = b"".join(bounded)  # bounded like any answer: a few KB of JSON
                finally:
                    bounded.close()
                bounds.uploads.learn(call, answer)
                response.stream = httpx2.ByteStream(answer)
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
