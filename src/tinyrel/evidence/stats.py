"""Statistics a reviewer asks for: how many items, how sure, and which items regressed.

- the Wilson score interval (95%) for a pass rate: well-behaved at 0 and 1 and for small n, where
  the normal approximation claims intervals outside [0, 1];
- the exact two-sided McNemar test for paired pass/fail outcomes (stock vs tuned on the same
  items): under "no change" the discordant items split 50/50, so the p-value is a binomial tail.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054
PASS = 0.5  # an item passes when its score is at least this (1/0 for pass/fail records)


@dataclass(frozen=True)
class Summary:
    score: float
    n: int
    ci_low: float
    ci_high: float

    def to_dict(self) -> dict[str, float | int]:
        return {"score": self.score, "n": self.n, "ci_low": self.ci_low, "ci_high": self.ci_high}


@dataclass(frozen=True)
class Paired:
    n: int
    regressed: int  # pass → fail
    improved: int  # fail → pass
    p_value: float

    def to_dict(self) -> dict[str, float | int]:
        return {"n": self.n, "regressed": self.regressed, "improved": self.improved, "p_value": self.p_value}


def wilson(successes: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for ``successes`` out of ``n`` (a mean score times n for partial credit)."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    centre = p + z * z / (2 * n)
    margin = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    scale = 1 + z * z / n
    return max(0.0, (centre - margin) / scale), min(1.0, (centre + margin) / scale)


def summarize(scores: dict[str, float]) -> Summary:
    n = len(scores)
    total = sum(scores.values())
    low, high = wilson(total, n)
    return Summary(total / n if n else 0.0, n, low, high)


def mcnemar_exact(regressed: int, improved: int) -> float:
    """Two-sided exact McNemar p-value: P(a split at least this uneven | each discordant item 50/50)."""
    n = regressed + improved
    if n == 0:
        return 1.0
    k = min(regressed, improved)
    # log-space binomial tail, exact for any n (math.comb is exact; lgamma keeps 2**-n representable)
    tail = sum(math.exp(math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) - n * math.log(2))
               for i in range(k + 1))  # fmt: skip
    return min(1.0, 2 * tail)


def paired(stock: dict[str, float], tuned: dict[str, float]) -> Paired:
    """Paired outcomes on the same items (the caller checks the item sets are equal)."""
    regressed = sum(1 for item in stock if stock[item] >= PASS > tuned[item])
    improved = sum(1 for item in stock if stock[item] < PASS <= tuned[item])
    return Paired(len(stock), regressed, improved, mcnemar_exact(regressed, improved))
