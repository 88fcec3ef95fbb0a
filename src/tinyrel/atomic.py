"""Safe writes: atomic, only to regular files, honouring the umask, and never leaving debris.

A reader sees the old content or the new, never half of it.  Targets that exist and are not
regular files (devices such as ``/dev/null``, FIFOs, sockets, symlinks) are refused rather than
replaced: tinyrel never destroys what it did not write.  Temporary files and staging directories
carry the writer's pid in their name, are removed on every error path (SIGTERM is turned into
an exception so that the same clean-up runs), and a later run removes those a killed run left.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tinyrel.findings import TinyrelError

_TAG = "tinyrel"
# .<name>.<pid>.<random>.tinyrel.(tmp|staging|old)
_LEFTOVER = re.compile(rf"^\.(?P<name>.+)\.(?P<pid>\d+)\.[^.]+\.{_TAG}\.(tmp|staging|old)$")


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode a plain ``open(path, "w")`` would give: 0666 less the umask."""
    return 0o666 & ~_umask()


def dir_mode() -> int:
    return 0o777 & ~_umask()


def check_output_target(path: Path, what: str = "output") -> None:
    """Refuse a target that exists and is not a regular file (device, FIFO, socket, symlink, dir)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise TinyrelError("output/unusable", f"cannot use {what} {path}: {exc.strerror}", usage=True) from None
    if stat.S_ISLNK(info.st_mode):
        kind = "a symlink"
    elif stat.S_ISREG(info.st_mode):
        return
    elif stat.S_ISDIR(info.st_mode):
        kind = "a directory"
    else:
        kind = "a device, FIFO or socket"
    raise TinyrelError(
        "output/not-regular-file", f"{what} {path} exists and is {kind}; tinyrel writes only regular files", usage=True
    )


def replaceable_dir(out: Path, workspace_root: Path, refuse, what: str) -> tuple[Path, set[str] | None]:
    """The absolute output directory ``out`` and the names in it (``None``: it does not exist yet),
    once it is a named directory that is neither the workspace nor above it.  ``refuse(out, why)``
    makes the caller's error; the caller then judges whether the names are its own earlier output."""
    target = Path(os.path.abspath(out))
    if target.name in ("", ".", ".."):
        raise refuse(out, f"name a directory for {what}")
    root = workspace_root.resolve()
    real = target.resolve()
    if real == root or root.is_relative_to(real):
        raise refuse(out, "it is the workspace or a directory above it")
    if not os.path.lexists(target):
        return target, None
    if target.is_symlink() or not target.is_dir():
        raise refuse(out, "it exists and is not a directory")
    return target, {entry.name for entry in os.scandir(target)}


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_leftovers(directory: Path, name: str | None = None) -> list[str]:
    """Remove temporary files and staging directories that a killed tinyrel run left in ``directory``.

    Only entries named by this module (with the pid of a process that no longer runs) are touched.
    """
    removed: list[str] = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        match = _LEFTOVER.match(entry.name)
        if not match or (name is not None and match.group("name") != name):
            continue
        if _pid_alive(int(match.group("pid"))):
            continue
        with contextlib.suppress(OSError):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
            removed.append(entry.name)
    return removed


def _temp_prefix(target: Path) -> str:
    return f".{target.name}.{os.getpid()}."


def make_parents(directory: Path) -> list[Path]:
    """``directory.mkdir(parents=True, exist_ok=True)`` that says what it made: the directories this
    call created, outermost first, so that a run which fails can take them away again with
    ``remove_made_parents`` rather than leave an empty tree behind.

    Only a directory this call's own ``mkdir`` created is listed: one that appeared meanwhile
    (another process's) is not ours.  A symlink on the way is followed, never replaced, and a
    dangling one fails as ``mkdir`` fails.  If this call fails, what it made is removed again."""
    missing = []
    probe = directory
    while not os.path.lexists(probe) and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    made: list[Path] = []
    try:
        for path in reversed(missing):
            with contextlib.suppress(FileExistsError):  # made meanwhile by someone else: not ours to remove
                path.mkdir()
                made.append(path)
        directory.mkdir(parents=True, exist_ok=True)  # a no-op, or mkdir's own error (a file in the way)
    except BaseException:
        remove_made_parents(made)
        raise
    return made


def remove_made_parents(made: list[Path]) -> None:
    """Remove directories ``make_parents`` created, deepest first, each only while it is empty: an
    ``rmdir``, so a directory in which anyone (another process, or the caller's own files) put
    something meanwhile is kept, with what is in it."""
    for path in sorted(made, key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):
            os.rmdir(path)


@contextlib.contextmanager
def _parents_undone_on_failure(directory: Path) -> Iterator[None]:
    """Make ``directory`` and its missing parents; if the block fails, remove those it made (while
    empty), so that a failed write leaves no trace, not even a directory."""
    made = make_parents(directory)
    try:
        yield
    except BaseException:
        remove_made_parents(made)
        raise


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write to a temporary file beside ``path``, fsync, then rename over it (umask honoured); a
    failure leaves the old file, no temporary one, and no parent directory it had to create."""
    target = Path(path)
    check_output_target(target)
    with _parents_undone_on_failure(target.parent):
        clean_leftovers(target.parent, target.name)
        fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(target), suffix=f".{_TAG}.tmp", dir=target.parent)
        try:
            os.fchmod(fd, file_mode())
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            check_output_target(target)  # it may have changed while we wrote
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


@contextlib.contextmanager
def staged_directory(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a sibling staging directory; on success it replaces ``target`` in one rename.

    An existing ``target`` (which the caller has checked is tinyrel's own) is moved aside first and
    removed only after the new one is in place, so a failure at any point leaves either the old
    directory or the new one, never a mix, and no staging directory (nor a parent directory it
    created) behind.
    """
    final = Path(os.path.abspath(target))
    with _parents_undone_on_failure(final.parent):
        clean_leftovers(final.parent, final.name)
        stage = Path(tempfile.mkdtemp(prefix=_temp_prefix(final), suffix=f".{_TAG}.staging", dir=final.parent))
        try:
            os.chmod(stage, dir_mode())
            yield stage
            old = None
            if final.exists():
                old = Path(tempfile.mkdtemp(prefix=_temp_prefix(final), suffix=f".{_TAG}.old", dir=final.parent))
                os.rmdir(old)
                os.replace(final, old)
            os.replace(stage, final)
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def staged_new_directory(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a private (0700) staging directory beside ``target``, which must be absent or empty;
    on success the staging directory becomes ``target`` in one rename.

    Unlike ``staged_directory`` nothing is ever moved aside or removed: an empty ``target`` is
    removed with ``rmdir`` (which fails if anything appeared in it meanwhile), and the rename
    itself fails rather than replace a directory that is not empty — so a file written into the
    target during the staging is never lost; the staging is discarded instead
    (``output/target-changed``).  The result keeps an existing target's permissions (a 0700
    target stays 0700), or takes the umask's.  A failed staging also removes the parent
    directories it had to create (while empty).
    """
    final = Path(os.path.abspath(target))
    with _parents_undone_on_failure(final.parent):
        clean_leftovers(final.parent, final.name)
        try:
            mode = stat.S_IMODE(os.lstat(final).st_mode)
        except FileNotFoundError:
            mode = dir_mode()
        stage = Path(tempfile.mkdtemp(prefix=_temp_prefix(final), suffix=f".{_TAG}.staging", dir=final.parent))
        try:
            yield stage
            os.chmod(stage, mode)
            try:
                if os.path.lexists(final):
                    os.rmdir(final)
                os.rename(stage, final)
            except OSError as exc:
                raise TinyrelError("output/target-changed", f"{final} changed while tinyrel was writing it "
                                   f"({exc.strerror}); nothing in it was touched and nothing was added",
                                   path=str(final)) from None  # fmt: skip
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise


def raise_on_sigterm() -> None:
    """Turn SIGTERM into KeyboardInterrupt in the main thread, so every clean-up path runs."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    with contextlib.suppress(ValueError):  # not the main thread (e.g. embedded use)
        signal.signal(signal.SIGTERM, handler)
