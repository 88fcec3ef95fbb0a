"""Statistics a reviewer asks for: how many items, how sure, and which items regressed.

- the Wilson score interval (95%) for a pass rate: well-behaved at 0 and 1 and for small n, where
  the normal approximation claims intervals outside [0, 1];
- a paired comparison item by item (stock vs tuned on the same items): an item whose score fell
  regressed, one whose score rose improved, equal scores are ties and left out.  The p-value is the
  exact two-sided sign test on the regressed and improved items: under "no change" each changed
  item is as likely to fall as to rise, so it is a binomial tail.  On pass/fail records (scores 0
  and 1) this is exactly McNemar's exact test; on partial-credit scores it still sees every item
  that lost credit, where counting only crossings of a pass mark would not (stock 1.0 and tuned
  0.5 on every item is a regression of every item, not "0 regressed").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054
PASS = 0.5  # an item passes at a score of at least this (counts such as "29/50 passed" in prose)


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
    regressed: int  # tuned score below the stock score (pass → fail for pass/fail records)
    improved: int  # tuned score above the stock score (fail → pass); ties count in neither
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
    """Exact two-sided sign test: P(a split at least this uneven | each changed item falls or rises 50/50).

    For pass/fail outcomes the changed items are McNemar's discordant pairs, so this is the exact
    McNemar test; for scores in [0, 1] it is the sign test on the per-item differences.
    """
    n = regressed + improved
    if n == 0:
        return 1.0
    k = min(regressed, improved)
    # log-space binomial tail, exact for any n (math.comb is exact; lgamma keeps 2**-n representable)
    tail = sum(math.exp(math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) - n * math.log(2))
               for i in range(k + 1))  # fmt: skip
    return min(1.0, 2 * tail)


def paired(stock: dict[str, float], tuned: dict[str, float]) -> Paired:
    """Per-item comparison on the same items (the caller checks the item sets are equal).

    Every change of score counts, not only a crossing of a pass mark: partial credit that drops
    from 1.0 to 0.5 on every item is a regression of every item.
    """
    regressed = sum(1 for item in stock if tuned[item] < stock[item])
    improved = sum(1 for item in stock if tuned[item] > stock[item])
    return Paired(len(stock), regressed, improved, mcnemar_exact(regressed, improved))
