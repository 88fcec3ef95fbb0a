"""OMS signing and verification: tinyrel ⇄ the reference model_signing tool, and the tamper matrix."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.helpers import codes, run, run_json


def model_signing_cli(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "model_signing", *map(str, args)], capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def release_dir(model_dir) -> Path:
    """A sharded mlx-lm model plus a card and a manifest, like a published release."""
    root = model_dir("bf16-sharded")
    (root / "README.md").write_text("---\nlicense: apache-2.0\n---\n# card\n")
    assert run("manifest", root, "-o", root / "manifest.json").exit_code == 0
    return root


def sign(root: Path, key: Path, *extra: str | Path) -> Path:
    signature = root / "model.sig"
    result = run("sign", root, "--private-key", key, "--signature", signature, *extra)
    assert result.exit_code == 0, result.output
    return signature


def verify(root: Path, signature: Path, *trust: str | Path) -> tuple[int, dict]:
    return run_json("verify", root, "--signature", signature, *trust)


def test_tinyrel_signature_is_oms_v1_and_passes_the_reference_verifier(release_dir, keys):
    signature = sign(release_dir, keys.private_key)
    bundle = json.loads(signature.read_text())
    import base64

    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    assert bundle["mediaType"].startswith("application/vnd.dev.sigstore.bundle")
    assert statement["predicateType"] == "https://model_signing/signature/v1.0"
    assert statement["predicate"]["serialization"]["method"] == "files"
    assert "model.sig" in statement["predicate"]["serialization"]["ignore_paths"]
    names = {r["name"] for r in statement["predicate"]["resources"]}
    assert "model.sig" not in names and "README.md" in names and "manifest.json" in names

    ref = model_signing_cli("verify", "key", release_dir, "--signature", signature, "--public_key", keys.public_key)
    assert ref.returncode == 0, ref.stderr
    code, doc = verify(release_dir, signature, "--public-key", keys.public_key)
    assert code == 0 and doc["verified"] is True


def test_certificate_signing_round_trips_with_the_reference_tool(release_dir, keys):
    signature = release_dir / "model.sig"
    result = run(
        "sign", release_dir, "--signature", signature, "--private-key", keys.leaf_key,
        "--signing-certificate", keys.leaf_cert, "--certificate-chain", keys.ca_cert,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    ref = model_signing_cli(
        "verify", "certificate", release_dir, "--signature", signature, "--certificate_chain", keys.ca_cert
    )
    assert ref.returncode == 0, ref.stderr
    assert verify(release_dir, signature, "--certificate-chain", keys.ca_cert)[0] == 0


@pytest.mark.parametrize("method", ["key", "certificate"])
def test_bundles_signed_by_model_signing_verify_and_one_byte_breaks_them(release_dir, keys, tmp_path, method):
    signature = tmp_path / "ref.sig"
    if method == "key":
        args = ["key", release_dir, "--private_key", keys.p384_private_key]
        trust = ["--public-key", keys.p384_public_key]
    else:
        args = ["certificate", release_dir, "--private_key", keys.leaf_key, "--signing_certificate", keys.leaf_cert,
                "--certificate_chain", keys.ca_cert]  # fmt: skip
        trust = ["--certificate-chain", keys.ca_cert]
    signed = model_signing_cli("sign", *args, "--signature", signature)
    assert signed.returncode == 0, signed.stderr
    assert verify(release_dir, signature, *trust)[0] == 0

    shard = release_dir / "model-00001-of-00002.safetensors"
    data = bytearray(shard.read_bytes())
    data[-1] ^= 0x01
    shard.write_bytes(bytes(data))
    code, doc = verify(release_dir, signature, *trust)
    assert code == 1 and codes(doc) == {"verify/changed"}


def _flip(root: Path) -> None:
    path = root / "model-00001-of-00002.safetensors"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _truncate(root: Path) -> None:
    path = root / "model-00002-of-00002.safetensors"
    path.write_bytes(path.read_bytes()[:-8])


def _swap_shards(root: Path) -> None:
    a, b = root / "model-00001-of-00002.safetensors", root / "model-00002-of-00002.safetensors"
    a.rename(root / "tmp")
    b.rename(a)
    (root / "tmp").rename(b)


def _edit_manifest(root: Path) -> None:
    doc = json.loads((root / "manifest.json").read_text())
    doc["totals"]["bytes"] += 1
    (root / "manifest.json").write_text(json.dumps(doc))


TAMPERING = {
    "byte flip": (_flip, {"verify/changed"}),
    "truncation": (_truncate, {"verify/changed"}),
    "extra file": (lambda r: (r / "extra.txt").write_text("x"), {"verify/extra"}),
    "missing file": (lambda r: (r / "config.json").unlink(), {"verify/missing"}),
    "renamed file": (lambda r: (r / "config.json").rename(r / "config.bak"), {"verify/missing", "verify/extra"}),
    "swapped shards": (_swap_shards, {"verify/changed"}),
    "edited card": (lambda r: (r / "README.md").write_text("# better numbers\n"), {"verify/changed"}),
    "edited manifest": (_edit_manifest, {"verify/changed"}),
    "hidden file": (lambda r: (r / ".env").write_text("x"), {"verify/extra"}),
}


@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_tamper_matrix_is_rejected(release_dir, keys, case):
    signature = sign(release_dir, keys.private_key)
    tamper, expected = TAMPERING[case]
    tamper(release_dir)
    code, doc = verify(release_dir, signature, "--public-key", keys.public_key)
    assert code == 1 and doc["verified"] is False
    assert codes(doc) == expected


def test_wrong_key_and_forged_bundle_are_not_verified(release_dir, keys):
    signature = sign(release_dir, keys.private_key)
    code, doc = verify(release_dir, signature, "--public-key", keys.other_public_key)
    assert code == 1 and codes(doc) == {"verify/signature"}

    bundle = json.loads(signature.read_text())
    import base64

    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    statement["predicate"]["resources"][0]["digest"] = "00" * 32
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    signature.write_text(json.dumps(bundle))
    code, doc = verify(release_dir, signature, "--public-key", keys.public_key)
    assert code == 1 and codes(doc) == {"verify/signature"}

    signature.write_text("not a bundle")
    code, doc = verify(release_dir, signature, "--public-key", keys.public_key)
    assert code == 1 and codes(doc) == {"verify/bundle"}


def test_recorded_ignore_paths_are_honoured(release_dir, keys):
    (release_dir / "logs").mkdir()
    signature = sign(release_dir, keys.private_key, "--ignore-path", release_dir / "logs")
    (release_dir / "logs" / "train.log").write_text("new line\n")
    assert verify(release_dir, signature, "--public-key", keys.public_key)[0] == 0
    ref = model_signing_cli("verify", "key", release_dir, "--signature", signature, "--public_key", keys.public_key)
    assert ref.returncode == 0, ref.stderr


def test_single_file_target(tmp_path, keys):
    weights = tmp_path / "adapter.safetensors"
    weights.write_bytes(os.urandom(4096))
    signature = tmp_path / "adapter.sig"
    assert run("sign", weights, "--private-key", keys.private_key, "--signature", signature).exit_code == 0
    assert run("verify", weights, "--signature", signature, "--public-key", keys.public_key).exit_code == 0
    ref = model_signing_cli("verify", "key", weights, "--signature", signature, "--public_key", keys.public_key)
    assert ref.returncode == 0, ref.stderr


@pytest.mark.parametrize(
    "args, code",
    [
        (["--public-key", "{pub}", "--identity", "a@b.c", "--issuer", "https://x"], "usage/verify-method"),
        ([], "usage/verify-method"),
        (["--identity", "a@b.c"], "usage/verify-method"),
    ],
)
def test_verify_usage_errors_exit_2(release_dir, keys, args, code):
    signature = sign(release_dir, keys.private_key)
    args = [a.replace("{pub}", str(keys.public_key)) for a in args]
    result = run("verify", release_dir, "--signature", signature, *args)
    assert result.exit_code == 2 and f"error[{code}]" in result.output


def test_keyless_offline_verifier_rejects_a_key_signed_bundle_without_network(release_dir, keys):
    """The offline path loads sigstore-python's embedded trust root (no TUF fetch) and fails cleanly."""
    signature = sign(release_dir, keys.private_key)
    code, doc = verify(release_dir, signature, "--identity", "me@example.com", "--issuer", "https://x", "--offline")
    assert code == 1 and codes(doc) == {"verify/bundle"}  # a key-signed bundle has no certificate


@pytest.mark.skipif(not os.environ.get("TINYREL_LIVE_SIGSTORE"), reason="live Sigstore: set TINYREL_LIVE_SIGSTORE=1")
def test_live_sigstore_keyless_sign_and_offline_verify(release_dir):  # pragma: no cover - needs CI OIDC + network
    identity, issuer = os.environ["TINYREL_SIGSTORE_IDENTITY"], os.environ["TINYREL_SIGSTORE_ISSUER"]
    signature = release_dir / "model.sig"
    assert run("sign", release_dir, "--sigstore", "--signature", signature).exit_code == 0
    code, _ = verify(release_dir, signature, "--identity", identity, "--issuer", issuer, "--offline")
    assert code == 0


LEGACY = Path(__file__).parent / "data"


@pytest.mark.parametrize(
    "version, method",
    [("0.3.1", "key"), ("1.0.1", "key"), ("1.0.1", "certificate")],
)
def test_bundles_from_older_model_signing_releases_verify(tmp_path, version, method):
    """Checked-in bundles produced by model_signing 0.3.1 and 1.0.1 (tests/data/make_legacy_bundles.py)."""
    data = tmp_path / "data"
    shutil.copytree(LEGACY / f"model_signing-{version}", data)
    trust = ["--public-key", data / "publisher.pub"] if method == "key" else ["--certificate-chain", data / "ca.crt"]
    code, doc = verify(data / "model", data / f"{method}.sig", *trust)
    assert code == 0 and doc["verified"], doc
    (data / "model" / "config.json").write_text((data / "model" / "config.json").read_text().replace("8", "9"))
    code, doc = verify(data / "model", data / f"{method}.sig", *trust)
    assert code == 1 and codes(doc) == {"verify/changed"}


def test_keyless_bundle_verifies_under_its_trust_root_and_nowhere_else(release_dir, tmp_path):
    """A keyless (Fulcio certificate + Rekor entry) bundle over model_signing's statement, from a
    private Sigstore: the real sigstore-python verifier, only the trust root is the test's."""
    from google.protobuf import json_format
    from model_signing import hashing
    from model_signing._signing import signing

    from tinyrel.testing.sigstore import PrivateSigstore

    statement = signing.Payload(hashing.Config().hash(release_dir)).statement.pb
    sigstore = PrivateSigstore()
    signature = tmp_path / "keyless.sig"
    signature.write_text(
        sigstore.bundle(json_format.MessageToJson(statement).encode(), "ci@example.com", "https://oidc.example")
    )
    root, client = sigstore.trusted_root(tmp_path / "root.json"), sigstore.client_trust_config(tmp_path / "client.json")
    who = ["--identity", "ci@example.com", "--issuer", "https://oidc.example"]

    for trust in (root, client):
        code, doc = verify(release_dir, signature, *who, "--trust-config", trust)
        assert code == 0 and doc["verified"] and doc["method"] == "sigstore", doc
    ref = model_signing_cli(
        "verify", "sigstore", release_dir, "--signature", signature, "--identity", "ci@example.com",
        "--identity_provider", "https://oidc.example", "--trust_config", client,
    )  # fmt: skip
    assert ref.returncode == 0, ref.stderr

    for wrong in (["--identity", "else@example.com", "--issuer", "https://oidc.example"],
                  ["--identity", "ci@example.com", "--issuer", "https://evil.example"]):  # fmt: skip
        code, doc = verify(release_dir, signature, *wrong, "--trust-config", root)
        assert code == 1 and codes(doc) == {"verify/signature"}
    other = PrivateSigstore().trusted_root(tmp_path / "other.json")
    assert codes(verify(release_dir, signature, *who, "--trust-config", other)[1]) == {"verify/signature"}
    _flip(release_dir)
    code, doc = verify(release_dir, signature, *who, "--trust-config", root)
    assert code == 1 and codes(doc) == {"verify/changed"}


@pytest.mark.parametrize("serialization", ["shards", "blake2", "blake3"])
def test_other_model_signing_serializations_verify(release_dir, keys, tmp_path, serialization):
    """Bundles over shard digests or non-SHA-256 file digests are re-hashed the signer's way."""
    from model_signing import hashing, signing

    config = hashing.Config()
    if serialization == "shards":
        config.use_shard_serialization(shard_size=64 * 1024)
    else:
        config.use_file_serialization(hashing_algorithm=serialization)
    signature = tmp_path / f"{serialization}.sig"
    signing.Config().use_elliptic_key_signer(private_key=keys.private_key).set_hashing_config(config).sign(
        release_dir, signature
    )
    assert verify(release_dir, signature, "--public-key", keys.public_key)[0] == 0
    _truncate(release_dir)
    code, doc = verify(release_dir, signature, "--public-key", keys.public_key)
    assert code == 1 and codes(doc) & {"verify/changed", "verify/missing"}


KEYLESS_WHO = ["--identity", "ci@example.com", "--issuer", "https://oidc.example"]


def test_keyless_signing_runs_model_signing_and_sigstore_python_end_to_end(release_dir, private_sigstore, tmp_path):
    """`tinyrel sign --sigstore`: model_signing's Sigstore signer asks Fulcio for a certificate and
    Rekor for a log entry (here: the private instance), and the bundle verifies offline."""
    _, client = private_sigstore
    signature = tmp_path / "keyless.sig"
    result = run("sign", release_dir, "--sigstore", "--sigstore-trust-config", client, "--signature", signature)
    assert result.exit_code == 0, result.output
    assert os.environ["SIGSTORE_ID_TOKEN"] not in result.output
    code, doc = verify(release_dir, signature, *KEYLESS_WHO, "--trust-config", client)
    assert code == 0 and doc["verified"], doc
    ref = model_signing_cli(
        "verify", "sigstore", release_dir, "--signature", signature, "--identity", "ci@example.com",
        "--identity_provider", "https://oidc.example", "--trust_config", client,
    )  # fmt: skip
    assert ref.returncode == 0, ref.stderr


def test_keyless_bundles_signed_by_the_reference_tool_verify(release_dir, private_sigstore, tmp_path):
    _, client = private_sigstore
    signature = tmp_path / "reference-keyless.sig"
    signed = model_signing_cli(
        "sign", "sigstore", release_dir, "--signature", signature, "--trust_config", client,
        "--identity_token", os.environ["SIGSTORE_ID_TOKEN"],
    )  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    assert verify(release_dir, signature, *KEYLESS_WHO, "--trust-config", client)[0] == 0
    _flip(release_dir)
    code, doc = verify(release_dir, signature, *KEYLESS_WHO, "--trust-config", client)
    assert code == 1 and codes(doc) == {"verify/changed"}


def test_shard_serialization_signing(release_dir, keys):
    signature = sign(release_dir, keys.private_key, "--shard-size", 65536)
    import base64

    statement = json.loads(base64.b64decode(json.loads(signature.read_text())["dsseEnvelope"]["payload"]))
    assert statement["predicate"]["serialization"]["method"] == "shards"
    assert any(r["name"].endswith(":0:65536") for r in statement["predicate"]["resources"])
    assert verify(release_dir, signature, "--public-key", keys.public_key)[0] == 0
    _truncate(release_dir)
    assert verify(release_dir, signature, "--public-key", keys.public_key)[0] == 1
    assert run("sign", release_dir, "--private-key", keys.private_key, "--signature", signature,
               "--shard-size", 0).exit_code == 2  # fmt: skip
