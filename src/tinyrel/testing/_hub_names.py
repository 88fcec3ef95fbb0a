"""Checks of every client-supplied name the local Hub emulator stores or serves.

Repo ids, revisions, file paths in commits and URLs, LFS oids and Xet hashes all arrive from the
network.  Blob oids become file names under the data directory, and file paths end up on the
disks of the clients that download them, so a name that is not exactly what the Hub allows is an
HTTP 400 (the Hub's JSON error shape) before it reaches the store: never a file outside the data
directory, never a stored path a client could be tricked into writing outside its own.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from tinyrel.testing._hub_http import HubError

_HEX64 = re.compile(r"[0-9a-f]{64}")
# huggingface_hub's own rule (utils/_validators.py, after the Hub's): ASCII letters, digits, "_.-",
# each part starting and ending with a letter, digit or "_", at most 96 characters.
_REPO_PART = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?")
# A git ref name, narrowed to the characters a release tag or branch uses.
_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+/-]{0,254}")
MAX_PATH_BYTES = 1024
MAX_NAME_BYTES = 255  # NAME_MAX: a longer file name cannot be written by the client that pulls it
FORBIDDEN_FOLDERS = (b".git", b".cache")  # refused by huggingface_hub and the Hub alike


def _bad(what: str, value: object) -> HubError:
    return HubError(400, f"Invalid {what}: {str(value)[:200]!r}")


def sha256_oid(value: object) -> str:
    """An LFS oid: 64 lowercase hex digits, the name of a blob file."""
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise _bad("LFS oid (64 lowercase hex digits expected)", value)
    return value


def xet_hash(value: object) -> str:
    """A Xet file hash as hf_xet prints it: 64 lowercase hex digits."""
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise _bad("Xet hash (64 lowercase hex digits expected)", value)
    return value


def repo_id(value: object) -> str:
    """``name`` or ``namespace/name``, as huggingface_hub and the Hub accept them."""
    parts = value.split("/") if isinstance(value, str) else []
    if (
        not 1 <= len(parts) <= 2
        or not all(_REPO_PART.fullmatch(part) for part in parts)
        or "--" in value
        or ".." in value
        or value.endswith(".git")
    ):
        raise _bad("repo id", value)
    return value


def revision(value: object) -> str:
    """A branch, tag or commit id: a git ref name (no ``..``, ``//``, ``.lock``, hidden parts)."""
    if (
        not isinstance(value, str)
        or not _REF.fullmatch(value)
        or any(bad in value for bad in ("..", "//", "/.", ".lock/"))
        or value.endswith(("/", ".", ".lock"))
    ):
        raise _bad("revision", value)
    return value


def file_path(value: object, folder: bool = False) -> str:
    """A file's path in a repo: relative, normalised, printable, of a length every disk can hold.

    ``folder`` accepts the one trailing ``/`` of a deleted folder."""
    path = value[:-1] if folder and isinstance(value, str) and value.endswith("/") else value
    try:
        parts = [part.encode("utf-8") for part in path.split("/")]  # lone surrogates cannot be file names
    except (AttributeError, UnicodeEncodeError):
        raise _bad("path", value) from None
    if (
        not path
        or len(path.encode()) > MAX_PATH_BYTES
        or any(ord(c) < 0x20 or c in "\x7f\\" for c in path)
        or any(part in (b"", b".", b"..", *FORBIDDEN_FOLDERS) or len(part) > MAX_NAME_BYTES for part in parts)
    ):
        raise _bad("path", value)
    return value


def size(value: object) -> int:
    if type(value) is not int or value < 0:
        raise _bad("size", value)
    return value


_ROUTE_ARGS = {
    "repo": repo_id,
    "rev": lambda raw: revision(unquote(raw)),
    "path": lambda raw: file_path(unquote(raw), folder=True) if raw else raw,
    "oid": sha256_oid,
    "kind": str,
}


def route_args(match: re.Match) -> list:
    """The groups of a route's match, each checked (and percent-decoded) by its group name."""
    return [_ROUTE_ARGS[name](match.group(name)) for name in sorted(match.re.groupindex, key=match.re.groupindex.get)]
