"""Verify a release on the Hub: ``hf://org/name@rev`` with or without downloading the weights.

With ``no_download`` the Hub's own per-file metadata stands in for the bytes: LFS files carry their
SHA-256 and size, so only the small non-LFS files (card, config, manifest) are fetched and hashed.
That checks the *Hub's claim* about its content against the signature — quick triage before a
7.5 GB download — while a full verify hashes what actually arrived.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from tinyrel.findings import Report, TinyrelError
from tinyrel.hub.client import download, endpoint, hub_api, hub_ref
from tinyrel.signing.files import GIT_PATHS, is_ignored
from tinyrel.signing.verify import VerifierConfig, check_signature, compare_resources, finish, verify_local

SIGNATURE_NAME = "model.sig"


def verify_hub(
    uri: str,
    signature: Path | None,
    config: VerifierConfig,
    ignore: Sequence[str] = (),
    no_download: bool = False,
    token: str | None = None,
) -> Report:
    from huggingface_hub import snapshot_download

    from tinyrel.hub.errors import hub_errors

    ref = hub_ref(uri)
    config.method  # noqa: B018 - validate the trust options before any network traffic
    with hub_errors(uri, token):
        commit = hub_api(token).model_info(ref.repo_id, revision=ref.revision).sha
        if signature is None:
            signature = _repo_signature(ref.repo_id, commit, token)
        root = None
        if not no_download:
            root = Path(snapshot_download(ref.repo_id, revision=commit, endpoint=endpoint(), token=token))
    if root is not None:  # hashing what arrived is local work, outside the Hub error mapping
        report = verify_local(root, signature, config, [*ignore, str(root / SIGNATURE_NAME)])
        report.data.update({"commit": commit, "target": uri})
        return finish(report, uri, config)

    report = Report()
    signed = check_signature(signature, config, report)
    if signed is not None:
        if not signed.plain_sha256_files:
            raise TinyrelError(
                "verify/needs-download",
                f"the bundle uses {signed.serialization.get('method')}/{signed.serialization.get('hash_type')} "
                "digests, which the Hub does not publish; verify without --no-download",
            )
        actual = _hub_sha256(f"hf://{ref.repo_id}@{commit}", token)
        ignored = [*ignore, *signed.ignore_paths, *GIT_PATHS, SIGNATURE_NAME]
        actual = {p: d for p, d in actual.items() if not is_ignored(p, ignored)}
        compare_resources({PurePosixPath(k).as_posix(): v for k, (_, v) in signed.resources.items()}, actual, report)
        report.data["files"] = len(actual)
        report.info("verify/no-download", "checked the Hub's LFS sha256/size metadata; weights were not downloaded")
    report.data["commit"] = commit
    return finish(report, uri, config)


def _repo_signature(repo_id: str, commit: str, token: str | None) -> Path:
    from huggingface_hub import errors

    try:
        return download(repo_id, SIGNATURE_NAME, commit, token)
    except (errors.EntryNotFoundError, errors.RemoteEntryNotFoundError):
        raise TinyrelError(
            "verify/no-signature", f"hf://{repo_id}@{commit[:12]} has no {SIGNATURE_NAME}; pass --signature FILE"
        ) from None


def _hub_sha256(uri: str, token: str | None) -> dict[str, str]:
    """Per-file SHA-256 as the Hub reports it (LFS metadata; small files fetched and hashed)."""
    from tinyrel.sources.resolve import resolve_hub

    locked = resolve_hub(hub_ref(uri), "verify", Report(), token)
    return {f["path"]: f["sha256"] for f in locked.files}
