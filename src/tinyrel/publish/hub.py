"""Publish a release to the Hugging Face Hub as one commit, tagged ``v<version>``.

Order matters for "nothing half-published is ever visible" and "a re-run converges":

1. gate (the weights present and verified against the manifest), plan, sign;
2. upload the LFS blobs the Hub does not have yet — invisible until a commit references them, and
   skipped on a re-run because the LFS batch API reports them as present;
3. one commit (with ``parent_commit``, so a concurrent push fails instead of interleaving) holding
   weights, card, manifest, lock, spec snapshot and ``model.sig``, deleting stale files;
4. the tag — refused if it already names a different release; reused if it names this one;
5. the workspace lock, rewritten atomically to ``hf://ORG/NAME@<commit>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tinyrel.findings import Report, TinyrelError
from tinyrel.hub.client import git_blob_sha1, hub_api
from tinyrel.hub.errors import hub_errors
from tinyrel.policy.gate import check_overrides, gate_summary, run_gate
from tinyrel.policy.spec import ReleaseSpec
from tinyrel.policy.workspace import Workspace
from tinyrel.publish.release import (
    ReleaseFile,
    hosted_lock_entry,
    metadata_files,
    signature_file,
    weight_files,
)
from tinyrel.signing.files import GIT_PATHS

REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")


@dataclass
class RemoteState:
    """What the Hub has now: the branch head and its files, and the release tag if it exists."""

    exists: bool = False
    head: str | None = None
    head_files: dict[str, object] = field(default_factory=dict)
    tag_commit: str | None = None
    tag_files: dict[str, object] = field(default_factory=dict)
    present_blobs: set[str] = field(default_factory=set)


def same_content(sibling, release_file: ReleaseFile) -> bool:
    """Does a Hub file (RepoSibling) hold exactly this release file?"""
    if sibling.lfs is not None:
        return sibling.lfs.sha256 == release_file.sha256 and sibling.lfs.size == release_file.size
    if sibling.size is not None and sibling.size != release_file.size:
        return False
    data = release_file.content if release_file.content is not None else release_file.source.read_bytes()
    return sibling.blob_id == git_blob_sha1(data)


def _files_at(api, repo_id: str, revision: str) -> tuple[str, dict[str, object]]:
    info = api.model_info(repo_id, revision=revision, files_metadata=True)
    return info.sha, {s.rfilename: s for s in info.siblings or [] if s.rfilename not in GIT_PATHS}


def remote_state(api, repo_id: str, tag: str, files: list[ReleaseFile], token: str | None) -> RemoteState:
    from huggingface_hub import errors
    from huggingface_hub.lfs import UploadInfo, post_lfs_batch_info

    state = RemoteState()
    try:
        state.head, state.head_files = _files_at(api, repo_id, "main")
    except errors.RepositoryNotFoundError:
        return state
    state.exists = True
    refs = api.list_repo_refs(repo_id)
    state.tag_commit = next((t.target_commit for t in refs.tags if t.name == tag), None)
    if state.tag_commit:
        _, state.tag_files = _files_at(api, repo_id, state.tag_commit)
    weights = [f for f in files if f.is_weight]
    if weights and token:
        infos = [UploadInfo(size=f.size, sample=b"", sha256=bytes.fromhex(f.sha256)) for f in weights]
        actions, _, _ = post_lfs_batch_info(infos, token, "model", repo_id, endpoint=api.endpoint)
        state.present_blobs = {a["oid"] for a in actions if not a.get("actions")}
    return state


def plan_rows(files: list[ReleaseFile], state: RemoteState) -> list[dict[str, object]]:
    rows = []
    for f in sorted(files, key=lambda f: f.path):
        if f.path in state.head_files and same_content(state.head_files[f.path], f):
            status = "unchanged on the Hub"
        elif f.sha256 in state.present_blobs:
            status = "blob already on the Hub"
        else:
            status = "upload"
        rows.append({"path": f.path, "size": f.size, "sha256": f.sha256, "status": status})
    return rows


def _operations(files: list[ReleaseFile], state: RemoteState) -> list[object]:
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete

    ops: list[object] = []
    for f in files:
        op = CommitOperationAdd(f.path, f.content if f.content is not None else str(f.source))
        op.upload_info.sha256 = bytes.fromhex(f.sha256)  # verified by the gate: no second hashing pass
        ops.append(op)
    wanted = {f.path for f in files}
    ops += [CommitOperationDelete(path) for path in sorted(state.head_files) if path not in wanted]
    return ops


def publish_to_hub(
    ws: Workspace,
    spec: ReleaseSpec,
    *,
    mode: str,
    repo_id: str,
    signer=None,
    private: bool = False,
    dry_run: bool = False,
    overrides: dict[str, str] | None = None,
) -> Report:
    if not REPO_ID.match(repo_id):
        raise TinyrelError("usage/repo-id", f"--repo-id must look like ORG/NAME, got {repo_id!r}", usage=True)
    from huggingface_hub import get_token

    check_overrides(spec, overrides or {})
    token = get_token()
    if token is None and not dry_run:
        raise TinyrelError("hub/no-token", "no Hub token: set HF_TOKEN or run `hf auth login`")
    result = run_gate(ws, spec, mode=mode, require_weights=mode == "weights", overrides=overrides, repo_id=repo_id)
    report = result.report
    report.data["_headline"] = gate_summary(result)
    if not report.ok:
        report.error("publish/refused", "the release gate failed; nothing was uploaded")
        return report
    tag = f"v{spec.version}"
    if mode == "weights":
        weights = weight_files(result, report)
        entry = hosted_lock_entry(spec.name, repo_id, tag, weights, public=not private)
        files = weights + metadata_files(result, entry)
    else:
        files = metadata_files(result)
    api = hub_api(token)
    where = f"hf://{repo_id}"
    with hub_errors(where, token):
        state = remote_state(api, repo_id, tag, files, token)
    rows = plan_rows(files, state)
    report.data["plan"] = {
        "repo_id": repo_id,
        "tag": tag,
        "files": rows,
        "bytes": sum(f.size for f in files),
        "upload_bytes": sum(int(r["size"]) for r in rows if r["status"] == "upload"),
    }
    if dry_run:
        report.data["_headline"] += "\n" + _plan_text(report.data["plan"], state)
        return report
    if signer is not None:
        files.append(signature_file(files, repo_id.split("/")[1], signer))
    else:
        report.warning("publish/unsigned", "no signing key given: the release has no model.sig to verify against")

    with hub_errors(where, token):
        commit = _commit_and_tag(api, repo_id, tag, files, state, private, report, spec)
        entry = _hub_lock_entry(spec, f"hf://{repo_id}@{commit}", token, report) if mode == "weights" else None
    if entry is not None:
        _check_hosted(files, entry, report)
        _pin_lock(ws, spec, entry, report)
    report.data.update({"commit": commit, "tag": tag, "repo_id": repo_id})
    report.data["_headline"] += f"\npublished {where}@{commit[:12]} ({tag}): {len(files)} files"
    return report


def _commit_and_tag(api, repo_id, tag, files, state, private, report, spec) -> str:
    from huggingface_hub import errors

    if state.tag_commit is not None:
        # Signatures differ run to run (ECDSA is randomised), so compare everything but model.sig.
        unsigned = [f for f in files if f.path != "model.sig"]
        tagged = {p: s for p, s in state.tag_files.items() if p != "model.sig"}
        if set(tagged) == {f.path for f in unsigned} and all(same_content(tagged[f.path], f) for f in unsigned):
            report.info("publish/already-published", f"{tag} already holds this release at {state.tag_commit}")
            return state.tag_commit
        raise TinyrelError(
            "publish/tag-exists",
            f"tag {tag} already exists at {state.tag_commit[:12]} with different content; bump the version",
        )
    if not state.exists:
        api.create_repo(repo_id, private=private, exist_ok=True)
        state.head, state.head_files = _files_at(api, repo_id, "main")
    ops = _operations(files, state)
    additions = [op for op in ops if hasattr(op, "upload_info")]
    api.preupload_lfs_files(repo_id, additions=additions)
    signed = any(f.path == "model.sig" for f in files)
    info = api.create_commit(
        repo_id,
        operations=ops,
        parent_commit=state.head,
        commit_message=f"Release {spec.name} {tag}",
        commit_description=f"Published by tinyrel: {len(files)} files, {'signed' if signed else 'unsigned'}.",
    )
    try:
        api.create_tag(repo_id, tag=tag, revision=info.oid, tag_message=f"{spec.name} {tag}")
    except errors.HfHubHTTPError as exc:
        if getattr(exc.response, "status_code", None) != 409:
            raise
        raise TinyrelError("publish/tag-exists", f"tag {tag} was created concurrently; re-run to check it") from None
    return info.oid


def _hub_lock_entry(spec: ReleaseSpec, uri: str, token: str | None, report: Report):
    """The published commit as a lock entry, resolved from the Hub itself."""
    from tinyrel.sources.lock import lock_source

    entry, findings = lock_source(uri, spec.name, None, token)
    report.extend(findings.findings)
    return entry


def _check_hosted(files: list[ReleaseFile], entry, report: Report) -> None:
    """Read-back: the Hub must report every released file with the size and SHA-256 we sent."""
    # model.sig is compared by presence only: a re-run that finds the release already tagged
    # signs afresh (ECDSA is randomised) but keeps the published signature.
    hosted = {f["path"]: (f["size"], f["sha256"]) for f in entry.files if f["path"] not in GIT_PATHS}
    sent = {f.path: (f.size, f.sha256) for f in files}
    if "model.sig" in sent and "model.sig" in hosted:
        hosted["model.sig"] = sent["model.sig"]
    if hosted != sent:
        differing = sorted(p for p in set(hosted) | set(sent) if hosted.get(p) != sent.get(p))
        raise TinyrelError("publish/readback", f"the Hub's {entry.uri} differs from the release in {differing}")
    report.info("publish/readback", f"the Hub reports the same size and SHA-256 for all {len(sent)} files")


def _pin_lock(ws: Workspace, spec: ReleaseSpec, entry, report: Report) -> None:
    """Point the workspace lock at the published commit (atomically), so ``weight-distribution`` passes."""
    from tinyrel.sources.lock import Lock, read_lock, write_lock

    lock = read_lock(ws.lock_path) if ws.lock_path.is_file() else Lock([])
    write_lock(ws.lock_path, Lock([*(s for s in lock.sources if s.name != spec.name), entry]))
    if not entry.public:
        report.warning("publish/private", f"{entry.uri} is private: weight-distribution needs a public host")


def _plan_text(plan: dict, state: RemoteState) -> str:
    repo = "exists" if state.exists else "will be created"
    lines = [f"plan for hf://{plan['repo_id']} ({plan['tag']}; repo {repo}):"]
    for row in plan["files"]:
        lines.append(f"  {row['status']:<24} {row['size']:>14,}  {row['path']}")
    lines.append(f"  total {plan['bytes']:,} bytes; to upload {plan['upload_bytes']:,} bytes")
    return "\n".join(lines)
