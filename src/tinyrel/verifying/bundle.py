"""Check an OMS bundle's signature and return what it vouches for (the signed manifest).

The first of verification's two steps, like model_signing's ``verifying.Config``: the bundle's
signature is checked by the reference library's verifiers (EC public key, certificate chain, or
Sigstore identity — the latter offline against sigstore-python's embedded trust root, or a
private trust root, when asked).  The second step, comparing the signed resources with what is
there, lives in ``verifying.local`` and ``verifying.hub``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinyrel.findings import Report, TinyrelError, first_line
from tinyrel.signing import _oms

MAX_MATERIAL_BYTES = 16 * 1024 * 1024  # keys and certificates are kilobytes, a trust root tens of them


def check_material_file(path: Path, code: str, what: str) -> None:
    """A key, certificate or trust config must be a regular file of a sane size: a FIFO would block
    the library that reads it, a device or a huge file would exhaust it."""
    import os
    import stat

    try:
        info = os.stat(path)
    except OSError:
        raise TinyrelError(code, f"{what} file does not exist", usage=True, path=str(path)) from None
    if not stat.S_ISREG(info.st_mode):
        raise TinyrelError(code, f"{what} is not a regular file", usage=True, path=str(path))
    if info.st_size > MAX_MATERIAL_BYTES:
        raise TinyrelError(code, f"{what} is {info.st_size:,} bytes; keys and certificates are kilobytes",
                           usage=True, path=str(path))  # fmt: skip


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
        for given in (self.public_key, *self.certificate_chain, self.trust_config):
            if given is not None:
                check_material_file(Path(given), "usage/trust-material", "the trust material")
        return chosen[0]

    def verifier(self):
        method = self.method
        try:
            if method == "key":
                return _oms.ec_key.Verifier(self.public_key)
            if method == "certificate":
                return _oms.certificate.Verifier(list(self.certificate_chain))
            return _oms.SigstoreVerifier(self.identity, self.issuer, self.offline, self.trust_config)
        except TinyrelError:
            raise
        except (OSError, *_oms.verification_errors()) as exc:  # key and certificate parsing
            raise TinyrelError("verify/trust-material", f"cannot load the {method} trust material: {exc}") from None


@dataclass
class SignedManifest:
    """What the bundle vouches for: resource → (algorithm, hex digest), plus the serialization."""

    resources: dict[str, tuple[str, str]]
    serialization: dict[str, Any]
    model_name: str

    @property
    def digests(self) -> dict[str, str]:
        """Resource → hex digest (for a ``files``/``sha256`` bundle: each file's signed SHA-256)."""
        return {path: digest for path, (_, digest) in self.resources.items()}

    @property
    def ignore_paths(self) -> list[str]:
        return [str(p) for p in self.serialization.get("ignore_paths", [])]

    @property
    def plain_sha256_files(self) -> bool:
        return self.serialization.get("method") == "files" and self.serialization.get("hash_type") == "sha256"


def check_signature(signature_path: Path, config: VerifierConfig, report: Report) -> SignedManifest | None:
    """Verify the bundle's signature; return the signed manifest, or ``None`` with a finding."""
    verifier = config.verifier()
    reader = _oms.sigstore.Signature if config.method == "sigstore" else _oms.sigstore_pb.Signature
    try:
        _check_bundle_file(signature_path)
        signature = reader.read(signature_path)
    except (TinyrelError, OSError, *_oms.verification_errors()) as exc:  # JSON, schema, protobuf, bundle errors
        report.error("verify/bundle", f"{signature_path} is not a readable Sigstore bundle: "
                     f"{getattr(exc, 'message', None) or first_line(exc)}")  # fmt: skip
        return None
    if config.method == "key":
        _fill_key_hint(signature, config, report)
    try:
        manifest = verifier.verify(signature)
    except _oms.verification_errors() as exc:  # every verification failure means "not verified"
        report.error("verify/signature", f"signature does not verify ({config.method}): {first_line(exc)}")
        return None
    resources = {rd.identifier: (rd.digest.algorithm, rd.digest.digest_hex) for rd in manifest.resource_descriptors()}
    report.info("verify/signature", f"signature verified ({config.method}); {len(resources)} signed resources")
    return SignedManifest(resources, dict(manifest.serialization_type), manifest.model_name)


MAX_BUNDLE_BYTES = 16 * 1024 * 1024  # a bundle is kilobytes


def _check_bundle_file(path: Path) -> None:
    """Only a regular file of a bundle's size is handed to the reader (a FIFO would block it, a
    device or a huge file would exhaust it)."""
    import os

    from tinyrel.safe_io import open_regular

    fd = open_regular(path)
    try:
        size = os.fstat(fd).st_size
    finally:
        os.close(fd)
    if size > MAX_BUNDLE_BYTES:
        raise TinyrelError("verify/bundle", f"{size:,} bytes; a bundle is kilobytes")


def _fill_key_hint(signature, config: VerifierConfig, report: Report) -> None:
    """A bundle from before model_signing 1.0 names no key (no ``publicKey.hint``), and model_signing
    then prints a warning on stdout — which would be a host program's stdout.  tinyrel says it as
    a finding instead and gives the in-memory bundle the hint of the key it is checked against (the
    hint is not signed; the signature check itself is unchanged)."""
    import hashlib

    from cryptography.hazmat.primitives import serialization

    key = signature.bundle.verification_material.public_key
    if key.hint or config.public_key is None:
        return
    report.warning("verify/legacy-bundle", "the bundle uses an older verification material format (no public key "
                   "hint); re-sign it with a current signer")  # fmt: skip
    public = serialization.load_pem_public_key(config.public_key.read_bytes())
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    key.hint = hashlib.sha256(pem).hexdigest()


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
