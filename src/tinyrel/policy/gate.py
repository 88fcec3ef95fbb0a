"""The release gate: lock → weights → manifest → blockers → card, as one Report.

This is what ``tinyrel check`` runs, what ``publish`` runs before writing anything, and what CI
runs on every release PR.  It must work in a checkout without the weights: unreachable weights
are a warning unless the caller requires them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tinyrel.card.render import CardInputs, ReleaseFacts, render_card
from tinyrel.findings import Finding, Report, TinyrelError
from tinyrel.policy.checks import CARD_CHECKS, CHECKS, GateContext, lock_is_public_pin, passed_statement
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
    facts: ReleaseFacts = field(default_factory=ReleaseFacts)  # what the card states about this release


def _blocker_rows(
    ctx: GateContext, outcomes: dict[str, list[Finding]], overrides: dict[str, str]
) -> list[dict[str, Any]]:
    """Each blocker's status, and one sentence that states it truthfully for the card."""
    from markupsafe import Markup

    from tinyrel.card.render import code, md_escape

    rows = []
    for blocker in ctx.spec.blockers:
        failing = [c for c in blocker.checks if any(f.severity == "error" for f in outcomes.get(c, []))]
        unchecked = [c for c in blocker.checks if c not in outcomes or c in ctx.skipped]
        ident = code(blocker.id)
        if blocker.id in overrides:
            status = "overridden"
            statement = (
                f"**Overridden** ({ident}): *{md_escape(blocker.title)}* is still open; published anyway "
                f"because: {md_escape(overrides[blocker.id])}"
            )
        elif failing:
            status = "open"
            statement = (
                f"**Open** ({ident}): *{md_escape(blocker.title)}*. Why: {md_escape(blocker.why)} "
                f"Unblock: {md_escape(blocker.unblock)}"
            )
        elif unchecked:
            status = "not checked"
            statement = (
                f"**Not checked here** ({ident}): *{md_escape(blocker.title)}* depends on "
                f"{', '.join(unchecked)}, which this run did not check"
            )
        else:
            status = "resolved"
            facts = "; ".join(passed_statement(c, ctx) for c in blocker.checks) or "it names no checks"
            statement = f"**Resolved** ({ident}, formerly *{md_escape(blocker.title)}*): {md_escape(facts)}"
        row = {"id": blocker.id, "title": blocker.title, "why": blocker.why, "unblock": blocker.unblock}
        rows.append(
            row | {"checks": blocker.checks, "status": status, "failing": failing, "statement": Markup(statement)}
        )
    return rows


def check_overrides(spec: ReleaseSpec, overrides: dict[str, str]) -> None:
    """``--allow`` may only name blockers the spec declares."""
    unknown = sorted(set(overrides) - {b.id for b in spec.blockers})
    if unknown:
        known = sorted(b.id for b in spec.blockers)
        message = f"--allow names unknown blockers {unknown}; known: {known}"
        raise TinyrelError("publish/unknown-blocker", message, usage=True)


def _spec_findings(ctx: GateContext, report: Report) -> None:
    """Unknown keys, placeholders and unknown check ids: the spec parsed, but a reviewer must act."""
    spec_rel = ctx.rel(ctx.spec.path)
    for note in ctx.spec.notes:
        report.error(note.code, note.message, spec_rel, note.line)
    for blocker in ctx.spec.blockers:
        unknown = [c for c in blocker.checks if c not in CHECKS]
        if unknown:
            report.error("spec/invalid", f"blocker {blocker.id!r} names unknown checks {unknown}; known: "
                         f"{sorted(CHECKS)}", spec_rel, blocker.line)  # fmt: skip


def run_gate(
    ws: Workspace,
    spec: ReleaseSpec,
    *,
    mode: str = "check",
    require_weights: bool = False,
    overrides: dict[str, str] | None = None,
    offline: bool = False,
    facts: ReleaseFacts | None = None,
) -> GateResult:
    """Run every check and render the card with ``facts`` (where and how this release is published)."""
    overrides = overrides or {}
    facts = facts or ReleaseFacts()
    report = Report()
    ctx = GateContext(ws, spec, mode, require_weights, card_template=ws.template(), offline=offline)
    if facts.hosted and mode == "weights":
        ctx.hosted_at = f"hf://{facts.repo_id}"
    _spec_findings(ctx, report)
    from tinyrel.evidence.collect import collect

    reading = Report()
    ctx.evidence = collect(ws.root, spec, reading)
    ctx.evidence_findings = reading.findings
    try:
        ctx.lock = read_lock(ws.lock_path).get(spec.name)
        if ctx.lock is None:
            report.error("lock/no-entry", f"tinyrel.lock has no source named {spec.name!r}", "tinyrel.lock")
    except TinyrelError as exc:
        report.error(exc.code, exc.message, "tinyrel.lock", exc.line)
    if ws.manifest_path(spec.name).is_file():
        try:
            ctx.manifest = mf.load(ws.manifest_path(spec.name))
        except TinyrelError as exc:
            report.error(exc.code, exc.message, ctx.rel(ws.manifest_path(spec.name)), exc.line)

    outcomes: dict[str, list[Finding]] = {}
    for check_id, check in CHECKS.items():
        if check_id not in CARD_CHECKS:
            outcomes[check_id] = check(ctx)

    files = ctx.manifest["files"] if ctx.manifest else (ctx.lock.files if ctx.lock else [])
    if not facts.weights_location:
        facts.weights_location = weights_location(ctx, facts)
    inputs = CardInputs(
        evidence=ctx.evidence,
        files=[f for f in files if f.get("sha256")],
        overrides=[{"blocker": k, "reason": v} for k, v in sorted(overrides.items())],
        facts=facts,
    )
    template_label = ctx.template_path
    for _ in range(2):  # render, check the card, render again with the final blocker status
        inputs.blockers = _blocker_rows(ctx, outcomes, overrides)
        ctx.card = render_card(spec, inputs, ctx.card_template, template_label)
        for check_id in CARD_CHECKS:
            outcomes[check_id] = CHECKS[check_id](ctx)

    overridden_checks = {c for b in spec.blockers if b.id in overrides for c in b.checks} | set(overrides)
    for check_id, findings in outcomes.items():
        for finding in findings:
            if finding.severity == "error" and check_id in overridden_checks:
                finding = Finding(finding.code, "warning", f"overridden: {finding.message}", finding.path, finding.line)
            report.findings.append(finding)
    blockers = _blocker_rows(ctx, outcomes, overrides)
    report.data["release"] = {"name": spec.name, "version": spec.version, "mode": mode}
    report.data["evals"] = [evidence.to_dict() for evidence in ctx.evidence.values()]
    report.data["blockers"] = [{k: v for k, v in b.items() if k != "statement"} for b in blockers]
    report.data["checks"] = {
        c: "skipped" if c in ctx.skipped else "fail" if any(f.severity == "error" for f in fs) else "warn" if fs
        else "pass"
        for c, fs in outcomes.items()
    }  # fmt: skip
    return GateResult(report, ctx.card, ctx, blockers, facts)


def weights_location(ctx: GateContext, facts: ReleaseFacts) -> str:
    """Where a reader of the card can obtain the weights — or that they cannot."""
    if facts.hosted and facts.mode == "weights":
        return f"in this repository, at tag v{ctx.spec.version}."
    if lock_is_public_pin(ctx.lock) and ctx.lock is not None:
        return f"hf://{ctx.lock.uri.removeprefix('hf://').split('@')[0]} at commit {ctx.lock.revision} (public)."
    if facts.destination == "preview":
        return "not published yet (the lock points to a local source on the publisher's machine)."
    return "not distributed with this release."
