"""A lock pinned to an OCI artifact (``oci://HOST/PATH@sha256:…``), as the gate treats a Hub pin.

The lock is outside input: its ``public = true`` is confirmed with the registry before anything
states it — the manifest exists at that digest, an anonymous client is served it, and its weight
layers have the lock's paths, sizes and SHA-256 (from the manifest; no blob is fetched).  Only
then does the card say the weights are pinned there.
"""

from __future__ import annotations

from tinyrel.findings import Report, TinyrelError
from tinyrel.sources.resolve import LockedSource


def is_oci_pin(lock: LockedSource | None) -> bool:
    """An OCI entry that claims a public, digest-pinned artifact (``durable`` is derived on read)."""
    return bool(lock and lock.kind == "oci" and lock.public and lock.durable)


def pin_problems(lock: LockedSource) -> list[str]:
    """What the registry's answer for the pinned digest contradicts in the lock (empty: confirmed)."""
    from tinyrel.oci.reference import parse
    from tinyrel.sources.resolve import resolve_oci

    found = Report()
    try:
        remote = resolve_oci(parse(lock.uri), lock.name, found)
    except TinyrelError as exc:
        return [f"it could not be confirmed with the registry ({exc.code}: {exc.message})"]
    problems = [f"{f.path or lock.name}: {f.code}: {f.message}" for f in found.findings if f.severity == "error"]
    if remote.revision != lock.revision:
        problems.append(f"the registry resolved it to {remote.revision}")
    if not remote.public:
        problems.append("the registry does not serve it without credentials")
    want = {f["path"]: (f["size"], f["sha256"]) for f in lock.files}
    got = {f["path"]: (f["size"], f["sha256"]) for f in remote.files}
    differing = sorted(p for p in set(want) | set(got) if want.get(p) != got.get(p))
    if differing:
        more = f" (and {len(differing) - 5} more)" if len(differing) > 5 else ""
        problems.append("its weight layers differ from the lock's files: " + ", ".join(differing[:5]) + more)
    return problems


def location(lock: LockedSource, confirmed: bool) -> str:
    """Where the card says the weights are, for an OCI pin."""
    if confirmed:
        return f"{lock.uri} (public)."
    return f"{lock.uri}, as the lock records it (not confirmed with the registry by this run)."
