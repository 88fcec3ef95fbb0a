"""The OCI consumer path against a hostile registry: a relay in front of a real one (Debian's
``docker-registry``) that rewrites manifests, re-attaches the genuine signature to them, lies about
sizes, stalls, and serves releases where they were never published.  Each attack ends in a clear
error, with nothing left beside ``--local-dir``."""

from __future__ import annotations

import _thread
import copy
import json
import threading
import time
from pathlib import Path

import pytest
from support.helpers import codes, run_json
from support.oci_relay import Relay, serve_tree
from test_oci import PATH, publish, registry, workspace  # noqa: F401 - fixtures

pytestmark = pytest.mark.slow  # a real registry behind a relay

MiB = 1 << 20
INFLATED = 64 * MiB


@pytest.fixture
def relayed(workspace, registry, keys):  # noqa: F811
    """v0.1.0 published through the relay (so the signed oci_repo names the relay's host)."""
    relay = Relay(registry.port)
    code, doc = publish(workspace, f"{relay.host}/{PATH}", "--private-key", keys.private_key)
    assert code == 0, doc
    yield relay, doc["digest"]
    relay.close()


def _genuine(relay: Relay, digest: str) -> dict:
    return json.loads(relay.upstream_get(f"/v2/{PATH}/manifests/{digest}"))


def _endless(real: bytes):
    def pieces():
        yield real
        while True:
            yield b"\0" * MiB

    return pieces


@pytest.mark.parametrize(("path", "extra", "code"), [("release.toml", ["--no-download"], "oci/untrusted-response"),
                                               ("model.safetensors", [], "verify/size-mismatch"),
                                               ("model.safetensors", ["--no-download"], "verify/size-mismatch")])
def test_a_layer_declared_larger_than_signed_is_refused_before_it_moves(relayed, keys, path, extra, code):
    """The manifest keeps the signed digest of ``path`` but declares 64 MiB, and the registry would
    stream the genuine bytes followed by zeros.  The signed release states the file's size (the
    weights manifest; an identity file is small): refused before a byte of it is fetched."""
    relay, digest = relayed
    manifest = _genuine(relay, digest)
    tampered = copy.deepcopy(manifest)
    layer = next(x for x in tampered["layers"] if x["annotations"]["org.cncf.model.filepath"] == path)
    real = relay.upstream_get(f"/v2/{PATH}/blobs/{layer['digest']}", accept="*/*")
    layer["size"] = INFLATED
    relay.serve_as(PATH, "v0.1.0", tampered, signed_by=digest)
    relay.blobs[layer["digest"]] = _endless(real)
    code_, doc = run_json("verify", f"oci://{relay.host}/{PATH}:v0.1.0", "--public-key", keys.public_key, *extra)
    assert code_ == 1 and code in codes(doc) | {doc.get("code")} | _error_codes(doc), doc
    assert relay.sent.get(layer["digest"], 0) == 0


def _error_codes(doc: dict) -> set[str]:
    """The code of a one-line error (``--format json`` of a TinyrelError)."""
    return {doc["error"]["code"]} if isinstance(doc.get("error"), dict) and "code" in doc["error"] else set()


def test_ctrl_c_while_a_transfer_is_stalled_leaves_no_staging_directory(relayed, keys, tmp_path):
    """Ctrl-C during a pull whose layer requests are slow to answer (a slow link, or a hostile
    registry): the call returns after at most 2 s and its staging directory is gone; the layers
    still queued never start, and the stalled ones, when they answer, create nothing beside
    --local-dir (they used to re-create the staging directory after the call had returned)."""
    from tinyrel.findings import Interrupted
    from tinyrel.verifying.bundle import VerifierConfig
    from tinyrel.verifying.oci import pull_oci

    relay, digest = relayed
    layers = {x["digest"] for x in _genuine(relay, digest)["layers"]}
    assert len(layers) > 4  # more layers than workers: some are queued
    fired = threading.Event()

    def on_blob(blob: str) -> float:
        if blob not in layers:
            return 0  # the signature bundle: answered at once
        if not fired.is_set():
            fired.set()
            threading.Timer(0.5, _thread.interrupt_main).start()  # Ctrl-C, while the layers are in flight
        return 3.0  # longer than the 2 s the call waits for its workers

    relay.on_blob = on_blob
    target = tmp_path / "out" / "pulled"
    target.parent.mkdir()
    with pytest.raises(Interrupted):
        pull_oci(f"oci://{relay.host}/{PATH}:v0.1.0", VerifierConfig(public_key=Path(keys.public_key)), target)
    assert list(target.parent.iterdir()) == []  # right after the call: clean
    time.sleep(4)  # the stalled requests answer; the queued layers would start
    left = sorted(p.relative_to(target.parent).as_posix() for p in target.parent.rglob("*"))
    assert left == [], f"left beside --local-dir after the interrupted pull returned: {left}"


def test_a_copy_under_another_repository_path_is_refused(relayed, keys, tmp_path):
    """The same manifest, referrer and blobs served at lab/elsewhere (a relay path alias)."""
    relay, _ = relayed
    relay.alias["/v2/lab/elsewhere/"] = f"/v2/{PATH}/"
    code, doc = run_json("verify", f"oci://{relay.host}/lab/elsewhere:v0.1.0", "--public-key", keys.public_key)
    assert code == 1 and "verify/wrong-repo" in codes(doc), doc


def test_a_hub_release_served_from_any_oci_path_is_refused(example, hub, keys, tmp_path):
    """A genuine release signed and published to hf://org/name (its signed release.toml names that
    repo_id and no oci_repo), served unchanged by a registry at oci://…/evil/copy:v0.1.0: the signed
    statement of where the release was published is not this repository (it used to pass with a
    warning)."""
    from support.helpers import run

    code, doc = run_json("publish", "--mode", "metadata", "--repo-id", "org/name", "--allow-other-repo",
                         "--private-key", keys.private_key, cwd=example)  # fmt: skip
    assert code == 0, doc
    tree = tmp_path / "hub-release"
    assert run("pull", "hf://org/name@v0.1.0", "--public-key", keys.public_key, "--local-dir", tree).exit_code == 0
    assert 'repo_id = "org/name"' in (tree / "release.toml").read_text()
    relay = Relay(1)  # everything is answered by the relay itself
    try:
        serve_tree(relay, "evil/copy", "v0.1.0", tree, (tree / "model.sig").read_bytes())
        code, doc = run_json("verify", f"oci://{relay.host}/evil/copy:v0.1.0", "--public-key", keys.public_key)
        assert code == 1 and "verify/wrong-repo" in codes(doc), (code, codes(doc), codes(doc, "warning"))
    finally:
        relay.close()


def _layer(manifest: dict, path: str) -> dict:
    return next(x for x in manifest["layers"] if x["annotations"]["org.cncf.model.filepath"] == path)


def _rename(path: str, new: str):
    def edit(m: dict) -> None:
        _layer(m, path)["annotations"]["org.cncf.model.filepath"] = new
    return edit


def _duplicate(m: dict) -> None:
    m["layers"].append(copy.deepcopy(_layer(m, "config.json")))


def _extra_unsigned(m: dict) -> None:
    extra = copy.deepcopy(_layer(m, "config.json"))
    extra["annotations"]["org.cncf.model.filepath"] = "evil.py"
    m["layers"].append(extra)


def _title_differs(m: dict) -> None:
    for x in m["layers"]:
        x["annotations"]["org.opencontainers.image.title"] = "../../etc/passwd"


def _smaller(m: dict) -> None:
    _layer(m, "model.safetensors")["size"] -= 1


def _git_path(m: dict) -> None:
    extra = copy.deepcopy(_layer(m, "config.json"))
    extra["annotations"]["org.cncf.model.filepath"] = ".github/workflows/x.yml"
    m["layers"].append(extra)


def _sig_layer(m: dict) -> None:
    extra = copy.deepcopy(_layer(m, "config.json"))
    extra["annotations"]["org.cncf.model.filepath"] = "model.sig"
    m["layers"].append(extra)


REFUSED = {
    "traversal": (_rename("config.json", "../config.json"), "oci/untrusted-response"),
    "absolute": (_rename("config.json", "/tmp/config.json"), "oci/untrusted-response"),
    "dot-segment": (_rename("config.json", "./config.json"), "oci/untrusted-response"),
    "file-and-folder": (_rename("config.json", "evals"), "oci/untrusted-response"),
    "duplicate": (_duplicate, "oci/untrusted-response"),
    "renamed": (_rename("config.json", "config2.json"), "verify/listing"),
    "extra-unsigned": (_extra_unsigned, "verify/listing"),
    "signature-path": (_sig_layer, "oci/untrusted-response"),
    "smaller-size": (_smaller, "verify/size-mismatch"),  # the signed weights manifest says otherwise
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_hostile_manifests_that_are_refused(relayed, keys, tmp_path, case):
    """Each rewritten manifest (re-signed as a referrer by the hostile registry with the
    genuine bundle) is refused, and the pull leaves nothing."""
    relay, digest = relayed
    edit, code = REFUSED[case]
    manifest = _genuine(relay, digest)
    edit(manifest)
    relay.serve_as(PATH, "v0.1.0", manifest, signed_by=digest)
    status, doc = run_json("verify", f"oci://{relay.host}/{PATH}:v0.1.0", "--public-key", keys.public_key)
    assert status != 0 and code in codes(doc), doc
    target = tmp_path / "out" / "d"
    target.parent.mkdir()
    status, doc = run_json("pull", f"oci://{relay.host}/{PATH}:v0.1.0", "--public-key", keys.public_key,
                           "--local-dir", target)  # fmt: skip
    assert status != 0 and list(target.parent.iterdir()) == [], doc


@pytest.mark.parametrize("case", ["title-differs", "git-path"])
def test_annotations_tinyrel_ignores_are_ignored_and_never_delivered(relayed, keys, tmp_path, case):
    """The title annotation is not a path; a layer under .github/ is neither fetched nor delivered."""
    relay, digest = relayed
    manifest = _genuine(relay, digest)
    {"title-differs": _title_differs, "git-path": _git_path}[case](manifest)
    relay.serve_as(PATH, "v0.1.0", manifest, signed_by=digest)
    target = tmp_path / "d"
    status, doc = run_json("pull", f"oci://{relay.host}/{PATH}:v0.1.0", "--public-key", keys.public_key,
                           "--local-dir", target)  # fmt: skip
    assert status == 0, doc
    assert not (target / ".github").exists() and not (tmp_path / "etc").exists()


def test_content_length_lies_and_endless_manifests(relayed, keys):
    """A blob whose Content-Length promises more than arrives, or less than the descriptor,
    and a referrers index / manifest that never ends, are one-line errors."""
    relay, digest = relayed
    manifest = _genuine(relay, digest)
    weight = _layer(manifest, "config.json")
    real = relay.upstream_get(f"/v2/{PATH}/blobs/{weight['digest']}", accept="*/*")
    uri = f"oci://{relay.host}/{PATH}:v0.1.0"
    relay.blobs[weight["digest"]] = lambda: (iter([real[:10]]), len(real))  # promises all, sends 10 bytes
    status, doc = run_json("verify", uri, "--public-key", keys.public_key)
    assert status == 1 and codes(doc) <= {"oci/unreachable", "oci/size-mismatch"}, doc
    relay.blobs[weight["digest"]] = lambda: (iter([real]), 10)  # declares 10 bytes
    status, doc = run_json("verify", uri, "--public-key", keys.public_key)
    assert status == 1 and codes(doc) <= {"oci/unreachable", "oci/size-mismatch"}, doc
    del relay.blobs[weight["digest"]]
    huge = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                       "manifests": [{"mediaType": "x", "digest": "sha256:" + "0" * 64, "size": 1}] * 200_000}).encode()
    relay.manifests[f"sha256-{digest[7:]}"] = (huge, "application/vnd.oci.image.index.v1+json")
    status, doc = run_json("verify", uri, "--public-key", keys.public_key)
    assert status == 1 and codes(doc) == {"oci/untrusted-response"}, doc


def test_a_referrer_carrying_another_signers_bundle_is_refused(relayed, keys, tmp_path):
    """The referrer's bundle swapped for one made with another key (same files)."""
    import subprocess

    relay, digest = relayed
    other = tmp_path / "other.pem"
    subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", other], check=True)
    tree = tmp_path / "tree"
    status, doc = run_json("pull", f"oci://{relay.host}/{PATH}:v0.1.0", "--public-key", keys.public_key,
                           "--local-dir", tree)  # fmt: skip
    assert status == 0, doc
    import sys

    (tree / "model.sig").unlink()
    subprocess.run([sys.executable, "-m", "model_signing", "sign", "key", str(tree), "--private_key", str(other),
                    "--signature", str(tmp_path / "other.sig")], check=True, capture_output=True)  # fmt: skip
    serve_tree(relay, PATH, "v0.1.0", tree, (tmp_path / "other.sig").read_bytes())
    status, doc = run_json("verify", f"oci://{relay.host}/{PATH}:v0.1.0", "--public-key", keys.public_key)
    assert status == 1 and "verify/signature" in codes(doc), doc


def test_a_tag_and_digest_reference_whose_tag_names_another_version(relayed, keys):
    """``oci://…:v9.9.9@sha256:<v0.1.0>``: the digest is what is fetched (as docker resolves it), and
    the version the tag names is compared with the signed one too."""
    relay, digest = relayed
    status, doc = run_json("verify", f"oci://{relay.host}/{PATH}:v9.9.9@{digest}", "--public-key", keys.public_key)
    assert status == 1 and "verify/wrong-version" in codes(doc), (status, codes(doc, "info"))


def test_no_download_does_not_fetch_a_weight_relabelled_as_a_doc_layer(relayed, keys):
    """With --no-download only release.toml and manifest.json move, chosen by their signed paths:
    a registry that relabels the weight layer ``doc.v1.raw`` does not get it downloaded."""
    relay, digest = relayed
    manifest = _genuine(relay, digest)
    weight = _layer(manifest, "model.safetensors")
    weight["mediaType"] = "application/vnd.cncf.model.doc.v1.raw"
    relay.serve_as(PATH, "v0.1.0", manifest, signed_by=digest)
    before = len(relay.log)
    status, doc = run_json("verify", f"oci://{relay.host}/{PATH}:v0.1.0", "--public-key", keys.public_key,
                           "--no-download")  # fmt: skip
    fetched = [r for r in relay.log[before:] if r.endswith(f"/blobs/{weight['digest']}")]
    assert fetched == [], (status, codes(doc), fetched)
