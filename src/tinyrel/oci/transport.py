"""The transport under tinyrel's OCI client: every request bounded, every body streamed or capped.

- ``BoundedSession``: a requests session (oras' token exchange goes through it too) whose every
  request has a connect and a read timeout (``TINYREL_OCI_TIMEOUT`` seconds of silence, default 60)
  and whose bodies are read whole only up to ``MAX_SMALL_BODY`` unless streamed on purpose;
- ``FileBody``: a file as a request body, streamed from disk in 1 MiB reads with its length declared;
- ``PipelinedSha256``: the SHA-256 of a download, computed on its own thread as the bytes arrive.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable

import requests

from tinyrel.findings import Interrupted, TinyrelError, first_line
from tinyrel.timeouts import seconds_from_environment

TIMEOUT_VARIABLE = "TINYREL_OCI_TIMEOUT"
MAX_MANIFEST_BYTES = 4 * 1024 * 1024  # the distribution spec's recommended manifest limit
MAX_SMALL_BODY = MAX_MANIFEST_BYTES + 64 * 1024  # any response read whole: errors, tokens, indexes
CHUNK = 1 << 20
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
INDEX_TYPE = "application/vnd.oci.image.index.v1+json"


def timeout_seconds() -> float:
    """``TINYREL_OCI_TIMEOUT`` (default 60): a finite, positive number of seconds, or a usage error."""
    return seconds_from_environment(TIMEOUT_VARIABLE, "usage/oci-timeout")


class BoundedSession(requests.Session):
    """A requests session whose every request (oras' token exchange included) has a timeout, and
    whose bodies are read whole only up to ``MAX_SMALL_BODY`` unless streamed on purpose."""

    def __init__(self, seconds: float, cancelled: threading.Event) -> None:
        super().__init__()
        self.seconds = seconds
        self.cancelled = cancelled
        self.max_redirects = 5

    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        if self.cancelled.is_set():
            raise Interrupted("interrupted")
        kwargs.setdefault("timeout", (min(10.0, self.seconds), self.seconds))
        streamed = kwargs.pop("stream", False)
        try:
            response = super().request(method, url, *args, stream=True, **kwargs)
        except requests.Timeout:
            raise TinyrelError("oci/timeout", f"{_where(url)} did not answer within {self.seconds:g} s "
                               f"({TIMEOUT_VARIABLE})") from None  # fmt: skip
        except requests.TooManyRedirects:
            raise TinyrelError("oci/untrusted-response", f"{_where(url)} redirected more than 5 times") from None
        except requests.RequestException as exc:
            raise TinyrelError("oci/unreachable", f"cannot reach {_where(url)}: {short_reason(exc)}") from None
        if not streamed:
            try:
                body = response.raw.read(MAX_SMALL_BODY + 1, decode_content=True)
            except Exception as exc:  # noqa: BLE001 - urllib3's read errors: a dropped or broken response
                response.close()
                raise TinyrelError("oci/unreachable", f"{_where(url)}: the response broke off "
                                   f"({short_reason(exc)})") from None  # fmt: skip
            response.close()
            if len(body) > MAX_SMALL_BODY:
                raise TinyrelError("oci/untrusted-response", f"{_where(url)} sent more than {MAX_SMALL_BODY:,} bytes "
                                   "where a small response was expected")  # fmt: skip
            response._content = body  # what requests would have read, capped
            response._content_consumed = True
        return response


def _where(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def short_reason(exc: BaseException) -> str:
    """A transport failure in a few words, without its URL (which oras may have built with a query)."""
    text = first_line(exc)
    for marker in ("Connection refused", "Name or service not known", "timed out", "Connection reset",
                   "certificate verify failed", "Remote end closed", "wrong version number"):  # fmt: skip
        if marker.lower() in text.lower():
            return marker.lower()
    return type(exc).__name__


class FileBody:
    """A file as a request body: read in 1 MiB pieces (whatever size urllib3 asks for), its
    length declared, every piece counted and Ctrl-C checked between pieces."""

    def __init__(self, handle, size: int, advance: Callable[[int], None], cancelled: threading.Event) -> None:
        self.handle, self.size, self.advance, self.cancelled = handle, size, advance, cancelled

    def __len__(self) -> int:
        return self.size

    def read(self, _size: int = -1) -> bytes:
        if self.cancelled.is_set():
            raise Interrupted("interrupted")
        piece = self.handle.read(CHUNK)
        if piece:
            self.advance(len(piece))
        return piece

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.handle.seek(offset, whence)


class PipelinedSha256:
    """SHA-256 of a stream, computed on its own thread while the next piece is received and
    written (hashlib releases the GIL on large updates): the digest of what arrived, at no cost to
    the transfer on a machine with a spare core.  At most 16 pieces (16 MiB) wait."""

    def __init__(self) -> None:
        import queue

        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=16)
        self._hasher = hashlib.sha256()
        self._digest: str | None = None
        self._thread = threading.Thread(target=self._run, name="tinyrel-sha256", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (piece := self._queue.get()) is not None:
            self._hasher.update(piece)

    def update(self, piece: bytes) -> None:
        self._queue.put(piece)

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def hexdigest(self) -> str:
        self.close()
        return self._hasher.hexdigest()
