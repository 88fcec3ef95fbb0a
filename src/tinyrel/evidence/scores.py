"""Per-item records as every reader returns them, and the pieces the readers share.

A records file (JSONL, or an inspect-ai log) becomes ``Records``: item id → score in [0, 1].
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

# The size of a records file as it lies on disk (for a ``.eval`` log, compressed; what it inflates
# to is limited in ``log_limits``).
MAX_RECORDS_BYTES = 256 * 1024 * 1024
_LETTER_SCORES = {"C": 1.0, "I": 0.0, "P": 0.5, "N": 0.0}
_SHOWN_CHARS = 80


@dataclass
class Records:
    """Item id → score in [0, 1], read from ``path`` (relative to the workspace)."""

    path: str
    scores: dict[str, float] = field(default_factory=dict)
    scorer: str | None = None


def score_value(value: object) -> float | None:
    """A record's score in [0, 1] (pass/fail as 1/0, inspect-ai's letters as inspect-ai scores them), or None."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float) and math.isfinite(value) and 0.0 <= value <= 1.0:
        return float(value)
    if isinstance(value, str) and value in _LETTER_SCORES:
        return _LETTER_SCORES[value]
    return None


def shown(text: str) -> str:
    """``text`` quoted for a message, cut short: record ids and keys are outside input of any length."""
    return repr(text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "…")
