"""Per-item eval records: the evidence behind every number on the card.

Two formats, both outside input and read defensively (size-capped, every problem a finding with
file and line, never a traceback):

- **JSONL**, one object per item: ``{"id": "q17", "passed": true}`` or ``{"id": "q17", "score": 0.5}``;
- **inspect-ai logs** (``.eval`` and ``.json``), read with inspect-ai's own reader: each sample's
  score under the log's scorer (``C``/``I`` → 1/0, numbers as they are; with several scorers the
  first is used and a finding says which).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from tinyrel.findings import Report, TinyrelError
from tinyrel.safe_io import checked_relpath, read_small

MAX_RECORDS_BYTES = 256 * 1024 * 1024
_LETTER_SCORES = {"C": 1.0, "I": 0.0, "P": 0.5, "N": 0.0}


@dataclass
class Records:
    """Item id → score in [0, 1], read from ``path`` (relative to the workspace)."""

    path: str
    scores: dict[str, float] = field(default_factory=dict)
    scorer: str | None = None


def read_records(root: Path, rel: str, report: Report) -> Records | None:
    """Read one records file; problems become findings (``evals/...``) and ``None``."""
    try:
        rel = checked_relpath(rel)
    except ValueError as exc:
        report.error("evals/records-path", str(exc), rel)
        return None
    path = root / rel
    if not path.is_file():
        report.error("evals/records-missing", "the records file does not exist", rel)
        return None
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        records = _read_jsonl(path, rel, report)
    elif suffix in (".eval", ".json"):
        records = _read_inspect(path, rel, report)
    else:
        report.error("evals/records-format", "unknown records format: use .jsonl or an inspect-ai log (.eval, .json)",
                     rel)  # fmt: skip
        return None
    if records is not None and not records.scores:
        report.error("evals/records-empty", "the records file holds no items", rel)
        return None
    return records


def _score(value: object) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float) and math.isfinite(value) and 0.0 <= value <= 1.0:
        return float(value)
    if isinstance(value, str) and value in _LETTER_SCORES:
        return _LETTER_SCORES[value]
    return None


def _read_jsonl(path: Path, rel: str, report: Report) -> Records | None:
    try:
        text = read_small(path, MAX_RECORDS_BYTES)
    except (TinyrelError, OSError, UnicodeDecodeError) as exc:
        report.error("evals/records-unreadable", getattr(exc, "message", str(exc)), rel)
        return None
    records = Records(rel)
    before = len(report.errors)
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except (ValueError, RecursionError):
            report.error("evals/records-invalid", "not a JSON object", rel, number)
            continue
        key = item.get("id") if isinstance(item, dict) else None
        if not isinstance(key, str | int) or isinstance(key, bool):
            report.error("evals/records-invalid", "each line needs an 'id' (string or integer)", rel, number)
            continue
        value = item["passed"] if isinstance(item.get("passed"), bool) else item.get("score")
        score = None if isinstance(value, str) else _score(value)
        if score is None:
            report.error("evals/records-invalid", "each line needs 'passed' (true/false) or 'score' (0..1)", rel,
                         number)  # fmt: skip
            continue
        key = str(item["id"])
        if key in records.scores:
            report.error("evals/duplicate-item", f"item {key!r} appears twice", rel, number)
            continue
        records.scores[key] = score
    return records if len(report.errors) == before else None


def _read_inspect(path: Path, rel: str, report: Report) -> Records | None:
    try:
        from inspect_ai.log import read_eval_log
    except ImportError:
        needs = "reading inspect-ai logs needs inspect-ai: pip install 'tinyrel[inspect]'"
        report.error("evals/inspect-missing", needs, rel)
        return None
    if path.stat().st_size > MAX_RECORDS_BYTES:
        report.error("evals/records-unreadable", f"more than the {MAX_RECORDS_BYTES:,} bytes allowed", rel)
        return None
    try:
        log = read_eval_log(str(path))
    except Exception as exc:  # noqa: BLE001 - inspect-ai raises many types for a malformed log
        report.error("evals/records-unreadable", f"not a readable inspect-ai log: {type(exc).__name__}", rel)
        return None
    records = Records(rel)
    before = len(report.errors)
    for sample in log.samples or []:
        scores = sample.scores or {}
        if not scores:
            report.error("evals/records-invalid", f"sample {sample.id!r} has no score", rel)
            continue
        name = sorted(scores)[0] if records.scorer is None else records.scorer
        records.scorer = records.scorer or name
        score = _score(scores[name].value) if name in scores else None
        if score is None:
            report.error("evals/records-invalid", f"sample {sample.id!r}: score {scores.get(name)!r} is not pass/fail "
                         "or 0..1", rel)  # fmt: skip
            continue
        key = str(sample.id) if (sample.epoch or 1) == 1 else f"{sample.id}#{sample.epoch}"
        if key in records.scores:
            report.error("evals/duplicate-item", f"sample {key!r} appears twice", rel)
            continue
        records.scores[key] = score
    scorers = {n for s in log.samples or [] for n in (s.scores or {})}
    if len(scorers) > 1:
        report.info("evals/scorer", f"the log has scorers {sorted(scorers)}; using {records.scorer!r}", rel)
    return records if len(report.errors) == before else None
