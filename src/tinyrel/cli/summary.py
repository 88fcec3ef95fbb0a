"""The gate as Markdown: the job summary a reviewer reads on a release PR (``$GITHUB_STEP_SUMMARY``).

Blocker titles, why and unblock texts, and finding messages come from the spec (a pull request can
change them), so every such string is written as inert text for GitHub's Markdown renderer: no
link, image, raw HTML, comment, table cell or heading can come from it, and a reader sees it as
written.
"""

from __future__ import annotations

import re

from tinyrel.card.render import md_escape
from tinyrel.policy.gate import GateResult

STATUS = {"resolved": "✅ resolved", "open": "❌ open", "overridden": "⚠️ overridden", "not checked": "⏭️ not checked"}
# What md_escape leaves live in GitHub's Markdown: strikethrough ('~'), math ('$') and autolinks of
# bare URLs (``https://…``, ``mailto:…``), ``www.`` hosts and e-mail addresses.  A backslash before
# '~', '$', every ':', the dot of ``www.`` and a dot that starts a host-name label (a letter follows;
# numbers such as 0.423 stay as they are) stops all but e-mail addresses, which GitHub finds after
# escapes are resolved: '@' is followed by a WORD JOINER (U+2060, invisible) instead.  Pairs that
# md_escape already escaped (``\\x``) are matched first and kept, so nothing is escaped twice.
_LIVE = re.compile(r"\\.|(?i:\bwww\.)|(?<=\w)\.(?=[A-Za-z])|[~$:@]", re.S)
_WORD_JOINER = "\u2060"


def _defuse(match: re.Match[str]) -> str:
    text = match.group(0)
    if text.startswith("\\"):
        return text
    if text == "@":
        return "@" + _WORD_JOINER
    return f"{text[:-1]}\\{text[-1]}"


def inert(value: object) -> str:
    """Outside text as one line of literal Markdown, safe inside a table cell: ``md_escape`` (HTML
    escaped, so no tag, comment or entity; ``\\ ` [ ] | * _`` and line-start markers escaped, so no
    link, image, code span, emphasis or cell break; newlines as spaces), then GitHub's extensions
    defused (see ``_LIVE``)."""
    return _LIVE.sub(_defuse, md_escape(value))


def _version(value: str) -> str:
    """The spec's version (validated to ``[0-9A-Za-z.+_-]``), where only '_' (emphasis) and the dots
    of a host name (autolinks) could act; kept readable as it is (0.1.0) otherwise."""
    return _LIVE.sub(_defuse, " ".join(value.split()).replace("_", "\\_"))


def code_span(value: object) -> str:
    """``value`` verbatim in a code span (nothing inside one is Markdown or HTML); a fence longer
    than any backtick run inside, and ``|`` escaped, as a GFM table cell requires even in code."""
    text = " ".join(str(value).split()).replace("|", "\\|")
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def gate_markdown(result: GateResult) -> str:
    spec, report = result.context.spec, result.report
    verdict = "passed" if report.ok else "failed"
    lines = [
        f"## tinyrel release gate: {code_span(spec.name)} {_version(spec.version)} — {verdict}",
        "",
        "| Blocker | Status | Why | Unblock |",
        "|---|---|---|---|",
    ]
    for b in result.blockers:
        status = STATUS.get(b["status"], inert(b["status"]))
        lines.append(
            f"| **{inert(b['id'])}**: {inert(b['title'])} | {status} | {inert(b['why'])} | {inert(b['unblock'])} |"
        )
    checks = report.data.get("checks", {})
    lines += ["", "Checks: " + ", ".join(f"{code_span(c)} {inert(s)}" for c, s in checks.items())]
    problems = [f for f in report.findings if f.severity != "info"]
    if problems:
        lines += ["", "| Severity | Code | Where | Message |", "|---|---|---|---|"]
        for f in problems:
            where = code_span(f"{f.path}{':' + str(f.line) if f.line else ''}") if f.path else ""
            lines.append(f"| {inert(f.severity)} | {code_span(f.code)} | {where} | {inert(f.message)} |")
    return "\n".join(lines) + "\n"
