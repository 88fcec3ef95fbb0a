"""Blockers as code: built-in checks with stable ids, reported as ``blocker/<id>`` findings.

A spec's blockers group these checks (a blocker is resolved when all its checks pass); every
check runs on every gate whether or not a blocker names it.  Card checks read the *rendered* card,
so what is verified is exactly the text that would be published.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinyrel.findings import Finding, TinyrelError
from tinyrel.policy.spec import ReleaseSpec
from tinyrel.policy.workspace import Workspace
from tinyrel.sources.resolve import LockedSource

RELEASE_METADATA_FILES = {"README.md", "model.sig", "manifest.json", "tinyrel.lock", "release.toml", ".gitattributes"}


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
    notes: dict[str, Any] = field(default_factory=dict)

    def rel(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.ws.root.resolve()).as_posix()
        except ValueError:
            return str(path)

    @property
    def template_path(self) -> str:
        return self.rel(self.card_template) if self.card_template else "tinyrel:card.md.j2"


def _err(check: str, message: str, path: str | None = None, line: int | None = None) -> Finding:
    return Finding(f"blocker/{check}", "error", message, path, line)


def _warn(check: str, message: str, path: str | None = None) -> Finding:
    return Finding(f"blocker/{check}", "warning", message, path)


def weight_distribution(ctx: GateContext) -> list[Finding]:
    # A metadata release does not distribute weights; a weights publish is what resolves this check.
    if ctx.mode in ("metadata", "weights") or (ctx.mode == "check" and ctx.spec.distribution_mode == "metadata"):
        return []
    lock = ctx.lock
    if lock is None:
        return [
            _err(
                "weight-distribution",
                "no lock entry for this release; the weights' location is unknown",
                "tinyrel.lock",
            )
        ]
    if lock.kind == "hub" and lock.durable and lock.public:
        return []
    where = lock.path or lock.uri
    if lock.kind == "hub":
        reason = "is not public" if not lock.public else "is not pinned to a commit"
        return [_err("weight-distribution", f"the lock points to {lock.uri}, which {reason}", "tinyrel.lock")]
    return [
        _err(
            "weight-distribution",
            f"the lock points to a {lock.kind} path ({where}), not a durable public host; "
            'publish the weights (publish --mode weights) or set distribution.mode = "metadata"',
            ctx.rel(ctx.spec.path),
            _line(ctx.spec.path, "source"),
        )
    ]


def _line(path: Path, key: str) -> int | None:
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if re.match(rf"\s*{re.escape(key)}\s*=", text):
            return number
    return None


def changelog_entry(ctx: GateContext) -> list[Finding]:
    path = ctx.ws.changelog
    if not path.is_file():
        return [_err("changelog-entry", "CHANGELOG.md is missing", "CHANGELOG.md")]
    version = re.escape(ctx.spec.version)
    pattern = re.compile(rf"^#{{2,3}}\s*\[?v?{version}\]?(\s|$)", re.M)
    if not pattern.search(path.read_text(encoding="utf-8")):
        return [_err("changelog-entry", f"CHANGELOG.md has no entry for version {ctx.spec.version}", "CHANGELOG.md", 1)]
    return []


def weights(ctx: GateContext) -> list[Finding]:
    from tinyrel.weights.validate import inspect_weights

    if ctx.offline:
        ctx.notes.setdefault("skipped", set()).add("weights")
        return []
    lock = ctx.lock
    local = _local_weights(ctx)
    if local is None:
        where = lock.uri if lock else ctx.spec.weights_source
        message = f"weights are not reachable here ({where}); validation against the manifest was skipped"
        strict = ctx.require_weights or ctx.mode == "weights"
        return [(_err if strict else _warn)("weights", message, "tinyrel.lock")]
    inspection = inspect_weights(local, expected=ctx.manifest)
    ctx.notes["weights_dir"] = local
    return [
        Finding("blocker/weights", f.severity, f"{f.code}: {f.message}", f.path)
        for f in inspection.report.findings
        if f.severity != "info"
    ]


def _local_weights(ctx: GateContext) -> Path | None:
    """The weights directory on this machine, from the spec's source (relative paths resolve
    against the workspace, so clones work); ``None`` when it is not here or is a Hub source."""
    from tinyrel.sources.resolve import local_dir
    from tinyrel.sources.uri import HUB, parse_source

    try:
        ref = parse_source(ctx.spec.weights_source, base=ctx.ws.root)
    except TinyrelError:
        return None
    if ref.kind == HUB:
        return None
    path = local_dir(ref)[0]
    return path if path.is_dir() else None


def manifest_lock(ctx: GateContext) -> list[Finding]:
    manifest_rel = ctx.rel(ctx.ws.manifest_path(ctx.spec.name))
    if ctx.manifest is None:
        return [
            _warn("manifest-lock", f"no manifest at {manifest_rel}; run tinyrel manifest on the weights", manifest_rel)
        ]
    if ctx.lock is None:
        return [_err("manifest-lock", "no lock entry to compare the manifest with", "tinyrel.lock")]
    want = {f["path"]: (f["size"], f.get("sha256")) for f in ctx.manifest["files"]}
    got = {f["path"]: (f["size"], f["sha256"]) for f in ctx.lock.files if f["path"] not in RELEASE_METADATA_FILES}
    problems = sorted(set(want.items()) ^ set(got.items()))
    if not problems:
        return []
    paths = sorted({p for p, _ in problems})
    return [_err("manifest-lock", f"manifest and lock disagree on {', '.join(paths[:5])}", manifest_rel)]


def _section(card: str, title: str) -> str | None:
    match = re.search(rf"^##\s+{re.escape(title)}\s*$(.*?)(?=^##\s|\Z)", card, re.M | re.S | re.I)
    return match.group(1) if match else None


def _table_rows(text: str) -> list[list[str]]:
    rows = []
    for line in text.splitlines():
        if line.strip().startswith("|") and not re.match(r"^\s*\|[\s\-:|]+\|\s*$", line):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows[1:]  # drop the header row


def routed_only_copy(ctx: GateContext) -> list[Finding]:
    """The statement must be in the card's own voice (intro or Routing section), not only quoted in
    a blocker's unblock text; forbidden copy is searched everywhere in the body."""
    card, where = ctx.card, ctx.template_path
    body = card.split("\n---\n", 1)[-1]
    intro = re.split(r"^##\s", body, maxsplit=1, flags=re.M)[0]
    statement = (intro + (_section(card, "Routing") or "")).lower()
    found = []
    if ctx.spec.routing.routed_only and "routed-only" not in statement:
        found.append(
            _err("routed-only-copy", "the card's intro and Routing section do not state routed-only use", where)
        )
    if ctx.spec.routing.domain.lower() not in statement:
        found.append(_err("routed-only-copy", f"the card does not name the domain ({ctx.spec.routing.domain})", where))
    for pattern in ctx.spec.routing.forbidden_copy:
        match = re.search(pattern, body, re.I)
        if match:
            found.append(_err("routed-only-copy", f"the card presents the model as general: {match.group(0)!r}", where))
    return found


def negative_transfer_table(ctx: GateContext) -> list[Finding]:
    where = ctx.template_path
    breadth = ctx.spec.evals_of("breadth")
    if not breadth:
        message = "the spec has no breadth evals; measure out-of-domain performance for the negative-transfer table"
        return [_err("negative-transfer-table", message, ctx.rel(ctx.spec.path))]
    section = _section(ctx.card, "Negative transfer")
    if section is None or not _table_rows(section):
        return [
            _err("negative-transfer-table", "the card has no negative-transfer table (## Negative transfer)", where)
        ]
    rows = {row[0]: row[1:] for row in _table_rows(section) if row}
    found = []
    for e in breadth:
        row = rows.get(e.name)
        if row is None or len(row) < 3:
            found.append(
                _err("negative-transfer-table", f"the negative-transfer table has no row for {e.name!r}", where)
            )
            continue
        for label, want, cell in zip(("stock", "tuned", "delta"), (e.stock, e.tuned, e.delta), row, strict=False):
            try:
                ok = want is not None and abs(float(cell.replace("+", "")) - want) < 1e-9
            except ValueError:
                ok = False
            if not ok:
                found.append(
                    _err(
                        "negative-transfer-table",
                        f"{e.name}: card shows {label} {cell!r}, eval data says {want}",
                        where,
                    )
                )
    return found


def claims_comparability(ctx: GateContext) -> list[Finding]:
    where = ctx.template_path
    directional = [row for row in ctx.spec.context if row.comparability == "directional"]
    found = []
    front = ctx.card.split("\n---\n", 1)[0]
    headline = _section(ctx.card, "Headline numbers") or ""
    eval_names = {e.name for e in ctx.spec.evals}
    for row in directional:
        if row.system in front or (row.system not in eval_names and f"name: {row.metric}" in front):
            found.append(
                _err("claims-comparability", f"directional row {row.system!r} appears in the model-index", where)
            )
        if row.system in headline or row.score in headline:
            found.append(
                _err("claims-comparability", f"directional row {row.system!r} appears in the headline numbers", where)
            )
    context = _section(ctx.card, "Competitive context") or ""
    for row in ctx.spec.context:
        line = next((r for r in _table_rows(context) if r and r[0] == row.system), None)
        label = row.comparability.lower()
        if line is None or not any(cell.lower() == label for cell in line):
            found.append(
                _err("claims-comparability", f"context row {row.system!r} is not labelled {label.title()}", where)
            )
    return found


Check = Callable[[GateContext], list[Finding]]
# id -> (check, reads the rendered card)
CHECKS: dict[str, tuple[Check, bool]] = {
    "weight-distribution": (weight_distribution, False),
    "changelog-entry": (changelog_entry, False),
    "weights": (weights, False),
    "manifest-lock": (manifest_lock, False),
    "routed-only-copy": (routed_only_copy, True),
    "negative-transfer-table": (negative_transfer_table, True),
    "claims-comparability": (claims_comparability, True),
}
