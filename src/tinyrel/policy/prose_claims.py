"""Numbers in prose are claims (check ``prose-claims``, findings ``blocker/prose-claims``).

The card is published and signed as a statement of fact.  ``eval-evidence`` ties the spec's
``tuned``/``stock`` to the per-item records, but prose is free text: a summary saying "99%, up from
20%" while the records give 0.95 and 0.55 — or still saying 95% after v0.2.0 changed the records —
would ship unchecked.  So every number in the prose that reaches the card is read as a claim about
one eval and compared with what that eval's records give, or with the spec's own ``tuned`` /
``stock`` when the eval has no records (the finding says which).  A mismatch is an error with the
spec file and the line of the number.

**Read:** ``[release]`` summary and stand_in; ``[routing]`` domain, router_guidance and not_for;
each ``[[evals]]`` readout and dataset; each ``[[context]]`` system, metric, size and readout, and
the score of a *direct* row whose metric (or else system) names exactly one eval; each
``[[blockers]]`` title, why and unblock.  A directional row's score is other systems' data and is not
read; neither is ``artifact_size`` (a size).  What counts as a number, and what it asserts (rounding
as written; ``100%`` exactly), is in ``tinyrel.policy.prose_numbers``.

**Which eval a number is about:** the eval named (its ``name`` or ``id``, case-insensitive, whole
words; digits inside a name are not numbers) in the number's own clause (clauses split at ``, ; :``
and `` - ``); else in the nearest clause of the same sentence that names one, before it first, then
after it; else the field's own eval (an eval's readout and dataset are about that eval; a direct
context row's fields are about the eval its metric names).  A clause naming several evals is
ambiguous and a number about no eval is not accepted as true: both are errors.

**Compared with:** a score with the eval's tuned or stock score (only stock after ``from`` or
before an arrow, only tuned after one); a count with passed items (score ≥ 0.5) of the tuned or
stock records, or regressed/improved items of the paired records, exactly (without records: k/n
with the spec's score within 0.0005); a delta with tuned − stock (a signed percentage may also be
the relative change tuned/stock − 1); a p-value with the paired McNemar test.

**Not an eval claim:** ``not_eval_claims = ["phrase", ...]`` in the table whose prose holds the
number (``[release]``, ``[routing]``, an ``[[evals]]``, ``[[context]]`` or ``[[blockers]]`` table):
every number wholly inside an occurrence of a phrase (matched as a reader sees it, case-insensitive)
is not checked.  The list is not printed on the card; a phrase that marks no number is an error, so
a mark cannot outlive its sentence and silently excuse a later one.  In a context row, numbers
inside the row's own ``score`` as written are that row's data, never ours.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from tinyrel.card.reading import normalize, whole_name
from tinyrel.evidence.stats import PASS
from tinyrel.findings import Finding
from tinyrel.policy.prose_numbers import Claim, find_claims
from tinyrel.workspace.spec import Eval, ReleaseSpec

CHECK = "prose-claims"
MAX_LISTED = 20  # findings per field; the rest are counted in one more (a hostile spec cannot flood the report)
SPEC_ROUNDING = 0.0005  # spec scores are written to three places (as in eval-evidence)
_BREAK = re.compile(r"(?<=[.!?])\s+|\n+|[,;:]\s+|\s+-\s+")
_ABBREVIATION = re.compile(r"\b(?:e\.g|i\.e|vs|approx|cf|incl|etc|ca|fig|no)\.$", re.I)
_FIELD_END = re.compile(r"^\s*(?:\[|[A-Za-z0-9_\"'-]+\s*=)")
_CORE = re.compile(r"\d[\d.,]*\d|\d")


class GateView(Protocol):
    """What the check reads of the gate's context (``tinyrel.policy.checks.GateContext``)."""

    spec: ReleaseSpec
    evidence: dict[str, Any]

    def rel(self, path: Path) -> str: ...


@dataclass
class _Field:
    label: str  # "[release] summary"
    text: str  # as a reader sees it
    line: int  # the key's line in the spec
    own: Eval | None = None  # what the field is about when its sentence names no eval
    own_why: str = "the eval this field describes"
    own_number: str = ""  # a context row's own score: that row's data, not ours
    forced: bool = False  # a direct context row's score: about its own eval, whatever it names


@dataclass
class _Table:
    label: str
    marks: list[str]
    marks_line: int
    fields: list[_Field] = field(default_factory=list)


@dataclass
class _Truth:
    """An eval's numbers: recomputed from its records where it has them, else the spec's."""

    eval: Eval
    scores: dict[str, tuple[float, int | None]]  # side -> (score, n from records or None: the spec's)
    counts: dict[str, tuple[int, int]]  # tuned | stock (passed) | regressed | improved -> (k, n)
    p_value: float | None


def prose_claims(ctx: GateView) -> list[Finding]:
    spec, found = ctx.spec, []
    where = ctx.rel(spec.path)
    truths = {e.id: _truth(e, ctx.evidence.get(e.id)) for e in spec.evals}
    for table in _tables(spec):
        used = set()
        for fld in table.fields:
            wrong = list(_read(fld, table, spec, truths, used))
            for claim, problem in wrong[:MAX_LISTED]:
                line = _claim_line(spec.text_lines, fld, claim)
                found.append(Finding(f"blocker/{CHECK}", "error", f"{fld.label}: {problem}", where, line))
            if len(wrong) > MAX_LISTED:
                more = len(wrong) - MAX_LISTED
                message = f"{fld.label}: {more:,} more numbers are not true (the first {MAX_LISTED} are listed)"
                found.append(Finding(f"blocker/{CHECK}", "error", message, where, fld.line or None))
        for mark in (m for m in table.marks if m not in used):
            message = f"{table.label} not_eval_claims entry {mark!r} marks no number in that table's prose; remove it"
            found.append(Finding(f"blocker/{CHECK}", "error", message, where, table.marks_line or None))
    return found


def _tables(spec: ReleaseSpec) -> list[_Table]:
    line = spec.lines.get
    tables = [
        _Table("[release]", spec.not_eval_claims, line("release.not_eval_claims", 0), [
            _Field("[release] summary", normalize(spec.summary), line("release.summary", 0)),
            _Field("[release] stand_in", normalize(spec.stand_in), line("release.stand_in", 0)),
        ]),
        _Table("[routing]", spec.routing.not_eval_claims, line("routing.not_eval_claims", 0), [
            _Field("[routing] domain", normalize(spec.routing.domain), line("routing.domain", 0)),
            _Field("[routing] router_guidance", normalize(spec.routing.router_guidance),
                   line("routing.router_guidance", 0)),
            _Field("[routing] not_for", "\n".join(normalize(t) for t in spec.routing.not_for),
                   line("routing.not_for", 0)),
        ]),
    ]  # fmt: skip
    for e in spec.evals:
        table = _Table(f"[[evals]] {e.id!r}", e.not_eval_claims, e.lines.get("not_eval_claims", 0))
        table.fields = [_Field(f"[[evals]] {e.id!r} {key}", normalize(getattr(e, key)), e.lines.get(key, 0), own=e)
                        for key in ("readout", "dataset")]  # fmt: skip
        tables.append(table)
    for row in spec.context:
        direct = row.comparability == "direct"
        own = (_named_eval(spec, row.metric) or _named_eval(spec, row.system)) if direct else None
        table = _Table(f"[[context]] {row.system!r}", row.not_eval_claims, row.lines.get("not_eval_claims", 0))
        why = "the eval this direct context row names"
        table.fields = [_Field(f"[[context]] {row.system!r} {key}", normalize(getattr(row, key)), row.lines.get(key, 0),
                               own=own, own_why=why, own_number=normalize(row.score))
                        for key in ("system", "metric", "size", "readout")]  # fmt: skip
        if own is not None:
            table.fields.append(_Field(f"[[context]] {row.system!r} score", normalize(row.score),
                                       row.lines.get("score", 0), own=own, own_why=why, forced=True))  # fmt: skip
        tables.append(table)
    for b in spec.blockers:
        table = _Table(f"[[blockers]] {b.id!r}", b.not_eval_claims, b.lines.get("not_eval_claims", 0))
        table.fields = [_Field(f"[[blockers]] {b.id!r} {key}", normalize(getattr(b, key)), b.lines.get(key, 0))
                        for key in ("title", "why", "unblock")]  # fmt: skip
        tables.append(table)
    return tables


def _mentions(spec: ReleaseSpec, text: str) -> list[tuple[int, int, Eval]]:
    """Where ``text`` names an eval: the longest names first, never two overlapping."""
    spans = []
    for e in spec.evals:
        for name in {normalize(e.name), e.id}:
            spans += [(m.start(), m.end(), e) for m in whole_name(name).finditer(text)] if name else []
    spans.sort(key=lambda s: (s[0] - s[1], s[0]))
    kept: list[tuple[int, int, Eval]] = []
    for span in spans:
        if all(span[1] <= k[0] or span[0] >= k[1] for k in kept):
            kept.append(span)
    return sorted(kept, key=lambda s: s[0])


def _named_eval(spec: ReleaseSpec, text: str) -> Eval | None:
    named = {m[2].id: m[2] for m in _mentions(spec, normalize(text))}
    return next(iter(named.values())) if len(named) == 1 else None


def _clauses(text: str) -> list[tuple[int, int]]:
    """(sentence number, start) of every clause of ``text``, in order."""
    out, sentence, start = [], 0, 0
    for m in _BREAK.finditer(text):
        ends_sentence = "\n" in m.group(0) or (m.start() > 0 and text[m.start() - 1] in ".!?")
        if ends_sentence and _ABBREVIATION.search(text, max(0, m.start() - 8), m.start()):
            continue
        out.append((sentence, start))
        sentence, start = sentence + (1 if ends_sentence else 0), m.end()
    out.append((sentence, start))
    return out


class _Occurrences:
    """Where a phrase occurs in a text (as a reader sees both); whether a claim lies wholly inside one."""

    def __init__(self, text: str, phrase: str):
        haystack, needle = text.casefold(), normalize(phrase).casefold()
        self.length, self.starts = len(needle), []
        at = haystack.find(needle) if needle else -1
        while at >= 0:
            self.starts.append(at)
            at = haystack.find(needle, at + 1)

    def cover(self, claim: Claim) -> bool:
        last = bisect.bisect_right(self.starts, claim.start) - 1  # all occurrences are as long: the last ends last
        return last >= 0 and claim.end <= self.starts[last] + self.length


class _Attribution:
    """Which eval a number in a field is about (see the module docstring), without rescanning the field."""

    def __init__(self, spec: ReleaseSpec, fld: _Field):
        self.fld, self.mentions = fld, _mentions(spec, fld.text)
        clauses = _clauses(fld.text)
        self.starts = [start for _, start in clauses]
        self.named: list[dict[str, Eval]] = [{} for _ in clauses]
        for start, _, e in self.mentions:
            self.named[bisect.bisect_right(self.starts, start) - 1][e.id] = e
        # Per clause: the nearest clause of its sentence that names an eval, at or before it, and after it.
        self.before: list[int | None] = []
        self.after: list[int | None] = [None] * len(clauses)
        for i, (sentence, _) in enumerate(clauses):
            previous = self.before[-1] if i and clauses[i - 1][0] == sentence else None
            self.before.append(i if self.named[i] else previous)
        for i in range(len(clauses) - 2, -1, -1):
            if clauses[i + 1][0] == clauses[i][0]:
                self.after[i] = i + 1 if self.named[i + 1] else self.after[i + 1]

    def inside_a_name(self, claim: Claim) -> bool:
        at = bisect.bisect_right(self.mentions, claim.end - 1, key=lambda m: m[0]) - 1  # mentions never overlap
        return at >= 0 and claim.start < self.mentions[at][1]

    def target(self, claim: Claim) -> tuple[Eval | None, str]:
        fld = self.fld
        if fld.forced:
            return fld.own, fld.own_why
        here = max(0, bisect.bisect_right(self.starts, claim.start) - 1)
        nearest = self.before[here] if self.before[here] is not None else self.after[here]
        if nearest is not None:
            named = self.named[nearest]
            if len(named) > 1:
                return None, f"sits in a clause naming several evals ({', '.join(sorted(named))}), so it is unclear " \
                    "which"  # fmt: skip
            return next(iter(named.values())), "named in its clause" if nearest == here else "named in its sentence"
        if fld.own is not None:
            return fld.own, fld.own_why
        return None, "names no eval in its sentence"


def _read(fld: _Field, table: _Table, spec: ReleaseSpec, truths: dict[str, _Truth], used: set[str]):
    """(claim, problem) for every claim in ``fld`` that is not true of its eval; marks used go in ``used``."""
    reading = _Attribution(spec, fld)
    marks = {mark: _Occurrences(fld.text, mark) for mark in table.marks}
    own_number = _Occurrences(fld.text, fld.own_number) if fld.own_number and not fld.forced else None
    for claim in find_claims(fld.text):
        if reading.inside_a_name(claim):
            continue  # digits of an eval's name
        covering = [mark for mark, where in marks.items() if where.cover(claim)]
        used.update(covering)
        if covering or (own_number is not None and own_number.cover(claim)):
            continue
        target, why = reading.target(claim)
        if target is None:
            yield claim, (f"{claim.text!r} {why}; name the eval (its name or id) beside it, or list the phrase in "
                          f"{table.label} not_eval_claims if it is not about one of this release's evals")  # fmt: skip
            continue
        problem = _compare(claim, truths[target.id])
        if problem:
            yield claim, f"{claim.text!r} is read as about {target.name!r} ({target.id}, {why}), and {problem}"


def _truth(e: Eval, evidence: Any) -> _Truth:
    scores: dict[str, tuple[float, int | None]] = {}
    counts: dict[str, tuple[int, int]] = {}
    for side, spec_value in (("tuned", e.tuned), ("stock", e.stock)):
        summary = getattr(evidence, side, None) if evidence is not None else None
        records = getattr(evidence, f"{side}_records", None) if evidence is not None else None
        if summary is not None and records is not None:
            scores[side] = (summary.score, summary.n)
            counts[side] = (sum(1 for s in records.scores.values() if s >= PASS), summary.n)
        elif spec_value is not None:
            scores[side] = (spec_value, None)
    pair = getattr(evidence, "paired", None) if evidence is not None else None
    if pair is not None:
        counts["regressed"], counts["improved"] = (pair.regressed, pair.n), (pair.improved, pair.n)
    return _Truth(e, scores, counts, pair.p_value if pair is not None else None)


def _compare(claim: Claim, truth: _Truth) -> str:
    """Why ``claim`` is not true of the eval ("" when it is)."""
    sides = [claim.role] if claim.role else ["tuned", "stock"]
    if claim.kind == "score":
        values = [truth.scores[s][0] for s in sides if s in truth.scores]
        if not values:
            return f"the eval has no {claim.role} score"
        return "" if any(claim.holds(v) for v in values) else _scores(truth, sides)
    if claim.kind == "count":
        sides = sides if claim.role else sides + ["regressed", "improved"]
        for side in sides:
            if side in truth.counts and truth.counts[side] == (claim.k, claim.n):
                return ""
            score, n = truth.scores.get(side, (None, 0))
            spec_only = side not in truth.counts and score is not None and n is None
            if spec_only and abs(claim.k / claim.n - score) <= SPEC_ROUNDING:
                return ""
        counted = [f"{k:,} of {n:,} {_COUNTED[s]}" for s, (k, n) in truth.counts.items() if s in sides]
        if not counted:
            return f"{claim.k}/{claim.n} is {claim.k / claim.n:.4f}, but " + _scores(truth, sides)
        spec_only = [s for s in sides if s in truth.scores and s not in truth.counts]
        return "its records give " + ", ".join(counted) + ("; " + _scores(truth, spec_only) if spec_only else "")
    if claim.kind == "delta":
        if "tuned" not in truth.scores or "stock" not in truth.scores:
            return "the eval has no stock score, so there is no delta"
        tuned, stock = truth.scores["tuned"][0], truth.scores["stock"][0]
        delta = tuned - stock
        if claim.holds(delta if claim.sign else abs(delta)):
            return ""
        if claim.relative and stock > 0:
            relative = tuned / stock - 1
            if claim.relative[0] - 1e-9 <= (relative if claim.sign else abs(relative)) <= claim.relative[1] + 1e-9:
                return ""
        return f"tuned - stock is {delta * 100:+.1f} points ({delta:+.4f}): " + _scores(truth, ["tuned", "stock"])
    p = truth.p_value
    if p is None:
        return "the eval has no paired per-item records, so no p-value"
    holds = p < claim.high if claim.bound == "<" else p <= claim.high if claim.bound == "<=" else claim.holds(p)
    return "" if holds else f"the paired McNemar test on its records gives p = {p:.4g}"


_COUNTED = {"tuned": "passed (tuned)", "stock": "passed (stock)", "regressed": "regressed", "improved": "improved"}


def _scores(truth: _Truth, sides: list[str]) -> str:
    """The eval's scores on ``sides``, saying where each comes from."""
    have = [(s, *truth.scores[s]) for s in sides if s in truth.scores]
    recorded = [f"{s} {score:.4f} (n={n:,})" for s, score, n in have if n is not None]
    specified = [f"{s} {score:g}" for s, score, n in have if n is None]
    parts = ["its records give " + " and ".join(recorded)] if recorded else []
    if specified:
        missing = "/".join(s for s, _, n in have if n is None)
        parts.append("the spec gives " + " and ".join(specified) + f" (no {missing} records)")
    return "; ".join(parts) or "the eval has no such score"


def _claim_line(lines: list[str], fld: _Field, claim: Claim) -> int | None:
    """The spec line holding the number: the field's lines searched for its digits in order."""
    if not fld.line:
        return None
    core = _CORE.search(fld.text, claim.start, claim.end)
    if core is None or fld.line > len(lines):
        return fld.line
    seen = fld.text[: claim.start].count(core.group(0))
    for number in range(fld.line - 1, len(lines)):
        if number >= fld.line and _FIELD_END.match(lines[number]):
            break
        text = lines[number].partition("=")[2] if number == fld.line - 1 else lines[number]
        seen -= text.count(core.group(0))
        if seen < 0:
            return number + 1
    return fld.line
