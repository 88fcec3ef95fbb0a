"""What ``config.json`` says about the model, in the shape the manifest and checks need."""

from __future__ import annotations

from typing import Any


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
