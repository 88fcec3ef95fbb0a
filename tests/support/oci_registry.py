"""A real OCI registry for the tests: CNCF Distribution (Debian's ``docker-registry``) on 127.0.0.1.

Each registry runs in its own temporary directory — filesystem storage, an access log, and with
``auth`` an htpasswd file (bcrypt, written by ``htpasswd``) — on a port the kernel picks.  The access
log is how tests count what a client sent (``writes``); the storage directory is where tamper tests
corrupt a blob (``blob_file``).  ``.ci/registry-deps`` installs both programs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.request import urlopen

import pytest

BINARY = shutil.which("docker-registry") or shutil.which("registry")
USER, PASSWORD = "tinyrel-ci", "s3cret-Registry-Pa55word"
_LISTENING = re.compile(r'listening on (?:\[::\]|127\.0\.0\.1):(\d+)')
_ACCESS = re.compile(r'"(GET|HEAD|POST|PUT|PATCH|DELETE) (\S+) HTTP/[\d.]+" (\d{3})')


def _missing(why: str) -> None:
    """Skipped on a developer's machine; a failure in CI (``CI=true``), which must run these tests."""
    if os.environ.get("CI"):
        pytest.fail(why)
    pytest.skip(why)


class Registry:
    """One ``docker-registry serve`` process (start/stop), its storage and its access log."""

    def __init__(self, root: Path, *, auth: bool = False) -> None:
        self.root, self.auth = root, auth
        self.data = root / "data"
        self.log = root / "registry.log"
        self.process: subprocess.Popen | None = None
        self.port: int | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def repo(self, path: str = "lab/qwen3-4b-fileops") -> str:
        return f"{self.host}/{path}"

    def _config(self) -> Path:
        lines = [
            "version: 0.1",
            "log:",
            "  level: info",
            "  accesslog:",
            "    disabled: false",
            "storage:",
            "  filesystem:",
            f"    rootdirectory: {self.data}",
            "  delete:",
            "    enabled: true",
            "http:",
            "  addr: 127.0.0.1:0",
        ]
        if self.auth:
            htpasswd = shutil.which("htpasswd")
            if htpasswd is None:
                _missing("htpasswd (apache2-utils) is not installed: run .ci/registry-deps")
            entry = subprocess.run([htpasswd, "-Bbn", USER, PASSWORD], capture_output=True, text=True, check=True)
            (self.root / "htpasswd").write_text(entry.stdout)
            lines += ["auth:", "  htpasswd:", "    realm: tinyrel-test", f"    path: {self.root / 'htpasswd'}"]
        path = self.root / "config.yml"
        path.write_text("\n".join(lines) + "\n")
        return path

    def start(self) -> Registry:
        if BINARY is None:
            _missing("the CNCF Distribution registry (docker-registry) is not installed: run .ci/registry-deps")
        self.root.mkdir(parents=True, exist_ok=True)
        config = self._config()
        handle = self.log.open("ab")
        self.process = subprocess.Popen([BINARY, "serve", str(config)], stdout=handle, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            match = _LISTENING.search(self.log.read_text(errors="replace"))
            if match:
                self.port = int(match.group(1))
                if self._answers():
                    return self
            if self.process.poll() is not None:
                raise RuntimeError(f"the registry exited: {self.log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("the registry did not start within 20 s")

    def _answers(self) -> bool:
        try:
            with urlopen(f"http://{self.host}/v2/", timeout=2):
                return True
        except HTTPError as exc:
            return exc.code == 401
        except (URLError, OSError):
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def requests(self) -> list[tuple[str, str, int]]:
        """Every request the registry answered, in order: (method, path, status)."""
        return [(m, p, int(s)) for m, p, s in _ACCESS.findall(self.log.read_text(errors="replace"))]

    def writes(self, since: int = 0) -> list[tuple[str, str, int]]:
        """The requests after the first ``since`` that could change something (not GET or HEAD)."""
        return [r for r in self.requests()[since:] if r[0] not in ("GET", "HEAD")]

    def blob_file(self, digest: str) -> Path:
        hex_digest = digest.removeprefix("sha256:")
        return self.data / "docker/registry/v2/blobs/sha256" / hex_digest[:2] / hex_digest / "data"

    def tag_link(self, path: str, tag: str) -> Path:
        return self.data / "docker/registry/v2/repositories" / path / "_manifests/tags" / tag / "current/link"


class CuttingProxy:
    """An HTTP/1.1 forwarder in front of a registry that drops the connection when the ``cut_after``
    + 1st blob upload body starts, or when the tag ``cut_tag`` is put — a push killed mid-transfer
    or just before its tag, at a deterministic point.  With neither it forwards everything.  Requests
    and responses are framed by ``Content-Length`` (what the registry and tinyrel's client send)."""

    def __init__(self, upstream_port: int, cut_after: int | None = None, cut_tag: str | None = None) -> None:
        import socket
        import threading

        self.upstream_port, self.cut_after, self.uploads = upstream_port, cut_after, 0
        self.cut_tag = cut_tag  # also drop the PUT of this tag: a push killed just before its tag
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._lock = threading.Lock()
        self._stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._stopped = True
        self.listener.close()

    def _accept(self) -> None:
        import threading

        while not self._stopped:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client) -> None:
        import socket

        upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        reader, upreader = client.makefile("rb"), upstream.makefile("rb")
        try:
            while True:
                head = _read_head(reader)
                if head is None:
                    return
                method, path = head[0].split(b" ")[:2]
                if method == b"PUT" and b"/blobs/uploads/" in path:
                    with self._lock:
                        cut = self.cut_after is not None and self.uploads >= self.cut_after
                        self.uploads += 0 if cut else 1
                    if cut:
                        return  # the push is killed here: the body is never delivered
                if method == b"PUT" and self.cut_tag and path.endswith(f"/manifests/{self.cut_tag}".encode()):
                    return
                upstream.sendall(b"".join(head))
                _copy(reader, upstream, _length(head))
                response = _read_head(upreader)
                if response is None:
                    return
                client.sendall(b"".join(response))
                if method != b"HEAD":
                    _copy(upreader, client, _length(response))
        except OSError:
            return
        finally:
            for sock in (client, upstream):
                sock.close()


def _read_head(reader) -> list[bytes] | None:
    lines = []
    while True:
        line = reader.readline(65536)
        if not line:
            return None
        lines.append(line)
        if line in (b"\r\n", b"\n"):
            return lines


def _length(head: list[bytes]) -> int:
    for line in head[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


def _copy(reader, sock, length: int) -> None:
    while length > 0:
        piece = reader.read(min(length, 1 << 20))
        if not piece:
            raise OSError("closed")
        sock.sendall(piece)
        length -= len(piece)
