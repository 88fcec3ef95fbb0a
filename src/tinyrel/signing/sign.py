"""Sign a model in the OpenSSF Model Signing (OMS v1.0) format through the reference library.

``model_signing`` builds the in-toto statement (predicate ``https://model_signing/signature/v1.0``),
the DSSE envelope and the Sigstore bundle; tinyrel only supplies the manifest — built from digests
it already has — so the weights are not hashed a second time.  Methods: an EC private key
(``key``), a key plus certificate chain (``certificate``), or Sigstore keyless signing with ambient
CI credentials (``sigstore``; needs network access to Fulcio and Rekor).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from tinyrel.atomic import write_text_atomic
from tinyrel.findings import Report, TinyrelError, first_line
from tinyrel.signing.files import GIT_PATHS, absolute, relative_ignores, sha256_digests, signed_files

SUPPORTED_CURVES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}


def check_private_key(path: Path, password: str | None) -> None:
    """Load the key as model_signing will, and say plainly what is wrong with it, before any work.

    model_signing signs with EC keys on P-256, P-384 or P-521 only; a public key, an RSA key, a
    wrong password or an encrypted key without one each get their own message.
    """
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    from tinyrel.safe_io import read_bytes_capped

    try:
        data = read_bytes_capped(path, 1024 * 1024)  # a PEM key is kilobytes; a FIFO is refused, not waited on
    except TinyrelError as exc:
        raise TinyrelError("sign/key", f"cannot read the key: {exc.message}", path=str(path)) from None
    except OSError as exc:
        raise TinyrelError("sign/key", f"cannot read the key: {exc.strerror or exc}", path=str(path)) from None
    if b"PUBLIC KEY-----" in data and b"PRIVATE KEY-----" not in data:
        raise TinyrelError("sign/key", "this is a public key; --private-key needs the private half", path=str(path))
    try:
        key = load_pem_private_key(data, password.encode() if password is not None else None)
    except TypeError as exc:
        if "not given" in str(exc) or "encrypted" in str(exc) and password is None:
            raise TinyrelError(
                "sign/key-encrypted",
                "the key is encrypted: pass --key-password-env VAR, naming an "
                "environment variable that holds its password",
                path=str(path),
            ) from None
        raise TinyrelError("sign/key", "the key is not encrypted, but a password was given", path=str(path)) from None
    except ValueError as exc:
        reason = "wrong password" if password is not None and "decrypt" in str(exc).lower() else first_line(exc)
        raise TinyrelError("sign/key", f"cannot load the private key: {reason}", path=str(path)) from None
    except UnsupportedAlgorithm as exc:
        raise TinyrelError("sign/key-type", f"cannot load the private key: {first_line(exc)}", path=str(path)) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        kind = type(key).__name__.removeprefix("_").replace("PrivateKey", "")
        raise TinyrelError("sign/key-type", f"an {kind} key cannot sign OMS bundles: EC keys on P-256, P-384 or "
                           "P-521 only", path=str(path))  # fmt: skip
    if key.curve.name not in SUPPORTED_CURVES:
        raise TinyrelError("sign/key-type", f"curve {key.curve.name} is not supported: EC P-256, P-384 or P-521 only",
                           path=str(path))  # fmt: skip


def _check_material(path: Path) -> None:
    """A key or certificate must be a regular file of a sane size (a FIFO would block its reader)."""
    import os
    import stat

    try:
        info = os.stat(path)
    except OSError:
        raise TinyrelError("usage/signing-material", "the signing key or certificate file does not exist",
                           usage=True, path=str(path)) from None  # fmt: skip
    if not stat.S_ISREG(info.st_mode) or info.st_size > 16 * 1024 * 1024:
        raise TinyrelError("usage/signing-material", "the signing key or certificate is not a regular file of a "
                           "key's size", usage=True, path=str(path))  # fmt: skip


@dataclass
class SignerConfig:
    """How to sign: ``method`` plus the material it needs."""

    method: str = "key"
    private_key: Path | None = None
    password: str | None = None
    signing_certificate: Path | None = None
    certificate_chain: Sequence[Path] = field(default_factory=tuple)
    identity_token: str | None = None
    trust_config: Path | None = None  # a private Sigstore instance (ClientTrustConfig JSON)

    def identity(self) -> tuple[str | None, str | None]:
        """Sigstore: the identity and issuer the certificate will name (from the OIDC token)."""
        from sigstore.oidc import IdentityToken, detect_credential

        try:
            raw = self.identity_token or detect_credential()
            token = IdentityToken(raw) if raw else None
        except Exception:  # noqa: BLE001 - no ambient credential or a malformed token: signing will say so
            return None, None
        return (token.identity, token.federated_issuer) if token else (None, None)

    def check(self) -> None:
        """Everything that can be checked without signing (a dry run fails where signing would)."""
        if self.method not in ("key", "certificate", "sigstore"):
            raise TinyrelError("usage/sign-method", f"unknown signing method {self.method!r}: key, certificate or "
                               "sigstore", usage=True)  # fmt: skip
        if self.method == "sigstore" and (self.private_key or self.signing_certificate):
            raise TinyrelError("usage/sign-method", "--sigstore cannot be combined with a private key", usage=True)
        for given in (self.private_key, self.signing_certificate, *self.certificate_chain, self.trust_config):
            if given is not None:
                _check_material(Path(given))
        if self.method in ("key", "certificate"):
            if self.private_key is None:
                raise TinyrelError("usage/private-key", f"{self.method} signing needs --private-key PEM", usage=True)
            if self.method == "certificate" and self.password is not None:
                raise TinyrelError("sign/key-encrypted", "certificate signing (model_signing) takes only unencrypted "
                                   "keys; decrypt it or use key signing")  # fmt: skip
            check_private_key(self.private_key, self.password)

    def signer(self):
        """The model_signing signer for this method (errors become ``sign/...`` codes)."""
        from tinyrel.signing import _oms

        self.check()
        try:
            if self.method == "key":
                assert self.private_key is not None
                # model_signing hands the password to cryptography, which takes bytes.
                password = self.password.encode() if self.password is not None else None
                return _oms.ec_key.Signer(self.private_key, password)  # type: ignore[arg-type]
            if self.method == "certificate":
                if self.private_key is None or self.signing_certificate is None:
                    raise TinyrelError(
                        "usage/certificate",
                        "certificate signing needs --private-key and --signing-certificate",
                        usage=True,
                    )
                return _oms.certificate.Signer(self.private_key, self.signing_certificate, self.certificate_chain)
            if self.method == "sigstore":
                return _oms.sigstore.Signer(
                    use_ambient_credentials=True,
                    identity_token=self.identity_token,
                    trust_config=self.trust_config,
                )
        except TinyrelError:
            raise
        except (ValueError, TypeError, OSError) as exc:
            raise TinyrelError("sign/key", f"cannot load the signing key: {first_line(exc)}") from None
        except Exception as exc:  # noqa: BLE001 - sigstore set-up reaches the network (TUF, OIDC) and raises many types
            raise TinyrelError("sign/setup", f"cannot set up {self.method} signing: {first_line(exc)}") from None
        raise TinyrelError("usage/sign-method", f"unknown signing method {self.method!r}", usage=True)


def oms_manifest(model_name: str, digests: Mapping[str, str], ignore_paths: Sequence[str]):
    """A model_signing ``files`` manifest (SHA-256 per file) from precomputed digests."""
    from model_signing import manifest

    from tinyrel.signing._oms import Digest, FileSerialization

    items = [
        manifest.FileManifestItem(path=PurePosixPath(rel), digest=Digest("sha256", bytes.fromhex(digest)))
        for rel, digest in sorted(digests.items())
    ]
    serialization = FileSerialization("sha256", False, [Path(p) for p in sorted(set(ignore_paths))])
    return manifest.Manifest(model_name, items, serialization)


def sign_manifest(manifest, config: SignerConfig) -> str:
    """Return the OMS bundle (JSON text) signing a model_signing manifest."""
    from tinyrel.signing._oms import signing

    signer = config.signer()
    try:
        signature = signer.sign(signing.Payload(manifest))
    except Exception as exc:  # noqa: BLE001 - signer backends raise many types (crypto, OIDC, HTTP)
        raise TinyrelError("sign/failed", f"signing failed ({config.method}): {first_line(exc)}") from None
    return signature.bundle.to_json()  # both bundle flavours (sigstore_models) serialise the same way


def sign_digests(model_name: str, digests: Mapping[str, str], ignore_paths: Sequence[str], config: SignerConfig) -> str:
    """Return the OMS bundle (JSON text) signing per-file SHA-256 ``digests``."""
    return sign_manifest(oms_manifest(model_name, digests, ignore_paths), config)


def shard_manifest(root: Path, shard_size: int, ignore_paths: Sequence[str]):
    """A ``shards`` manifest (SHA-256 per byte range), hashed by model_signing itself."""
    from model_signing import hashing

    config = hashing.Config().use_shard_serialization(shard_size=shard_size)
    return config.set_ignored_paths(paths=list(ignore_paths), ignore_git_paths=True).hash(root)


def sign_model(
    root: Path,
    signature: Path,
    config: SignerConfig,
    ignore: Sequence[str | Path] = (),
    known_digests: Mapping[str, str] | None = None,
    shard_size: int | None = None,
) -> Report:
    """Sign the model at ``root`` and write the bundle to ``signature`` atomically.

    The default ``files`` serialization signs one SHA-256 per file, hashed on all cores (or taken
    from ``known_digests``); ``shard_size`` selects model_signing's ``shards`` serialization.
    """
    root = absolute(root)
    ignored = relative_ignores(root, [*ignore, absolute(signature)]) + list(GIT_PATHS)
    files = signed_files(root, ignored)
    if not files:
        raise TinyrelError("sign/empty", f"{root} has no files to sign", path=str(root))
    if shard_size is not None:
        if shard_size <= 0:
            raise TinyrelError("usage/shard-size", "--shard-size must be a positive number of bytes", usage=True)
        bundle = sign_manifest(shard_manifest(root, shard_size, ignored), config)
    else:
        bundle = sign_digests(root.name, sha256_digests(root, files, known_digests), ignored, config)
    write_text_atomic(signature, bundle)
    report = Report()
    report.data.update(
        {
            "signature": str(signature),
            "method": config.method,
            "files": len(files),
            "ignore_paths": sorted(set(ignored)),
            "serialization": "shards" if shard_size else "files",
        }
    )
    return report
