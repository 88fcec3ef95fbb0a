"""The one place tinyrel touches model_signing's private modules (the OMS reference library).

model_signing's public API (``model_signing.signing.Config``, ``verifying.Config``) hashes the
model itself and verifies Sigstore bundles only online.  tinyrel needs two things it does not
offer — signing digests it has already computed (so gigabytes are not hashed twice) and verifying
keyless bundles against an offline or private trust root — so it reaches into the layer below.
Every such name is imported here, once, with the reason; ``tests/test_oms_adapter.py`` imports
each of them, so an upgrade that renames one fails CI loudly instead of turning into a false
"signature does not verify".  The dependency is pinned to the tested minor (``>=1.1,<1.2``).

Proposed upstream (public calls that would retire this module): ``signing.Config.sign_manifest
(manifest)`` for precomputed digests, and ``verifying.Config.use_sigstore_verifier(...,
trusted_root=...)`` for offline/private keyless verification.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

# A manifest item needs a ``Digest``; the public ``hashing`` module does not re-export it.
from model_signing._hashing.hashing import Digest  # noqa: F401 - re-exported

# Signers and verifiers per method: the public Config classes construct them only around their
# own hashing pass; tinyrel hands them a manifest built from its verified digests.
from model_signing._signing import sign_certificate as certificate  # noqa: F401 - re-exported
from model_signing._signing import sign_ec_key as ec_key  # noqa: F401 - re-exported
from model_signing._signing import sign_sigstore as sigstore  # noqa: F401 - re-exported

# Reading a bundle without verifying it against the network (the public verifier reads it itself).
from model_signing._signing import sign_sigstore_pb as sigstore_pb  # noqa: F401 - re-exported

# ``Payload`` (the in-toto statement of a manifest) and the ``Verifier`` base class that tinyrel's
# offline Sigstore verifier extends: no public name exists for either.
from model_signing._signing import signing  # re-exported; also the base of StatementPayload below

# The ``files`` serialization descriptor of a manifest built from precomputed digests.
from model_signing.manifest import _FileSerialization as FileSerialization  # noqa: F401 - re-exported


class StatementPayload(signing.Payload):
    """A signing payload that carries any in-toto statement, not only model_signing's own.

    model_signing's signers (``ec_key``, ``certificate``, ``sigstore``) read nothing of a payload but
    ``payload.statement`` (an ``in_toto_attestation`` Statement): they serialise it, wrap it in a
    DSSE envelope (PAE and all) and return a Sigstore bundle.  tinyrel's attestations (provenance,
    evals, gate decision, ML-BOM) are signed through them, so each is made exactly like model.sig,
    by the same signer.  ``Payload.__init__`` builds the statement of a model manifest, so it is not
    called.  Proposed upstream: a public ``Signer.sign_statement(statement)``.
    """

    def __init__(self, statement) -> None:  # the base class's builds a manifest's statement: not called
        self.statement = statement


def verified_payload(verifier, signature) -> tuple[str, bytes]:
    """The DSSE payload type and payload of a bundle whose signature verifies (``ValueError`` and the
    other ``verification_errors`` when it does not), whatever in-toto statement it carries.

    The public ``Verifier.verify`` goes on to read the payload as model_signing's own predicate and
    rejects any other; ``_verify_signed_content`` is the step before it, implemented by each method's
    verifier (and by tinyrel's offline Sigstore verifier, ``SigstoreVerifier`` below).
    Proposed upstream: a public ``Verifier.verify_statement(signature)``."""
    return verifier._verify_signed_content(signature)


PRIVATE_NAMES = (
    "model_signing._signing.sign_certificate",
    "model_signing._signing.sign_ec_key",
    "model_signing._signing.sign_sigstore",
    "model_signing._signing.sign_sigstore_pb",
    "model_signing._signing.signing",
    "model_signing._hashing.hashing.Digest",
    "model_signing.manifest._FileSerialization",
)
# Methods of model_signing's classes that the attestations rely on (``verified_payload``):
# tests/test_attestations.py checks each still exists on every verifier tinyrel builds.
PRIVATE_METHODS = (
    ("model_signing._signing.signing.Verifier", "_verify_signed_content"),
    ("model_signing._signing.sign_sigstore_pb.Verifier", "_verify_signed_content"),
    ("model_signing._signing.sign_sigstore.Verifier", "_verify_signed_content"),
)


def verification_errors() -> tuple[type[BaseException], ...]:
    """What model_signing's verifiers raise when a bundle does not verify — and nothing else, so a
    bug or an upstream rename surfaces as an error of its own, never as "does not verify"."""
    from cryptography.exceptions import InvalidSignature
    from OpenSSL import crypto
    from sigstore.errors import Error as SigstoreError

    return (ValueError, TypeError, KeyError, InvalidSignature, crypto.Error, crypto.X509StoreContextError,
            SigstoreError)  # fmt: skip


class SigstoreVerifier(signing.Verifier):
    """model_signing's Sigstore verifier, but able to use sigstore-python's embedded trust root
    offline, or a private trust root: a subclass of its private ``Verifier`` base (no public
    verifier takes a trust root), overriding ``_verify_signed_content`` as its own verifiers do."""

    def __init__(self, identity: str, issuer: str, offline: bool, trust_config: Path | None):
        with quiet_logger("sigstore"):  # "TUF loaded in offline mode" is not news here
            self._load(identity, issuer, offline, trust_config)

    def _load(self, identity: str, issuer: str, offline: bool, trust_config: Path | None) -> None:
        from sigstore.models import ClientTrustConfig, TrustedRoot
        from sigstore.verify import Verifier, policy

        if trust_config is not None:
            # A client trust config (trust root + signing config) or a bare trusted root.
            import json

            from tinyrel.safe_io import read_small

            text = read_small(trust_config, 16 * 1024 * 1024)
            if str(json.loads(text).get("mediaType", "")).startswith("application/vnd.dev.sigstore.trustedroot"):
                root = TrustedRoot.from_file(str(trust_config))
            else:
                root = ClientTrustConfig.from_json(text).trusted_root
            self._verifier = Verifier(trusted_root=root)
        else:
            self._verifier = Verifier.production(offline=offline)
        self._policy = policy.Identity(identity=identity, issuer=issuer)

    def _verify_signed_content(self, signature) -> tuple[str, bytes]:
        with quiet_logger("sigstore"):
            return self._verifier.verify_dsse(bundle=signature.bundle, policy=self._policy)


@contextlib.contextmanager
def quiet_logger(name: str):
    """A library logger (and its children) at ERROR for the duration of the block, then back at the
    level the host program gave it: its warnings are not tinyrel's one-line findings."""
    import logging

    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
