"""The release gate: lock → weights → manifest → blockers → card, as one Report.

This is what ``tinyrel check`` runs, what ``publish`` runs before writing anything, and what CI
runs on every release PR.  It must work in a checkout without the weights: unreachable weights
are a warning unless the caller requires them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from tinyrel.card.render import CardInputs, ReleaseFacts, render_card, weights_format
from tinyrel.findings import Finding, Report, TinyrelError
from tinyrel.policy.checks import CARD_CHECKS, CHECKS, GateContext, lock_is_public_pin, passed_statement, pinned_uri
from tinyrel.policy.variant_card import card_rows as variant_card_rows
from tinyrel.sources.lock import read_lock
from tinyrel.sources.resolve import LockedSource
from tinyrel.sources.uri import COMMIT_RE
from tinyrel.weights import manifest as mf
from tinyrel.workspace.layout import Workspace
from tinyrel.workspace.spec import ReleaseSpec


@dataclass
class GateResult:
    report: Report
    card: str
    context: GateContext
    blockers: list[dict[str, Any]] = field(default_factory=list)
    facts: ReleaseFacts = field(default_factory=ReleaseFacts)  # what the card states about this release
    overrides: dict[str, str] = field(default_factory=dict)  # blocker id -> the --reason it was allowed with

    def card_findings(self) -> Report:
        """The findings about the card itself: its checks, the card template and the spec text on it."""
        own = {f"blocker/{c}" for c in CARD_CHECKS}
        return Report([f for f in self.report.findings if f.code in own or f.code.startswith(("card/", "spec/"))])


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
        if blocker.id in overrides and (failing or unchecked):  # an override of a passing blocker changes nothing
            status = "overridden"
            state = "is still open" if failing else f"was not checked here ({', '.join(unchecked)})"
            statement = (
                f"**Overridden** ({ident}): *{md_escape(blocker.title)}* {state}; published anyway "
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
    if facts.hosted and mode == "weights" and not facts.private:  # a private repo distributes nothing publicly
        ctx.hosted_at = f"hf://{facts.repo_id}"
    elif facts.destination == "oci" and mode == "weights":  # the weights are layers of the artifact published
        ctx.hosted_at = f"oci://{facts.oci_repo}"
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
    confirm_pin(ctx)
    if os.path.lexists(ws.manifest_path(spec.name)):  # anything there is read (or refused), never skipped
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
        facts=facts,
        weights_format=weights_format(ctx.manifest),
        base=ctx.base,
        variants=variant_card_rows(ctx, facts),
    )
    template_label = ctx.template_path
    for _ in range(2):  # render, check the card, render again with the final blocker status
        inputs.blockers = _blocker_rows(ctx, outcomes, overrides)
        overridden = {b["id"] for b in inputs.blockers if b["status"] == "overridden"}
        inputs.overrides = [{"blocker": k, "reason": v} for k, v in sorted(overrides.items()) if k in overridden]
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
    for row in blockers:
        if row["id"] in overrides and row["status"] == "resolved":
            report.info("gate/allow-unused", f"--allow {row['id']}: the blocker is resolved, so nothing was overridden "
                        "and the card does not print the reason")  # fmt: skip
    report.data["release"] = {"name": spec.name, "version": spec.version, "mode": mode}
    report.data["evals"] = [evidence.to_dict() for evidence in ctx.evidence.values()]
    report.data["blockers"] = [{k: v for k, v in b.items() if k != "statement"} for b in blockers]
    report.data["checks"] = {
        c: "skipped" if c in ctx.skipped else "fail" if any(f.severity == "error" for f in fs) else "warn" if fs
        else "pass"
        for c, fs in outcomes.items()
    }  # fmt: skip
    return GateResult(report, ctx.card, ctx, blockers, facts, dict(overrides))


def confirm_pin(ctx: GateContext) -> None:
    """Ask the Hub whether the lock's public pin is true: the commit exists in that repo, the repo is
    public and not gated, and its files have the lock's sizes and SHA-256 (metadata for LFS files;
    only small non-LFS files are fetched, by the resolver that wrote the lock).  The lock is outside
    input: a hand-edited ``public = true`` on a made-up commit must not pass, nor reach the card.

    Sets ``ctx.pin``; offline nothing is asked, and a public weights publish does not rely on this pin.
    """
    lock = ctx.lock
    if lock is None or not lock_is_public_pin(lock) or ctx.hosted_at:
        return
    if ctx.offline:
        ctx.pin = "unconfirmed"
        return
    from tinyrel.sources.resolve import resolve_hub
    from tinyrel.sources.uri import hub_ref

    if lock.kind == "oci":  # an OCI artifact pinned by digest: asked of its registry
        from tinyrel.policy.oci_pin import pin_problems

        problems = pin_problems(lock)
        ctx.pin = "refuted" if problems else "confirmed"
        ctx.pin_problem = f"the lock pins {lock.uri} as public, but " + "; ".join(problems) if problems else ""
        return
    where = pinned_uri(lock)
    found = Report()
    problems: list[str] = []
    try:
        named = hub_ref(lock.uri).revision
        if named and COMMIT_RE.match(named) and named != lock.revision:
            problems.append(f"its uri names another commit ({named})")
        problems += _pin_differences(lock, resolve_hub(hub_ref(where), lock.name, found))
    except TinyrelError as exc:
        problems.append(f"it could not be confirmed with the Hub ({exc.code}: {exc.message})")
    problems += [f"{f.path or lock.name}: {f.code}: {f.message}" for f in found.findings if f.severity == "error"]
    if problems:
        ctx.pin, ctx.pin_problem = "refuted", f"the lock pins {where} as public, but " + "; ".join(problems)
    else:
        ctx.pin = "confirmed"


def _pin_differences(lock: LockedSource, hub: LockedSource) -> list[str]:
    """What the Hub's answer for the pinned commit contradicts in the lock, file by file."""
    problems = []
    if hub.revision != lock.revision:
        problems.append(f"the Hub resolved it to commit {hub.revision}")
    if not hub.public:
        problems.append("the Hub reports the repository as not public (private or gated)")
    want = {f["path"]: f for f in lock.files}
    got = {f["path"]: f for f in hub.files}
    files = [f"{p}: not on the Hub" for p in sorted(want.keys() - got.keys())]
    files += [f"{p}: not in the lock" for p in sorted(got.keys() - want.keys())]
    for path in sorted(want.keys() & got.keys()):
        if got[path]["size"] != want[path]["size"]:
            files.append(f"{path}: size {got[path]['size']} on the Hub, {want[path]['size']} in the lock")
        if got[path]["sha256"] != want[path]["sha256"]:
            files.append(f"{path}: sha256 {got[path]['sha256'][:12]}… on the Hub, {want[path]['sha256'][:12]}… in "
                         "the lock")  # fmt: skip
    if files:
        more = f" (and {len(files) - 5} more)" if len(files) > 5 else ""
        problems.append("its files differ: " + "; ".join(files[:5]) + more)
    return problems


def weights_location(ctx: GateContext, facts: ReleaseFacts) -> str:
    """Where a reader of the card can obtain the weights — or that they cannot; a pin only as the Hub
    confirmed it, or as the lock records it when this run did not ask."""
    if facts.hosted and facts.mode == "weights":
        return f"in this repository, at tag v{ctx.spec.version}."
    if ctx.lock is not None and ctx.pin in ("confirmed", "unconfirmed") and ctx.lock.kind == "oci":
        from tinyrel.policy.oci_pin import location

        return location(ctx.lock, ctx.pin == "confirmed")
    if ctx.lock is not None and ctx.pin in ("confirmed", "unconfirmed"):
        repo = ctx.lock.uri.removeprefix("hf://").split("@")[0]
        if ctx.pin == "confirmed":
            return f"hf://{repo} at commit {ctx.lock.revision} (public)."
        return (f"hf://{repo} at commit {ctx.lock.revision}, as the lock records it (not confirmed with the Hub by "
                "this run).")  # fmt: skip
    if facts.destination == "preview":
        if ctx.lock is not None and ctx.lock.kind == "hub":
            return f"not confirmed: the lock points to {ctx.lock.uri}, which this run did not confirm on the Hub as " \
                "public and pinned."  # fmt: skip
        if ctx.lock is None:
            return "unknown: the lock has no entry for this release."
        return "the lock points to a local source on the publisher's machine, not to a public host."
    return "not distributed with this release."
