"""A local Hugging Face Hub emulator: the slice of the Hub API that huggingface_hub uses, over Xet and LFS.

Tests (and other tooling) point the *real* ``huggingface_hub`` client at it with ``HF_ENDPOINT``.
It implements: create repo, repo / revision info with siblings, preupload, NDJSON commits, refs and
tags, visibility settings, paths-info and tree listings (LFS sha256/size, ``xetHash``), and
``resolve`` downloads (GET/HEAD with ETag, X-Repo-Commit, X-Linked-Etag, X-Linked-Size).  Two
storage protocols, like the Hub: **Xet** by default — the ``xet-write-token``/``xet-read-token``
routes hand out a ``local://`` CAS that the real ``hf_xet`` writes xorbs and shards to, commits are
matched to Xet file hashes by reading those shards, and ``resolve`` answers ``X-Xet-Hash`` with the
``xet-auth`` link (a plain GET still gets the bytes) — and **LFS** (``--no-xet``; clients with
``HF_HUB_DISABLE_XET=1``): the LFS batch API (basic transfer) with upload and verify.  Blobs are
content-addressed by SHA-256 on disk; commits are immutable snapshots; state is persisted as JSON
so a restart keeps the repos.

Fault injection (``--fail-upload N`` / ``--drop-upload N`` or ``POST /_emulator/faults``: also
``slow_upload``, ``fail_commit``, ``fail_tag``, ``slow_xet_token``) makes the N-th LFS upload fail
with HTTP 507 (not retried by the client), drop the connection mid-request, and so on.
``GET /_emulator/stats`` reports counters; tests use them to prove a re-run only sends what is missing.

Not emulated: the Xet CAS's own HTTP API (hf_xet writes to the ``local://`` store directly, so xorb
and shard uploads, reconstruction queries and global dedup never cross the network), Xet token
expiry and refresh, LFS multipart uploads, rate limits, pull requests, and gated repos.

    python -m tinyrel.testing.hub --host 127.0.0.1 --port 8765 --data /tmp/hub --token hf_test
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import sys
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from tinyrel.testing._hub_http import JsonHandler
from tinyrel.testing._hub_store import (
    GITATTRIBUTES,
    LFS_PATTERNS,
    LFS_THRESHOLD,
    ZERO_COMMIT,
    HubError,
    HubState,
    entry_for,
    file_json,
    model_info,
    tree_entries,
)
from tinyrel.testing._hub_xet import XetRoutes
from tinyrel.testing._xet_cas import XetStore


class Handler(XetRoutes, JsonHandler):
    server: EmulatorServer

    def _auth(self, required: bool) -> None:
        header = self.headers.get("Authorization")
        token = self.server.token
        if header is not None and token is not None and header != f"Bearer {token}":
            raise HubError(401, "Invalid credentials in Authorization header")
        if required and token is not None and header is None:
            raise HubError(401, "Authorization header is required")

    def _read_access(self, repo_id: str) -> None:
        self._auth(required=False)
        if self.server.hub.repo(repo_id)["private"] and self.headers.get("Authorization") is None:
            raise HubError(401, "Repository not found", "RepoNotFound")

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        try:
            # Uploads stream outside the state lock so parallel transfers really run in parallel.
            with self.server.hub.lock if method != "PUT" else contextlib.nullcontext():
                for pattern, handler_name in ROUTES.get(method, []):
                    match = pattern.fullmatch(url.path)
                    if match:
                        getattr(self, handler_name)(*match.groups(), query=query)
                        return
            raise HubError(404, f"no route {method} {url.path}")
        except HubError as exc:
            headers = {"Content-Type": "application/json", "X-Error-Message": exc.message}
            if exc.code:
                headers["X-Error-Code"] = exc.code
            self._send(
                exc.status, json.dumps({"error": exc.message, **exc.extra}).encode(), headers, head=method == "HEAD"
            )
        except ConnectionError:
            self.close_connection = True

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # -- API ----------------------------------------------------------------------------------

    def whoami(self, query) -> None:
        self._auth(required=True)
        self._json({"type": "user", "name": "emulator-user", "orgs": [], "auth": {"type": "access_token"}})

    def create_repo(self, query) -> None:
        self._auth(required=True)
        payload = json.loads(self._body() or b"{}")
        repo_id = f"{payload['organization']}/{payload['name']}" if payload.get("organization") else payload["name"]
        hub = self.server.hub
        if repo_id in hub.state["repos"]:
            raise HubError(409, "You already created this model repo", url=f"{self.server.base_url}/{repo_id}")
        hub.state["repos"][repo_id] = {
            "private": payload.get("visibility") == "private" or bool(payload.get("private")),
            "branches": {"main": ZERO_COMMIT},
            "tags": {},
            "history": [],
        }
        hub.store_blob(GITATTRIBUTES)
        hub.commit(repo_id, "main", "initial commit", {".gitattributes": entry_for(GITATTRIBUTES, False)}, None)
        self._json({"url": f"{self.server.base_url}/{repo_id}", "name": repo_id})

    def repo_settings(self, repo_id: str, query) -> None:
        self._auth(required=True)
        payload = json.loads(self._body() or b"{}")
        with self.server.hub.lock:  # PUT routes run outside the state lock (uploads stream in parallel)
            repo = self.server.hub.repo(repo_id)
            if "visibility" in payload:
                repo["private"] = payload["visibility"] == "private"
            elif "private" in payload:
                repo["private"] = bool(payload["private"])
            self.server.hub.save()
        self._json({})

    def validate_yaml(self, query) -> None:
        self._body()
        self._json({"errors": [], "warnings": []})

    def repo_info(self, repo_id: str, revision: str | None = None, query=None) -> None:
        self._read_access(repo_id)
        hub = self.server.hub
        commit = hub.resolve(repo_id, revision or "main")
        self._json(model_info(repo_id, commit, hub.repo(repo_id)["private"], hub.files(commit)))

    def refs(self, repo_id: str, query) -> None:
        self._read_access(repo_id)
        repo = self.server.hub.repo(repo_id)
        as_refs = lambda kind, refs: [  # noqa: E731
            {"name": n, "ref": f"refs/{kind}/{n}", "targetCommit": c} for n, c in sorted(refs.items())
        ]
        self._json(
            {"branches": as_refs("heads", repo["branches"]), "tags": as_refs("tags", repo["tags"]), "converts": []}
        )

    def create_tag(self, repo_id: str, revision: str, query) -> None:
        self._auth(required=True)
        payload = json.loads(self._body())
        hub = self.server.hub
        if hub.faults.get("fail_tag"):
            hub.faults["fail_tag"] = None
            raise HubError(500, "injected failure of tag creation")
        commit = hub.resolve(repo_id, revision)
        tags = hub.repo(repo_id)["tags"]
        if payload["tag"] in tags:
            raise HubError(409, f"Tag {payload['tag']} already exists")
        tags[payload["tag"]] = commit
        hub.save()
        self._json({"name": payload["tag"], "ref": f"refs/tags/{payload['tag']}", "targetCommit": commit})

    def delete_tag(self, repo_id: str, tag: str, query) -> None:
        self._auth(required=True)
        tags = self.server.hub.repo(repo_id)["tags"]
        if tags.pop(unquote(tag), None) is None:
            raise HubError(404, "Tag not found", "RevisionNotFound")
        self.server.hub.save()
        self._json({})

    def preupload(self, repo_id: str, revision: str, query) -> None:
        self._auth(required=True)
        hub = self.server.hub
        existing = hub.files(hub.resolve(repo_id, revision))
        out = []
        for item in json.loads(self._body())["files"]:
            sample = base64.b64decode(item["sample"])
            lfs = bool(LFS_PATTERNS.search(item["path"])) or item["size"] >= LFS_THRESHOLD or b"\0" in sample
            remote = existing.get(item["path"])
            oid = (remote["sha256"] if remote["lfs"] else remote["git"]) if remote else None
            out.append(
                {"path": item["path"], "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False, "oid": oid}
            )
        self._json({"files": out, "commitOid": hub.resolve(repo_id, revision)})

    def lfs_batch(self, repo_id: str, query) -> None:
        self._auth(required=True)
        self.server.hub.repo(repo_id)
        objects = []
        for obj in json.loads(self._body())["objects"]:
            entry = {"oid": obj["oid"], "size": obj["size"], "authenticated": True}
            in_cas = self.server.xet is not None and self.server.xet.lookup(obj["oid"]) is not None
            if not self.server.hub.has_blob(obj["oid"]) and not in_cas:
                base = f"{self.server.base_url}/_lfs/{repo_id}/{obj['oid']}"
                upload = f"{base}?sig={self.server.presign(obj['oid'])}"
                entry["actions"] = {"upload": {"href": upload, "header": {}}, "verify": {"href": base + "/verify"}}
            objects.append(entry)
        self._json({"transfer": "basic", "objects": objects, "hash_algo": "sha256"})

    def lfs_upload(self, repo_id: str, oid: str, query) -> None:
        hub = self.server.hub
        if query.get("sig", [""])[0] != self.server.presign(oid):
            raise HubError(403, "upload URL signature does not match")
        with hub.lock:
            hub.stats["uploads"] += 1
            number = hub.stats["uploads"]
            fail, drop = hub.faults["fail_upload"], hub.faults["drop_upload"]
        slow = hub.faults.get("slow_upload")
        if drop == number:
            self.rfile.read(min(int(self.headers.get("Content-Length") or 0), 1024))
            self.close_connection = True
            hub.stats["failed_uploads"] += 1
            raise ConnectionError("injected connection drop")
        if slow:
            data = self._slow_body(float(slow))
            staged = hub.stage_bytes(data)
        else:  # stream to disk while hashing: a 5 GB shard never sits in memory
            staged = hub.stage_stream(self.rfile, int(self.headers.get("Content-Length") or 0))
        if fail == number:
            staged.path.unlink(missing_ok=True)
            hub.stats["failed_uploads"] += 1
            raise HubError(507, f"injected failure of upload #{number}")
        if staged.sha256 != oid:
            staged.path.unlink(missing_ok=True)
            raise HubError(400, "uploaded content does not match its oid")
        with hub.lock:
            hub.commit_staged(staged)
            hub.stats["uploaded_bytes"] += staged.size
        self._send(200)

    def lfs_verify(self, repo_id: str, oid: str, query) -> None:
        self._auth(required=True)
        payload = json.loads(self._body())
        path = self.server.hub.blob_path(oid)
        if not path.is_file() or path.stat().st_size != payload["size"]:
            raise HubError(404, "object not found or size mismatch")
        self._json({"success": True})

    def commit(self, repo_id: str, revision: str, query) -> None:
        self._auth(required=True)
        hub = self.server.hub
        hub.repo(repo_id)
        if hub.faults.get("fail_commit"):
            hub.faults["fail_commit"] = None
            self._body()
            raise HubError(500, "injected failure of the commit")
        summary, parent, changes = "", None, {}
        for line in self._body().splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            key, value = item["key"], item["value"]
            if key == "header":
                summary, parent = value.get("summary", ""), value.get("parentCommit")
            elif key == "file":
                data = base64.b64decode(value["content"])
                hub.store_blob(data)
                changes[value["path"]] = entry_for(data, False)
            elif key == "lfsFile":
                changes[value["path"]] = self._uploaded(value["oid"], value["size"], value["path"])
            elif key in ("deletedFile", "deletedFolder"):
                changes[value["path"]] = None
        oid = hub.commit(repo_id, unquote(revision), summary, changes, parent)
        self._json({"success": True, "commitOid": oid, "commitUrl": f"{self.server.base_url}/{repo_id}/commit/{oid}"})

    def paths_info(self, repo_id: str, revision: str, query) -> None:
        self._read_access(repo_id)
        hub = self.server.hub
        files = hub.files(hub.resolve(repo_id, revision))
        wanted = parse_qs(self._body().decode()).get("paths", [])
        self._json([file_json(p, files[p]) for p in wanted if p in files])

    def tree(self, repo_id: str, revision: str, path: str | None, query) -> None:
        self._read_access(repo_id)
        hub = self.server.hub
        recursive = query.get("recursive", ["false"])[0].lower() in ("1", "true")
        self._json(tree_entries(hub.files(hub.resolve(repo_id, revision)), unquote(path or ""), recursive))

    def resolve_file(self, repo_id: str, revision: str, path: str, query) -> None:
        head = self.command == "HEAD"
        self._read_access(repo_id)
        hub = self.server.hub
        commit = hub.resolve(repo_id, revision)
        entry = hub.files(commit).get(unquote(path))
        if entry is None:
            raise HubError(404, "Entry not found", "EntryNotFound")
        headers = {"X-Repo-Commit": commit, "ETag": f'"{entry["git"]}"', "Content-Type": "application/octet-stream"}
        if entry["lfs"]:
            headers.update({"X-Linked-Etag": f'"{entry["sha256"]}"', "X-Linked-Size": str(entry["size"])})
        if entry.get("xet") and self.server.xet is not None:
            token_url = f"{self.server.base_url}/api/models/{repo_id}/xet-read-token/{commit}"
            headers.update({"X-Xet-Hash": entry["xet"], "Link": f'<{token_url}>; rel="xet-auth"'})
        self.send_response(200)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(entry["size"]))
        self.end_headers()
        if head:
            return
        blob = hub.blob_path(entry["sha256"])
        if not blob.is_file() and entry.get("xet"):  # a client without hf_xet: rebuild the bytes from the CAS
            self.server.xet.materialize(entry["xet"], entry["size"], blob)
        if entry["lfs"]:
            hub.stats["lfs_downloads"] += 1
        with blob.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                self.wfile.write(chunk)

    def emulator_stats(self, query) -> None:
        xet = self.server.xet.stats() if self.server.xet is not None else {}
        self._json({**self.server.hub.stats, **xet, "blobs": len(list((self.server.hub.data / "blobs").iterdir()))})

    def emulator_faults(self, query) -> None:
        self.server.hub.faults.update(json.loads(self._body()))
        self._json(self.server.hub.faults)


REPO = r"((?:[\w.-]+/)?[\w.-]+)"
ROUTES: dict[str, list[tuple[re.Pattern, str]]] = {
    method: [(re.compile(p), name) for p, name in routes]
    for method, routes in {
        "GET": [
            (r"/api/whoami-v2", "whoami"),
            (r"/api/models/" + REPO + r"/refs", "refs"),
            (r"/api/models/" + REPO + r"/xet-(write|read)-token/([^/]+)", "xet_token"),
            (r"/api/models/" + REPO + r"/revision/([^/]+)", "repo_info"),
            (r"/api/models/" + REPO + r"/tree/([^/]+)(?:/(.+))?", "tree"),
            (r"/api/models/" + REPO, "repo_info"),
            (r"/" + REPO + r"/resolve/([^/]+)/(.+)", "resolve_file"),
            (r"/_emulator/stats", "emulator_stats"),
        ],
        "HEAD": [(r"/" + REPO + r"/resolve/([^/]+)/(.+)", "resolve_file")],
        "POST": [
            (r"/api/repos/create", "create_repo"),
            (r"/api/validate-yaml", "validate_yaml"),
            (r"/api/models/" + REPO + r"/preupload/([^/]+)", "preupload"),
            (r"/api/models/" + REPO + r"/commit/([^/]+)", "commit"),
            (r"/api/models/" + REPO + r"/tag/([^/]+)", "create_tag"),
            (r"/api/models/" + REPO + r"/paths-info/([^/]+)", "paths_info"),
            (r"/" + REPO + r"\.git/info/lfs/objects/batch", "lfs_batch"),
            (r"/_lfs/" + REPO + r"/([0-9a-f]{64})/verify", "lfs_verify"),
            (r"/_emulator/faults", "emulator_faults"),
        ],
        "PUT": [
            (r"/_lfs/" + REPO + r"/([0-9a-f]{64})", "lfs_upload"),
            (r"/api/models/" + REPO + r"/settings", "repo_settings"),
        ],
        "DELETE": [(r"/api/models/" + REPO + r"/tag/([^/]+)", "delete_tag")],
    }.items()
}


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, port: int, data: Path, token: str | None, verbose: bool = False, xet: bool = True):
        super().__init__((host, port), Handler)
        self.hub = HubState(data)
        self.xet = XetStore(data / "cas") if xet else None  # off: an LFS-only Hub
        self.token = token
        self.verbose = verbose
        self.base_url = f"http://{host}:{self.server_address[1]}"

    def presign(self, oid: str) -> str:
        """Upload URLs are pre-signed (like S3's): the PUT itself carries no token."""
        return hashlib.sha256(f"{self.token}:{oid}".encode()).hexdigest()[:32]

    def start_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="hub-emulator", daemon=True)
        thread.start()
        return thread


def main(argv: list[str] | None = None) -> int:
    """``python -m tinyrel.testing.hub --host H --port P --data DIR --token T [--no-xet]``."""
    from tinyrel.testing._hub_cli import parse_args, serve

    args = parse_args(argv)
    return serve(EmulatorServer(args.host, args.port, args.data, args.token, args.verbose, xet=not args.no_xet), args)


if __name__ == "__main__":
    sys.exit(main())
