"""Reading outside input without being fooled, hung or exhausted.

Model directories, locks and manifests come from strangers (a release PR, a download).  Three
rules hold everywhere tinyrel reads them:

- only regular files are opened, and opened so that a FIFO cannot block the open (``O_NONBLOCK``)
  and a device is recognised before a byte is read (``fstat``);
- a symlink may point only inside the directory being read (or, for a Hugging Face cache
  snapshot, into that repository's ``blobs/``, and from there into the cache's shared Xet blob
  store ``<cache>/blobs/<xx>/<xet hash>``): a link to ``/etc/passwd`` is never followed;
- small structured files (JSON, TOML) are size-capped before they are parsed, and paths recorded
  in them must be relative, normalised and inside their root.
"""

from __future__ import annotations

import os
import posixpath
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from tinyrel.findings import TinyrelError

_BAD_PATH_CHARS = re.compile(r"[\x00-\x1f\x7f\\]")


class SpecialFileError(OSError):
    """The path is not a regular file (a FIFO, device, socket or directory)."""


def checked_relpath(value: object) -> str:
    """A path recorded in a manifest or lock: relative, normalised POSIX, no ``..``, no controls."""
    if not isinstance(value, str) or not value:
        raise ValueError("a file path must be a non-empty string")
    if _BAD_PATH_CHARS.search(value):
        raise ValueError(f"file path {value!r} holds control characters or backslashes")
    if value.startswith("/") or posixpath.normpath(value) != value or ".." in value.split("/") or value == ".":
        raise ValueError(f"file path {value!r} must be relative, normalised and inside the model directory")
    return value


def open_regular(path: Path | str) -> int:
    """Open ``path`` read-only; raise ``SpecialFileError`` unless it is a regular file.

    ``O_NONBLOCK`` makes opening a FIFO return at once instead of waiting for a writer.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise SpecialFileError(f"{path} is not a regular file")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_bytes_capped(path: Path, cap: int) -> bytes:
    fd = open_regular(path)
    try:
        size = os.fstat(fd).st_size
        if size > cap:
            raise TinyrelError("input/too-large", f"{size:,} bytes, more than the {cap:,} allowed", path=str(path))
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(cap + 1)
    finally:
        os.close(fd)
    if len(data) > cap:
        raise TinyrelError("input/too-large", f"more than the {cap:,} bytes allowed", path=str(path))
    return data


def read_small(path: Path, cap: int) -> str:
    """A small text file (JSON, TOML) read through ``open_regular``, refused above ``cap`` bytes."""
    return read_bytes_capped(path, cap).decode("utf-8")


@dataclass
class Tree:
    """Regular files under a root (relative POSIX paths, sorted) and what was refused, and why."""

    files: list[str] = field(default_factory=list)
    refused: list[tuple[str, str, str]] = field(default_factory=list)  # (rel, code, message)


def cache_blobs_dir(root: Path) -> Path | None:
    """``.../models--org--name/blobs`` when ``root`` is a snapshot inside a Hugging Face cache."""
    resolved = root.resolve()
    if resolved.parent.name == "snapshots" and resolved.parent.parent.name.startswith(
        ("models--", "datasets--", "spaces--")
    ):
        return resolved.parent.parent / "blobs"
    return None


# huggingface_hub >= 2.4 (its module utils/_shared_blobs.py): Xet downloads live once per cache
# in ``<cache>/blobs/<first two hex digits>/<xet hash>``, a directory marked by this file holding
# the layout version; each repository's ``blobs/<etag>`` is a relative symlink to its entry.
SHARED_BLOBS_MARKER = ".huggingface-shared-blobs"
_XET_HASH = re.compile(r"^[0-9a-f]{64}$")


def shared_blob_store(blobs: Path) -> Path | None:
    """The cache-wide shared blob store next to a repository's ``blobs/``, if huggingface_hub made one."""
    store = blobs.parent.parent / "blobs"
    marker = store / SHARED_BLOBS_MARKER
    try:
        if stat.S_ISDIR(os.lstat(store).st_mode) and stat.S_ISREG(os.lstat(marker).st_mode):
            return store if read_bytes_capped(marker, 64) == b"1\n" else None
    except OSError:
        return None
    return None


def repo_blob(link: Path, blobs: Path) -> Path | None:
    """The repository blob ``blobs/<etag>`` that the snapshot entry ``link`` points at (its first
    hop, not wherever a chain of links ends), or ``None`` when it points anywhere else."""
    try:
        first = link.parent.resolve() / os.readlink(link)
    except OSError:
        return None
    name = first.name
    if name in ("", ".", "..") or first.parent.resolve() != blobs:
        return None
    return blobs / name


def _in_shared_store(link: Path, target: Path, blobs: Path, store: Path | None) -> bool:
    """``link`` -> ``blobs/<etag>`` -> ``<store>/<xx>/<xet hash>``, exactly as huggingface_hub lays
    out a Xet download: two hops, the second into the marked store under its own hash, nothing else."""
    if store is None or not _XET_HASH.match(target.name) or target.parent != store / target.name[:2]:
        return False
    blob = repo_blob(link, blobs)
    if blob is None or not blob.is_symlink():
        return False
    try:
        second = blob.parent / os.readlink(blob)
    except OSError:
        return False
    return second.parent.resolve() / second.name == target and not second.is_symlink()


def walk_tree(root: Path, *, skip_hidden: bool = False, ignore=None) -> Tree:
    """Every regular file under ``root`` without following a link out of it or opening anything.

    Links to files inside ``root`` (or, for a snapshot, inside the cache repository's ``blobs/``
    or, through it, in the cache's shared Xet blob store) are followed; links elsewhere, broken
    links, FIFOs, devices and sockets are refused.
    ``ignore(rel)`` prunes paths (and whole directories) before they are looked at.
    """
    tree = Tree()
    base = root.resolve()
    blobs = cache_blobs_dir(root)
    store = shared_blob_store(blobs) if blobs is not None else None
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        rel_dir = Path(dirpath).relative_to(root)
        keep = []
        for d in sorted(dirnames):
            rel = (rel_dir / d).as_posix()
            if (skip_hidden and d.startswith(".")) or (ignore and ignore(rel)):
                continue
            if (Path(dirpath) / d).is_symlink():
                tree.refused.append((rel, "hygiene/symlink-dir", f"{rel} is a symlink to a directory; not followed"))
                continue
            keep.append(d)
        dirnames[:] = keep
        for name in sorted(filenames):
            rel = (rel_dir / name).as_posix()
            if (skip_hidden and name.startswith(".")) or (ignore and ignore(rel)):
                continue
            path = Path(dirpath) / name
            problem = _refusal(path, rel, base, blobs, store)
            if problem:
                tree.refused.append((rel, *problem))
            else:
                tree.files.append(rel)
    tree.files.sort()
    return tree


def _refusal(path: Path, rel: str, base: Path, blobs: Path | None, store: Path | None) -> tuple[str, str] | None:
    try:
        link = path.is_symlink()
        if link:
            target = path.resolve()
            inside = target.is_relative_to(base) or (
                blobs is not None and (target.is_relative_to(blobs) or _in_shared_store(path, target, blobs, store))
            )
            if not inside:
                return "hygiene/symlink-escape", f"{rel} links outside the model directory; not followed"
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "hygiene/broken-link", f"{rel} is a broken link"
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop
        return "hygiene/unreadable", f"{rel} cannot be inspected: {exc}"
    if stat.S_ISREG(mode):
        return None
    return "hygiene/special-file", f"{rel} is not a regular file (FIFO, device or socket); never opened"
