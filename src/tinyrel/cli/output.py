"""Render a Report as text, JSON or GitHub Actions annotations.

One line format everywhere: ``severity[code]: path:line: message``.  Everything printed may carry
text from outside (file names, spec strings, server messages), so control characters are escaped
in every format: a file named with an ANSI escape must not repaint the reader's terminal, and a
newline must not forge a second finding or annotation.
"""

from __future__ import annotations

import json
import os
import re

import click

from tinyrel.findings import Finding, Report

FORMATS = ("text", "json", "github")
_COLOURS = {"error": "red", "warning": "yellow", "info": "cyan"}
# C0 and C1 controls, DEL, and the Unicode bidi/format characters that reorder what a terminal shows.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def colour_enabled() -> bool:
    return "NO_COLOR" not in os.environ


def safe_text(text: object, *, keep_newlines: bool = False) -> str:
    """``text`` with control characters shown as escapes (``\\x1b``); newlines too unless kept."""
    value = str(text)
    value = _CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), value)
    value = value.replace("\r", "\\r")
    return value if keep_newlines else value.replace("\n", "\\n")


def location(path: str | None, line: int | None) -> str:
    if not path:
        return ""
    return f"{safe_text(path)}:{line}: " if line else f"{safe_text(path)}: "


def error_line(code: str, message: str, path: str | None = None, line: int | None = None, severity: str = "error"):
    """``severity[code]: path:line: message`` — the one-line form of every failure."""
    label = f"{severity}[{safe_text(code)}]"
    if colour_enabled():
        label = click.style(label, fg=_COLOURS[severity], bold=severity == "error")
    return f"{label}: {location(path, line)}{safe_text(message)}"


def _text_line(f: Finding) -> str:
    return error_line(f.code, f.message, f.path, f.line, f.severity)


def _escape_data(text: str) -> str:
    return safe_text(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def _escape_prop(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _repo_path(path: str, root: str | None) -> str:
    """GitHub resolves annotation paths against the checkout ($GITHUB_WORKSPACE), while findings
    are relative to the tinyrel workspace (or the model directory), which may be elsewhere in it."""
    checkout = os.environ.get("GITHUB_WORKSPACE")
    if not checkout:
        return path
    full = path if os.path.isabs(path) else os.path.normpath(os.path.join(root or os.getcwd(), path))
    relative = os.path.relpath(os.path.realpath(full), os.path.realpath(checkout))
    return path if relative.startswith("..") else relative


def github_line(f: Finding, root: str | None = None) -> str:
    kind = {"error": "error", "warning": "warning", "info": "notice"}[f.severity]
    props = [f"title={_escape_prop(f.code)}"]
    if f.path:
        props.insert(0, f"file={_escape_prop(_repo_path(f.path, root))}")
        if f.line:
            props.insert(1, f"line={f.line}")
    return f"::{kind} {','.join(props)}::{_escape_data(f.message)}"


def render(report: Report, fmt: str, *, quiet: bool = False, headline: str | None = None) -> str:
    """The whole output of a command; ``quiet`` keeps only errors in text mode."""
    if fmt == "json":
        # ensure_ascii escapes every control and non-ASCII character as \\uXXXX.
        return json.dumps(report.to_dict(), indent=2, sort_keys=True, default=str)
    findings = [f for f in report.findings if not quiet or f.severity == "error"]
    if fmt == "github":
        root = report.data.get("workspace")
        return "\n".join(github_line(f, root) for f in findings)
    lines = [safe_text(headline, keep_newlines=True)] if headline and not quiet else []
    lines += [_text_line(f) for f in findings]
    if not quiet:
        errors, warnings = len(report.errors), sum(f.severity == "warning" for f in report.findings)
        verdict = "ok" if report.ok else "FAILED"
        if colour_enabled():
            verdict = click.style(verdict, fg="green" if report.ok else "red", bold=True)
        lines.append(f"{verdict}: {errors} error(s), {warnings} warning(s)")
    return "\n".join(lines)
