"""``[[variants]]``: quantized conversions released beside the spec's weights, each its own Hub repo.

    [[variants]]
    id = "4bit"                           # names the repo (ORG/NAME-4bit), the lock entry and the manifest
    source = "weights-4bit"               # written by mlx_lm.convert -q; a directory, hf-cache:// or hf://
    repo_id = "my-org/my-specialist-4bit" # optional: default ORG/NAME-<id> from [distribution] repo_id

    [[variants.evals]]
    id = "breadth"                        # an eval of the spec's [[evals]]: the same items, this variant's results
    tuned = 0.418
    records = "evals/breadth.4bit.jsonl"

A variant belongs to the release it converts: its lock entry is ``<release>.<id>``, its manifest
``manifests/<release>.<id>.json``, and ``variant_spec`` derives the spec that publishes it (the
parent's text and evals, the variant's weights, repo and lock entry, and ``variant`` saying whose
conversion it is).  Parsed as strictly as the rest of the spec: every malformed value is
``spec/invalid`` with its line.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from tinyrel.findings import TinyrelError
from tinyrel.workspace._spec_reader import SpecNote, _Reader

# A variant id names a repo suffix, a lock entry and files: short, lower case, no dots (the lock
# entry ``<release>.<id>`` stays readable).
VARIANT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
SECTION, EVALS = "variants", "variants.evals"


@dataclass
class VariantEval:
    """One of the spec's evals, run on the variant: the same items, the variant's per-item results."""

    id: str  # the parent eval's id
    tuned: float
    records: str | None = None
    lines: dict[str, int] = field(default_factory=dict)

    def release_path(self, variant: str) -> str | None:
        """Where the records ship in every release of the tree: ``evals/<eval>.<variant><suffix>``."""
        return f"evals/{self.id}.{variant}{PurePosixPath(self.records).suffix}" if self.records else None


@dataclass
class Variant:
    id: str
    source: str
    repo_id: str | None  # as the spec gives it, or ORG/NAME-<id> from [distribution]; None when neither names one
    explicit_repo: bool = False
    evals: list[VariantEval] = field(default_factory=list)
    lines: dict[str, int] = field(default_factory=dict)

    def entry(self, release: str) -> str:
        """The variant's lock entry and manifest name."""
        return f"{release}.{self.id}"

    def eval(self, eval_id: str) -> VariantEval | None:
        return next((e for e in self.evals if e.id == eval_id), None)


@dataclass
class VariantOf:
    """Set on a spec derived by ``variant_spec``: it releases ``variant`` of the release ``parent``,
    whose weights are (or will be) in ``parent_repo`` at tag ``v<version>``."""

    variant: Variant
    parent: Any  # the parent's ReleaseSpec
    parent_repo: str | None


def _repo(r: _Reader, value: str, key: str, index: int) -> str:
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(value)
    except HFValidationError:
        raise r.fail(f"'{key}' must be a Hub repo id ORG/NAME (got {value!r})", key, SECTION, index) from None
    if value.count("/") != 1:
        raise r.fail(f"'{key}' must be a Hub repo id ORG/NAME (got {value!r})", key, SECTION, index)
    return value


def _tables(r: _Reader, doc: dict[str, Any], key: str, header: str, section: str = "", index: int = 0
            ) -> list[dict[str, Any]]:  # fmt: skip
    """``doc[key]`` as an array of tables (``[[header]]``); ``section``/``index``: the table holding ``key``."""
    value = doc.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise r.fail(f"'{key}' must be an array of tables ([[{header}]])", key, section, index)
    return value


def parse_variants(r: _Reader, doc: dict[str, Any], spec: Any) -> list[Variant]:
    """The spec's ``[[variants]]`` (``spec``: the parsed ReleaseSpec, for its evals and repo)."""
    variants: list[Variant] = []
    eval_ids = {e.id for e in spec.evals}
    seen_evals = 0  # [[variants.evals]] are counted across variants: that is how the reader finds their lines
    for i, table in enumerate(_tables(r, doc, SECTION, SECTION)):
        vid = r.get(table, "id", str, SECTION, index=i)
        if not VARIANT_ID.match(vid):
            raise r.fail(f"variant id {vid!r} must be [a-z0-9][a-z0-9_-]* (at most 32 characters): it names a repo, "
                         "a lock entry and files", "id", SECTION, i)  # fmt: skip
        if any(v.id == vid for v in variants):
            raise r.fail(f"variant id {vid!r} is used twice", "id", SECTION, i)
        explicit = r.get(table, "repo_id", str, SECTION, None, i)
        repo = _repo(r, explicit, "repo_id", i) if explicit is not None else None
        if repo is None and spec.repo_id is not None:
            repo = f"{spec.repo_id}-{vid}"
            if len(repo.split("/")[1]) > 96:
                raise r.fail(f"the default repo {repo!r} is too long: give this variant a repo_id", "id", SECTION, i)
        evals: list[VariantEval] = []
        for raw in _tables(r, table, "evals", EVALS, SECTION, i):
            g = seen_evals
            seen_evals += 1
            eid = r.get(raw, "id", str, EVALS, index=g)
            if eid not in eval_ids:
                raise r.fail(f"variant {vid!r}: eval {eid!r} is not one of the spec's [[evals]] "
                             f"({sorted(eval_ids)}); a variant is measured on its parent's evals", "id", EVALS,
                             g)  # fmt: skip
            if any(e.id == eid for e in evals):
                raise r.fail(f"variant {vid!r}: eval {eid!r} is listed twice", "id", EVALS, g)
            tuned = r.get(raw, "tuned", float, EVALS, index=g)
            if not (math.isfinite(tuned) and 0.0 <= tuned <= 1.0):
                raise r.fail(f"'tuned' must be a finite fraction between 0 and 1 (got {tuned!r})", "tuned", EVALS, g)
            lines = {key: r.line_of(key, EVALS, g) or 0 for key in ("id", "tuned", "records")}
            evals.append(VariantEval(eid, tuned, r.get(raw, "records", str, EVALS, None, g), lines))
        lines = {key: r.line_of(key, SECTION, i) or 0 for key in ("id", "source", "repo_id")}
        source = r.get(table, "source", str, SECTION, index=i)
        variants.append(Variant(vid, source, repo, explicit is not None, evals, lines))
    repos = [v.repo_id for v in variants if v.repo_id]
    for i, variant in enumerate(variants):
        if variant.repo_id is not None and (variant.repo_id == spec.repo_id or repos.count(variant.repo_id) > 1):
            raise r.fail(f"variant {variant.id!r}: repo {variant.repo_id} is also another release's repo; every "
                         "variant is its own repo", "repo_id", SECTION, i)  # fmt: skip
    return variants


def variant_notes(r: _Reader, doc: dict[str, Any]) -> list[SpecNote]:
    """Unknown keys in ``[[variants]]`` and ``[[variants.evals]]``, and placeholder repos."""
    notes: list[SpecNote] = []
    seen = 0
    for i, table in enumerate(doc.get(SECTION, [])):
        notes += r.unknown_keys(table, SECTION, i)
        repo = table.get("repo_id")
        if isinstance(repo, str) and repo.startswith("ORG/"):
            notes.append(SpecNote("spec/placeholder", f"[[variants]] repo_id still holds the placeholder {repo!r}",
                                  r.line_of("repo_id", SECTION, i)))  # fmt: skip
        for raw in table.get("evals", []):
            notes += r.unknown_keys(raw, EVALS, seen)
            seen += 1
    return notes


def variant_repo(spec: Any, variant: Variant, parent_repo: str | None) -> str | None:
    """The repo a variant is published to when its parent goes to ``parent_repo``: the spec's own
    choice when the parent goes where the spec says, else ``<parent_repo>-<id>`` (a staging copy of
    the parent under ``--allow-other-repo`` takes its variants along, never to the real repos)."""
    if parent_repo is None or parent_repo == spec.repo_id:
        return variant.repo_id
    return f"{parent_repo}-{variant.id}"


def variant_spec(spec: Any, variant_id: str, parent_repo: str | None = None) -> Any:
    """The spec that releases one variant: the parent's text and evals (the card states them as the
    parent's), the variant's weights source, repo and lock entry, and ``variant`` naming the parent."""
    variant = next((v for v in spec.variants if v.id == variant_id), None)
    if variant is None:
        known = [v.id for v in spec.variants]
        raise TinyrelError("usage/variant", f"the spec has no variant {variant_id!r} (variants: {known})", usage=True)
    parent_repo = parent_repo or spec.repo_id
    lines = dict(spec.lines)
    lines["weights.source"] = variant.lines.get("source", 0)
    if variant.explicit_repo:
        lines["distribution.repo_id"] = variant.lines.get("repo_id", 0)
    return dataclasses.replace(
        spec,
        name=variant.entry(spec.name),
        weights_source=variant.source,
        artifact_size=f"the {variant.id} variant's files below (its size on disk is in the Variants table)",
        repo_id=variant_repo(spec, variant, parent_repo),
        lines=lines,
        variant=VariantOf(variant, spec, parent_repo),
    )


def public_variant_sources(doc: dict[str, Any]) -> None:
    """In a published spec snapshot: a variant's local source (a path of the publisher's machine) is
    replaced as ``[weights] source`` is; Hub and cache references stay."""
    for table in doc.get(SECTION, []) if isinstance(doc.get(SECTION), list) else []:
        source = table.get("source") if isinstance(table, dict) else None
        if isinstance(source, str) and not source.startswith(("hf://", "hf-cache://")):
            table["source"] = "redacted:local-path"
