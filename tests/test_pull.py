"""Issue 14: the consumer side — signature first, a verified copy or nothing, fast verify."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from support.helpers import codes, run, run_json
from support.hub import HUB_TOKEN

import tinyrel

NAME = "qwen3-4b-fileops"


def _publish(example, server, keys):
    result = run("publish", "--mode", "weights", "--repo-id", "org/name", "--allow-other-repo",
                 "--private-key", keys.private_key, cwd=example)  # fmt: skip
    assert result.exit_code == 0, result.output
    server.hub.stats["lfs_downloads"] = 0
    return example


@pytest.fixture
def published(example, hub, keys):
    """The example released on the emulator, over Xet and over LFS."""
    return _publish(example, hub, keys)


@pytest.fixture
def published_lfs(example, lfs_hub, keys):
    """The example released over LFS, whose download counter shows what a consumer fetched."""
    return _publish(example, lfs_hub, keys)


def test_pull_yields_a_verified_directory_that_mlx_lm_loads(published, hub, keys, tmp_path):
    target = tmp_path / "model"
    result = run("pull", "hf://org/name@v0.1.0", "--public-key", keys.public_key, "--local-dir", target)
    assert result.exit_code == 0, result.output
    assert f"mlx_lm.generate --model {target}" in result.output
    code, doc = run_json("pull", "hf://org/name@v0.1.0", "--public-key", keys.public_key, "--local-dir", tmp_path / "b")
    # every small file is hashed as it streams in; the weights, which the signed manifest covers, are
    # verified through their per-tensor digests (over Xet hf_xet writes them; over LFS hashing them in
    # flight costs more than reading them back at BLAKE3 speed)
    assert code == 0 and doc["hashed_while_downloading"] == doc["files"] - 1 and doc["fast_path"] is True
    assert (target / "model.safetensors").is_file() and (target / "model.sig").is_file()
    assert not (target / ".cache").exists()
    from mlx_lm.utils import load_model

    model, config = load_model(target)
    assert config["model_type"] == "qwen3"
    # what was pulled verifies with the reference tool, as it stands
    reference = subprocess.run(
        [sys.executable, "-m", "model_signing", "verify", "key", str(target), "--signature", str(target / "model.sig"),
         "--public_key", str(keys.public_key)], capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert reference.returncode == 0, reference.stderr


def test_pull_with_the_wrong_key_writes_nothing_and_fetches_no_weights(published_lfs, lfs_hub, keys, tmp_path):
    hub = lfs_hub  # LFS-level faults and counters: the upload path these tests exercise
    target = tmp_path / "model"
    for command in (["pull", "hf://org/name@v0.1.0", "--local-dir", target], ["verify", "hf://org/name@v0.1.0"]):
        result = run(*command, "--public-key", keys.other_public_key)
        assert result.exit_code == 1 and "verify/signature" in result.output
    assert not target.exists()
    assert hub.hub.stats["lfs_downloads"] == 0  # the signature failed before any weight byte
    assert [p.name for p in tmp_path.iterdir() if "staging" in p.name] == []


def test_pull_refuses_a_directory_with_files_it_did_not_write(published, keys, tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    result = run("pull", "hf://org/name@v0.1.0", "--public-key", keys.public_key, "--local-dir", target)
    assert result.exit_code == 2 and "pull/target-exists" in result.output
    assert (target / "notes.txt").read_text() == "mine" and len(list(target.iterdir())) == 1


def test_a_listing_that_is_not_the_signed_one_fails_before_downloading(published_lfs, lfs_hub, keys, tmp_path):
    hub = lfs_hub  # LFS-level faults and counters: the upload path these tests exercise
    from huggingface_hub import HfApi

    api = HfApi(endpoint=hub.base_url, token=HUB_TOKEN)
    (tmp_path / "extra.bin").write_bytes(b"\0" * 4096)
    api.upload_file(path_or_fileobj=str(tmp_path / "extra.bin"), path_in_repo="extra.safetensors", repo_id="org/name")
    hub.hub.stats["lfs_downloads"] = 0
    code, doc = run_json("pull", "hf://org/name", "--public-key", keys.public_key, "--local-dir", tmp_path / "m")
    assert code == 1 and "verify/listing" in codes(doc) and "verify/extra" in codes(doc)
    assert hub.hub.stats["lfs_downloads"] == 0 and not (tmp_path / "m").exists()


def test_a_release_signed_by_model_signing_itself_pulls(hub, keys, model_dir, tmp_path):
    from huggingface_hub import HfApi

    model = model_dir("bf16")
    signed = subprocess.run([sys.executable, "-m", "model_signing", "sign", "key", str(model), "--private_key",
                             str(keys.private_key), "--signature", str(model / "model.sig")],
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    api = HfApi(endpoint=hub.base_url, token=HUB_TOKEN)
    api.create_repo("lab/plain")
    api.upload_folder(folder_path=str(model), repo_id="lab/plain")
    path = tinyrel.pull("hf://lab/plain", tinyrel.VerifierConfig(public_key=Path(keys.public_key)), tmp_path / "p")
    assert (path / "model.safetensors").is_file()


def test_fast_verify_through_the_signed_manifest_sees_every_tampering(model_dir, keys):
    from test_sign_verify import TAMPERING

    for case, (tamper, expected) in sorted(TAMPERING.items()):
        root = model_dir("bf16-sharded")
        import shutil

        (root / "README.md").write_text("# card\n")
        assert run("manifest", root, "-o", root / "manifest.json").exit_code == 0
        assert run("sign", root, "--private-key", keys.private_key, "--signature", root / "model.sig").exit_code == 0
        code, doc = run_json("verify", root, "--public-key", keys.public_key)
        assert code == 0 and doc["fast_path"] is True
        tamper(root)
        code, doc = run_json("verify", root, "--public-key", keys.public_key)
        assert code == 1 and codes(doc) == expected, case
        shutil.rmtree(root)


def test_a_signed_manifest_that_does_not_describe_a_signed_file_is_not_called_a_change(model_dir, keys):
    """The publisher signed a manifest whose tensor digest is wrong, beside the true weights: the
    weights' SHA-256 is the signed one, so they verify (the fast path falls back to SHA-256) and the
    inconsistency is its own warning, not "changed" — while a changed weight still fails."""
    import json

    root = model_dir("bf16")
    assert run("manifest", root, "-o", root / "manifest.json").exit_code == 0
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["tensors"][0]["digest"] = "0" * len(manifest["tensors"][0]["digest"])
    (root / "manifest.json").write_text(json.dumps(manifest))
    assert run("sign", root, "--private-key", keys.private_key, "--signature", root / "model.sig").exit_code == 0
    code, doc = run_json("verify", root, "--public-key", keys.public_key)
    assert code == 0 and doc["fast_path"] is True, doc
    assert codes(doc, "warning") == {"verify/manifest-disagrees"} and "verify/changed" not in codes(doc), doc
    weight = root / manifest["tensors"][0]["file"]
    data = bytearray(weight.read_bytes())
    data[-1] ^= 1
    weight.write_bytes(bytes(data))
    code, doc = run_json("verify", root, "--public-key", keys.public_key)
    assert code == 1 and "verify/changed" in codes(doc), doc


def test_an_unsigned_file_the_signed_manifest_names_without_a_digest_is_extra(keys, tmp_path):
    """A file added after signing, which the signed manifest names but gives no SHA-256: the fast
    path must not take it for a signed file — it is hashed and reported as extra."""
    import json

    import tinyrel

    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "qwen3"}')
    manifest = {
        "schema": "tinyrel.manifest/1",
        "files": [{"path": "later.safetensors", "size": 5, "header_digest": "0" * 64}],
        "tensors": [{"name": "w", "file": "later.safetensors", "dtype": "F32", "shape": [1],
                     "data_offsets": [0, 4], "digest": "1" * 64}],
    }  # fmt: skip
    (model / "manifest.json").write_text(json.dumps(manifest))
    signer = tinyrel.SignerConfig(method="key", private_key=Path(keys.private_key))
    assert tinyrel.sign(model, tmp_path / "model.sig", signer).ok
    (model / "later.safetensors").write_bytes(b"added")
    trust = tinyrel.VerifierConfig(public_key=Path(keys.public_key))
    report = tinyrel.verify(model, trust, signature=tmp_path / "model.sig")
    assert not report.ok and "verify/extra" in [f.code for f in report.findings], report.findings


def test_pull_and_verify_do_each_thing_once(published, hub, keys, tmp_path):
    """One listing, one download per file (plus huggingface_hub's metadata HEAD), one signature
    check — counted by the emulator itself."""
    from collections import Counter

    hub.hub.request_log.clear()
    code, doc = run_json("pull", "hf://org/name@v0.1.0", "--public-key", keys.public_key, "--local-dir", tmp_path / "m")
    assert code == 0, doc
    log = list(hub.hub.request_log)
    routes = Counter((method, route) for method, route, _ in log)
    files = Counter(path.split("/resolve/", 1)[1].split("/", 1)[1] for method, route, path in log
                    if route == "resolve_file" and method == "GET")  # fmt: skip
    heads = Counter(path for method, route, path in log if route == "resolve_file" and method == "HEAD")
    assert routes[("GET", "repo_info")] == 1, routes  # the listing, once
    assert set(files.values()) <= {1} and set(heads.values()) == {1}, (files, heads)
    fetched_by_xet = 1 if hub.mode == "xet" else 0  # the weights come from the Xet store, not a GET
    assert len(files) == doc["files"] + 1 - fetched_by_xet  # every signed file and model.sig
    assert routes[("GET", "xet_token")] <= 1 and set(routes) <= {("GET", "repo_info"), ("GET", "resolve_file"),
                                                                 ("HEAD", "resolve_file"), ("GET", "xet_token")}
    assert [f["code"] for f in doc["findings"]].count("verify/signature") == 1  # checked once


def test_ctrl_c_during_a_pull_ends_at_once_and_leaves_nothing(published, hub, keys, tmp_path):
    """The weights are on a slow link (LFS) or the Xet store is slow to answer: Ctrl-C ends the pull
    within a second or two, exit 130, with nothing at --local-dir and no staging left behind."""
    import os
    import signal
    import time

    counter = "xet_read_tokens" if hub.mode == "xet" else "downloads_started"
    hub.hub.faults["slow_xet_token" if hub.mode == "xet" else "slow_download"] = 60 if hub.mode == "xet" else 0.2
    hub.hub.stats[counter] = 0
    target = tmp_path / "model"
    env = {**os.environ, "HF_ENDPOINT": hub.base_url}
    proc = subprocess.Popen([sys.executable, "-m", "tinyrel", "pull", "hf://org/name@v0.1.0", "--public-key",
                             str(keys.public_key), "--local-dir", str(target)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
    deadline = time.time() + 60
    while hub.hub.stats[counter] == 0 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    time.sleep(0.3)
    pressed = time.time()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    hub.hub.faults.update({"slow_xet_token": None, "slow_download": None})
    assert proc.returncode == 130 and time.time() - pressed < 2.5, (time.time() - pressed, err)
    assert "error[interrupted]" in err and "Traceback" not in err, err
    assert not target.exists() and [p.name for p in tmp_path.iterdir() if "staging" in p.name] == []
