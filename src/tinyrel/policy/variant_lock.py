"""The lock of a release tree: one entry for the release and one per variant (``<release>.<id>``).

``tinyrel lock`` without a SOURCE re-pins every source the spec names — ``[weights] source`` and
each ``[[variants]]`` source — into the workspace lock, keeping each entry's pinned records
(``update_lock``'s ``keep_evidence``).  An entry that already pins a commit on the Hub (a published
release) is kept: re-locking the local copy would undo the publish.  ``tinyrel evals --lock`` pins
the same records in every entry of the tree, because every release of the tree ships them all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tinyrel.findings import Report, TinyrelError


def tree_sources(spec: Any) -> list[tuple[str, str]]:
    """(lock entry name, source) of the release and each of its variants."""
    return [(spec.name, spec.weights_source), *((v.entry(spec.name), v.source) for v in spec.variants)]


def lock_tree(ws: Any, spec: Any) -> Report:
    """Re-pin the release's weights and every variant's in the workspace lock."""
    from tinyrel.sources.lock import lock_source, read_lock, update_lock

    report = Report()
    lock = read_lock(ws.lock_path) if ws.lock_path.exists() else None
    pinned = []
    for name, source in tree_sources(spec):
        old = lock.get(name) if lock is not None else None
        if old is not None and old.kind == "hub" and old.durable:
            report.info("lock/kept", f"{name}: kept, it pins {old.uri.split('@')[0]}@{old.revision} (a published "
                        "release); lock SOURCE --name NAME replaces it")  # fmt: skip
            continue
        entry, found = lock_source(source, name, base=ws.root.resolve())
        report.extend(found)
        if not found.ok:
            report.error("lock/not-locked", f"{name}: {source} did not resolve cleanly; the lock entry was not changed")
            continue
        update_lock(ws.lock_path, entry)
        pinned.append({"name": name, "uri": entry.uri, "files": len(entry.files), "durable": entry.durable})
    report.data["locked"] = pinned
    return report


def tree_records(root: Path, spec: Any) -> list[dict[str, Any]]:
    """Every records file of the tree (the spec's evals and its variants'), with size and SHA-256."""
    from tinyrel.evidence.collect import file_digest, pinned_records

    pinned = {f["path"]: f for f in pinned_records(root, spec)}
    for variant in spec.variants:
        for e in variant.evals:
            if e.records and e.records not in pinned and (root / e.records).is_file():
                pinned[e.records] = {"path": e.records, **file_digest(root / e.records)}
    return [pinned[p] for p in sorted(pinned)]


def pin_variant_records(ws: Any, spec: Any, records: list[dict[str, Any]]) -> None:
    """The tree's records pinned in each variant's lock entry too (each variant release ships them)."""
    from tinyrel.sources.lock import read_lock, update_lock

    lock = read_lock(ws.lock_path)
    for variant in spec.variants:
        entry = lock.get(variant.entry(spec.name))
        if entry is None:
            raise TinyrelError("evals/no-lock-entry", f"the lock has no entry {variant.entry(spec.name)!r} for variant "
                               f"{variant.id} to pin records in: run tinyrel lock", path=str(ws.lock_path))  # fmt: skip
        entry.evidence = records
        update_lock(ws.lock_path, entry, keep_evidence=False)
