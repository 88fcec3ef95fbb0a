"""Manifest determinism and every tampering case against a manifest."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from support.helpers import codes, run, run_json


def make_manifest(model: Path, out: Path) -> Path:
    assert run("manifest", model, "-o", out).exit_code == 0
    return out


def test_manifest_is_deterministic(model_store, tmp_path):
    a = make_manifest(model_store["q4-sharded"], tmp_path / "a.json")
    b = make_manifest(model_store["q4-sharded"], tmp_path / "b.json")
    assert a.read_bytes() == b.read_bytes()
    doc = json.loads(a.read_text())
    assert doc["schema"] == "tinyrel.manifest/1"
    assert doc["model"]["quantization"] == {"bits": 4, "group_size": 32, "mode": "affine"}
    index = json.loads((model_store["q4-sharded"] / "model.safetensors.index.json").read_text())
    assert doc["totals"]["parameters"] == index["metadata"]["total_parameters"]
    assert doc["totals"]["tensor_bytes"] == index["metadata"]["total_size"]
    assert all(len(f["sha256"]) == 64 for f in doc["files"])
    # stdout mode prints the same bytes
    assert run("manifest", model_store["q4-sharded"]).stdout == a.read_text()


def test_manifest_refuses_invalid_weights(model_dir, tmp_path):
    model = model_dir("bf16")
    (model / "config.json").write_text("{")
    out = tmp_path / "m.json"
    assert run("manifest", model, "-o", out).exit_code == 1
    assert not out.exists()


def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


TAMPERS = {
    "flip-data-byte": lambda m: _flip(m / "model-00002-of-00003.safetensors", -3),
    "flip-header-byte": lambda m: _flip(m / "model-00001-of-00003.safetensors", 20),
    "truncate": lambda m: (m / "model-00003-of-00003.safetensors").write_bytes(
        (m / "model-00003-of-00003.safetensors").read_bytes()[:-1]
    ),
    "append": lambda m: (m / "model-00003-of-00003.safetensors").open("ab").write(b"\0"),
    "missing-shard": lambda m: (m / "model-00002-of-00003.safetensors").unlink(),
    "extra-shard": lambda m: shutil.copy(
        m / "model-00001-of-00003.safetensors", m / "model-00004-of-00003.safetensors"
    ),
    "renamed-shard": lambda m: (m / "model-00003-of-00003.safetensors").rename(m / "model-00009-of-00003.safetensors"),
    "edited-config": lambda m: (m / "config.json").write_text(
        (m / "config.json").read_text().replace('"rms_norm_eps": 1e-06', '"rms_norm_eps": 1e-05')
    ),
    "edited-index": lambda m: (m / "model.safetensors.index.json").write_text(
        (m / "model.safetensors.index.json").read_text() + "\n"
    ),
    "extra-file": lambda m: (m / "notes.txt").write_text("hi"),
}


@pytest.mark.parametrize("tamper", sorted(TAMPERS))
def test_tampering_is_detected(model_store, model_dir, tmp_path, tamper):
    manifest = make_manifest(model_store["q4-sharded"], tmp_path / "m.json")
    model = model_dir("q4-sharded")
    TAMPERS[tamper](model)
    exit_code, doc = run_json("validate", model, "--manifest", manifest)
    assert exit_code == 1, tamper
    assert any(c.startswith(("manifest/", "safetensors/", "index/")) for c in codes(doc))


def test_first_differing_tensor_is_named(model_store, model_dir, tmp_path):
    manifest = make_manifest(model_store["bf16"], tmp_path / "m.json")
    model = model_dir("bf16")
    doc = json.loads(manifest.read_text())
    target = next(t for t in doc["tensors"] if t["name"] == "model.layers.1.self_attn.o_proj.weight")
    path = model / "model.safetensors"
    header_len = int.from_bytes(path.read_bytes()[:8], "little")
    _flip(path, 8 + header_len + target["data_offsets"][0] + 1)
    exit_code, out = run_json("validate", model, "--manifest", manifest)
    mismatch = [f for f in out["findings"] if f["code"] == "manifest/tensor-mismatch"]
    assert exit_code == 1 and "model.layers.1.self_attn.o_proj.weight (digest)" in mismatch[0]["message"]


def test_bad_manifest_file_is_clean_error(model_store, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    result = run("validate", model_store["bf16"], "--manifest", bad)
    assert result.exit_code == 1 and "error[manifest/schema]" in result.output
    assert "Traceback" not in result.output
