"""A small hostile Hub for tests: it answers the listing calls like the Hub, then misbehaves.

Modes (one per server):
  ``etag-traversal``  file metadata with an ETag / commit id that are paths (``../../…``)
  ``endless``         a file body that never ends (chunked, no Content-Length)
  ``silent``          accepts the connection, then never answers
  ``size-lie``        the listing declares one size, the bytes are another (Content-Length honest)
  ``server-error``    every file request answers HTTP 500
  ``bad-names``       the listing names ``../outside`` and an absolute path
  ``silent-xet-cas``  files are Xet-backed, and the Xet CAS it points to never answers
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COMMIT = "a" * 40
BODY = b'{"model_type": "qwen3"}'


class HostileHub(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, mode: str):
        self.mode = mode
        self.requests: list[str] = []
        self.stop = threading.Event()
        super().__init__(("127.0.0.1", 0), _Handler)
        self.base_url = f"http://127.0.0.1:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.stop.set()
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: HostileHub

    def log_message(self, *args) -> None:
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _listing(self) -> None:
        names = ["config.json", "model.sig"]
        if self.server.mode == "bad-names":
            names = ["../outside.json", "/etc/evil", "model.sig"]
        declared = len(BODY) * (100 if self.server.mode == "size-lie" else 1)
        siblings = [{"rfilename": n, "size": declared, "blobId": "b" * 40} for n in names]
        info = {"id": "evil/repo", "modelId": "evil/repo", "sha": COMMIT, "private": False, "siblings": siblings}
        self._send(200, json.dumps(info).encode(), {"Content-Type": "application/json"})

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        self.server.requests.append(f"{self.command} {self.path}")
        mode = self.server.mode
        if "/xet-read-token/" in self.path:
            cas = f"{self.server.base_url}/cas"
            token = {"X-Xet-Cas-Url": cas, "X-Xet-Access-Token": "xet", "X-Xet-Token-Expiration": str(2**31)}
            body = json.dumps({"accessToken": "xet", "exp": 2**31, "casUrl": cas}).encode()
            return self._send(200, body, {"Content-Type": "application/json", **token})
        if self.path.startswith("/api/models/"):
            return self._listing()
        if self.path.startswith("/cas"):
            self.server.stop.wait(60)
            return
        if mode == "silent":
            self.server.stop.wait(60)
            return
        if mode == "server-error":
            return self._send(500, b"boom", {"X-Error-Message": "internal error", "Retry-After": "0"})
        etag = hashlib.sha1(BODY).hexdigest()
        commit = COMMIT
        if mode == "etag-traversal":
            etag, commit = "../../../../../../tmp/tinyrel-pwned", "../../../../tmp/tinyrel-pwned-commit"
        headers = {"ETag": f'"{etag}"', "X-Repo-Commit": commit, "Content-Type": "application/octet-stream"}
        if mode == "silent-xet-cas":
            headers["X-Xet-Hash"] = "c" * 64
            headers["Link"] = f'<{self.server.base_url}/api/models/evil/repo/xet-read-token/{COMMIT}>; rel="xet-auth"'
        if mode == "endless":
            self.send_response(200)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if self.command == "HEAD":
                return
            chunk = b"x" * 65536
            deadline = time.time() + 60
            try:
                while not self.server.stop.is_set() and time.time() < deadline:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except OSError:
                pass
            return
        self._send(200, BODY, headers)
