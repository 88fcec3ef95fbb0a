"""Is this variant a quantization of *these* weights?  The part that needs only the two manifests.

A quantization label proves nothing by itself (two "Q4_K_M" files of one model can differ in a
third of their tensors), so a variant is compared with its parent tensor by tensor:

- the same modules: every parent tensor is in the variant; the variant adds only the ``scales``
  (and, in affine mode, ``biases``) of the modules it quantized;
- each quantized module's packed ``weight`` (U32), ``scales`` and ``biases`` have exactly the shapes
  that the variant's ``config.json`` ``quantization`` (``bits``, ``group_size``, ``mode`` and the
  per-module entries mlx-lm writes for mixed recipes) gives for the parent's tensor; what the
  tensors really hold is inferred from the shapes, so a finding says what the config claims and
  what the files are;
- every tensor left unquantized is the parent's, by per-tensor BLAKE3 digest (one the conversion
  cast to another float dtype is left to the deep check, ``variant_deep``, which compares values).

Nothing here reads a weight: the deep check proves the quantized values themselves.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tinyrel.findings import Finding
from tinyrel.weights import config as cfg

FLOATS = {"BF16", "F16", "F32"}
SCALE_DTYPES = {"affine": FLOATS, "mxfp4": {"U8"}, "mxfp8": {"U8"}, "nvfp4": {"U8"}}
QUANT_LEAVES = ("scales", "biases", "global_scale")
MAX_PER_CODE = 5  # findings of one kind per variant; the rest are counted in one more


@dataclass(frozen=True)
class ConvertedModule:
    """A module the conversion quantized: the parent's float weight and the variant's tensors."""

    prefix: str
    parent: dict[str, Any]
    weight: dict[str, Any]
    scales: dict[str, Any]
    biases: dict[str, Any] | None
    bits: int
    group_size: int
    mode: str
    global_scale: bool = False


@dataclass
class Comparison:
    """The manifest-level verdict on one variant, and what the deep check must read."""

    findings: list[Finding] = field(default_factory=list)
    converted: list[ConvertedModule] = field(default_factory=list)
    cast: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)  # (parent, variant) tensors
    kept: list[str] = field(default_factory=list)  # unquantized tensors equal to the parent's by digest

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    def encodings(self) -> dict[str, Any]:
        """Modules by (bits, group size, mode), and the tensors left unquantized."""
        counts = Counter((m.bits, m.group_size, m.mode) for m in self.converted)
        return {
            "quantized": [{"bits": b, "group_size": g, "mode": mode, "modules": n}
                          for (b, g, mode), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))],
            "unquantized": sorted(self.kept + [v["name"] for _, v in self.cast]),
        }  # fmt: skip


class _Findings:
    """Findings capped per code: a lying config fails every module, and one line per module would
    bury the first one a reviewer needs."""

    def __init__(self, label: str, path: str | None):
        self.label, self.path = label, path
        self.found: list[Finding] = []
        self.counts: Counter[str] = Counter()

    def error(self, code: str, message: str) -> None:
        self.counts[code] += 1
        if self.counts[code] <= MAX_PER_CODE:
            self.found.append(Finding(code, "error", f"{self.label}: {message}", self.path))

    def warning(self, code: str, message: str) -> None:
        self.found.append(Finding(code, "warning", f"{self.label}: {message}", self.path))

    def close(self) -> list[Finding]:
        for code, n in sorted(self.counts.items()):
            if n > MAX_PER_CODE:
                more = f"{self.label}: {n - MAX_PER_CODE:,} more {code} findings (the first {MAX_PER_CODE} are listed)"
                self.found.append(Finding(code, "error", more, self.path))
        return self.found


def _describe(bits: int | None, group: int | None, mode: str) -> str:
    return f"{bits if bits is not None else '?'}-bit {mode}, group size {group if group is not None else '?'}"


def stored_encoding(parent_shape: list[int], weight: dict[str, Any], scales: dict[str, Any]) -> tuple[int | None,
                                                                                                     int | None]:
    """(bits, group size) the variant's tensors really hold, from the parent's input width: a packed
    row holds ``in * bits / 32`` words and ``in / group_size`` scales.  None where it is not whole."""
    width = parent_shape[-1] if parent_shape else 0
    words, groups = (weight["shape"] or [0])[-1], (scales["shape"] or [0])[-1]
    bits = words * 32 // width if width and (words * 32) % width == 0 else None
    group = width // groups if groups and width % groups == 0 else None
    return bits, group


def _check_module(prefix: str, parent: dict[str, Any], tensors: dict[str, dict[str, Any]],
                  config: dict[str, Any], out: _Findings) -> ConvertedModule | None:  # fmt: skip
    """One module with ``scales`` in the variant, against the parent's float weight and the config."""
    weight, scales = tensors.get(f"{prefix}.weight"), tensors[f"{prefix}.scales"]
    biases = tensors.get(f"{prefix}.biases")
    claim = cfg.layer_quantization(config, prefix)
    if claim is None:
        out.error("variant/encoding", f"{prefix}.scales exists, but config.json does not quantize {prefix}")
        return None
    bits, group, mode = claim
    if mode not in SCALE_DTYPES:
        out.error("variant/encoding", f"config.json says {prefix} is quantized in mode {mode[:40]!r}, which mlx does "
                  f"not quantize with ({', '.join(SCALE_DTYPES)})")  # fmt: skip
        return None
    if weight is None or weight["dtype"] != "U32":
        out.error("variant/encoding", f"{prefix}.weight must be packed U32 (it is "
                  f"{weight['dtype'] if weight else 'missing'})")  # fmt: skip
        return None
    if parent["dtype"] not in FLOATS:
        out.error("variant/modules", f"{prefix}.weight is {parent['dtype']} in the parent: only float weights are "
                  "quantized by a conversion")  # fmt: skip
        return None
    shape = list(parent["shape"])
    width, lead = (shape[-1], shape[:-1]) if shape else (0, [])
    if list(weight["shape"][:-1]) != lead or list(scales["shape"][:-1]) != lead:
        out.error("variant/modules", f"{prefix}.weight is {weight['shape']} and {prefix}.scales {scales['shape']}: "
                  f"not a quantization of the parent's {shape} (other leading dimensions)")  # fmt: skip
        return None
    want_words = width * bits // 32 if (width * bits) % 32 == 0 else None
    want_groups = width // group if group and width % group == 0 else None
    problems = []
    if want_words is None or want_groups is None:
        problems.append(f"the parent's width {width} cannot be packed at that setting")
    if want_words is not None and weight["shape"][-1] != want_words:
        problems.append(f"{prefix}.weight is {weight['shape']}, needs {[*lead, want_words]}")
    if want_groups is not None and scales["shape"][-1] != want_groups:
        problems.append(f"{prefix}.scales is {scales['shape']}, needs {[*lead, want_groups]}")
    if scales["dtype"] not in SCALE_DTYPES[mode]:
        problems.append(f"{prefix}.scales is {scales['dtype']}, which {mode} mode does not store")
    matching = biases is not None and biases["shape"] == scales["shape"] and biases["dtype"] == scales["dtype"]
    if mode == "affine" and not matching:
        problems.append(f"{prefix}.biases must exist with the scales' shape and dtype in affine mode")
    if mode != "affine" and biases is not None:
        problems.append(f"{prefix}.biases exists, but {mode} mode has no biases")
    if problems:
        held = stored_encoding(shape, weight, scales)
        out.error("variant/encoding", f"config.json says {prefix} is {_describe(bits, group, mode)}, but for the "
                  f"parent's {shape} the files hold {_describe(*held, mode)}: " + "; ".join(problems))  # fmt: skip
        return None
    return ConvertedModule(prefix, parent, weight, scales, biases, bits, group, mode,
                           f"{prefix}.global_scale" in tensors)  # fmt: skip


def compare(parent: dict[str, Any], variant: dict[str, Any], config: dict[str, Any] | None, label: str,
            path: str | None = None) -> Comparison:  # fmt: skip
    """Compare a variant's manifest with its parent's (``config``: the variant's config.json)."""
    out = _Findings(label, path)
    result = Comparison()
    mine = {t["name"]: t for t in parent["tensors"]}
    theirs = {t["name"]: t for t in variant["tensors"]}
    converted = sorted(n[: -len(".scales")] for n in theirs if n.endswith(".scales") and n not in mine)
    if converted and not isinstance(config, dict):
        out.error("variant/encoding", f"{converted[0]}.scales exists, but the variant has no config.json to say how "
                  "it is quantized")  # fmt: skip
        result.findings = out.close()
        return result
    added = {f"{m}.{leaf}" for m in converted for leaf in QUANT_LEAVES}
    for name in sorted(set(mine) - set(theirs)):
        out.error("variant/modules", f"{name} is in the parent but not in the variant")
    for name in sorted(set(theirs) - set(mine) - added):
        out.error("variant/modules", f"{name} is in the variant but not in the parent")
    for prefix in converted:
        if f"{prefix}.weight" not in mine:
            out.error("variant/modules", f"{prefix}.scales quantizes {prefix}.weight, which the parent does not have")
            continue
        module = _check_module(prefix, mine[f"{prefix}.weight"], theirs, config or {}, out)
        if module is not None:
            result.converted.append(module)
    quant = cfg.quantization(config or {}) or {}
    for key, value in sorted(quant.items()):
        if isinstance(value, dict) and key not in converted and f"{key}.weight" in theirs:
            claimed = _describe(value.get("bits"), value.get("group_size"), value.get("mode", "affine"))
            out.error("variant/encoding", f"config.json quantizes {key} ({claimed}), but {key}.weight is stored "
                      f"unquantized ({theirs[f'{key}.weight']['dtype']})")  # fmt: skip
    weights = {f"{m}.weight" for m in converted}
    for name in sorted((set(mine) & set(theirs)) - weights):
        a, b = mine[name], theirs[name]
        if list(a["shape"]) != list(b["shape"]):
            out.error("variant/modules", f"{name} is {b['shape']} in the variant, {a['shape']} in the parent")
        elif a["dtype"] != b["dtype"]:
            if a["dtype"] in FLOATS and b["dtype"] in FLOATS:
                result.cast.append((a, b))  # cast by the conversion (--dtype): the deep check compares values
            else:
                out.error("variant/modules", f"{name} is {b['dtype']} in the variant, {a['dtype']} in the parent")
        elif a.get("digest") is None or b.get("digest") is None:
            out.warning("variant/no-digests", f"{name}: a manifest has no tensor digests; the tensor was not compared")
        elif a["digest"] != b["digest"]:
            out.error("variant/not-from-parent", f"{name} is left unquantized but differs from the parent's (BLAKE3 "
                      f"{b['digest'][:12]}… vs {a['digest'][:12]}…): not a conversion of these weights")  # fmt: skip
        else:
            result.kept.append(name)
    if not converted and not out.counts:
        out.warning("variant/not-quantized", "no tensor of the variant is quantized: it is not a quantized variant")
    result.findings = out.close()
    return result
