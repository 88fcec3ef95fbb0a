"""A hostile relay in front of a real registry, for the OCI attack tests (tests/test_oci_hostile.py).

Everything is forwarded to the upstream registry unless a route is overridden:

- ``manifests[reference]``: (body, media type) served for ``GET/HEAD /v2/<path>/manifests/<reference>``;
- ``blobs[digest]``: a callable returning an iterator of body pieces for ``GET /v2/<path>/blobs/<digest>``
  (sent chunked, no Content-Length), or ``(pieces, content_length)`` to lie in Content-Length;
- ``stall_blobs``: seconds to sleep before answering any blob GET; ``on_blob(digest)``: called when a
  blob GET arrives; returns seconds to stall that request before answering.

``sent[digest]`` counts the body bytes written for an overridden blob until the client hung up.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import time
from http.server import BaseHTTPRequestHandler

from support.servers import LoopbackServer

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"
SIGNATURE = "application/vnd.dev.sigstore.bundle.v0.3+json"


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Relay(LoopbackServer):
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.manifests: dict[str, tuple[bytes, str]] = {}
        self.blobs: dict[str, object] = {}
        self.sent: dict[str, int] = {}
        self.stall_blobs = 0.0
        self.on_blob = None
        self.log: list[str] = []
        self.alias: dict[str, str] = {}  # "/v2/<served path>/" -> "/v2/<upstream path>/"
        super().__init__(_Handler)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    # -- building hostile answers from the genuine ones --------------------------------------
    def upstream_get(self, path: str, accept: str = f"{MANIFEST}, {INDEX}") -> bytes:
        conn = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=10)
        conn.request("GET", path, headers={"Accept": accept})
        response = conn.getresponse()
        body = response.read()
        conn.close()
        assert response.status == 200, (path, response.status, body[:200])
        return body

    def serve_as(self, repo_path: str, tag: str, manifest: dict, signed_by: str) -> str:
        """Serve ``manifest`` at ``tag`` (and its digest), with a signature referrer of it carrying the
        bundle of the genuine manifest ``signed_by`` — what a hostile registry can always build.
        Returns the served manifest's digest."""
        body = json.dumps(manifest).encode()
        digest = sha(body)
        self.manifests[tag] = self.manifests[digest] = (body, MANIFEST)
        index = json.loads(self.upstream_get(f"/v2/{repo_path}/manifests/sha256-{signed_by[7:]}"))
        referrer = json.loads(self.upstream_get(f"/v2/{repo_path}/manifests/{index['manifests'][0]['digest']}"))
        referrer["subject"] = {"mediaType": MANIFEST, "digest": digest, "size": len(body)}
        _serve_referrer(self, digest, referrer)
        return digest


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Relay

    def log_message(self, *args) -> None:
        pass

    def do_HEAD(self) -> None:
        self._handle()

    def do_GET(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def _handle(self) -> None:
        self.server.log.append(f"{self.command} {self.path}")
        for served, upstream in self.server.alias.items():
            if self.path.startswith(served):
                self.path = upstream + self.path[len(served):]
        parts = self.path.split("?")[0].split("/")
        if self.command in ("GET", "HEAD") and len(parts) >= 3 and parts[-2] == "manifests":
            served = self.server.manifests.get(parts[-1])
            if served is not None:
                body, media_type = served
                self.send_response(200)
                self.send_header("Content-Type", media_type)
                self.send_header("Docker-Content-Digest", sha(body))
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command == "GET":
                    self.wfile.write(body)
                return
        if self.command == "GET" and len(parts) >= 3 and parts[-2] == "blobs":
            delay = self.server.on_blob(parts[-1]) if self.server.on_blob is not None else 0
            if delay or self.server.stall_blobs:
                time.sleep(delay or self.server.stall_blobs)
            override = self.server.blobs.get(parts[-1])
            if override is not None:
                self._serve_blob(parts[-1], override)
                return
        self._forward()

    def _serve_blob(self, digest: str, override) -> None:
        made = override()
        pieces, length = made if isinstance(made, tuple) else (made, None)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if length is None:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(length))
        self.end_headers()
        self.server.sent[digest] = 0
        try:
            for piece in pieces:
                if length is None:
                    self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                else:
                    self.wfile.write(piece)
                self.server.sent[digest] += len(piece)
            if length is None:
                self.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass
        self.close_connection = True

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        conn = http.client.HTTPConnection("127.0.0.1", self.server.upstream_port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "accept-encoding")}
        try:
            conn.request(self.command, self.path, body=body, headers=headers)
        except OSError:  # no upstream (serve_tree): what is not served here does not exist
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        response = conn.getresponse()
        data = response.read()
        self.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(key, value)
        upstream_length = response.getheader("Content-Length") if self.command == "HEAD" else None
        self.send_header("Content-Length", upstream_length or str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        conn.close()


def serve_tree(relay: Relay, repo_path: str, tag: str, root, signature: bytes) -> str:
    """Serve the files under ``root`` as a ModelPack artifact at ``repo_path:tag``, with ``signature``
    (an OMS bundle) as its referrer — everything answered by the relay itself."""
    from pathlib import Path

    layers = []
    for path in sorted(p for p in Path(root).rglob("*") if p.is_file() and p.name != "model.sig"):
        data = path.read_bytes()
        rel = path.relative_to(root).as_posix()
        relay.blobs[sha(data)] = (lambda data=data: iter([data]))
        layers.append({"mediaType": "application/vnd.cncf.model.doc.v1.raw", "digest": sha(data), "size": len(data),
                       "annotations": {"org.cncf.model.filepath": rel, "org.opencontainers.image.title": rel}})
    config = b"{}"
    manifest = {"schemaVersion": 2, "mediaType": MANIFEST,
                "artifactType": "application/vnd.cncf.model.manifest.v1+json",
                "config": {"mediaType": "application/vnd.cncf.model.config.v1+json", "digest": sha(config), "size": 2},
                "layers": layers}
    body = json.dumps(manifest).encode()
    digest = sha(body)
    relay.manifests[f"{repo_path}:{tag}"] = relay.manifests[tag] = relay.manifests[digest] = (body, MANIFEST)
    relay.blobs[sha(signature)] = lambda: iter([signature])
    referrer = {"schemaVersion": 2, "mediaType": MANIFEST, "artifactType": SIGNATURE,
                "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": sha(config), "size": 2},
                "layers": [{"mediaType": SIGNATURE, "digest": sha(signature), "size": len(signature)}],
                "subject": {"mediaType": MANIFEST, "digest": digest, "size": len(body)}}
    _serve_referrer(relay, digest, referrer)
    return digest


def _serve_referrer(relay: Relay, subject: str, referrer: dict) -> None:
    """``referrer`` served by its digest, and listed as ``subject``'s one signature in the
    referrers tag schema (``sha256-<hex>``)."""
    body = json.dumps(referrer).encode()
    relay.manifests[sha(body)] = (body, MANIFEST)
    index = {"schemaVersion": 2, "mediaType": INDEX, "manifests": [
        {"mediaType": MANIFEST, "digest": sha(body), "size": len(body), "artifactType": SIGNATURE}]}
    relay.manifests[f"sha256-{subject[7:]}"] = (json.dumps(index).encode(), INDEX)
