"""Are these weights shaped like their base?  Compared from tensor tables (name -> dtype, shape)
and ``config.json``, so the base's weights are never read: its safetensors headers say enough.

By the relation the spec declares (``[base] relation``):

- ``finetune`` and ``merge``: the same tensor names, shapes and dtypes as the base (a dtype change,
  bf16 → fp16 say, is a finding of its own: a merge or a fine-tune does not change dtypes by
  accident), and the same architecture in ``config.json``;
- ``quantized``: every quantized layer dequantizes to the base tensor's shape (mlx packs ``bits``
  per 32-bit word: ``in * bits == packed * 32`` for some supported ``bits``), every other tensor has
  the base's shape, and the architecture is the base's;
- ``adapter``: every module the adapter adapts exists in the base (``P.weight``), its ``lora_a`` and
  ``lora_b`` fit that layer's input and output dimensions (dequantized for a quantized base: QLoRA),
  and the adapted layers are the last ``num_layers`` of the base's, as mlx-lm applies them.

Every mismatch is a finding whose code says what kind it is and whose message names the tensor or
module; a wrong base yields hundreds, so each kind is shown a few times and then counted.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from tinyrel.findings import Finding, Report
from tinyrel.weights import config as cfg
from tinyrel.weights.adapter import adapter_modules, is_embedding

Tensors = dict[str, tuple[str, tuple[int, ...]]]  # name -> (dtype, shape)
ARCHITECTURE = ("model_type", "architectures", "num_hidden_layers", "hidden_size", "intermediate_size",
                "num_attention_heads", "num_key_value_heads", "vocab_size", "tie_word_embeddings")  # fmt: skip
SHOWN_PER_CODE = 8
_LAYER = re.compile(r"(?:^|\.)layers\.(\d+)\.")


class _Findings:
    """Findings of one comparison, each code shown ``SHOWN_PER_CODE`` times and then counted."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.by_code: dict[str, list[str]] = defaultdict(list)

    def add(self, code: str, message: str) -> None:
        self.by_code[code].append(message)

    def into(self, report: Report) -> None:
        for code, messages in self.by_code.items():
            for message in messages[:SHOWN_PER_CODE]:
                report.findings.append(Finding(code, "error", message, self.path))
            if len(messages) > SHOWN_PER_CODE:
                report.findings.append(Finding(code, "error", f"and {len(messages) - SHOWN_PER_CODE} more of the same "
                                               "kind", self.path))  # fmt: skip


def _quantized(tensors: Tensors) -> set[str]:
    """Prefixes of mlx-quantized layers: ``P.weight`` packed in U32 beside ``P.scales``."""
    return {n[: -len(".scales")] for n in tensors if n.endswith(".scales")
            and tensors.get(n[: -len(".scales")] + ".weight", ("", ()))[0] == "U32"}  # fmt: skip


def compare_architecture(release_model: dict[str, Any], base_config: dict[str, Any] | None, found: _Findings) -> None:
    """The architecture fields of ``config.json`` (the manifest's ``model`` summary vs the base's)."""
    if base_config is None or not isinstance(release_model, dict):
        return
    base = cfg.summary(base_config)
    for key in ARCHITECTURE:
        mine, theirs = release_model.get(key), base.get(key)
        if mine is not None and theirs is not None and mine != theirs:
            found.add("base/config", f"config.json {key}: {str(mine)[:80]} in the release, {str(theirs)[:80]} in the "
                      "base")  # fmt: skip


def compare_finetune(release: Tensors, base: Tensors, found: _Findings, *, dtypes: bool = True) -> None:
    for name in sorted(base.keys() - release.keys()):
        found.add("base/tensor-missing", f"{name}: in the base, not in the release")
    for name in sorted(release.keys() - base.keys()):
        found.add("base/tensor-extra", f"{name}: in the release, not in the base")
    for name in sorted(release.keys() & base.keys()):
        (dtype, shape), (base_dtype, base_shape) = release[name], base[name]
        if shape != base_shape:
            found.add("base/shape", f"{name}: shape {list(shape)} in the release, {list(base_shape)} in the base")
        elif dtypes and dtype != base_dtype:
            found.add("base/dtype", f"{name}: dtype {dtype} in the release, {base_dtype} in the base")


def compare_quantized(release: Tensors, base: Tensors, found: _Findings) -> None:
    packed = _quantized(release)
    state = {f"{p}.{leaf}" for p in packed for leaf in ("scales", "biases")}
    plain = {n: v for n, v in release.items() if n not in state and n[: -len(".weight")] not in packed}
    compare_finetune(plain, {n: v for n, v in base.items() if n[: -len(".weight")] not in packed}, found,
                     dtypes=False)  # fmt: skip
    for prefix in sorted(packed):
        name = f"{prefix}.weight"
        if name not in base:
            found.add("base/tensor-extra", f"{name}: quantized in the release, not in the base")
            continue
        weight, scales = release[name][1], release[f"{prefix}.scales"][1]
        base_shape = base[name][1]
        fits = (
            weight[:-1] == base_shape[:-1] and bool(weight) and bool(base_shape) and bool(scales)
            and any(weight[-1] * 32 == base_shape[-1] * bits for bits in cfg.QUANT_BITS)
            and scales[-1] > 0 and base_shape[-1] % scales[-1] == 0
        )  # fmt: skip
        if not fits:
            found.add("base/quantized-shape", f"{name}: packed {list(weight)} with scales {list(scales)} does not "
                      f"dequantize to the base's {list(base_shape)}")  # fmt: skip


def base_layer_count(base: Tensors, base_config: dict[str, Any] | None) -> int:
    layers = cfg.text_config(base_config).get("num_hidden_layers") if base_config else None
    if isinstance(layers, int) and not isinstance(layers, bool):
        return layers
    return 1 + max((int(m.group(1)) for n in base if (m := _LAYER.search(n))), default=-1)


def _dimensions(module: str, shape: tuple[int, ...], base_config: dict[str, Any] | None, dtype: str):
    """(input, output) of a base layer from its weight; for an embedding (rows, dims); ``None`` if
    a packed weight's bits are not known."""
    width = shape[-1]
    if dtype == "U32":
        params = cfg.layer_quantization(base_config, module) if base_config else None
        if params is None:
            return None
        width = width * 32 // params[0]
    if is_embedding(module):
        return shape[-2], width  # rows, dims
    return width, shape[-2]  # in, out


def compare_adapter(adapter: Tensors, summary: dict[str, Any], base: Tensors, base_config: dict[str, Any] | None,
                    found: _Findings) -> None:  # fmt: skip
    """mlx-lm's ``load_adapters`` on this base: every module exists, every factor fits, every layer is
    one mlx-lm adapts."""
    rank = summary.get("rank")
    count = summary.get("num_layers")
    layers = base_layer_count(base, base_config)
    if isinstance(count, int) and count > layers:
        found.add("base/adapter-layers", f"adapter_config.json num_layers = {count}, but the base has {layers} "
                  "layers")  # fmt: skip
    first = layers - count if isinstance(count, int) and 0 < count <= layers else 0
    for module, leaves in sorted(adapter_modules(list(adapter)).items()):
        match = _LAYER.search(module + ".")
        if match and not first <= int(match.group(1)) < layers:
            found.add("base/adapter-layers", f"{module}: layer {match.group(1)} is not one of the base's last "
                      f"{layers - first} layers ({first}–{layers - 1}), which mlx-lm adapts")  # fmt: skip
            continue
        weight = base.get(f"{module}.weight")
        if weight is None:
            found.add("base/adapter-module", f"{module}: adapted by the adapter, but the base has no such layer (no "
                      f"{module}.weight)")  # fmt: skip
            continue
        dims = _dimensions(module, weight[1], base_config, weight[0])
        if dims is None or "lora_a" not in leaves or "lora_b" not in leaves or len(weight[1]) not in (2, 3):
            continue
        a, b = adapter[f"{module}.lora_a"][1], adapter[f"{module}.lora_b"][1]
        r = rank if isinstance(rank, int) else (a[-1] if len(a) == 2 else a[-2])
        first_dim, second_dim = dims
        if len(weight[1]) == 3:  # experts: (E, r, in), (E, out, r)
            want_a, want_b = (weight[1][0], r, first_dim), (weight[1][0], second_dim, r)
        else:
            want_a, want_b = (first_dim, r), (r, second_dim)
        for leaf, got, want in (("lora_a", a, want_a), ("lora_b", b, want_b)):
            if tuple(got) != want:
                found.add("base/adapter-shape", f"{module}.{leaf}: shape {list(got)}; the base layer "
                          f"({_describe(module, dims)}) needs {list(want)}")  # fmt: skip
        if "m" in leaves:
            rows = first_dim if is_embedding(module) else second_dim
            if tuple(adapter[f"{module}.m"][1]) != (rows,):
                found.add("base/adapter-shape", f"{module}.m: shape {list(adapter[f'{module}.m'][1])}; the base "
                          f"layer ({_describe(module, dims)}) needs [{rows}]")  # fmt: skip


def _describe(module: str, dims: tuple[int, int]) -> str:
    return f"{dims[0]} rows of {dims[1]}" if is_embedding(module) else f"input {dims[0]}, output {dims[1]}"


def compare_with_base(relation: str, release: Tensors, release_model: dict[str, Any], base: Tensors,
                      base_config: dict[str, Any] | None, report: Report, path: str | None = None) -> None:  # fmt: skip
    """Every way ``release`` (tensors and the manifest's ``model``) is not shaped like ``base``."""
    found = _Findings(path)
    if relation == "adapter":
        summary = release_model.get("adapter") if isinstance(release_model, dict) else None
        compare_adapter(release, summary if isinstance(summary, dict) else {}, base, base_config, found)
    elif relation == "quantized":
        compare_quantized(release, base, found)
        compare_architecture(release_model, base_config, found)
    else:
        compare_finetune(release, base, found)
        compare_architecture(release_model, base_config, found)
    found.into(report)


def manifest_tensors(manifest: dict[str, Any]) -> Tensors:
    """The tensor table of a (loaded, validated) tinyrel manifest."""
    return {t["name"]: (t["dtype"], tuple(t["shape"])) for t in manifest.get("tensors", [])}
