"""Typed, line-aware access to a release spec's TOML document: every error names file and line.

TOML parsers return values without positions, so the reader indexes the table headers of the
source text once and finds a key's line within its table (the k-th ``[[evals]]`` and so on).
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinyrel.findings import TinyrelError

# The keys each table of a spec may hold; anything else is reported with a "did you mean".
KEYS: dict[str, set[str]] = {
    "": {"schema", "release", "weights", "distribution", "routing", "evals", "context", "blockers", "provenance",
         "base", "variants"},
    "release": {
        "name", "version", "base_model", "license", "summary", "domain", "pipeline_tag", "stand_in", "require_records",
        "not_eval_claims",
    },
    "weights": {"source", "artifact_size", "kind"},
    "base": {"source", "relation", "allow_restricted"},  # tinyrel.workspace.spec_base
    "distribution": {"mode", "repo_id"},
    "routing": {"routed_only", "domain", "router_guidance", "not_for", "forbidden_copy", "not_eval_claims"},
    "evals": {
        "id", "name", "kind", "tuned", "stock", "dataset", "dataset_id", "dataset_split", "dataset_config",
        "dataset_revision", "task_id", "metric", "readout", "records", "stock_records", "not_eval_claims",
    },
    "context": {"system", "metric", "score", "size", "comparability", "readout", "source", "not_eval_claims"},
    "blockers": {"id", "title", "why", "unblock", "checks", "not_eval_claims"},
    "provenance": {"recipe", "datasets"},  # tinyrel.workspace.provenance
    "variants": {"id", "source", "repo_id", "evals"},  # tinyrel.workspace.spec_variants
    "variants.evals": {"id", "tuned", "records"},
}  # fmt: skip


@dataclass
class SpecNote:
    """A problem the gate reports (the spec still parses): ``code`` is ``spec/unknown-key`` or
    ``spec/placeholder``."""

    code: str
    message: str
    line: int | None


_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\]?")


class _Reader:
    """Typed access to the TOML document with file:line in every error."""

    def __init__(self, path: Path, text: str):
        self.path, self.lines = path, text.splitlines()
        # (section, occurrence, first line index, end line index) for every table header.
        self.tables: list[tuple[str, int, int, int]] = []
        counts: dict[str, int] = {}
        starts = [(i, m.group(2).strip()) for i, line in enumerate(self.lines) if (m := _HEADER.match(line))]
        for n, (start, name) in enumerate(starts):
            end = starts[n + 1][0] if n + 1 < len(starts) else len(self.lines)
            self.tables.append((name, counts.get(name, 0), start, end))
            counts[name] = counts.get(name, 0) + 1
        first = starts[0][0] if starts else len(self.lines)
        self.tables.insert(0, ("", 0, -1, first))

    def _range(self, section: str, index: int) -> tuple[int, int] | None:
        return next(((s, e) for name, i, s, e in self.tables if name == section and i == index), None)

    def line_of(self, key: str = "", section: str = "", index: int = 0) -> int | None:
        span = self._range(section, index)
        if span is None:
            return None
        start, end = span
        if not key:
            return start + 1 if start >= 0 else None
        pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
        for i in range(start + 1, end):
            if pattern.match(self.lines[i]):
                return i + 1
        return start + 1 if start >= 0 else None

    def fail(self, message: str, key: str = "", section: str = "", index: int = 0) -> TinyrelError:
        return TinyrelError("spec/invalid", message, path=str(self.path), line=self.line_of(key, section, index))

    def get(
        self,
        table: dict[str, Any],
        key: str,
        kind: type | tuple[type, ...],
        section: str,
        default: Any = ...,
        index: int = 0,
    ) -> Any:
        arrays = ("evals", "context", "blockers", "variants", "variants.evals")
        where = f"[{section}]" if section not in arrays else f"[[{section}]] #{index + 1}"
        if key not in table:
            if default is ...:
                raise self.fail(f"{where} is missing '{key}'", section=section, index=index)
            return default
        value = table[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise self.fail(f"'{key}' in {where} must be {getattr(kind, '__name__', kind)}", key, section, index)
        return value

    def text_list(self, table: dict[str, Any], key: str, section: str, default: Any, index: int = 0) -> list[str]:
        value = self.get(table, key, list, section, default, index)
        if not all(isinstance(v, str) for v in value):
            raise self.fail(f"'{key}' in [{section}] must be a list of strings", key, section, index)
        return list(value)

    def choice(self, table: dict[str, Any], key: str, options: tuple[str, ...], section: str, index: int = 0) -> str:
        value = self.get(table, key, str, section, index=index)
        if value not in options:
            message = f"'{key}' in [{section}] must be one of {', '.join(options)} (got {value!r})"
            raise self.fail(message, key, section, index)
        return value

    def score(self, table: dict[str, Any], key: str, index: int, required: bool) -> float | None:
        value = self.get(table, key, float, "evals", ... if required else None, index)
        if value is not None and not (math.isfinite(value) and 0.0 <= value <= 1.0):
            raise self.fail(f"'{key}' must be a finite fraction between 0 and 1 (got {value!r})", key, "evals", index)
        return value

    def marks(self, table: dict[str, Any], section: str, index: int = 0) -> list[str]:
        """``not_eval_claims``: phrases of this table's prose whose numbers are not claims about an eval
        (see ``tinyrel.policy.prose_claims``); each must hold a number, or it could mark nothing."""
        value = self.text_list(table, "not_eval_claims", section, [], index)
        for phrase in value:
            if not any(ch.isdigit() for ch in phrase):
                raise self.fail(f"not_eval_claims entry {phrase!r} holds no number", "not_eval_claims", section, index)
        return value

    def unknown_keys(self, table: dict[str, Any], section: str, index: int = 0) -> list[SpecNote]:
        notes = []
        allowed = KEYS[section]
        for key in table:
            if key in allowed:
                continue
            close = difflib.get_close_matches(key, sorted(allowed), n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else f"; known keys: {', '.join(sorted(allowed))}"
            where = f"[{section}]" if section else "the top level"
            notes.append(SpecNote("spec/unknown-key", f"unknown key '{key}' in {where}{hint}",
                                  self.line_of(key, section, index)))  # fmt: skip
        return notes
