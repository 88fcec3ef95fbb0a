"""Package lock resolution: local path, Hugging Face cache snapshot layout, drift checks."""

from __future__ import annotations

import os
import shutil
import tomllib
from pathlib import Path

from support.helpers import codes, run, run_json

from tinyrel.scaffold.standin import place_in_cache
from tinyrel.sources.uri import LOCAL_CACHE, parse_source


def make_cache(model: Path, hf_home: Path, repo: str = "lab/tiny") -> Path:
    """Lay a copy of ``model`` out the way huggingface_hub's cache does (blobs, snapshot links, refs)."""
    staging = hf_home.parent / f"staging-{repo.replace('/', '-')}"
    shutil.copytree(model, staging)
    return place_in_cache(staging, hf_home / "hub", repo)


def test_lock_local_dir_and_check(model_dir, tmp_path):
    model = model_dir("bf16")
    lock = tmp_path / "tinyrel.lock"
    assert run("lock", model, "-o", lock).exit_code == 0
    doc = tomllib.loads(lock.read_text())
    source = doc["sources"][0]
    assert source["kind"] == "local-path" and source["durable"] is False
    assert {f["path"] for f in source["files"]} == {"config.json", "model.safetensors", "model.safetensors.index.json"}
    assert run("lock", "--check", "-o", lock).exit_code == 0
    (model / "config.json").write_text("{}")
    exit_code, doc = run_json("lock", "--check", "-o", lock)
    assert exit_code == 1 and "lock/stale" in codes(doc)


def test_lock_cache_snapshot(model_store, tmp_path):
    hf_home = Path(os.environ["HF_HOME"])
    snapshot = make_cache(model_store["q4"], hf_home)
    lock = tmp_path / "l.toml"
    revision = snapshot.name
    assert (snapshot.parents[1] / "refs" / "main").read_text() == revision
    for source in (str(snapshot), "hf-cache://lab/tiny@main", f"hf-cache://lab/tiny@{revision}"):
        exit_code, doc = run_json("lock", source, "-o", lock)
        assert exit_code == 0, doc
        entry = tomllib.loads(lock.read_text())["sources"][0]
        assert entry["kind"] == LOCAL_CACHE and entry["revision"] == revision
        assert entry["durable"] is False
    # validation accepts snapshot -> blobs links
    assert run_json("validate", snapshot)[0] == 0


def test_cache_honours_hf_hub_cache(model_store, tmp_path, monkeypatch):
    cache = tmp_path / "elsewhere"
    make_cache(model_store["bf16"], cache.parent / "x", repo="lab/other")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache.parent / "x" / "hub"))
    exit_code, _ = run_json("lock", "hf-cache://lab/other", "-o", tmp_path / "l.toml")
    assert exit_code == 0


def test_corrupt_cache_blob(model_store, tmp_path):
    snapshot = make_cache(model_store["bf16"], Path(os.environ["HF_HOME"]))
    blob = (snapshot / "model.safetensors").resolve()
    data = bytearray(blob.read_bytes())
    data[-1] ^= 1
    blob.write_bytes(bytes(data))
    exit_code, doc = run_json("lock", snapshot, "-o", tmp_path / "l.toml")
    assert exit_code == 1 and "lock/cache-blob-corrupt" in codes(doc)
    assert not (tmp_path / "l.toml").exists()


def test_parse_source_forms(tmp_path):
    assert parse_source("hf://org/name@v1").kind == "hub"
    assert parse_source("hf://org/name").revision is None
    result = run("lock", "hf://not a repo")
    assert result.exit_code == 2 and "source/bad-uri" in result.output


def test_missing_source_is_clean(tmp_path):
    result = run("lock", tmp_path / "absent", "-o", tmp_path / "l.toml")
    # a missing path is a usage error (exit 2), as for validate
    assert result.exit_code == 2 and "error[source/not-found]" in result.output
    assert run("validate", tmp_path / "absent").exit_code == 2
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_hub_unreachable_is_a_clean_error(tmp_path, monkeypatch):
    """The real huggingface_hub client against a closed local port: one line, no token, no traceback."""
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    monkeypatch.setenv("HF_TOKEN", "hf_secretvalue123")
    result = run("lock", "hf://org/name@main", "-o", tmp_path / "l.toml")
    assert result.exit_code == 1 and "error[hub/unreachable]" in result.output
    assert "hf_secretvalue123" not in result.output and "Traceback" not in result.output
    assert not (tmp_path / "l.toml").exists()
