"""Verify a release on the Hub: ``hf://org/name@rev`` with or without downloading the weights.

The Hub is untrusted.  The file listing is checked (names must be relative, normalised paths; the
commit must be a commit id), ``model.sig`` is fetched and its signature checked first — a wrong
key fails before any weight byte is fetched — and every file is downloaded into a private staging
directory (never the shared cache, whose paths huggingface_hub builds from server-chosen ETags),
each transfer bounded by the size the listing declares.  A file whose bytes disagree with its
declared size is a finding.

With ``no_download`` the Hub's own per-file metadata stands in for the bytes: LFS files carry their
SHA-256 and size, so only the small non-LFS files (card, config, manifest) are fetched and hashed.
That checks the *Hub's claim* about its content against the signature — quick triage before a
7.5 GB download — while a full verify hashes what actually arrived.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath

from tinyrel.findings import Report, TinyrelError
from tinyrel.hub.client import checked_listing, download, hub_api, hub_ref
from tinyrel.release_files import SIGNATURE as SIGNATURE_NAME
from tinyrel.signing.files import GIT_PATHS, HF_LOCAL_DIR_STATE, is_ignored
from tinyrel.verifying.bundle import VerifierConfig, check_signature
from tinyrel.verifying.local import compare_resources, finish, verify_local


def verify_hub(
    uri: str,
    signature: Path | None,
    config: VerifierConfig,
    ignore: Sequence[str] = (),
    no_download: bool = False,
    token: str | None = None,
) -> Report:
    """Verify ``hf://org/name@rev``: the signature first, then the Hub's metadata, then every byte
    (downloaded into a private staging directory that is removed afterwards)."""
    if no_download:
        return _verify_metadata_only(uri, signature, config, ignore, token)
    with tempfile.TemporaryDirectory(prefix="tinyrel-verify-") as scratch:
        return fetch_verified(uri, config, Path(scratch) / "files", signature, ignore, token)


def fetch_verified(
    uri: str,
    config: VerifierConfig,
    root: Path,
    signature: Path | None = None,
    ignore: Sequence[str] = (),
    token: str | None = None,
) -> Report:
    """Download a signed release into ``root`` and verify it; nothing large is fetched until the
    signature verifies and the Hub's listing (sizes, SHA-256) matches what it signs."""

    ref = hub_ref(uri)
    commit, listing, signature = _listing_and_signature(uri, config, root, signature, token)
    report = Report()
    report.data.update({"commit": commit, "target": uri})
    signed = check_signature(signature, config, report)  # signature first: no weight byte fetched
    if signed is None:
        return finish(report, uri, config)
    if signed.plain_sha256_files:  # the Hub's own metadata must match the signed list before any download
        precheck = Report()
        actual = _hub_sha256(f"hf://{ref.repo_id}@{commit}", token)
        ignored = [*ignore, *signed.ignore_paths, *GIT_PATHS, SIGNATURE_NAME]
        actual = {p: d for p, d in actual.items() if not is_ignored(p, ignored)}
        compare_resources({PurePosixPath(k).as_posix(): v for k, (_, v) in signed.resources.items()}, actual, precheck)
        if not precheck.ok:
            report.extend(precheck)
            report.error("verify/listing", "the Hub's files at this revision are not the signed ones; nothing "
                         "was downloaded")  # fmt: skip
            return finish(report, uri, config)
    wanted = [p for p in listing if not is_ignored(p, [*GIT_PATHS, SIGNATURE_NAME])]
    _download_all(ref.repo_id, commit, token, root, {p: listing[p] for p in wanted}, uri)
    known = _hashed_in_flight(root, f"{ref.repo_id}@{commit}", {p: listing[p] for p in wanted})
    report = verify_local(root, signature, config, [*ignore, HF_LOCAL_DIR_STATE], known)
    report.data["hashed_while_downloading"] = len(known)
    for rel in wanted:
        size = (root / rel).stat().st_size
        if listing[rel] is not None and size != listing[rel]:
            report.error("verify/size-mismatch", f"the Hub declared {listing[rel]} bytes, {size} arrived", rel)
    report.data.update({"commit": commit, "target": uri, "files": len(wanted)})
    return finish(report, uri, config)


def _hashed_in_flight(root: Path, release: str, sizes: dict[str, int | None]) -> dict[str, str]:
    """SHA-256s the transport computed while each file streamed in whole (so it is not read twice)."""
    from tinyrel.hub.guard import streamed_sha256

    known = {}
    for rel, size in sizes.items():
        digest = streamed_sha256.pop((f"{release}:{rel}", size), None) if size is not None else None
        if digest is not None and (root / rel).stat().st_size == size:
            known[rel] = digest
    return known


def _listing_and_signature(uri: str, config: VerifierConfig, where: Path, signature: Path | None, token):
    """The commit, its checked file listing and the bundle (the repo's ``model.sig`` unless given)."""
    from tinyrel.hub.errors import hub_errors

    ref = hub_ref(uri)
    config.method  # noqa: B018 - validate the trust options before any network traffic
    with hub_errors(uri, token):
        info = hub_api(token).model_info(ref.repo_id, revision=ref.revision, files_metadata=True)
        listing = checked_listing(info, uri)
        if signature is None:
            signature = _repo_signature(ref.repo_id, info.sha, token, where, listing)
    return info.sha, listing, signature


def _verify_metadata_only(uri, signature, config, ignore, token) -> Report:
    with tempfile.TemporaryDirectory(prefix="tinyrel-verify-") as scratch:
        commit, _, signature = _listing_and_signature(uri, config, Path(scratch), signature, token)
        return _verify_metadata(uri, hub_ref(uri).repo_id, commit, signature, config, ignore, token)


def _download_all(repo_id: str, commit: str, token, root: Path, files: dict[str, int | None], uri: str) -> None:
    """Download ``files`` into ``root``, four at a time, with one progress display on a terminal."""
    from tinyrel.hub.errors import hub_errors
    from tinyrel.hub.guard import report_progress
    from tinyrel.hub.transfer import transfer_display

    total = sum(size or 0 for size in files.values())
    with transfer_display("downloading", total) as advance, hub_errors(uri, token):
        report_progress("download", advance)
        try:
            with ThreadPoolExecutor(max_workers=4) as pool:
                list(pool.map(lambda p: download(repo_id, p, commit, token, local_dir=root,
                                                 expected_size=files[p]), files))  # fmt: skip
        finally:
            report_progress("download", None)


def _verify_metadata(uri, repo_id, commit, signature, config, ignore, token) -> Report:
    report = Report()
    signed = check_signature(signature, config, report)
    if signed is not None:
        if not signed.plain_sha256_files:
            raise TinyrelError(
                "verify/needs-download",
                f"the bundle uses {signed.serialization.get('method')}/{signed.serialization.get('hash_type')} "
                "digests, which the Hub does not publish; verify without --no-download",
            )
        actual = _hub_sha256(f"hf://{repo_id}@{commit}", token)
        ignored = [*ignore, *signed.ignore_paths, *GIT_PATHS, SIGNATURE_NAME]
        actual = {p: d for p, d in actual.items() if not is_ignored(p, ignored)}
        compare_resources({PurePosixPath(k).as_posix(): v for k, (_, v) in signed.resources.items()}, actual, report)
        report.data["files"] = len(actual)
        report.info("verify/no-download", "checked the Hub's LFS sha256/size metadata; weights were not downloaded")
    report.data["commit"] = commit
    return finish(report, uri, config)


def _repo_signature(repo_id: str, commit: str, token: str | None, where: Path, listing: dict) -> Path:
    if SIGNATURE_NAME not in listing:
        raise TinyrelError(
            "verify/no-signature", f"hf://{repo_id}@{commit[:12]} has no {SIGNATURE_NAME}; pass --signature FILE"
        )
    size = listing[SIGNATURE_NAME]
    if size is not None and size > 16 * 1024 * 1024:
        raise TinyrelError("hub/untrusted-response", f"{SIGNATURE_NAME} is {size:,} bytes; a bundle is kilobytes")
    return download(repo_id, SIGNATURE_NAME, commit, token, local_dir=where, expected_size=size)


def _hub_sha256(uri: str, token: str | None) -> dict[str, str]:
    """Per-file SHA-256 as the Hub reports it (LFS metadata; small files fetched and hashed)."""
    from tinyrel.sources.resolve import resolve_hub

    locked = resolve_hub(hub_ref(uri), "verify", Report(), token)
    return {f["path"]: f["sha256"] for f in locked.files}
