"""The bound of silence for a remote (``TINYREL_HUB_TIMEOUT``, ``TINYREL_OCI_TIMEOUT``), read one way.

A bound the user set wrong must fail before anything is sent — a usage error naming the variable —
not turn into "no timeout" (``inf``, ``nan``) or an instant failure (``0``, a negative number).
"""

from __future__ import annotations

import math
import os

from tinyrel.findings import TinyrelError


def seconds_from_environment(variable: str, code: str, default: float = 60.0) -> float:
    """``variable`` (``default`` when unset): a finite, positive number of seconds (at least 0.1),
    or ``TinyrelError(code)`` as a usage error."""
    raw = os.environ.get(variable)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise TinyrelError(code, f"{variable} must be a positive, finite number of seconds, not {raw[:40]!r}",
                           usage=True)  # fmt: skip
    return max(0.1, value)
