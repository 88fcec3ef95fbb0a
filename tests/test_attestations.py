"""Issue 21: signed in-toto statements (provenance, one per eval, the gate decision, the ML-BOM),
``tinyrel attest``, and ``verify``/``pull --require`` — checked with tools that are not tinyrel's.

Every envelope is verified independently: the DSSE pre-authentication encoding from
securesystemslib's DSSE implementation and the signature with ``cryptography`` against the
publisher's public key (key-signed), or the whole bundle with sigstore-python against the private
Sigstore (keyless); every statement is parsed and validated with the in-toto attestation library;
the ML-BOM is validated with cyclonedx-python-lib's CycloneDX 1.6 schema validator; and
``python -m model_signing verify`` still accepts the release.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from support.helpers import codes, run, run_json
from support.hub import HUB_TOKEN

import tinyrel

NAME = "qwen3-4b-fileops"
EVALS = ("fileops-hard", "fileops-heldout", "breadth")
KINDS = {
    "provenance.sigstore.json": "https://slsa.dev/provenance/v1",
    "gate.sigstore.json": "https://slsa.dev/verification_summary/v1",
    "sbom.sigstore.json": "https://cyclonedx.org/bom",
    **{f"eval-{e}.sigstore.json": "https://in-toto.io/attestation/test-result/v0.1" for e in EVALS},
}
ALL = ("--require", "provenance,evals,gate,sbom")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def publish_local(ws: Path, out: str, *signer: object) -> Path:
    code, doc = run_json("publish", "--mode", "metadata", "--out", out, *signer, cwd=ws)
    assert code == 0, doc
    return ws / out


def statement_of(bundle: Path) -> dict:
    """The in-toto statement a bundle carries, parsed and validated by the in-toto library."""
    from google.protobuf import json_format
    from in_toto_attestation.v1 import statement_pb2
    from in_toto_attestation.v1.statement import Statement

    envelope = json.loads(bundle.read_text())["dsseEnvelope"]
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    message = json_format.Parse(base64.b64decode(envelope["payload"]), statement_pb2.Statement())
    Statement.copy_from_pb(message).validate()
    return json_format.MessageToDict(message)


def check_dsse_with_key(bundle: Path, public_key: Path) -> None:
    """The envelope's signature over its DSSE PAE, checked with cryptography (no tinyrel, no model_signing)."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from securesystemslib.dsse import Envelope

    envelope = json.loads(bundle.read_text())["dsseEnvelope"]
    pae = Envelope.from_dict(copy.deepcopy(envelope)).pae()
    assert pae.startswith(b"DSSEv1 28 application/vnd.in-toto+json ")
    key = serialization.load_pem_public_key(public_key.read_bytes())
    key.verify(base64.b64decode(envelope["signatures"][0]["sig"]), pae, ec.ECDSA(hashes.SHA256()))


def resign(release: Path, private_key: Path) -> None:
    """Sign the directory again (model.sig over what it holds now), as a publisher's tool would."""
    assert tinyrel.sign(release, release / "model.sig", tinyrel.SignerConfig(private_key=private_key)).ok


def other_key(tmp_path: Path) -> Path:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    path = tmp_path / "intruder.pem"
    key = ec.generate_private_key(ec.SECP256R1())
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))  # fmt: skip
    return path


def model_signing_verify(release: Path, public_key: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "model_signing", "verify", "key", str(release), "--signature",
                           str(release / "model.sig"), "--public_key", str(public_key)], capture_output=True,
                          text=True)  # fmt: skip


def test_a_signed_local_release_carries_every_statement_and_each_verifies_independently(example, keys):
    from cryptography.exceptions import InvalidSignature
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    dist = publish_local(example, "dist", "--private-key", keys.private_key)
    assert sorted(p.name for p in (dist / "attestations").iterdir()) == sorted([*KINDS, "sbom.cdx.json"])
    manifest = {f["path"]: f["sha256"] for f in json.loads((dist / "manifest.json").read_text())["files"]}
    subjects = {**manifest, "README.md": sha256(dist / "README.md")}
    for name, predicate_type in KINDS.items():
        bundle = dist / "attestations" / name
        check_dsse_with_key(bundle, keys.public_key)
        statement = statement_of(bundle)
        assert statement["_type"] == "https://in-toto.io/Statement/v1"
        assert statement["predicateType"] == predicate_type, name
        assert {s["name"]: s["digest"]["sha256"] for s in statement["subject"]} == subjects, name
        with pytest.raises(InvalidSignature):  # and no other key verifies it
            check_dsse_with_key(bundle, keys.other_public_key)

    bom_text = (dist / "attestations" / "sbom.cdx.json").read_text()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(bom_text) is None
    bom = json.loads(bom_text)
    assert statement_of(dist / "attestations" / "sbom.sigstore.json")["predicate"] == bom
    model = bom["metadata"]["component"]
    assert model["type"] == "machine-learning-model" and (model["name"], model["version"]) == (NAME, "0.1.0")
    assert {c["name"]: c["hashes"][0]["content"] for c in model["components"]} == manifest
    assert bom["components"][0]["name"] == "Qwen/Qwen3-4B" and bom["dependencies"][1] == {
        "ref": "model", "dependsOn": ["base-model"]}  # fmt: skip
    card = model["modelCard"]
    assert card["modelParameters"] == {"task": "text-generation", "architectureFamily": "qwen3",
                                       "modelArchitecture": "Qwen3ForCausalLM"}  # fmt: skip
    recomputed = {e["id"]: e for e in tinyrel.evals(example).data["evals"]}
    breadth = next(m for m in card["quantitativeAnalysis"]["performanceMetrics"] if m["slice"].startswith("Out-of"))
    assert float(breadth["value"]) == recomputed["breadth"]["tuned"]["score"] == 0.423
    assert float(breadth["confidenceInterval"]["lowerBound"]) == pytest.approx(recomputed["breadth"]["tuned"]["ci_low"],
                                                                                abs=1e-6)
    assert "n=1000" in breadth["slice"]
    assert any("173 of 1,000 items regressed" in line for line in card["considerations"]["technicalLimitations"])
    assert card["considerations"]["useCases"][0].startswith("Routed-only (file operations)")

    hard = statement_of(dist / "attestations" / "eval-fileops-hard.sigstore.json")["predicate"]
    assert hard["result"] == "PASSED" and len(hard["passedTests"]) == 50 and hard["failedTests"] == []
    tuned = next(c for c in hard["configuration"] if c["name"] == "evals/fileops-hard.tuned.jsonl")
    assert tuned["digest"]["sha256"] == sha256(dist / "evals" / "fileops-hard.tuned.jsonl")
    assert tuned["annotations"]["recomputed"]["n"] == 50 and tuned["annotations"]["recomputed"]["score"] == 1.0
    assert tuned["annotations"]["pairedWithStock"]["improved"] == recomputed["fileops-hard"]["paired"]["improved"]
    spec = next(c for c in hard["configuration"] if c["name"] == "release.toml")
    assert spec["digest"]["sha256"] == sha256(dist / "release.toml")

    gate = statement_of(dist / "attestations" / "gate.sigstore.json")["predicate"]
    assert gate["verificationResult"] == "PASSED" and gate["verifiedLevels"] == ["TINYREL_RELEASE_GATE_PASSED"]
    assert gate["policy"] == {"uri": "release.toml", "digest": {"sha256": sha256(dist / "release.toml")}}
    blockers = {b["id"]: b["status"] for b in gate["https://github.com/tinyrel/tinyrel#gate"]["blockers"]}
    assert blockers == {"weight-distribution": "resolved", "breadth-regression": "resolved"}

    provenance = statement_of(dist / "attestations" / "provenance.sigstore.json")["predicate"]
    parameters = provenance["buildDefinition"]["externalParameters"]
    assert parameters["release"] == {"name": NAME, "version": "0.1.0", "mode": "metadata"}
    dependencies = {d["name"]: d for d in provenance["buildDefinition"]["resolvedDependencies"]}
    assert dependencies["base-model"] == {"name": "base-model", "uri": "hf://Qwen/Qwen3-4B",
                                          "annotations": {"pinned": False}}  # fmt: skip
    assert {n for n in dependencies if n.startswith("evals/")} == {
        f"evals/{p.name}" for p in (dist / "evals").iterdir()}  # fmt: skip
    assert provenance["runDetails"]["builder"]["id"] == f"https://github.com/tinyrel/tinyrel@{tinyrel.__version__}"

    code, doc = run_json("verify", dist, "--public-key", keys.public_key, *ALL)
    assert code == 0, doc
    assert {(a["path"].split("/")[1], a["predicate_type"], a["verified"]) for a in doc["attestations"]} == {
        (name, kind, True) for name, kind in KINDS.items()}  # fmt: skip
    assert model_signing_verify(dist, keys.public_key).returncode == 0


def test_the_card_says_which_statements_a_release_carries_and_an_unsigned_release_ships_none(example, keys):
    signed = (publish_local(example, "signed", "--private-key", keys.private_key) / "README.md").read_text()
    section = signed.split("## Attestations", 1)[1]
    for name in KINDS:
        assert f"[`attestations/{name}`](attestations/{name})" in section
    assert "--require provenance,evals,gate,sbom" in section
    unsigned = publish_local(example, "unsigned")
    assert not (unsigned / "attestations").exists()
    card = (unsigned / "README.md").read_text()
    assert "This release is not signed, so it carries no attestations" in card.split("## Attestations", 1)[1]
    preview = tinyrel.render_card(example).split("## Attestations", 1)[1]
    assert "This preview has no attestations" in preview


@pytest.mark.parametrize("case", ["removed", "removed-and-resigned", "edited", "signed-by-another-key",
                                  "wrong-subject", "garbage", "no-key-hint"])  # fmt: skip
def test_verify_require_names_the_statement_that_is_missing_edited_or_signed_by_another_key(example, keys, tmp_path,
                                                                                             case):  # fmt: skip
    dist = publish_local(example, "dist", "--private-key", keys.private_key)
    gate = dist / "attestations" / "gate.sigstore.json"
    if case.startswith("removed"):
        gate.unlink()
    elif case == "edited":  # the verdict turned around after signing
        bundle = json.loads(gate.read_text())
        payload = base64.b64decode(bundle["dsseEnvelope"]["payload"]).replace(b'"PASSED"', b'"FAILED"')
        bundle["dsseEnvelope"]["payload"] = base64.b64encode(payload).decode()
        gate.write_text(json.dumps(bundle))
    elif case == "garbage":
        gate.write_text("{not a bundle")
    elif case == "no-key-hint":  # model_signing would print a warning on stdout for it: refused before
        bundle = json.loads(gate.read_text())
        del bundle["verificationMaterial"]["publicKey"]["hint"]
        gate.write_text(json.dumps(bundle))
    elif case == "signed-by-another-key":
        intruder = publish_local(example, "intruder", "--private-key", other_key(tmp_path))
        shutil.copy(intruder / "attestations" / "gate.sigstore.json", gate)
    else:  # signed by the publisher, but about a card this release does not carry
        (example / "release" / f"{NAME}.toml").write_text(
            (example / "release" / f"{NAME}.toml").read_text().replace('"Domain win"', '"Domain win!"'))
        other = publish_local(example, "other", "--private-key", keys.private_key)
        shutil.copy(other / "attestations" / "gate.sigstore.json", gate)
    if case != "removed":
        resign(dist, keys.private_key)  # model.sig vouches for the release as it is now: only the statement fails
    code, doc = run_json("verify", dist, "--public-key", keys.public_key, *ALL)
    assert code == 1
    expected = {"removed": "attest/missing", "removed-and-resigned": "attest/missing", "edited": "attest/signature",
                "signed-by-another-key": "attest/signature", "wrong-subject": "attest/subject",
                "garbage": "attest/bundle", "no-key-hint": "attest/signature"}[case]  # fmt: skip
    named = [f for f in doc["findings"] if f["code"] == expected]
    assert len(named) == 1 and named[0]["path"] == "attestations/gate.sigstore.json", doc["findings"]
    assert "gate statement" in named[0]["message"]
    attest_errors = {c for c in codes(doc) if c.startswith("attest/")}
    assert attest_errors == {expected}, doc["findings"]
    if case == "removed":
        assert "verify/missing" in codes(doc)  # model.sig still names it
    else:
        assert {c for c in codes(doc) if c.startswith("verify/")} == set()
    verified = {a["path"].split("/")[1] for a in doc["attestations"] if a["verified"]}
    assert verified == set(KINDS) - {"gate.sigstore.json"}
    code, doc = run_json("verify", dist, "--public-key", keys.public_key, "--require", "provenance,evals")
    # not required: a statement that is absent is no error; one that is there and false still is
    assert code == (0 if case == "removed-and-resigned" else 1), doc["findings"]


def test_a_statement_that_is_a_fifo_or_too_large_is_refused_without_hanging(example, keys, monkeypatch):
    import os

    dist = publish_local(example, "dist", "--private-key", keys.private_key)
    gate = dist / "attestations" / "gate.sigstore.json"
    gate.unlink()
    os.mkfifo(gate)  # opening it for reading would block forever
    code, doc = run_json("verify", dist, "--public-key", keys.public_key, "--require", "gate")
    assert code == 1 and [f["path"] for f in doc["findings"] if f["code"] == "attest/missing"] == [
        "attestations/gate.sigstore.json"]  # fmt: skip

    from tinyrel.attesting import statements

    monkeypatch.setattr(statements, "MAX_STATEMENT_BYTES", 20_000)  # the breadth eval's statement is ~24 kB
    code, doc = run_json("publish", "--mode", "metadata", "--out", "big", "--private-key", keys.private_key,
                         cwd=example)  # fmt: skip
    assert code == 1 and codes(doc) == {"attest/too-large"} and not (example / "big").exists()
    code, doc = run_json("attest", "--out", "big", "--private-key", keys.private_key, cwd=example)
    assert code == 1 and codes(doc) == {"attest/too-large"} and not (example / "big").exists()


def test_verify_without_a_required_kind_passes_and_an_unknown_kind_is_a_usage_error(example, keys):
    dist = publish_local(example, "dist", "--private-key", keys.private_key)
    (dist / "attestations" / "sbom.sigstore.json").unlink()
    (dist / "attestations" / "sbom.cdx.json").unlink()
    resign(dist, keys.private_key)
    assert run_json("verify", dist, "--public-key", keys.public_key, "--require", "provenance,evals,gate")[0] == 0
    code, doc = run_json("verify", dist, "--public-key", keys.public_key, "--require", "sbom")
    assert code == 1 and codes(doc) == {"attest/missing"}
    missing = [f for f in doc["findings"] if f["code"] == "attest/missing"]
    assert [f["message"] for f in missing] == [
        "--require sbom: the sbom statement (attestations/sbom.sigstore.json) is not in the release"]
    code, doc = run_json("verify", dist, "--public-key", keys.public_key, "--require", "provenance,signatures")
    assert code == 2 and codes(doc) == {"usage/require"}
    with pytest.raises(tinyrel.TinyrelError) as failure:
        tinyrel.verify(dist, tinyrel.VerifierConfig(public_key=keys.public_key), require=["signatures"])
    assert failure.value.code == "usage/require" and failure.value.usage
    unsigned = publish_local(example, "unsigned")
    resign(unsigned, keys.private_key)  # signed afterwards by hand: a release without statements
    code, doc = run_json("verify", unsigned, "--public-key", keys.public_key, "--require", "all")
    assert code == 1 and [f["message"] for f in doc["findings"] if f["code"] == "attest/missing"] == [
        f"--require {kind}: the {kind} statement (attestations/{kind}.sigstore.json) is not in the release"
        for kind in ("provenance",)] + [
        f"--require evals: the eval statement for {e!r} (attestations/eval-{e}.sigstore.json) is not in the release"
        for e in EVALS] + [
        f"--require {kind}: the {kind} statement (attestations/{kind}.sigstore.json) is not in the release"
        for kind in ("gate", "sbom")]  # fmt: skip


def test_statements_verify_against_a_release_signed_with_shard_digests(example, keys):
    """model.sig in OMS ``shards`` serialization: the subjects are checked against the files' own SHA-256."""
    dist = publish_local(example, "dist", "--private-key", keys.private_key)
    signer = tinyrel.SignerConfig(private_key=keys.private_key)
    assert tinyrel.sign(dist, dist / "model.sig", signer, shard_size=4096).ok
    assert run_json("verify", dist, "--public-key", keys.public_key, *ALL)[0] == 0
    (dist / "README.md").write_text((dist / "README.md").read_text() + "\nEdited.\n")
    assert tinyrel.sign(dist, dist / "model.sig", signer, shard_size=4096).ok
    code, doc = run_json("verify", dist, "--public-key", keys.public_key, *ALL)
    assert code == 1 and codes(doc) == {"attest/subject"} and len(doc["findings"]) > 6


def test_certificate_signed_statements_verify_with_the_chain(example, keys):
    dist = publish_local(example, "dist", "--private-key", keys.leaf_key, "--signing-certificate", keys.leaf_cert,
                         "--certificate-chain", keys.ca_cert)  # fmt: skip
    code, doc = run_json("verify", dist, "--certificate-chain", keys.ca_cert, "--require", "all")
    assert code == 0 and len(doc["attestations"]) == 6, doc


def test_keyless_statements_verify_with_sigstore_python_against_the_private_sigstore(example, private_sigstore):
    from sigstore.models import Bundle, ClientTrustConfig
    from sigstore.verify import Verifier, policy

    _, client = private_sigstore
    dist = publish_local(example, "dist", "--sigstore", "--sigstore-trust-config", client)
    verifier = Verifier(trusted_root=ClientTrustConfig.from_json(Path(client).read_text()).trusted_root)
    who = policy.Identity(identity="ci@example.com", issuer="https://oidc.example")
    for name, predicate_type in KINDS.items():
        bundle = Bundle.from_json((dist / "attestations" / name).read_text())
        payload_type, payload = verifier.verify_dsse(bundle, who)
        assert payload_type == "application/vnd.in-toto+json"
        assert json.loads(payload)["predicateType"] == predicate_type
        assert statement_of(dist / "attestations" / name)["predicateType"] == predicate_type
    trust = ["--identity", "ci@example.com", "--issuer", "https://oidc.example", "--trust-config", client]
    assert run_json("verify", dist, *trust, *ALL)[0] == 0
    code, doc = run_json("verify", dist, "--identity", "someone@else.example", "--issuer", "https://oidc.example",
                         "--trust-config", client, *ALL)  # fmt: skip
    assert code == 1 and "attest/not-checked" in codes(doc)


def test_hosted_release_carries_the_statements_and_verify_and_pull_require_them(example, hub, keys, tmp_path):
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi

    code, doc = run_json("publish", "--mode", "weights", "--repo-id", "org/name", "--allow-other-repo",
                         "--private-key", keys.private_key, cwd=example)  # fmt: skip
    assert code == 0, doc
    attested = {f"attestations/{name}" for name in [*KINDS, "sbom.cdx.json"]}
    rows = {r["path"]: r["status"] for r in doc["plan"]["files"]}
    assert {p: rows[p] for p in attested} == dict.fromkeys(attested, "signed at publish")
    api = HfApi(endpoint=hub.base_url, token=HUB_TOKEN)
    assert attested <= {s.rfilename for s in api.model_info("org/name", revision="v0.1.0").siblings}
    for extra in ([], ["--no-download"]):
        code, doc = run_json("verify", "hf://org/name@v0.1.0", "--public-key", keys.public_key, *ALL, *extra)
        assert code == 0 and sum(a["verified"] for a in doc["attestations"]) == 6, doc
    hosted = statement_of_hub(api, tmp_path)
    assert hosted["gate"]["resourceUri"] == "hf://org/name@v0.1.0"
    assert hosted["provenance"]["buildDefinition"]["externalParameters"]["release"]["repository"] == "hf://org/name"
    assert hosted["eval"]["url"] == "https://huggingface.co/org/name/blob/v0.1.0/evals/fileops-hard.tuned.jsonl"
    assert hosted["bom"]["metadata"]["component"]["purl"] == "pkg:huggingface/org/name"

    pulled = tmp_path / "pulled"
    code, doc = run_json("pull", "hf://org/name@v0.1.0", "--public-key", keys.public_key, "--local-dir", pulled, *ALL)
    assert code == 0 and len(doc["attestations"]) == 6, doc
    assert model_signing_verify(pulled, keys.public_key).returncode == 0
    check_dsse_with_key(pulled / "attestations" / "gate.sigstore.json", keys.public_key)

    again = run_json("publish", "--mode", "weights", "--repo-id", "org/name", "--allow-other-repo",
                     "--private-key", keys.private_key, cwd=example)[1]  # fmt: skip
    assert again["plan"]["action"] == "done", again  # re-signed statements differ in bytes: compared by presence

    # The gate statement is dropped and model.sig re-signed over what is left: a release without it.
    (pulled / "attestations" / "gate.sigstore.json").unlink()
    resign(pulled, keys.private_key)
    api.create_commit("org/name", operations=[CommitOperationDelete("attestations/gate.sigstore.json"),
                      CommitOperationAdd("model.sig", str(pulled / "model.sig"))], commit_message="drop")  # fmt: skip
    assert run_json("verify", "hf://org/name", "--public-key", keys.public_key)[0] == 0  # the files still verify
    code, doc = run_json("verify", "hf://org/name", "--public-key", keys.public_key, *ALL)
    assert code == 1 and codes(doc) == {"attest/missing"}
    assert [f["path"] for f in doc["findings"] if f["code"] == "attest/missing"] == ["attestations/gate.sigstore.json"]
    target = tmp_path / "refused"
    code, doc = run_json("pull", "hf://org/name", "--public-key", keys.public_key, "--local-dir", target,
                         "--require", "gate")  # fmt: skip
    assert code == 1 and "attest/missing" in codes(doc) and not target.exists()


def statement_of_hub(api, tmp_path: Path) -> dict:
    """Predicates of the hosted release's statements, downloaded with huggingface_hub itself."""
    got = {}
    for key, name in (("gate", "gate"), ("provenance", "provenance"), ("eval", "eval-fileops-hard")):
        path = api.hf_hub_download("org/name", f"attestations/{name}.sigstore.json", revision="v0.1.0",
                                   local_dir=tmp_path / "hub-copy")  # fmt: skip
        got[key] = statement_of(Path(path))["predicate"]
    bom = api.hf_hub_download("org/name", "attestations/sbom.cdx.json", revision="v0.1.0", local_dir=tmp_path / "hc")
    got["bom"] = json.loads(Path(bom).read_text())
    return got


def test_an_allowed_blocker_is_attested_as_an_override_with_its_reason(example, lfs_hub, keys, tmp_path):
    code, doc = run_json("publish", "--mode", "weights", "--repo-id", "org/name", "--allow-other-repo", "--private",
                         "--allow", "weight-distribution", "--reason", "team preview", "--private-key",
                         keys.private_key, cwd=example)  # fmt: skip
    assert code == 0, doc
    pulled = tmp_path / "pulled"
    assert run_json("pull", "hf://org/name@v0.1.0", "--public-key", keys.public_key, "--local-dir", pulled)[0] == 0
    gate = statement_of(pulled / "attestations" / "gate.sigstore.json")["predicate"]
    assert gate["verificationResult"] == "PASSED"
    assert gate["verifiedLevels"] == ["TINYREL_RELEASE_GATE_PASSED_WITH_OVERRIDES"]
    blocker = next(b for b in gate["https://github.com/tinyrel/tinyrel#gate"]["blockers"]
                   if b["id"] == "weight-distribution")  # fmt: skip
    assert blocker["status"] == "overridden" and blocker["override"] == {"reason": "team preview"}
    provenance = statement_of(pulled / "attestations" / "provenance.sigstore.json")["predicate"]
    assert provenance["buildDefinition"]["externalParameters"]["overrides"] == {"weight-distribution": "team preview"}


def test_attest_writes_signed_statements_for_a_workspace_without_publishing(example, keys, tmp_path):
    out = tmp_path / "attested"
    result = run("attest", "--out", out, "--private-key", keys.private_key, cwd=example)
    assert result.exit_code == 1, result.output  # the gate fails in check mode (weight-distribution open) ...
    assert "attestations/gate.sigstore.json" in result.output and "FAILED" in result.output
    gate = statement_of(out / "attestations" / "gate.sigstore.json")  # ... and that is what the statement says
    assert gate["predicate"]["verificationResult"] == "FAILED" and gate["predicate"]["verifiedLevels"] == ["FAILED"]
    spec_digest = sha256(example / "release" / f"{NAME}.toml")
    assert gate["predicate"]["policy"] == {"uri": f"release/{NAME}.toml", "digest": {"sha256": spec_digest}}
    card = {s["name"]: s["digest"]["sha256"] for s in gate["subject"]}["README.md"]
    assert card == sha256(out / "README.md") and (out / "README.md").read_text() == tinyrel.render_card(
        example, offline=False)  # fmt: skip
    for name in KINDS:
        check_dsse_with_key(out / "attestations" / name, keys.public_key)
    hard = statement_of(out / "attestations" / "eval-fileops-hard.sigstore.json")["predicate"]
    assert hard["result"] == "PASSED"
    assert not (example / "dist").exists() and sorted(p.name for p in out.iterdir()) == ["README.md", "attestations"]

    # again into its own output: replaced; into anything else: refused untouched
    assert run("attest", "--out", out, "--private-key", keys.private_key, cwd=example).exit_code == 1
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    code, doc = run_json("attest", "--out", tmp_path / "busy", "--private-key", keys.private_key, cwd=example)
    assert code == 2 and codes(doc) == {"attest/out-dir"} and (tmp_path / "busy" / "notes.txt").read_text() == "mine"
    code, doc = run_json("attest", "--out", tmp_path / "x", cwd=example)
    assert code == 2 and codes(doc) == {"usage/attest-signer"}
    with pytest.raises(tinyrel.TinyrelError) as failure:
        tinyrel.attest(example, out=tmp_path / "x", signer=None)  # type: ignore[arg-type]
    assert failure.value.code == "usage/attest-signer"


def test_an_eval_whose_records_disagree_is_attested_failed_and_unpinned_records_warned(example, keys, tmp_path):
    spec = example / "release" / f"{NAME}.toml"
    spec.write_text(spec.read_text().replace("tuned = 0.95", "tuned = 0.97"))
    lock = tomllib.loads((example / "tinyrel.lock").read_text())
    lock["sources"][0]["evidence"] = [e for e in lock["sources"][0]["evidence"] if "breadth" not in e["path"]]
    import tomli_w

    (example / "tinyrel.lock").write_text(tomli_w.dumps(lock))
    report = tinyrel.attest(example, out=tmp_path / "a", signer=tinyrel.SignerConfig(private_key=keys.private_key))
    verdicts = {row["eval"]: row["result"] for row in report.data["attestations"] if row["kind"] == "evals"}
    assert verdicts == {"fileops-hard": "PASSED", "fileops-heldout": "FAILED", "breadth": "WARNED"}
    heldout = statement_of(tmp_path / "a" / "attestations" / "eval-fileops-heldout.sigstore.json")["predicate"]
    claims = next(c for c in heldout["configuration"] if c["name"] == f"release/{NAME}.toml")["annotations"]["claims"]
    assert heldout["result"] == "FAILED" and claims["tuned"] == 0.97
    assert len(heldout["passedTests"]) == 19 and len(heldout["failedTests"]) == 1


def test_provenance_names_the_pinned_base_the_recipe_and_the_datasets(example, keys, tmp_path, monkeypatch):
    commit = "0123456789abcdef0123456789abcdef01234567"
    spec = example / "release" / f"{NAME}.toml"
    (example / "training").mkdir()
    (example / "training" / "lora.yaml").write_text("rank: 8\n")
    spec.write_text(spec.read_text() + f'\n[provenance]\nrecipe = "training/lora.yaml"\n'
                    f'datasets = ["lab/fileops-traces@{commit}", "lab/extra@main"]\n')  # fmt: skip
    lock = tomllib.loads((example / "tinyrel.lock").read_text())
    lock["sources"].append({"name": "base", "uri": f"hf://Qwen/Qwen3-4B@{commit}", "kind": "hub", "revision": commit,
                            "durable": True, "public": True,
                            "files": [{"path": "model.safetensors", "size": 3, "sha256": "ab" * 32}]})  # fmt: skip
    import tomli_w

    (example / "tinyrel.lock").write_text(tomli_w.dumps(lock))
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_WORKFLOW_REF", "lab/rel/.github/workflows/release.yml@refs/heads/main")
    monkeypatch.setenv("GITHUB_REPOSITORY", "lab/rel")
    monkeypatch.setenv("GITHUB_RUN_ID", "42")
    monkeypatch.setenv("GITHUB_RUN_ATTEMPT", "2")
    dist = publish_local(example, "dist", "--private-key", keys.private_key)
    provenance = statement_of(dist / "attestations" / "provenance.sigstore.json")["predicate"]
    dependencies = {d["name"]: d for d in provenance["buildDefinition"]["resolvedDependencies"]}
    assert dependencies["base-model"]["uri"] == f"hf://Qwen/Qwen3-4B@{commit}"
    assert dependencies["base-model"]["digest"] == {"gitCommit": commit}
    assert dependencies["base-model/model.safetensors"]["digest"] == {"sha256": "ab" * 32}
    assert dependencies["recipe/training/lora.yaml"]["digest"] == {"sha256": hashlib.sha256(b"rank: 8\n").hexdigest()}
    assert dependencies["dataset/lab/fileops-traces"] == {"name": "dataset/lab/fileops-traces", "uri": (
        f"hf://datasets/lab/fileops-traces@{commit}"), "digest": {"gitCommit": commit}}  # fmt: skip
    assert dependencies["dataset/lab/extra"]["annotations"] == {"pinned": False, "revision": "main"}
    run_details = provenance["runDetails"]
    assert run_details["builder"]["id"] == "https://github.com/lab/rel/.github/workflows/release.yml@refs/heads/main"
    assert run_details["metadata"]["invocationId"] == "https://github.com/lab/rel/actions/runs/42/attempts/2"
    bom = json.loads((dist / "attestations" / "sbom.cdx.json").read_text())
    assert bom["components"][0]["purl"] == f"pkg:huggingface/Qwen/Qwen3-4B@{commit}"
    assert bom["metadata"]["component"]["modelCard"]["modelParameters"]["datasets"][0]["name"] == "lab/fileops-traces"
    assert "its training recipe and datasets" in (dist / "README.md").read_text()
    assert run_json("verify", dist, "--public-key", keys.public_key, *ALL)[0] == 0


@pytest.mark.parametrize(("table", "message"), [
    ('recipe = "../outside.yaml"', "'recipe' in [provenance]"),
    ('datasets = ["lab/traces"]', "ORG/NAME@REVISION"),
    ('datasets = "lab/traces@main"', "must be list"),
])  # fmt: skip
def test_a_bad_provenance_table_is_a_spec_error_with_its_line(example, table, message):
    spec = example / "release" / f"{NAME}.toml"
    spec.write_text(spec.read_text() + f"\n[provenance]\n{table}\n")
    code, doc = run_json("check", "--offline", cwd=example)
    assert code != 0 and doc["findings"][0]["code"] == "spec/invalid" and message in doc["findings"][0]["message"]
    assert doc["findings"][0]["line"] == len(spec.read_text().splitlines())


def test_an_unknown_provenance_key_and_a_missing_recipe_are_named(example, keys, tmp_path):
    spec = example / "release" / f"{NAME}.toml"
    spec.write_text(spec.read_text() + '\n[provenance]\nrecipe = "training/lora.yaml"\nrecipes = "x"\n')
    code, doc = run_json("check", "--offline", cwd=example)
    assert code == 1 and "did you mean 'recipe'" in next(f for f in doc["findings"] if f["code"] == "spec/unknown-key")[
        "message"]  # fmt: skip
    spec.write_text(spec.read_text().replace('recipes = "x"\n', ""))
    code, doc = run_json("publish", "--mode", "metadata", "--out", "dist", "--private-key", keys.private_key,
                         cwd=example)  # fmt: skip
    assert code == 1 and codes(doc) == {"attest/recipe"} and not (example / "dist").exists()


def test_model_signings_private_methods_the_attestations_use_still_exist():
    import importlib

    from tinyrel.signing import _oms

    for dotted, method in _oms.PRIVATE_METHODS:
        module, _, cls = dotted.rpartition(".")
        assert callable(getattr(getattr(importlib.import_module(module), cls), method)), (dotted, method)


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed")
def test_the_readme_jq_line_reads_the_eval_statement(example, keys):
    import re

    publish_local(example, "dist", "--private-key", keys.private_key)
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("\n## Attestations", 1)[1].split("\n## ", 1)[0]
    [line] = re.findall(r"```bash\n(jq .+?)\n```", section, re.S)  # the line exactly as the README gives it
    out = subprocess.run(["bash", "-c", line], cwd=example, capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == {"result": "PASSED", "passed": 50, "failed": 0}
