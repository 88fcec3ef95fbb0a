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
from pathlib import Path

from tinyrel.findings import Finding, TinyrelError
from tinyrel.policy.base_model import base_model
from tinyrel.policy.base_model import passed as base_model_passed
from tinyrel.policy.card_checks import claims_comparability, negative_transfer_table, routed_only_copy
from tinyrel.policy.context import GateContext, lock_is_public_pin, pinned_uri
from tinyrel.policy.context import err as _err
from tinyrel.policy.context import warn as _warn
from tinyrel.policy.prose_claims import prose_claims
from tinyrel.policy.variant_card import variant_table, variants_statement, with_variant_rows
from tinyrel.policy.variant_gate import variants_check
from tinyrel.release_files import is_release_metadata
from tinyrel.signing.files import GIT_PATHS


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
    """The weights directory on this machine, from the spec's source; ``None`` when it is not here
    or is a Hub source."""
    from tinyrel.sources.resolve import local_weights_dir

    return local_weights_dir(ctx.spec.weights_source, ctx.ws.root)


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
