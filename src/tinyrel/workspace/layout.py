"""The workspace: a release repo found from the current directory upward.

release/<name>.toml     release spec
manifests/<name>.json   weight manifest
templates/card.md.j2    optional card template override
tinyrel.lock            package lock, one [[sources]] entry per release (named after it), and
                        <name>.base pinning the release's base model ([base] in its spec)
CHANGELOG.md
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tinyrel.findings import TinyrelError
from tinyrel.workspace.spec import ReleaseSpec, load_spec

LOCK_NAME = "tinyrel.lock"


@dataclass
class Workspace:
    root: Path

    @property
    def lock_path(self) -> Path:
        return self.root / LOCK_NAME

    @property
    def changelog(self) -> Path:
        return self.root / "CHANGELOG.md"

    def manifest_path(self, name: str) -> Path:
        return self.root / "manifests" / f"{name}.json"

    def spec_path(self, name: str) -> Path:
        return self.root / "release" / f"{name}.toml"

    def template(self, name: str = "card.md.j2") -> Path | None:
        path = self.root / "templates" / name
        return path if os.path.lexists(path) else None  # anything there is the author's: read it or refuse it

    def releases(self) -> list[str]:
        return sorted(p.stem for p in (self.root / "release").glob("*.toml"))

    def spec(self, release: str | None) -> ReleaseSpec:
        names = self.releases()
        if release is None:
            if len(names) != 1:
                raise TinyrelError("workspace/ambiguous", f"{self.root} has releases {names}; name one", usage=True)
            release = names[0]
        if release not in names:
            raise TinyrelError(
                "workspace/unknown-release", f"no release {release!r} in {self.root}/release (have {names})", usage=True
            )
        return load_spec(self.spec_path(release))


def find_workspace(start: Path | None = None) -> Workspace:
    """Walk up from ``start`` to the first directory with ``release/*.toml``."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if any((candidate / "release").glob("*.toml")):
            return Workspace(candidate)
    raise TinyrelError(
        "workspace/not-found",
        f"no tinyrel workspace (release/*.toml) in {here} or above; run `tinyrel init --example DIR` to start one",
        usage=True,
    )
