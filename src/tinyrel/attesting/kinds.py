"""The attestations a signed release carries: kinds, files and in-toto predicate types, defined once
for the builder (``tinyrel.attesting.build``) and the verifier (``tinyrel.verifying.attestations``).

    attestations/provenance.sigstore.json   https://slsa.dev/provenance/v1
    attestations/eval-<id>.sigstore.json    https://in-toto.io/attestation/test-result/v0.1 (one per eval with records)
    attestations/gate.sigstore.json         https://slsa.dev/verification_summary/v1
    attestations/sbom.sigstore.json         https://cyclonedx.org/bom (its predicate is sbom.cdx.json)
    attestations/sbom.cdx.json              the CycloneDX 1.6 ML-BOM itself, for tools that read BOMs
"""

from __future__ import annotations

from collections.abc import Iterable

from tinyrel.findings import TinyrelError
from tinyrel.release_files import ATTESTATIONS_DIR

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
PREDICATE_TYPES = {
    "provenance": "https://slsa.dev/provenance/v1",
    "evals": "https://in-toto.io/attestation/test-result/v0.1",
    "gate": "https://slsa.dev/verification_summary/v1",
    "sbom": "https://cyclonedx.org/bom",
}
KINDS = tuple(PREDICATE_TYPES)
BOM_FILE = f"{ATTESTATIONS_DIR}/sbom.cdx.json"
BUNDLE_SUFFIX = ".sigstore.json"
EVAL_PREFIX = "eval-"

# The project's home, and what its statements' URIs are built from.  The build type is documented
# in the README's "Attestations" section.
TINYREL_URI = "https://github.com/tinyrel/tinyrel"
BUILD_TYPE = f"{TINYREL_URI}/blob/main/README.md#attestations"
GATE_EXTENSION = f"{TINYREL_URI}#gate"  # the VSA extension field (a URI, as the VSA spec asks) with the blockers
RESULTS = ("PASSED", "WARNED", "FAILED")

# A statement is kilobytes; one listing every item of a very large eval is megabytes.  Base64 in
# the bundle adds a third: 8 MiB keeps a bundle under the verifier's 16 MiB cap.
MAX_STATEMENT_BYTES = 8 * 1024 * 1024


def bundle_path(kind: str, eval_id: str | None = None) -> str:
    """Where a statement of ``kind`` lies in a release (``eval_id`` for the evals' statements)."""
    name = f"{EVAL_PREFIX}{eval_id}" if kind == "evals" else kind
    return f"{ATTESTATIONS_DIR}/{name}{BUNDLE_SUFFIX}"


def kind_of(path: str) -> tuple[str, str | None] | None:
    """The kind (and eval id) of a bundle path in a release, or ``None`` for any other file."""
    folder, _, name = path.partition("/")
    if folder != ATTESTATIONS_DIR or "/" in name or not name.endswith(BUNDLE_SUFFIX):
        return None
    stem = name.removesuffix(BUNDLE_SUFFIX)
    if stem.startswith(EVAL_PREFIX) and len(stem) > len(EVAL_PREFIX):
        return "evals", stem.removeprefix(EVAL_PREFIX)
    return (stem, None) if stem in KINDS and stem != "evals" else None


def required_kinds(values: Iterable[str]) -> tuple[str, ...]:
    """``--require provenance,evals`` (repeatable, comma-separated; ``all`` for every kind), checked."""
    kinds: list[str] = []
    for value in values:
        for item in str(value).split(","):
            item = item.strip()
            if not item:
                continue
            if item == "all":
                kinds += KINDS
                continue
            if item not in KINDS:
                raise TinyrelError("usage/require", f"--require names {item!r}; the statements are "
                                   f"{', '.join(KINDS)} (or all)", usage=True)  # fmt: skip
            kinds.append(item)
    return tuple(dict.fromkeys(kinds))
