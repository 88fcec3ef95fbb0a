"""The release gate: lock → weights → manifest → blockers → card, as one Report.

This is what ``tinyrel check`` runs, what ``publish`` runs before writing anything, and what CI
runs on every release PR.  It must work in a checkout without the weights: unreachable weights
are a warning unless the caller requires them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tinyrel.card.render import CardInputs, render_card
from tinyrel.findings import Finding, Report, TinyrelError
from tinyrel.policy.checks import CHECKS, GateContext
from tinyrel.policy.spec import ReleaseSpec
from tinyrel.policy.workspace import Workspace
from tinyrel.sources.lock import read_lock
from tinyrel.weights import manifest as mf


@dataclass
class GateResult:
    report: Report
    card: str
    context: GateContext
    blockers: list[dict[str, Any]] = field(default_factory=list)


def _blocker_rows(
    spec: ReleaseSpec, outcomes: dict[str, list[Finding]], overrides: dict[str, str]
) -> list[dict[str, Any]]:
    rows = []
    for blocker in spec.blockers:
        failing = [c for c in blocker.checks if any(f.severity == "error" for f in outcomes.get(c, []))]
        pending = [c for c in blocker.checks if c not in outcomes]
        if blocker.id in overrides:
            status = "overridden"
        elif failing:
            status = "open"
        elif pending:
            status = "checked on the rendered card"
        else:
            status = "resolved"
        row = {"id": blocker.id, "title": blocker.title, "why": blocker.why, "unblock": blocker.unblock}
        rows.append(row | {"checks": blocker.checks, "status": status, "failing": failing})
    return rows


def check_overrides(spec: ReleaseSpec, overrides: dict[str, str]) -> None:
    """``--allow`` may only name blockers the spec declares."""
    unknown = sorted(set(overrides) - {b.id for b in spec.blockers})
    if unknown:
        known = sorted(b.id for b in spec.blockers)
        message = f"--allow names unknown blockers {unknown}; known: {known}"
        raise TinyrelError("publish/unknown-blocker", message, usage=True)


def run_gate(
    ws: Workspace,
    spec: ReleaseSpec,
    *,
    mode: str = "check",
    require_weights: bool = False,
    overrides: dict[str, str] | None = None,
    repo_id: str | None = None,
    offline: bool = False,
) -> GateResult:
    """Run every check; ``repo_id`` is the Hub repo the release is going to (it is named on the card)."""
    overrides = overrides or {}
    report = Report()
    ctx = GateContext(ws, spec, mode, require_weights, card_template=ws.template(), offline=offline)
    try:
        ctx.lock = read_lock(ws.lock_path).get(spec.name)
        if ctx.lock is None:
            report.error("lock/no-entry", f"tinyrel.lock has no source named {spec.name!r}", "tinyrel.lock")
    except TinyrelError as exc:
        report.error(exc.code, exc.message, "tinyrel.lock")
    if ws.manifest_path(spec.name).is_file():
        try:
            ctx.manifest = mf.load(ws.manifest_path(spec.name))
        except TinyrelError as exc:
            report.error(exc.code, exc.message, ctx.rel(ws.manifest_path(spec.name)))

    outcomes: dict[str, list[Finding]] = {}
    for check_id, (check, reads_card) in CHECKS.items():
        if not reads_card:
            outcomes[check_id] = check(ctx)

    files = ctx.manifest["files"] if ctx.manifest else (ctx.lock.files if ctx.lock else [])
    inputs = CardInputs(
        files=[f for f in files if f.get("sha256")],
        source_uri=ctx.lock.uri if ctx.lock else spec.weights_source,
        repo_id=repo_id,
        overrides=[{"blocker": k, "reason": v} for k, v in sorted(overrides.items())],
    )
    if mode == "weights" and repo_id:
        inputs.source_uri = f"hf://{repo_id}@v{spec.version}"
    for _ in range(2):  # render, check the card, render again with the final blocker status
        inputs.blockers = _blocker_rows(spec, outcomes, overrides)
        ctx.card = render_card(spec, inputs, ctx.card_template)
        for check_id, (check, reads_card) in CHECKS.items():
            if reads_card:
                outcomes[check_id] = check(ctx)

    overridden_checks = {c for b in spec.blockers if b.id in overrides for c in b.checks} | set(overrides)
    for check_id, findings in outcomes.items():
        for finding in findings:
            if finding.severity == "error" and check_id in overridden_checks:
                finding = Finding(finding.code, "warning", f"overridden: {finding.message}", finding.path, finding.line)
            report.findings.append(finding)
    blockers = _blocker_rows(spec, outcomes, overrides)
    report.data["release"] = {"name": spec.name, "version": spec.version, "mode": mode}
    report.data["blockers"] = blockers
    skipped = ctx.notes.get("skipped", set())
    report.data["checks"] = {
        c: "skipped" if c in skipped else "fail" if any(f.severity == "error" for f in fs) else "warn" if fs else "pass"
        for c, fs in outcomes.items()
    }
    return GateResult(report, ctx.card, ctx, blockers)


def gate_summary(result: GateResult) -> str:
    """Readable per-blocker report for the text format."""
    spec = result.context.spec
    lines = [f"release {spec.name} {spec.version} ({result.context.mode})"]
    marks = {"resolved": "✓", "open": "✗", "overridden": "!"}
    for b in result.blockers:
        lines.append(f"  {marks.get(b['status'], '?')} {b['id']}: {b['title']} — {b['status']}")
        if b["status"] != "resolved":
            lines += [f"      why: {b['why']}", f"      unblock: {b['unblock']}"]
    checks = result.report.data["checks"]
    lines.append("  checks: " + ", ".join(f"{c}={s}" for c, s in checks.items()))
    return "\n".join(lines)
