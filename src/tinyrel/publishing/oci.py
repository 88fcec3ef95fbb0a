"""Publish a release to an OCI registry: a CNCF ModelPack artifact tagged ``v<version>``, its
``model.sig`` attached as an OCI referrer.

The Hub's promises, in the registry's terms:

1. checks that need no upload — mode, the repository reference, credentials, the signing key, the
   gate, local paths, the tag — run first, identically in ``--dry-run`` and in the real run;
2. every blob the registry lacks is sent (HEAD first, so a re-run after a killed push sends only
   what is missing; blobs are invisible until a manifest names them); Ctrl-C stops at once;
3. the model manifest is pushed by digest, untagged; ``model.sig`` — signed while the weights
   upload, over the same files and digests as on the Hub — is attached to it as a referrer (a re-run
   that finds a referrer of this very manifest that verifies with the signer's key reuses it);
4. the tag, last: whoever finds the tag finds every blob and the signature.  A tag that names
   another manifest is never moved (``publish/tag-exists``);
5. read-back: the tag resolves to the manifest sent; with the weights, the workspace lock is pinned
   to ``oci://HOST/PATH@sha256:…`` (resolved from the registry).
"""

from __future__ import annotations

import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from tinyrel.findings import Report, TinyrelError
from tinyrel.oci.client import MANIFEST_TYPE, OciClient
from tinyrel.oci.reference import OciRef, parse_repo
from tinyrel.policy.gate import check_overrides, run_gate
from tinyrel.publishing.oci_artifact import CHANGELOG, Artifact, build_artifact
from tinyrel.publishing.release import (
    SNAPSHOT_NOTE,
    PublishResult,
    ReleaseFile,
    check_no_local_paths,
    metadata_files,
    publish_mode,
    release_facts,
    signature_file,
    spec_label,
    weight_files,
)
from tinyrel.release_files import SIGNATURE, SPEC_SNAPSHOT
from tinyrel.sources.resolve import LockedSource
from tinyrel.workspace.layout import Workspace
from tinyrel.workspace.spec import ReleaseSpec

LEFT = "nothing was tagged: re-run the same command to resume (blobs already sent are not sent again)"


@dataclass
class RegistryState:
    """What the registry holds now: the tag's manifest digest, the blobs, this manifest and a
    signature of it by this signer (from an interrupted run)."""

    tag_digest: str | None = None
    present: set[str] = field(default_factory=set)
    manifest: bool = False  # the manifest is there already (by digest), from an interrupted run
    signature: str | None = None  # the digest of a referrer of this manifest that verifies with the signer


def publish_to_oci(ws: Workspace, spec: ReleaseSpec, *, oci_repo: str, plain_http: bool = False,
                   mode: str | None = None, signer=None, dry_run: bool = False,
                   overrides: dict[str, str] | None = None) -> PublishResult:  # fmt: skip
    """Gate, plan, sign and push one release to ``oci_repo`` (see the module docstring for the order)."""
    mode = publish_mode(spec, mode, spec_label(ws, spec))
    ref = parse_repo(oci_repo)
    check_overrides(spec, overrides or {})
    if signer is not None:
        signer.check()
    tag = f"v{spec.version}"
    client = OciClient(ref, plain_http=plain_http)
    facts = release_facts(destination="oci", mode=mode, signer=signer, tag=tag)
    facts.oci_repo = ref.repo
    if mode == "weights":
        facts.weights_location = f"in this OCI artifact, {ref.at(tag=tag).uri}."
    result = run_gate(ws, spec, mode=mode, require_weights=mode == "weights", overrides=overrides, facts=facts)
    report = result.report
    outcome = PublishResult(report, result)
    if not report.ok:
        report.error("publish/refused", "the release gate failed; nothing was uploaded")
        return outcome
    files = release_files(ws, result, ref, tag, mode, report)
    check_no_local_paths(files, result)
    changelog = next((f.content.decode("utf-8", "replace") for f in files if f.path == CHANGELOG and f.content), None)
    artifact = build_artifact(files, spec, result.context.manifest, changelog)
    if signer is None:
        will = "will have" if dry_run else "has"
        report.warning("publish/unsigned", f"no signing key given: the release {will} no model.sig to verify against")
    state = registry_state(client, artifact, tag, files, signer)
    action = "done" if state.tag_digest == artifact.digest else "push"
    rows = plan_rows(artifact, state, action, signer is not None)
    report.data["dry_run"] = dry_run
    report.data["plan"] = {
        "oci_repo": ref.repo, "tag": tag, "mode": mode, "action": action, "files": rows,
        "file_count": len(files) + (signer is not None), "bytes": sum(f.size for f in files),
        "upload_bytes": sum(r["size"] for r in rows if r["status"] == "upload"), "signed": signer is not None,
        "manifest_digest": artifact.digest, "existing_manifest": state.tag_digest,
    }  # fmt: skip
    if dry_run:
        return outcome
    if action == "done":
        report.info("publish/already-published", f"{tag} already names this release ({artifact.digest[:19]}) in "
                    f"oci://{ref.repo}")  # fmt: skip
    else:
        how = push(client, artifact, state, files, spec, signer, report)
        tag_last(client, artifact, tag)
        report.data["signature_via"] = how
    _readback(client, artifact, tag, report)
    if mode == "weights":
        _pin_lock(ws, spec, client, artifact.digest, report)
    report.data.update({"oci_repo": ref.repo, "tag": tag, "digest": artifact.digest, "files": len(files)
                        + (signer is not None), "uri": ref.at(digest=artifact.digest).uri})  # fmt: skip
    return outcome


def release_files(ws: Workspace, result, ref: OciRef, tag: str, mode: str, report: Report) -> list[ReleaseFile]:
    """The Hub release's files (the spec snapshot naming this repository), plus ``CHANGELOG.md``."""
    if mode == "weights":
        weights = weight_files(result, report)
        entry = _release_lock_entry(result.context.spec.name, ref, tag, weights)
        files = weights + metadata_files(result, entry, ref.at(tag=tag).uri)
    else:
        files = metadata_files(result)
    files = [_with_oci_repo(f, ref) if f.path == SPEC_SNAPSHOT else f for f in files]
    if ws.changelog.is_file():
        if any(f.path == CHANGELOG for f in files):
            report.info("publish/replaced", f"{CHANGELOG} from the weights directory is replaced by the release's")
            files = [f for f in files if f.path != CHANGELOG]
        files.append(ReleaseFile.generated(CHANGELOG, ws.changelog.read_bytes()))
    return files


def _release_lock_entry(name: str, ref: OciRef, tag: str, weights: list[ReleaseFile]) -> LockedSource:
    """The lock entry the artifact carries: its weights at its tag (it cannot name its own digest)."""
    files = [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in sorted(weights, key=lambda f: f.path)]
    return LockedSource(name, ref.at(tag=tag).uri, "oci", files, tag, durable=False)


def _with_oci_repo(snapshot: ReleaseFile, ref: OciRef) -> ReleaseFile:
    """``release.toml`` stating the repository it is published to (``[distribution] oci_repo``): the
    signed statement ``verify`` and ``pull`` compare with the repository asked for."""
    import tomli_w

    assert snapshot.content is not None
    doc = tomllib.loads(snapshot.content.decode("utf-8"))
    doc.setdefault("distribution", {})["oci_repo"] = ref.repo
    return ReleaseFile.generated(SPEC_SNAPSHOT, (SNAPSHOT_NOTE + tomli_w.dumps(doc)).encode("utf-8"))


def registry_state(client: OciClient, artifact: Artifact, tag: str, files: list[ReleaseFile], signer) -> RegistryState:
    """The tag (refused if it names another manifest, or this one signed by someone else), the
    blobs already there, and a signature of this manifest by this signer."""
    state = RegistryState()
    existing = client.fetch_manifest(tag)
    if existing is not None:
        state.tag_digest = existing.digest
        if existing.digest != artifact.digest:
            raise TinyrelError("publish/tag-exists", f"tag {tag} already names another manifest "
                               f"({existing.digest[:19]}) in oci://{client.ref.repo}; bump the version")  # fmt: skip
    blobs = {layer.digest: layer.size for layer, _ in artifact.layers} | {artifact.config_digest: len(artifact.config)}
    state.present = {digest for digest, size in blobs.items() if client.has_blob(digest, size)}
    state.manifest = existing is not None or client.fetch_manifest(artifact.digest) is not None
    if signer is not None and state.manifest:
        state.signature = _signed_by(client, artifact.digest, files, signer)
        if existing is not None and state.signature is None:
            raise TinyrelError("publish/tag-signed-elsewhere", f"tag {tag} holds this release, but no signature "
                               "attached to it verifies with the given signing key; it was not signed by "
                               "you")  # fmt: skip
    return state


def _signed_by(client: OciClient, subject: str, files: list[ReleaseFile], signer) -> str | None:
    """The digest of a signature referrer of ``subject`` that verifies with ``signer``'s own trust
    material over exactly these files, or ``None``."""
    from tinyrel.oci.referrers import signatures
    from tinyrel.verifying.bundle import check_signature, verifier_for_signer

    expected = {f.path: f.sha256 for f in files}
    found, _ = signatures(client, subject)
    for referrer in found:
        with tempfile.TemporaryDirectory(prefix="tinyrel-sig-") as tmp:
            bundle = Path(tmp) / SIGNATURE
            bundle.write_bytes(referrer.bundle)
            with verifier_for_signer(signer, Path(tmp)) as config:
                signed = check_signature(bundle, config, Report())
        if signed is not None and signed.digests == expected:
            return referrer.digest
    return None


def plan_rows(artifact: Artifact, state: RegistryState, action: str, signed: bool) -> list[dict[str, object]]:
    """One row per file: ``upload``, ``blob already in the registry``, ``unchanged in the registry``
    (the tag already names this release) — and ``model.sig``: ``signed at publish``, or kept."""
    rows = []
    for layer, f in sorted(artifact.layers, key=lambda pair: pair[0].path):
        status = ("unchanged in the registry" if action == "done" else
                  "blob already in the registry" if layer.digest in state.present else "upload")  # fmt: skip
        rows.append({"path": f.path, "size": f.size, "sha256": f.sha256, "status": status, "layer": layer.media_type})
    if signed:
        kept = action == "done" or state.signature is not None
        rows.append({"path": SIGNATURE, "size": None, "sha256": None, "layer": "referrer",
                     "status": "attached in the registry" if kept else "signed at publish"})  # fmt: skip
    return rows


def push(client: OciClient, artifact: Artifact, state: RegistryState, files: list[ReleaseFile], spec, signer,
         report: Report) -> str | None:  # fmt: skip
    """Blobs (the missing ones, four at a time, signing meanwhile), the config, the manifest by
    digest, then the signature referrer.  Returns how the referrer is found (``None``: unsigned)."""
    from tinyrel.oci import referrers, transfer
    from tinyrel.oci.modelpack import EMPTY_DIGEST, signature_manifest
    from tinyrel.progress import byte_progress

    sending: dict[str, tuple[object, ReleaseFile]] = {}
    for layer, f in artifact.layers:
        if layer.digest not in state.present:
            sending.setdefault(layer.digest, (layer, f))
    signed: list[ReleaseFile] = []

    def sign() -> None:
        if signer is not None and state.signature is None:
            signed.append(signature_file(files, spec.name, signer))

    with tempfile.TemporaryDirectory(prefix="tinyrel-oci-") as scratch, \
            byte_progress("uploading", sum(f.size for _, f in sending.values())) as advance:  # fmt: skip

        def send(pair) -> None:
            layer, f = pair
            if f.content is not None:
                client.push_bytes(f.content, Path(scratch))
                advance(f.size)
            else:
                client.push_file(f.source, layer.digest, layer.size, advance)

        try:
            transfer.each(client, list(sending.values()), send, "upload", LEFT, meanwhile=sign)
        except TinyrelError as exc:
            raise TinyrelError(exc.code, f"{exc.message}; {LEFT}", path=exc.path) from None
        client.push_bytes(artifact.config, Path(scratch))
        if not state.manifest:
            client.put_manifest(artifact.digest, artifact.manifest, MANIFEST_TYPE)
        report.info("publish/uploaded", f"{len(sending)} blob(s) sent, {len(artifact.layers) - len(sending)} already "
                    "in the registry")  # fmt: skip
        if signer is None:
            return None
        if state.signature is not None:
            report.info("publish/recovered", f"a signature of this manifest by this signer is already attached "
                        f"({state.signature[:19]}, an interrupted publish); reusing it")  # fmt: skip
            return "existing"
        bundle = signed[0]
        assert bundle.content is not None
        digest, size = client.push_bytes(bundle.content, Path(scratch))
        if client.push_bytes(b"{}", Path(scratch))[0] != EMPTY_DIGEST:  # pragma: no cover - sha256 of "{}"
            raise AssertionError("empty config digest")
        referrer = signature_manifest(digest, size, artifact.digest, len(artifact.manifest))
        import hashlib

        return referrers.attach(client, referrer, "sha256:" + hashlib.sha256(referrer).hexdigest(), artifact.digest)


def tag_last(client: OciClient, artifact: Artifact, tag: str) -> None:
    """The tag, once everything it will name is in place — unless someone tagged meanwhile."""
    existing = client.fetch_manifest(tag)
    if existing is not None and existing.digest != artifact.digest:
        raise TinyrelError("publish/tag-exists", f"tag {tag} was created concurrently ({existing.digest[:19]}); "
                           "re-run to check it")  # fmt: skip
    client.put_manifest(tag, artifact.manifest, MANIFEST_TYPE)


def _readback(client: OciClient, artifact: Artifact, tag: str, report: Report) -> None:
    fetched = client.fetch_manifest(tag)
    if fetched is None or fetched.digest != artifact.digest:
        raise TinyrelError("publish/readback", f"tag {tag} in oci://{client.ref.repo} does not name the manifest "
                           f"sent ({artifact.digest[:19]})")  # fmt: skip
    report.info("publish/readback", f"tag {tag} names the manifest sent ({artifact.digest[:19]}, "
                f"{len(artifact.layers)} layers)")  # fmt: skip


def _pin_lock(ws: Workspace, spec: ReleaseSpec, client: OciClient, digest: str, report: Report) -> None:
    """Point the workspace lock at the published manifest, resolved from the registry itself."""
    from tinyrel.sources.lock import update_lock
    from tinyrel.sources.resolve import resolve_oci

    found = Report()
    entry = resolve_oci(client.ref.at(digest=digest), spec.name, found, plain_http=client.plain_http)
    report.extend(found.findings)
    if found.ok:
        update_lock(ws.lock_path, entry)
        report.info("publish/lock-pinned", f"the workspace lock pins {entry.uri}"
                    + ("" if entry.public else " (not readable without credentials)"))  # fmt: skip
