"""What every statement is built from: the gate's result and the digests of the files it names.

The gate has just verified the weights against the manifest, recomputed every eval from its
records and decided the blockers; nothing here measures anything again.  ``digests`` maps each
release path (the card, the spec, the records under ``evals/``) to the SHA-256 of the bytes that
ship, so a statement names exactly the files a consumer receives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tinyrel.attesting.statements import descriptor, sha256
from tinyrel.findings import TinyrelError
from tinyrel.policy.gate import GateResult
from tinyrel.release_files import CARD, is_release_metadata
from tinyrel.signing.files import GIT_PATHS
from tinyrel.sources.resolve import LockedSource


@dataclass
class AttestationInputs:
    result: GateResult
    digests: dict[str, str]  # release path -> SHA-256 of the bytes that ship
    spec_file: str  # the spec's path in ``digests``: release.toml (a release) or release/NAME.toml (a workspace)
    created: str  # when the statements were made (RFC 3339)
    _base: list[LockedSource] | None = field(default=None, repr=False)

    @property
    def ctx(self):
        return self.result.context

    @property
    def spec(self):
        return self.result.context.spec

    @property
    def facts(self):
        return self.result.facts

    def subjects(self) -> list[dict[str, Any]]:
        """The weight files (as the verified manifest, or else the lock, lists them) and the card."""
        ctx = self.ctx
        listed = ctx.manifest["files"] if ctx.manifest else (ctx.lock.files if ctx.lock else [])
        weights = {f["path"]: f["sha256"] for f in listed if f.get("sha256") and not is_release_metadata(f["path"])
                   and f["path"] not in GIT_PATHS}  # fmt: skip
        if not weights:
            raise TinyrelError("attest/no-weights", "no weight file digests to attest: the manifest (or lock) lists "
                               "none; run tinyrel manifest on the weights")  # fmt: skip
        if CARD not in self.digests:
            raise TinyrelError("attest/no-card", "the card is not among the files to attest")
        rows = [{"name": path, "digest": sha256(digest)} for path, digest in sorted(weights.items())]
        return [*rows, {"name": CARD, "digest": sha256(self.digests[CARD])}]

    def spec_descriptor(self) -> dict[str, Any]:
        return descriptor(self.spec_file, digest=sha256(self.digests[self.spec_file]))

    def file_descriptor(self, path: str, **annotations: Any) -> dict[str, Any]:
        if path not in self.digests:
            raise TinyrelError("attest/missing-file", f"{path} is named by a statement but is not a file of the "
                               "release", path=path)  # fmt: skip
        return descriptor(path, digest=sha256(self.digests[path]), annotations=annotations or None)

    def records(self, evidence) -> list[tuple[str, str]]:
        """(side, release path) of an eval's records files: ``tuned`` and ``stock``."""
        e = evidence.eval
        sides = [side for side, rel in (("tuned", e.records), ("stock", e.stock_records)) if rel]
        return list(zip(sides, [path for _, path in evidence.release_files()], strict=True))

    def hosted_uri(self) -> str | None:
        facts = self.facts
        return f"hf://{facts.repo_id}@{facts.tag}" if facts.hosted and facts.repo_id and facts.tag else None

    def base_pins(self) -> list[LockedSource]:
        """The lock's pin of the base model: a Hub entry of the spec's ``base_model`` at a commit id."""
        if self._base is None:
            from tinyrel.sources.lock import read_lock
            from tinyrel.sources.uri import COMMIT_RE

            try:
                sources = read_lock(self.ctx.ws.lock_path).sources if self.ctx.ws.lock_path.is_file() else []
            except TinyrelError:
                sources = []  # the gate has reported the lock already
            repo = self.spec.base_model
            self._base = [s for s in sources if s.kind == "hub" and s.revision and COMMIT_RE.match(s.revision)
                          and s.uri.removeprefix("hf://").split("@")[0] == repo]  # fmt: skip
        return self._base

    def eval_result(self, eval_id: str) -> str:
        """The gate's verdict on one eval, from its ``eval-evidence`` findings about that eval (its id
        leads the message, or the finding names one of its records files): an error is FAILED, a
        warning (records not pinned, an overridden error) WARNED, none PASSED."""
        e = next(e for e in self.spec.evals if e.id == eval_id)
        files = {p for p in (e.records, e.stock_records) if p}
        severities = set()
        for finding in self.result.report.findings:
            if finding.code != "blocker/eval-evidence":
                continue
            message = finding.message.removeprefix("overridden: ")
            if message.startswith(f"{eval_id}: ") or finding.path in files:
                severities.add(finding.severity)
        return "FAILED" if "error" in severities else "WARNED" if "warning" in severities else "PASSED"
