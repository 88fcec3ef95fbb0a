"""A model directory as tinyrel sees it: its files, config, index and safetensors headers.

A folder's release-metadata names (mlx-lm's stub ``README.md``, a downloaded release's card,
manifest, lock, signature and records) are not weights: they are left out of the listing.

Also the release-hygiene rules that need only the directory listing: pickle-based weight files,
symlinks that escape the directory (Hugging Face cache snapshots, whose links point into the
repository's ``blobs/``, are allowed) and special files, which are never opened.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinyrel.findings import Report, TinyrelError, first_line
from tinyrel.release_files import CARD, is_release_metadata
from tinyrel.safe_io import read_small, walk_tree
from tinyrel.weights.config import config_problems
from tinyrel.weights.safetensors_format import SafetensorsHeader, read_header

PICKLE_SUFFIXES = {".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt"}
INDEX_NAME = "model.safetensors.index.json"


MAX_JSON = 16 * 1024 * 1024  # config and index files: a real one is kilobytes


@dataclass
class ModelDir:
    root: Path
    files: list[str]
    config: dict[str, Any] | None = None
    index: dict[str, Any] | None = None
    headers: dict[str, SafetensorsHeader] = field(default_factory=dict)


def list_files(root: Path, report: Report | None = None) -> list[str]:
    """Regular files under ``root`` (in-tree links followed), relative POSIX paths, sorted: the
    weights, which the manifest and the lock pin.

    Hidden entries (``.cache/``, ``.git/``, dotfiles) are tool state, not part of a release; the
    release's own file names (``README.md``, ``manifest.json``, ``model.sig``, ``evals/``… — see
    ``tinyrel.release_files``) are not weights either: every release writes its own, so mlx-lm's stub
    ``README.md`` or a downloaded release's card is left out here, in the manifest and in the lock.
    Links that leave the directory, FIFOs, devices and sockets are refused (errors in ``report``).
    """
    return _listing(root, report)[0]


def _listing(root: Path, report: Report | None) -> tuple[list[str], list[str]]:
    left_out: list[str] = []

    def release_file(rel: str) -> bool:
        if is_release_metadata(rel):
            left_out.append(rel)
            return True
        return False

    tree = walk_tree(root, skip_hidden=True, ignore=release_file)
    if report is not None:
        for rel, code, message in tree.refused:
            report.error(code, message, rel)
    elif tree.refused:
        rel, code, message = tree.refused[0]
        raise TinyrelError(code, message, path=rel)
    return tree.files, sorted(left_out)


def note_release_files(left_out: list[str], report: Report) -> None:
    """Say which files of the folder are not treated as weights, and why."""
    for rel in left_out:
        if rel == CARD:
            why = "the folder's README.md is not part of the weights: the release's card replaces it"
        else:
            why = f"{rel} is a name of the release's own files, not a weight file: the release writes its own"
        report.info("weights/release-file", f"{why} (left out of the manifest and the lock)", rel)


def check_hygiene(files: list[str], report: Report) -> None:
    """Pickle-based weight files are errors (links and special files are refused by the listing)."""
    for rel in files:
        if Path(rel).suffix.lower() in PICKLE_SUFFIXES:
            report.error(
                "hygiene/pickle-file",
                f"{rel} is a pickle-based format that can run code on load; ship safetensors",
                rel,
            )


def _load_json(path: Path, rel: str, report: Report, code: str) -> dict[str, Any] | None:
    try:
        value = json.loads(read_small(path, MAX_JSON))
    except TinyrelError as exc:
        report.error(code, f"{rel}: {exc.message}", rel)
        return None
    except json.JSONDecodeError as exc:
        report.error(code, f"{rel} does not parse as JSON: {exc.msg}", rel, exc.lineno)
        return None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        report.error(code, f"{rel} does not parse as JSON: {first_line(exc)}", rel)
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
    files, left_out = _listing(root, report)
    note_release_files(left_out, report)
    model = ModelDir(root, files)
    check_hygiene(files, report)
    if "config.json" in files:
        model.config = _load_json(root / "config.json", "config.json", report, "config/invalid")
        problems = config_problems(model.config) if model.config is not None else []
        for problem in problems:
            report.error("config/out-of-range", problem, "config.json")
        if problems:
            model.config = None  # checks that read the config would trust these values
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
