"""A private Sigstore for offline tests: Fulcio-style CA, CT log and Rekor keys, and real bundles.

Keyless signing needs Fulcio, Rekor and an OIDC token, none of which exist offline.  This module
plays their parts with real cryptography so that sigstore-python's *verifier* runs unchanged: it
issues a short-lived code-signing certificate with an embedded SCT (RFC 6962, signed over the
precertificate TBS), builds a Rekor ``dsse/0.0.1`` entry with a signed entry timestamp, an inclusion
proof and a signed checkpoint, and writes the matching trusted root.  Only the trust root differs
from production, which the verifier takes as input (``tinyrel verify --trust-config``).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import struct
from pathlib import Path

import rfc8785
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

SCT_OID = ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")
OIDC_ISSUER_V1 = ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
PAYLOAD_TYPE = "application/vnd.in-toto+json"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _spki(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _key_id(key: ec.EllipticCurvePrivateKey) -> bytes:
    return hashlib.sha256(_spki(key)).digest()


def _sign(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    return key.sign(data, ec.ECDSA(hashes.SHA256()))


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE pre-authentication encoding."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


class PrivateSigstore:
    def __init__(self) -> None:
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        self.ct_key = ec.generate_private_key(ec.SECP256R1())
        self.rekor_key = ec.generate_private_key(ec.SECP256R1())
        self.now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "private-sigstore")])
        ski = x509.SubjectKeyIdentifier.from_public_key(self.ca_key.public_key())
        self.ca = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.ca_key.public_key())
            .serial_number(1)
            .not_valid_before(self.now - datetime.timedelta(days=1))
            .not_valid_after(self.now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(ski, critical=False)
            .sign(self.ca_key, hashes.SHA256())
        )

    def trusted_root(self, path: Path) -> Path:
        start = {"start": (self.now - datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}

        def log(url: str, key: ec.EllipticCurvePrivateKey) -> dict:
            public = {"rawBytes": _b64(_spki(key)), "keyDetails": "PKIX_ECDSA_P256_SHA_256", "validFor": start}
            return {"baseUrl": url, "hashAlgorithm": "SHA2_256", "publicKey": public,
                    "logId": {"keyId": _b64(_key_id(key))}}  # fmt: skip

        ca_der = self.ca.public_bytes(serialization.Encoding.DER)
        root = {
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [log("https://rekor.private.test", self.rekor_key)],
            "certificateAuthorities": [
                {
                    "subject": {"organization": "test", "commonName": "private-sigstore"},
                    "uri": "https://fulcio.private.test",
                    "certChain": {"certificates": [{"rawBytes": _b64(ca_der)}]},
                    "validFor": start,
                }
            ],
            "ctlogs": [log("https://ctfe.private.test", self.ct_key)],
            "timestampAuthorities": [],
        }
        path.write_text(json.dumps(root, indent=2))
        return path

    def client_trust_config(self, path: Path) -> Path:
        """The trusted root wrapped with a signing config: what ``model_signing --trust_config`` reads."""
        root = json.loads(self.trusted_root(path).read_text())
        since = {"start": root["tlogs"][0]["publicKey"]["validFor"]["start"]}

        def service(url: str) -> dict:
            return {"url": url, "majorApiVersion": 1, "validFor": since, "operator": "private.test"}

        signing = {
            "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
            "caUrls": [service("https://fulcio.private.test")],
            "oidcUrls": [service("https://oauth2.private.test/auth")],
            "rekorTlogUrls": [service("https://rekor.private.test")],
            "tsaUrls": [],
            "rekorTlogConfig": {"selector": "ANY"},
            "tsaConfig": {"selector": "ANY"},
        }
        config = {
            "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
            "trustedRoot": root,
            "signingConfig": signing,
        }
        path.write_text(json.dumps(config, indent=2))
        return path

    def _leaf(self, key: ec.EllipticCurvePrivateKey, identity: str, issuer: str, sct: bytes) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([]))
            .issuer_name(self.ca.subject)
            .public_key(key.public_key())
            .serial_number(4242)
            .not_valid_before(self.now - datetime.timedelta(minutes=1))
            .not_valid_after(self.now + datetime.timedelta(minutes=10))
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(identity)]), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca_key.public_key()), critical=False)
            .add_extension(x509.UnrecognizedExtension(OIDC_ISSUER_V1, issuer.encode()), critical=False)
            .add_extension(x509.UnrecognizedExtension(SCT_OID, sct), critical=False)
        )
        return builder.sign(self.ca_key, hashes.SHA256())

    def _sct_extension(self, signature: bytes, timestamp_ms: int) -> bytes:
        sct = struct.pack("!B32sQH", 0, _key_id(self.ct_key), timestamp_ms, 0)
        sct += struct.pack("!BBH", 4, 3, len(signature)) + signature  # sha256, ecdsa
        listed = struct.pack("!H", len(sct)) + sct
        tls = struct.pack("!H", len(listed)) + listed
        return b"\x04" + _der_length(len(tls)) + tls  # extnValue holds an OCTET STRING

    def certificate(self, key: ec.EllipticCurvePrivateKey, identity: str, issuer: str) -> x509.Certificate:
        """Fulcio's part: a code-signing certificate whose embedded SCT verifies."""
        timestamp_ms = int(self.now.timestamp() * 1000)
        draft = self._leaf(key, identity, issuer, self._sct_extension(b"\0" * 70, timestamp_ms))
        tbs = draft.tbs_precertificate_bytes
        entry = struct.pack("!32sBBB", _key_id(self.ca_key), *struct.pack("!I", len(tbs))[1:]) + tbs
        signed = struct.pack("!BBQH", 0, 0, timestamp_ms, 1) + entry + struct.pack("!H", 0)
        return self._leaf(key, identity, issuer, self._sct_extension(_sign(self.ct_key, signed), timestamp_ms))

    def bundle(self, payload: bytes, identity: str, issuer: str) -> str:
        """Sign ``payload`` (an in-toto statement) keylessly and log it: a Sigstore v0.3 bundle."""
        key = ec.generate_private_key(ec.SECP256R1())  # ephemeral, like a keyless signer's
        cert = self.certificate(key, identity, issuer)
        signature = _sign(key, pae(PAYLOAD_TYPE, payload))
        envelope = {"payload": _b64(payload), "payloadType": PAYLOAD_TYPE, "signatures": [{"sig": _b64(signature)}]}
        cert_pem = cert.public_bytes(serialization.Encoding.PEM)
        body = rfc8785.dumps(
            {
                "apiVersion": "0.0.1",
                "kind": "dsse",
                "spec": {
                    "envelopeHash": {
                        "algorithm": "sha256",
                        "value": hashlib.sha256(rfc8785.dumps(envelope)).hexdigest(),
                    },
                    "payloadHash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()},
                    "signatures": [{"signature": _b64(signature), "verifier": _b64(cert_pem)}],
                },
            }
        )
        integrated = int(self.now.timestamp())
        log_id = _key_id(self.rekor_key)
        promise = rfc8785.dumps(
            {"body": _b64(body), "integratedTime": integrated, "logID": log_id.hex(), "logIndex": 0}
        )
        root_hash = hashlib.sha256(b"\x00" + body).digest()  # a one-leaf tree
        note = f"rekor.private.test - 1\n1\n{_b64(root_hash)}\n"
        note_sig = _b64(log_id[:4] + _sign(self.rekor_key, note.encode()))
        entry = {
            "logIndex": "0",
            "logId": {"keyId": _b64(log_id)},
            "kindVersion": {"kind": "dsse", "version": "0.0.1"},
            "integratedTime": str(integrated),
            "inclusionPromise": {"signedEntryTimestamp": _b64(_sign(self.rekor_key, promise))},
            "inclusionProof": {
                "logIndex": "0",
                "rootHash": _b64(root_hash),
                "treeSize": "1",
                "hashes": [],
                "checkpoint": {"envelope": f"{note}\n\u2014 rekor.private.test {note_sig}\n"},
            },
            "canonicalizedBody": _b64(body),
        }
        bundle = {
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": {
                "certificate": {"rawBytes": _b64(cert.public_bytes(serialization.Encoding.DER))},
                "tlogEntries": [entry],
            },
            "dsseEnvelope": envelope,
        }
        return json.dumps(bundle, indent=2)


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw
