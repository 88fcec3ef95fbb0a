"""Verify and pull a release from an OCI registry: ``oci://HOST[:PORT]/PATH:TAG`` (or ``@sha256:…``).

The registry is untrusted, and so is anything between it and us.  In order, each step done once:

1. the manifest at the tag or digest, its digest computed from its bytes, every field tinyrel uses
   checked (media types, digests, sizes, safe and unique file paths) before anything is built on it;
2. the signature first: the manifest's referrers (the Referrers API, else the referrers tag
   schema), each naming this manifest as its subject; a bundle that verifies with the trust
   options is kept as ``model.sig`` — a wrong key fails before a layer is fetched;
3. the manifest's layers against the files the bundle signs (path and SHA-256: a raw layer's
   digest is its file's SHA-256), so a manifest that is not the signed release fails before a
   weight byte is fetched;
4. every blob streamed into the staging directory, hashed as it arrives and cut off at its
   declared size (``tinyrel.oci.client.OciClient.fetch_blob``);
5. the tree compared with the bundle (the digests are those computed on arrival), then the signed
   identity (``release.toml``: release, version, ``oci_repo``) with what was asked for.
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from collections.abc import Sequence
from pathlib import Path

from tinyrel.findings import Interrupted, Report, TinyrelError
from tinyrel.oci.client import OciClient
from tinyrel.oci.modelpack import WEIGHT, ModelManifest, read_model_manifest
from tinyrel.oci.reference import OciRef, parse
from tinyrel.release_files import MANIFEST, SIGNATURE, SPEC_SNAPSHOT
from tinyrel.signing.files import GIT_PATHS, is_ignored
from tinyrel.verifying.bundle import SignedManifest, VerifierConfig, check_signature
from tinyrel.verifying.identity import MAX_SNAPSHOT_BYTES, VERSION_REF
from tinyrel.verifying.local import compare_resources, compare_tree, finish

OTHER_LAYER_CAP = 256 * 1024 * 1024  # a file no signed size describes: a card, records, a tokenizer


def oci_ref(uri: str) -> OciRef:
    ref = parse(uri)
    if ref.reference is None:
        raise TinyrelError("usage/oci-ref", f"{uri}: name a tag (:TAG) or a manifest digest (@sha256:…)", usage=True)
    return ref


def verify_oci(uri: str, config: VerifierConfig, signature: Path | None = None, ignore: Sequence[str] = (),
               no_download: bool = False, plain_http: bool = False) -> Report:  # fmt: skip
    """Verify ``oci://…`` into a private scratch directory, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="tinyrel-verify-") as scratch:
        return fetch_verified_oci(uri, config, Path(scratch) / "files", signature, ignore, plain_http,
                                  weights=not no_download)  # fmt: skip


def pull_oci(uri: str, trust: VerifierConfig, local_dir: Path | None = None, plain_http: bool = False) -> Report:
    """A verified copy of ``oci://…`` at ``local_dir`` (default ``./<last path component>``), or
    nothing: staged beside the target, made visible by one rename once every byte verified."""
    from tinyrel.atomic import staged_new_directory
    from tinyrel.verifying.pull import Refused, delivered, empty_target, nothing_written

    ref = oci_ref(uri)
    target = empty_target(Path(os.path.abspath(local_dir or Path(ref.repository.rsplit("/", 1)[-1]))))
    report = Report()
    try:
        with staged_new_directory(target) as stage:
            report = fetch_verified_oci(uri, trust, stage, plain_http=plain_http)
            if not report.ok:
                raise Refused
    except Refused:
        return nothing_written(report, target)
    return delivered(report, target)


def fetch_verified_oci(uri: str, config: VerifierConfig, root: Path, signature: Path | None = None,
                       ignore: Sequence[str] = (), plain_http: bool = False, *,
                       weights: bool = True) -> Report:  # fmt: skip
    """Fetch a signed release into ``root`` and verify it (see the module docstring for the order);
    with ``weights=False`` the weight layers are checked by their descriptors only, not fetched."""
    config.method  # noqa: B018 - the trust options are checked before any network traffic
    ref = oci_ref(uri)
    client = OciClient(ref, plain_http=plain_http)
    fetched = client.fetch_manifest(ref.reference or "")
    if fetched is None:
        raise TinyrelError("verify/not-found", f"{uri}: no such manifest in the registry")
    manifest = read_model_manifest(fetched.body, fetched.digest, uri)
    report = Report()
    report.data.update({"digest": manifest.digest, "target": uri})
    root.mkdir(parents=True, exist_ok=True)
    signed = _signature_first(client, manifest, config, root, signature, report)
    if signed is None:
        return finish(report, uri, config)
    skipped = [*ignore, *signed.ignore_paths, *GIT_PATHS, SIGNATURE]
    wanted = {layer.path: layer for layer in manifest.layers if not is_ignored(layer.path, skipped)}
    if SIGNATURE in {layer.path for layer in manifest.layers}:
        raise TinyrelError("oci/untrusted-response", f"{uri}: a layer claims the path {SIGNATURE}, which is the "
                           "signature's")  # fmt: skip
    if signed.plain_sha256_files:
        precheck = Report()
        listed = {path: layer.sha256 for path, layer in wanted.items()}
        compare_resources(signed.digests, listed, precheck)
        if not precheck.ok:
            report.extend(precheck)
            report.error("verify/listing", "the manifest's layers are not the signed files; no layer was fetched")
            return finish(report, uri, config)
    elif not weights:
        raise TinyrelError("verify/needs-download", f"the bundle uses {signed.serialization.get('method')}/"
                           f"{signed.serialization.get('hash_type')} digests, which a manifest does not carry; "
                           "verify without --no-download")  # fmt: skip
    first = _metadata_first(wanted, uri)
    known = _fetch_all(client, first, root)
    if not _sizes_are_signed(root, signed, wanted, report, uri):
        return finish(report, uri, config)
    if weights:
        known |= _fetch_all(client, [layer for layer in wanted.values() if layer not in first], root)
        compare_tree(root, signed, [*ignore, SIGNATURE], report, known)
        report.data["hashed_while_downloading"] = len(known)
    else:
        report.info("verify/no-download", "checked the manifest's layer digests and sizes against the signature; "
                    f"only {' and '.join(layer.path for layer in first) or 'no file'} was downloaded")  # fmt: skip
    report.data["files"] = len(wanted)
    _check_identity(root, signed, ref, report)
    return finish(report, uri, config)


def _metadata_first(wanted: dict, uri: str) -> list:
    """The files fetched before any other, chosen by their signed path (never by the media type a
    registry gives them): the release's identity and its weights manifest, which states every
    weight's size.  Each is refused before the request if declared larger than such a file is."""
    from tinyrel.weights.manifest import MAX_MANIFEST_BYTES

    first = []
    for path, cap in ((SPEC_SNAPSHOT, MAX_SNAPSHOT_BYTES), (MANIFEST, MAX_MANIFEST_BYTES)):
        layer = wanted.get(path)
        if layer is not None and layer.size > cap:
            raise TinyrelError("oci/untrusted-response", f"{uri}: the manifest declares {path} as {layer.size:,} "
                               f"bytes; tinyrel reads at most {cap:,}")  # fmt: skip
        if layer is not None:
            first.append(layer)
    return first


def _sizes_are_signed(root: Path, signed: SignedManifest, wanted: dict, report: Report, uri: str) -> bool:
    """Every layer's declared size is what the release signed, before any other byte moves: the
    signed manifest's size for a weight file (a registry that declares more would have the client
    write that much), and at most ``OTHER_LAYER_CAP`` for a file the manifest does not describe.
    Without a signed weights manifest (a bundle that signs none, or not by SHA-256), a weight
    layer has only its declared size as its bound."""
    from tinyrel.verifying.fast import manifest_for_fast_path, signed_sizes

    signed_sha256 = signed.digests
    manifest = manifest_for_fast_path(root, signed_sha256) if signed.plain_sha256_files else None
    sizes = signed_sizes(manifest, signed_sha256)
    for path, layer in sorted(wanted.items()):
        if path in sizes and layer.size != sizes[path]:
            report.error("verify/size-mismatch", f"the manifest declares {layer.size:,} bytes, the signed weights "
                         f"manifest {sizes[path]:,}", path)  # fmt: skip
        elif path not in sizes and path not in (SPEC_SNAPSHOT, MANIFEST) and layer.size > OTHER_LAYER_CAP \
                and (manifest is not None or layer.media_type != WEIGHT):  # fmt: skip
            raise TinyrelError("oci/untrusted-response", f"{uri}: the manifest declares {path} as {layer.size:,} "
                               f"bytes, and no signed size says so; tinyrel reads at most {OTHER_LAYER_CAP:,} "
                               "for such a file")  # fmt: skip
    if report.ok:
        return True
    report.error("verify/listing", "the manifest's layers are not the signed files; no weight was fetched")
    return False


def _signature_first(client: OciClient, manifest: ModelManifest, config: VerifierConfig, root: Path,
                     signature: Path | None, report: Report) -> SignedManifest | None:  # fmt: skip
    """The signed manifest of the first signature that verifies with ``config`` — the given file,
    or the registry's referrers of this manifest (written to ``root/model.sig``)."""
    from tinyrel.oci.referrers import signatures

    if signature is not None:
        return check_signature(signature, config, report)
    found, how = signatures(client, manifest.digest)
    report.data["signature_via"] = how
    if not found:
        raise TinyrelError("verify/no-signature", f"{client.ref.at(digest=manifest.digest).uri} has no signature "
                           "referrer (a model.sig attached to the manifest); pass --signature FILE")  # fmt: skip
    bundle = root / SIGNATURE
    attempts = Report()
    for referrer in found:
        bundle.write_bytes(referrer.bundle)
        trial = Report()
        signed = check_signature(bundle, config, trial)
        if signed is not None:
            report.extend(trial)
            report.data["signature_digest"] = referrer.digest
            return signed
        attempts.extend(trial)
    bundle.unlink()
    report.extend(attempts)
    return None


def _fetch_all(client: OciClient, layers: list, root: Path) -> dict[str, str]:
    """Stream every layer into ``root`` (four at a time, one progress display); return the SHA-256s
    computed from the bytes as they were written."""
    from tinyrel.oci import transfer
    from tinyrel.progress import byte_progress

    if not layers:
        return {}
    with byte_progress("downloading", sum(layer.size for layer in layers)) as advance:

        def fetch(layer) -> tuple[str, str]:
            if client.cancelled.is_set():  # queued when the call was stopped: make nothing
                raise Interrupted("interrupted")
            dest = root / layer.path
            folder = root
            for part in Path(layer.path).parent.parts:  # below root only: a removed root stays removed
                folder = folder / part
                folder.mkdir(exist_ok=True)
            client.fetch_blob(layer.digest, layer.size, dest, advance)
            return layer.path, layer.sha256

        done = transfer.each(client, layers, fetch, "download", "nothing was delivered")
    return dict(done)  # type: ignore[arg-type]


def _check_identity(root: Path, signed: SignedManifest, ref: OciRef, report: Report) -> None:
    """The signed identity (``release.toml``) against the request: the repository, and a version tag."""
    from tinyrel.safe_io import read_small

    if not report.ok:
        return
    if SPEC_SNAPSHOT not in signed.resources:
        report.warning("verify/identity-unchecked", f"the bundle signs no tinyrel {SPEC_SNAPSHOT}: nothing binds these "
                       f"files to {ref.uri}; the repository and version were not checked")  # fmt: skip
        return
    try:
        doc = tomllib.loads(read_small(root / SPEC_SNAPSHOT, MAX_SNAPSHOT_BYTES))
    except (TinyrelError, OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        report.error("verify/identity", f"the signed {SPEC_SNAPSHOT} cannot be read: {getattr(exc, 'message', exc)}",
                     SPEC_SNAPSHOT)  # fmt: skip
        return
    release = doc.get("release") if isinstance(doc.get("release"), dict) else {}
    distribution = doc.get("distribution") if isinstance(doc.get("distribution"), dict) else {}
    name, version, repo = release.get("name"), release.get("version"), distribution.get("oci_repo")
    if not isinstance(name, str) or not isinstance(version, str):
        report.error("verify/identity", f"the signed {SPEC_SNAPSHOT} names no release name and version", SPEC_SNAPSHOT)
        return
    report.data["release"] = {"name": name, "version": version, "oci_repo": repo if isinstance(repo, str) else None}
    hub_repo = distribution.get("repo_id")
    if (not isinstance(repo, str) or not repo) and isinstance(hub_repo, str) and hub_repo:
        report.error("verify/wrong-repo", f"{ref.uri} serves the release signed for hf://{hub_repo}, which names no "
                     "OCI repository (a copy of a Hub release)", SPEC_SNAPSHOT)  # fmt: skip
        return
    if not isinstance(repo, str) or not repo:
        report.warning("verify/identity-unchecked", f"the signed {SPEC_SNAPSHOT} names no repository; the "
                       "repository was not checked")  # fmt: skip
    elif repo.casefold() != ref.repo.casefold():
        report.error("verify/wrong-repo", f"{ref.uri} serves the release signed for oci://{repo} (a copy of another "
                     "repository's release)", SPEC_SNAPSHOT)  # fmt: skip
        return
    names_version = bool(ref.tag and VERSION_REF.match(ref.tag))  # with a digest too: both must hold
    if names_version and ref.tag and ref.tag.removeprefix("v") != version.removeprefix("v"):
        report.error("verify/wrong-version", f"{ref.uri} serves {name} {version}, not {ref.tag} (an old release under "
                     "a new tag?)", SPEC_SNAPSHOT)  # fmt: skip
        return
    report.info("verify/identity", f"signed release {name} {version}" + (f" of oci://{repo}" if repo else ""))
