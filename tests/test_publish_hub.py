"""Hosted releases against the local Hub emulator, through the real huggingface_hub client."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from support.fixtures import write_mlx_model
from support.helpers import codes, run, run_json
from support.hub import HUB_TOKEN

NAME = "qwen3-4b-fileops"
LIVE_TOKEN = os.environ.get("HF_TOKEN")  # read at import: the isolation fixture removes it from each test


def api(hub):
    from huggingface_hub import HfApi

    return HfApi(endpoint=hub.base_url, token=HUB_TOKEN)


def stats(hub) -> dict:
    return dict(hub.hub.stats, blobs=len(list((hub.hub.data / "blobs").iterdir())))


def publish(ws: Path, *args: str | Path) -> tuple[int, dict]:
    return run_json("publish", "--mode", "weights", "--repo-id", "org/name", "--allow-other-repo", *args, cwd=ws)


def test_publish_weights_end_to_end(example, hub, keys, tmp_path):
    from huggingface_hub import snapshot_download

    result = run("publish", "--mode", "weights", "--repo-id", "org/name", "--allow-other-repo",
                 "--private-key", keys.private_key, cwd=example)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert HUB_TOKEN not in result.output

    lock = tomllib.loads((example / "tinyrel.lock").read_text())["sources"][0]
    commit = lock["revision"]
    assert lock["uri"] == f"hf://org/name@{commit}" and lock["kind"] == "hub" and lock["durable"] and lock["public"]
    assert run("check", cwd=example).exit_code == 0

    refs = api(hub).list_repo_refs("org/name")
    assert [(t.name, t.target_commit) for t in refs.tags] == [("v0.1.0", commit)]
    assert stats(hub)["commits"] == 2  # the repo's initial commit, then exactly one release commit
    files = {s.rfilename for s in api(hub).model_info("org/name", revision="v0.1.0").siblings}
    assert {"model.safetensors", "README.md", "manifest.json", "tinyrel.lock", "release.toml", "model.sig"} <= files

    import httpx2

    head = httpx2.head(f"{hub.base_url}/org/name/resolve/v0.1.0/model.safetensors", follow_redirects=False,
                       headers={"Authorization": f"Bearer {HUB_TOKEN}"})  # fmt: skip
    assert ("x-xet-hash" in head.headers) == (hub.mode == "xet"), head.headers
    lfs_downloads = stats(hub)["lfs_downloads"]
    local = Path(snapshot_download("org/name", revision="v0.1.0", local_dir=tmp_path / "dl", endpoint=hub.base_url))
    # Over Xet, the weights came through hf_xet's reconstruction, not a plain GET of the blob.
    assert (stats(hub)["lfs_downloads"] == lfs_downloads) == (hub.mode == "xet")
    reference = subprocess.run(
        [sys.executable, "-m", "model_signing", "verify", "key", str(local), "--signature", str(local / "model.sig"),
         "--public_key", str(keys.public_key), "--ignore-paths", str(local / ".cache")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert reference.returncode == 0, reference.stderr
    card = (local / "README.md").read_text()
    assert "tagged `v0.1.0` in `hf://org/name`" in card and "routed-only" in card
    assert "not signed" not in card and "--public_key publisher.pub" in card

    for extra in ([], ["--no-download"]):
        code, doc = run_json("verify", "hf://org/name@v0.1.0", "--public-key", keys.public_key, *extra)
        assert code == 0 and doc["verified"] and doc["commit"] == commit

    written = [p for root in (example, local) for p in root.rglob("*") if p.is_file()]
    assert not [p for p in written if HUB_TOKEN.encode() in p.read_bytes()]


def test_rerun_converges_and_a_changed_release_cannot_move_the_tag(example, hub, keys):
    assert publish(example, "--private-key", keys.private_key)[0] == 0
    commits = stats(hub)["commits"]
    code, doc = publish(example, "--private-key", keys.private_key)
    assert code == 0 and "publish/already-published" in codes(doc, "info")
    assert stats(hub)["commits"] == commits

    spec = example / "release" / f"{NAME}.toml"
    spec.write_text(spec.read_text().replace("Send only file-operation", "Route only file-operation"))
    code, doc = publish(example, "--private-key", keys.private_key)
    assert code == 1 and codes(doc) == {"publish/tag-exists"}
    assert stats(hub)["commits"] == commits


def test_dry_run_prints_the_plan_and_changes_nothing(example, hub):
    code, doc = publish(example, "--dry-run")
    assert code == 0
    plan = {row["path"]: row["status"] for row in doc["plan"]["files"]}
    assert plan["model.safetensors"] == "upload" and "README.md" in plan
    assert doc["plan"]["upload_bytes"] == doc["plan"]["bytes"] > 0
    assert doc["plan"]["transfer"] == hub.mode
    text = run("publish", "--mode", "weights", "--repo-id", "org/name", "--allow-other-repo",
               "--dry-run", cwd=example).output  # fmt: skip
    assert ("to upload at most" in text and "only chunks the Hub lacks" in text) == (hub.mode == "xet"), text
    assert not api(hub).repo_exists("org/name")


@pytest.fixture
def sharded(example) -> Path:
    """The example workspace with its weights replaced by a 3-shard mlx-lm model."""
    write_mlx_model(example / "weights", shards=3)
    spec = example / "release" / f"{NAME}.toml"
    spec.write_text(re.sub(r'(?m)^source = ".*"$', 'source = "weights"', spec.read_text()))
    assert run("manifest", "weights", "-o", f"manifests/{NAME}.json", cwd=example).exit_code == 0
    assert run("lock", "weights", "--name", NAME, cwd=example).exit_code == 0
    assert codes(run_json("check", cwd=example)[1]) == {"blocker/weight-distribution"}
    return example


def test_interrupted_publish_leaves_nothing_and_the_rerun_sends_only_missing_blobs(sharded, lfs_hub, keys):
    hub = lfs_hub  # LFS-level faults and counters: the upload path these tests exercise
    hub.hub.faults["fail_upload"] = 2
    lock_before = (sharded / "tinyrel.lock").read_text()
    result = run("publish", "--mode", "weights", "--repo-id", "org/name", "--allow-other-repo",
                 "--private-key", keys.private_key, cwd=sharded)  # fmt: skip
    assert result.exit_code == 1 and "error[hub/server-error]" in result.output and "Traceback" not in result.output
    assert "re-run the same command to resume" in result.output
    refs = api(hub).list_repo_refs("org/name")
    assert refs.tags == [] and stats(hub)["commits"] == 1  # only the repo's initial commit
    assert {s.rfilename for s in api(hub).model_info("org/name").siblings} == {".gitattributes"}
    assert (sharded / "tinyrel.lock").read_text() == lock_before

    hub.hub.faults["fail_upload"] = None
    before = stats(hub)
    stored_shards = sum(1 for p in (hub.hub.data / "blobs").iterdir() if p.stat().st_size > 10_000)
    code, doc = publish(sharded, "--dry-run")
    plan = [row["status"] for row in doc["plan"]["files"] if row["path"].endswith(".safetensors")]
    assert (
        code == 0
        and plan.count("blob already on the Hub") == stored_shards
        and plan.count("upload") == 3 - stored_shards
    )
    code, doc = publish(sharded, "--private-key", keys.private_key)
    after = stats(hub)
    assert code == 0, doc
    assert 0 < after["uploads"] - before["uploads"] == 3 - stored_shards < 3
    assert after["commits"] - before["commits"] == 1
    assert [t.name for t in api(hub).list_repo_refs("org/name").tags] == ["v0.1.0"]


def test_a_publish_that_dies_before_its_commit_resumes_without_resending_on_xet(sharded, hub, keys):
    """Over Xet (and LFS): the data of a publish that failed at the commit stays in the store; the
    re-run sends (almost) nothing again and makes exactly one commit."""
    import json
    from urllib.request import Request, urlopen

    def counters() -> dict:
        request = Request(f"{hub.base_url}/_emulator/stats", headers={"Authorization": f"Bearer {HUB_TOKEN}"})
        return json.loads(urlopen(request, timeout=10).read())

    hub.hub.faults["fail_commit"] = 1
    args = ("publish", "--mode", "weights", "--repo-id", "org/name", "--allow-other-repo",
            "--private-key", keys.private_key)  # fmt: skip
    result = run(*args, cwd=sharded)
    assert result.exit_code == 1 and "error[hub/server-error]" in result.output
    before = counters()
    sent = before["xet_xorb_bytes"] if hub.mode == "xet" else before["uploaded_bytes"]
    assert sent > 100_000  # the first run did upload the weights (Xet stores them compressed)
    code, doc = run_json(*args[:-2], "--private-key", keys.private_key, cwd=sharded)
    after = counters()
    assert code == 0, doc
    resent = (after["xet_xorb_bytes"] - before["xet_xorb_bytes"]) if hub.mode == "xet" else (
        after["uploaded_bytes"] - before["uploaded_bytes"])  # fmt: skip
    assert resent < sent * 0.1 and after["commits"] - before["commits"] == 1


def test_a_dropped_connection_is_retried(example, lfs_hub):
    hub = lfs_hub  # LFS-level faults and counters: the upload path these tests exercise
    hub.hub.faults["drop_upload"] = 1
    code, doc = publish(example)
    assert code == 0 and "publish/unsigned" in codes(doc, "warning")
    assert stats(hub)["failed_uploads"] == 1
    assert "publish/readback" in codes(doc, "info")  # the Hub holds exactly what was sent


def test_wrong_or_missing_token_is_a_clean_error(example, hub, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_wrongToken")
    result = run("publish", "--mode", "weights", "--repo-id", "org/name", "--allow-other-repo", cwd=example)
    assert result.exit_code == 1 and "error[hub/auth]" in result.output
    assert "hf_wrongToken" not in result.output and "Traceback" not in result.output
    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.setenv("HF_TOKEN_PATH", str(example / "no-token"))
    result = run("publish", "--mode", "weights", "--repo-id", "org/name", "--allow-other-repo", cwd=example)
    assert result.exit_code == 1 and "error[hub/no-token]" in result.output


def test_metadata_release_to_the_hub_holds_no_weights(example, hub, keys):
    lock_before = (example / "tinyrel.lock").read_text()
    code, doc = run_json("publish", "--mode", "metadata", "--repo-id", "org/meta", "--allow-other-repo",
                         "--private-key", keys.private_key, cwd=example)  # fmt: skip
    assert code == 0, doc
    files = {s.rfilename for s in api(hub).model_info("org/meta").siblings}
    records = {f"evals/{name}" for name in ("fileops-hard.tuned.jsonl", "fileops-hard.stock.jsonl",
               "fileops-heldout.tuned.jsonl", "breadth.tuned.jsonl", "breadth.stock.jsonl")}  # fmt: skip
    metadata = {".gitattributes", "README.md", "release.toml", "manifest.json", "tinyrel.lock", "model.sig"}
    attestations = {f"attestations/{name}" for name in ("provenance.sigstore.json", "gate.sigstore.json",
                    "sbom.sigstore.json", "sbom.cdx.json", "eval-fileops-hard.sigstore.json",
                    "eval-fileops-heldout.sigstore.json", "eval-breadth.sigstore.json")}  # fmt: skip
    assert files == metadata | records | attestations
    assert (example / "tinyrel.lock").read_text() == lock_before
    assert run("verify", "hf://org/meta@v0.1.0", "--public-key", keys.public_key).exit_code == 0


def test_private_release_does_not_resolve_weight_distribution(example, hub):
    code, doc = publish(example, "--private")  # the blocker stays open: publishing privately is an override
    assert code == 1 and codes(doc) == {"blocker/weight-distribution", "publish/refused"}
    code, doc = publish(example, "--private", "--allow", "weight-distribution", "--reason", "team preview")
    assert code == 0 and "publish/lock-not-pinned" in codes(doc, "warning")
    code, doc = run_json("check", cwd=example)
    assert code == 1 and codes(doc) == {"blocker/weight-distribution"}


@pytest.mark.parametrize("how", ["module", "script"])
def test_emulator_starts_standalone(tmp_path, how):
    """``python -m tinyrel.testing.hub`` (the packaged module) and the old tests/ script path."""
    start = ["-m", "tinyrel.testing.hub"] if how == "module" else [str(Path(__file__).with_name("hub_emulator.py"))]
    proc = subprocess.Popen(
        [sys.executable, *start, "--host", "127.0.0.1", "--port", "0", "--data", str(tmp_path / "d"),
         "--token", "t0k"], stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = proc.stdout.readline()
        assert "ready" in line
        url = re.search(r"http://[\d.:]+", line).group(0)
        from huggingface_hub import HfApi

        HfApi(endpoint=url, token="t0k").create_repo("a/b")
        from urllib.request import urlopen

        assert json.loads(urlopen(f"{url}/api/models/a/b", timeout=10).read())["id"] == "a/b"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.skipif(
    not os.environ.get("TINYREL_LIVE_HUB_REPO"), reason="live Hub: set TINYREL_LIVE_HUB_REPO=org/name and HF_TOKEN"
)
def test_live_hub_metadata_release(example, keys, monkeypatch):  # pragma: no cover - needs network and a token
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    monkeypatch.setenv("HF_TOKEN", LIVE_TOKEN or "")
    repo = os.environ["TINYREL_LIVE_HUB_REPO"]
    result = run("publish", "--mode", "metadata", "--repo-id", repo, "--allow-other-repo",
                 "--private-key", keys.private_key, cwd=example)  # fmt: skip
    assert result.exit_code == 0, result.output
    verified = run("verify", f"hf://{repo}@v0.1.0", "--public-key", keys.public_key, "--no-download")
    assert verified.exit_code == 0, verified.output


def test_unsigned_release_has_no_signature_to_verify(example, hub, keys):
    assert run("publish", "--mode", "metadata", "--repo-id", "org/unsigned", "--allow-other-repo",
               cwd=example).exit_code == 0  # fmt: skip
    result = run("verify", "hf://org/unsigned@v0.1.0", "--public-key", keys.public_key)
    assert result.exit_code == 1 and "error[verify/no-signature]" in result.output


def test_local_metadata_release_can_be_signed(example, keys):
    result = run("publish", "--mode", "metadata", "--out", "dist", "--private-key", keys.private_key, cwd=example)
    assert result.exit_code == 0, result.output
    dist = example / "dist"
    assert sorted(p.name for p in dist.iterdir()) == [
        "README.md", "attestations", "evals", "manifest.json", "model.sig", "release.toml", "tinyrel.lock",
    ]  # fmt: skip
    assert len(list((dist / "evals").iterdir())) == 5  # the per-item records ship, signed
    assert run("verify", dist, "--signature", dist / "model.sig", "--public-key", keys.public_key).exit_code == 0


def test_keyless_signed_hosted_release(example, hub, private_sigstore):
    _, client = private_sigstore
    code, doc = publish(example, "--sigstore", "--sigstore-trust-config", client)
    assert code == 0, doc
    who = ["--identity", "ci@example.com", "--issuer", "https://oidc.example", "--trust-config", client]
    for extra in ([], ["--no-download"]):
        assert run("verify", "hf://org/name@v0.1.0", *who, *extra).exit_code == 0


def test_lock_resolves_and_checks_a_hub_release(example, hub, tmp_path):
    assert publish(example)[0] == 0
    lock = tmp_path / "hub.lock"
    code, doc = run_json("lock", "hf://org/name@v0.1.0", "-o", lock, "--name", "weights")
    assert code == 0, doc
    entry = tomllib.loads(lock.read_text())["sources"][0]
    assert entry["kind"] == "hub" and entry["durable"] and entry["public"]
    assert len(entry["revision"]) == 40 and {f["path"] for f in entry["files"]} >= {"model.safetensors", "README.md"}
    assert run("lock", "--check", "-o", lock).exit_code == 0
    entry["files"][0]["sha256"] = "0" * 64
    import tomli_w

    lock.write_text(tomli_w.dumps({"schema": "tinyrel.lock/1", "sources": [entry]}))
    assert run("lock", "--check", "-o", lock).exit_code == 1


def test_a_hub_without_xet_is_named_as_such_not_unreachable(example, lfs_hub):
    """A client with hf_xet against an LFS-only Hub: the 404 of its Xet token route is what it is."""
    env = {**os.environ, "HF_ENDPOINT": lfs_hub.base_url, "HF_TOKEN": HUB_TOKEN}
    env.pop("HF_HUB_DISABLE_XET", None)
    command = [sys.executable, "-m", "tinyrel", "publish", "--mode", "weights", "--repo-id", "org/name",
               "--allow-other-repo"]  # fmt: skip
    failed = subprocess.run(command, cwd=example, env=env, capture_output=True, text=True, timeout=120)
    out = failed.stdout + failed.stderr
    assert failed.returncode == 1 and "error[hub/xet-unavailable]" in out and "HF_HUB_DISABLE_XET=1" in out, out
    assert "unreachable" not in out and "Traceback" not in out
    env["HF_HUB_DISABLE_XET"] = "1"  # the advice works
    done = subprocess.run(command, cwd=example, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
