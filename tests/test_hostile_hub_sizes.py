"""Sizes a hostile Hub announces: every transfer of a verify or pull is bounded by what tinyrel
expects (the signed size, or a fixed cap for files that precede the signature check), including
the ones hf_xet makes without crossing tinyrel's client."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx
import pytest
from support.helpers import run_json
from support.hostile_hub import TamperingProxy, _ProxyHandler
from support.servers import LoopbackServer
from test_hostile_hub import hub  # noqa: F401 - the module's genuine Hub with org/name@v0.1.0

pytestmark = pytest.mark.slow


def _proxy(upstream: str, name: str, xet_hash: str, size: int, token_url: str):
    client = httpx.Client(timeout=60)

    class Relay(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
            answer = client.request(self.command, upstream + self.path, headers=headers, content=body)
            skip = ("content-length", "transfer-encoding", "connection", "content-encoding")
            out = {k: v for k, v in answer.headers.items() if k.lower() not in skip}
            data = answer.content
            if "/resolve/" in self.path and self.path.split("?")[0].endswith("/" + name):
                out = {k: v for k, v in out.items() if k.lower() not in ("x-xet-hash", "link", "x-linked-size")}
                out.update({"X-Xet-Hash": xet_hash, "X-Xet-Refresh-Route": token_url, "X-Linked-Size": str(size)})
            self.send_response(answer.status_code)
            for key, value in out.items():
                self.send_header(key, value)
            self.send_header("Content-Length", answer.headers.get("content-length", str(len(data)))
                             if self.command == "HEAD" else str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_HEAD = do_POST = _handle

    server = LoopbackServer(Relay)
    return server, server.base_url


BIG = 64 * 1024 * 1024


class _BigIdentity(_ProxyHandler):
    def _handle(self) -> None:
        if self.command == "GET" and self.path.split("?")[0].endswith("/release.toml"):
            self.server.requests.append(f"{self.command} {self.path}")
            self.send_response(200)
            self.send_header("Content-Length", str(BIG))
            self.send_header("ETag", '"' + "e" * 40 + '"')
            self.send_header("X-Repo-Commit", self.server.commit)
            self.end_headers()
            chunk = b"#" * 65536
            try:
                for _ in range(BIG // len(chunk)):
                    self.wfile.write(chunk)
                    self.server.sent += len(chunk)
            except OSError:
                pass
            return
        super()._handle()

    do_GET = do_HEAD = do_POST = _handle


def test_a_xet_transfer_is_bounded_by_the_expected_size(xet_hub, tmp_path: Path, monkeypatch):
    """hf_xet writes as many bytes as the file's metadata answer announces, without crossing
    tinyrel's client: a server announcing a Xet hash of ~10 MB for a file expected (signed) to be
    1,000 bytes is refused before hf_xet writes anything."""
    from support.hub import hub_api

    from tinyrel.hub.client import download
    from tinyrel.hub.session import HubSession

    api = hub_api(xet_hub)
    api.create_repo("attacker/store", exist_ok=True)
    genuine = tmp_path / "model.safetensors"
    genuine.write_bytes(b"g" * 1000)
    big = tmp_path / "big.safetensors"
    big.write_bytes(bytes(range(256)) * 40_000)  # ~10 MB where 1,000 bytes are expected
    for path in (genuine, big):
        api.upload_file(path_or_fileobj=str(path), path_in_repo=path.name, repo_id="attacker/store")
    commit = api.model_info("attacker/store").sha
    head = httpx.head(f"{xet_hub.base_url}/attacker/store/resolve/main/big.safetensors")
    token_url = f"{xet_hub.base_url}/api/models/attacker/store/xet-read-token/main"
    proxy, base = _proxy(xet_hub.base_url, "model.safetensors", head.headers["x-xet-hash"],
                         big.stat().st_size, token_url)
    monkeypatch.setenv("HF_ENDPOINT", base)
    staging = tmp_path / "staging"
    try:
        with HubSession():
            try:
                got = download("attacker/store", "model.safetensors", commit, local_dir=staging, expected_size=1000)
                written = got.path.stat().st_size
            except Exception as exc:  # noqa: BLE001 - refused: what was written meanwhile?
                assert "announces 10,240,000 bytes for a file of 1,000" in str(exc), exc
                written = max([p.stat().st_size for p in staging.rglob("*") if p.is_file()] or [0])
    finally:
        proxy.close()
    assert written <= 1000, f"{written:,} bytes written for a transfer bounded by 1,000"


@pytest.mark.parametrize("listed", ["absent", "huge"])
def test_the_identity_file_is_held_to_an_identity_files_size_however_listed(hub, keys, monkeypatch, listed):  # noqa: F811
    """``verify --no-download`` (the quick triage) fetches the git-stored files and release.toml:
    a listing that states no size, or a huge one, cannot make it read a huge body."""
    from support.hub import hub_api

    commit = hub_api(hub).model_info("org/name", revision="v0.1.0").sha

    def edit(listing: dict) -> None:
        for sibling in listing["siblings"]:
            if sibling["rfilename"] == "release.toml":
                sibling.pop("lfs", None)  # a git-stored file, as tinyrel publishes it
                if listed == "absent":
                    sibling.pop("size", None)
                else:
                    sibling["size"] = BIG

    proxy = TamperingProxy(hub.base_url, set(), edit_listing=edit)
    proxy.RequestHandlerClass = _BigIdentity
    proxy.commit, proxy.sent = commit, 0
    try:
        monkeypatch.setenv("HF_ENDPOINT", proxy.base_url)
        code, doc = run_json("verify", "hf://org/name@v0.1.0", "--public-key", keys.public_key, "--no-download")
    finally:
        proxy.close()
    assert code == 1 and "hub/untrusted-response" in str(doc), doc
    # What the server got into the socket before the client hung up: the client's bound (1 MiB)
    # plus the kernel's buffers — not the 64 MiB it offered.
    assert proxy.sent <= 8 * 1024 * 1024, f"{proxy.sent:,} bytes of a 'release.toml' were sent before refusing"
    if listed == "absent":
        assert "longer than the 1,048,576 bytes expected for this file" in str(doc), doc
