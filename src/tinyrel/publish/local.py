"""Emit a metadata-only release into a local directory; the gate runs first.

A metadata-only release is the card (``README.md``), the manifest, the lock entry and a snapshot
of the release spec — never a weight file — plus ``model.sig`` when a signing key is given.  It is
the same file set the Hub path commits (``release.metadata_files``), assembled in a staging
directory and renamed into place, so a failed publish leaves the previous output untouched.
"""

from __future__ import annotations

from pathlib import Path

from tinyrel.findings import Report
from tinyrel.policy.gate import check_overrides, gate_summary, run_gate
from tinyrel.policy.spec import ReleaseSpec
from tinyrel.policy.workspace import Workspace
from tinyrel.publish.release import metadata_files, signature_file


def publish_metadata(ws: Workspace, spec: ReleaseSpec, out: Path, overrides: dict[str, str], signer=None) -> Report:
    check_overrides(spec, overrides)
    result = run_gate(ws, spec, mode="metadata", overrides=overrides)
    report = result.report
    report.data["_headline"] = gate_summary(result)
    if not report.ok:
        report.error("publish/refused", "the release gate failed; nothing was written (see --allow BLOCKER --reason)")
        return report
    from tinyrel.atomic import staged_directory

    files = metadata_files(result)
    if signer is not None:
        files.append(signature_file(files, spec.name, signer))
    with staged_directory(out) as stage:
        for release_file in files:
            (stage / release_file.path).write_bytes(release_file.content or b"")
    report.data["out"] = str(out)
    report.data["files"] = sorted(p.name for p in out.iterdir())
    report.data["_headline"] += f"\npublished metadata-only release to {out}: {', '.join(report.data['files'])}"
    return report
