"""Publish a release to the Hugging Face Hub as one commit, tagged ``v<version>``.

Order matters for "nothing half-published is ever visible" and "a re-run converges":

1. checks that need no upload — mode and repo against the spec, token, signing key, gate, local
   paths, the repo's visibility, the tag — run first, identically in ``--dry-run`` and in the real
   run, so a dry run fails wherever the real run would;
2. a repo tinyrel creates is created *private*; it is made public only after the release commit
   and its tag exist, so a publish that dies early leaves nothing public behind;
3. the LFS blobs the Hub does not have yet are uploaded — invisible until a commit references
   them, and skipped on a re-run; Ctrl-C stops the upload at once (exit 130), before any commit;
4. one commit (with ``parent_commit``, so a concurrent push fails instead of interleaving) holding
   weights, card, manifest, lock, spec snapshot, the attestations and ``model.sig``, deleting stale
   files; a re-run that finds this very release untagged at the branch head (a crash between commit
   and tag) tags it instead of committing again;
5. the tag — refused if it already names a different release, or one signed by someone else;
6. the workspace lock, rewritten to ``hf://ORG/NAME@<commit>`` — only for a public release.
"""

from __future__ import annotations

from tinyrel.findings import Report, TinyrelError
from tinyrel.hub.client import hub_api, uses_xet
from tinyrel.hub.errors import hub_errors
from tinyrel.policy.gate import check_overrides, run_gate
from tinyrel.publishing.hub_plan import (
    Plan,
    RemoteState,
    decide,
    files_at,
    plan_rows,
    release_file_count,
    remote_state,
)
from tinyrel.publishing.release import (
    PublishResult,
    ReleaseFile,
    attestations,
    check_no_local_paths,
    hosted_lock_entry,
    metadata_files,
    publish_mode,
    publish_repo,
    release_facts,
    signature_file,
    signed_attestations,
    spec_label,
    weight_files,
)
from tinyrel.release_files import SIGNATURE, made_at_signing
from tinyrel.signing.files import GIT_PATHS
from tinyrel.workspace.layout import Workspace
from tinyrel.workspace.spec import ReleaseSpec


def _additions(files: list[ReleaseFile]) -> list[object]:
    from huggingface_hub import CommitOperationAdd

    ops: list[object] = []
    for f in files:
        op = CommitOperationAdd(f.path, f.content if f.content is not None else str(f.source))
        op.upload_info.sha256 = bytes.fromhex(f.sha256)  # verified by the gate: no second hashing pass
        ops.append(op)
    return ops


def _deletions(files: list[ReleaseFile], state: RemoteState) -> list[object]:
    """The files at the branch head that this release does not hold."""
    from huggingface_hub import CommitOperationDelete

    wanted = {f.path for f in files}
    return [CommitOperationDelete(path) for path in sorted(state.head_files) if path not in wanted]


def publish_to_hub(
    ws: Workspace,
    spec: ReleaseSpec,
    *,
    mode: str | None = None,
    repo_id: str | None = None,
    signer=None,
    private: bool = False,
    dry_run: bool = False,
    overrides: dict[str, str] | None = None,
    allow_other_repo: bool = False,
) -> PublishResult:
    """Gate, plan, sign and push one release to ``repo_id`` (see the module docstring for the order).

    ``mode`` and ``repo_id`` default to the spec's ``[distribution]``; one that contradicts it is
    refused (``allow_other_repo``: another repo is meant).  ``dry_run`` makes every check the real
    run makes — a missing token included — and returns the plan without changing anything.
    """
    from huggingface_hub import get_token

    label = spec_label(ws, spec)
    mode = publish_mode(spec, mode, label)
    repo_id = publish_repo(spec, repo_id, label, allow_other_repo)
    check_overrides(spec, overrides or {})
    token = get_token()
    if token is None:  # the dry run too: it asks the Hub what the real run would meet
        raise TinyrelError("hub/no-token", "no Hub token: set HF_TOKEN or run `hf auth login`")
    if signer is not None:
        signer.check()  # a wrong password or a public key fails here, in a dry run too
    tag = f"v{spec.version}"
    facts = release_facts(destination="hub", mode=mode, signer=signer, repo_id=repo_id, tag=tag, private=private)
    result = run_gate(ws, spec, mode=mode, require_weights=mode == "weights", overrides=overrides, facts=facts)
    report = result.report
    outcome = PublishResult(report, result)
    if not report.ok:
        report.error("publish/refused", "the release gate failed; nothing was uploaded")
        return outcome
    if mode == "weights":
        weights = weight_files(result, report)
        entry = hosted_lock_entry(spec.name, repo_id, tag, weights, public=not private)
        files = weights + metadata_files(result, entry, f"hf://{repo_id}@{tag}")
    else:
        files = metadata_files(result)
    check_no_local_paths(files, result)
    attested = attestations(result, files) if signer is not None else None  # signed with model.sig, below
    later = attested.paths if attested is not None else []
    if signer is None:
        will = "will have" if dry_run else "has"
        report.warning("publish/unsigned", f"no signing key given: the release {will} no model.sig to verify against")
    api = hub_api(token)
    where = f"hf://{repo_id}"
    with hub_errors(where, token):
        state = remote_state(api, repo_id, tag, files, token)
        plan = decide(api, repo_id, tag, files, state, signer, private, token)
    rows = plan_rows(files, state, plan, signer is not None, later)
    report.data["dry_run"] = dry_run
    report.data["plan"] = {
        "repo_id": repo_id,
        "tag": tag,
        "mode": mode,
        "action": plan.action,
        "files": rows,
        "file_count": release_file_count(files, signer is not None, later),
        "bytes": sum(f.size for f in files),
        "upload_bytes": sum(f.size for f in files if _row(rows, f.path) == "upload") if plan.action == "commit" else 0,
        "private": private,
        "signed": signer is not None,
        "existing_commit": plan.commit,
        "repo_exists": state.exists,
        "repo_private": state.private,
        "make_public": plan.make_public,
        "transfer": "xet" if uses_xet() else "lfs",
    }
    if mode == "weights" and private:
        still_open = report.data["checks"].get("weight-distribution") != "pass"  # else the lock pins public weights
        report.warning("publish/lock-not-pinned", "a private release is not a public host: the workspace lock stays "
                       "as it was" + (" and weight-distribution stays open" if still_open else ""))  # fmt: skip
    if dry_run:
        return outcome
    sign = None
    if signer is not None and plan.action == "commit":
        unsigned = list(files)

        def sign() -> list[ReleaseFile]:  # run while the weights upload: it needs only the verified digests
            made = signed_attestations(attested, signer)
            return [*made, signature_file([*unsigned, *made], repo_id.split("/")[1], signer)]

    with hub_errors(where, token):
        commit = _execute(api, repo_id, tag, files, state, plan, spec, report, sign)
        entry = _hub_lock_entry(spec, f"hf://{repo_id}@{commit}", token, report) if mode == "weights" else None
    if entry is not None:
        _check_hosted(files, entry, report)
        if not private:
            _pin_lock(ws, spec, entry)
    count = release_file_count(files, signer is not None, later)
    report.data.update({"commit": commit, "tag": tag, "repo_id": repo_id, "files": count})
    return outcome


def _row(rows: list[dict[str, object]], path: str) -> object:
    return next((r["status"] for r in rows if r["path"] == path), None)


def _execute(api, repo_id: str, tag: str, files, state: RemoteState, plan: Plan, spec, report: Report,
             sign=None) -> str:  # fmt: skip
    from huggingface_hub import errors

    if plan.action == "done":
        report.info("publish/already-published", f"{tag} already holds this release at {plan.commit}")
        commit = plan.commit
    else:
        if plan.action == "tag-head":
            report.info("publish/recovered", f"the branch head {plan.commit} holds this release untagged (an "
                        "interrupted publish); tagging it instead of committing again")  # fmt: skip
            commit = plan.commit
        else:
            if not state.exists:
                # Private until the release is complete: a run that dies early leaves nothing public.
                api.create_repo(repo_id, private=True, exist_ok=True)
                state.head, state.private, state.head_files = files_at(api, repo_id, "main")
            commit = _upload_and_commit(api, repo_id, tag, files, state, spec, sign)
        try:
            api.create_tag(repo_id, tag=tag, revision=commit, tag_message=f"{spec.name} {tag}")
        except errors.HfHubHTTPError as exc:
            if getattr(exc.response, "status_code", None) != 409:
                raise
            raise TinyrelError(
                "publish/tag-exists", f"tag {tag} was created concurrently; re-run to check it"
            ) from None
    assert commit is not None
    if plan.make_public:
        api.update_repo_settings(repo_id, private=False)
        report.info("publish/public", f"hf://{repo_id} is public now that {tag} is complete")
    return commit


def _upload_and_commit(api, repo_id: str, tag: str, files: list[ReleaseFile], state: RemoteState, spec,
                       sign=None) -> str:  # fmt: skip
    """Upload the weights, sign meanwhile (``sign`` gives the attestations and ``model.sig``, added to
    ``files``), commit."""
    from tinyrel.hub.session import report_progress
    from tinyrel.hub.transfer import interruptible, transfer_display

    additions = _additions(files)
    to_send = sum(f.size for f in files if f.is_weight and f.sha256 not in state.present_blobs)

    def upload() -> None:
        from tinyrel.hub.errors import classify

        try:
            api.preupload_lfs_files(repo_id, additions=additions)
        except Exception as exc:
            found = classify(exc, f"hf://{repo_id}")
            if found is None:
                raise
            raise TinyrelError(found.code, f"{found.message}; nothing was committed: re-run the same command to "
                               "resume (blobs already uploaded are not sent again)") from None  # fmt: skip

    def meanwhile() -> None:  # a signing error is raised as itself, once the upload has stopped
        if sign is not None:
            files.extend(sign())

    with transfer_display("uploading", to_send) as advance:
        report_progress("upload", advance)
        try:
            interruptible(upload, "upload", meanwhile)
        finally:
            report_progress("upload", None)
    signed = any(f.path == SIGNATURE for f in files)
    ops = additions + _additions([f for f in files if made_at_signing(f.path)]) + _deletions(files, state)
    info = api.create_commit(
        repo_id,
        operations=ops,
        parent_commit=state.head,
        commit_message=f"Release {spec.name} {tag}",
        commit_description=f"Published by tinyrel: {len(files)} files, {'signed' if signed else 'unsigned'}.",
    )
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
    # keeps the published signature (which verified with the signer's key).
    hosted = {f["path"]: (f["size"], f["sha256"]) for f in entry.files if f["path"] not in GIT_PATHS}
    sent = {f.path: (f.size, f.sha256) for f in files}
    if SIGNATURE in hosted:
        sent[SIGNATURE] = hosted[SIGNATURE]
    sent |= {p: hosted[p] for p in hosted if made_at_signing(p) and p not in sent}  # kept from the published run
    if hosted != sent:
        differing = sorted(p for p in set(hosted) | set(sent) if hosted.get(p) != sent.get(p))
        raise TinyrelError("publish/readback", f"the Hub's {entry.uri} differs from the release in {differing}")
    report.info("publish/readback", f"the Hub reports the same size and SHA-256 for all {len(sent)} files")


def _pin_lock(ws: Workspace, spec: ReleaseSpec, entry) -> None:
    """Point the workspace lock at the published commit (atomically; other entries untouched)."""
    from tinyrel.sources.lock import update_lock

    update_lock(ws.lock_path, entry)
