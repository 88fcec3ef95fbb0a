"""``tinyrel diff``: stock vs modified weights, identical manifests, dtype/shape edits, Hub releases."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
from support.helpers import run, run_json

NAME = "qwen3-4b-fileops"
TOUCHED = ["model.layers.1.mlp.down_proj.weight", "model.layers.1.self_attn.q_proj.weight"]


def weights_of(ws: Path) -> Path:
    return next((ws / "hf-cache").glob("models--*/snapshots/*"))


@pytest.fixture
def stock_and_tuned(example, tmp_path) -> tuple[Path, Path]:
    """The example's weights, and a copy where two tensors of layer 1 were nudged (written by mlx)."""
    import mlx.core as mx

    stock = weights_of(example)
    tuned = tmp_path / "tuned"
    shutil.copytree(stock, tuned, symlinks=False)
    path = tuned / "model.safetensors"
    tensors, metadata = mx.load(str(path), return_metadata=True)
    for name in TOUCHED:
        tensors[name] = (tensors[name].astype(mx.float32) + 0.01).astype(tensors[name].dtype)
    path.unlink()
    mx.save_safetensors(str(path), tensors, metadata=metadata)
    return stock, tuned


def test_fine_tune_diff_names_exactly_the_changed_tensors(stock_and_tuned):
    stock, tuned = stock_and_tuned
    code, doc = run_json("diff", stock, tuned)
    assert code == 0
    assert doc["tensors"]["changed"] == TOUCHED
    assert doc["tensors"]["added"] == doc["tensors"]["removed"] == []
    assert doc["identical"] is False and doc["tensors"]["unchanged"] == 22
    assert doc["bytes_changed"] > 0
    assert doc["summary"]["layers"] == {"1": ["mlp", "self_attn"]}
    assert doc["summary"]["text"] == "layer 1 changed in mlp and self_attn; embeddings unchanged; final norm unchanged"
    assert {f["message"] for f in doc["findings"]} == {f"tensor {n} changed" for n in TOUCHED}

    text = run("diff", stock, tuned).output
    assert "layer 1 changed in mlp and self_attn; embeddings unchanged" in text
    for name in TOUCHED:
        assert f"tensor {name} changed" in text
    assert "layers.0" not in text


def test_identical_manifests_report_no_change(example):
    manifest = example / "manifests" / f"{NAME}.json"
    code, doc = run_json("diff", manifest, manifest, "--exit-code")
    assert code == 0 and doc["identical"] is True and doc["findings"] == []
    assert doc["summary"]["text"] == "no tensor changed"
    assert run("diff", manifest, weights_of(example)).exit_code == 0  # manifest vs the directory it describes


def test_dtype_shape_added_removed_and_exit_code(example, tmp_path):
    a = json.loads((example / "manifests" / f"{NAME}.json").read_text())
    b = copy.deepcopy(a)
    by_name = {t["name"]: t for t in b["tensors"]}
    by_name["model.layers.0.mlp.up_proj.weight"]["dtype"] = "F16"
    by_name["model.layers.0.self_attn.v_proj.weight"]["shape"][0] *= 2
    b["tensors"] = [t for t in b["tensors"] if t["name"] != "model.norm.weight"]
    b["tensors"].append(dict(by_name["model.embed_tokens.weight"], name="lm_head.weight"))
    (tmp_path / "a.json").write_text(json.dumps(a))
    (tmp_path / "b.json").write_text(json.dumps(b))
    code, doc = run_json("diff", tmp_path / "a.json", tmp_path / "b.json", "--exit-code")
    assert code == 1
    t = doc["tensors"]
    assert t["added"] == ["lm_head.weight"] and t["removed"] == ["model.norm.weight"]
    assert t["dtype_changed"] == [{"name": "model.layers.0.mlp.up_proj.weight", "a": "BF16", "b": "F16"}]
    assert [s["name"] for s in t["shape_changed"]] == ["model.layers.0.self_attn.v_proj.weight"]
    assert "final norm changed" in doc["summary"]["text"] and "lm_head changed" in doc["summary"]["text"]


def test_diff_against_a_hub_release_reads_only_its_manifest(example, hub, keys):
    assert run("publish", "--mode", "weights", "--repo-id", "org/name", "--allow-other-repo",
               cwd=example).exit_code == 0  # fmt: skip
    downloads = hub.hub.stats["lfs_downloads"]
    code, doc = run_json("diff", "hf://org/name@v0.1.0", example / "manifests" / f"{NAME}.json")
    assert code == 0 and doc["identical"] is True
    assert hub.hub.stats["lfs_downloads"] == downloads


def test_bad_operands_are_clean_errors(tmp_path):
    result = run("diff", tmp_path / "nope", tmp_path / "nope2")
    assert result.exit_code == 2 and "error[usage/diff-operand]" in result.output
    (tmp_path / "x.json").write_text("{}")
    result = run("diff", tmp_path / "x.json", tmp_path / "x.json", "--exit-code")
    # invalid input is exit 2, whatever --exit-code says; 1 means "they differ"
    assert result.exit_code == 2 and "error[manifest/schema]" in result.output
