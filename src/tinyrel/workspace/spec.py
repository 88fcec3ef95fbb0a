"""The release spec (``release/<name>.toml``): identity, weights, distribution, routing, evals,
competitive context and blockers — the single source the card and the gate are built from.

A spec is outside input (it arrives in pull requests), so parsing is strict: every value is
type-checked, scores must be finite fractions, names must be file-name-safe slugs, regexes must
compile, and a malformed spec raises ``TinyrelError`` with the file and line, never a traceback.
Softer problems that a reviewer must still see — unknown keys (typos such as ``artifact_sise``)
and placeholder text left from ``tinyrel init`` — are collected as ``notes`` for the gate.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinyrel.findings import TinyrelError
from tinyrel.workspace._spec_reader import SpecNote, _Reader
from tinyrel.workspace.provenance import ProvenanceSpec, parse_provenance
from tinyrel.workspace.spec_base import BaseSpec, base_notes, read_base
from tinyrel.workspace.spec_variants import Variant, VariantOf, parse_variants, variant_notes

SCHEMA = "tinyrel.release/1"
DISTRIBUTION_MODES = ("undecided", "metadata", "weights")
EVAL_KINDS = ("in-domain", "heldout", "breadth")
COMPARABILITY = ("direct", "directional")
SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+_-]*$")
DEFAULT_FORBIDDEN = [
    r"general[- ]purpose",
    r"all[- ]purpose",
    r"use (it )?for anything",
    r"drop-in replacement for",
    r"works for any task",
]
# Text that ``tinyrel init`` writes into a new spec for the author to replace.
PLACEHOLDERS = {
    "the domain this model was tuned for",
    "Describe which requests a router should send to this model.",
    "requests outside the tuned domain",
    "the base model's license, as a Hub license id",  # init found no license to read (scaffold/license.py)
}


# Keys whose spec line findings name (the prose keys for tinyrel.policy.prose_claims).
EVAL_LINES = ("tuned", "stock", "records", "stock_records", "readout", "dataset", "not_eval_claims")
CONTEXT_LINES = ("system", "metric", "score", "size", "readout", "not_eval_claims")
BLOCKER_LINES = ("title", "why", "unblock", "not_eval_claims")
PROSE_LINES = {
    "release": ("summary", "stand_in", "not_eval_claims"),
    "routing": ("domain", "router_guidance", "not_for", "not_eval_claims"),
}


def is_slug(name: str) -> bool:
    return bool(SLUG.match(name)) and len(name) <= 96


@dataclass
class Eval:
    id: str
    name: str
    kind: str
    tuned: float
    stock: float | None = None
    dataset: str = ""
    metric: str = "accuracy"
    readout: str = ""
    dataset_id: str | None = None  # a Hub dataset id, for the model-index
    dataset_split: str | None = None
    dataset_config: str | None = None
    dataset_revision: str | None = None
    task_id: str | None = None  # the benchmark's task, for .eval_results
    records: str | None = None  # per-item records of the tuned model (workspace-relative)
    stock_records: str | None = None  # per-item records of the stock model
    not_eval_claims: list[str] = field(default_factory=list)  # prose phrases whose numbers are not eval claims
    lines: dict[str, int] = field(default_factory=dict)  # key -> line in the spec, for findings

    @property
    def delta(self) -> float | None:
        return None if self.stock is None else round(self.tuned - self.stock, 3)


@dataclass
class ContextRow:
    system: str
    metric: str
    score: str
    size: str
    comparability: str
    readout: str
    source: str = ""
    not_eval_claims: list[str] = field(default_factory=list)
    lines: dict[str, int] = field(default_factory=dict)  # key -> line in the spec, for findings


@dataclass
class Blocker:
    id: str
    title: str
    why: str
    unblock: str
    checks: list[str]
    line: int | None = None
    not_eval_claims: list[str] = field(default_factory=list)
    lines: dict[str, int] = field(default_factory=dict)  # key -> line in the spec, for findings


@dataclass
class Routing:
    routed_only: bool
    domain: str
    router_guidance: str
    not_for: list[str]
    forbidden_copy: list[str] = field(default_factory=lambda: list(DEFAULT_FORBIDDEN))
    not_eval_claims: list[str] = field(default_factory=list)


@dataclass
class ReleaseSpec:
    path: Path
    name: str
    version: str
    base_model: str
    license: str
    summary: str
    domain: str
    pipeline_tag: str
    weights_source: str
    artifact_size: str
    distribution_mode: str
    repo_id: str | None
    routing: Routing
    evals: list[Eval]
    context: list[ContextRow]
    blockers: list[Blocker]
    stand_in: str = ""
    require_records: bool = False  # an eval without per-item records is an error, not a warning
    not_eval_claims: list[str] = field(default_factory=list)  # [release] phrases whose numbers are not eval claims
    notes: list[SpecNote] = field(default_factory=list)
    provenance: ProvenanceSpec = field(default_factory=ProvenanceSpec)  # [provenance]: recipe and datasets
    lines: dict[str, int] = field(default_factory=dict)  # "section.key" -> line, for findings
    text_lines: list[str] = field(default_factory=list, repr=False)  # the spec's source, to place findings
    base: BaseSpec | None = None  # [base]: where the base model is and how this release derives from it
    weights_kind: str = "model"  # [weights] kind: "model", or "adapter" (a LoRA/DoRA adapter for the base)
    variants: list[Variant] = field(default_factory=list)  # [[variants]]: quantized conversions (spec_variants)
    variant: VariantOf | None = None  # set on a spec derived to release one variant (spec_variants.variant_spec)

    def evals_of(self, kind: str) -> list[Eval]:
        return [e for e in self.evals if e.kind == kind]


MAX_SPEC_BYTES = 4 * 1024 * 1024  # a spec is kilobytes


def load_spec(path: Path) -> ReleaseSpec:
    from tinyrel.safe_io import read_small

    try:
        text = read_small(path, MAX_SPEC_BYTES)  # a FIFO or a device is refused, never waited on
    except TinyrelError as exc:
        raise TinyrelError("spec/invalid", f"unreadable: {exc.message}", path=str(path)) from None
    except FileNotFoundError:
        raise TinyrelError("spec/not-found", "the spec does not exist", usage=True, path=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TinyrelError("spec/invalid", f"unreadable: {exc}", path=str(path)) from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        line = int(match.group(1)) if match else None
        raise TinyrelError("spec/syntax", str(exc), path=str(path), line=line) from None
    return parse_spec(path, doc, _Reader(path, text))


def _table(r: _Reader, doc: dict[str, Any], name: str) -> dict[str, Any]:
    value = doc.get(name)
    if not isinstance(value, dict):
        raise r.fail(f"missing table [{name}]", section=name)
    return value


def _array(r: _Reader, doc: dict[str, Any], name: str) -> list[dict[str, Any]]:
    value = doc.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise r.fail(f"'{name}' must be an array of tables ([[{name}]])", name)
    return value


def _repo_id(r: _Reader, value: str | None, key: str, section: str) -> str | None:
    if value is None:
        return None
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(value)
    except HFValidationError:
        raise r.fail(f"'{key}' must be a Hub repo id ORG/NAME (got {value!r})", key, section) from None
    if "/" not in value:
        raise r.fail(f"'{key}' must be a Hub repo id ORG/NAME (got {value!r})", key, section)
    return value


def _patterns(r: _Reader, routing: dict[str, Any]) -> list[str]:
    import regex

    patterns = r.text_list(routing, "forbidden_copy", "routing", list(DEFAULT_FORBIDDEN))
    for pattern in patterns:
        try:
            regex.compile(pattern)
        except regex.error as exc:
            raise r.fail(f"forbidden_copy pattern {pattern!r} is not a valid regex: {exc}", "forbidden_copy",
                         "routing") from None  # fmt: skip
    return patterns


def _evals(r: _Reader, doc: dict[str, Any]) -> list[Eval]:
    evals = []
    for i, e in enumerate(_array(r, doc, "evals")):
        evals.append(
            Eval(
                id=r.get(e, "id", str, "evals", index=i),
                name=r.get(e, "name", str, "evals", index=i),
                kind=r.choice(e, "kind", EVAL_KINDS, "evals", i),
                tuned=r.score(e, "tuned", i, required=True),  # type: ignore[arg-type]
                stock=r.score(e, "stock", i, required=False),
                dataset=r.get(e, "dataset", str, "evals", "", i),
                metric=r.get(e, "metric", str, "evals", "accuracy", i),
                readout=r.get(e, "readout", str, "evals", "", i),
                dataset_id=r.get(e, "dataset_id", str, "evals", None, i),
                dataset_split=r.get(e, "dataset_split", str, "evals", None, i),
                dataset_config=r.get(e, "dataset_config", str, "evals", None, i),
                dataset_revision=r.get(e, "dataset_revision", str, "evals", None, i),
                task_id=r.get(e, "task_id", str, "evals", None, i),
                records=r.get(e, "records", str, "evals", None, i),
                stock_records=r.get(e, "stock_records", str, "evals", None, i),
                not_eval_claims=r.marks(e, "evals", i),
                lines={key: r.line_of(key, "evals", i) or 0 for key in EVAL_LINES},
            )
        )
        if evals[-1].dataset_id is not None:
            from huggingface_hub.utils import HFValidationError, validate_repo_id

            try:
                validate_repo_id(evals[-1].dataset_id)
            except HFValidationError:
                raise r.fail("'dataset_id' must be a Hub dataset id (ORG/NAME)", "dataset_id", "evals", i) from None
    ids = [e.id for e in evals]
    for i, eid in enumerate(ids):
        if not is_slug(eid):
            raise r.fail(f"eval id {eid!r} must be a slug ([a-z0-9][a-z0-9._-]*): it names the records' files", "id",
                         "evals", i)  # fmt: skip
        if eid in ids[:i]:
            raise r.fail(f"eval id {eid!r} is used twice", "id", "evals", i)
    return evals


def parse_spec(path: Path, doc: dict[str, Any], r: _Reader) -> ReleaseSpec:
    if doc.get("schema") != SCHEMA:
        raise r.fail(f"schema must be {SCHEMA!r}", "schema")
    rel, weights = _table(r, doc, "release"), _table(r, doc, "weights")
    dist, routing = _table(r, doc, "distribution"), _table(r, doc, "routing")
    context = [
        ContextRow(
            system=r.get(c, "system", str, "context", index=i),
            metric=r.get(c, "metric", str, "context", index=i),
            score=r.get(c, "score", str, "context", index=i),
            size=r.get(c, "size", str, "context", "", i),
            comparability=r.choice(c, "comparability", COMPARABILITY, "context", i),
            readout=r.get(c, "readout", str, "context", "", i),
            source=r.get(c, "source", str, "context", "", i),
            not_eval_claims=r.marks(c, "context", i),
            lines={key: r.line_of(key, "context", i) or 0 for key in CONTEXT_LINES},
        )
        for i, c in enumerate(_array(r, doc, "context"))
    ]
    blockers = [
        Blocker(
            id=r.get(b, "id", str, "blockers", index=i),
            title=r.get(b, "title", str, "blockers", index=i),
            why=r.get(b, "why", str, "blockers", index=i),
            unblock=r.get(b, "unblock", str, "blockers", index=i),
            checks=r.text_list(b, "checks", "blockers", ..., i),
            line=r.line_of("checks", "blockers", i),
            not_eval_claims=r.marks(b, "blockers", i),
            lines={key: r.line_of(key, "blockers", i) or 0 for key in BLOCKER_LINES},
        )
        for i, b in enumerate(_array(r, doc, "blockers"))
    ]
    name = r.get(rel, "name", str, "release")
    if not is_slug(name):
        raise r.fail(f"release name {name!r} must be a file-name-safe slug ([a-z0-9][a-z0-9._-]*)", "name", "release")
    if path.stem != name:
        raise r.fail(f"release name {name!r} must match the spec's file name ({path.name})", "name", "release")
    version = r.get(rel, "version", str, "release")
    if not VERSION.match(version):
        raise r.fail(f"version {version!r} must be a tag-safe version such as 0.1.0", "version", "release")
    spec = ReleaseSpec(
        path=path,
        name=name,
        version=version,
        base_model=_repo_id(r, r.get(rel, "base_model", str, "release"), "base_model", "release") or "",
        license=r.get(rel, "license", str, "release"),
        summary=r.get(rel, "summary", str, "release"),
        domain=r.get(rel, "domain", str, "release"),
        pipeline_tag=r.get(rel, "pipeline_tag", str, "release", "text-generation"),
        stand_in=r.get(rel, "stand_in", str, "release", ""),
        require_records=r.get(rel, "require_records", bool, "release", False),
        not_eval_claims=r.marks(rel, "release"),
        weights_source=r.get(weights, "source", str, "weights"),
        artifact_size=r.get(weights, "artifact_size", str, "weights", ""),
        distribution_mode=r.choice(dist, "mode", DISTRIBUTION_MODES, "distribution"),
        repo_id=_repo_id(r, r.get(dist, "repo_id", str, "distribution", None), "repo_id", "distribution"),
        routing=Routing(
            routed_only=r.get(routing, "routed_only", bool, "routing"),
            domain=r.get(routing, "domain", str, "routing"),
            router_guidance=r.get(routing, "router_guidance", str, "routing"),
            not_for=r.text_list(routing, "not_for", "routing", []),
            forbidden_copy=_patterns(r, routing),
            not_eval_claims=r.marks(routing, "routing"),
        ),
        evals=_evals(r, doc),
        context=context,
        blockers=blockers,
    )
    spec.lines = {
        "weights.source": r.line_of("source", "weights") or 0,
        "distribution.repo_id": r.line_of("repo_id", "distribution") or 0,
    }
    for section, keys in PROSE_LINES.items():
        spec.lines.update({f"{section}.{key}": r.line_of(key, section) or 0 for key in keys})
    spec.text_lines = r.lines
    spec.base, spec.weights_kind = read_base(r, doc, spec.base_model)
    spec.variants = parse_variants(r, doc, spec)
    spec.notes = _notes(r, doc) + base_notes(r, doc) + variant_notes(r, doc)
    spec.provenance, provenance_notes = parse_provenance(r, doc)
    spec.notes += provenance_notes
    return spec


def _notes(r: _Reader, doc: dict[str, Any]) -> list[SpecNote]:
    notes = r.unknown_keys(doc, "")
    for section in ("release", "weights", "distribution", "routing"):
        notes += r.unknown_keys(doc[section], section)
    for section in ("evals", "context", "blockers"):
        for i, table in enumerate(doc.get(section, [])):
            notes += r.unknown_keys(table, section, i)
    # Placeholder text from `tinyrel init` must be replaced before a release.
    for section in ("release", "weights", "distribution", "routing"):
        for key, value in doc[section].items():
            values = value if isinstance(value, list) else [value]
            for item in values:
                if isinstance(item, str) and (item in PLACEHOLDERS or item.startswith("ORG/")):
                    notes.append(
                        SpecNote(
                            "spec/placeholder",
                            f"[{section}] {key} still holds the placeholder {item!r} from tinyrel init",
                            r.line_of(key, section),
                        )
                    )
    return notes
