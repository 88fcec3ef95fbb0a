"""The release spec (``release/<name>.toml``): identity, weights, distribution, routing, evals,
competitive context and blockers — the single source the card and the gate are built from.

Malformed specs raise ``TinyrelError`` with the file and line, never a traceback.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinyrel.findings import TinyrelError

SCHEMA = "tinyrel.release/1"
DISTRIBUTION_MODES = ("undecided", "metadata", "weights")
EVAL_KINDS = ("in-domain", "heldout", "breadth")
COMPARABILITY = ("direct", "directional")
DEFAULT_FORBIDDEN = [
    r"general[- ]purpose",
    r"all[- ]purpose",
    r"use (it )?for anything",
    r"drop-in replacement for",
    r"works for any task",
]


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


@dataclass
class Blocker:
    id: str
    title: str
    why: str
    unblock: str
    checks: list[str]


@dataclass
class Routing:
    routed_only: bool
    domain: str
    router_guidance: str
    not_for: list[str]
    forbidden_copy: list[str] = field(default_factory=lambda: list(DEFAULT_FORBIDDEN))


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
    raw: dict[str, Any] = field(default_factory=dict)

    def evals_of(self, kind: str) -> list[Eval]:
        return [e for e in self.evals if e.kind == kind]


class _Reader:
    """Typed access to the TOML document with file:line in every error."""

    def __init__(self, path: Path, text: str):
        self.path, self.lines = path, text.splitlines()

    def line_of(self, key: str, section: str | None = None) -> int | None:
        start = 0
        if section:
            header = re.compile(rf"^\s*\[+\s*{re.escape(section)}\s*\]+")
            start = next((i for i, line in enumerate(self.lines) if header.match(line)), 0)
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
        for i in range(start, len(self.lines)):
            if pattern.match(self.lines[i]):
                return i + 1
        return start + 1 if section else None

    def fail(self, message: str, key: str = "", section: str | None = None) -> TinyrelError:
        line = self.line_of(key, section) if key else (self.line_of("", section) if section else None)
        where = f"{self.path}:{line}" if line else str(self.path)
        return TinyrelError("spec/invalid", f"{where}: {message}", path=str(self.path))

    def get(
        self, table: dict[str, Any], key: str, kind: type | tuple[type, ...], section: str, default: Any = ...
    ) -> Any:
        if key not in table:
            if default is ...:
                raise self.fail(f"[{section}] is missing '{key}'", section=section)
            return default
        value = table[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise self.fail(f"'{key}' in [{section}] must be {getattr(kind, '__name__', kind)}", key, section)
        return value

    def choice(
        self, table: dict[str, Any], key: str, options: tuple[str, ...], section: str, default: Any = ...
    ) -> str:
        value = self.get(table, key, str, section, default)
        if value not in options:
            raise self.fail(f"'{key}' in [{section}] must be one of {', '.join(options)} (got {value!r})", key, section)
        return value


def load_spec(path: Path) -> ReleaseSpec:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TinyrelError("spec/not-found", f"{path} does not exist", usage=True) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TinyrelError("spec/invalid", f"{path}: {exc}") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        where = f"{path}:{match.group(1)}" if match else str(path)
        raise TinyrelError("spec/syntax", f"{where}: {exc}", path=str(path)) from None
    return parse_spec(path, doc, _Reader(path, text))


def _table(r: _Reader, doc: dict[str, Any], name: str) -> dict[str, Any]:
    value = doc.get(name)
    if not isinstance(value, dict):
        raise r.fail(f"missing table [{name}]")
    return value


def _array(r: _Reader, doc: dict[str, Any], name: str) -> list[dict[str, Any]]:
    value = doc.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise r.fail(f"'{name}' must be an array of tables ([[{name}]])", name)
    return value


def parse_spec(path: Path, doc: dict[str, Any], r: _Reader) -> ReleaseSpec:
    if doc.get("schema") != SCHEMA:
        raise r.fail(f"schema must be {SCHEMA!r}", "schema")
    rel, weights = _table(r, doc, "release"), _table(r, doc, "weights")
    dist, routing = _table(r, doc, "distribution"), _table(r, doc, "routing")
    evals = [
        Eval(
            id=r.get(e, "id", str, "evals"),
            name=r.get(e, "name", str, "evals"),
            kind=r.choice(e, "kind", EVAL_KINDS, "evals"),
            tuned=r.get(e, "tuned", float, "evals"),
            stock=r.get(e, "stock", float, "evals", None),
            dataset=r.get(e, "dataset", str, "evals", ""),
            metric=r.get(e, "metric", str, "evals", "accuracy"),
            readout=r.get(e, "readout", str, "evals", ""),
        )
        for e in _array(r, doc, "evals")
    ]
    context = [
        ContextRow(
            system=r.get(c, "system", str, "context"),
            metric=r.get(c, "metric", str, "context"),
            score=r.get(c, "score", str, "context"),
            size=r.get(c, "size", str, "context", ""),
            comparability=r.choice(c, "comparability", COMPARABILITY, "context"),
            readout=r.get(c, "readout", str, "context", ""),
            source=r.get(c, "source", str, "context", ""),
        )
        for c in _array(r, doc, "context")
    ]
    blockers = [
        Blocker(
            id=r.get(b, "id", str, "blockers"),
            title=r.get(b, "title", str, "blockers"),
            why=r.get(b, "why", str, "blockers"),
            unblock=r.get(b, "unblock", str, "blockers"),
            checks=r.get(b, "checks", list, "blockers"),
        )
        for b in _array(r, doc, "blockers")
    ]
    from tinyrel.policy.checks import CHECKS

    for blocker in blockers:
        unknown = [c for c in blocker.checks if c not in CHECKS]
        if unknown:
            raise r.fail(
                f"blocker {blocker.id!r} names unknown checks {unknown}; known: {sorted(CHECKS)}", "checks", "blockers"
            )
    return ReleaseSpec(
        path=path,
        name=r.get(rel, "name", str, "release"),
        version=r.get(rel, "version", str, "release"),
        base_model=r.get(rel, "base_model", str, "release"),
        license=r.get(rel, "license", str, "release"),
        summary=r.get(rel, "summary", str, "release"),
        domain=r.get(rel, "domain", str, "release"),
        pipeline_tag=r.get(rel, "pipeline_tag", str, "release", "text-generation"),
        stand_in=r.get(rel, "stand_in", str, "release", ""),
        weights_source=r.get(weights, "source", str, "weights"),
        artifact_size=r.get(weights, "artifact_size", str, "weights", ""),
        distribution_mode=r.choice(dist, "mode", DISTRIBUTION_MODES, "distribution"),
        repo_id=r.get(dist, "repo_id", str, "distribution", None),
        routing=Routing(
            routed_only=r.get(routing, "routed_only", bool, "routing"),
            domain=r.get(routing, "domain", str, "routing"),
            router_guidance=r.get(routing, "router_guidance", str, "routing"),
            not_for=r.get(routing, "not_for", list, "routing", []),
            forbidden_copy=r.get(routing, "forbidden_copy", list, "routing", list(DEFAULT_FORBIDDEN)),
        ),
        evals=evals,
        context=context,
        blockers=blockers,
        raw=doc,
    )
