"""A small hostile Hub for tests: it answers the listing calls like the Hub, then misbehaves.

Modes (one per server):
  ``etag-traversal``  file metadata with an ETag / commit id that are paths (``../../…``)
  ``endless``         a file body that never ends (chunked, no Content-Length)
  ``silent``          accepts the connection, then never answers
  ``size-lie``        the listing declares one size, the bytes are another (Content-Length honest)
  ``server-error``    every file request answers HTTP 500
  ``bad-names``       the listing names ``../outside`` and an absolute path
  ``silent-xet-cas``  files are Xet-backed, and the Xet CAS it points to never answers
  ``long-name``       the listing names a file whose name no file system accepts (300 characters)
  ``no-commit``       file answers redirect elsewhere and carry no ``X-Repo-Commit`` (not a Hub)
  ``redirect-loop``   each file redirects to itself
  ``redirect-endless`` each file redirects to another path whose body never ends (it must still be
                      bounded by the size the listing declared)
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler

from support.servers import LoopbackServer

COMMIT = "a" * 40
BODY = b'{"model_type": "qwen3"}'


class HostileHub(LoopbackServer):
    def __init__(self, mode: str):
        self.mode = mode
        self.requests: list[str] = []
        self.sent = 0  # body bytes written by the endless modes
        self.stop = threading.Event()
        super().__init__(_Handler)

    def close(self) -> None:
        self.stop.set()
        super().close()


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
        if self.server.mode == "long-name":
            names = ["c" * 300 + ".json", "model.sig"]
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
        if mode == "no-commit" and "/resolve/" in self.path:
            return self._send(302, b"", {"Location": "/elsewhere/file"})
        if mode == "no-commit":
            return self._send(200, BODY, {"ETag": f'"{etag}"'})
        if mode == "redirect-loop":
            return self._send(302, b"", {"Location": self.path})
        if mode == "redirect-endless" and "/resolve/" in self.path:
            headers["Location"] = "/blobs/endless"
            return self._send(302, b"", headers)
        if mode == "endless" or (mode == "redirect-endless" and self.path.startswith("/blobs/")):
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
                    self.server.sent += len(chunk)
            except OSError:
                pass
            return
        self._send(200, BODY, headers)


# -- a man in the middle: the genuine Hub, with chosen files swapped -------------------------------

SHAPES = ("plain", "status-203", "identity-spelled", "redirect", "redirect-absolute", "partial-206", "chunked",
          "gzip")  # fmt: skip


def tampered(data: bytes) -> bytes:
    """The same number of bytes with one changed: sizes still match, digests do not."""
    flipped = bytearray(data)
    middle = len(flipped) // 2
    flipped[middle] = ord("7") if flipped[middle] != ord("7") else ord("8")
    return bytes(flipped)


class TamperingProxy(LoopbackServer):
    """Relays every request to a genuine Hub (the emulator), but from the ``from_get``-th GET of a
    file named in ``swap`` on, answers that file with other bytes of the same size, in one of the
    response ``SHAPES`` (a plain 200, another 2xx, an encoding header spelled differently, a
    redirect to another path, a 206 to a request that asked for no range, a chunked or gzip body).

    ``xet-route`` is the Xet attack: the file's answers (HEAD and GET) announce a Xet hash of other
    bytes the attacker stored (``xet_route[0]``) and a token route of the proxy's choosing; that
    route answers with a genuine token (from ``xet_route[1]``) *and* the genuine file as its body,
    so that a client trusting bodies by URL would record the genuine digest while hf_xet writes
    the attacker's bytes."""

    def __init__(self, upstream: str, swap: set[str], shape: str = "plain", from_get: int = 1, on_request=None,
                 xet_route: tuple[str, str] | None = None, edit_listing=None):  # fmt: skip
        assert shape in (*SHAPES, "xet-route") and (shape == "xet-route") == (xet_route is not None), shape
        self.xet_route = xet_route
        self.edit_listing = edit_listing  # called with each file listing (JSON) before it is relayed
        self.on_request = on_request  # called with each request line before it is answered
        self.upstream = upstream
        self.swap = swap
        self.shape = shape
        self.from_get = from_get
        self.gets: dict[str, int] = {}
        self.requests: list[str] = []
        self.lock = threading.Lock()
        import httpx

        self.client = httpx.Client(timeout=60)
        super().__init__(_ProxyHandler)

    def close(self) -> None:
        super().close()
        self.client.close()


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # no 40 ms delayed-ACK stall per answer
    server: TamperingProxy

    def log_message(self, *args) -> None:
        pass

    def _relay(self) -> tuple[int, dict[str, str], bytes]:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        answer = self.server.client.request(self.command, self.server.upstream + self.path, headers=headers,
                                            content=body)  # fmt: skip
        skip = ("content-length", "transfer-encoding", "connection", "content-encoding")
        headers = {k: v for k, v in answer.headers.items() if k.lower() not in skip}
        if self.command == "HEAD":  # a HEAD's length is the file's: keep it
            headers["Content-Length"] = answer.headers.get("content-length", "0")
        return answer.status_code, headers, answer.content

    def _swapped_file(self) -> str | None:
        if self.command != "GET" or "/resolve/" not in self.path:
            return None
        name = self.path.split("?")[0].split("/resolve/", 1)[1].split("/", 1)[1]
        if name not in self.server.swap:
            return None
        with self.server.lock:
            self.server.gets[name] = self.server.gets.get(name, 0) + 1
            return name if self.server.gets[name] >= self.server.from_get else None

    def _answer(self, status: int, headers: dict[str, str], body: bytes, *, chunked: bool = False) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if chunked:
            for start in range(0, len(body), 7):
                piece = body[start : start + 7]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.wfile.write(body)

    def _handle(self) -> None:
        self.server.requests.append(f"{self.command} {self.path}")
        if self.server.on_request is not None:
            self.server.on_request(f"{self.command} {self.path}")
        if self.path.startswith("/cdn/"):  # where a redirect sends the swapped bytes
            path = self.path.removeprefix("/cdn")
            status, headers, body = self._relay_path(path)
            return self._answer(200, headers, tampered(body))
        if self.path.startswith("/xet-token/"):  # the route the Xet answer chose: a token, and a file body
            token = self.server.client.get(self.server.xet_route[1])
            headers = {k: v for k, v in token.headers.items() if k.lower().startswith("x-xet")}
            genuine = self.server.client.get(self.server.upstream + self.path.removeprefix("/xet-token"))
            return self._answer(200, {**headers, "Content-Type": "application/octet-stream"}, genuine.content)
        if self.server.shape == "xet-route":
            return self._xet_route()
        name = self._swapped_file()
        status, headers, body = self._relay()
        if self.server.edit_listing is not None and status == 200 and self.path.startswith("/api/models/"):
            import json

            listing = json.loads(body)
            if isinstance(listing, dict) and "siblings" in listing:
                self.server.edit_listing(listing)
                body = json.dumps(listing).encode()
        if name is None or status != 200:
            return self._answer(status, headers, body)
        shape = self.server.shape
        if shape == "redirect":
            return self._answer(302, {"Location": "/cdn" + self.path}, b"")
        if shape == "redirect-absolute":
            return self._answer(307, {"Location": f"{self.server.base_url}/cdn{self.path}"}, b"")
        evil = tampered(body)
        if shape == "status-203":
            return self._answer(203, headers, evil)
        if shape == "identity-spelled":
            return self._answer(200, {**headers, "Content-Encoding": "Identity"}, evil)
        if shape == "partial-206":
            return self._answer(206, {**headers, "Content-Range": f"bytes 0-{len(evil) - 1}/{len(evil)}"}, evil)
        if shape == "chunked":
            return self._answer(200, headers, evil, chunked=True)
        if shape == "gzip":
            import gzip

            return self._answer(200, {**headers, "Content-Encoding": "gzip"}, gzip.compress(evil))
        return self._answer(200, headers, evil)

    def _xet_route(self) -> None:
        status, headers, body = self._relay()
        name = self.path.split("?")[0].split("/resolve/", 1)[-1].split("/", 1)[-1]
        if "/resolve/" not in self.path or name not in self.server.swap or status != 200:
            return self._answer(status, headers, body)
        with self.server.lock:
            self.server.gets[name] = self.server.gets.get(name, 0) + 1
        headers = {**headers, "X-Xet-Hash": self.server.xet_route[0],
                   "X-Xet-Refresh-Route": f"{self.server.base_url}/xet-token{self.path.split('?')[0]}"}  # fmt: skip
        return self._answer(status, headers, body)

    def _relay_path(self, path: str) -> tuple[int, dict[str, str], bytes]:
        saved, self.path = self.path, path
        try:
            return self._relay()
        finally:
            self.path = saved

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _handle
