"""Storage of the local Hub emulator: repos, refs and immutable commits over a content-addressed
blob store (one file per SHA-256), persisted as JSON so a restarted emulator keeps its repos."""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from tinyrel.testing._hub_http import HubError
from tinyrel.testing._hub_names import sha256_oid, xet_hash

__all__ = ["HubError", "HubState"]
LFS_PATTERNS = re.compile(r"\.(safetensors|bin|gguf|npz|pt|pth|h5|onnx|msgpack|zip|tar|gz)$")
LFS_THRESHOLD = 10 * 1024 * 1024
GITATTRIBUTES = b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n*.bin filter=lfs diff=lfs merge=lfs -text\n"
ZERO_COMMIT = "0" * 40


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class StagedBlob:
    path: Path
    sha256: str
    size: int


class HubState:
    """Repos, refs and commits (JSON on disk) plus the blob store (one file per SHA-256)."""

    def __init__(self, data: Path):
        self.data = data
        (data / "blobs").mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self.state = _load_state(data / "state.json")
        self.request_log: list[tuple[str, str, str]] = []  # (method, route, path) of every routed request
        self.stats = {"uploads": 0, "uploaded_bytes": 0, "commits": 0, "failed_uploads": 0, "lfs_downloads": 0,
                      "xet_write_tokens": 0, "xet_read_tokens": 0, "downloads_started": 0}  # fmt: skip
        self.faults: dict[str, object] = {"fail_upload": None, "drop_upload": None, "fail_tag": None,
                                          "fail_commit": None, "slow_upload": None, "slow_xet_token": None,
                                          "slow_download": None}  # fmt: skip

    def save(self) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.data, prefix=".state.")
        with os.fdopen(fd, "w") as handle:
            json.dump(self.state, handle)
        os.replace(tmp, self.data / "state.json")

    def blob_path(self, sha256: str) -> Path:
        """The blob of this SHA-256; any other name (``../x``, ``/etc/passwd``) is an HTTP 400."""
        return self.data / "blobs" / sha256_oid(sha256)

    def has_blob(self, sha256: str) -> bool:
        return self.blob_path(sha256).is_file()

    def stage_stream(self, stream, length: int) -> StagedBlob:
        """Write ``length`` bytes of ``stream`` to a temporary blob, hashing as they arrive."""
        fd, tmp = tempfile.mkstemp(dir=self.data / "blobs", prefix=".upload.")
        digest, left = hashlib.sha256(), length
        with os.fdopen(fd, "wb") as out:
            while left > 0:
                chunk = stream.read(min(left, 1 << 20))
                if not chunk:
                    break
                digest.update(chunk)
                out.write(chunk)
                left -= len(chunk)
        return StagedBlob(Path(tmp), digest.hexdigest(), length - left)

    def stage_bytes(self, data: bytes) -> StagedBlob:
        fd, tmp = tempfile.mkstemp(dir=self.data / "blobs", prefix=".upload.")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        return StagedBlob(Path(tmp), hashlib.sha256(data).hexdigest(), len(data))

    def commit_staged(self, staged: StagedBlob) -> None:
        if self.has_blob(staged.sha256):
            staged.path.unlink(missing_ok=True)
        else:
            os.replace(staged.path, self.blob_path(staged.sha256))

    def store_blob(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        if not self.has_blob(sha):
            self.blob_path(sha).write_bytes(data)
        return sha

    def repo(self, repo_id: str) -> dict:
        repo = self.state["repos"].get(repo_id)
        if repo is None:
            raise HubError(404, f"Repository {repo_id} not found", "RepoNotFound")
        return repo

    def resolve(self, repo_id: str, revision: str) -> str:
        repo = self.repo(repo_id)
        if revision in repo["branches"]:
            return repo["branches"][revision]
        if revision in repo["tags"]:
            return repo["tags"][revision]
        if revision in self.state["commits"] and revision in repo["history"]:
            return revision
        raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")

    def files(self, commit: str) -> dict[str, dict]:
        return self.state["commits"][commit]["files"] if commit != ZERO_COMMIT else {}

    def commit(self, repo_id: str, branch: str, summary: str, changes: dict[str, dict | None], parent: str | None):
        repo = self.repo(repo_id)
        head = repo["branches"].get(branch)
        if head is None:
            raise HubError(404, f"Invalid rev id: {branch}", "RevisionNotFound")
        if parent is not None and parent != head:
            raise HubError(412, "A commit has happened since. Please refresh and try again.")
        files = dict(self.files(head))
        for path, entry in changes.items():
            if entry is None:
                if path not in files and not any(p.startswith(path.rstrip("/") + "/") for p in files):
                    raise HubError(404, "A file with this name doesn't exist", "EntryNotFound")
                files = {p: e for p, e in files.items() if p != path and not p.startswith(path.rstrip("/") + "/")}
            else:
                files[path] = entry
        body = json.dumps({"parent": head, "summary": summary, "files": files, "t": time.time_ns()}, sort_keys=True)
        oid = hashlib.sha1(body.encode()).hexdigest()
        self.state["commits"][oid] = {"parent": head, "summary": summary, "files": files}
        repo["branches"][branch] = oid
        repo["history"].append(oid)
        self.stats["commits"] += 1
        self.save()
        return oid


def _load_state(path: Path) -> dict:
    """The persisted repos and commits; a file that is not the emulator's state is a ValueError."""
    if not path.is_file():
        return {"repos": {}, "commits": {}}
    try:
        state = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not the emulator's state ({exc})") from None
    if not isinstance(state, dict) or not all(isinstance(state.get(k), dict) for k in ("repos", "commits")):
        raise ValueError(f"{path}: not the emulator's state (no repos and commits)")
    return state


def entry_for(data: bytes, lfs: bool) -> dict:
    return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "lfs": lfs, "git": git_blob_sha1(data)}


def entry_for_lfs(sha256: str, size: int, xet: str | None = None) -> dict:
    """An LFS (or Xet-backed) file: its git id is that of its pointer file, as on the Hub."""
    pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()
    entry = {"sha256": sha256_oid(sha256), "size": size, "lfs": True, "git": git_blob_sha1(pointer)}
    if xet:
        entry["xet"] = xet_hash(xet)
    return entry


def file_json(path: str, entry: dict) -> dict:
    """A tree / paths-info entry, shaped like the Hub's."""
    out = {"type": "file", "path": path, "size": entry["size"], "oid": entry["git"]}
    if entry["lfs"]:
        out["lfs"] = {"oid": entry["sha256"], "size": entry["size"], "pointerSize": 134}
    if entry.get("xet"):
        out["xetHash"] = entry["xet"]
    return out


def tree_entries(files: dict[str, dict], path: str, recursive: bool) -> list[dict]:
    """``/tree`` listing under ``path``: folders first seen, then files, like the Hub."""
    prefix = (path.strip("/") + "/") if path.strip("/") else ""
    out, folders = [], set()
    for name, entry in sorted(files.items()):
        if not name.startswith(prefix):
            continue
        parts = name[len(prefix) :].split("/")
        for depth in range(1, len(parts)):
            folder = prefix + "/".join(parts[:depth])
            if (recursive or depth == 1) and folder not in folders:
                folders.add(folder)
                out.append({"type": "directory", "path": folder, "oid": ZERO_COMMIT, "size": 0})
        if recursive or len(parts) == 1:
            out.append(file_json(name, entry))
    return out


def model_info(repo_id: str, commit: str, private: bool, files: dict[str, dict]) -> dict:
    """``/api/models/{repo}[/revision/{rev}]``: repo info with siblings (LFS sha256 and size)."""
    siblings = []
    for path, entry in sorted(files.items()):
        sibling = {"rfilename": path, "size": entry["size"], "blobId": entry["git"]}
        if entry["lfs"]:
            sibling["lfs"] = {"sha256": entry["sha256"], "size": entry["size"], "pointerSize": 134}
        siblings.append(sibling)
    return {
        "id": repo_id,
        "modelId": repo_id,
        "sha": commit,
        "private": private,
        "tags": [],
        "siblings": siblings,
        "lastModified": "2026-11-25T00:00:00.000Z",
        "disabled": False,
        "gated": False,
        "downloads": 0,
        "likes": 0,
    }
