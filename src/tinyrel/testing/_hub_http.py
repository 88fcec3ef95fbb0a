"""HTTP plumbing of the local Hub emulator: JSON answers, bodies (chunked, or slowly), logging."""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler


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

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _slow_body(self, pause: float) -> bytes:
        """A slow link: the body in 4 KB pieces with a pause after each (Ctrl-C tests need time)."""
        remaining, parts = int(self.headers.get("Content-Length") or 0), []
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 4096))
            if not chunk:
                break
            parts.append(chunk)
            remaining -= len(chunk)
            time.sleep(pause)
        return b"".join(parts)
