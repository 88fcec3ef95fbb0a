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
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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
        """The trusted root wrapped with a signing config: what ``model_signing --trust_config`` reads.

        The services are this object's own (``serve()``) when it is serving."""
        base = getattr(self, "base_url", None)
        root = json.loads(self.trusted_root(path).read_text())
        since = {"start": root["tlogs"][0]["publicKey"]["validFor"]["start"]}

        def service(url: str) -> dict:
            return {"url": url, "majorApiVersion": 1, "validFor": since, "operator": "private.test"}

        signing = {
            "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
            "caUrls": [service(base or "https://fulcio.private.test")],
            "oidcUrls": [service(base or "https://oauth2.private.test/auth")],
            "rekorTlogUrls": [service(base or "https://rekor.private.test")],
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

    def _leaf(self, public_key, identity: str, issuer: str, sct: bytes, serial: int) -> x509.Certificate:
        name = x509.RFC822Name(identity) if "@" in identity else x509.UniformResourceIdentifier(identity)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([]))
            .issuer_name(self.ca.subject)
            .public_key(public_key)
            .serial_number(serial)
            .not_valid_before(self.now - datetime.timedelta(minutes=1))
            .not_valid_after(self.now + datetime.timedelta(minutes=10))
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
            .add_extension(x509.SubjectAlternativeName([name]), critical=True)
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

    def certificate(self, public_key, identity: str, issuer: str) -> x509.Certificate:
        """Fulcio's part: a code-signing certificate whose embedded SCT verifies."""
        timestamp_ms = int(self.now.timestamp() * 1000)
        serial = x509.random_serial_number()  # the same in the draft and the final certificate
        draft = self._leaf(public_key, identity, issuer, self._sct_extension(b"\0" * 70, timestamp_ms), serial)
        tbs = draft.tbs_precertificate_bytes
        entry = struct.pack("!32sBBB", _key_id(self.ca_key), *struct.pack("!I", len(tbs))[1:]) + tbs
        signed = struct.pack("!BBQH", 0, 0, timestamp_ms, 1) + entry + struct.pack("!H", 0)
        sct = self._sct_extension(_sign(self.ct_key, signed), timestamp_ms)
        return self._leaf(public_key, identity, issuer, sct, serial)

    def rekor_entry(self, payload: bytes, signature: bytes, cert_pem: bytes, envelope_json: bytes) -> dict:
        """Rekor's part: integrate a ``dsse/0.0.1`` entry, as the v1 API returns it."""
        body = rfc8785.dumps(
            {
                "apiVersion": "0.0.1",
                "kind": "dsse",
                "spec": {
                    "envelopeHash": {"algorithm": "sha256", "value": hashlib.sha256(envelope_json).hexdigest()},
                    "payloadHash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()},
                    "signatures": [{"signature": _b64(signature), "verifier": _b64(cert_pem)}],
                },
            }
        )
        integrated, log_id = int(self.now.timestamp()), _key_id(self.rekor_key)
        promise = {"body": _b64(body), "integratedTime": integrated, "logID": log_id.hex(), "logIndex": 0}
        root_hash = hashlib.sha256(b"\x00" + body).digest()  # a one-leaf tree
        note = f"rekor.private.test - 1\n1\n{_b64(root_hash)}\n"
        note_sig = _b64(log_id[:4] + _sign(self.rekor_key, note.encode()))
        proof = {
            "checkpoint": f"{note}\n\u2014 rekor.private.test {note_sig}\n",
            "hashes": [],
            "logIndex": 0,
            "rootHash": root_hash.hex(),
            "treeSize": 1,
        }
        set_ = _b64(_sign(self.rekor_key, rfc8785.dumps(promise)))
        return promise | {"verification": {"inclusionProof": proof, "signedEntryTimestamp": set_}}

    def bundle(self, payload: bytes, identity: str, issuer: str) -> str:
        """Sign ``payload`` (an in-toto statement) keylessly and log it: a Sigstore v0.3 bundle."""
        key = ec.generate_private_key(ec.SECP256R1())  # ephemeral, like a keyless signer's
        cert = self.certificate(key.public_key(), identity, issuer)
        signature = _sign(key, pae(PAYLOAD_TYPE, payload))
        envelope = {"payload": _b64(payload), "payloadType": PAYLOAD_TYPE, "signatures": [{"sig": _b64(signature)}]}
        pem = cert.public_bytes(serialization.Encoding.PEM)
        v1 = self.rekor_entry(payload, signature, pem, rfc8785.dumps(envelope))
        proof = v1["verification"]["inclusionProof"]
        entry = {
            "logIndex": "0",
            "logId": {"keyId": _b64(bytes.fromhex(v1["logID"]))},
            "kindVersion": {"kind": "dsse", "version": "0.0.1"},
            "integratedTime": str(v1["integratedTime"]),
            "inclusionPromise": {"signedEntryTimestamp": v1["verification"]["signedEntryTimestamp"]},
            "inclusionProof": {
                "logIndex": "0",
                "rootHash": _b64(bytes.fromhex(proof["rootHash"])),
                "treeSize": "1",
                "hashes": [],
                "checkpoint": {"envelope": proof["checkpoint"]},
            },
            "canonicalizedBody": v1["body"],
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

    def identity_token(self, identity: str, issuer: str) -> str:
        """An OIDC identity token as a CI provider would mint it (Fulcio here trusts any issuer)."""
        import jwt

        now = int(time.time())
        claims = {"iss": issuer, "sub": identity, "email": identity, "aud": "sigstore"}
        return jwt.encode(claims | {"iat": now, "nbf": now, "exp": now + 600}, "private-sigstore-" * 2, "HS256")

    def serve(self) -> str:
        """Run Fulcio, Rekor and the OIDC discovery document on a local port; return the base URL."""
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.base_url = f"http://127.0.0.1:{server.server_address[1]}"
        return self.base_url


def _handler_for(sigstore: PrivateSigstore) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            return None

        def _reply(self, status: int, doc: dict) -> None:
            body = json.dumps(doc).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # OIDC discovery (sigstore's Issuer reads it before any flow)
            base = sigstore.base_url
            self._reply(
                200, {"issuer": base, "authorization_endpoint": f"{base}/auth", "token_endpoint": f"{base}/token"}
            )

        def do_POST(self) -> None:
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if self.path == "/api/v2/signingCert":
                import jwt

                token = self.headers["Authorization"].removeprefix("Bearer ")
                claims = jwt.decode(token, options={"verify_signature": False})
                csr = x509.load_pem_x509_csr(base64.b64decode(request["certificateSigningRequest"]))
                cert = sigstore.certificate(csr.public_key(), claims.get("email") or claims["sub"], claims["iss"])
                chain = [c.public_bytes(serialization.Encoding.PEM).decode() for c in (cert, sigstore.ca)]
                self._reply(200, {"signedCertificateEmbeddedSct": {"chain": {"certificates": chain}}})
            elif self.path == "/api/v1/log/entries":
                content = request["spec"]["proposedContent"]
                envelope_json = content["envelope"].encode()
                envelope = json.loads(envelope_json)
                payload = base64.b64decode(envelope["payload"])
                signature = base64.b64decode(envelope["signatures"][0]["sig"])
                pem = base64.b64decode(content["verifiers"][0])
                self._reply(201, {"e0": sigstore.rekor_entry(payload, signature, pem, envelope_json)})
            else:
                self._reply(404, {"message": f"no route {self.path}"})

    return Handler


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def main(argv: list[str] | None = None) -> int:
    """``python -m tinyrel.testing.sigstore --trust-config PATH``: serve until interrupted."""
    import argparse
    import contextlib
    import sys

    parser = argparse.ArgumentParser(
        prog="python -m tinyrel.testing.sigstore",
        description="A private Sigstore for offline tests: serves Fulcio (signing certificates), Rekor (log "
        "entries) and an OIDC discovery document on a free port of 127.0.0.1, writes the client trust config "
        "that sigstore-python and model_signing sign and verify against, and prints an identity token "
        "(SIGSTORE_ID_TOKEN) for the given identity.",
        epilog="It certifies any identity for anyone who can reach its port: a test double, never a trust "
        "anchor. Its keys are new on every run (a trust config verifies the signatures of the run that wrote "
        "it), and its certificates and the identity token expire ten minutes after it starts.",
    )
    parser.add_argument("--trust-config", type=Path, required=True, help="where to write the client trust config")
    parser.add_argument("--identity", default="ci@example.com", help="the identity token's subject and email")
    parser.add_argument("--issuer", default="https://oidc.example", help="the identity token's issuer")
    args = parser.parse_args(argv)
    sigstore = PrivateSigstore()
    url = sigstore.serve()
    try:
        sigstore.client_trust_config(args.trust_config)
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        print(f"error[sigstore/trust-config]: {args.trust_config}: {reason}", file=sys.stderr)
        return 2
    print(f"private sigstore ready on {url} (trust config: {args.trust_config})", flush=True)
    print(f"SIGSTORE_ID_TOKEN={sigstore.identity_token(args.identity, args.issuer)}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
