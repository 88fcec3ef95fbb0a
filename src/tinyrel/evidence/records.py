"""Per-item eval records: the evidence behind every number on the card.

Two formats, both outside input and read defensively (size-capped, every problem a finding with
file and line, never a traceback):

- **JSONL**, one object per item: ``{"id": "q17", "passed": true}`` or ``{"id": "q17", "score": 0.5}``;
- **inspect-ai logs** (``.eval`` and ``.json``), read with inspect-ai's own reader once their size
  is known to be safe, and only when the eval ran to completion (``inspect_log``).

A JSON object that names a key twice is refused: ``json`` would keep the last value silently, so
``{"id": "q1", "passed": false, "passed": true}`` would read as a pass that a reviewer reading the
line need not see.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tinyrel.evidence.inspect_log import read_inspect_log
from tinyrel.evidence.scores import MAX_RECORDS_BYTES, Records, score_value, shown
from tinyrel.findings import Report, TinyrelError
from tinyrel.safe_io import checked_relpath, read_small


def read_records(root: Path, rel: str, report: Report) -> Records | None:
    """Read one records file; problems become findings (``evals/...``) and ``None``."""
    try:
        rel = checked_relpath(rel)
    except ValueError as exc:
        report.error("evals/records-path", str(exc), rel)
        return None
    path = root / rel
    if not os.path.lexists(path):
        report.error("evals/records-missing", "the records file does not exist", rel)
        return None
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        records = _read_jsonl(path, rel, report)
    elif suffix in (".eval", ".json"):
        records = read_inspect_log(path, rel, report)
    else:
        report.error("evals/records-format", "unknown records format: use .jsonl or an inspect-ai log (.eval, .json)",
                     rel)  # fmt: skip
        return None
    if records is not None and not records.scores:
        report.error("evals/records-empty", "the records file holds no items", rel)
        return None
    return records


class _DuplicateKey(ValueError):
    """A JSON object names the same key twice."""


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """``object_pairs_hook`` for every object at every depth: a repeated key is an error, not "last wins"."""
    obj: dict[str, object] = {}
    for key, value in pairs:
        if key in obj:
            raise _DuplicateKey(key)
        obj[key] = value
    return obj


def _read_jsonl(path: Path, rel: str, report: Report) -> Records | None:
    try:
        text = read_small(path, MAX_RECORDS_BYTES)
    except TinyrelError as exc:
        code = "evals/records-too-large" if exc.code == "input/too-large" else "evals/records-unreadable"
        report.error(code, exc.message, rel)
        return None
    except (OSError, UnicodeDecodeError) as exc:
        report.error("evals/records-unreadable", str(exc), rel)
        return None
    records = Records(rel)
    before = len(report.errors)
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line, object_pairs_hook=_unique_keys)
        except _DuplicateKey as exc:
            report.error("evals/records-invalid", f"key {shown(exc.args[0])} appears twice in one object", rel, number)
            continue
        except (ValueError, RecursionError):
            report.error("evals/records-invalid", "not a JSON object", rel, number)
            continue
        key = item.get("id") if isinstance(item, dict) else None
        if not isinstance(key, str | int) or isinstance(key, bool):
            report.error("evals/records-invalid", "each line needs an 'id' (string or integer)", rel, number)
            continue
        value = item["passed"] if isinstance(item.get("passed"), bool) else item.get("score")
        score = None if isinstance(value, str) else score_value(value)
        if score is None:
            report.error("evals/records-invalid", "each line needs 'passed' (true/false) or 'score' (0..1)", rel,
                         number)  # fmt: skip
            continue
        key = str(item["id"])
        if key in records.scores:
            report.error("evals/duplicate-item", f"item {shown(key)} appears twice", rel, number)
            continue
        records.scores[key] = score
    return records if len(report.errors) == before else None
