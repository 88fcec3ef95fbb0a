"""Undo an interrupted ``init``: remove exactly what this run created, restore what it changed.

``init`` writes several files (spec, manifest, lock entry, CHANGELOG, …), each atomically; a failure
or a Ctrl-C between two of them would leave a half workspace that the next ``init`` refuses
(``init/exists``), and an ``--dir`` it created would stay behind, empty.  Every path is registered
before it is written; on any exception (``KeyboardInterrupt`` included) the files this run created are
removed, a lock it merged into gets its previous bytes back, and the directories it created are
removed if they are empty.  Nothing that existed before the run is touched.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class Undo:
    """What this run created (files, directories, whole trees) and what it will overwrite."""

    def __init__(self) -> None:
        self.files: list[Path] = []
        self.trees: list[Path] = []
        self.dirs: list[Path] = []
        self.previous: dict[Path, bytes] = {}

    def directory(self, path: Path) -> None:
        """``path`` and each missing parent will be created by this run."""
        missing = []
        for candidate in (path, *path.parents):
            if os.path.lexists(candidate):
                break
            missing.append(candidate)
        self.dirs.extend(p for p in missing if p not in self.dirs)

    def file(self, path: Path) -> None:
        """``path`` is about to be written: removed on undo if new, else given its bytes back."""
        if os.path.lexists(path):
            if path not in self.previous:
                self.previous[path] = path.read_bytes()
            return
        self.directory(path.parent)
        self.files.append(path)

    def tree(self, path: Path) -> None:
        """``path`` (absent now) will be a whole tree this run writes."""
        if not os.path.lexists(path):
            self.directory(path.parent)
            self.trees.append(path)

    def rollback(self) -> None:
        from tinyrel.atomic import write_bytes_atomic

        for path in reversed(self.files):
            if path.is_file() and not path.is_symlink():
                path.unlink()
        for path in reversed(self.trees):
            shutil.rmtree(path, ignore_errors=True)
        for path, data in self.previous.items():
            if path.is_file() and path.read_bytes() != data:
                write_bytes_atomic(path, data)
        for path in sorted(self.dirs, key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):  # only if empty: never a file this run did not write
                path.rmdir()


@contextmanager
def undo_on_failure() -> Iterator[Undo]:
    undo = Undo()
    try:
        yield undo
    except BaseException:
        undo.rollback()
        raise
