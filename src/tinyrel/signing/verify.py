"""Verify an OMS model signature, then that the files on disk (or on the Hub) are the signed ones.

Two steps, like model_signing's ``verifying.Config``: the bundle's signature is checked by the
reference library's verifiers (EC public key, certificate chain, or Sigstore identity — the latter
offline against sigstore-python's embedded trust root when asked), which yields the signed manifest;
then every signed resource is compared with what is actually there.  Missing, extra and changed
files are findings with stable codes, so one run reports every difference.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from model_signing._signing import signing as ms_signing

from tinyrel.findings import Report, TinyrelError, first_line
from tinyrel.signing.files import (
    GIT_PATHS,
    absolute,
    relative_ignores,
    sha256_digests,
    signed_files,
)


@dataclass
class VerifierConfig:
    """Who must have signed: a public key, a certificate chain, or a Sigstore identity."""

    public_key: Path | None = None
    certificate_chain: Sequence[Path] = field(default_factory=tuple)
    identity: str | None = None
    issuer: str | None = None
    offline: bool = False
    trust_config: Path | None = None

    @property
    def method(self) -> str:
        chosen = [
            m
            for m, on in (
                ("key", self.public_key),
                ("certificate", self.certificate_chain),
                ("sigstore", self.identity or self.issuer),
            )
            if on
        ]
        if len(chosen) != 1:
            raise TinyrelError(
                "usage/verify-method",
                "give exactly one of --public-key, --certificate-chain or --identity/--issuer",
                usage=True,
            )
        if chosen[0] == "sigstore" and not (self.identity and self.issuer):
            raise TinyrelError("usage/verify-method", "keyless verification needs --identity and --issuer", usage=True)
        return chosen[0]

    def verifier(self):
        from model_signing._signing import sign_certificate, sign_ec_key

        method = self.method
        try:
            if method == "key":
                return sign_ec_key.Verifier(self.public_key)
            if method == "certificate":
                return sign_certificate.Verifier(list(self.certificate_chain))
            return _SigstoreVerifier(self.identity, self.issuer, self.offline, self.trust_config)
        except TinyrelError:
            raise
        except Exception as exc:  # noqa: BLE001 - key/cert parsing raises ValueError, TypeError, OSError...
            raise TinyrelError("verify/trust-material", f"cannot load the {method} trust material: {exc}") from None


class _SigstoreVerifier(ms_signing.Verifier):
    """model_signing's Sigstore verifier, but able to use the embedded trust root offline."""

    def __init__(self, identity: str, issuer: str, offline: bool, trust_config: Path | None):
        import logging

        from sigstore.models import ClientTrustConfig, TrustedRoot
        from sigstore.verify import Verifier, policy

        logging.getLogger("sigstore").setLevel(logging.ERROR)  # "TUF loaded in offline mode" is not news here
        if trust_config is not None:
            # A client trust config (trust root + signing config) or a bare trusted root.
            import json

            text = trust_config.read_text(encoding="utf-8")
            if str(json.loads(text).get("mediaType", "")).startswith("application/vnd.dev.sigstore.trustedroot"):
                root = TrustedRoot.from_file(str(trust_config))
            else:
                root = ClientTrustConfig.from_json(text).trusted_root
            self._verifier = Verifier(trusted_root=root)
        else:
            self._verifier = Verifier.production(offline=offline)
        self._policy = policy.Identity(identity=identity, issuer=issuer)

    def _verify_signed_content(self, signature) -> tuple[str, bytes]:
        return self._verifier.verify_dsse(bundle=signature.bundle, policy=self._policy)


@dataclass
class SignedManifest:
    """What the bundle vouches for: resource → (algorithm, hex digest), plus the serialization."""

    resources: dict[str, tuple[str, str]]
    serialization: dict[str, Any]
    model_name: str

    @property
    def ignore_paths(self) -> list[str]:
        return [str(p) for p in self.serialization.get("ignore_paths", [])]

    @property
    def plain_sha256_files(self) -> bool:
        return self.serialization.get("method") == "files" and self.serialization.get("hash_type") == "sha256"


def check_signature(signature_path: Path, config: VerifierConfig, report: Report) -> SignedManifest | None:
    """Verify the bundle's signature; return the signed manifest, or ``None`` with a finding."""
    from model_signing._signing import sign_sigstore, sign_sigstore_pb

    verifier = config.verifier()
    reader = sign_sigstore.Signature if config.method == "sigstore" else sign_sigstore_pb.Signature
    try:
        signature = reader.read(signature_path)
    except Exception as exc:  # noqa: BLE001 - JSON, schema and protobuf errors alike
        report.error("verify/bundle", f"{signature_path} is not a readable Sigstore bundle: {first_line(exc)}")
        return None
    notes = io.StringIO()
    try:
        with contextlib.redirect_stdout(notes):  # model_signing prints legacy-format warnings on stdout
            manifest = verifier.verify(signature)
    except Exception as exc:  # noqa: BLE001 - every verifier failure means "not verified"
        report.error("verify/signature", f"signature does not verify ({config.method}): {first_line(exc)}")
        return None
    for note in filter(None, (n.strip() for n in notes.getvalue().splitlines())):
        report.warning("verify/legacy-bundle", note)
    resources = {rd.identifier: (rd.digest.algorithm, rd.digest.digest_hex) for rd in manifest.resource_descriptors()}
    report.info("verify/signature", f"signature verified ({config.method}); {len(resources)} signed resources")
    return SignedManifest(resources, dict(manifest.serialization_type), manifest.model_name)


def compare_resources(expected: dict[str, str], actual: dict[str, str], report: Report) -> None:
    for rel in sorted(set(expected) - set(actual)):
        report.error("verify/missing", f"{rel} is signed but missing", rel)
    for rel in sorted(set(actual) - set(expected)):
        report.error("verify/extra", f"{rel} is present but not signed", rel)
    for rel in sorted(set(expected) & set(actual)):
        if expected[rel] != actual[rel]:
            report.error("verify/changed", f"{rel} differs from the signed digest", rel)


def local_digests(root: Path, signed: SignedManifest, ignore: list[str], report: Report) -> dict[str, str]:
    """Digests of the files under ``root``, computed the way the signer computed them.

    Links out of ``root`` and special files are findings and are never opened (a FIFO would
    block the reference hasher forever).
    """
    files = signed_files(root, ignore, report)
    if signed.plain_sha256_files:
        return sha256_digests(root, files)
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


def verify_local(root: Path, signature: Path, config: VerifierConfig, ignore: Sequence[str | Path] = ()) -> Report:
    report = Report()
    signed = check_signature(signature, config, report)
    if signed is not None:
        # Only what the bundle records, git metadata and the signature itself are ignored: a file
        # added after signing, anywhere (``.cache/`` included), is reported as extra.
        rel_ignores = relative_ignores(root, [*ignore, absolute(signature)])
        ignored = sorted({*rel_ignores, *signed.ignore_paths, *GIT_PATHS})
        actual = local_digests(absolute(root), signed, ignored, report)
        compare_resources({k: v for k, (_, v) in signed.resources.items()}, actual, report)
        report.data["files"] = len(actual)
    return finish(report, str(root), config)


@contextlib.contextmanager
def verifier_for_signer(signer, scratch: Path):
    """A VerifierConfig that accepts exactly what ``signer`` signs: its public key (derived from
    the private key), its certificate chain, or its Sigstore identity."""
    if signer.method == "key":
        from cryptography.hazmat.primitives import serialization

        password = signer.password.encode() if signer.password is not None else None
        key = serialization.load_pem_private_key(signer.private_key.read_bytes(), password)
        public = scratch / "signer.pub"
        public.write_bytes(
            key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
        yield VerifierConfig(public_key=public)
    elif signer.method == "certificate":
        yield VerifierConfig(certificate_chain=tuple(signer.certificate_chain))
    else:
        identity, issuer = signer.identity()
        yield VerifierConfig(identity=identity, issuer=issuer, trust_config=signer.trust_config)


def finish(report: Report, target: str, config: VerifierConfig) -> Report:
    report.data.update({"target": target, "method": config.method, "verified": report.ok})
    verdict = "verified" if report.ok else "NOT verified"
    report.data["_headline"] = f"{target}: {verdict} ({config.method})"
    return report
