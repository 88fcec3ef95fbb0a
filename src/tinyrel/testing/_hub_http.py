"""HTTP plumbing of the local Hub emulator: JSON answers, bodies (chunked, or slowly), logging."""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler

MAX_BODY = 512 * 1024 * 1024  # a JSON or NDJSON request body; LFS uploads stream to disk instead


class HubError(Exception):
    """An HTTP error answered in the Hub's shape (JSON ``error``, ``X-Error-Code``/``-Message``)."""

    def __init__(self, status: int, message: str, code: str | None = None, **extra: str):
        super().__init__(message)
        self.status, self.message, self.code, self.extra = status, message, code, extra


class JsonHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in separate writes: with Nagle's algorithm on, the body waits for the
    # client's delayed ACK (40 ms per response on Linux), a stall the real Hub does not have.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args) -> None:
        if getattr(self.server, "verbose", False):
            super().log_message(format, *args)

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None, head: bool = False):
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _json(self, obj, status: int = 200) -> None:
        self._send(status, json.dumps(obj).encode(), {"Content-Type": "application/json"})

    def _length(self) -> int:
        """The request's Content-Length: a number from 0 up, else HTTP 400 (``read(-1)`` would hang)."""
        raw = self.headers.get("Content-Length") or "0"
        if not raw.isdigit():
            self.close_connection = True
            raise HubError(400, f"Invalid Content-Length: {raw[:40]!r}")
        return int(raw)

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks, total = [], 0
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size < 0:
                    raise HubError(400, "Invalid chunk size")
                total += size
                if total > MAX_BODY:
                    self.close_connection = True
                    raise HubError(413, "Request body too large")
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = self._length()
        if length > MAX_BODY:
            self.close_connection = True
            raise HubError(413, "Request body too large")
        return self.rfile.read(length)

    def _json_object(self) -> dict:
        """The body as a JSON object; anything else is HTTP 400."""
        try:
            payload = json.loads(self._body() or b"{}")
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            raise HubError(400, "The request body must be a JSON object")
        return payload

    def _slow_body(self, pause: float) -> bytes:
        """A slow link: the body in 4 KB pieces with a pause after each (Ctrl-C tests need time)."""
        remaining, parts = self._length(), []
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 4096))
            if not chunk:
                break
            parts.append(chunk)
            remaining -= len(chunk)
            time.sleep(pause)
        return b"".join(parts)
