"""Cross-file rules: the shard index, MLX conventions, quantized layers and config ↔ tensors."""

from __future__ import annotations

import re
from typing import Any

from tinyrel.findings import Report
from tinyrel.weights import config as cfg
from tinyrel.weights.model_dir import INDEX_NAME, ModelDir
from tinyrel.weights.safetensors_format import TensorEntry

_LAYER = re.compile(r"(?:^|\.)layers\.(\d+)\.")


def all_tensors(model: ModelDir) -> list[TensorEntry]:
    return [t for header in model.headers.values() for t in header.tensors]


def check_index(model: ModelDir, report: Report) -> None:
    """The index's weight_map must equal the union of the shard headers, exactly."""
    seen: dict[str, str] = {}
    for rel, header in sorted(model.headers.items()):
        for tensor in header.tensors:
            if tensor.name in seen:
                report.error(
                    "index/duplicate-tensor",
                    f"tensor {tensor.name!r} is in both {seen[tensor.name]} and {rel}",
                    rel,
                )
            else:
                seen[tensor.name] = rel
    shards = {f for f in model.files if f.endswith(".safetensors")}
    if model.index is None:
        if len(shards) > 1 and INDEX_NAME not in model.files:
            report.error("index/missing", f"{len(shards)} shards but no {INDEX_NAME}", INDEX_NAME)
        return
    weight_map = model.index.get("weight_map")
    if not isinstance(weight_map, dict) or not all(isinstance(v, str) for v in weight_map.values()):
        report.error("index/invalid", "weight_map must map tensor names to shard files", INDEX_NAME)
        return
    for name, shard in sorted(weight_map.items()):
        if shard not in shards:
            report.error("index/missing-shard", f"{name!r} maps to missing shard {shard}", INDEX_NAME)
        elif shard in model.headers and name not in seen:
            report.error("index/extra-tensor", f"{name!r} is in the index but in no shard", INDEX_NAME)
        elif name in seen and seen[name] != shard:
            report.error("index/wrong-shard", f"{name!r} maps to {shard} but lives in {seen[name]}", INDEX_NAME)
    for name, rel in sorted(seen.items()):
        if name not in weight_map:
            report.error("index/unlisted-tensor", f"{name!r} in {rel} is not in the index", INDEX_NAME)
    for rel in sorted(shards - set(weight_map.values())):
        report.error("index/unlisted-shard", f"{rel} is not referenced by the index", rel)
    total = (model.index.get("metadata") or {}).get("total_size")
    data_bytes = sum(h.file_size - h.data_start for h in model.headers.values())
    if total is not None and total != data_bytes and len(model.headers) == len(shards):
        report.error(
            "index/total-size",
            f"metadata.total_size is {total} but the shards hold {data_bytes} data bytes",
            INDEX_NAME,
        )


def check_with_reference_loader(model: ModelDir, report: Report) -> None:
    """The ``safetensors`` library — what loaders actually use — must read every header as tinyrel
    did: the same tensors, dtypes, shapes and metadata.  A file that parses one way here and
    another way in a loader would make tinyrel's verdict worthless."""
    from safetensors import SafetensorError, safe_open

    for rel, header in sorted(model.headers.items()):
        try:
            with safe_open(str(model.root / rel), framework="numpy") as handle:
                names = list(handle.keys())  # safe_open is not a mapping: keys() is its API
                theirs = {name: (handle.get_slice(name).get_dtype(), tuple(handle.get_slice(name).get_shape()))
                          for name in names}  # fmt: skip
                metadata = handle.metadata() or {}
        except (SafetensorError, OSError, ValueError) as exc:
            report.error("safetensors/loader-rejects", f"the safetensors library cannot open it: {exc}", rel)
            continue
        ours = {t.name: (t.dtype, t.shape) for t in header.tensors}
        if theirs != ours or metadata != header.metadata:
            report.error("safetensors/loader-disagrees", "the safetensors library reads this header differently", rel)


def check_mlx(model: ModelDir, report: Report) -> None:
    for rel, header in sorted(model.headers.items()):
        if header.metadata.get("format") != "mlx":
            report.warning(
                "mlx/format-metadata",
                f"__metadata__.format is {header.metadata.get('format')!r}, not 'mlx'",
                rel,
            )
    if model.config is not None:
        check_quantized_layers(model, report)
        check_config_tensors(model, report)


def check_quantized_layers(model: ModelDir, report: Report) -> None:
    """Each quantized layer: U32 weight + scales (+ biases in affine mode) with agreeing shapes."""
    assert model.config is not None
    by_name = {t.name: t for t in all_tensors(model)}
    for name, tensor in sorted(by_name.items()):
        if not name.endswith(".scales"):
            continue
        prefix = name[: -len(".scales")]
        params = cfg.layer_quantization(model.config, prefix)
        weight = by_name.get(prefix + ".weight")
        if params is None:
            report.error("mlx/quantization-config", f"{prefix} is quantized but the config is not", "config.json")
            continue
        bits, group_size, mode = params
        if weight is None or weight.dtype != "U32":
            report.error(
                "mlx/quantized-weight",
                f"{prefix}.weight must exist with dtype U32",
                weight.file if weight else tensor.file,
            )
            continue
        in_features = weight.shape[-1] * 32 // bits if weight.shape else 0
        expected = (*weight.shape[:-1], in_features // group_size) if weight.shape else ()
        if weight.shape and (weight.shape[-1] * 32) % bits:
            report.error(
                "mlx/quantized-shape", f"{prefix}.weight width is not a multiple of {bits}-bit packing", weight.file
            )
        if tensor.shape != expected:
            report.error(
                "mlx/quantized-shape",
                f"{prefix}.scales has shape {list(tensor.shape)}; bits={bits}, group_size={group_size} "
                f"and weight {list(weight.shape)} need {list(expected)}",
                tensor.file,
            )
        biases = by_name.get(prefix + ".biases")
        if mode == "affine" and (biases is None or biases.shape != tensor.shape):
            report.error("mlx/quantized-biases", f"{prefix}.biases must exist with the scales' shape", tensor.file)
    if cfg.quantization(model.config) is None:
        for name, tensor in sorted(by_name.items()):
            if name.endswith(".weight") and tensor.dtype == "U32":
                report.error(
                    "mlx/quantization-config", f"{name} is packed U32 but config.json has no quantization", tensor.file
                )


def check_config_tensors(model: ModelDir, report: Report) -> None:
    """Layer count, hidden size, vocab rows and tied embeddings must agree with config.json."""
    assert model.config is not None
    text = cfg.text_config(model.config)
    tensors = all_tensors(model)
    layers = {int(m.group(1)) for t in tensors if (m := _LAYER.search(t.name))}
    expected_layers = text.get("num_hidden_layers")
    if isinstance(expected_layers, int) and layers and layers != set(range(expected_layers)):
        report.error(
            "mlx/layer-count",
            f"config has {expected_layers} layers; tensors cover {len(layers)} (max index {max(layers)})",
            "config.json",
        )
    embed = next((t for t in tensors if t.name.endswith("embed_tokens.weight")), None)
    if embed is None or len(embed.shape) != 2:
        report.info("mlx/embedding-unknown", "no embed_tokens.weight tensor; vocab/hidden checks skipped")
    else:
        rows, width = embed.shape
        prefix = embed.name[: -len(".weight")]
        quant = cfg.layer_quantization(model.config, prefix) if embed.dtype == "U32" else None
        hidden = width * 32 // quant[0] if quant else width
        if text.get("vocab_size") not in (None, rows):
            report.error(
                "mlx/vocab-size",
                f"config vocab_size {text.get('vocab_size')} but embeddings have {rows} rows",
                "config.json",
            )
        if text.get("hidden_size") not in (None, hidden):
            report.error(
                "mlx/hidden-size",
                f"config hidden_size {text.get('hidden_size')} but embeddings are {hidden} wide",
                "config.json",
            )
    has_head = any(t.name.endswith("lm_head.weight") for t in tensors)
    tied = bool(text.get("tie_word_embeddings", False))
    if tied and has_head:
        report.error("mlx/tied-embeddings", "tie_word_embeddings is true but lm_head.weight is present", "config.json")
    if not tied and not has_head and embed is not None:
        report.error("mlx/tied-embeddings", "tie_word_embeddings is false but lm_head.weight is missing", "config.json")


def parameter_count(tensors: list[TensorEntry], config: dict[str, Any] | None) -> int:
    """Parameters as mlx-lm's ``get_total_parameters`` counts them.

    A quantized layer counts ``weight.size * 32 // bits`` (the unpacked weights) plus its bias;
    its ``scales`` and ``biases`` are quantization state, not parameters.
    """
    names = {t.name for t in tensors}
    total = 0
    for tensor in tensors:
        base, _, leaf = tensor.name.rpartition(".")
        quantized = f"{base}.scales" in names
        if quantized and leaf in ("scales", "biases"):
            continue
        if quantized and leaf == "weight" and config is not None:
            params = cfg.layer_quantization(config, base)
            if params is not None:
                total += tensor.numel * 32 // params[0]
                continue
        total += tensor.numel
    return total
