"""Source references: local directories, Hugging Face cache snapshots and Hub repositories.

Accepted forms:
  ``/path/to/dir``                                   local-path
  ``.../models--org--name/snapshots/REV``            local-cache (recognised from the path)
  ``hf-cache://org/name[@rev]``                      local-cache under ``HF_HUB_CACHE``/``HF_HOME``
  ``hf://org/name[@rev]``                            hub
  ``oci://host[:port]/path(:tag|@sha256:…)``         oci
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from tinyrel.findings import TinyrelError

LOCAL_PATH, LOCAL_CACHE, HUB = "local-path", "local-cache", "hub"
OCI = "oci"  # an artifact in an OCI registry, pinned by manifest digest (resolve.resolve_oci)
COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class SourceRef:
    uri: str
    kind: str
    repo_id: str | None = None
    revision: str | None = None
    path: Path | None = None


def hub_cache_dir() -> Path:
    """The cache root huggingface_hub would use now (read at call time so tests can set env)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def is_repo_id(value: str) -> bool:
    """ORG/NAME as the Hub accepts it (huggingface_hub's own validator, not a regex of ours)."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(value)
    except HFValidationError:
        return False
    return value.count("/") == 1


def _split_repo(rest: str, uri: str) -> tuple[str, str | None]:
    repo, _, revision = rest.partition("@")
    if not is_repo_id(repo):
        raise TinyrelError("source/bad-uri", f"{uri}: expected ORG/NAME[@REVISION]", usage=True)
    return repo, revision or None


def portable_path(path: Path, base: Path | None) -> str:
    """A local path as the lock records it: relative to the workspace when inside it, ``~/…``
    under the home directory, else relative — never the absolute path of the publisher's machine."""
    full = Path(os.path.abspath(path))
    if base is not None:
        root = Path(os.path.abspath(base))
        if full == root or full.is_relative_to(root):
            return full.relative_to(root).as_posix() or "."
    home = Path(os.path.expanduser("~"))
    if home != Path("/") and full.is_relative_to(home):
        return "~/" + full.relative_to(home).as_posix()
    if base is not None:
        return Path(os.path.relpath(full, os.path.abspath(base))).as_posix()
    return full.as_posix()


def cache_repo_dir(repo_id: str) -> Path:
    return hub_cache_dir() / ("models--" + repo_id.replace("/", "--"))


def cache_uri(path: Path) -> str | None:
    """``hf-cache://ORG/NAME@COMMIT`` for a snapshot directory of the Hugging Face cache in use, else
    ``None``.  It names what the directory is without the machine's path (a lock entry or a spec
    that is published must not say where the publisher's cache is), and resolves to the same place."""
    parts = path.parts
    if len(parts) < 3 or parts[-2] != "snapshots" or not parts[-3].startswith("models--"):
        return None
    repo_id, commit = parts[-3][len("models--") :].replace("--", "/", 1), parts[-1]
    if not COMMIT_RE.match(commit) or not is_repo_id(repo_id):
        return None
    try:
        same = (cache_repo_dir(repo_id) / "snapshots" / commit).resolve() == path.resolve()
    except OSError:
        return None
    return f"hf-cache://{repo_id}@{commit}" if same else None


def parse_source(text: str, base: Path | None = None) -> SourceRef:
    """Classify ``text``; relative paths resolve against ``base`` (the workspace root)."""
    if text.startswith("hf://"):
        repo, rev = _split_repo(text[len("hf://") :], text)
        return SourceRef(text, HUB, repo, rev)
    if text.startswith("hf-cache://"):
        repo, rev = _split_repo(text[len("hf-cache://") :], text)
        return SourceRef(text, LOCAL_CACHE, repo, rev or "main")
    if text.startswith("oci://"):
        from tinyrel.oci.reference import parse

        oci = parse(text)
        return SourceRef(text, OCI, oci.repo, oci.digest or oci.tag)
    if "://" in text:
        raise TinyrelError("source/bad-uri", f"{text}: unknown scheme (use a path, hf://, hf-cache:// or oci://)",
                           usage=True)  # fmt: skip
    path = Path(text).expanduser()
    if base is not None and not path.is_absolute():
        path = base / path
    parts = path.parts
    if len(parts) >= 3 and parts[-2] == "snapshots" and parts[-3].startswith("models--"):
        repo_id = parts[-3][len("models--") :].replace("--", "/", 1)
        return SourceRef(text, LOCAL_CACHE, repo_id, parts[-1], path)
    return SourceRef(text, LOCAL_PATH, path=path)


def hub_ref(uri: str) -> SourceRef:
    """``hf://org/name[@rev]`` as a SourceRef; anything else is a usage error."""
    ref = parse_source(uri)
    if ref.kind != HUB or ref.repo_id is None:
        raise TinyrelError("usage/hub-ref", f"{uri} is not an hf://org/name[@rev] reference", usage=True)
    return ref
