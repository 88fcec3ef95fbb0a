"""Multi-file layout, MLX conventions, quantization, config ↔ tensors, hygiene."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from support.fixtures import write_safetensors
from support.helpers import codes, run_json
from test_safetensors_rules import read_parts, rewrite


def edit_json(path: Path, mutate) -> None:
    doc = json.loads(path.read_text())
    mutate(doc)
    path.write_text(json.dumps(doc, indent=2))


@pytest.mark.parametrize("kind", ["bf16", "bf16-sharded", "q4", "q4-sharded"])
def test_mlx_lm_directories_pass(model_store, kind, tmp_path):
    manifest = tmp_path / "m.json"
    result_code, doc = run_json("manifest", model_store[kind], "-o", manifest)
    assert result_code == 0, doc
    exit_code, doc = run_json("validate", model_store[kind], "--manifest", manifest)
    assert exit_code == 0, doc["findings"]
    assert not codes(doc) and not codes(doc, "warning")
    exit_code, doc = run_json("validate", model_store[kind], "--mlx-lm")
    assert exit_code == 0, doc["findings"]


def test_index_must_match_shards(model_dir):
    model = model_dir("bf16-sharded")
    index = model / "model.safetensors.index.json"
    first = sorted(json.loads(index.read_text())["weight_map"])[0]
    edit_json(index, lambda d: d["weight_map"].pop(first))
    assert "index/unlisted-tensor" in codes(run_json("validate", model)[1])
    edit_json(
        index,
        lambda d: d["weight_map"].update(
            {first: "model-00001-of-00002.safetensors", "ghost.weight": "model-00001-of-00002.safetensors"}
        ),
    )
    assert "index/extra-tensor" in codes(run_json("validate", model)[1])


def test_index_total_size_and_bad_json(model_dir):
    model = model_dir("bf16-sharded")
    index = model / "model.safetensors.index.json"
    edit_json(index, lambda d: d["metadata"].update(total_size=1))
    assert "index/total-size" in codes(run_json("validate", model)[1])
    index.write_text("{broken")
    exit_code, doc = run_json("validate", model)
    assert exit_code == 1 and "index/invalid" in codes(doc)


def test_tensor_duplicated_across_shards_and_unlisted_shard(model_dir):
    model = model_dir("bf16-sharded")
    a, b = model / "model-00001-of-00002.safetensors", model / "model-00002-of-00002.safetensors"
    header_a, data_a = read_parts(a)
    header_b, data_b = read_parts(b)
    name = next(k for k in header_a if k != "__metadata__")
    size = len(data_b)
    header_b[name] = dict(
        header_a[name],
        data_offsets=[size, size + header_a[name]["data_offsets"][1] - header_a[name]["data_offsets"][0]],
    )
    begin, end = header_a[name]["data_offsets"]
    write_safetensors(b, header_b, data_b + data_a[begin:end])
    assert "index/duplicate-tensor" in codes(run_json("validate", model)[1])
    (model / "model-00003-of-00002.safetensors").write_bytes(a.read_bytes())
    assert "index/unlisted-shard" in codes(run_json("validate", model)[1])


def test_format_metadata_warning(model_dir):
    model = model_dir("bf16")
    rewrite(model / "model.safetensors", lambda h, d: h.__setitem__("__metadata__", {"format": "pt"}))
    exit_code, doc = run_json("validate", model)
    assert exit_code == 0 and "mlx/format-metadata" in codes(doc, "warning")


def test_quantized_shapes_must_match_config(model_dir):
    model = model_dir("q4")
    edit_json(model / "config.json", lambda d: d["quantization"].update(group_size=16))
    exit_code, doc = run_json("validate", model)
    assert exit_code == 1 and "mlx/quantized-shape" in codes(doc)


def test_packed_weights_without_quantization_config(model_dir):
    model = model_dir("q4")
    edit_json(model / "config.json", lambda d: (d.pop("quantization"), d.pop("quantization_config")))
    assert "mlx/quantization-config" in codes(run_json("validate", model)[1])


@pytest.mark.parametrize(
    ("key", "value", "code"),
    [
        ("num_hidden_layers", 3, "mlx/layer-count"),
        ("vocab_size", 512, "mlx/vocab-size"),
        ("hidden_size", 32, "mlx/hidden-size"),
        ("tie_word_embeddings", False, "mlx/tied-embeddings"),
    ],
)
def test_config_must_agree_with_tensors(model_dir, key, value, code):
    model = model_dir("bf16")
    edit_json(model / "config.json", lambda d: d.update({key: value}))
    exit_code, doc = run_json("validate", model)
    assert exit_code == 1 and code in codes(doc)


def test_mlx_lm_parameter_table(model_dir):
    model = model_dir("bf16")
    rewrite(model / "model.safetensors", lambda h, d: h.__setitem__("model.extra", h.pop("model.norm.weight")))
    exit_code, doc = run_json("validate", model, "--mlx-lm")
    assert exit_code == 1
    assert {"mlx-lm/missing-parameter", "mlx-lm/unexpected-tensor"} <= codes(doc)


def test_pickle_and_escaping_symlink(model_dir, tmp_path):
    model = model_dir("bf16")
    (model / "pytorch_model.bin").write_bytes(b"\x80\x04")
    outside = tmp_path / "outside.json"
    outside.write_text("{}")
    os.symlink(outside, model / "extra.json")
    exit_code, doc = run_json("validate", model)
    assert exit_code == 1
    assert {"hygiene/pickle-file", "hygiene/symlink-escape"} <= codes(doc)


def test_missing_directory_is_usage_error(tmp_path):
    from support.helpers import run

    result = run("validate", tmp_path / "nope")
    assert result.exit_code == 2 and "Traceback" not in result.output
