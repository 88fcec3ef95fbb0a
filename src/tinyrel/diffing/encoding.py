"""How each tensor is encoded on each side of a diff: dtype, and for quantized modules bits, group size
and mode — so that two "4-bit" releases can be compared honestly.

A quantization label proves nothing by itself: two releases both called 4-bit may quantize different
modules, at different group sizes, and leave different tensors in bf16.  From the manifests alone
(shapes and dtypes; no weight is read): a quantized module is a packed ``U32`` ``weight`` with
``scales`` (and ``biases`` in affine mode).  A packed row holds ``in * bits / 32`` words and
``in / group_size`` scales, so bits and group size follow from the module's input width ``in``: read
from the side where the module is not quantized (a parent against its variant), else from the
side's recorded quantization (``model.quantization`` of its manifest), when that gives whole numbers.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from tinyrel.findings import Finding

_STATE = ("scales", "biases", "global_scale")  # a quantized module's tensors besides its weight


def _modules(manifest: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], set[str]]:
    tensors = {t["name"]: t for t in manifest["tensors"]}
    quantized = {n[: -len(".scales")] for n in tensors if n.endswith(".scales") and n[: -len(".scales")] + ".weight"
                 in tensors}  # fmt: skip
    return tensors, quantized


def _mode(tensors: dict[str, dict[str, Any]], prefix: str, bits: int | None, group: int | None) -> str:
    if f"{prefix}.biases" in tensors:
        return "affine"
    if tensors[f"{prefix}.scales"]["dtype"] == "U8":  # mlx's float modes keep 8-bit scales and no biases
        return {(4, 32): "mxfp4", (8, 32): "mxfp8", (4, 16): "nvfp4"}.get((bits, group), "float (scales U8)")  # type: ignore[arg-type]
    return "unknown"


def _width(prefix: str, sides: list[tuple[dict[str, Any], dict[str, dict[str, Any]], set[str]]]) -> int | None:
    """The module's input width: from a side where it is stored unquantized, else from a side's own
    recorded bits (when they give a whole number of values per packed row)."""
    for _, tensors, quantized in sides:
        weight = tensors.get(f"{prefix}.weight")
        if weight is not None and prefix not in quantized and weight["shape"]:
            return weight["shape"][-1]
    for manifest, tensors, quantized in sides:
        bits = ((manifest.get("model") or {}).get("quantization") or {}).get("bits")
        weight = tensors.get(f"{prefix}.weight")
        packed = weight["shape"][-1] if weight and weight["shape"] else 0
        if prefix in quantized and isinstance(bits, int) and bits > 0 and packed and packed * 32 % bits == 0:
            return packed * 32 // bits
    return None


def _encoding(name: str, tensors: dict[str, dict[str, Any]], quantized: set[str], width: int | None) -> dict[str, Any]:
    tensor = tensors[name]
    prefix = name[: -len(".weight")] if name.endswith(".weight") else None
    if prefix is None or prefix not in quantized:
        return {"dtype": tensor["dtype"], "bits": None, "group_size": None, "mode": None}
    words, groups = (tensor["shape"] or [0])[-1], (tensors[f"{prefix}.scales"]["shape"] or [0])[-1]
    bits = words * 32 // width if width and (words * 32) % width == 0 else None
    group = width // groups if width and groups and width % groups == 0 else None
    return {"dtype": tensor["dtype"], "bits": bits, "group_size": group, "mode": _mode(tensors, prefix, bits, group)}


def _summary(rows: list[dict[str, Any]], side: str) -> dict[str, Any]:
    counts = Counter((r[side]["bits"], r[side]["group_size"], r[side]["mode"]) for r in rows
                     if r[side] is not None and r[side]["mode"] is not None)  # fmt: skip
    return {
        "quantized": [{"bits": b, "group_size": g, "mode": m, "modules": n}
                      for (b, g, m), n in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))],
        "unquantized": sorted(r["name"] for r in rows if r[side] is not None and r[side]["mode"] is None),
    }  # fmt: skip


def describe(encoding: dict[str, Any] | None) -> str:
    """``4-bit affine (group size 64)``, ``BF16``, or ``absent``."""
    if encoding is None:
        return "absent"
    if encoding["mode"] is None:
        return encoding["dtype"]
    bits = encoding["bits"] if encoding["bits"] is not None else "?"
    group = encoding["group_size"] if encoding["group_size"] is not None else "?"
    return f"{bits}-bit {encoding['mode']} (group size {group})"


def encoding_report(a: dict[str, Any], b: dict[str, Any]) -> tuple[dict[str, Any], list[Finding]] | None:
    """Per tensor (quantization state folded into its module's weight), the encoding on each side, and
    a ``diff/encoding`` finding for each tensor encoded differently; None when neither side is quantized."""
    sides = [(m, *_modules(m)) for m in (a, b)]
    if not sides[0][2] and not sides[1][2]:
        return None
    names = set()
    for _, tensors, quantized in sides:
        names |= {n for n in tensors if not (n.rsplit(".", 1)[-1] in _STATE and n.rsplit(".", 1)[0] in quantized)}
    rows, findings = [], []
    for name in sorted(names):
        prefix = name[: -len(".weight")] if name.endswith(".weight") else name
        width = _width(prefix, sides)
        row: dict[str, Any] = {"name": name}
        for side, (_, tensors, quantized) in zip(("a", "b"), sides, strict=True):
            row[side] = _encoding(name, tensors, quantized, width) if name in tensors else None
        rows.append(row)
        if row["a"] != row["b"]:
            findings.append(Finding("diff/encoding", "info", f"tensor {name}: {describe(row['a'])} → "
                                    f"{describe(row['b'])}"))  # fmt: skip
    return {"a": _summary(rows, "a"), "b": _summary(rows, "b"), "tensors": rows}, findings

