"""The numbers a reader takes as claims in a spec's prose, found with what each one asserts.

Text is read as a reader sees it (``tinyrel.card.reading.normalize``: NFKC, look-alike minus signs
and dashes as ``-``, invisible characters removed), so ``９９％`` or ``9\u200b9%`` is read as ``99%``.

What is a claim, and what it asserts (intervals are in score units, 0..1, rounding as written):

- a **score**: ``95%``, ``95.0 %``, ``95 percent``, or a decimal at most 1 (``0.596``, ``1.00``,
  ``.95``); ``95%`` holds for 0.945–0.955, ``0.596`` within 0.0005.  ``100%``, ``0%``, ``1.0`` and
  ``0.0`` claim all or none of the items and hold only exactly.  A range (``99-100%``,
  ``0.39-0.45``) holds when the value lies inside it.
- a **count**: ``29/50``, ``29 of 50``, ``173 out of 1,000``: exact.
- a **delta**: points (``+42 points``, ``-17.3 pts``, ``42 pp``, ``42 percentage points``), a signed
  decimal (``+0.104``), a signed percentage (``+42%``: points, or the relative change), or a
  percentage after a word of change (``up 42%``, ``dropped 17.3%``, ``by 3%``).  A sign, or the
  word's direction, must match; an unsigned delta is a magnitude.
- a **p-value**: ``p < 0.001``, ``p = 0.021``.

Roles: a score or count right after ``from`` is the stock side; in ``A → B``, ``A -> B`` or ``A to
B`` (two scores or two counts) A is the stock side and B the tuned side.

Not claims: plain integers (``13 rows``, ``4B``), sizes and durations (``7.5 GB``, ``0.5 s``),
versions (``v0.2.0``), digits inside names (``Qwen3.5-4B``, ``BFCL-V4``), decimals above 1, and a
confidence level (``95% interval``, ``95% CI``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_EPS = 1e-9
_NUM = r"\d{1,3}(?:,\d{3}){1,5}|\d{1,15}"  # bounded: a run of 5,000 digits is no count (nor an int)
_REAL = r"\d{1,15}(?:\.\d{1,15})?"
_DEC = r"\d{0,15}\.\d{1,15}"
_EDGE = r"(?<![\w.+\-/,$€£@#])"  # not the tail of a name, a version, a longer number or an amount
_NOT_A_SIZE = r"(?!\s*(?:[KMGTP]i?B|bytes?|B|s|ms|sec|seconds?|min|minutes?|h|hours?|x|GHz|MHz)\b)"
_PATTERN = re.compile(
    rf"""
      (?P<pvalue>\bp\s*(?P<op><=|≤|<|=)\s*(?P<p>{_DEC}))(?![\w%]|\.\d)
    | {_EDGE}(?P<ak>{_NUM})\s*(?:->|→|=>|to)\s*(?P<bk>{_NUM})\s+(?:out\s+)?of\s+(?:the\s+)?(?P<bn>{_NUM})
        (?![\w/%]|[.,]\d)
    | {_EDGE}(?P<fk>{_NUM})\s*(?:/|\s(?:out\s+)?of\s+(?:the\s+)?)\s*(?P<fn>{_NUM})(?![\w/%]|[.,]\d)
    | {_EDGE}(?P<plo>{_REAL})\s*%?\s*-\s*(?P<phi>{_REAL})\s*(?:%|percent\b)
    | {_EDGE}(?P<dlo>{_DEC})\s*-\s*(?P<dhi>{_DEC})(?![\w%]|\.\d)
    | {_EDGE}(?P<sign>[+-]?)(?P<pv>{_REAL})\s*
        (?P<unit>%|percent\b|(?:percentage\s+)?points?\b|pts?\b|pp\b)
        (?!\s*(?:confidence|CI\b|interval|credible))
    | {_EDGE}(?P<dsign>[+-]?)(?P<dv>{_DEC})(?![\w%]|\.\d){_NOT_A_SIZE}
    """,
    re.X | re.I,
)
_FROM = re.compile(r"\bfrom\s*$", re.I)
_CHANGE_WORD = re.compile(
    r"\b(?P<word>up|down|by|gain(?:ed|s)?|drop(?:ped|s)?|fell|falls?|rose|rises?|lost|loses?|declined?|declines|"
    r"improved?|improves|increased?|increases|decreased?|decreases|regressed|regresses)\s+(?:of\s+|by\s+)?$",
    re.I,
)
_DOWN_WORDS = ("down", "drop", "fell", "fall", "lost", "lose", "declin", "decreas", "regress")
_LOOK_BACK = 40  # characters before a number that can hold "from" or a word of change (bounded: linear time)
_PAIRING = re.compile(r"^\s*(?:->|→|=>|to)\s*$", re.I)


@dataclass
class Claim:
    """One number as written (``text`` at ``start:end`` of the normalised prose) and what it asserts."""

    text: str
    start: int
    end: int
    kind: str  # score | count | delta | pvalue
    low: float = 0.0  # score, delta (score units), p-value: the true value lies in [low, high]
    high: float = 0.0
    k: int = 0  # count: k of n
    n: int = 0
    role: str = ""  # "" either side | "stock" | "tuned"
    sign: int = 0  # delta: +1 or -1 as stated; 0 a magnitude
    relative: tuple[float, float] | None = None  # a signed percentage may also be tuned/stock - 1
    bound: str = "="  # p-value: "<", "<=" or "="

    def holds(self, value: float) -> bool:
        return self.low - _EPS <= value <= self.high + _EPS


def _span(number: str, scale: float) -> tuple[float, float]:
    """What ``number`` (in units of ``scale``) claims when it was rounded as written."""
    value, half = float(number), 0.5 * 10 ** -len(number.partition(".")[2])
    return (value - half) * scale, (value + half) * scale


def _score(number: str, scale: float) -> tuple[float, float]:
    """A score: rounding as written, except that all or none of the items (1 or 0) is claimed exactly."""
    value = float(number) * scale
    return (value, value) if value in (0.0, 1.0) else _span(number, scale)


def _signed(span: tuple[float, float], sign: int) -> tuple[float, float]:
    return span if sign >= 0 else (-span[1], -span[0])


def _claims(match: re.Match[str], before: str) -> list[Claim]:
    g = match.groupdict()
    if g["ak"]:  # "596 → 423 of 1,000": two counts of the same items, stock then tuned
        n = int(g["bn"].replace(",", ""))
        sides = [(g["ak"], "ak", "stock"), (g["bk"], "bk", "tuned")]
        counts = [Claim(match.group(0), match.start(name), match.end(name), "count", k=int(k.replace(",", "")), n=n,
                        role=role) for k, name, role in sides]  # fmt: skip
        return counts if n > 0 and all(c.k <= n for c in counts) else []
    claim = _claim(match, before)
    return [claim] if claim else []


def _claim(match: re.Match[str], before: str) -> Claim | None:
    text, start, end = match.group(0).strip(), match.start(), match.end()
    g = match.groupdict()
    if g["pvalue"]:
        op = {"≤": "<="}.get(g["op"], g["op"])
        low, high = _span(g["p"], 1.0) if op == "=" else (0.0, float(g["p"]))
        return Claim(text, start, end, "pvalue", low, high, bound=op)
    if g["fk"]:
        k, n = int(g["fk"].replace(",", "")), int(g["fn"].replace(",", ""))
        return Claim(text, start, end, "count", k=k, n=n) if 0 <= k <= n and n > 0 else None
    if g["plo"] or g["dlo"]:
        scale = 0.01 if g["plo"] else 1.0
        ends = (_score(g["plo"] or g["dlo"], scale), _score(g["phi"] or g["dhi"], scale))
        low, high = min(ends[0][0], ends[1][0]), max(ends[0][1], ends[1][1])
        return Claim(text, start, end, "score", low, high) if high <= 1 + _EPS else None
    if g["pv"]:
        return _percent_or_points(text, start, end, g["sign"], g["pv"], g["unit"].casefold(), before)
    if g["dv"] and float(g["dv"]) <= 1:
        if g["dsign"]:
            sign = 1 if g["dsign"] == "+" else -1
            return Claim(text, start, end, "delta", *_signed(_span(g["dv"], 1.0), sign), sign=sign)
        return Claim(text, start, end, "score", *_score(g["dv"], 1.0))
    return None


def _percent_or_points(text: str, start: int, end: int, sign: str, number: str, unit: str, before: str) -> Claim:
    """``95%`` is a score; ``+42%``, ``up 42%``, ``42 points`` are deltas (a percentage maybe relative)."""
    percent = unit in ("%", "percent")
    change = _CHANGE_WORD.search(before)
    if percent and not sign and not change:
        return Claim(text, start, end, "score", *_score(number, 0.01))
    word = change.group("word").casefold() if change else ""
    stated = 1 if sign == "+" else -1 if sign == "-" else 0
    if not stated and word not in ("", "by"):
        stated = -1 if word.startswith(_DOWN_WORDS) else 1
    span = _signed(_span(number, 0.01), stated)
    return Claim(text, start, end, "delta", *span, sign=stated, relative=span if percent else None)


def find_claims(text: str) -> list[Claim]:
    """Every claim in ``text`` (already normalised), in order, with roles from ``from`` and arrows."""
    claims = []
    for match in _PATTERN.finditer(text):
        before = text[max(0, match.start() - _LOOK_BACK) : match.start()]
        found = _claims(match, before)
        if len(found) == 1 and found[0].kind in ("score", "count") and _FROM.search(before):
            found[0].role = "stock"
        claims += found
    for a, b in zip(claims, claims[1:], strict=False):
        same = a.kind == b.kind and a.kind in ("score", "count")
        if same and a.role in ("", "stock") and not b.role and _PAIRING.match(text[a.end : b.start]):
            a.role, b.role = "stock", "tuned"
    return claims
