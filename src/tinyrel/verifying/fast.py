"""Fast verification through the signed manifest: SHA-256 is sequential, tensor digests are not.

An OMS bundle signs one SHA-256 per file, so a plain verifier hashes each file on one core and is
bound by the largest shard.  A tinyrel release also signs ``manifest.json``, which records every
weight file's SHA-256 *and* its header digest plus one BLAKE3 digest per tensor — digests that tile
every byte of the file.  So when the bundle's digest of ``manifest.json`` matches the file, and the
manifest's SHA-256 of a weight file equals the bundle's, checking the header and tensor digests (in
parallel, across and within files) proves the same bytes the SHA-256 would.  Everything else is
hashed with SHA-256 in the same pool.  Any doubt — a tensor digest that disagrees, a header that
differs — and the file is hashed with SHA-256 after all, so the verdict is always the plain path's:
a changed file is reported as changed (the caller compares the SHA-256), and a file whose SHA-256
is the signed one while the signed manifest does not describe it is verified, with a warning that
the release's manifest is inconsistent (``verify/manifest-disagrees``) — never called "changed".
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from tinyrel.findings import Report, TinyrelError
from tinyrel.release_files import MANIFEST


def manifest_for_fast_path(root: Path, signed_sha256: dict[str, str]) -> dict | None:
    """The release's manifest, if the bundle signs it and the file on disk is the signed one.

    The bytes are read once, size-capped before anything is read (a 3 GB ``manifest.json`` is not
    loaded into memory; it is left to the plain SHA-256 path, which streams), then hashed, then
    parsed: what is parsed is exactly what was hashed.
    """
    from tinyrel.safe_io import read_bytes_capped
    from tinyrel.weights import manifest as mf

    want = signed_sha256.get(MANIFEST)
    path = root / MANIFEST
    if want is None or not path.is_file() or path.is_symlink() or path.stat().st_size > mf.MAX_MANIFEST_BYTES:
        return None
    try:
        data = read_bytes_capped(path, mf.MAX_MANIFEST_BYTES)
    except (TinyrelError, OSError):
        return None
    if hashlib.sha256(data).hexdigest() != want:
        return None
    try:
        return mf.parse(data, MANIFEST)
    except TinyrelError:
        return None


def signed_sizes(manifest: dict | None, signed_sha256: dict[str, str]) -> dict[str, int]:
    """The size the signed manifest states for each file whose SHA-256 it states as the bundle
    does: what a transfer of that file may carry, whatever a server declares."""
    if manifest is None:
        return {}
    return {f["path"]: f["size"] for f in manifest["files"] if f.get("sha256") == signed_sha256.get(f["path"])}


def covered(manifest: dict, signed_sha256: dict[str, str]) -> set[str]:
    """The weight files the signed manifest can verify through per-tensor digests (in parallel, at
    BLAKE3 speed) — for those, hashing SHA-256 while downloading would only cost more."""
    tensors: dict[str, list[dict]] = {}
    for t in manifest["tensors"]:
        tensors.setdefault(t["file"], []).append(t)
    return {
        f["path"]
        for f in manifest["files"]
        if f.get("header_digest") and f.get("sha256") == signed_sha256.get(f["path"])
        and tensors.get(f["path"]) and all(t.get("digest") for t in tensors[f["path"]])
    }


def fast_digests(root: Path, files: list[str], signed_sha256: dict[str, str], manifest: dict,
                 report: Report) -> dict[str, str]:  # fmt: skip
    """SHA-256-equivalent digests of ``files``: weight files through the manifest, the rest hashed
    (and any weight file the manifest does not describe, see the module docstring)."""
    from tinyrel.progress import byte_progress
    from tinyrel.signing.files import sha256_digests
    from tinyrel.weights.safetensors_format import read_header
    from tinyrel.weights.scan import TensorJob, blake3_bytes, run_scan

    entries = {f["path"]: f for f in manifest["files"]}
    tensors: dict[str, dict[str, dict]] = {}
    for t in manifest["tensors"]:
        tensors.setdefault(t["file"], {})[t["name"]] = t
    fast: dict[str, object] = {}
    for rel in files:
        entry = entries.get(rel)
        if rel not in signed_sha256 or entry is None or not entry.get("header_digest") \
                or entry.get("sha256") != signed_sha256[rel]:  # fmt: skip
            continue  # hashed: an unsigned file is then reported as extra, like on the plain path
        if not tensors.get(rel) or any(t.get("digest") is None for t in tensors[rel].values()):
            continue  # a manifest without tensor digests: hash the file instead
        header = read_header(root / rel, rel, Report())
        if header is None or blake3_bytes(header.header_bytes) != entry["header_digest"]:
            fast[rel] = None  # the header differs from the signed one: changed
            continue
        ours = {t.name: (t.dtype, list(t.shape), [t.begin, t.end]) for t in header.tensors}
        theirs = {n: (t["dtype"], list(t["shape"]), list(t["data_offsets"])) for n, t in tensors.get(rel, {}).items()}
        fast[rel] = header if ours == theirs else None
    jobs = [
        (rel, TensorJob(t.name, root / rel, h.data_start + t.begin, t.nbytes, t.dtype, True, False))
        for rel, h in fast.items()
        if h is not None
        for t in h.tensors  # type: ignore[union-attr]
    ]
    hashed = [(rel, root / rel) for rel in files if rel not in fast]
    total = sum(j.nbytes for _, j in jobs) + sum(p.stat().st_size for _, p in hashed)
    with byte_progress("verifying", total) as advance:
        scan = run_scan(jobs, hashed, advance)
    digests = dict(scan.file_sha256)
    doubtful = []
    for rel, header in fast.items():
        expected = tensors[rel]
        if header is not None and all(scan.tensors[(rel, n)].digest == expected[n].get("digest") for n in expected):
            digests[rel] = signed_sha256[rel]
        else:
            doubtful.append(rel)
    digests |= sha256_digests(root, doubtful, progress=False)
    for rel in doubtful:
        if digests[rel] == signed_sha256[rel]:
            report.warning("verify/manifest-disagrees", f"{rel} has the signed SHA-256, but the signed manifest's "
                           "header or tensor digests do not describe it: the file is verified by its SHA-256; the "
                           "release's manifest is inconsistent", rel)  # fmt: skip
    return digests
