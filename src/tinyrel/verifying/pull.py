"""``pull``: a verified local copy of a signed release, or nothing at all.

The signature is checked first (a wrong key fetches no weight), then the Hub's listing against
what the bundle signs, then everything is downloaded into a staging directory beside the target
and every byte verified (per-tensor digests in parallel when the release signs a tinyrel
manifest).  Only then does one rename make the files visible at the target.  On any failure the
staging directory is removed and the target is left as it was: absent or empty.  A target that
holds anything is refused — tinyrel never overwrites files it did not write.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from tinyrel.findings import Report, TinyrelError
from tinyrel.release_files import SIGNATURE
from tinyrel.signing.files import HF_LOCAL_DIR_STATE
from tinyrel.sources.uri import hub_ref
from tinyrel.verifying.bundle import VerifierConfig


class Refused(Exception):
    """Raised inside the staging block so that nothing unverified becomes visible."""


def empty_target(target: Path) -> Path:
    """``target``, if it is absent or an empty directory: tinyrel never overwrites what it did not write."""
    if os.path.lexists(target) and (target.is_symlink() or not target.is_dir() or any(target.iterdir())):
        raise TinyrelError("pull/target-exists", "exists and is not an empty directory; tinyrel will not overwrite "
                           "it (choose another --local-dir)", usage=True, path=str(target))  # fmt: skip
    return target


def nothing_written(report: Report, target: Path) -> Report:
    report.info("pull/nothing-written", f"nothing was written to {target}")
    return report


def delivered(report: Report, target: Path) -> Report:
    """The report of a pull whose verified files are now at ``target``."""
    report.data.update({"path": str(target), "signature": str(target / SIGNATURE),
                        "holds_weights": any(target.rglob("*.safetensors"))})  # fmt: skip
    return report


def pull(uri: str, trust: VerifierConfig, local_dir: Path | None = None, *, revision: str | None = None,
         require: Sequence[str] = (), base_dir: Path | None = None) -> Report:  # fmt: skip
    """Download ``hf://org/name[@rev]`` into ``local_dir`` (default ``./name``) only if it verifies
    (and, with ``require``, only if it carries those attestations and they verify); an adapter
    release's base (or, with ``base_dir``, any release's pinned base) comes with it, checked against
    the signed pins (``tinyrel.verifying.base_pull``).

    Returns the verification report; ``report.data["path"]`` is the verified directory on success.
    """
    from tinyrel.verifying.base_pull import fetch_closure, staged_closure
    from tinyrel.verifying.hub import fetch_verified

    ref = hub_ref(uri)
    if revision is not None:
        if ref.revision not in (None, revision):
            raise TinyrelError("usage/revision", f"{uri} already names a revision; drop --revision", usage=True)
        uri = f"hf://{ref.repo_id}@{revision}"
    target = empty_target(Path(os.path.abspath(local_dir or Path(ref.repo_id.split("/")[1]))))
    report = Report()
    try:
        with staged_closure(target, base_dir) as staging:
            stage = staging.release
            report = fetch_verified(uri, trust, stage)
            if require and report.ok:
                from tinyrel.verifying.attestations import check_attestations

                check_attestations(stage, stage / SIGNATURE, trust, require, report)
            if not report.ok or not fetch_closure(staging, report):
                raise Refused
            shutil.rmtree(stage / HF_LOCAL_DIR_STATE, ignore_errors=True)  # huggingface_hub's download state
            _remove_empty_dirs(stage / ".cache")
    except Refused:
        return nothing_written(report, target)
    return delivered(report, target)


def _remove_empty_dirs(path: Path) -> None:
    if not path.is_dir():
        return
    for child in sorted(path.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if child.is_dir() and not any(child.iterdir()):
            child.rmdir()
    if not any(path.iterdir()):
        path.rmdir()
