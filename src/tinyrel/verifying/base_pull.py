"""The release's closure on the consumer side: the base an adapter loads onto, fetched at its pinned
commit and checked against the pins the release signs, with the same care as the release itself.

The pins come only from a verified release: its ``tinyrel.lock`` (covered by ``model.sig``) holds
the entry ``<release>.base`` — every base file's size and SHA-256 at one commit — and its
``release.toml`` says whether the release is an adapter (``[weights] kind``).  Then, as for the
release (``tinyrel.verifying.hub``):

1. one listing of the base repo at the pinned commit: the commit id, and every pinned file's name,
   size and (for LFS/Xet files) the Hub's SHA-256 checked against the pins before a weight byte is
   fetched (``pull/base-listing``);
2. the pinned files, and only those, downloaded into a staging directory (never the shared cache),
   each transfer bounded by its pinned size;
3. every file's SHA-256 — from the transport only when it hashed the very body written, else from
   the file on disk — compared with its pin (``pull/base-changed``).

Only then does the base become visible, together with the release: in ``DIR/base`` (one rename with
the release), or in ``--base-dir`` (a second rename; if the release's own rename then fails, the
base this run placed is withdrawn).  A ``--base-dir`` that already holds files is never written: it
is checked against the pins and used if it is the pinned base (a base shared by adapters), refused
otherwise.  ``verify --base-dir`` runs the same check on a directory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tinyrel.atomic import make_parents, remove_made_parents, staged_new_directory
from tinyrel.findings import Report, TinyrelError
from tinyrel.policy.base_pin import entry_name, pinned_commit
from tinyrel.release_files import HF_LOCAL_DIR_STATE, LOCK, SPEC_SNAPSHOT, is_release_metadata
from tinyrel.sources.resolve import LockedSource

DEFAULT_DIR = "base"  # the base beside an adapter: mlx_lm.load(str(D / "base"), adapter_path=str(D))
MAX_SNAPSHOT_BYTES = 1024 * 1024


@dataclass(frozen=True)
class SignedBase:
    """What a verified release says of its base."""

    entry: LockedSource | None
    adapter: bool

    @property
    def uri(self) -> str | None:
        repo, commit = pinned_commit(self.entry)
        return f"hf://{repo}@{commit}" if repo and commit else None


def signed_base(root: Path, report: Report) -> SignedBase | None:
    """From a release directory whose files verified: its base pin and whether it is an adapter
    (``None``: not a tinyrel release, nothing to say)."""
    from tinyrel.safe_io import read_small
    from tinyrel.sources.lock import read_lock

    try:
        doc = tomllib.loads(read_small(root / SPEC_SNAPSHOT, MAX_SNAPSHOT_BYTES))
    except (OSError, UnicodeDecodeError, TinyrelError, tomllib.TOMLDecodeError):
        return None
    release = doc.get("release") if isinstance(doc.get("release"), dict) else {}
    weights = doc.get("weights") if isinstance(doc.get("weights"), dict) else {}
    base = doc.get("base") if isinstance(doc.get("base"), dict) else {}
    name = release.get("name")
    if not isinstance(name, str):
        return None
    adapter = weights.get("kind") == "adapter" or base.get("relation") == "adapter"
    entry = None
    if (root / LOCK).is_file():
        try:
            entry = read_lock(root / LOCK).get(entry_name(name))
        except TinyrelError as exc:
            report.error("verify/base-pin", f"the signed {LOCK} cannot be read: {exc.message}", LOCK)
    return SignedBase(entry, adapter)


def check_base_dir(base_dir: Path, entry: LockedSource, report: Report, prefix: str = "verify") -> None:
    """Every pinned file in ``base_dir`` with its pinned size and SHA-256, and no other file a loader
    could read (hidden files, huggingface_hub's download state and card names are left alone)."""
    from tinyrel.safe_io import walk_tree
    from tinyrel.signing.files import is_ignored, sha256_digests

    where = str(base_dir)
    tree = walk_tree(base_dir, ignore=lambda rel: is_ignored(rel, [HF_LOCAL_DIR_STATE, ".git"]))
    for rel, code, message in tree.refused:
        report.error(code, message, f"{where}/{rel}")
    pinned = {f["path"]: f for f in entry.files}
    present = set(tree.files)
    for rel in sorted(pinned.keys() - present):
        report.error(f"{prefix}/base-missing", f"{rel} is pinned for the base but missing", f"{where}/{rel}")
    for rel in sorted(present - pinned.keys()):
        if not (rel.startswith(".") or "/." in rel or is_release_metadata(rel)):
            report.error(f"{prefix}/base-extra", f"{rel} is not a file of the pinned base (a loader may read it)",
                         f"{where}/{rel}")  # fmt: skip
    same = sorted(p for p in pinned.keys() & present if (base_dir / p).stat().st_size == pinned[p]["size"])
    for rel in sorted((pinned.keys() & present) - set(same)):
        report.error(f"{prefix}/base-changed", f"{rel}: {(base_dir / rel).stat().st_size:,} bytes, "
                     f"{pinned[rel]['size']:,} pinned", f"{where}/{rel}")  # fmt: skip
    digests = sha256_digests(base_dir, same, progress=False)
    for rel in same:
        if digests[rel] != pinned[rel]["sha256"]:
            report.error(f"{prefix}/base-changed", f"{rel} differs from its pinned SHA-256", f"{where}/{rel}")


def fetch_base(entry: LockedSource, root: Path, report: Report, token: str | None = None) -> None:
    """Download the pinned files of a durable pin into ``root`` (a staging directory), checked
    against the pins: the listing first, then every byte (see the module docstring)."""
    from tinyrel.signing.files import sha256_digests
    from tinyrel.verifying.hub import Listing, _download_all, _listing

    repo, commit = pinned_commit(entry)
    if repo is None or commit is None:
        where = "a directory of the publisher's machine" if entry.uri.startswith("redacted:") else entry.uri
        report.error("pull/base-unpinned", f"the release pins its base from {where}, not at a commit on the Hub: "
                     "fetch it yourself, then check it with tinyrel verify --base-dir", LOCK)  # fmt: skip
        return
    uri = f"hf://{repo}@{commit}"
    listing = _listing(uri, token)
    pinned = {f["path"]: f for f in entry.files}
    problems = [] if listing.commit == commit else [f"the Hub answered with commit {listing.commit}"]
    for rel, pin in sorted(pinned.items()):
        remote = listing.files.get(rel)
        if remote is None:
            problems.append(f"{rel}: not in the commit")
        elif remote.size is not None and remote.size != pin["size"]:
            problems.append(f"{rel}: {remote.size:,} bytes on the Hub, {pin['size']:,} pinned")
        elif remote.lfs_sha256 is not None and remote.lfs_sha256 != pin["sha256"]:
            problems.append(f"{rel}: the Hub states another SHA-256 than the pinned one")
    if problems:
        for problem in problems[:8]:
            report.error("pull/base-listing", f"{uri}: {problem}; no base file was downloaded", LOCK)
        return
    wanted = {rel: listing.files[rel] for rel in pinned}
    root.mkdir(parents=True, exist_ok=True)
    known = _download_all(Listing(repo, commit, commit, wanted), token, root, wanted, uri)
    digests = sha256_digests(root, sorted(pinned), known, progress=False)
    for rel, pin in sorted(pinned.items()):
        size = (root / rel).stat().st_size
        if size != pin["size"] or digests[rel] != pin["sha256"]:
            report.error("pull/base-changed", f"{uri}: {rel} differs from its signed pin (the bytes that arrived "
                         "are not the pinned ones)", f"{DEFAULT_DIR}/{rel}")  # fmt: skip
    shutil.rmtree(root / HF_LOCAL_DIR_STATE, ignore_errors=True)
    with contextlib.suppress(OSError):
        (root / ".cache").rmdir()


@dataclass
class Staging:
    """Where ``pull`` writes: the release's staging directory, and the base's (``None`` when
    ``final_base`` already holds files, which are checked instead)."""

    release: Path
    base: Path | None
    final_base: Path
    asked: bool  # --base-dir was given: fetch the base whatever the release is


@contextlib.contextmanager
def staged_closure(target: Path, base_dir: Path | None) -> Iterator[Staging]:
    """Staging for the release at ``target`` and its base (``base_dir``, default ``target/base``):
    both visible at the end, or neither (see the module docstring)."""
    final = Path(os.path.abspath(base_dir)) if base_dir is not None else target / DEFAULT_DIR
    if final == target or final.is_relative_to(target):
        with staged_new_directory(target) as stage:
            yield Staging(stage, stage / final.relative_to(target), final, base_dir is not None)
        return
    if target.is_relative_to(final):
        raise TinyrelError("usage/base-dir", "--base-dir holds --local-dir: give the base a directory of its own",
                           usage=True, path=str(final))  # fmt: skip
    if os.path.lexists(final) and (final.is_symlink() or not final.is_dir()):
        raise TinyrelError("pull/target-exists", "--base-dir exists and is not a directory", usage=True,
                           path=str(final))  # fmt: skip
    if final.is_dir() and any(final.iterdir()):  # a base shared by adapters: checked, never written
        with staged_new_directory(target) as stage:
            yield Staging(stage, None, final, True)
        return
    empty_mode = stat.S_IMODE(os.stat(target).st_mode) if target.is_dir() else None
    placed, made = False, []
    try:  # both parents made here, so that a withdrawn release takes those of its own run away too
        made += make_parents(final.parent)
        made += make_parents(target.parent)
        with staged_new_directory(final) as base_stage:
            with staged_new_directory(target) as stage:
                yield Staging(stage, base_stage, final, True)
            placed = True
    except BaseException:
        if placed:  # the release became visible, its base could not: withdraw the release too
            _withdraw(target, empty_mode)
        remove_made_parents(made)
        raise


def _withdraw(path: Path, empty_mode: int | None) -> None:
    """Take a directory this run made visible out of sight again (renamed aside, then removed), and
    leave what was there before: nothing (``empty_mode`` is ``None``), or an empty directory with
    the permissions it had (``empty_mode``: a 0700 directory must not come back world-readable)."""
    aside = Path(tempfile.mkdtemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tinyrel.old", dir=path.parent))
    os.rmdir(aside)
    with contextlib.suppress(OSError):
        os.rename(path, aside)
        shutil.rmtree(aside, ignore_errors=True)
        if empty_mode is not None:
            path.mkdir(mode=0o700)  # never wider than it was, not even for a moment
            os.chmod(path, empty_mode)


def fetch_closure(staging: Staging, report: Report, token: str | None = None) -> bool:
    """After the release verified in ``staging.release``: fetch (or check) its base when it is an
    adapter or ``--base-dir`` asked for it.  ``False``: refused (findings in ``report``)."""
    base = signed_base(staging.release, report)
    if base is None or not (base.adapter or staging.asked):
        if staging.asked:
            report.error("pull/base-unpinned", "--base-dir: the release is not a tinyrel release with a base pin")
        return report.ok
    if base.entry is None:
        report.error("pull/base-unpinned", f"the release signs no pin of its base ({LOCK} has no base entry)"
                     + ("; an adapter cannot be loaded without it" if base.adapter else ""), LOCK)  # fmt: skip
        return False
    if staging.base is None:
        check_base_dir(staging.final_base, base.entry, report, "pull")
        if report.ok:
            report.info("pull/base-reused", f"{staging.final_base} already holds the pinned base {base.uri}; used "
                        "as it is (every file checked)")  # fmt: skip
    else:
        if os.path.lexists(staging.base) and any(staging.base.iterdir()):
            report.error("pull/base-dir-conflict", f"the release itself holds {DEFAULT_DIR}/: pass --base-dir DIR")
            return False
        fetch_base(base.entry, staging.base, report, token)
    report.data["base"] = {"uri": base.uri or base.entry.uri, "path": str(staging.final_base),
                           "files": len(base.entry.files), "adapter": base.adapter,
                           "reused": staging.base is None}  # fmt: skip
    return report.ok


def auto_base_dir(root: Path) -> Path | None:
    """``root/base`` when ``root`` is a pulled adapter release with its base beside it (then
    ``verify`` checks it against the pins rather than calling its files unsigned extras)."""
    candidate = root / DEFAULT_DIR
    if not candidate.is_dir() or candidate.is_symlink():
        return None
    found = signed_base(root, Report())
    return candidate if found is not None and found.adapter and found.entry is not None else None


def check_closure(root: Path, base_dir: Path, report: Report) -> None:
    """``verify --base-dir``: once the release in ``root`` verified, ``base_dir`` against its pins."""
    base = signed_base(root, report)
    if base is None or base.entry is None:
        report.error("verify/base-unpinned", "--base-dir: the release signs no pin of a base to check it against")
        return
    if not base_dir.is_dir():
        report.error("verify/base-missing", "--base-dir is not a directory", str(base_dir))
        return
    before = len(report.errors)
    check_base_dir(base_dir, base.entry, report)
    if len(report.errors) == before:
        report.info("verify/base", f"{base_dir}: the {len(base.entry.files)} files of the base pinned at "
                    f"{base.uri or base.entry.uri} match their signed sizes and SHA-256")  # fmt: skip
    report.data["base"] = {"uri": base.uri or base.entry.uri, "path": str(base_dir), "verified": report.ok}


def verify_local_closure(root: Path, bundle: Path, config, ignore, base_dir: Path | None) -> Report:
    """``verify DIR``, its base (``base_dir``, or ``DIR/base`` of a pulled adapter) left out of the
    release's files and checked against the pins the release signs."""
    from tinyrel.verifying.local import verify_local

    base = base_dir if base_dir is not None else auto_base_dir(root)
    path = Path(os.path.abspath(base)) if base is not None else None
    inside = path is not None and root.is_dir() and path.is_relative_to(os.path.abspath(root))
    report = verify_local(root, bundle, config, [*ignore, *([path] if inside and path is not None else [])])
    if base is not None and report.ok:
        check_closure(root, base, report)
    return report


def verify_hub_closure(uri: str, signature: Path | None, config, ignore, no_download: bool, base_dir: Path) -> Report:
    """``verify hf://… --base-dir DIR``: the release (as ``verify_hub``), then DIR against its pins."""
    from tinyrel.verifying.hub import fetch_verified

    with tempfile.TemporaryDirectory(prefix="tinyrel-verify-") as scratch:
        root = Path(scratch) / "files"
        report = fetch_verified(uri, config, root, signature, ignore, weights=not no_download)
        if report.ok:
            check_closure(root, base_dir, report)
    report.data["verified"] = report.ok
    return report
