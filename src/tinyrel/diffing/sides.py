"""Turn a diff operand into a manifest: a manifest file, a model directory, or an ``hf://`` release.

Manifests and Hub releases are compared without reading any weights (a Hub release is read through
its ``manifest.json``); a directory is scanned once for per-tensor digests (no file SHA-256).

A Hub release's ``manifest.json`` is outside input like any other: it must describe the files the
Hub lists at that commit (same names and sizes; the Hub's SHA-256 for LFS files), and with trust
material (``trust``) it must be the ``manifest.json`` the release's signature covers.  Without
trust material the comparison says that the manifest is the Hub's unverified claim.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from tinyrel.findings import Finding, TinyrelError
from tinyrel.weights import manifest as mf

if TYPE_CHECKING:
    from tinyrel.verifying.bundle import VerifierConfig


def load_side(operand: str, trust: VerifierConfig | None = None, notes: list[Finding] | None = None) -> dict[str, Any]:
    """The manifest of ``operand``; findings about how far it can be trusted go to ``notes``."""
    if operand.startswith("hf://"):
        return _from_hub(operand, trust, notes if notes is not None else [])
    path = Path(operand)
    if path.is_file():
        return mf.load(path)
    if path.is_dir():
        return _from_directory(path)
    raise TinyrelError("usage/diff-operand", f"{operand} is not a manifest, a model directory or hf:// ref", usage=True)


def _from_directory(path: Path) -> dict[str, Any]:
    from tinyrel.weights.validate import inspect_weights

    inspection = inspect_weights(path, build_manifest=True, file_sha256=False)
    if inspection.manifest is None:
        first = inspection.report.errors[0] if inspection.report.errors else None
        detail = f": {first.code}: {first.message}" if first else ""
        raise TinyrelError("diff/invalid-weights", f"{path} does not validate (run tinyrel validate){detail}")
    return inspection.manifest


def _from_hub(uri: str, trust: VerifierConfig | None, notes: list[Finding]) -> dict[str, Any]:
    import tempfile

    from tinyrel.hub.client import checked_listing, download, hub_api
    from tinyrel.hub.errors import hub_errors
    from tinyrel.release_files import MANIFEST, SIGNATURE
    from tinyrel.safe_io import read_bytes_capped
    from tinyrel.sources.uri import hub_ref

    ref = hub_ref(uri)
    assert ref.repo_id is not None
    with tempfile.TemporaryDirectory(prefix="tinyrel-diff-") as scratch, hub_errors(uri):
        info = hub_api().model_info(ref.repo_id, revision=ref.revision, files_metadata=True)
        listing = checked_listing(info, uri)
        remote = listing.get(MANIFEST)
        if remote is None:  # not a tinyrel release (a base model): its safetensors headers stand for it
            from tinyrel.diffing.header_side import header_manifest

            return header_manifest(uri, ref.repo_id, info.sha, listing, notes)
        if remote.size is not None and remote.size > mf.MAX_MANIFEST_BYTES:
            raise TinyrelError("diff/invalid-manifest", f"{uri}: {MANIFEST} is {remote.size:,} bytes, more than a "
                               "manifest can be")  # fmt: skip
        got = download(ref.repo_id, MANIFEST, info.sha, local_dir=Path(scratch),
                       expected_size=remote.size if remote.size is not None else mf.MAX_MANIFEST_BYTES)  # fmt: skip
        data = read_bytes_capped(got.path, mf.MAX_MANIFEST_BYTES)
        try:
            manifest = mf.parse(data, f"{uri}: {MANIFEST}")
        except TinyrelError as exc:
            raise TinyrelError(exc.code, f"{uri}: {MANIFEST}: {exc.message}") from None
        _check_against_listing(uri, manifest, listing)
        if trust is None:
            notes.append(Finding("diff/unsigned", "warning", f"{uri}: {MANIFEST} is compared as the Hub serves it; "
                                 "no signature was checked (pass --public-key, --certificate-chain or "
                                 "--identity/--issuer)"))  # fmt: skip
            return manifest
        if SIGNATURE not in listing:
            raise TinyrelError("verify/no-signature", f"{uri} has no {SIGNATURE} to check {MANIFEST} against")
        bundle = download(ref.repo_id, SIGNATURE, info.sha, local_dir=Path(scratch) / "sig",
                          expected_size=listing[SIGNATURE].size or 16 * 1024 * 1024).path  # fmt: skip
        _check_signed(uri, data, bundle, trust, notes)
    return manifest


def _check_signed(uri: str, data: bytes, bundle: Path, trust: VerifierConfig, notes: list[Finding]) -> None:
    """``data`` (the manifest as read) must be the ``manifest.json`` the release's signature covers."""
    import hashlib

    from tinyrel.findings import Report
    from tinyrel.release_files import MANIFEST
    from tinyrel.verifying.bundle import check_signature

    report = Report()
    signed = check_signature(bundle, trust, report)
    if signed is None:
        raise TinyrelError(report.errors[0].code, f"{uri}: {report.errors[0].message}")
    digest = signed.resources.get(MANIFEST)
    if digest is None or digest != ("sha256", hashlib.sha256(data).hexdigest()):
        raise TinyrelError("verify/changed", f"{uri}: {MANIFEST} is not the one the signature covers")
    notes.append(Finding("diff/signed", "info", f"{uri}: {MANIFEST} verified against the signature ({trust.method})"))


def _check_against_listing(uri: str, manifest: dict[str, Any], listing: dict) -> None:
    """The manifest must describe the files the Hub lists: same names, sizes and LFS SHA-256."""
    def described(entry: dict[str, Any]) -> bool:
        remote = listing.get(entry["path"])
        if remote is None or (remote.size is not None and remote.size != entry["size"]):
            return False
        return remote.lfs_sha256 is None or not entry.get("sha256") or remote.lfs_sha256 == entry["sha256"]

    wrong = [entry["path"] for entry in manifest["files"] if not described(entry)]
    if wrong:
        raise TinyrelError("diff/manifest-mismatch", f"{uri}: manifest.json does not describe the repo's files "
                           f"({', '.join(sorted(wrong)[:5])}); it cannot stand for this release")  # fmt: skip
