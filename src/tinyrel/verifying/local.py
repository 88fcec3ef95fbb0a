"""Verify a local file or directory against an OMS bundle: signature first, then every file.

Missing, extra and changed files are findings with stable codes, so one run reports every
difference.  Only what the bundle records as ignored, git metadata and the signature itself are
left out: a file added after signing, anywhere (``.cache/`` included), is extra.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tinyrel.findings import Report
from tinyrel.signing.files import GIT_PATHS, absolute, relative_ignores, sha256_digests, signed_files
from tinyrel.verifying.bundle import SignedManifest, VerifierConfig, check_signature


def compare_resources(expected: dict[str, str], actual: dict[str, str], report: Report) -> None:
    for rel in sorted(set(expected) - set(actual)):
        report.error("verify/missing", f"{rel} is signed but missing", rel)
    for rel in sorted(set(actual) - set(expected)):
        report.error("verify/extra", f"{rel} is present but not signed", rel)
    for rel in sorted(set(expected) & set(actual)):
        if expected[rel] != actual[rel]:
            report.error("verify/changed", f"{rel} differs from the signed digest", rel)


def local_digests(
    root: Path, signed: SignedManifest, ignore: list[str], report: Report, known: dict[str, str] | None = None
) -> dict[str, str]:
    """Digests of the files under ``root``, computed the way the signer computed them.

    ``known`` holds SHA-256s computed while the files were downloaded (not read again).  Links out
    of ``root`` and special files are findings and are never opened (a FIFO would block the
    reference hasher forever).
    """
    files = signed_files(root, ignore, report)
    known = {rel: digest for rel, digest in (known or {}).items() if rel in files}
    if signed.plain_sha256_files:
        from tinyrel.verifying.fast import fast_digests, manifest_for_fast_path

        signed_sha256 = signed.digests
        manifest = manifest_for_fast_path(root, signed_sha256)
        if manifest is not None:  # per-tensor digests in parallel instead of one SHA-256 per file
            report.data["fast_path"] = True
            rest = [rel for rel in files if rel not in known]
            return {**fast_digests(root, rest, signed_sha256, manifest, report), **known}
        return sha256_digests(root, files, known)
    if not report.ok:
        return {}
    from model_signing import hashing

    params = signed.serialization
    # The bundle records digest names ("blake2b"); the hashing API takes engine names ("blake2").
    algorithm = {"blake2b": "blake2"}.get(params["hash_type"], params["hash_type"])
    config = hashing.Config()
    if params.get("method") == "shards":
        config.use_shard_serialization(
            hashing_algorithm=algorithm,
            shard_size=int(params["shard_size"]),
            allow_symlinks=True,  # JSON float
        )
    else:
        config.use_file_serialization(hashing_algorithm=algorithm, allow_symlinks=True)
    config.set_ignored_paths(paths=ignore, ignore_git_paths=True)
    manifest = config.hash(root)
    return {rd.identifier: rd.digest.digest_hex for rd in manifest.resource_descriptors()}


def verify_local(
    root: Path,
    signature: Path,
    config: VerifierConfig,
    ignore: Sequence[str | Path] = (),
    known: dict[str, str] | None = None,
) -> Report:
    """Check ``signature``, then every file under ``root`` against it (``known``: SHA-256s already
    computed from the very bytes written, e.g. while downloading)."""
    report = Report()
    signed = check_signature(signature, config, report)
    if signed is not None:
        compare_tree(root, signed, relative_ignores(root, [*ignore, absolute(signature)]), report, known)
    return finish(report, str(root), config)


def compare_tree(
    root: Path, signed: SignedManifest, ignore: Sequence[str], report: Report, known: dict[str, str] | None = None
) -> None:
    """Every file under ``root`` against what ``signed`` vouches for (``ignore``: root-relative).

    Only what the bundle records, git metadata and the given paths are ignored: a file added after
    signing, anywhere (``.cache/`` included), is reported as extra.
    """
    ignored = sorted({*ignore, *signed.ignore_paths, *GIT_PATHS})
    actual = local_digests(absolute(root), signed, ignored, report, known)
    compare_resources(signed.digests, actual, report)
    report.data["files"] = len(actual)


def finish(report: Report, target: str, config: VerifierConfig) -> Report:
    report.data.update({"target": target, "method": config.method, "verified": report.ok})
    return report
