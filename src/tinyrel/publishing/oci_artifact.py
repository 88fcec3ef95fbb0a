"""What a release is as a CNCF ModelPack artifact: which file is which kind of layer, and the config.

The files are the Hub release's (weights, card, spec snapshot, manifest, lock entry, eval records)
plus ``CHANGELOG.md``; ``model.sig`` is not a layer but a referrer (it signs the layers).  Each file
is one raw layer — ``weight`` for tensor files, ``weight.config`` for what loading the weights
needs (config, tokenizer, chat template), ``dataset`` for the per-item eval records, ``doc`` for
the rest — in a fixed order, so a release always becomes the same manifest digest.  The config's
every value is a fact from the spec, the verified manifest or ``config.json``: what tinyrel does
not know (e.g. ``capabilities``) is left out, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tinyrel.oci import modelpack
from tinyrel.oci.modelpack import Layer
from tinyrel.publishing.release import ReleaseFile
from tinyrel.release_files import RECORDS_DIR

CHANGELOG = "CHANGELOG.md"
_WEIGHT_SUFFIXES = (".safetensors", ".gguf", ".bin", ".pt", ".npz")
_KIND_ORDER = {modelpack.WEIGHT: 0, modelpack.WEIGHT_CONFIG: 1, modelpack.DOC: 2, modelpack.DATASET: 3}
_PRECISIONS = {"BF16": "bfloat16", "F16": "float16", "F32": "float32", "F64": "float64", "F8_E4M3": "float8_e4m3",
               "F8_E5M2": "float8_e5m2", "I8": "int8", "I16": "int16", "I32": "int32", "I64": "int64",
               "U8": "uint8", "U16": "uint16", "U32": "uint32", "U64": "uint64", "BOOL": "bool"}  # fmt: skip


@dataclass(frozen=True)
class Artifact:
    """The release as a ModelPack artifact: its layers (with the files they carry), its config blob
    and its manifest, whose digest names the release in the registry."""

    layers: list[tuple[Layer, ReleaseFile]]
    config: bytes
    config_digest: str
    manifest: bytes
    digest: str


def layer_type(release_file: ReleaseFile) -> str:
    path = release_file.path
    if release_file.is_weight:
        return modelpack.WEIGHT if path.endswith(_WEIGHT_SUFFIXES) else modelpack.WEIGHT_CONFIG
    if path.split("/", 1)[0] == RECORDS_DIR:
        return modelpack.DATASET
    return modelpack.DOC


def build_artifact(files: list[ReleaseFile], spec, manifest: dict[str, Any] | None, changelog: str | None) -> Artifact:
    """The layers, config and manifest of ``files`` (``model.sig`` excluded: it is the referrer)."""
    import hashlib

    layers = sorted(
        ((Layer(f.path, layer_type(f), f"sha256:{f.sha256}", f.size), f) for f in files),
        key=lambda pair: (_KIND_ORDER[pair[0].media_type], pair[0].path),
    )
    config_doc = model_config(spec, manifest, [layer for layer, _ in layers], changelog)
    modelpack.check_config(config_doc)
    config = modelpack.dumps(config_doc)
    config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
    annotations = {"org.opencontainers.image.title": spec.name, "org.opencontainers.image.version": spec.version}
    body = modelpack.model_manifest(config, config_digest, [layer for layer, _ in layers], annotations)
    return Artifact(layers, config, config_digest, body, "sha256:" + hashlib.sha256(body).hexdigest())


def model_config(spec, manifest: dict[str, Any] | None, layers: list[Layer], changelog: str | None) -> dict[str, Any]:
    """The ``application/vnd.cncf.model.config.v1+json`` document (model-spec ``docs/config.md``)."""
    model = manifest.get("model") if isinstance(manifest, dict) and isinstance(manifest.get("model"), dict) else {}
    descriptor: dict[str, Any] = {"name": spec.name, "version": spec.version}
    if isinstance(model.get("model_type"), str) and model["model_type"]:
        descriptor["family"] = model["model_type"]
    if spec.license and spec.license not in ("other", "unknown"):
        descriptor["licenses"] = [spec.license]
    created = release_date(changelog, spec.version)
    if created:
        descriptor["createdAt"] = created
    if spec.summary.strip():
        descriptor["description"] = " ".join(spec.summary.split())
    config: dict[str, Any] = {"format": "safetensors"}
    architectures = model.get("architectures")
    if isinstance(architectures, list) and architectures and isinstance(architectures[0], str):
        config["architecture"] = architectures[0]
    if precision := _precision(manifest):
        config["precision"] = precision
    quant = model.get("quantization")
    if isinstance(quant, dict) and isinstance(quant.get("bits"), int):
        config["quantization"] = f"mlx-{quant.get('mode') or 'affine'}-{quant['bits']}bit-g{quant.get('group_size')}"
    parameters = (manifest or {}).get("totals", {}).get("parameters") if isinstance(manifest, dict) else None
    if isinstance(parameters, int) and parameters > 0:
        config["paramSize"] = param_size(parameters)
    diff_ids = [layer.digest for layer in layers]  # raw layers: the uncompressed content is the blob
    return {"descriptor": descriptor, "config": config, "modelfs": {"type": "layers", "diffIds": diff_ids}}


def param_size(parameters: int) -> str:
    """``<count><scale-prefix>`` with at most one decimal: 4_022_468_096 → ``4.0B``, 1_234_567 → ``1.2M``."""
    for scale, prefix in ((10**15, "Q"), (10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "K")):
        if parameters >= scale or prefix == "K":
            return f"{parameters / scale:.1f}{prefix}"
    raise AssertionError  # pragma: no cover - "K" always returns


def _precision(manifest: dict[str, Any] | None) -> str | None:
    """The float dtypes of the tensors that are not quantization scales and biases, as model-spec names them."""
    tensors = manifest.get("tensors") if isinstance(manifest, dict) else None
    if not isinstance(tensors, list):
        return None
    names = {t.get("name") for t in tensors if isinstance(t, dict)}
    quantized = {n.removesuffix(".scales") + ".weight" for n in names if isinstance(n, str) and n.endswith(".scales")}
    dtypes = sorted({_PRECISIONS[t["dtype"]] for t in tensors if isinstance(t, dict) and t.get("dtype") in _PRECISIONS
                     and t.get("name") not in quantized
                     and not str(t.get("name", "")).endswith((".scales", ".biases"))})  # fmt: skip
    return ",".join(dtypes) or None


def release_date(changelog: str | None, version: str) -> str | None:
    """The date the CHANGELOG gives this version's entry (``## [0.1.0] - 2026-01-31``), as RFC 3339."""
    if not changelog:
        return None
    pattern = re.compile(rf"^#{{2,3}}\s*\[?v?{re.escape(version)}\]?\s*[-–—]\s*(\d{{4}}-\d{{2}}-\d{{2}})\b", re.M)
    match = pattern.search(changelog)
    if not match:
        return None
    import datetime

    try:
        datetime.date.fromisoformat(match.group(1))
    except ValueError:
        return None
    return f"{match.group(1)}T00:00:00Z"
