"""Real signing material for tests: EC keys, and a CA chain with a code-signing leaf certificate."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass
class KeyMaterial:
    private_key: Path
    public_key: Path
    other_public_key: Path
    p384_private_key: Path
    p384_public_key: Path
    leaf_key: Path
    leaf_cert: Path
    ca_cert: Path


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


def _write_pub(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def _cert(subject: str, key, issuer: str, issuer_key, *, ca: bool, days: int) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    usage = dict.fromkeys(
        [
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "encipher_only",
            "decipher_only",
        ],
        False,
    )
    builder = builder.add_extension(
        x509.KeyUsage(digital_signature=True, key_cert_sign=ca, crl_sign=ca, **usage), critical=True
    )
    if not ca:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def write_key_material(out: Path, days: int = 30) -> KeyMaterial:
    keys = {name: ec.generate_private_key(ec.SECP256R1()) for name in ("main", "other", "ca", "leaf")}
    p384 = ec.generate_private_key(ec.SECP384R1())
    m = KeyMaterial(
        *(out / n for n in ("k.pem", "k.pub", "other.pub", "p384.pem", "p384.pub", "leaf.pem", "leaf.crt", "ca.crt"))
    )
    _write_key(m.private_key, keys["main"])
    _write_pub(m.public_key, keys["main"])
    _write_pub(m.other_public_key, keys["other"])
    _write_key(m.p384_private_key, p384)
    _write_pub(m.p384_public_key, p384)
    _write_key(m.leaf_key, keys["leaf"])
    ca = _cert("tinyrel test CA", keys["ca"], "tinyrel test CA", keys["ca"], ca=True, days=days)
    leaf = _cert("tinyrel test publisher", keys["leaf"], "tinyrel test CA", keys["ca"], ca=False, days=days)
    m.ca_cert.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    m.leaf_cert.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    return m
