"""Every eval's numbers recomputed from its records: score, n, Wilson interval, paired regression.

``collect`` reads the ``records`` / ``stock_records`` of each ``[[evals]]`` table; the gate's
``eval-evidence`` check compares the spec's numbers with these, and the card prints them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinyrel.evidence.records import Records, read_records
from tinyrel.evidence.stats import Paired, Summary, paired, summarize
from tinyrel.findings import Report
from tinyrel.workspace.spec import Eval, ReleaseSpec


@dataclass
class EvalEvidence:
    eval: Eval
    tuned: Summary | None = None
    stock: Summary | None = None
    paired: Paired | None = None
    tuned_records: Records | None = None
    stock_records: Records | None = None

    @property
    def has_records(self) -> bool:
        return bool(self.eval.records or self.eval.stock_records)

    def release_files(self) -> list[tuple[str, str]]:
        """(workspace path, path in the release) of the records, under ``evals/``."""
        out = []
        for side, rel in (("tuned", self.eval.records), ("stock", self.eval.stock_records)):
            if rel:
                out.append((rel, f"evals/{self.eval.id}.{side}{Path(rel).suffix}"))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.eval.id,
            "kind": self.eval.kind,
            "tuned": self.tuned.to_dict() if self.tuned else None,
            "stock": self.stock.to_dict() if self.stock else None,
            "paired": self.paired.to_dict() if self.paired else None,
            "records": [release for _, release in self.release_files()],
        }


def collect(root: Path, spec: ReleaseSpec, report: Report) -> dict[str, EvalEvidence]:
    """Read every eval's records (relative to the workspace ``root``); problems become findings."""
    out: dict[str, EvalEvidence] = {}
    for e in spec.evals:
        evidence = EvalEvidence(e)
        if e.records:
            evidence.tuned_records = read_records(root, e.records, report)
        if e.stock_records:
            evidence.stock_records = read_records(root, e.stock_records, report)
        tuned, stock = evidence.tuned_records, evidence.stock_records
        evidence.tuned = summarize(tuned.scores) if tuned else None
        evidence.stock = summarize(stock.scores) if stock else None
        if tuned and stock:
            if set(tuned.scores) != set(stock.scores):
                only = sorted(set(tuned.scores) ^ set(stock.scores))
                report.error("evals/item-mismatch", f"{e.id}: stock and tuned records cover different items "
                             f"({len(only)} differ, e.g. {only[0]!r}); a paired claim needs the same items",
                             tuned.path)  # fmt: skip
            else:
                evidence.paired = paired(stock.scores, tuned.scores)
        out[e.id] = evidence
    return out


def file_digest(path: Path) -> dict[str, Any]:
    """Size and SHA-256 of a records file, streamed from a regular file only (a FIFO is refused)."""
    import os

    from tinyrel.safe_io import open_regular

    fd = open_regular(path)
    digest, size = hashlib.sha256(), 0
    with os.fdopen(fd, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return {"size": size, "sha256": digest.hexdigest()}


def pinned_records(root: Path, spec: ReleaseSpec) -> list[dict[str, Any]]:
    """The lock's ``evidence`` list for ``spec``: every records file with its size and SHA-256."""
    paths = sorted({p for e in spec.evals for p in (e.records, e.stock_records) if p})
    return [{"path": p, **file_digest(root / p)} for p in paths if (root / p).is_file()]


def fmt_interval(summary: Summary | None) -> str:
    return f"{summary.ci_low:.2f}–{summary.ci_high:.2f}" if summary else "-"


def fmt_p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def fmt_paired(stock: Summary | None, tuned: Summary | None, pair: Paired | None) -> str:
    """ "−17.3 pts, 173 of 1,000 items regressed, 0 improved, p < 0.001" (numbers only)."""
    if pair is None or tuned is None or stock is None:
        return "no paired per-item records"
    points = (tuned.score - stock.score) * 100
    sign = "−" if points < 0 else "+"
    return (f"{sign}{abs(points):.1f} pts, {pair.regressed:,} of {pair.n:,} items regressed, "
            f"{pair.improved:,} improved, {fmt_p(pair.p_value)}")  # fmt: skip
