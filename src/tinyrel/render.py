"""Render a Report as text, JSON or GitHub Actions annotations."""

from __future__ import annotations

import json
import os

import click

from tinyrel.findings import Finding, Report

FORMATS = ("text", "json", "github")
_COLOURS = {"error": "red", "warning": "yellow", "info": "cyan"}


def colour_enabled() -> bool:
    return "NO_COLOR" not in os.environ


def _text_line(f: Finding) -> str:
    where = f" ({f.path}{':' + str(f.line) if f.line else ''})" if f.path else ""
    label = f"{f.severity}[{f.code}]"
    if colour_enabled():
        label = click.style(label, fg=_COLOURS[f.severity], bold=f.severity == "error")
    return f"{label} {f.message}{where}"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_prop(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _repo_path(path: str, root: str | None) -> str:
    """GitHub resolves annotation paths against the checkout ($GITHUB_WORKSPACE), while findings
    are relative to the tinyrel workspace, which may be a subdirectory of it."""
    checkout = os.environ.get("GITHUB_WORKSPACE")
    if not root or not checkout or os.path.isabs(path):
        return path
    full = os.path.normpath(os.path.join(root, path))
    relative = os.path.relpath(full, os.path.realpath(checkout))
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
        return json.dumps(report.to_dict(), indent=2, sort_keys=True)
    findings = [f for f in report.findings if not quiet or f.severity == "error"]
    if fmt == "github":
        root = report.data.get("workspace")
        return "\n".join(github_line(f, root) for f in findings)
    lines = [headline] if headline and not quiet else []
    lines += [_text_line(f) for f in findings]
    if not quiet:
        errors, warnings = len(report.errors), sum(f.severity == "warning" for f in report.findings)
        verdict = "ok" if report.ok else "FAILED"
        if colour_enabled():
            verdict = click.style(verdict, fg="green" if report.ok else "red", bold=True)
        lines.append(f"{verdict}: {errors} error(s), {warnings} warning(s)")
    return "\n".join(lines)
