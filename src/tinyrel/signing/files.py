"""Which files a model signature covers, and their digests — with OMS (model_signing) semantics.

The OpenSSF Model Signing format signs every regular file under the model root except ignored
paths (git metadata always; the signature itself; whatever the signer recorded).  tinyrel uses the
same rules so that ``python -m model_signing verify`` and ``tinyrel verify`` agree on what a release
is.  Digests are SHA-256 per file ("files" serialization), computed on all cores through the same
windowed reader as validation — or taken from a manifest the gate has just verified.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath

from tinyrel.findings import Report, TinyrelError
from tinyrel.release_files import HF_LOCAL_DIR_STATE  # noqa: F401 - re-exported for the signers' rules
from tinyrel.safe_io import walk_tree

# model_signing ignores these in every model directory (hashing.Config.hash, ignore_git_paths=True).
GIT_PATHS = (".git", ".gitattributes", ".github", ".gitignore")


def is_ignored(rel: str, ignore: Iterable[str]) -> bool:
    """``rel`` is ignored when it equals an ignore path or lies below it (model_signing's rule)."""
    path = PurePosixPath(rel)
    for item in ignore:
        item = item.strip("/")
        if item in ("", "."):
            continue
        if path == PurePosixPath(item) or PurePosixPath(item) in path.parents:
            return True
    return False


def absolute(path: Path) -> Path:
    """Absolute and normalised, without following links (an HF snapshot's files are links)."""
    return Path(os.path.normpath(os.path.abspath(path)))


def relative_ignores(root: Path, paths: Iterable[str | Path]) -> list[str]:
    """Ignore paths given on the command line (absolute or relative to the cwd) or already relative
    to the model root, as POSIX paths relative to ``root``; paths outside it are dropped."""
    out: list[str] = []
    base = absolute(root)
    for raw in paths:
        candidate = Path(raw)
        options = [candidate] if candidate.is_absolute() else [Path.cwd() / candidate, base / candidate]
        for option in options:
            try:
                rel = absolute(option).relative_to(base).as_posix()
            except ValueError:
                continue
            if rel != ".":
                out.append(rel)
                break
    return sorted(set(out))


def signed_files(root: Path, ignore: Iterable[str], report: Report | None = None) -> list[str]:
    """Regular files under ``root`` (in-tree links followed, as in an HF cache snapshot), relative
    POSIX paths, sorted; a single-file model is the one entry ``"."``.

    Links out of ``root``, FIFOs, devices and sockets are never opened nor signed: each is an error
    in ``report``, or the first one is raised when no report is given.
    """
    ignore = list(ignore)
    if root.is_file():
        return ["."]
    if not root.is_dir():
        raise TinyrelError("verify/target-missing", "not a file or directory", usage=True, path=str(root))
    tree = walk_tree(root, ignore=lambda rel: is_ignored(rel, ignore))
    for rel, code, message in tree.refused:
        if report is None:
            raise TinyrelError(code, message, path=rel)
        report.error(code, message, rel)
    return tree.files


def sha256_digests(
    root: Path, files: list[str], known: Mapping[str, str] | None = None, progress: bool = True
) -> dict[str, str]:
    """SHA-256 of each file, on all cores; entries in ``known`` are trusted and not re-read."""
    from tinyrel.progress import byte_progress
    from tinyrel.weights.scan import run_scan

    known = dict(known or {})
    paths = {rel: (root if rel == "." else root / rel) for rel in files}
    todo = [(rel, paths[rel]) for rel in files if rel not in known]
    total = sum(path.stat().st_size for _, path in todo)
    with byte_progress("hashing files", total, enabled=progress) as advance:
        scan = run_scan([], todo, advance)
    return {rel: known.get(rel) or scan.file_sha256[rel] for rel in files}
