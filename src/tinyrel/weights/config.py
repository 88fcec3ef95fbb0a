"""What ``config.json`` says about the model, in the shape the manifest and checks need."""

from __future__ import annotations

from typing import Any

# Upper bounds for sizes a config may claim: far above any real model, far below what would
# exhaust memory when a check builds ranges or mlx-lm builds a model from them.
LIMITS = {
    "num_hidden_layers": 4096,
    "hidden_size": 1 << 20,
    "intermediate_size": 1 << 22,
    "num_attention_heads": 1 << 14,
    "num_key_value_heads": 1 << 14,
    "head_dim": 1 << 16,
    "vocab_size": 1 << 24,
    "max_position_embeddings": 1 << 24,
}
QUANT_BITS = {1, 2, 3, 4, 5, 6, 8}


def config_problems(config: dict[str, Any]) -> list[str]:
    """Values a loader would trip on (or allocate for): each a sentence; empty when sane."""
    problems = []
    text = text_config(config)
    for key, limit in LIMITS.items():
        value = text.get(key)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= limit:
            problems.append(f"{key} = {str(value)[:40]} must be an integer between 1 and {limit}")
    quant = config.get("quantization") or config.get("quantization_config")
    if quant is not None:
        if not isinstance(quant, dict):
            return [*problems, "quantization must be an object"]
        for where, block in [("quantization", quant), *((k, v) for k, v in quant.items() if isinstance(v, dict))]:
            bits, group = block.get("bits", quant.get("bits")), block.get("group_size", quant.get("group_size", 64))
            if bits is not None and (not isinstance(bits, int) or isinstance(bits, bool) or bits not in QUANT_BITS):
                problems.append(f"{where}: bits = {str(bits)[:40]} must be one of {sorted(QUANT_BITS)}")
            if not isinstance(group, int) or isinstance(group, bool) or not 0 < group <= 1 << 16:
                problems.append(f"{where}: group_size = {str(group)[:40]} must be a positive integer")
            if not isinstance(block.get("mode", "affine"), str):
                problems.append(f"{where}: mode must be a string")
        odd = [
            k for k, v in quant.items() if k not in ("bits", "group_size", "mode") and not isinstance(v, dict | bool)
        ]
        if odd and not all(isinstance(quant[k], int | str | float) for k in odd):
            problems.append(f"quantization has entries of unknown shape: {odd[:3]}")
    return problems


def text_config(config: dict[str, Any]) -> dict[str, Any]:
    """Multimodal configs nest the language model under ``text_config``."""
    nested = config.get("text_config")
    if isinstance(nested, dict) and "num_hidden_layers" not in config:
        return nested
    return config


def quantization(config: dict[str, Any]) -> dict[str, Any] | None:
    quant = config.get("quantization") or config.get("quantization_config")
    if not isinstance(quant, dict) or "bits" not in quant:
        return None
    return quant


def layer_quantization(config: dict[str, Any], prefix: str) -> tuple[int, int, str] | None:
    """(bits, group_size, mode) for the layer at ``prefix``, honouring per-layer overrides."""
    quant = quantization(config)
    if quant is None:
        return None
    override = quant.get(prefix)
    if override is False:
        return None
    source = override if isinstance(override, dict) else quant
    return (
        int(source.get("bits", quant["bits"])),
        int(source.get("group_size", quant.get("group_size", 64))),
        str(source.get("mode", quant.get("mode", "affine"))),
    )


def summary(config: dict[str, Any] | None) -> dict[str, Any]:
    """The manifest's model summary: architecture facts a reviewer checks at a glance."""
    if config is None:
        return {}
    text = text_config(config)
    quant = quantization(config)
    return {
        "model_type": config.get("model_type"),
        "architectures": config.get("architectures", []),
        "num_hidden_layers": text.get("num_hidden_layers"),
        "hidden_size": text.get("hidden_size"),
        "intermediate_size": text.get("intermediate_size"),
        "num_attention_heads": text.get("num_attention_heads"),
        "num_key_value_heads": text.get("num_key_value_heads"),
        "vocab_size": text.get("vocab_size"),
        "tie_word_embeddings": bool(text.get("tie_word_embeddings", False)),
        "quantization": None
        if quant is None
        else {
            "bits": quant.get("bits"),
            "group_size": quant.get("group_size"),
            "mode": quant.get("mode", "affine"),
        },
    }
