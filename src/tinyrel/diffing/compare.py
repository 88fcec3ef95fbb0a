"""What changed between two weight manifests, tensor by tensor — linear in the tensor count.

A reviewer of a release PR sees "model-00001.safetensors changed (5 GB)"; this says which tensors
changed (by digest), which were added or removed, which changed dtype or shape, how many bytes that
is, and a per-layer summary ("layers 20–35 changed in mlp and self_attn; embeddings unchanged").
Quantized modules (``weight``/``scales``/``biases``) count as one module.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from tinyrel.findings import Report, TinyrelError

LAYER = re.compile(r"^(?:model\.|language_model\.model\.)?layers\.(\d+)\.([^.]+)")
TOP_LEVEL = {"embed_tokens": "embeddings", "lm_head": "lm_head", "norm": "final norm"}


@dataclass
class TensorDiff:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    dtype_changed: list[dict[str, Any]] = field(default_factory=list)
    shape_changed: list[dict[str, Any]] = field(default_factory=list)
    unchanged: int = 0
    bytes_changed: int = 0
    compared_digests: bool = True

    @property
    def touched(self) -> list[str]:
        moved = [d["name"] for d in self.dtype_changed + self.shape_changed]
        return sorted(set(self.added + self.removed + self.changed + moved))

    @property
    def identical(self) -> bool:
        return not self.touched


def _nbytes(record: dict[str, Any]) -> int:
    begin, end = record["data_offsets"]
    return end - begin


def diff_tensors(a: dict[str, Any], b: dict[str, Any]) -> TensorDiff:
    algo_a, algo_b = a.get("digest_algorithm"), b.get("digest_algorithm")
    if algo_a and algo_b and algo_a != algo_b:
        raise TinyrelError("diff/digest-algorithm", f"tensor digests differ in algorithm ({algo_a} vs {algo_b})")
    left = {t["name"]: t for t in a["tensors"]}
    right = {t["name"]: t for t in b["tensors"]}
    out = TensorDiff()
    out.added = sorted(set(right) - set(left))
    out.removed = sorted(set(left) - set(right))
    out.bytes_changed = sum(_nbytes(right[n]) for n in out.added) + sum(_nbytes(left[n]) for n in out.removed)
    for name in sorted(set(left) & set(right)):
        x, y = left[name], right[name]
        if x["dtype"] != y["dtype"]:
            out.dtype_changed.append({"name": name, "a": x["dtype"], "b": y["dtype"]})
        if list(x["shape"]) != list(y["shape"]):
            out.shape_changed.append({"name": name, "a": list(x["shape"]), "b": list(y["shape"])})
        if x["dtype"] != y["dtype"] or list(x["shape"]) != list(y["shape"]):
            out.bytes_changed += max(_nbytes(x), _nbytes(y))
        elif x.get("digest") is None or y.get("digest") is None:
            out.compared_digests = False
            out.unchanged += 1
        elif x["digest"] != y["digest"]:
            out.changed.append(name)
            out.bytes_changed += _nbytes(y)
        else:
            out.unchanged += 1
    return out


def module_of(name: str) -> tuple[int | None, str]:
    """(layer index or None, module group): ``model.layers.3.mlp.up_proj.weight`` → (3, "mlp")."""
    match = LAYER.match(name)
    if match:
        return int(match.group(1)), match.group(2)
    for key, label in TOP_LEVEL.items():
        if f".{key}." in f".{name}" or name.startswith(f"{key}."):
            return None, label
    return None, name.rsplit(".", 1)[0]


def ranges(numbers: list[int]) -> str:
    """[0, 1, 2, 5, 7, 8] → "0–2, 5, 7–8"."""
    parts: list[str] = []
    run: list[int] = []
    for n in sorted(set(numbers)):
        if run and n == run[-1] + 1:
            run.append(n)
            continue
        if run:
            parts.append(f"{run[0]}–{run[-1]}" if len(run) > 1 else str(run[0]))
        run = [n]
    if run:
        parts.append(f"{run[0]}–{run[-1]}" if len(run) > 1 else str(run[0]))
    return ", ".join(parts)


def layer_summary(diff: TensorDiff, all_names: list[str]) -> dict[str, Any]:
    """Group touched tensors by layer and module, and name the top-level groups left unchanged."""
    touched = set(diff.touched)
    by_layer: dict[int, set[str]] = defaultdict(set)
    top_changed: set[str] = set()
    top_all: set[str] = set()
    for name in all_names:
        layer, module = module_of(name)
        if layer is None:
            top_all.add(module)
            if name in touched:
                top_changed.add(module)
        elif name in touched:
            by_layer[layer].add(module)
    sentences = []
    if by_layer:
        modules = sorted(set().union(*by_layer.values()))
        which = " and ".join([", ".join(modules[:-1]), modules[-1]] if len(modules) > 1 else modules)
        noun = "layer" if len(by_layer) == 1 else "layers"
        sentences.append(f"{noun} {ranges(list(by_layer))} changed in {which}")
    elif touched:
        sentences.append("no transformer layer changed")
    for label in sorted(top_all):
        sentences.append(f"{label} {'changed' if label in top_changed else 'unchanged'}")
    return {
        "layers": {str(k): sorted(v) for k, v in sorted(by_layer.items())},
        "top_level_changed": sorted(top_changed),
        "text": "; ".join(sentences) if touched else "no tensor changed",
    }


def diff_report(a: dict[str, Any], b: dict[str, Any], label_a: str, label_b: str) -> Report:
    diff = diff_tensors(a, b)
    names = sorted({t["name"] for t in a["tensors"]} | {t["name"] for t in b["tensors"]})
    summary = layer_summary(diff, names)
    report = Report()
    for name in diff.added:
        report.info("diff/added", f"tensor {name} added")
    for name in diff.removed:
        report.info("diff/removed", f"tensor {name} removed")
    for item in diff.dtype_changed:
        report.info("diff/dtype", f"tensor {item['name']}: dtype {item['a']} → {item['b']}")
    for item in diff.shape_changed:
        report.info("diff/shape", f"tensor {item['name']}: shape {item['a']} → {item['b']}")
    for name in diff.changed:
        report.info("diff/changed", f"tensor {name} changed")
    if not diff.compared_digests:
        report.warning("diff/no-digests", "one side has no tensor digests: only names, dtypes and shapes compared")
    report.data.update(
        {
            "a": label_a,
            "b": label_b,
            "identical": diff.identical,
            "tensors": {
                "added": diff.added,
                "removed": diff.removed,
                "changed": diff.changed,
                "dtype_changed": diff.dtype_changed,
                "shape_changed": diff.shape_changed,
                "unchanged": diff.unchanged,
            },
            "bytes_changed": diff.bytes_changed,
            "summary": summary,
        }
    )
    return report
