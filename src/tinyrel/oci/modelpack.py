"""The CNCF ModelPack format (``modelpack/model-spec`` v1) and the signature referrer, as bytes.

Writing: a manifest and its config are serialised one way only (compact JSON, sorted keys), so the
same release always has the same manifest digest — which is what makes a re-run converge and a tag
comparable.  Reading: a manifest from a registry is outside input; ``read_model_manifest`` checks
every field tinyrel uses (media types, digests, sizes, file paths) before anything is fetched.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinyrel.findings import TinyrelError
from tinyrel.oci.client import INDEX_TYPE, MANIFEST_TYPE
from tinyrel.oci.reference import DIGEST_RE

ARTIFACT_TYPE = "application/vnd.cncf.model.manifest.v1+json"
CONFIG_TYPE = "application/vnd.cncf.model.config.v1+json"
WEIGHT = "application/vnd.cncf.model.weight.v1.raw"
WEIGHT_CONFIG = "application/vnd.cncf.model.weight.config.v1.raw"
DOC = "application/vnd.cncf.model.doc.v1.raw"
CODE = "application/vnd.cncf.model.code.v1.raw"
DATASET = "application/vnd.cncf.model.dataset.v1.raw"
RAW_LAYER_TYPES = frozenset({WEIGHT, WEIGHT_CONFIG, DOC, CODE, DATASET})
FILEPATH = "org.cncf.model.filepath"
TITLE = "org.opencontainers.image.title"
# The OMS bundle (model.sig) as an OCI referrer: the Sigstore bundle's own media type.
SIGNATURE_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
EMPTY_TYPE = "application/vnd.oci.empty.v1+json"
EMPTY_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"  # sha256 of "{}"
SIGNATURE_ANNOTATIONS = {
    "dev.sigstore.bundle.content": "dsse-envelope",
    "dev.sigstore.bundle.predicateType": "https://model_signing/signature/v1.0",
}
CONFIG_SCHEMA = Path(__file__).with_name("modelpack-config-schema.json")  # model-spec's schema/config-schema.json
MAX_CONFIG_BYTES = 1024 * 1024
MAX_LAYERS = 10_000
MAX_ANNOTATION = 4096


@dataclass(frozen=True)
class Layer:
    """One file of the artifact: where it goes, what it is, and its descriptor."""

    path: str
    media_type: str
    digest: str
    size: int

    @property
    def sha256(self) -> str:
        return self.digest.removeprefix("sha256:")

    def descriptor(self) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size,
                "annotations": {FILEPATH: self.path, TITLE: self.path}}  # fmt: skip


@dataclass(frozen=True)
class ModelManifest:
    """A ModelPack manifest read back from a registry (checked), with its digest."""

    digest: str
    size: int
    config: dict[str, Any]  # the config descriptor
    layers: list[Layer]


def dumps(doc: dict[str, Any]) -> bytes:
    """The one serialisation of a manifest, an index or a config."""
    return json.dumps(doc, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode("utf-8")


def check_config(config: dict[str, Any]) -> None:
    """The config against model-spec's own JSON schema, before it is sent anywhere."""
    import jsonschema

    schema = json.loads(CONFIG_SCHEMA.read_text(encoding="utf-8"))
    try:
        jsonschema.Draft202012Validator(schema).validate(config)
    except jsonschema.ValidationError as exc:
        raise TinyrelError("publish/modelpack-config", f"the ModelPack config does not validate against model-spec's "
                           f"schema: {exc.message}") from None  # fmt: skip


def model_manifest(config_blob: bytes, config_digest: str, layers: list[Layer], annotations: dict[str, str]) -> bytes:
    """The ModelPack v1 image manifest (``artifactType`` model, raw layers in the given order)."""
    doc: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "artifactType": ARTIFACT_TYPE,
        "config": {"mediaType": CONFIG_TYPE, "digest": config_digest, "size": len(config_blob)},
        "layers": [layer.descriptor() for layer in layers],
    }
    if annotations:
        doc["annotations"] = annotations
    return dumps(doc)


def signature_manifest(bundle_digest: str, bundle_size: int, subject_digest: str, subject_size: int) -> bytes:
    """The referrer that carries ``model.sig``: the empty config, one bundle layer, the model manifest
    as its ``subject`` (the shape Sigstore's own OCI tooling uses for bundles)."""
    return dumps({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "artifactType": SIGNATURE_TYPE,
        "config": {"mediaType": EMPTY_TYPE, "digest": EMPTY_DIGEST, "size": 2, "data": "e30="},
        "layers": [{"mediaType": SIGNATURE_TYPE, "digest": bundle_digest, "size": bundle_size,
                    "annotations": {TITLE: "model.sig"}}],
        "subject": {"mediaType": MANIFEST_TYPE, "digest": subject_digest, "size": subject_size},
        "annotations": dict(SIGNATURE_ANNOTATIONS),
    })  # fmt: skip


def parse_json(body: bytes, what: str) -> dict[str, Any]:
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        raise TinyrelError("oci/untrusted-response", f"{what} is not JSON") from None
    if not isinstance(doc, dict):
        raise TinyrelError("oci/untrusted-response", f"{what} is not a JSON object")
    return doc


def descriptor(value: Any, what: str) -> dict[str, Any]:
    """A descriptor whose digest and size can be used (sha256 only, a non-negative integer size)."""
    if not isinstance(value, dict):
        raise TinyrelError("oci/untrusted-response", f"{what}: a descriptor is not an object")
    digest, size, media_type = value.get("digest"), value.get("size"), value.get("mediaType")
    if not isinstance(digest, str) or not DIGEST_RE.match(digest):
        raise TinyrelError("oci/untrusted-response", f"{what}: a descriptor's digest is not sha256:<64 hex>")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise TinyrelError("oci/untrusted-response", f"{what}: a descriptor's size is not a non-negative integer")
    if not isinstance(media_type, str) or len(media_type) > 255:
        raise TinyrelError("oci/untrusted-response", f"{what}: a descriptor has no media type")
    return value


def read_model_manifest(body: bytes, digest: str, where: str) -> ModelManifest:
    """A ModelPack manifest as tinyrel publishes it: raw layers, each naming a safe, unique file path."""
    from tinyrel.safe_io import checked_relpath

    doc = parse_json(body, f"{where}: the manifest")
    if doc.get("schemaVersion") != 2 or doc.get("mediaType") != MANIFEST_TYPE:
        raise TinyrelError("oci/not-modelpack", f"{where} is not an OCI image manifest (schemaVersion 2, "
                           f"{MANIFEST_TYPE})")  # fmt: skip
    if doc.get("artifactType") != ARTIFACT_TYPE or not isinstance(doc.get("config"), dict) \
            or doc["config"].get("mediaType") != CONFIG_TYPE:  # fmt: skip
        raise TinyrelError("oci/not-modelpack", f"{where} is not a ModelPack model artifact (artifactType "
                           f"{ARTIFACT_TYPE})")  # fmt: skip
    config = descriptor(doc["config"], where)
    raw_layers = doc.get("layers")
    if not isinstance(raw_layers, list) or len(raw_layers) > MAX_LAYERS:
        raise TinyrelError("oci/untrusted-response", f"{where}: the manifest's layers are not a list of descriptors")
    layers: list[Layer] = []
    seen: set[str] = set()
    folders: set[str] = set()
    for raw in raw_layers:
        d = descriptor(raw, where)
        if d["mediaType"] not in RAW_LAYER_TYPES:
            raise TinyrelError("oci/not-modelpack", f"{where}: layer {d['digest'][:19]} is {d['mediaType'][:80]!r}; "
                               "tinyrel reads raw ModelPack layers (one file each) only")  # fmt: skip
        notes = d.get("annotations")
        path = notes.get(FILEPATH) if isinstance(notes, dict) else None
        if not isinstance(path, str) or not path or len(path) > MAX_ANNOTATION:
            raise TinyrelError("oci/untrusted-response", f"{where}: layer {d['digest'][:19]} names no {FILEPATH}")
        try:
            rel = checked_relpath(path)
        except ValueError as exc:
            raise TinyrelError("oci/untrusted-response", f"{where}: a layer names an unsafe file path: {exc}") from None
        parts = rel.split("/")
        parents = {"/".join(parts[:i]) for i in range(1, len(parts))}
        if rel in seen or rel in folders or parents & seen:
            raise TinyrelError("oci/untrusted-response", f"{where}: the file path {rel[:80]!r} is named twice (or as "
                               "a file and a folder)")  # fmt: skip
        seen.add(rel)
        folders |= parents
        layers.append(Layer(rel, d["mediaType"], d["digest"], d["size"]))
    return ModelManifest(digest, len(body), config, layers)


def referrer_descriptors(body: bytes, where: str) -> list[dict[str, Any]]:
    """The manifests an image index lists (the Referrers API's answer, or a referrers tag)."""
    doc = parse_json(body, f"{where}: the referrers index")
    if doc.get("mediaType", INDEX_TYPE) != INDEX_TYPE or not isinstance(doc.get("manifests", []), list):
        raise TinyrelError("oci/untrusted-response", f"{where}: the referrers index is not an OCI image index")
    return [descriptor(m, where) for m in doc.get("manifests", [])[:MAX_LAYERS]]
