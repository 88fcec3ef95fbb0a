"""Verify a release on the Hub: ``hf://org/name@rev`` with or without downloading the weights.

The Hub is untrusted, and so is anything between it and us.  In order, each step done once:

1. one listing (``model_info`` with file metadata): every name, size, LFS digest and the commit id
   checked before anything is built from them;
2. ``model.sig`` fetched and its signature checked — a wrong key fails before any other byte;
3. the listing compared with what the bundle signs: names, the Hub's LFS SHA-256s, and the small
   git-stored files themselves and ``release.toml`` (downloaded into the staging directory, where
   they stay); the listed sizes compared with the signed manifest's — so a listing that is not the
   signed release fails before a weight byte is fetched;
4. the weights downloaded into the same private staging directory (never the shared cache, whose
   paths huggingface_hub builds from server-chosen ETags), each transfer bounded by the signed
   size (the listed one where the manifest states none) through every redirect;
5. every file compared with the bundle.  A SHA-256 is taken from the transport only when it hashed
   the very body that was written (``tinyrel.hub.guard.DownloadCapture``: one plain body, no Xet);
   any other file is hashed on disk;
6. the signed identity (release, version, repo) compared with what was asked for.

With ``no_download`` the Hub's own LFS metadata stands in for the weights' bytes: a check of the
*Hub's claim* against the signature (quick triage before a 7.5 GB download); a full verify hashes
what actually arrived.  Files the signature excludes are never fetched nor delivered.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tinyrel.findings import Report, TinyrelError
from tinyrel.hub.client import RemoteFile, checked_listing, download, hub_api
from tinyrel.release_files import SIGNATURE as SIGNATURE_NAME
from tinyrel.signing.files import GIT_PATHS, HF_LOCAL_DIR_STATE, is_ignored
from tinyrel.sources.uri import hub_ref
from tinyrel.verifying.bundle import SignedManifest, VerifierConfig, check_signature
from tinyrel.verifying.identity import check_identity, read_identity
from tinyrel.verifying.local import compare_resources, compare_tree, finish

MAX_BUNDLE_BYTES = 16 * 1024 * 1024  # a bundle is kilobytes
GIT_STORED_CAP = 10 * 1024 * 1024  # the Hub stores a file of 10 MiB or more in LFS/Xet, never in git


@dataclass
class Listing:
    """The repo at one commit, as the Hub lists it (names and sizes checked)."""

    repo_id: str
    revision: str | None
    commit: str
    files: dict[str, RemoteFile]


def verify_hub(
    uri: str,
    signature: Path | None,
    config: VerifierConfig,
    ignore: Sequence[str] = (),
    no_download: bool = False,
    token: str | None = None,
    require: Sequence[str] = (),
) -> Report:
    """Verify ``hf://org/name@rev``: the signature first, then the Hub's metadata, then every byte
    (downloaded into a private staging directory that is removed afterwards); then the ``require``d
    attestations (``verifying.attestations``)."""
    with tempfile.TemporaryDirectory(prefix="tinyrel-verify-") as scratch:
        root = Path(scratch) / "files"
        report = fetch_verified(uri, config, root, signature, ignore, token, weights=not no_download)
        if require:
            from tinyrel.verifying.attestations import check_attestations

            check_attestations(root, signature or root / SIGNATURE_NAME, config, require, report)
        return report


def fetch_verified(
    uri: str,
    config: VerifierConfig,
    root: Path,
    signature: Path | None = None,
    ignore: Sequence[str] = (),
    token: str | None = None,
    *,
    weights: bool = True,
) -> Report:
    """Download a signed release into ``root`` and verify it (see the module docstring for the
    order); with ``weights=False`` stop after the listing check (LFS files are not fetched)."""
    config.method  # noqa: B018 - validate the trust options before any network traffic
    listing = _listing(uri, token)
    root.mkdir(parents=True, exist_ok=True)
    bundle = signature if signature is not None else _fetch_signature(listing, token, root)
    report = Report()
    report.data.update({"commit": listing.commit, "target": uri})
    signed = check_signature(bundle, config, report)  # signature first: nothing else fetched yet
    if signed is None:
        return finish(report, uri, config)
    skipped = [*ignore, *signed.ignore_paths, *GIT_PATHS, SIGNATURE_NAME]
    wanted = {p: f for p, f in listing.files.items() if not is_ignored(p, skipped)}
    excluded = sorted(p for p in listing.files if p not in wanted and not is_ignored(p, [*GIT_PATHS, SIGNATURE_NAME]))
    if excluded:
        report.warning("verify/not-delivered", f"{len(excluded)} file(s) the signature excludes were not fetched: "
                       f"{', '.join(excluded[:5])}")  # fmt: skip
    first = _fetched_first(wanted)
    known = _download_all(listing, token, root, first, uri)
    if signed.plain_sha256_files and not _listing_is_signed(signed, wanted, list(first), root, known, report):
        return finish(report, uri, config)
    manifest = _signed_manifest(root, signed)
    large = _bounded_by_signed_sizes({p: f for p, f in wanted.items() if p not in first}, manifest, signed, report)
    if large is None:
        return finish(report, uri, config)
    if not weights:
        if not signed.plain_sha256_files:
            raise TinyrelError("verify/needs-download", f"the bundle uses {signed.serialization.get('method')}/"
                               f"{signed.serialization.get('hash_type')} digests, which the Hub does not publish; "
                               "verify without --no-download")  # fmt: skip
        report.data["files"] = len(wanted)
        report.info("verify/no-download", "checked the Hub's LFS sha256/size metadata; weights were not downloaded")
        _check_identity(root, signed, listing, report)
        return finish(report, uri, config)
    known |= _download_all(listing, token, root, large, uri, _verified_later(manifest, signed))
    compare_tree(root, signed, [*ignore, HF_LOCAL_DIR_STATE], report, known)
    report.data["hashed_while_downloading"] = len(known)
    for rel, remote in wanted.items():
        size = (root / rel).stat().st_size
        if remote.size is not None and size != remote.size:
            report.error("verify/size-mismatch", f"the Hub declared {remote.size} bytes, {size} arrived", rel)
    report.data.update({"commit": listing.commit, "target": uri, "files": len(wanted)})
    _check_identity(root, signed, listing, report)
    return finish(report, uri, config)


def _listing(uri: str, token: str | None) -> Listing:
    from tinyrel.hub.errors import hub_errors

    ref = hub_ref(uri)
    assert ref.repo_id is not None
    with hub_errors(uri, token):
        info = hub_api(token).model_info(ref.repo_id, revision=ref.revision, files_metadata=True)
        files = checked_listing(info, uri)
    return Listing(ref.repo_id, ref.revision, info.sha, files)


def _fetched_first(wanted: dict[str, RemoteFile]) -> dict[str, RemoteFile]:
    """What is downloaded before any weight (and even with ``--no-download``), each with the most
    bytes it may have: the small git-stored files, whose bytes are their only digest (under
    ``GIT_STORED_CAP``: the Hub keeps a larger file in LFS/Xet), and the release's signed identity
    (``release.toml``, under ``MAX_SNAPSHOT_BYTES``) however the listing stores it — a listing that
    calls it an LFS file must not skip the check of which release this is.  A listed size over the
    cap is refused before anything is fetched; an unlisted one is bounded by the cap."""
    from tinyrel.release_files import SPEC_SNAPSHOT
    from tinyrel.verifying.identity import MAX_SNAPSHOT_BYTES

    first: dict[str, RemoteFile] = {}
    for rel, remote in wanted.items():
        if rel == SPEC_SNAPSHOT:
            cap, what = MAX_SNAPSHOT_BYTES, "a release identity"
        elif remote.lfs_sha256 is None:
            cap, what = GIT_STORED_CAP, "a file the Hub stores without LFS"
        else:
            continue
        if remote.size is not None and remote.size > cap:
            raise TinyrelError("hub/untrusted-response", f"the Hub lists {rel} as {remote.size:,} bytes; {what} has "
                               f"fewer than {cap:,}")  # fmt: skip
        first[rel] = RemoteFile(remote.size if remote.size is not None else cap, remote.lfs_sha256)
    return first


def _listing_is_signed(signed: SignedManifest, wanted: dict[str, RemoteFile], fetched: list[str], root: Path,
                       known: dict[str, str], report: Report) -> bool:  # fmt: skip
    """Before any weight is fetched: the listed files are the signed ones, the LFS files by the
    Hub's stated SHA-256, the files already downloaded (``fetched``) by their bytes."""
    from tinyrel.signing.files import sha256_digests

    hashed = sha256_digests(root, fetched, known, progress=False)
    claimed = {p: hashed.get(p, f.lfs_sha256) for p, f in wanted.items()}
    precheck = Report()
    compare_resources(signed.digests, claimed, precheck)
    if precheck.ok:
        return True
    report.extend(precheck)
    report.error("verify/listing", "the Hub's files at this revision are not the signed ones; no weight was "
                 "downloaded")  # fmt: skip
    return False


def _check_identity(root: Path, signed: SignedManifest, listing: Listing, report: Report) -> None:
    """The signed release identity against the request — only from a verified ``release.toml``."""
    if not report.ok:
        return
    from tinyrel.release_files import SPEC_SNAPSHOT

    identity = read_identity(root, report) if SPEC_SNAPSHOT in signed.resources else None
    check_identity(identity, listing.repo_id, listing.revision, report)


def _signed_manifest(root: Path, signed: SignedManifest) -> dict | None:
    """The release's ``manifest.json``, already downloaded, if the bundle signs exactly those bytes."""
    from tinyrel.verifying.fast import manifest_for_fast_path

    if not signed.plain_sha256_files:
        return None
    return manifest_for_fast_path(root, signed.digests)


def _bounded_by_signed_sizes(files: dict[str, RemoteFile], manifest: dict | None, signed: SignedManifest,
                             report: Report) -> dict[str, RemoteFile] | None:  # fmt: skip
    """``files`` each bounded by the size the signed manifest states for it (where it states one
    for the signed digest): the Hub's listing decides no transfer's length.  A listed size that
    disagrees is a finding before anything is downloaded (``None``)."""
    from tinyrel.verifying.fast import signed_sizes

    sizes = signed_sizes(manifest, signed.digests)
    bounded: dict[str, RemoteFile] = {}
    for rel, remote in files.items():
        size = sizes.get(rel, remote.size)
        if remote.size is not None and size != remote.size:
            report.error("verify/size-mismatch", f"the Hub lists {remote.size:,} bytes, the signed manifest "
                         f"{size:,}", rel)  # fmt: skip
        bounded[rel] = RemoteFile(size, remote.lfs_sha256)
    if not report.ok:
        report.error("verify/listing", "the Hub's files at this revision are not the signed ones; no weight was "
                     "downloaded")  # fmt: skip
        return None
    return bounded


def _verified_later(manifest: dict | None, signed: SignedManifest) -> set[str]:
    """Weight files the signed manifest (already downloaded and checked) verifies by per-tensor
    digests after the download: no SHA-256 while they stream in (measured on a 2.4 GB pull: the
    in-flight SHA-256 cost more than reading the file back at BLAKE3 speed on all cores)."""
    from tinyrel.verifying.fast import covered

    if manifest is None:
        return set()
    return covered(manifest, signed.digests)


def _download_all(listing: Listing, token, root: Path, files: dict[str, RemoteFile], uri: str,
                  unhashed: set[str] = frozenset()) -> dict[str, str]:  # fmt: skip
    """Download ``files`` into ``root``, four at a time, with one progress display on a terminal;
    return the SHA-256s the transport computed from the bodies that were written (none for the
    files in ``unhashed``, which the caller verifies otherwise).  Ctrl-C stops every transfer at
    once (``tinyrel.hub.transfer.interruptible``)."""
    from tinyrel.hub.errors import hub_errors
    from tinyrel.hub.transfer import interruptible, submit_all, transfer_display

    if not files:
        return {}
    total = sum(listing.files[rel].size or 0 for rel in files)  # what the Hub says; ``files`` holds the bounds
    with transfer_display("downloading", total) as advance, hub_errors(uri, token):

        def fetch(rel: str) -> tuple[str, str | None]:
            got = download(listing.repo_id, rel, listing.commit, token, local_dir=root, expected_size=files[rel].size,
                           advance=advance, hash_in_flight=rel not in unhashed)  # fmt: skip
            return rel, got.sha256

        def fetch_all() -> dict[str, str]:
            with ThreadPoolExecutor(max_workers=4) as pool:
                done = [future.result() for future in submit_all(pool, fetch, files)]
            return {rel: digest for rel, digest in done if digest is not None}

        return interruptible(fetch_all, "download", left="nothing was delivered")


def _fetch_signature(listing: Listing, token: str | None, where: Path) -> Path:
    """The repo's ``model.sig`` (bounded: a bundle is kilobytes)."""
    from tinyrel.hub.errors import hub_errors

    uri = f"hf://{listing.repo_id}@{listing.commit[:12]}"
    remote = listing.files.get(SIGNATURE_NAME)
    if remote is None:
        raise TinyrelError("verify/no-signature", f"{uri} has no {SIGNATURE_NAME}; pass --signature FILE")
    if remote.size is not None and remote.size > MAX_BUNDLE_BYTES:
        raise TinyrelError("hub/untrusted-response", f"{SIGNATURE_NAME} is {remote.size:,} bytes; a bundle is "
                           "kilobytes")  # fmt: skip
    with hub_errors(uri, token):
        return download(listing.repo_id, SIGNATURE_NAME, listing.commit, token, local_dir=where,
                        expected_size=remote.size if remote.size is not None else MAX_BUNDLE_BYTES).path  # fmt: skip
