"""A model directory as tinyrel sees it: its files, config, index and safetensors headers.

Also the release-hygiene rules that need only the directory listing: pickle-based weight files and
symlinks that escape the directory (Hugging Face cache snapshots, whose links point into the
repository's ``blobs/``, are allowed).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinyrel.findings import Report, TinyrelError
from tinyrel.weights.safetensors_format import SafetensorsHeader, read_header

PICKLE_SUFFIXES = {".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt"}
INDEX_NAME = "model.safetensors.index.json"


@dataclass
class ModelDir:
    root: Path
    files: list[str]
    config: dict[str, Any] | None = None
    index: dict[str, Any] | None = None
    headers: dict[str, SafetensorsHeader] = field(default_factory=dict)

    def path(self, rel: str) -> Path:
        return self.root / rel


def list_files(root: Path) -> list[str]:
    """Regular files under ``root`` (following in-tree links), relative POSIX paths, sorted.

    Hidden entries (``.cache/``, ``.git/``, dotfiles) are tool state, not part of a release.
    """
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if name.startswith("."):
                continue
            out.append((Path(dirpath) / name).relative_to(root).as_posix())
    return sorted(out)


def _cache_repo_root(root: Path) -> Path | None:
    """``.../models--org--name`` when ``root`` is a snapshot inside a Hugging Face cache."""
    resolved = root.resolve()
    if resolved.parent.name == "snapshots" and resolved.parent.parent.name.startswith(
        ("models--", "datasets--", "spaces--")
    ):
        return resolved.parent.parent
    return None


def check_hygiene(root: Path, files: list[str], report: Report) -> None:
    """Pickle files and escaping symlinks are errors."""
    base = root.resolve()
    cache_repo = _cache_repo_root(root)
    for rel in files:
        path = root / rel
        if path.suffix.lower() in PICKLE_SUFFIXES:
            report.error(
                "hygiene/pickle-file",
                f"{rel} is a pickle-based format that can run code on load; ship safetensors",
                rel,
            )
        if path.is_symlink():
            target = path.resolve()
            inside = target.is_relative_to(base) or (
                cache_repo is not None and target.is_relative_to(cache_repo / "blobs")
            )
            if not inside:
                report.error("hygiene/symlink-escape", f"{rel} links outside the model directory to {target}", rel)


def _load_json(path: Path, rel: str, report: Report, code: str) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        report.error(code, f"{rel} does not parse as JSON: {exc}", rel)
        return None
    if not isinstance(value, dict):
        report.error(code, f"{rel} is not a JSON object", rel)
        return None
    return value


def open_model_dir(root: Path, report: Report) -> ModelDir:
    """List, hygiene-check and parse everything that needs no data read."""
    if not root.exists():
        raise TinyrelError("path/not-found", f"{root} does not exist", usage=True)
    if not root.is_dir():
        raise TinyrelError("path/not-a-directory", f"{root} is not a directory", usage=True)
    files = list_files(root)
    model = ModelDir(root, files)
    check_hygiene(root, files, report)
    if "config.json" in files:
        model.config = _load_json(root / "config.json", "config.json", report, "config/invalid")
    else:
        report.error("config/missing", "config.json is missing", "config.json")
    if INDEX_NAME in files:
        model.index = _load_json(root / INDEX_NAME, INDEX_NAME, report, "index/invalid")
    shards = [f for f in files if f.endswith(".safetensors")]
    if not shards:
        report.error("weights/no-safetensors", "no *.safetensors files in the directory")
    for rel in shards:
        header = read_header(root / rel, rel, report)
        if header is not None:
            model.headers[rel] = header
    return model
