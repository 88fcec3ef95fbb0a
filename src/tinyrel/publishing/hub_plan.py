"""What the Hub holds and what a publish will do about it — decided before anything is sent.

``remote_state`` reads the branch head, the release tag and which weight blobs the Hub already has;
``decide`` turns that into the plan (a new commit, tagging an untagged commit a killed run left, or
nothing) with every refusal the real run would meet, so a dry run fails where the real run would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tinyrel.findings import Report, TinyrelError
from tinyrel.hub.client import git_blob_sha1
from tinyrel.publishing.release import ReleaseFile
from tinyrel.release_files import SIGNATURE, made_at_signing
from tinyrel.signing.files import GIT_PATHS


@dataclass
class RemoteState:
    """What the Hub has now: the branch head and its files, the release tag, the repo's visibility."""

    exists: bool = False
    private: bool = False
    head: str | None = None
    head_files: dict[str, object] = field(default_factory=dict)
    tag_commit: str | None = None
    tag_files: dict[str, object] = field(default_factory=dict)
    present_blobs: set[str] = field(default_factory=set)


@dataclass
class Plan:
    """What the real run will do: ``commit``, ``tag-head`` (recover an untagged release) or ``done``."""

    action: str
    commit: str | None = None  # the existing commit for tag-head / done
    make_public: bool = False


def same_content(sibling, release_file: ReleaseFile) -> bool:
    """Does a Hub file (RepoSibling) hold exactly this release file?"""
    if sibling.lfs is not None:
        return sibling.lfs.sha256 == release_file.sha256 and sibling.lfs.size == release_file.size
    if sibling.size is not None and sibling.size != release_file.size:
        return False
    data = release_file.content if release_file.content is not None else release_file.source.read_bytes()
    return sibling.blob_id == git_blob_sha1(data)


def files_at(api, repo_id: str, revision: str) -> tuple[str, bool, dict[str, object]]:
    info = api.model_info(repo_id, revision=revision, files_metadata=True)
    files = {s.rfilename: s for s in info.siblings or [] if s.rfilename not in GIT_PATHS}
    return info.sha, bool(info.private), files


def remote_state(api, repo_id: str, tag: str, files: list[ReleaseFile], token: str | None) -> RemoteState:
    from huggingface_hub import errors
    from huggingface_hub.lfs import UploadInfo, post_lfs_batch_info

    state = RemoteState()
    try:
        state.head, state.private, state.head_files = files_at(api, repo_id, "main")
    except errors.RepositoryNotFoundError:
        return state
    state.exists = True
    refs = api.list_repo_refs(repo_id)
    state.tag_commit = next((t.target_commit for t in refs.tags if t.name == tag), None)
    if state.tag_commit:
        _, _, state.tag_files = files_at(api, repo_id, state.tag_commit)
    weights = [f for f in files if f.is_weight]
    if weights and token:
        infos = [UploadInfo(size=f.size, sample=b"", sha256=bytes.fromhex(f.sha256)) for f in weights]
        actions, _, _ = post_lfs_batch_info(infos, token, "model", repo_id, endpoint=api.endpoint)
        state.present_blobs = {a["oid"] for a in actions if not a.get("actions")}
    return state


def _holds_release(hub_files: dict[str, object], files: list[ReleaseFile], signed: bool) -> bool:
    """The Hub file set equals the release's (``model.sig`` and the attestations by presence: ECDSA
    signatures differ run to run)."""
    unsigned = [f for f in files if not made_at_signing(f.path)]
    others = {p: s for p, s in hub_files.items() if not made_at_signing(p)}
    return (
        set(others) == {f.path for f in unsigned}
        and (SIGNATURE in hub_files) == signed
        and all(same_content(others[f.path], f) for f in unsigned)
    )


def _signed_by_us(api, repo_id: str, commit: str, files: list[ReleaseFile], signer, token) -> bool:
    """Does the ``model.sig`` at ``commit`` verify with the signer's own trust material, over these files?"""
    import tempfile
    from pathlib import Path

    from tinyrel.hub.client import download
    from tinyrel.verifying.bundle import check_signature, verifier_for_signer

    with tempfile.TemporaryDirectory(prefix="tinyrel-sig-") as tmp:
        local = download(repo_id, SIGNATURE, commit, token, local_dir=Path(tmp), expected_size=16 * 1024 * 1024).path
        with verifier_for_signer(signer, Path(tmp)) as config:
            signed = check_signature(local, config, Report())
    if signed is None:
        return False
    expected = {f.path: f.sha256 for f in files if not made_at_signing(f.path)}
    return {k: v for k, v in signed.digests.items() if not made_at_signing(k)} == expected


def decide(api, repo_id: str, tag: str, files: list[ReleaseFile], state: RemoteState, signer, private: bool, token):
    """The plan, with every refusal the real run would meet (visibility, tag, foreign signature)."""
    signed = signer is not None
    if state.exists and private and not state.private:
        raise TinyrelError("publish/visibility", f"hf://{repo_id} is public: --private cannot make this release "
                           "private; drop --private or use another repo", usage=True)  # fmt: skip
    holds_head = state.exists and _holds_release(state.head_files, files, signed)
    empty = state.exists and not state.head_files
    make_public = not private and (not state.exists or state.private)
    if state.exists and state.private and not private and not (empty or holds_head or state.tag_commit):
        raise TinyrelError("publish/visibility", f"hf://{repo_id} is private and holds other content: pass "
                           "--private to publish into it privately, or make it public first", usage=True)  # fmt: skip
    if state.tag_commit is not None:
        if not _holds_release(state.tag_files, files, signed):
            raise TinyrelError("publish/tag-exists", f"tag {tag} already exists at {state.tag_commit[:12]} with "
                               "different content; bump the version")  # fmt: skip
        if signed and not _signed_by_us(api, repo_id, state.tag_commit, files, signer, token):
            raise TinyrelError("publish/tag-signed-elsewhere", f"tag {tag} holds this release, but its model.sig does "
                               "not verify with the given signing key; it was not signed by you")  # fmt: skip
        return Plan("done", state.tag_commit, make_public and state.private)
    if holds_head and state.head is not None:
        if signed and not _signed_by_us(api, repo_id, state.head, files, signer, token):
            return Plan("commit", make_public=make_public)
        return Plan("tag-head", state.head, make_public)
    return Plan("commit", make_public=make_public)


def plan_rows(files: list[ReleaseFile], state: RemoteState, plan: Plan, signed: bool,
              attested: Sequence[str] = ()) -> list[dict[str, object]]:  # fmt: skip
    """One row per file of the release, and per file the new commit deletes, with what the run does
    to it: ``upload``, ``blob already on the Hub``, ``unchanged on the Hub``, ``signed at publish`` or
    ``delete``.  When the release is already committed (``tag-head``, ``done``), nothing is sent.
    ``attested``: the attestation files a signed release gets at publish, with ``model.sig``."""
    committed = plan.action != "commit"
    rows = []
    for f in sorted(files, key=lambda f: f.path):
        if committed or (f.path in state.head_files and same_content(state.head_files[f.path], f)):
            status = "unchanged on the Hub"
        elif f.sha256 in state.present_blobs:
            status = "blob already on the Hub"
        else:
            status = "upload"
        rows.append({"path": f.path, "size": f.size, "sha256": f.sha256, "status": status})
    if signed:
        status = "unchanged on the Hub" if committed else "signed at publish"
        rows += [{"path": path, "size": None, "sha256": None, "status": status} for path in [*attested, SIGNATURE]]
    if not committed:
        wanted = {f.path for f in files} | ({SIGNATURE, *attested} if signed else set())
        for path in sorted(set(state.head_files) - wanted):
            size = getattr(state.head_files[path], "size", None)
            rows.append({"path": path, "size": size, "sha256": None, "status": "delete"})
    return rows


def release_file_count(files: list[ReleaseFile], signed: bool, attested: Sequence[str] = ()) -> int:
    """The number of files the release commit holds (``model.sig`` and the ``attested`` files included
    when signed, whether signed in this run or already on the Hub): one fact for every message that
    counts them."""
    return len({f.path for f in files} | ({SIGNATURE, *attested} if signed else set()))
