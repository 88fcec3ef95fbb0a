"""Resolve a source reference to a concrete, pinned file set.

Local directories are hashed; cache snapshots are hashed *and* their blobs are checked against
the names the cache gave them (SHA-256 for LFS blobs, git SHA-1 for small files), which catches a
corrupted cache; Hub references are resolved to a commit through huggingface_hub without
downloading weights (sizes and LFS SHA-256 come from the API); OCI references to a manifest
digest through tinyrel.oci, from the manifest alone.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinyrel.findings import Report, TinyrelError
from tinyrel.hub.client import git_blob_sha1_file
from tinyrel.safe_io import cache_blobs_dir, read_small, repo_blob
from tinyrel.sources.uri import (
    COMMIT_RE,
    HUB,
    LOCAL_CACHE,
    SourceRef,
    cache_repo_dir,
    cache_uri,
    portable_path,
)
from tinyrel.weights.model_dir import list_files
from tinyrel.weights.scan import run_scan

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class LockedSource:
    """One ``[[sources]]`` entry of the lock."""

    name: str
    uri: str
    kind: str
    files: list[dict[str, Any]]
    revision: str | None = None
    durable: bool = False
    public: bool | None = None
    evidence: list[dict[str, Any]] = field(default_factory=list)  # eval records pinned for the gate

    def to_toml(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "uri": self.uri, "kind": self.kind}
        if self.revision:
            out["revision"] = self.revision
        out["durable"] = self.durable
        if self.public is not None:
            out["public"] = self.public
        out["files"] = sorted(self.files, key=lambda f: f["path"])
        if self.evidence:
            out["evidence"] = sorted(self.evidence, key=lambda f: f["path"])
        return out


def _hash_dir(root: Path, report: Report) -> dict[str, dict[str, Any]]:
    """Every regular file's size and SHA-256; links out of ``root`` and special files are errors."""
    from tinyrel.progress import byte_progress

    files = list_files(root, report)
    total = sum((root / rel).stat().st_size for rel in files)
    with byte_progress("hashing files", total) as advance:  # a bar on a terminal: gigabytes take a while
        scan = run_scan([], [(rel, root / rel) for rel in files], advance)
    return {rel: {"path": rel, "size": (root / rel).stat().st_size, "sha256": scan.file_sha256[rel]} for rel in files}


def _snapshot_dir(ref: SourceRef) -> tuple[Path, str]:
    if ref.path is not None:
        return ref.path, ref.path.name
    assert ref.repo_id is not None and ref.revision is not None
    repo_dir = cache_repo_dir(ref.repo_id)
    revision = ref.revision
    ref_file = repo_dir / "refs" / revision
    if not COMMIT_RE.match(revision) and ref_file.is_file():
        revision = read_small(ref_file, 4096).strip()
    return repo_dir / "snapshots" / revision, revision


def local_dir(ref: SourceRef) -> tuple[Path, str | None]:
    """The directory a local source points at now (and the cache revision, for snapshots)."""
    if ref.kind == LOCAL_CACHE:
        return _snapshot_dir(ref)
    assert ref.path is not None
    return ref.path, None


def local_weights_dir(source: str, base: Path) -> Path | None:
    """The directory ``source`` names on this machine (relative paths resolve against ``base``, the
    workspace, so clones work); ``None`` for a Hub source, an unusable one, or one not here."""
    from tinyrel.sources.uri import HUB, parse_source

    try:
        ref = parse_source(source, base=base)
    except TinyrelError:
        return None
    if ref.kind == HUB:
        return None
    path = local_dir(ref)[0]
    return path if path.is_dir() else None


def _check_cache_blobs(root: Path, files: dict[str, dict[str, Any]], report: Report) -> None:
    """Each snapshot file's repository blob is named by its content (``blobs/<etag>``: SHA-256 for
    LFS and Xet files, git SHA-1 for small ones), which catches a corrupted cache.  The name checked
    is the repository blob's, not the end of the link chain: a Xet download's bytes live in the
    cache's shared store under their Xet hash, which is not a digest of this kind."""
    blobs = cache_blobs_dir(root)
    if blobs is None:
        return
    for rel, entry in files.items():
        link = root / rel
        blob = repo_blob(link, blobs) if link.is_symlink() else None
        if blob is None:
            continue
        name = blob.name
        actual = entry["sha256"] if SHA256_RE.match(name) else git_blob_sha1_file(link) if len(name) == 40 else None
        if actual is not None and actual != name:
            report.error("lock/cache-blob-corrupt", f"{rel}: cache blob {name[:12]}… does not match its content", rel)


def resolve_local(ref: SourceRef, name: str, report: Report, base: Path | None = None) -> LockedSource:
    root, revision = local_dir(ref)
    if not root.is_dir():
        raise TinyrelError("source/not-found", "not a directory", usage=True, path=ref.uri)
    files = _hash_dir(root, report)
    if ref.kind == LOCAL_CACHE:
        _check_cache_blobs(root, files, report)
    uri = ref.uri
    if ref.path is not None:  # a cache snapshot in use is named by what it is, not by where it is
        uri = (cache_uri(ref.path) if ref.kind == LOCAL_CACHE else None) or portable_path(ref.path, base)
    return LockedSource(name, uri, ref.kind, list(files.values()), revision, False, False)


def resolve_hub(ref: SourceRef, name: str, report: Report, token: str | bool | None = None) -> LockedSource:
    """Pin ``hf://org/name@rev`` to a commit; LFS files need no download, small files are fetched
    (into a private staging directory, bounded by their declared size) and hashed."""
    import tempfile

    from tinyrel.hub.client import checked_listing, download, hub_api
    from tinyrel.hub.errors import hub_errors

    assert ref.repo_id is not None
    with hub_errors(ref.uri), tempfile.TemporaryDirectory(prefix="tinyrel-lock-") as scratch:
        info = hub_api(token).model_info(ref.repo_id, revision=ref.revision, files_metadata=True)
        listing = checked_listing(info, ref.uri)  # names, sizes, digests, commit id checked first
        files = []
        for rel, remote in listing.items():
            entry: dict[str, Any] = {"path": rel, "size": remote.size}
            if remote.lfs_sha256 is not None:
                entry["sha256"] = remote.lfs_sha256
            else:
                got = download(ref.repo_id, rel, info.sha, token, local_dir=Path(scratch), expected_size=remote.size)
                size = got.path.stat().st_size
                if remote.size is not None and size != remote.size:
                    report.error("hub/size-mismatch", f"the Hub declared {remote.size} bytes, {size} arrived", rel)
                entry["sha256"] = got.sha256 or file_sha256(got.path)
            files.append(entry)
    public = not bool(info.private) and not bool(getattr(info, "gated", False))
    return LockedSource(name, ref.uri, HUB, files, info.sha, bool(info.sha and COMMIT_RE.match(info.sha)), public)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def resolve(
    ref: SourceRef, name: str, report: Report, token: str | bool | None = None, base: Path | None = None
) -> LockedSource:
    if ref.kind == HUB:
        return resolve_hub(ref, name, report, token)
    if ref.kind == "oci":  # an OCI artifact, pinned by manifest digest
        from tinyrel.oci.reference import parse

        return resolve_oci(parse(ref.uri), name, report)
    return resolve_local(ref, name, report, base)


def resolve_oci(ref, name: str, report: Report, *, plain_http: bool = False) -> LockedSource:
    """Pin ``oci://HOST/PATH:TAG`` (or ``@sha256:…``) to its manifest digest — durable: a digest names
    every layer — listing its weight and weight-config layers by path, size and SHA-256 (a raw
    layer's digest is its file's), from the manifest alone; ``public``: served without credentials."""
    from tinyrel.oci.client import OciClient, anonymously_readable
    from tinyrel.oci.modelpack import WEIGHT, WEIGHT_CONFIG, read_model_manifest

    if ref.reference is None:
        raise TinyrelError("usage/oci-ref", f"{ref.uri}: name a tag (:TAG) or a manifest digest (@sha256:…)",
                           usage=True)  # fmt: skip
    fetched = OciClient(ref, plain_http=plain_http).fetch_manifest(ref.reference)
    if fetched is None:
        raise TinyrelError("source/not-found", f"{ref.uri}: no such manifest in the registry")
    manifest = read_model_manifest(fetched.body, fetched.digest, ref.uri)
    files = [{"path": layer.path, "size": layer.size, "sha256": layer.sha256}
             for layer in manifest.layers if layer.media_type in (WEIGHT, WEIGHT_CONFIG)]  # fmt: skip
    if not files:
        report.warning("lock/no-weights", f"{ref.uri} holds no weight layers (a metadata-only release?)")
    pinned = ref.at(digest=fetched.digest)
    return LockedSource(name, pinned.uri, "oci", files, fetched.digest, durable=True,
                        public=anonymously_readable(pinned, plain_http))  # fmt: skip
