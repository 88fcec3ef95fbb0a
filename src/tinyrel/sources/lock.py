"""The package lock file (TOML): read, write atomically, and check against reality.

schema = "tinyrel.lock/1"
[[sources]]
name = "weights"
uri = "hf://org/name@main"
kind = "hub"                 # local-path | local-cache | hub
revision = "<commit sha>"
durable = true               # a pinned commit on a host
public = true                # omitted when unknown
[[sources.files]]
path = "model.safetensors"
size = 123
sha256 = "…"
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from tinyrel.atomic import write_text_atomic
from tinyrel.findings import Report, TinyrelError
from tinyrel.sources.resolve import LockedSource, resolve
from tinyrel.sources.uri import parse_source

SCHEMA = "tinyrel.lock/1"


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
    source = resolve(parse_source(uri, base), name, report, token)
    return source, report


def write_lock(path: Path, lock: Lock) -> None:
    write_text_atomic(path, lock.to_toml())


def read_lock(path: Path) -> Lock:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TinyrelError("lock/not-found", f"lock file {path} does not exist", usage=True, path=str(path)) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise TinyrelError("lock/invalid", f"{path}: {exc}", path=str(path)) from None
    if doc.get("schema") != SCHEMA or not isinstance(doc.get("sources"), list):
        raise TinyrelError("lock/schema", f"{path} is not a {SCHEMA} lock", path=str(path))
    sources = []
    for raw in doc["sources"]:
        try:
            sources.append(_source_from_toml(raw))
        except (KeyError, TypeError) as exc:
            raise TinyrelError("lock/invalid", f"{path}: malformed source entry ({exc})", path=str(path)) from None
    return Lock(sources)


def _source_from_toml(raw: dict[str, Any]) -> LockedSource:
    files = [{"path": str(f["path"]), "size": int(f["size"]), "sha256": str(f["sha256"])} for f in raw.get("files", [])]
    return LockedSource(
        name=str(raw["name"]),
        uri=str(raw["uri"]),
        kind=str(raw["kind"]),
        files=files,
        revision=raw.get("revision"),
        durable=bool(raw.get("durable", False)),
        public=raw.get("public"),
        path=raw.get("path"),
    )


def compare_files(locked: LockedSource, actual: LockedSource, report: Report, code: str = "lock/stale") -> None:
    """Every difference between a locked file set and the one resolved now is an error."""
    want = {f["path"]: f for f in locked.files}
    got = {f["path"]: f for f in actual.files}
    for rel in sorted(want.keys() - got.keys()):
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
            actual = resolve(parse_source(uri, base), locked.name, report, token)
        except TinyrelError as exc:
            report.error("lock/unreachable", f"{locked.name}: {exc.message}", locked.uri)
            continue
        compare_files(locked, actual, report)
    return report
