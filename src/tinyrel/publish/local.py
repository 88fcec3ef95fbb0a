"""Emit a release: the gate runs first, and nothing is written unless it passes (or is overridden).

A metadata-only release is the card (``README.md``), the manifest, the lock entry and a snapshot
of the release spec — never a weight file.  It is assembled in a staging directory and renamed
into place, so a failed publish leaves the previous output untouched.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tinyrel.findings import Report
from tinyrel.policy.gate import check_overrides, gate_summary, run_gate
from tinyrel.policy.spec import ReleaseSpec
from tinyrel.policy.workspace import Workspace
from tinyrel.sources.lock import Lock, write_lock


def publish_metadata(ws: Workspace, spec: ReleaseSpec, out: Path, overrides: dict[str, str]) -> Report:
    check_overrides(spec, overrides)
    result = run_gate(ws, spec, mode="metadata", overrides=overrides)
    report = result.report
    report.data["_headline"] = gate_summary(result)
    if not report.ok:
        report.error("publish/refused", "the release gate failed; nothing was written (see --allow BLOCKER --reason)")
        return report
    from tinyrel.atomic import staged_directory

    with staged_directory(out) as stage:
        (stage / "README.md").write_text(result.card, encoding="utf-8")
        shutil.copyfile(spec.path, stage / "release.toml")
        if ws.manifest_path(spec.name).is_file():
            shutil.copyfile(ws.manifest_path(spec.name), stage / "manifest.json")
        if result.context.lock is not None:
            write_lock(stage / "tinyrel.lock", Lock([result.context.lock]))
    report.data["out"] = str(out)
    report.data["files"] = sorted(p.name for p in out.iterdir())
    report.data["_headline"] += f"\npublished metadata-only release to {out}: {', '.join(report.data['files'])}"
    return report
