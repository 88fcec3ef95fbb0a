"""The one way tinyrel reaches the Hub: huggingface_hub's client, configured at call time.

huggingface_hub reads ``HF_ENDPOINT`` once, at import; tinyrel reads it whenever it talks to the
Hub, so a process (or a test) that points it elsewhere later is honoured everywhere alike.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from tinyrel.findings import TinyrelError


def endpoint() -> str | None:
    return os.environ.get("HF_ENDPOINT")


def configure() -> None:
    """Set up huggingface_hub the way tinyrel needs it, once per process: bounded requests (see
    ``tinyrel.hub.guard``) and no progress bars of its own — tinyrel shows one display for
    hashing, upload and download on a terminal, and none at all off a terminal (CI logs)."""
    global _configured
    if _configured:
        return
    _configured = True
    from huggingface_hub.utils import disable_progress_bars, logging

    from tinyrel.hub.guard import install

    install()
    disable_progress_bars()
    logging.set_verbosity_error()  # its retry chatter is not tinyrel's one-line error


_configured = False


def uses_xet() -> bool:
    """Whether huggingface_hub moves file data through Xet (``hf_xet``) rather than HTTP, by the
    same rule it applies: hf_xet installed and ``HF_HUB_DISABLE_XET`` not set."""
    from importlib.util import find_spec

    from huggingface_hub import constants

    return not constants.HF_HUB_DISABLE_XET and find_spec("hf_xet") is not None


def hub_api(token: str | bool | None = None) -> Any:
    from huggingface_hub import HfApi

    configure()
    return HfApi(endpoint=endpoint(), token=token)


def download(
    repo_id: str,
    filename: str,
    revision: str | None,
    token: str | bool | None = None,
    *,
    local_dir: Path | None = None,
    expected_size: int | None = None,
) -> Path:
    """One file of a repo, into ``local_dir`` (a staging directory) or the local HF cache.

    ``filename`` must be a checked relative path; ``expected_size`` bounds the transfer.
    """
    from huggingface_hub import hf_hub_download

    from tinyrel.hub.guard import EXPECTED_SIZE_HEADER, FILE_HEADER, timeout_seconds
    from tinyrel.safe_io import checked_relpath

    configure()
    checked_relpath(filename)
    headers = None
    if expected_size is not None:
        headers = {EXPECTED_SIZE_HEADER: str(expected_size), FILE_HEADER: f"{repo_id}@{revision}:{filename}"}
    path = hf_hub_download(
        repo_id, filename, revision=revision, endpoint=endpoint(), token=token, local_dir=local_dir, headers=headers,
        etag_timeout=min(10.0, timeout_seconds()),
    )  # fmt: skip
    return Path(path)


def hub_ref(uri: str):
    """``hf://org/name[@rev]`` as a SourceRef; anything else is a usage error."""
    from tinyrel.sources.uri import HUB, parse_source

    ref = parse_source(uri)
    if ref.kind != HUB or ref.repo_id is None:
        raise TinyrelError("usage/hub-ref", f"{uri} is not an hf://org/name[@rev] reference", usage=True)
    return ref


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


def checked_listing(info, uri: str) -> dict[str, int | None]:
    """The repo's files at the commit, after checking every server-chosen name and the commit id."""
    from tinyrel.safe_io import checked_relpath
    from tinyrel.sources.uri import COMMIT_RE

    if not isinstance(info.sha, str) or not COMMIT_RE.match(info.sha):
        raise TinyrelError("hub/untrusted-response", f"{uri}: the Hub named an invalid commit id")
    files: dict[str, int | None] = {}
    for sibling in info.siblings or []:
        try:
            files[checked_relpath(sibling.rfilename)] = sibling.size
        except ValueError as exc:
            raise TinyrelError("hub/untrusted-response", f"{uri}: the Hub listed an unsafe file name: {exc}") from None
    return files
