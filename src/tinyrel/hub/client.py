"""The one way tinyrel reaches the Hub: huggingface_hub's client, inside the call's ``HubSession``.

huggingface_hub reads ``HF_ENDPOINT`` once, at import; tinyrel reads it whenever it talks to the
Hub, so a process (or a test) that points it elsewhere later is honoured everywhere alike.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinyrel.findings import TinyrelError

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
log = logging.getLogger(__name__)


def endpoint() -> str | None:
    return os.environ.get("HF_ENDPOINT")


def uses_xet() -> bool:
    """Whether huggingface_hub moves file data through Xet (``hf_xet``) rather than HTTP, by the
    same rule it applies: hf_xet installed and ``HF_HUB_DISABLE_XET`` not set."""
    from importlib.util import find_spec

    from huggingface_hub import constants

    return not constants.HF_HUB_DISABLE_XET and find_spec("hf_xet") is not None


def hub_api(token: str | bool | None = None) -> Any:
    """huggingface_hub's ``HfApi`` for the running call (its ``HubSession`` installs tinyrel's
    bounded client first)."""
    from huggingface_hub import HfApi

    from tinyrel.hub.session import current

    current().bounds()
    return HfApi(endpoint=endpoint(), token=token)


@dataclass(frozen=True)
class Downloaded:
    """A file fetched from the Hub: where it landed, and its SHA-256 when the transport hashed the
    very body that was written (``None``: the caller hashes the file, e.g. one hf_xet wrote)."""

    path: Path
    sha256: str | None


def download(
    repo_id: str,
    filename: str,
    revision: str | None,
    token: str | bool | None = None,
    *,
    local_dir: Path | None = None,
    expected_size: int | None = None,
    advance: Callable[[int], None] | None = None,
    hash_in_flight: bool = True,
) -> Downloaded:
    """One file of a repo, into ``local_dir`` (a staging directory) or the local HF cache.

    ``filename`` must be a checked relative path; ``expected_size`` bounds every body of the
    transfer (redirects included); ``advance`` receives the byte counts of the file's body;
    ``hash_in_flight=False`` skips the SHA-256 of the body (the caller verifies the file otherwise).
    """
    from huggingface_hub import hf_hub_download

    from tinyrel.hub.guard import DownloadCapture, capturing
    from tinyrel.hub.session import current
    from tinyrel.safe_io import checked_relpath

    bounds = current().bounds()
    checked_relpath(filename)
    capture = DownloadCapture(expected_size, advance, hash_bodies=hash_in_flight, file_size=expected_size)
    with capturing(capture):
        path = Path(hf_hub_download(
            repo_id, filename, revision=revision, endpoint=endpoint(), token=token, local_dir=local_dir,
            etag_timeout=min(10.0, bounds.seconds),
        ))  # fmt: skip
    digest = capture.written_sha256(path)
    log.debug("%s: %s", filename, "SHA-256 taken from the body as it was written" if digest else
              "no single plain body was written (Xet, a retry, an encoding): to be hashed on disk")  # fmt: skip
    return Downloaded(path, digest)


def git_blob_sha1(data: bytes) -> str:
    """Git's blob id: what the Hub reports (and its cache names blobs by) for non-LFS files."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def git_blob_sha1_file(path: Path) -> str:
    """``git_blob_sha1`` of a file, streamed."""
    digest = hashlib.sha1(f"blob {path.stat().st_size}\0".encode(), usedforsecurity=False)
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


MAX_NAME_BYTES = 255  # one path component, as every common file system allows
MAX_PATH_BYTES = 1024


@dataclass(frozen=True)
class RemoteFile:
    """One file of a Hub listing: its declared size and, for LFS/Xet files, the SHA-256 the Hub
    states (``None`` for small git-stored files, whose bytes must be fetched to be hashed)."""

    size: int | None
    lfs_sha256: str | None = None


def checked_name(name: object, uri: str) -> str:
    """A server-chosen file name, safe to create under a staging directory — or ``hub/untrusted-response``."""
    from tinyrel.safe_io import checked_relpath
    from tinyrel.signing.files import HF_LOCAL_DIR_STATE, is_ignored

    try:
        rel = checked_relpath(name)
    except ValueError as exc:
        raise TinyrelError("hub/untrusted-response", f"{uri}: the Hub listed an unsafe file name: {exc}") from None
    raw = rel.encode("utf-8", "surrogateescape")
    if len(raw) > MAX_PATH_BYTES or any(len(part) > MAX_NAME_BYTES for part in raw.split(b"/")):
        raise TinyrelError("hub/untrusted-response", f"{uri}: the Hub listed a file name longer than a file system "
                           f"allows ({len(raw):,} bytes: {rel[:60]!r}…)")  # fmt: skip
    if is_ignored(rel, [HF_LOCAL_DIR_STATE]):  # huggingface_hub keeps its download state there
        raise TinyrelError("hub/untrusted-response", f"{uri}: the Hub listed {rel!r}, inside huggingface_hub's own "
                           "download state; refusing it")  # fmt: skip
    return rel


def checked_listing(info, uri: str) -> dict[str, RemoteFile]:
    """The repo's files at the commit, after checking every server-chosen name, size, LFS digest
    and the commit id."""
    if not isinstance(info.sha, str) or not _COMMIT.match(info.sha):
        raise TinyrelError("hub/untrusted-response", f"{uri}: the Hub named an invalid commit id")
    files: dict[str, RemoteFile] = {}
    for sibling in info.siblings or []:
        rel = checked_name(sibling.rfilename, uri)
        size = sibling.size
        if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
            raise TinyrelError("hub/untrusted-response", f"{uri}: the Hub declared an invalid size for {rel!r}")
        lfs = getattr(sibling, "lfs", None)
        sha256 = getattr(lfs, "sha256", None) if lfs is not None else None
        if sha256 is not None and not (isinstance(sha256, str) and _SHA256.match(sha256)):
            raise TinyrelError("hub/untrusted-response", f"{uri}: the Hub declared an invalid SHA-256 for {rel!r}")
        if rel in files:
            raise TinyrelError("hub/untrusted-response", f"{uri}: the Hub listed {rel!r} twice")
        files[rel] = RemoteFile(size, sha256)
    return files
