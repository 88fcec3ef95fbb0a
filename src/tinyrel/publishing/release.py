"""The content of a release: weights (by reference to verified local files) plus generated metadata.

Every file carries its size and SHA-256 before anything is uploaded.  The weights' digests come
from the manifest, which the gate has just verified against the bytes on disk (per-tensor digests,
header digests and exact tiling; full SHA-256 for the other files), so the upload and the signature
reuse them instead of hashing gigabytes again.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path

from tinyrel.evidence.records import MAX_RECORDS_BYTES
from tinyrel.findings import Report, TinyrelError
from tinyrel.policy.gate import GateResult
from tinyrel.release_files import (
    CARD,
    LOCK,
    MANIFEST,
    RELEASE_FILES,
    SIGNATURE,
    SPEC_SNAPSHOT,
    is_release_metadata,
)
from tinyrel.safe_io import checked_relpath, read_bytes_capped, read_small
from tinyrel.signing.files import GIT_PATHS
from tinyrel.sources.lock import Lock
from tinyrel.sources.resolve import LockedSource
from tinyrel.weights import manifest as mf
from tinyrel.workspace.spec import MAX_SPEC_BYTES, ReleaseSpec


def release_facts(*, destination: str, mode: str, signer=None, repo_id: str | None = None, tag: str | None = None,
                  private: bool = False):  # fmt: skip
    """The facts the card states about this release, from what this run will really do."""
    from tinyrel.card.render import ReleaseFacts

    facts = ReleaseFacts(destination=destination, mode=mode, repo_id=repo_id, tag=tag, private=private)
    if signer is not None:
        facts.signing = signer.method
        if signer.method == "sigstore":
            facts.sigstore_identity, facts.sigstore_issuer = signer.identity()
    return facts


def spec_label(ws, spec: ReleaseSpec) -> str:
    """The spec's path as the user names it in the workspace (``release/NAME.toml``), for errors."""
    try:
        return spec.path.relative_to(ws.root).as_posix()
    except ValueError:
        return str(spec.path)


def publish_mode(spec: ReleaseSpec, mode: str | None, spec_label: str) -> str:
    """What to publish: ``mode`` as asked, or the spec's ``distribution.mode`` when it is decided.

    A mode that contradicts a decided spec is refused: the reviewed spec says what this release is,
    and ``publish`` must not quietly ship weights for a release declared metadata-only (or the
    reverse).  ``spec_label`` names the spec in the error."""
    from tinyrel.policy.spec_text import spec_line

    decided = spec.distribution_mode
    if mode is None:
        if decided == "undecided":
            raise TinyrelError("usage/mode", 'publish needs --mode metadata or --mode weights: the spec\'s '
                               'distribution.mode is "undecided"', usage=True, path=spec_label,
                               line=spec_line(spec, "mode", "distribution"))  # fmt: skip
        return decided
    if decided != "undecided" and mode != decided:
        raise TinyrelError("usage/mode-mismatch", f'--mode {mode} contradicts the spec\'s distribution.mode = '
                           f'"{decided}": publish --mode {decided}, or change distribution.mode in the spec',
                           usage=True, path=spec_label, line=spec_line(spec, "mode", "distribution"))  # fmt: skip
    return mode


def publish_repo(spec: ReleaseSpec, repo_id: str | None, spec_label: str, allow_other_repo: bool = False) -> str:
    """The Hub repo to publish to: ``repo_id`` as asked, or the spec's ``[distribution] repo_id``.

    A ``repo_id`` other than the spec's is refused unless ``allow_other_repo`` says it is meant (a
    staging copy, a test): the card and ``release.toml`` then name the repo it was really published to."""
    from tinyrel.sources.uri import is_repo_id

    line = spec.lines.get("distribution.repo_id") or None
    if repo_id is None:
        if spec.repo_id is None:
            raise TinyrelError("usage/repo-id", "no Hub repo to publish to: pass --repo-id ORG/NAME or set "
                               "[distribution] repo_id in the spec (or --out DIR for a local metadata release)",
                               usage=True, path=spec_label)  # fmt: skip
        return spec.repo_id
    if not is_repo_id(repo_id):
        raise TinyrelError("usage/repo-id", f"--repo-id must look like ORG/NAME, got {repo_id!r}", usage=True)
    if spec.repo_id is not None and repo_id != spec.repo_id and not allow_other_repo:
        raise TinyrelError("usage/repo-id-mismatch", f"--repo-id {repo_id} is not the spec's [distribution] repo_id "
                           f"({spec.repo_id}): drop --repo-id to publish there, edit the spec, or add "
                           f"--allow-other-repo to publish this release to {repo_id}", usage=True, path=spec_label,
                           line=line)  # fmt: skip
    return repo_id


@dataclass
class PublishResult:
    """What a publish did (or, in a dry run, would do): its findings and data (``report``: plan,
    commit, files…) and the gate it ran first (``gate``: blockers, the card as published)."""

    report: Report
    gate: GateResult


@dataclass
class ReleaseFile:
    """One file of the release: either a local file (``source``) or generated bytes (``content``)."""

    path: str
    size: int
    sha256: str
    source: Path | None = None
    content: bytes | None = None

    @classmethod
    def generated(cls, path: str, content: bytes) -> ReleaseFile:
        return cls(path, len(content), hashlib.sha256(content).hexdigest(), content=content)

    @property
    def is_weight(self) -> bool:
        return self.source is not None


REDACTED_LOCAL = "redacted:local-path"
SNAPSHOT_NOTE = (
    "# Snapshot of the release spec as published by tinyrel: comments dropped, local paths of the\n"
    "# publisher's machine replaced by where the weights can be obtained (or redacted:local-path).\n"
)


def public_source(ctx_lock: LockedSource | None, spec_source: str, hosted_uri: str | None, pin: str = "") -> str:
    """The weights' source as a public file may state it: never a local path of the publisher, and a
    public pin only as the Hub confirmed it for this run (``pin``: ``GateContext.pin``) — a lock
    that merely claims one (or one the Hub refuted, published under ``--allow``) is not stated."""
    if hosted_uri:
        return hosted_uri
    if pin == "confirmed" and ctx_lock is not None:
        return f"{ctx_lock.uri.split('@')[0]}@{ctx_lock.revision}"
    if spec_source.startswith(("hf://", "hf-cache://", "oci://")):
        return spec_source
    return REDACTED_LOCAL


def spec_snapshot(spec_path: Path, source: str, repo_id: str | None = None, base_source: str | None = None) -> bytes:
    """The spec re-serialised (tomli_w) with ``weights.source`` replaced by its public form, and
    ``distribution.repo_id`` by the repo the release is published to: the signed statement of where
    this release belongs, which ``verify`` and ``pull`` compare with the repo asked for.  ``[base]
    source`` is replaced by ``base_source`` (its pinned commit, or ``redacted:local-path``)."""
    import tomllib

    import tomli_w

    from tinyrel.workspace.spec_variants import public_variant_sources

    doc = tomllib.loads(read_small(spec_path, MAX_SPEC_BYTES))
    doc["weights"]["source"] = source
    if base_source is not None and isinstance(doc.get("base"), dict):
        doc["base"]["source"] = base_source
    public_variant_sources(doc)
    if repo_id is not None:
        doc.setdefault("distribution", {})["repo_id"] = repo_id
    return (SNAPSHOT_NOTE + tomli_w.dumps(doc)).encode("utf-8")


def public_base_source(base) -> str | None:
    """``[base] source`` as a published spec may state it (``base``: ``tinyrel.policy.base_pin.BaseFacts``):
    its pinned commit when the Hub confirmed it, a Hub source as written, never a directory of this machine."""
    if base is None:
        return None
    if base.pin == "confirmed" and base.pinned_uri:
        return base.pinned_uri
    return base.spec.source if base.spec.source.startswith(("hf://", "hf-cache://")) else REDACTED_LOCAL


def public_lock_entry(entry: LockedSource, pin: str = "") -> LockedSource:
    """The lock entry as a published file may state it: no local path, and ``public``/``durable``
    only for a pin the Hub confirmed in this run (``pin``: ``GateContext.pin``)."""
    from tinyrel.policy.checks import lock_is_public_pin

    if entry.kind not in ("hub", "oci") and not entry.uri.startswith("hf-cache://"):
        # a local directory, or a cache snapshot outside the cache in use: its uri is a path of this machine
        return dataclasses.replace(entry, uri=REDACTED_LOCAL)
    if lock_is_public_pin(entry) and pin != "confirmed":
        return dataclasses.replace(entry, public=False, durable=False)
    return entry


def metadata_files(result: GateResult, lock_entry: LockedSource | None = None, hosted_uri: str | None = None):
    """Card, spec snapshot, manifest and lock entry — what a metadata-only release consists of.

    ``lock_entry`` replaces the workspace's lock entry (a hosted release describes itself).
    """
    ctx = result.context
    source = public_source(ctx.lock, ctx.spec.weights_source, hosted_uri, ctx.pin)
    base_source = public_base_source(ctx.base)
    files = [
        ReleaseFile.generated(CARD, result.card.encode("utf-8")),
        ReleaseFile.generated(SPEC_SNAPSHOT, spec_snapshot(ctx.spec.path, source, result.facts.repo_id, base_source)),
    ]
    manifest_path = ctx.ws.manifest_path(ctx.spec.name)
    if manifest_path.is_file():
        files.append(ReleaseFile.generated(MANIFEST, read_bytes_capped(manifest_path, mf.MAX_MANIFEST_BYTES)))
    entry = lock_entry or (public_lock_entry(ctx.lock, ctx.pin) if ctx.lock is not None else None)
    if entry is not None:
        # The base's pin rides in the signed lock: model.sig covers what a consumer must fetch to load the release.
        base = [public_lock_entry(ctx.base.entry, ctx.base.pin)] if ctx.base is not None and ctx.base.entry else []
        files.append(ReleaseFile.generated(LOCK, Lock([entry, *base]).to_toml().encode("utf-8")))
    files += evidence_files(result)
    return files


def evidence_files(result: GateResult) -> list[ReleaseFile]:
    """The per-item records (``evals/``) and, for Hub benchmark datasets, ``.eval_results/<id>.yaml``."""
    import yaml
    from huggingface_hub import EvalResultEntry, eval_result_entries_to_yaml

    from tinyrel.card.render import records_url

    ctx = result.context
    files = []
    for evidence in ctx.evidence.values():
        for workspace_path, release_path in evidence.release_files():
            files.append(ReleaseFile.generated(release_path, read_bytes_capped(ctx.ws.root / workspace_path,
                                                                              MAX_RECORDS_BYTES)))  # fmt: skip
        e = evidence.eval
        if e.dataset_id and e.task_id and evidence.tuned is not None and ctx.spec.variant is None:  # not a variant's
            url = records_url(result.facts, evidence.release_files()[0][1])
            entry = EvalResultEntry(
                dataset_id=e.dataset_id, task_id=e.task_id, value=round(evidence.tuned.score, 4),
                dataset_revision=e.dataset_revision, notes=f"n={evidence.tuned.n}, recomputed from per-item records",
                **({"source_url": url, "source_name": "per-item records"} if url else {}),
            )  # fmt: skip
            text = yaml.safe_dump(eval_result_entries_to_yaml([entry]), sort_keys=False)
            files.append(ReleaseFile.generated(f".eval_results/{e.id}.yaml", text.encode("utf-8")))
    from tinyrel.publishing.variant_files import variant_release_files

    return files + [ReleaseFile.generated(path, data) for path, data in variant_release_files(result)]


def private_paths(result: GateResult) -> list[str]:
    """Absolute paths of the publisher's machine that must not appear in a published file."""
    import os

    ctx = result.context
    candidates = {Path.home(), ctx.ws.root, Path.cwd()}
    if ctx.weights_dir is not None:
        candidates |= {ctx.weights_dir, Path(os.path.abspath(ctx.weights_dir))}
    from tinyrel.sources.uri import hub_cache_dir

    candidates.add(hub_cache_dir())
    out = set()
    for path in candidates:
        for form in (str(path), str(Path(path).resolve()) if Path(path).exists() else str(path)):
            if len(form) > 1 and form not in ("/", "/tmp", "/private/tmp"):
                out.add(form)
    return sorted(out, key=len, reverse=True)


def check_no_local_paths(files: list[ReleaseFile], result: GateResult) -> None:
    """Refuse to publish a generated file that names a local path of the publisher's machine."""
    import re

    forbidden = [(p, re.compile(rf"(?<![\w.:/-]){re.escape(p)}(?![\w.-])")) for p in private_paths(result)]
    for release_file in files:
        if release_file.content is None:
            continue
        text = release_file.content.decode("utf-8", errors="replace")
        for path, pattern in forbidden:
            if pattern.search(text):
                raise TinyrelError(
                    "publish/local-path",
                    f"{release_file.path} would publish a local path of this machine ({path}); "
                    "remove it from the spec or card template",
                    path=release_file.path,
                )


def weight_files(result: GateResult, report: Report) -> list[ReleaseFile]:
    """The verified local weight files, with the manifest's digests."""
    ctx = result.context
    weights_dir = ctx.weights_dir
    if weights_dir is None or ctx.manifest is None:
        raise TinyrelError(
            "publish/no-weights",
            "publish --mode weights needs the weights on this machine and a manifest (tinyrel manifest)",
        )
    reserved = {*RELEASE_FILES, *GIT_PATHS}
    files = []
    for entry in ctx.manifest["files"]:
        if entry["path"] in reserved or is_release_metadata(entry["path"]):
            report.info("publish/replaced", f"{entry['path']} from the weights directory is replaced by the release's")
            continue
        if not entry.get("sha256"):
            raise TinyrelError("publish/no-digest", f"the manifest has no sha256 for {entry['path']}; rebuild it")
        source = Path(weights_dir) / checked_relpath(entry["path"])
        files.append(ReleaseFile(entry["path"], entry["size"], entry["sha256"], source=source))
    return files


def hosted_lock_entry(name: str, repo_id: str, tag: str, weights: list[ReleaseFile], public: bool) -> LockedSource:
    """The lock entry a hosted release carries: its weights at its tag, from the verified digests.

    It cannot name the commit (the commit contains it), and it must not depend on the publisher's
    workspace lock, so that a re-run produces byte-identical metadata and converges.
    """
    files = [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in sorted(weights, key=lambda f: f.path)]
    return LockedSource(name, f"hf://{repo_id}@{tag}", "hub", files, tag, durable=False, public=public)


def signature_file(files: list[ReleaseFile], model_name: str, signer) -> ReleaseFile:
    """``model.sig``: an OMS bundle over every other file of the release (git metadata ignored)."""
    from tinyrel.signing.sign import sign_digests

    digests = {f.path: f.sha256 for f in files}
    bundle = sign_digests(model_name, digests, [*GIT_PATHS, SIGNATURE], signer)
    return ReleaseFile.generated(SIGNATURE, bundle.encode("utf-8"))


def attestations(result: GateResult, files: list[ReleaseFile]):
    """The release's in-toto statements and ML-BOM (``tinyrel.attesting``), built from the gate and the
    digests of ``files`` and checked for local paths like every generated file; they are signed with
    ``model.sig`` (``signed_attestations``), by the same signer."""
    from tinyrel.attesting.build import build_attestations

    built = build_attestations(result, {f.path: f.sha256 for f in files}, SPEC_SNAPSHOT)
    check_no_local_paths([ReleaseFile.generated(path, data) for path, data in built.unsigned().items()], result)
    return built


def signed_attestations(built, signer) -> list[ReleaseFile]:
    """The attestation files, each statement signed by ``signer`` in a Sigstore bundle."""
    return [ReleaseFile.generated(path, data) for path, data in sorted(built.sign(signer).items())]
