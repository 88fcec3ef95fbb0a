"""Editing a release workspace the way an author does: its spec, by exact text."""

from __future__ import annotations

from pathlib import Path

NAME = "qwen3-4b-fileops"  # the example workspace's release


def spec_path(ws: Path, name: str = NAME) -> Path:
    return ws / "release" / f"{name}.toml"


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    """Replace ``old`` (which must be there) by ``new`` in ``path``."""
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, count))
