"""One report type for every command: a list of Findings with stable codes.

Every check in tinyrel yields ``Finding`` objects instead of raising, so that a run reports *all*
problems at once and the same result renders as text, JSON or GitHub annotations.  Failures that
stop a command early (missing path, unreadable spec) raise ``TinyrelError``, which carries a stable
code as well and is printed as one line, never as a traceback.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]


def first_line(exc: BaseException) -> str:
    """An exception as one line for a finding: library messages often carry tracebacks or bodies."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


@dataclass(frozen=True)
class Finding:
    """One observation from a check; ``code`` is stable and machine-matchable."""

    code: str
    severity: Severity
    message: str
    path: str | None = None
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if data["line"] is None:
            del data["line"]
        return data


@dataclass
class Report:
    """Findings plus optional structured data (extra JSON keys such as a plan or a summary)."""

    findings: list[Finding] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    def add(
        self,
        code: str,
        severity: Severity,
        message: str,
        path: str | None = None,
        line: int | None = None,
    ) -> Finding:
        finding = Finding(code, severity, message, path, line)
        self.findings.append(finding)
        return finding

    def error(self, code: str, message: str, path: str | None = None, line: int | None = None):
        return self.add(code, "error", message, path, line)

    def warning(self, code: str, message: str, path: str | None = None, line: int | None = None):
        return self.add(code, "warning", message, path, line)

    def info(self, code: str, message: str, path: str | None = None, line: int | None = None):
        return self.add(code, "info", message, path, line)

    def extend(self, other: Report | list[Finding]) -> None:
        if isinstance(other, Report):
            self.findings.extend(other.findings)
            self.data.update(other.data)
        else:
            self.findings.extend(other)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "findings": [f.to_dict() for f in self.findings], **self.data}


class TinyrelError(Exception):
    """A failure that stops a command: printed as ``error[code]: message``, exit 2 or 1."""

    def __init__(
        self, code: str, message: str, *, usage: bool = False, path: str | None = None, line: int | None = None
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.usage = usage
        self.path = path
        self.line = line

    def as_finding(self) -> Finding:
        return Finding(self.code, "error", self.message, self.path, self.line)


class Refused(TinyrelError):
    """The operation ran, and its answer is no: ``report`` holds every finding that says why
    (``tinyrel.pull``: not verified, nothing written; ``tinyrel.write_manifest``: the weights do not
    validate, no manifest written)."""

    def __init__(self, code: str, message: str, report: Report, *, path: str | None = None) -> None:
        super().__init__(code, message, path=path)
        self.report = report


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) stopped a call, after its clean-up: ``message`` says what was left.

    A ``KeyboardInterrupt`` still, so a host program (a notebook) sees the interruption it asked
    for; the CLI prints the message and exits 130.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
