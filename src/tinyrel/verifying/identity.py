"""Is this the release that was asked for?  A valid signature over another release is an attack.

A signature proves who signed a set of files, not that they are the repo and version requested: a
hostile Hub can serve an old signed release under a new tag (``v0.2.0`` → the ``v0.1.0`` commit) or
a release copied from another repo, and every byte would verify.  A tinyrel release signs its own
identity: ``release.toml`` names the release and its version, and its ``[distribution] repo_id``
names the repo it was published to.  Once every byte has verified, those signed statements are
compared with the request:

- the repo must be the signed one (Hub repo ids compare case-insensitively);
- a revision that names a version (``v0.2.0`` or ``0.2.0``) must be the signed version; a branch
  or a commit id names no version, and the version found is reported.

A bundle without tinyrel's release files (signed by ``model_signing`` itself) states no repo or
version: a warning says that neither was checked.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from tinyrel.findings import Report, TinyrelError
from tinyrel.release_files import SPEC_SNAPSHOT
from tinyrel.sources.uri import COMMIT_RE

VERSION_REF = re.compile(r"^v?\d[0-9A-Za-z.+-]*$")
MAX_SNAPSHOT_BYTES = 1024 * 1024


@dataclass(frozen=True)
class SignedIdentity:
    """What a tinyrel release says about itself, in a signed file."""

    name: str
    version: str
    repo_id: str | None
    weights_source: str | None = None  # where the release says its weights are (a metadata release)
    oci_repo: str | None = None  # the OCI repository it was published to, if any

    def to_dict(self) -> dict[str, str | None]:
        return {"name": self.name, "version": self.version, "repo_id": self.repo_id}


def read_identity(root: Path, report: Report) -> SignedIdentity | None:
    """The identity in ``root/release.toml``; call only once that file verified against the bundle."""
    from tinyrel.safe_io import read_small

    path = root / SPEC_SNAPSHOT
    try:
        doc = tomllib.loads(read_small(path, MAX_SNAPSHOT_BYTES))
    except FileNotFoundError:
        return None
    except (TinyrelError, OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        report.error("verify/identity", f"the signed {SPEC_SNAPSHOT} cannot be read: {getattr(exc, 'message', exc)}",
                     SPEC_SNAPSHOT)  # fmt: skip
        return None
    release = doc.get("release") if isinstance(doc.get("release"), dict) else {}
    distribution = doc.get("distribution") if isinstance(doc.get("distribution"), dict) else {}
    weights = doc.get("weights") if isinstance(doc.get("weights"), dict) else {}
    name, version, repo = release.get("name"), release.get("version"), distribution.get("repo_id")
    source = weights.get("source")
    source = source if isinstance(source, str) and source and source != "redacted:local-path" else None
    if not isinstance(name, str) or not isinstance(version, str):
        report.error("verify/identity", f"the signed {SPEC_SNAPSHOT} names no release name and version", SPEC_SNAPSHOT)
        return None
    oci = distribution.get("oci_repo")
    return SignedIdentity(name, version, repo if isinstance(repo, str) and repo else None, source,
                          oci if isinstance(oci, str) and oci else None)  # fmt: skip


def check_identity(identity: SignedIdentity | None, repo_id: str, revision: str | None, report: Report) -> None:
    """Compare the signed identity with the request ``hf://repo_id@revision``."""
    asked = f"hf://{repo_id}" + (f"@{revision}" if revision else "")
    if identity is None:
        report.warning("verify/identity-unchecked", f"the bundle signs no tinyrel {SPEC_SNAPSHOT}: nothing binds these "
                       f"files to {asked}; the repo and version were not checked")  # fmt: skip
        return
    report.data["release"] = identity.to_dict()
    if identity.weights_source is not None:
        report.data["weights_source"] = " ".join(identity.weights_source.split())[:300]  # signed, still outside text
    if identity.repo_id is None and identity.oci_repo is not None:
        report.error("verify/wrong-repo", f"{asked} serves the release signed for oci://{identity.oci_repo}, which "
                     "names no Hub repository (a copy of a registry's release)", SPEC_SNAPSHOT)  # fmt: skip
        return
    if identity.repo_id is None:
        report.warning("verify/identity-unchecked", f"the signed {SPEC_SNAPSHOT} names no repo; the repo was not "
                       "checked")  # fmt: skip
    elif identity.repo_id.casefold() != repo_id.casefold():
        report.error("verify/wrong-repo", f"{asked} serves the release signed for hf://{identity.repo_id} (a copy "
                     "of another repo's release)", SPEC_SNAPSHOT)  # fmt: skip
        return
    names_version = bool(revision and not COMMIT_RE.match(revision) and VERSION_REF.match(revision))
    if names_version and revision and revision.removeprefix("v") != identity.version.removeprefix("v"):
        report.error("verify/wrong-version", f"{asked} serves {identity.name} {identity.version}, not {revision} "
                     "(an old release under a new tag?)", SPEC_SNAPSHOT)  # fmt: skip
        return
    report.info("verify/identity", f"signed release {identity.name} {identity.version}"
                + (f" of hf://{identity.repo_id}" if identity.repo_id else ""))  # fmt: skip
