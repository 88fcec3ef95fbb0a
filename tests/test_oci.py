"""Issue 22: releases in OCI registries, against a real one — CNCF Distribution (``docker-registry``)
on 127.0.0.1, started per test (tests/support/oci_registry.py) — with real mlx-lm weights and real keys."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from urllib.request import Request, urlopen

import pytest
from support.helpers import codes, run, run_json
from support.oci_registry import PASSWORD, USER, CuttingProxy, Registry

NAME = "qwen3-4b-fileops"
PATH = "lab/qwen3-4b-fileops"
MODEL_TYPES = {"application/vnd.cncf.model.weight.v1.raw", "application/vnd.cncf.model.weight.config.v1.raw",
               "application/vnd.cncf.model.doc.v1.raw", "application/vnd.cncf.model.dataset.v1.raw"}  # fmt: skip
SCHEMAS = Path(__file__).parent / "data" / "oci-image-spec"  # opencontainers/image-spec 13cff549, schema/


@pytest.fixture
def registry(tmp_path):
    reg = Registry(tmp_path / "registry").start()
    yield reg
    reg.stop()


@pytest.fixture
def auth_registry(tmp_path):
    reg = Registry(tmp_path / "auth-registry", auth=True).start()
    yield reg
    reg.stop()


@pytest.fixture
def workspace(example, mlx_lm_model) -> Path:
    """The example workspace with real mlx-lm weights (they load with ``mlx_lm.load``)."""
    mlx_lm_model("saved", example / "weights")
    spec = example / "release" / f"{NAME}.toml"
    spec.write_text(re.sub(r'(?m)^source = ".*"$', 'source = "weights"', spec.read_text()))
    assert run("manifest", "weights", "-o", f"manifests/{NAME}.json", cwd=example).exit_code == 0
    assert run("lock", "weights", "--name", NAME, cwd=example).exit_code == 0
    return example


def publish(ws: Path, repo: str, *args) -> tuple[int, dict]:
    return run_json("publish", "--mode", "weights", "--oci-repo", repo, *args, cwd=ws)


def manifest_at(reg: Registry, reference: str, path: str = PATH) -> tuple[bytes, dict]:
    request = Request(f"http://{reg.host}/v2/{path}/manifests/{reference}",
                      headers={"Accept": "application/vnd.oci.image.manifest.v1+json, "
                               "application/vnd.oci.image.index.v1+json"})  # fmt: skip
    body = urlopen(request, timeout=10).read()
    return body, json.loads(body)


def put_manifest(reg: Registry, reference: str, body: bytes, media_type: str, path: str = PATH) -> None:
    request = Request(f"http://{reg.host}/v2/{path}/manifests/{reference}", data=body, method="PUT",
                      headers={"Content-Type": media_type})  # fmt: skip
    assert urlopen(request, timeout=10).status == 201


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def schema_validator(name: str):
    """A validator for one of image-spec's schemas (draft-04, relative ``$ref``s between its files)."""
    import jsonschema
    from referencing import Registry as Refs
    from referencing import Resource
    from referencing.jsonschema import DRAFT4

    def retrieve(uri: str):
        return Resource.from_contents(json.loads((SCHEMAS / uri.rsplit("/", 1)[-1]).read_text()), DRAFT4)

    return jsonschema.Draft4Validator(json.loads((SCHEMAS / name).read_text()), registry=Refs(retrieve=retrieve))


def test_publish_twice_verify_pull_and_a_second_client_reads_it(workspace, registry, keys, tmp_path):
    repo = registry.repo(PATH)
    code, doc = publish(workspace, repo, "--private-key", keys.private_key)
    assert code == 0, doc
    digest = doc["digest"]
    lock = tomllib.loads((workspace / "tinyrel.lock").read_text())["sources"][0]
    assert lock["uri"] == f"oci://{repo}@{digest}" and lock["kind"] == "oci" and lock["revision"] == digest
    assert lock["durable"] is True and lock["public"] is True
    assert {f["path"] for f in lock["files"]} >= {"model.safetensors", "config.json", "tokenizer.json"}
    code, doc = run_json("check", cwd=workspace)  # the digest pin resolves weight-distribution, confirmed
    assert code == 0 and doc["checks"]["weight-distribution"] == "pass", doc
    import tinyrel

    assert "a public manifest the registry confirmed" in tinyrel.render_card(workspace, offline=False)

    # tinyrel lock pins a tag to its manifest digest (durable), listing the weight layers.
    code, doc = run_json("lock", f"oci://{repo}:v0.1.0", "--name", "pinned", "-o", tmp_path / "other.lock")
    assert code == 0, doc
    [pinned] = tomllib.loads((tmp_path / "other.lock").read_text())["sources"]
    assert pinned["uri"] == lock["uri"] and pinned["durable"] and pinned["files"] == lock["files"]

    # The second publish sends nothing: no upload, no manifest, no tag (the registry's own access log).
    before = len(registry.requests())
    code, doc = publish(workspace, repo, "--private-key", keys.private_key)
    assert code == 0 and "publish/already-published" in codes(doc, "info")
    assert registry.writes(before) == []

    # The artifact: a ModelPack manifest, valid OCI, its config valid against model-spec's schema.
    body, manifest = manifest_at(registry, "v0.1.0")
    assert sha(body) == digest
    schema_validator("image-manifest-schema.json").validate(manifest)
    assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert manifest["artifactType"] == "application/vnd.cncf.model.manifest.v1+json"
    assert manifest["config"]["mediaType"] == "application/vnd.cncf.model.config.v1+json"
    layers = {layer["annotations"]["org.cncf.model.filepath"]: layer for layer in manifest["layers"]}
    assert all(layer["annotations"]["org.opencontainers.image.title"] == path for path, layer in layers.items())
    assert {layer["mediaType"] for layer in layers.values()} == MODEL_TYPES
    assert layers["model.safetensors"]["mediaType"].endswith("weight.v1.raw")
    assert layers["tokenizer.json"]["mediaType"].endswith("weight.config.v1.raw")
    assert layers["README.md"]["mediaType"].endswith("doc.v1.raw") and "CHANGELOG.md" in layers
    assert layers["evals/breadth.tuned.jsonl"]["mediaType"].endswith("dataset.v1.raw")
    assert "model.sig" not in layers
    config = json.loads(urlopen(f"http://{registry.host}/v2/{PATH}/blobs/{manifest['config']['digest']}").read())
    _check_config(config, manifest)

    # model.sig is a referrer: Distribution 2.8 has no Referrers API, so the referrers tag schema.
    _, index = manifest_at(registry, "sha256-" + digest.removeprefix("sha256:"))
    schema_validator("image-index-schema.json").validate(index)
    [entry] = index["manifests"]
    assert entry["artifactType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    _, referrer = manifest_at(registry, entry["digest"])
    assert referrer["subject"]["digest"] == digest and referrer["artifactType"] == entry["artifactType"]

    for extra in ([], ["--no-download"]):
        code, doc = run_json("verify", f"oci://{repo}:v0.1.0", "--public-key", keys.public_key, *extra)
        assert code == 0 and doc["verified"] and doc["digest"] == digest, doc

    pulled = tmp_path / "pulled"
    result = run("pull", f"oci://{repo}:v0.1.0", "--public-key", keys.public_key, "--local-dir", pulled)
    assert result.exit_code == 0, result.output
    import mlx_lm

    model, tokenizer = mlx_lm.load(str(pulled))
    assert model is not None and tokenizer is not None
    reference = subprocess.run(
        [sys.executable, "-m", "model_signing", "verify", "key", str(pulled), "--signature", str(pulled / "model.sig"),
         "--public_key", str(keys.public_key)], capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert reference.returncode == 0, reference.stderr
    card = (pulled / "README.md").read_text()
    assert f"tagged `v0.1.0` in `oci://{repo}`" in card and f"tinyrel pull oci://{repo}:v0.1.0" in card

    # A second client, the oras SDK, pulls the tagged artifact and gets the same files.
    import oras.provider

    other = tmp_path / "oras"
    oras.provider.Registry(hostname=registry.host, insecure=True).pull(target=f"{repo}:v0.1.0", outdir=str(other))
    theirs = {p.relative_to(other).as_posix(): p.read_bytes() for p in other.rglob("*") if p.is_file()}
    ours = {p.relative_to(pulled).as_posix(): p.read_bytes() for p in pulled.rglob("*") if p.is_file()}
    assert theirs == {k: v for k, v in ours.items() if k != "model.sig"}


def _check_config(config: dict, manifest: dict) -> None:
    """The config validates against model-spec's schema (tinyrel's copy is the upstream file), and
    every value is a fact of this release."""
    import datetime

    import jsonschema

    schema_file = Path(__import__("tinyrel.oci.modelpack", fromlist=["CONFIG_SCHEMA"]).CONFIG_SCHEMA)
    data = schema_file.read_bytes()
    # git's blob id of schema/config-schema.json at modelpack/model-spec d78bf323
    assert hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest() == "6d35afb104c8bbedd6e20fc6f077e81b1fdcd171"
    jsonschema.Draft202012Validator(json.loads(data)).validate(config)
    descriptor, model = config["descriptor"], config["config"]
    assert descriptor["name"] == NAME and descriptor["version"] == "0.1.0" and descriptor["licenses"] == ["apache-2.0"]
    assert descriptor["family"] == "qwen3"
    if "createdAt" in descriptor:
        datetime.datetime.fromisoformat(descriptor["createdAt"])
    assert model["format"] == "safetensors" and model["architecture"] == "Qwen3ForCausalLM"
    assert model["precision"] == "bfloat16" and re.fullmatch(r"\d+\.\d[KMBTQ]", model["paramSize"])
    assert config["modelfs"] == {"type": "layers", "diffIds": [layer["digest"] for layer in manifest["layers"]]}


def test_dry_run_plans_it_and_sends_nothing(workspace, registry, keys):
    code, doc = publish(workspace, registry.repo(PATH), "--private-key", keys.private_key, "--dry-run")
    assert code == 0, doc
    plan = doc["plan"]
    rows = {row["path"]: row["status"] for row in plan["files"]}
    assert rows["model.safetensors"] == "upload" and rows["model.sig"] == "signed at publish"
    assert plan["upload_bytes"] == plan["bytes"] > 0 and plan["action"] == "push"
    assert registry.writes() == []
    text = run("publish", "--mode", "weights", "--oci-repo", registry.repo(PATH), "--dry-run", cwd=workspace).output
    assert f"plan for oci://{registry.repo(PATH)}:v0.1.0" in text and "will upload" in text


def test_an_existing_tag_with_other_content_is_never_moved(workspace, registry, keys):
    repo = registry.repo(PATH)
    assert publish(workspace, repo, "--private-key", keys.private_key)[0] == 0
    link = registry.tag_link(PATH, "v0.1.0")
    tagged = link.read_text()
    spec = workspace / "release" / f"{NAME}.toml"
    spec.write_text(spec.read_text().replace("Send only file-operation", "Route only file-operation"))
    before = len(registry.requests())
    for extra in (["--dry-run"], []):
        code, doc = publish(workspace, repo, "--private-key", keys.private_key, *extra)
        assert code == 1 and codes(doc) == {"publish/tag-exists"}, doc
    assert link.read_text() == tagged and registry.writes(before) == []


def _uploaded(writes) -> list[str]:
    """The digests of the blobs whose upload the registry completed."""
    return [re.search(r"digest=sha256%3A([0-9a-f]{64})", p).group(1) for m, p, s in writes
            if m == "PUT" and "/blobs/uploads/" in p and s == 201]  # fmt: skip


def test_a_killed_push_tags_nothing_and_the_rerun_sends_only_what_is_missing(workspace, registry, keys):
    proxy = CuttingProxy(registry.port, cut_after=3)
    try:
        repo = f"{proxy.host}/{PATH}"
        code, doc = publish(workspace, repo, "--private-key", keys.private_key)
        assert code == 1 and codes(doc) == {"oci/unreachable"}, doc
        assert "nothing was tagged: re-run the same command to resume" in json.dumps(doc)
        first = _uploaded(registry.writes())
        assert first and not registry.tag_link(PATH, "v0.1.0").exists()
        assert (workspace / "tinyrel.lock").read_text().count("oci://") == 0
        proxy.cut_after = None
        before = len(registry.requests())
        code, doc = publish(workspace, repo, "--private-key", keys.private_key)
        assert code == 0, doc
        second = _uploaded(registry.writes(before))
        assert not set(first) & set(second)  # nothing is sent twice
        assert run_json("verify", f"oci://{repo}:v0.1.0", "--public-key", keys.public_key)[0] == 0
    finally:
        proxy.stop()


def test_a_push_killed_before_its_tag_is_finished_by_the_rerun_with_its_signature(workspace, registry, keys):
    proxy = CuttingProxy(registry.port, cut_tag="v0.1.0")
    try:
        repo = f"{proxy.host}/{PATH}"
        code, doc = publish(workspace, repo, "--private-key", keys.private_key)
        assert code == 1 and codes(doc) == {"oci/unreachable"}, doc
        assert not registry.tag_link(PATH, "v0.1.0").exists()
        proxy.cut_tag = None
        before = len(registry.requests())
        code, doc = publish(workspace, repo, "--private-key", keys.private_key)
        assert code == 0 and "publish/recovered" in codes(doc, "info"), doc
        assert [(m, p) for m, p, _ in registry.writes(before)] == [("PUT", f"/v2/{PATH}/manifests/v0.1.0")]
        _, index = manifest_at(registry, "sha256-" + doc["digest"].removeprefix("sha256:"))
        assert len(index["manifests"]) == 1  # one signature: the interrupted run's, verified and kept
        assert run_json("verify", f"oci://{repo}:v0.1.0", "--public-key", keys.public_key)[0] == 0
    finally:
        proxy.stop()


@pytest.fixture
def two_releases(workspace, registry, keys) -> dict[str, str]:
    """v0.1.0 and v0.2.0 (another card) of the release in one repository: their manifest digests."""
    repo = registry.repo(PATH)
    code, doc = publish(workspace, repo, "--private-key", keys.private_key)
    assert code == 0, doc
    digests = {"v0.1.0": doc["digest"]}
    spec = workspace / "release" / f"{NAME}.toml"
    spec.write_text(spec.read_text().replace('version = "0.1.0"', 'version = "0.2.0"'))
    changelog = workspace / "CHANGELOG.md"
    changelog.write_text(re.sub(r"(?m)^(## )", r"## [0.2.0]\n\n- Routing text.\n\n\1", changelog.read_text(), count=1))
    code, doc = publish(workspace, repo, "--private-key", keys.private_key)
    assert code == 0, doc
    digests["v0.2.0"] = doc["digest"]
    return digests


def _refused_with_nothing_written(uri: str, keys, target: Path, code: str) -> None:
    status, doc = run_json("verify", uri, "--public-key", keys.public_key)
    assert status == 1 and code in codes(doc), doc
    status, doc = run_json("pull", uri, "--public-key", keys.public_key, "--local-dir", target)
    assert status != 0 and code in codes(doc), doc
    assert not target.exists() and not list(target.parent.glob(f".{target.name}.*"))


def test_a_corrupted_blob_in_the_registry_storage_fails_and_writes_nothing(two_releases, registry, keys, tmp_path):
    _, manifest = manifest_at(registry, "v0.1.0")
    weight = next(layer for layer in manifest["layers"] if layer["mediaType"].endswith("weight.v1.raw"))
    stored = registry.blob_file(weight["digest"])
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0xFF
    stored.write_bytes(bytes(data))
    _refused_with_nothing_written(f"oci://{registry.repo(PATH)}:v0.1.0", keys, tmp_path / "d", "oci/digest-mismatch")
    stored.write_bytes(bytes(data) + b"more bytes than the descriptor declares")
    _refused_with_nothing_written(f"oci://{registry.repo(PATH)}:v0.1.0", keys, tmp_path / "d", "oci/size-mismatch")


def test_a_swapped_referrer_fails_and_writes_nothing(two_releases, registry, keys, tmp_path):
    """v0.1.0's referrers index made to list a signature whose bundle is v0.2.0's (same signer): the
    signature verifies, the files it signs are not v0.1.0's layers — nothing is fetched."""
    old, new = two_releases["v0.1.0"], two_releases["v0.2.0"]
    _, new_index = manifest_at(registry, "sha256-" + new.removeprefix("sha256:"))
    _, new_referrer = manifest_at(registry, new_index["manifests"][0]["digest"])
    swapped = dict(new_referrer, subject={**new_referrer["subject"], "digest": old,
                                         "size": len(manifest_at(registry, old)[0])})  # fmt: skip
    body = json.dumps(swapped).encode()
    put_manifest(registry, sha(body), body, "application/vnd.oci.image.manifest.v1+json")
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sha(body),
                            "size": len(body), "artifactType": "application/vnd.dev.sigstore.bundle.v0.3+json"}]}
    put_manifest(registry, "sha256-" + old.removeprefix("sha256:"), json.dumps(index).encode(),
                 "application/vnd.oci.image.index.v1+json")  # fmt: skip
    _refused_with_nothing_written(f"oci://{registry.repo(PATH)}:v0.1.0", keys, tmp_path / "d", "verify/listing")
    # v0.2.0's own referrer listed for v0.1.0: it names another subject, so v0.1.0 has no signature.
    index["manifests"][0].update(digest=new_index["manifests"][0]["digest"], size=new_index["manifests"][0]["size"])
    put_manifest(registry, "sha256-" + old.removeprefix("sha256:"), json.dumps(index).encode(),
                 "application/vnd.oci.image.index.v1+json")  # fmt: skip
    _refused_with_nothing_written(f"oci://{registry.repo(PATH)}:v0.1.0", keys, tmp_path / "d", "verify/no-signature")


def test_a_retagged_manifest_fails_and_writes_nothing(two_releases, registry, keys, tmp_path):
    """v0.2.0 re-tagged to v0.1.0's manifest: every byte and the signature verify, but the signed
    release is 0.1.0, not the 0.2.0 asked for."""
    body, _ = manifest_at(registry, "v0.1.0")
    put_manifest(registry, "v0.2.0", body, "application/vnd.oci.image.manifest.v1+json")
    _refused_with_nothing_written(f"oci://{registry.repo(PATH)}:v0.2.0", keys, tmp_path / "d", "verify/wrong-version")
    assert run_json("verify", f"oci://{registry.repo(PATH)}@{two_releases['v0.1.0']}",
                    "--public-key", keys.public_key)[0] == 0  # fmt: skip


def test_basic_auth_from_the_environment_or_the_docker_config_and_never_printed(workspace, auth_registry, keys,
                                                                                tmp_path, monkeypatch):  # fmt: skip
    repo = auth_registry.repo(PATH)
    result = run("publish", "--mode", "weights", "--oci-repo", repo, cwd=workspace)
    assert result.exit_code == 1 and "error[oci/auth]" in result.output and "TINYREL_OCI_USERNAME" in result.output
    monkeypatch.setenv("TINYREL_OCI_USERNAME", USER)
    monkeypatch.setenv("TINYREL_OCI_PASSWORD", PASSWORD + "-wrong")
    result = run("publish", "--mode", "weights", "--oci-repo", repo, cwd=workspace)
    assert result.exit_code == 1 and "error[oci/auth]" in result.output and "refused" in result.output
    assert PASSWORD not in result.output
    monkeypatch.setenv("TINYREL_OCI_PASSWORD", PASSWORD)
    outputs = []
    for fmt in ("text", "json"):
        result = run("publish", "--mode", "weights", "--oci-repo", repo, "--private-key", keys.private_key,
                     "--format", fmt, cwd=workspace)  # fmt: skip
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    lock = tomllib.loads((workspace / "tinyrel.lock").read_text())["sources"][0]
    assert lock["kind"] == "oci" and lock["public"] is False  # the registry serves nobody without credentials
    code, doc = run_json("check", cwd=workspace)
    assert code == 1 and "is not public" in json.dumps(doc), doc
    lock_file = workspace / "tinyrel.lock"
    lock_file.write_text(lock_file.read_text().replace("public = false", "public = true"))  # a hand-edited claim
    code, doc = run_json("check", cwd=workspace)
    assert code == 1 and "the registry does not serve it without credentials" in json.dumps(doc), doc

    monkeypatch.delenv("TINYREL_OCI_USERNAME")
    monkeypatch.delenv("TINYREL_OCI_PASSWORD")
    docker = tmp_path / "docker"
    docker.mkdir()
    secret = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    (docker / "config.json").write_text(json.dumps({"auths": {auth_registry.host: {"auth": secret}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(docker))
    pulled = tmp_path / "pulled"
    result = run("pull", f"oci://{repo}:v0.1.0", "--public-key", keys.public_key, "--local-dir", pulled)
    assert result.exit_code == 0, result.output
    outputs.append(result.output)
    written = [p for root in (workspace, pulled) for p in root.rglob("*") if p.is_file()]
    assert not [o for o in outputs if PASSWORD in o or secret in o]
    assert not [p for p in written if PASSWORD.encode() in p.read_bytes() or secret.encode() in p.read_bytes()]


def test_oci_references_are_checked_before_anything_is_sent(workspace, keys):
    for bad in ("oci://127.0.0.1:5000/Upper/Case:v1", "oci://127.0.0.1:5000/a/../b:v1", "oci://host:99999/a:v1",
                "oci://127.0.0.1:5000/a@sha256:beef", "oci://127.0.0.1:5000/a:bad:tag"):  # fmt: skip
        code, doc = run_json("verify", bad, "--public-key", keys.public_key)
        assert code == 2 and codes(doc) == {"usage/oci-ref"}, (bad, doc)
    code, doc = publish(workspace, "127.0.0.1:5000/a/b:v9")
    assert code == 2 and codes(doc) == {"usage/oci-repo"}
    code, doc = publish(workspace, "127.0.0.1:5000/a/b", "--repo-id", "org/name")
    assert code == 2 and codes(doc) == {"usage/destination"}


def test_an_oci_lock_entry_is_durable_only_when_pinned_by_the_digest_its_uri_names(tmp_path):
    from tinyrel.sources.lock import read_lock

    digest = "sha256:" + "ab" * 32
    entry = ('[[sources]]\nname = "w"\nuri = "{uri}"\nkind = "oci"\nrevision = "{rev}"\ndurable = true\n'
             'files = []\n')  # fmt: skip
    other = "sha256:" + "cd" * 32
    cases = {(f"oci://r.example/a@{digest}", digest): True, (f"oci://r.example/a:v1@{digest}", digest): True,
             ("oci://r.example/a:v1", "v1"): False, (f"oci://r.example/a@{other}", digest): False}  # fmt: skip
    for (uri, rev), durable in cases.items():
        lock = tmp_path / "tinyrel.lock"
        lock.write_text('schema = "tinyrel.lock/1"\n' + entry.format(uri=uri, rev=rev))
        assert read_lock(lock).sources[0].durable is durable, uri
