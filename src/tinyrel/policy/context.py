"""What every gate check reads and writes (``GateContext``), and the findings it reports.

A check is a function of the context; checks that need the weights, the lock's pin or the base
leave what they established on it (``weights_dir``, ``pin``, ``base``) for the checks and the card
after them.  The checks themselves live in ``checks`` (the workspace and its evidence) and
``card_checks`` (the rendered card as a reader sees it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinyrel.card.reading import CardView, read_card
from tinyrel.findings import Finding
from tinyrel.sources.resolve import LockedSource
from tinyrel.workspace.layout import Workspace
from tinyrel.workspace.spec import ReleaseSpec


@dataclass
class GateContext:
    ws: Workspace
    spec: ReleaseSpec
    mode: str = "check"  # check | metadata | weights
    require_weights: bool = False
    offline: bool = False  # no weight reads (pre-commit): the weights check is skipped
    lock: LockedSource | None = None
    manifest: dict[str, Any] | None = None
    card: str = ""
    card_template: Path | None = None
    weights_dir: Path | None = None  # the verified local weights, set by the weights check
    skipped: set[str] = field(default_factory=set)
    hosted_at: str | None = None  # hf://ORG/NAME when this run publishes the weights there
    # The lock's public Hub pin as the Hub answered for it (tinyrel.policy.gate.confirm_pin):
    # "" no pin claimed | "confirmed" | "unconfirmed" (not asked: offline) | "refuted" (pin_problem says why)
    pin: str = ""
    pin_problem: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)  # eval id -> EvalEvidence (tinyrel.evidence)
    evidence_findings: list[Finding] = field(default_factory=list)  # problems reading the records
    base: Any = None  # tinyrel.policy.base_pin.BaseFacts, set by the base-model check ([base] in the spec)
    variants: dict[str, Any] = field(default_factory=dict)  # [[variants]] as the variants check found them
    _view: CardView | None = None
    _view_of: str = ""

    def rel(self, path: Path) -> str:
        """``path`` relative to the workspace, as the user names it (a symlinked spec keeps its name)."""
        import os

        for candidate, root in ((Path(os.path.abspath(path)), Path(os.path.abspath(self.ws.root))),
                                (path.resolve(), self.ws.root.resolve())):  # fmt: skip
            if candidate.is_relative_to(root):
                return candidate.relative_to(root).as_posix()
        return str(path)

    @property
    def template_path(self) -> str:
        return self.rel(self.card_template) if self.card_template else "tinyrel:card.md.j2"

    @property
    def view(self) -> CardView:
        if self._view is None or self._view_of != self.card:
            self._view, self._view_of = read_card(self.card), self.card
        return self._view


def err(check: str, message: str, path: str | None = None, line: int | None = None) -> Finding:
    return Finding(f"blocker/{check}", "error", message, path, line)


def warn(check: str, message: str, path: str | None = None) -> Finding:
    return Finding(f"blocker/{check}", "warning", message, path)


def lock_is_public_pin(lock: LockedSource | None) -> bool:
    """A Hub entry that *claims* a public commit: its ``public`` flag is outside input, so the gate
    asks the Hub (``GateContext.pin``) before anything states it."""
    from tinyrel.policy.oci_pin import is_oci_pin
    from tinyrel.sources.uri import COMMIT_RE

    hub = bool(lock and lock.kind == "hub" and lock.public and lock.revision and COMMIT_RE.match(lock.revision))
    return hub or is_oci_pin(lock)


def pinned_uri(lock: LockedSource) -> str:
    """``hf://ORG/NAME@COMMIT`` of a Hub pin: the commit the lock pins, whatever its uri's tail says
    (an OCI pin's uri names its digest: it is durable only then)."""
    if lock.kind == "oci":
        return lock.uri
    return f"hf://{lock.uri.removeprefix('hf://').split('@')[0]}@{lock.revision}"
