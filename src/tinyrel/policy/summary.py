"""The gate as Markdown: the job summary a reviewer reads on a release PR (``$GITHUB_STEP_SUMMARY``)."""

from __future__ import annotations

from tinyrel.policy.gate import GateResult

STATUS = {"resolved": "✅ resolved", "open": "❌ open", "overridden": "⚠️ overridden"}


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def gate_markdown(result: GateResult) -> str:
    spec, report = result.context.spec, result.report
    verdict = "passed" if report.ok else "failed"
    lines = [
        f"## tinyrel release gate: `{spec.name}` {spec.version} — {verdict}",
        "",
        "| Blocker | Status | Why | Unblock |",
        "|---|---|---|---|",
    ]
    for b in result.blockers:
        status = STATUS.get(b["status"], b["status"])
        lines.append(
            f"| **{_cell(b['id'])}**: {_cell(b['title'])} | {status} | {_cell(b['why'])} | {_cell(b['unblock'])} |"
        )
    checks = report.data.get("checks", {})
    lines += ["", "Checks: " + ", ".join(f"`{c}` {s}" for c, s in checks.items())]
    problems = [f for f in report.findings if f.severity != "info"]
    if problems:
        lines += ["", "| Severity | Code | Where | Message |", "|---|---|---|---|"]
        for f in problems:
            where = f"`{f.path}{':' + str(f.line) if f.line else ''}`" if f.path else ""
            lines.append(f"| {f.severity} | `{f.code}` | {where} | {_cell(f.message)} |")
    return "\n".join(lines) + "\n"
