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
``slow_upload``, ``slow_download``, ``fail_commit``, ``fail_tag``, ``slow_xet_token``) makes the N-th LFS upload fail
with HTTP 507 (not retried by the client), drop the connection mid-request, and so on.
``GET /_emulator/stats`` reports counters; tests use them to prove a re-run only sends what is missing.

Who may do what.  **Without ``--token`` the emulator is open: anyone who can reach the port can
create repos, commit, tag, change visibility, read every repo and set faults** (any bearer token
is accepted; only anonymous reads of a private repo are refused).  Keep it on ``127.0.0.1``, or
give it a token.  With ``--token T`` every request must carry ``Authorization: Bearer T`` (else
HTTP 401) except what the real Hub serves anonymously: reads of a *public* repo (info, refs, tree,
paths-info, ``resolve`` and its ``xet-read-token``).  Private repos, every write, and the
``/_emulator/*`` routes need the token.  LFS upload URLs are pre-signed (like S3's): the PUT
carries a signature derived from the token instead.  The Xet CAS is a local directory: the access
tokens handed out for it are not checked, and a process that can write the directory needs none.

Every client-supplied name is checked before it touches the store (``_hub_names``): LFS oids and
Xet hashes are 64 lowercase hex digits, repo ids and revisions follow the Hub's rules, and file
paths are relative, normalised, printable and of a sane length.  Anything else is an HTTP 400 in
the Hub's error shape, so nothing outside the data directory is ever read or served.

Not emulated: the Xet CAS's own HTTP API (hf_xet writes to the ``local://`` store directly, so xorb
and shard uploads, reconstruction queries and global dedup never cross the network), Xet token
expiry and refresh, LFS multipart uploads, rate limits, pull requests, and gated repos.

    python -m tinyrel.testing.hub --host 127.0.0.1 --port 8765 --data /tmp/hub --token hf_test
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import sys
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tinyrel.testing import _hub_names as names
from tinyrel.testing._hub_http import JsonHandler
from tinyrel.testing._hub_lfs import LfsRoutes
from tinyrel.testing._hub_routes import ROUTES
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


class Handler(LfsRoutes, XetRoutes, JsonHandler):
    """The Hub's routes (see the module docstring for who may call which)."""

    server: EmulatorServer

    def _auth(self, required: bool) -> None:
        """A wrong token is always 401; no token is 401 when ``required`` and the emulator has one."""
        header, token = self.headers.get("Authorization"), self.server.token
        if header is not None and token is not None and not _same(header, f"Bearer {token}"):
            raise HubError(401, "Invalid credentials in Authorization header")
        if required and token is not None and header is None:
            raise HubError(401, "Authorization header is required")

    def _read_access(self, repo_id: str) -> None:
        """Public repos are readable anonymously, as on the Hub; private ones need the token."""
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
                        self.server.hub.request_log.append((method, handler_name, url.path))
                        getattr(self, handler_name)(*names.route_args(match), query=query)
                        return
            raise HubError(404, f"no route {method} {url.path}")
        except HubError as exc:
            self._error(method, exc)
        except (ValueError, KeyError, TypeError) as exc:  # a body of the wrong shape: the client's fault
            self._error(method, HubError(400, f"Malformed request ({type(exc).__name__}: {str(exc)[:200]})"))
        except ConnectionError:
            self.close_connection = True

    def _error(self, method: str, exc: HubError) -> None:
        # A header is Latin-1 on one line: a message quoting a client's name must not break the answer.
        message = exc.message.encode("ascii", "backslashreplace").decode().replace("\r", " ").replace("\n", " ")
        headers = {"Content-Type": "application/json", "X-Error-Message": message}
        if exc.code:
            headers["X-Error-Code"] = exc.code
        if method in ("POST", "PUT", "DELETE"):  # the body may be unread: this connection carries nothing more
            headers["Connection"] = "close"
            self.close_connection = True
        self._send(exc.status, json.dumps({"error": exc.message, **exc.extra}).encode(), headers, head=method == "HEAD")

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
        payload = self._json_object()
        name, org = payload.get("name"), payload.get("organization")
        repo_id = names.repo_id(f"{org}/{name}" if org else name)
        if payload.get("type", "model") != "model":
            raise HubError(400, "The emulator holds model repos only")
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
        payload = self._json_object()
        with self.server.hub.lock:  # PUT routes run outside the state lock (uploads stream in parallel)
            repo = self.server.hub.repo(repo_id)
            if "visibility" in payload:
                repo["private"] = payload["visibility"] == "private"
            elif "private" in payload:
                repo["private"] = bool(payload["private"])
            self.server.hub.save()
        self._json({})

    def validate_yaml(self, query) -> None:
        self._auth(required=True)
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
        tag = names.revision(self._json_object().get("tag"))
        hub = self.server.hub
        if hub.faults.get("fail_tag"):
            hub.faults["fail_tag"] = None
            raise HubError(500, "injected failure of tag creation")
        commit = hub.resolve(repo_id, revision)
        tags = hub.repo(repo_id)["tags"]
        if tag in tags:
            raise HubError(409, f"Tag {tag} already exists")
        tags[tag] = commit
        hub.save()
        self._json({"name": tag, "ref": f"refs/tags/{tag}", "targetCommit": commit})

    def delete_tag(self, repo_id: str, tag: str, query) -> None:
        self._auth(required=True)
        tags = self.server.hub.repo(repo_id)["tags"]
        if tags.pop(tag, None) is None:
            raise HubError(404, "Tag not found", "RevisionNotFound")
        self.server.hub.save()
        self._json({})

    def preupload(self, repo_id: str, revision: str, query) -> None:
        self._auth(required=True)
        hub = self.server.hub
        existing = hub.files(hub.resolve(repo_id, revision))
        out = []
        for item in self._json_object()["files"]:
            path, sample = names.file_path(item["path"]), base64.b64decode(item["sample"], validate=True)
            lfs = bool(LFS_PATTERNS.search(path)) or names.size(item["size"]) >= LFS_THRESHOLD or b"\0" in sample
            remote = existing.get(path)
            oid = (remote["sha256"] if remote["lfs"] else remote["git"]) if remote else None
            out.append({"path": path, "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False, "oid": oid})
        self._json({"files": out, "commitOid": hub.resolve(repo_id, revision)})

    def commit(self, repo_id: str, revision: str, query) -> None:
        self._auth(required=True)
        hub = self.server.hub
        hub.repo(repo_id)
        if hub.faults.get("fail_commit"):
            hub.faults["fail_commit"] = None
            self._body()
            raise HubError(500, "injected failure of the commit")
        summary, parent, changes, blobs = "", None, {}, []
        for line in self._body().splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            key, value = item["key"], item["value"]
            if key == "header":
                summary, parent = str(value.get("summary", "")), value.get("parentCommit")
            elif key == "file":
                data = base64.b64decode(value["content"], validate=True)
                blobs.append(data)
                changes[names.file_path(value["path"])] = entry_for(data, False)
            elif key == "lfsFile":
                path = names.file_path(value["path"])
                changes[path] = self._uploaded(names.sha256_oid(value["oid"]), names.size(value["size"]), path)
            elif key in ("deletedFile", "deletedFolder"):
                changes[names.file_path(value["path"], folder=key == "deletedFolder")] = None
            else:
                raise HubError(400, f"Unknown commit operation {str(key)[:40]!r}")
        if parent is not None and not isinstance(parent, str):
            raise HubError(400, "parentCommit must be a commit id")
        for data in blobs:  # only once the whole commit is known good
            hub.store_blob(data)
        oid = hub.commit(repo_id, revision, summary, changes, parent)
        self._json({"success": True, "commitOid": oid, "commitUrl": f"{self.server.base_url}/{repo_id}/commit/{oid}"})

    def paths_info(self, repo_id: str, revision: str, query) -> None:
        self._read_access(repo_id)
        hub = self.server.hub
        files = hub.files(hub.resolve(repo_id, revision))
        wanted = [names.file_path(p) for p in parse_qs(self._body().decode()).get("paths", [])]
        self._json([file_json(p, files[p]) for p in wanted if p in files])

    def tree(self, repo_id: str, revision: str, path: str | None, query) -> None:
        self._read_access(repo_id)
        hub = self.server.hub
        recursive = query.get("recursive", ["false"])[0].lower() in ("1", "true")
        self._json(tree_entries(hub.files(hub.resolve(repo_id, revision)), path or "", recursive))

    def resolve_file(self, repo_id: str, revision: str, path: str, query) -> None:
        head = self.command == "HEAD"
        self._read_access(repo_id)
        hub = self.server.hub
        commit = hub.resolve(repo_id, revision)
        entry = hub.files(commit).get(path)
        if entry is None:
            raise HubError(404, "Entry not found", "EntryNotFound")
        blob = hub.blob_path(entry["sha256"])
        if not head and not blob.is_file() and entry.get("xet"):  # a client without hf_xet: rebuild from the CAS
            self.server.xet.materialize(entry["xet"], entry["size"], blob)
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
        if entry["lfs"]:
            hub.stats["lfs_downloads"] += 1
            hub.stats["downloads_started"] += 1
        slow = float(hub.faults.get("slow_download") or 0)  # a slow link (Ctrl-C tests need time)
        with blob.open("rb") as handle:
            while chunk := handle.read(4096 if slow and entry["lfs"] else 1 << 20):
                self.wfile.write(chunk)
                if slow and entry["lfs"]:
                    time.sleep(slow)

    def emulator_stats(self, query) -> None:
        self._auth(required=True)
        xet = self.server.xet.stats() if self.server.xet is not None else {}
        self._json({**self.server.hub.stats, **xet, "blobs": len(list((self.server.hub.data / "blobs").iterdir()))})

    def emulator_faults(self, query) -> None:
        self._auth(required=True)
        faults = self._json_object()
        unknown = set(faults) - set(self.server.hub.faults)
        if unknown:
            raise HubError(400, f"Unknown faults: {', '.join(sorted(unknown))}")
        self.server.hub.faults.update(faults)
        self._json(self.server.hub.faults)


def _same(given: str, expected: str) -> bool:
    """A comparison that takes as long whatever the first differing character (no timing oracle)."""
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape"))


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, port: int, data: Path, token: str | None, verbose: bool = False, xet: bool = True):
        super().__init__((host, port), Handler)
        try:
            self.hub = HubState(data)
        except BaseException:
            self.server_close()  # do not hold the port of a server that never serves
            raise
        self.xet = XetStore(data / "cas") if xet else None  # off: an LFS-only Hub
        self.token = token
        self.verbose = verbose
        self.base_url = f"http://{host}:{self.server_address[1]}"

    def presign(self, oid: str) -> str:
        """Upload URLs are pre-signed (like S3's): the PUT itself carries no token."""
        return hmac.new(str(self.token).encode(), oid.encode(), hashlib.sha256).hexdigest()[:32]

    def start_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="hub-emulator", daemon=True)
        thread.start()
        return thread


def main(argv: list[str] | None = None) -> int:
    """``python -m tinyrel.testing.hub --host H --port P --data DIR --token T [--no-xet]``."""
    from tinyrel.testing._hub_cli import run

    return run(EmulatorServer, argv)


if __name__ == "__main__":
    sys.exit(main())
