"""The package lock file (TOML): read, write atomically, and check against reality.

schema = "tinyrel.lock/1"
[[sources]]
name = "weights"
uri = "hf://org/name@main"
kind = "hub"                 # local-path | local-cache | hub | oci
revision = "<commit sha>"
durable = true               # a pinned commit on a host
public = true                # omitted when unknown
[[sources.files]]
path = "model.safetensors"
size = 123
sha256 = "…"
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from tinyrel.atomic import check_output_target, write_text_atomic
from tinyrel.findings import Report, TinyrelError, first_line
from tinyrel.oci.reference import DIGEST_RE
from tinyrel.release_files import is_release_metadata
from tinyrel.safe_io import checked_relpath, read_small
from tinyrel.sources.resolve import SHA256_RE, LockedSource, resolve
from tinyrel.sources.uri import COMMIT_RE, HUB, parse_source

SCHEMA = "tinyrel.lock/1"
MAX_LOCK_BYTES = 16 * 1024 * 1024
_SOURCES_HEADER = re.compile(r"^[ \t]*\[\[[ \t]*sources[ \t]*\]\][ \t]*(#.*)?$", re.M)


@dataclass
class Lock:
    sources: list[LockedSource]

    def get(self, name: str) -> LockedSource | None:
        return next((s for s in self.sources if s.name == name), None)

    def to_toml(self) -> str:
        return tomli_w.dumps({"schema": SCHEMA, "sources": [s.to_toml() for s in self.sources]})


def lock_source(
    uri: str, name: str = "weights", base: Path | None = None, token: str | None = None
) -> tuple[LockedSource, Report]:
    """Library entry point: resolve one source into a lock entry plus findings."""
    report = Report()
    source = resolve(parse_source(uri, base), name, report, token, base)
    return source, report


def _entry_text(entry: LockedSource) -> str:
    return tomli_w.dumps({"sources": [entry.to_toml()]})


def update_lock(path: Path, entry: LockedSource, *, replace: bool = True, keep_evidence: bool = True) -> None:
    """Add or replace one ``[[sources]]`` entry, leaving every other byte of the file as it was.

    Other releases' entries, comments and formatting are the user's: they are never rewritten.
    With ``replace=False`` an existing entry of the same name is an error (``init`` re-runs).
    Re-locking the weights (``tinyrel lock``, ``publish``, ``tinyrel.lock_source``) resolves files
    only, so an entry that brings no ``evidence`` keeps the eval-record pins of the entry it replaces
    (``keep_evidence=False`` replaces them with the entry's own, even none): a records file edited
    later must stay "changed since pinned", not become "not pinned".
    """
    check_output_target(path, "lock")
    if not path.exists():
        write_text_atomic(path, tomli_w.dumps({"schema": SCHEMA}) + "\n" + _entry_text(entry))
        return
    lock = read_lock(path)
    text = read_small(path, MAX_LOCK_BYTES)
    names = [s.name for s in lock.sources]
    old = lock.get(entry.name)
    if old is not None and keep_evidence and not entry.evidence and old.evidence:
        entry = dataclasses.replace(entry, evidence=old.evidence)
    if entry.name not in names:
        new = text + ("" if text.endswith("\n") else "\n") + "\n" + _entry_text(entry)
    elif not replace:
        raise TinyrelError("lock/exists", f"the lock already has an entry named {entry.name!r}; not overwriting",
                           usage=True, path=str(path))  # fmt: skip
    else:
        starts = [m.start() for m in _SOURCES_HEADER.finditer(text)]
        if len(starts) != len(names):  # sources written another way (inline array): rewrite the document
            others = [s for s in lock.sources if s.name != entry.name]
            new = Lock([*others, entry]).to_toml()
        else:
            index = names.index(entry.name)
            end = starts[index + 1] if index + 1 < len(starts) else len(text)
            new = text[: starts[index]] + _entry_text(entry) + ("\n" if end < len(text) else "") + text[end:]
    try:
        tomllib.loads(new)
    except tomllib.TOMLDecodeError as exc:  # pragma: no cover - tomli_w output is valid TOML
        raise TinyrelError("lock/invalid", f"could not update the lock: {exc}", path=str(path)) from None
    write_text_atomic(path, new)


def read_lock(path: Path) -> Lock:
    """Read and validate a lock: a hostile lock is a one-line error with a stable code."""
    try:
        text = read_small(path, MAX_LOCK_BYTES)
        doc = tomllib.loads(text)
    except FileNotFoundError:
        raise TinyrelError("lock/not-found", "the lock file does not exist", usage=True, path=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise TinyrelError(
            "lock/invalid", str(exc), path=str(path), line=int(match.group(1)) if match else None
        ) from None
    except (OSError, UnicodeDecodeError, TinyrelError) as exc:
        message = exc.message if isinstance(exc, TinyrelError) else str(exc)
        raise TinyrelError("lock/invalid", message, path=str(path)) from None
    if doc.get("schema") != SCHEMA or not isinstance(doc.get("sources"), list):
        raise TinyrelError("lock/schema", f"not a {SCHEMA} lock", path=str(path))
    sources = []
    for number, raw in enumerate(doc["sources"], 1):
        try:
            sources.append(_source_from_toml(raw))
        except (KeyError, TypeError, ValueError) as exc:
            raise TinyrelError("lock/invalid", f"source entry #{number} is malformed: {first_line(exc)}",
                               path=str(path)) from None  # fmt: skip
    names = [s.name for s in sources]
    for name in names:
        if names.count(name) > 1:
            raise TinyrelError("lock/invalid", f"two source entries are named {name!r}", path=str(path))
    return Lock(sources)


def _files(entries: Any) -> list[dict[str, Any]]:
    if not isinstance(entries, list):
        raise TypeError("a file list is not an array")
    files = []
    for f in entries:
        if not isinstance(f, dict):
            raise TypeError("a files entry is not a table")
        size, sha = f["size"], f["sha256"]
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ValueError(f"size of {f.get('path')!r} must be a non-negative integer")
        if not isinstance(sha, str) or not SHA256_RE.match(sha):
            raise ValueError(f"sha256 of {f.get('path')!r} must be 64 hex digits")
        files.append({"path": checked_relpath(f["path"]), "size": size, "sha256": sha})
    paths = [f["path"] for f in files]
    if len(set(paths)) != len(paths):
        raise ValueError(f"files are listed twice: {sorted({p for p in paths if paths.count(p) > 1})}")
    return files


def _source_from_toml(raw: Any) -> LockedSource:
    if not isinstance(raw, dict):
        raise TypeError("not a table")
    files = _files(raw.get("files", []))
    evidence = _files(raw.get("evidence", []))
    for key in ("name", "uri", "kind"):
        if not isinstance(raw[key], str):
            raise TypeError(f"{key} must be a string")
    revision = raw.get("revision")
    if revision is not None and not isinstance(revision, str):
        raise TypeError("revision must be a string")
    public = raw.get("public")
    if public is not None and not isinstance(public, bool):
        raise TypeError("public must be true or false")
    # ``durable`` is derived, never trusted: a pinned commit id on a host.
    durable = raw["kind"] == "hub" and bool(revision and COMMIT_RE.match(revision))
    if raw["kind"] == "oci":  # an OCI artifact pinned by its manifest digest, the one its uri names
        durable = bool(revision and DIGEST_RE.match(revision) and raw["uri"].endswith(f"@{revision}"))
    return LockedSource(raw["name"], raw["uri"], raw["kind"], files, revision, durable, public, evidence)


def compare_files(locked: LockedSource, actual: LockedSource, report: Report, code: str = "lock/stale") -> None:
    """Every difference between a locked file set and the one resolved now is an error."""
    want = {f["path"]: f for f in locked.files}
    got = {f["path"]: f for f in actual.files}
    for rel in sorted(want.keys() - got.keys()):
        if actual.kind != HUB and is_release_metadata(rel):  # locked by an older tinyrel, as if it were a weight
            report.error(code, f"{locked.name}: {rel} is locked, but a release file name in a weights folder is not "
                         "a weight (the release writes its own); re-lock with tinyrel lock", rel)  # fmt: skip
            continue
        report.error(code, f"{locked.name}: {rel} is locked but no longer present", rel)
    for rel in sorted(got.keys() - want.keys()):
        report.error(code, f"{locked.name}: {rel} is present but not in the lock", rel)
    for rel in sorted(want.keys() & got.keys()):
        for key in ("size", "sha256"):
            if want[rel][key] != got[rel][key]:
                report.error(code, f"{locked.name}: {rel} {key} changed since it was locked", rel)
    if locked.revision and actual.revision and locked.revision != actual.revision:
        report.error(code, f"{locked.name}: revision moved from {locked.revision} to {actual.revision}")


def check_lock(path: Path, base: Path | None = None, token: str | None = None) -> Report:
    """Re-resolve every source in the lock and report drift (``tinyrel lock --check``)."""
    report = Report()
    lock = read_lock(path)
    for locked in lock.sources:
        uri = (
            f"hf://{parse_source(locked.uri).repo_id}@{locked.revision}"
            if locked.kind == "hub" and locked.revision
            else locked.uri
        )
        try:
            actual = resolve(parse_source(uri, base), locked.name, report, token, base)
        except TinyrelError as exc:
            report.error("lock/unreachable", f"{locked.name}: {exc.message}", locked.uri)
            continue
        compare_files(locked, actual, report)
    return report
