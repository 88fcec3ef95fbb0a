"""``tinyrel evals``: every eval's numbers recomputed from its records, and the lock pin for them."""

from __future__ import annotations

from tinyrel.evidence.collect import collect, pinned_records
from tinyrel.findings import Report, TinyrelError
from tinyrel.workspace.layout import Workspace
from tinyrel.workspace.spec import ReleaseSpec


def evals_report(ws: Workspace, spec: ReleaseSpec, *, pin: bool = False) -> Report:
    """Score, n, Wilson 95% interval and paired regression per eval, plus the ``eval-evidence`` findings.

    ``pin`` records every records file's size and SHA-256 in the release's lock entry, so that the
    gate notices a record that changes afterwards.
    """
    from tinyrel.policy.checks import GateContext, eval_evidence
    from tinyrel.policy.variant_gate import variant_evals
    from tinyrel.sources.lock import read_lock, update_lock

    report = Report()
    ctx = GateContext(ws, spec)
    ctx.evidence = collect(ws.root, spec, report)
    lock = read_lock(ws.lock_path) if ws.lock_path.is_file() else None
    ctx.lock = lock.get(spec.name) if lock else None
    if pin:
        from tinyrel.policy.variant_lock import pin_variant_records, tree_records

        if ctx.lock is None:
            raise TinyrelError("evals/no-lock-entry", f"the lock has no entry named {spec.name!r} to pin records in",
                               path=str(ws.lock_path))  # fmt: skip
        if not report.ok or not Report(variant_evals(ctx)[0]).ok:
            raise TinyrelError("evals/not-pinned", "the records have errors; nothing was pinned")
        ctx.lock.evidence = pinned_records(ws.root, spec) if not spec.variants else tree_records(ws.root, spec)
        update_lock(ws.lock_path, ctx.lock, keep_evidence=False)  # evals --lock re-pins exactly what the spec names
        pin_variant_records(ws, spec, ctx.lock.evidence)
        report.data["pinned"] = [f["path"] for f in ctx.lock.evidence]
    variant_found, report.data["variants"] = variant_evals(ctx)
    report.findings = [f for f in eval_evidence(ctx) if not f.message.startswith("evals/")] + report.findings
    report.findings += variant_found
    report.data["evals"] = [evidence.to_dict() for evidence in ctx.evidence.values()]
    report.data.update({"release": spec.name, "version": spec.version, "workspace": str(ws.root)})
    return report
