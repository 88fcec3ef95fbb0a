"""Blockers as code: built-in checks with stable ids, reported as ``blocker/<id>`` findings.

A spec's blockers group these checks (a blocker is resolved when all its checks pass); every
check runs on every gate whether or not a blocker names it.  Card checks read the *rendered* card
as a reader sees it (``tinyrel.card.reading``), so what is verified is exactly what is published.
Each check also says, in one sentence, what is true when it passes: the card prints that sentence
for a resolved blocker instead of the blocker's (now untrue) title.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinyrel.card.reading import CardView, normalize, read_card, whole_name
from tinyrel.findings import Finding, TinyrelError
from tinyrel.policy.base_model import base_model
from tinyrel.policy.base_model import passed as base_model_passed
from tinyrel.policy.prose_claims import prose_claims
from tinyrel.policy.spec_text import copy_carrier
from tinyrel.policy.variant_card import variant_table, variants_statement, with_variant_rows
from tinyrel.policy.variant_gate import variants_check
from tinyrel.release_files import is_release_metadata
from tinyrel.signing.files import GIT_PATHS
from tinyrel.sources.resolve import LockedSource
from tinyrel.workspace.layout import Workspace
from tinyrel.workspace.spec import ReleaseSpec

REGEX_TIMEOUT = 1.0  # seconds per forbidden-copy pattern: a hostile regex must not hang the gate


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


def _err(check: str, message: str, path: str | None = None, line: int | None = None) -> Finding:
    return Finding(f"blocker/{check}", "error", message, path, line)


def _warn(check: str, message: str, path: str | None = None) -> Finding:
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


def weight_distribution(ctx: GateContext) -> list[Finding]:
    # A public weights publish is what resolves this check; it does not rely on the workspace lock's
    # pin.  A private one does not distribute the weights: the lock decides, as for a check.
    if ctx.hosted_at:
        return []
    if ctx.pin == "refuted":  # a lock the Hub contradicts is not released, metadata-only or not
        return [_err("weight-distribution", ctx.pin_problem, "tinyrel.lock")]
    # A metadata release does not distribute weights.
    if ctx.mode == "metadata" or (ctx.mode == "check" and ctx.spec.distribution_mode == "metadata"):
        return []
    lock = ctx.lock
    if lock is None:
        return [_err("weight-distribution", "no lock entry for this release; the weights' location is unknown",
                     "tinyrel.lock")]  # fmt: skip
    if lock_is_public_pin(lock):
        if ctx.pin != "confirmed":  # offline: the Hub was not asked, so this run cannot say
            ctx.skipped.add("weight-distribution")
        return []
    if ctx.mode == "weights":  # a --private publish: a public one returned above
        unblock = ("a --private release does not distribute the weights publicly: publish without --private, or pass "
                   "--allow weight-distribution --reason TEXT to publish privately anyway")  # fmt: skip
    else:
        unblock = 'publish the weights (publish --mode weights) or set distribution.mode = "metadata"'
    if lock.kind in ("hub", "oci"):
        pinned = "a manifest digest" if lock.kind == "oci" else "a commit id"
        reason = "is not public" if not lock.public else f"is not pinned to {pinned}"
        more = f"; {unblock}" if ctx.mode == "weights" else ""
        return [_err("weight-distribution", f"the lock points to {lock.uri}, which {reason}{more}", "tinyrel.lock")]
    return [
        _err(
            "weight-distribution",
            f"the lock points to a {lock.kind} source ({lock.uri}), not a durable public host; {unblock}",
            ctx.rel(ctx.spec.path),
            ctx.spec.lines.get("weights.source") or None,
        )
    ]


MAX_CHANGELOG_BYTES = 16 * 1024 * 1024


def changelog_entry(ctx: GateContext) -> list[Finding]:
    from tinyrel.safe_io import read_bytes_capped

    path = ctx.ws.changelog
    if not os.path.lexists(path):
        return [_err("changelog-entry", "CHANGELOG.md is missing", "CHANGELOG.md")]
    try:
        text = read_bytes_capped(path, MAX_CHANGELOG_BYTES).decode("utf-8", errors="replace")
    except (TinyrelError, OSError) as exc:  # a FIFO, a device, a directory, too large: refused, not waited on
        return [_err("changelog-entry", f"CHANGELOG.md cannot be read: {getattr(exc, 'message', None) or exc}",
                     "CHANGELOG.md")]  # fmt: skip
    version = re.escape(ctx.spec.version)
    pattern = re.compile(rf"^#{{2,3}}\s*\[?v?{version}\]?(\s|$)", re.M)
    if not pattern.search(text):
        return [_err("changelog-entry", f"CHANGELOG.md has no entry for version {ctx.spec.version}", "CHANGELOG.md", 1)]
    return []


def weights(ctx: GateContext) -> list[Finding]:
    from tinyrel.weights.validate import inspect_weights

    if ctx.offline:
        ctx.skipped.add("weights")
        return []
    lock = ctx.lock
    local = _local_weights(ctx)
    if local is None:
        where = lock.uri if lock else ctx.spec.weights_source
        message = f"weights are not reachable here ({where}); validation against the manifest was skipped"
        strict = ctx.require_weights or ctx.mode == "weights"
        if not strict:
            ctx.skipped.add("weights")
        return [(_err if strict else _warn)("weights", message, "tinyrel.lock")]
    inspection = inspect_weights(local, expected=ctx.manifest)
    ctx.weights_dir = local
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
    want = {f["path"]: (f["size"], f.get("sha256")) for f in ctx.manifest["files"]
            if not is_release_metadata(f["path"]) and f["path"] not in GIT_PATHS}  # fmt: skip
    got = {f["path"]: (f["size"], f["sha256"]) for f in ctx.lock.files
           if not is_release_metadata(f["path"]) and f["path"] not in GIT_PATHS}  # fmt: skip
    problems = sorted(set(want.items()) ^ set(got.items()))
    if not problems:
        return []
    paths = sorted({p for p, _ in problems})
    return [_err("manifest-lock", f"manifest and lock disagree on {', '.join(paths[:5])}", manifest_rel)]


def _one_section(ctx: GateContext, check: str, title: str) -> tuple[Any, list[Finding]]:
    sections = ctx.view.find(title)
    if len(sections) > 1:
        return None, [_err(check, f"the card has {len(sections)} '## {title}' sections; a reader cannot tell "
                                  "which is true", ctx.template_path)]  # fmt: skip
    return (sections[0] if sections else None), []


def _first_match(pattern: str, texts: tuple[str, ...]) -> Any:
    """The first match of a spec's (untrusted) pattern in ``texts``, each search time-bounded."""
    import regex

    for text in texts:
        match = regex.search(pattern, text, regex.I, timeout=REGEX_TIMEOUT)
        if match:
            return match
    return None


def routed_only_copy(ctx: GateContext) -> list[Finding]:
    """The statement must be in the card's own voice (intro or Routing section), not only quoted in
    a blocker's unblock text; forbidden copy is searched in everything a reader sees."""
    where = ctx.template_path
    routing, found = _one_section(ctx, "routed-only-copy", "Routing")
    statement = normalize(ctx.view.intro.text + " " + (routing.text if routing else "")).casefold()
    if ctx.spec.routing.routed_only and "routed-only" not in statement:
        found.append(_err("routed-only-copy", "the card's intro and Routing section do not state routed-only use",
                          where))  # fmt: skip
    if normalize(ctx.spec.routing.domain).casefold() not in statement:
        found.append(_err("routed-only-copy", f"the card does not name the domain ({ctx.spec.routing.domain})", where))
    # As rendered, and read past markup shown as text ("<b>general</b>-purpose" in escaped spec text).
    readings = (ctx.view.visible_text, ctx.view.skimmed_text)
    for pattern in ctx.spec.routing.forbidden_copy:
        try:
            match = _first_match(pattern, readings)
        except TimeoutError:
            found.append(_err("routed-only-copy", f"forbidden_copy pattern {pattern!r} took too long (over "
                              f"{REGEX_TIMEOUT:g} s); simplify it", ctx.rel(ctx.spec.path)))  # fmt: skip
            continue
        if match:
            try:
                path, line = copy_carrier(ctx, lambda text, p=pattern: _first_match(p, (text,)) is not None)
            except TimeoutError:  # the same pattern answered on the card in time; a field's text cannot be worse
                path, line = where, None
            found.append(_err("routed-only-copy", f"the card presents the model as general: {match.group(0)!r}",
                              path, line))  # fmt: skip
    return found


def _cell_number(cell: str) -> float | None:
    try:
        return float(cell.replace("+", "").replace("−", "-"))
    except ValueError:
        return None


def negative_transfer_table(ctx: GateContext) -> list[Finding]:
    where = ctx.template_path
    breadth = ctx.spec.evals_of("breadth")
    if not breadth:
        message = "the spec has no breadth evals; measure out-of-domain performance for the negative-transfer table"
        return [_err("negative-transfer-table", message, ctx.rel(ctx.spec.path))]
    section, found = _one_section(ctx, "negative-transfer-table", "Negative transfer")
    if found:
        return found
    if section is None or not section.tables or len(section.tables[0]) < 2:
        return [_err("negative-transfer-table", "the card has no negative-transfer table (## Negative transfer)",
                     where)]  # fmt: skip
    rows: dict[str, list[list[str]]] = {}
    for row in section.tables[0][1:]:
        if row:
            rows.setdefault(row[0].casefold(), []).append(row[1:])
    for e in breadth:
        matches = rows.get(normalize(e.name).casefold(), [])
        if len(matches) != 1 or len(matches[0]) < 3:
            problem = (
                "has no row" if not matches else "has more than one row" if len(matches) > 1 else "has a short row"
            )
            found.append(
                _err("negative-transfer-table", f"the negative-transfer table {problem} for {e.name!r}", where)
            )
            continue
        evidence = ctx.evidence.get(e.id)
        if evidence is not None and evidence.paired is not None:
            shown = f"{evidence.paired.regressed:,} of {evidence.paired.n:,} items regressed"
            if not any(shown in cell for cell in matches[0][3:]):
                found.append(_err("negative-transfer-table", f"{e.name}: the per-item records show {shown}; the "
                                  "table must show the paired regression", where))  # fmt: skip
        for label, want, cell in zip(
            ("stock", "tuned", "delta"), (e.stock, e.tuned, e.delta), matches[0], strict=False
        ):
            got = _cell_number(cell)
            if want is None or got is None or abs(got - want) > 1e-9:
                found.append(_err("negative-transfer-table", f"{e.name}: card shows {label} {cell!r}, eval data says "
                                  f"{want}", where))  # fmt: skip
    return found


def _model_index_texts(front_matter: str) -> list[tuple[str, str]]:
    """(dataset name, metric name) of every model-index result in the card's front matter."""
    import yaml
    from huggingface_hub.repocard_data import model_index_to_eval_results

    try:
        data = yaml.safe_load(front_matter) or {}
        index = data.get("model-index") if isinstance(data, dict) else None
        if not index:
            return []
        _, results = model_index_to_eval_results(index)
    except (yaml.YAMLError, ValueError, TypeError, KeyError, AttributeError):  # malformed: judged as text below
        return [(front_matter, "")]
    return [(normalize(r.dataset_name or ""), normalize(r.metric_name or r.metric_type or "")) for r in results]


def claims_comparability(ctx: GateContext) -> list[Finding]:
    where = ctx.template_path
    index = _model_index_texts(ctx.view.front_matter)
    headline, found = _one_section(ctx, "claims-comparability", "Headline numbers")
    headline_text = headline.text if headline else ""
    eval_names = {normalize(e.name).casefold() for e in ctx.spec.evals}
    for row in (r for r in ctx.spec.context if r.comparability == "directional"):
        system = whole_name(row.system)
        in_index = any(system.search(name) for name, _ in index) or (
            normalize(row.system).casefold() not in eval_names
            and any(metric.casefold() == normalize(row.metric).casefold() for _, metric in index)
        )
        if in_index:
            found.append(_err("claims-comparability", f"directional row {row.system!r} appears in the model-index",
                              where))  # fmt: skip
        if system.search(headline_text) or whole_name(row.score).search(headline_text):
            found.append(_err("claims-comparability", f"directional row {row.system!r} appears in the headline "
                              "numbers", where))  # fmt: skip
    context, more = _one_section(ctx, "claims-comparability", "Competitive context")
    found += more
    table = context.tables[0] if context and context.tables else []
    header = [c.casefold() for c in table[0]] if table else []
    column = next((i for i, c in enumerate(header) if "compar" in c), None)
    for row in ctx.spec.context:
        label = row.comparability.lower()
        lines = [r for r in table[1:] if r and r[0].casefold() == normalize(row.system).casefold()]
        ok = column is not None and len(lines) == 1 and len(lines[0]) > column
        if not ok or lines[0][column].casefold() != label:
            found.append(_err("claims-comparability", f"context row {row.system!r} is not labelled {label.title()} "
                              "(exactly one row, in the Comparable? column)", where))  # fmt: skip
    return found


ROUNDING = 0.0005  # a spec number may differ from its records by rounding to three places, no more


def eval_evidence(ctx: GateContext) -> list[Finding]:
    """Every spec number equals its per-item records, and the records are the ones pinned in the lock."""
    from tinyrel.evidence.collect import file_digest

    spec_rel = ctx.rel(ctx.spec.path)
    found = [Finding("blocker/eval-evidence", f.severity, f"{f.code}: {f.message}", f.path, f.line)
             for f in ctx.evidence_findings]  # fmt: skip
    pinned = {f["path"]: f for f in (ctx.lock.evidence if ctx.lock else [])}
    for e in ctx.spec.evals:
        evidence = ctx.evidence.get(e.id)
        if evidence is None or not evidence.has_records:
            problem = f"{e.id}: no per-item records; the card's {e.name!r} numbers cannot be recomputed"
            found.append((_err if ctx.spec.require_records else _warn)("eval-evidence", problem, spec_rel))
            continue
        for side, want, summary in (("tuned", e.tuned, evidence.tuned), ("stock", e.stock, evidence.stock)):
            if summary is None or want is None:
                continue
            if abs(summary.score - want) > ROUNDING:
                message = f"{e.id}: the spec says {side} {want}, its records give {summary.score:.4f} on n={summary.n}"
                found.append(_err("eval-evidence", message, spec_rel, e.lines.get(side) or None))
        for rel in (p for p in (e.records, e.stock_records) if p):
            if rel not in pinned:
                found.append(_warn("eval-evidence", f"{e.id}: {rel} is not pinned in the lock (tinyrel evals --lock)",
                                   spec_rel))  # fmt: skip
                continue
            path = ctx.ws.root / rel
            if not path.is_file() or file_digest(path) != {k: pinned[rel][k] for k in ("size", "sha256")}:
                found.append(_err("eval-evidence", f"{e.id}: {rel} changed since it was pinned in the lock", rel))
    return found


Check = Callable[[GateContext], list[Finding]]
CHECKS: dict[str, Check] = {
    "weight-distribution": weight_distribution,
    "changelog-entry": changelog_entry,
    "weights": weights,
    "manifest-lock": manifest_lock,
    "base-model": base_model,
    "eval-evidence": eval_evidence,
    "prose-claims": prose_claims,
    "routed-only-copy": routed_only_copy,
    "negative-transfer-table": with_variant_rows(negative_transfer_table),  # and the variants' breadth rows
    "claims-comparability": claims_comparability,
    "variants": variants_check,  # tinyrel.policy.variant_gate
    "variant-table": variant_table,  # tinyrel.policy.variant_card
}
# Checks that read the rendered card: they run after the card is rendered (twice, see the gate).
CARD_CHECKS = ("routed-only-copy", "negative-transfer-table", "claims-comparability",
               "variant-table")  # in report order


def passed_statement(check: str, ctx: GateContext) -> str:
    """What is true when ``check`` passes, as a sentence for the card."""
    spec = ctx.spec
    if check == "weight-distribution":
        if ctx.hosted_at:
            return f"the weights are hosted in {ctx.hosted_at} at tag v{spec.version}"
        if ctx.pin == "confirmed" and ctx.lock is not None:
            if ctx.lock.kind == "oci":
                return f"the weights are pinned at {pinned_uri(ctx.lock)}, a public manifest the registry confirmed"
            return f"the weights are pinned at {pinned_uri(ctx.lock)}, a public commit the Hub confirmed"
        return "this is a metadata-only release: the weights are not distributed with it"
    return {
        "changelog-entry": f"CHANGELOG.md has an entry for {spec.version}",
        "weights": "the weights were validated against the manifest",
        "manifest-lock": "the manifest and the lock list the same files and digests",
        "base-model": base_model_passed(ctx),
        "eval-evidence": "every number with per-item records was recomputed from them",
        "prose-claims": "every score, count, delta and p-value the card's prose states about an eval matches its "
        "per-item records, or its spec numbers where it has none",
        "routed-only-copy": f"this card states routed-only use for {spec.routing.domain} and carries none of the "
        "copy the spec forbids",
        "negative-transfer-table": "the negative-transfer table above matches the eval data",
        "claims-comparability": "every context row is labelled Direct or Directional, and directional rows stay out "
        "of the headline numbers and the model-index",
        "variants": variants_statement(ctx),
        "variant-table": "the Variants section shows every variant of this release",
    }[check]
