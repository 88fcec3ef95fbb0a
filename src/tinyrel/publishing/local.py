"""Emit a metadata-only release into a local directory; the gate runs first.

A metadata-only release is the card (``README.md``), the manifest, the lock entry and a snapshot
of the release spec — never a weight file — plus ``model.sig`` when a signing key is given.  It is
the same file set the Hub path commits (``release.metadata_files``), assembled in a staging
directory and renamed into place, so a failed publish leaves the previous output untouched.

``--out DIR`` must be absent, empty, or a previous tinyrel metadata release of the same release
(recognised by its ``release.toml`` and by holding nothing but release files): anything else —
the workspace, a directory above it, a directory with the user's files — is refused untouched.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from tinyrel.findings import TinyrelError
from tinyrel.policy.gate import check_overrides, run_gate
from tinyrel.publishing.release import (
    PublishResult,
    attestations,
    check_no_local_paths,
    metadata_files,
    publish_mode,
    release_facts,
    signature_file,
    signed_attestations,
    spec_label,
)
from tinyrel.release_files import RELEASE_DIRS, RELEASE_FILES, SPEC_SNAPSHOT
from tinyrel.safe_io import read_small
from tinyrel.workspace.layout import Workspace
from tinyrel.workspace.spec import ReleaseSpec


def _refuse(out: Path, why: str) -> TinyrelError:
    return TinyrelError("publish/out-dir", f"refusing --out {out}: {why}; nothing was touched", usage=True)


def check_out_dir(ws: Workspace, spec: ReleaseSpec, out: Path) -> Path:
    """The absolute output directory, after checking that replacing it destroys nothing of the user's."""
    from tinyrel.atomic import replaceable_dir

    target, names = replaceable_dir(out, ws.root, _refuse, "the release")
    if not names:
        return target
    foreign = sorted(names - RELEASE_FILES - RELEASE_DIRS)
    if foreign:
        raise _refuse(out, f"it holds files tinyrel did not write ({', '.join(foreign[:5])})")
    regular = all((target / n).is_file() and not (target / n).is_symlink() for n in names - RELEASE_DIRS)
    dirs = all((target / n).is_dir() and not (target / n).is_symlink() for n in names & RELEASE_DIRS)
    if SPEC_SNAPSHOT not in names or not (regular and dirs):
        raise _refuse(out, "it is not a tinyrel metadata release")
    try:
        previous = tomllib.loads(read_small(target / SPEC_SNAPSHOT, 4 * 1024 * 1024))["release"]["name"]
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError, TypeError):
        raise _refuse(out, "its release.toml is not a tinyrel release spec") from None
    if previous != spec.name:
        raise _refuse(out, f"it holds the release {previous!r}, not {spec.name!r}")
    return target


def publish_metadata(
    ws: Workspace, spec: ReleaseSpec, out: Path, overrides: dict[str, str] | None = None, signer=None
) -> PublishResult:
    """Gate, then write the metadata-only release into ``out`` (signed when ``signer`` is given)."""
    overrides = overrides or {}
    publish_mode(spec, "metadata", spec_label(ws, spec))  # a spec that says "weights" is not released this way
    check_overrides(spec, overrides)
    target = check_out_dir(ws, spec, out)
    facts = release_facts(destination="local", mode="metadata", signer=signer)
    result = run_gate(ws, spec, mode="metadata", overrides=overrides, facts=facts)
    report = result.report
    if not report.ok:
        report.error("publish/refused", "the release gate failed; nothing was written (see --allow BLOCKER --reason)")
        return PublishResult(report, result)
    from tinyrel.atomic import staged_directory

    files = metadata_files(result)
    check_no_local_paths(files, result)
    if signer is not None:
        files += signed_attestations(attestations(result, files), signer)
        files.append(signature_file(files, spec.name, signer))
    with staged_directory(target) as stage:
        for release_file in files:
            path = stage / release_file.path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(release_file.content or b"")  # umask honoured
    report.data["out"] = str(out)
    report.data["files"] = sorted(f.path for f in files)
    report.data["signed"] = signer is not None
    return PublishResult(report, result)
