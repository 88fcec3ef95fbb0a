"""The gate decision as a SLSA verification summary (``https://slsa.dev/verification_summary/v1``).

- ``verifier.id``: tinyrel (its version under ``verifier.version``); ``timeVerified``: when the
  statements were made, right after the gate ran;
- ``resourceUri``: ``hf://ORG/NAME@vX`` for a hosted release, else ``pkg:generic/NAME@VERSION``;
- ``policy``: the release spec (its name and SHA-256) — the blockers a release must clear;
- ``verificationResult``: PASSED when the gate let the release through, FAILED otherwise;
  ``verifiedLevels`` is ``TINYREL_RELEASE_GATE_PASSED`` or, when a blocker was allowed with
  ``--allow``, ``TINYREL_RELEASE_GATE_PASSED_WITH_OVERRIDES`` (``FAILED`` when it failed);
- the extension field ``https://github.com/tinyrel/tinyrel#gate`` (the spec's rule: extension fields
  are named by URIs): every blocker with its status, checks and any override reason, and every
  check's outcome.
"""

from __future__ import annotations

from typing import Any

from tinyrel.attesting.inputs import AttestationInputs
from tinyrel.attesting.kinds import GATE_EXTENSION, TINYREL_URI
from tinyrel.attesting.provenance import overridden


def gate_predicate(inputs: AttestationInputs) -> dict[str, Any]:
    from tinyrel import __version__

    result, spec = inputs.result, inputs.spec
    passed = result.report.ok
    overrides = overridden(inputs)
    level = "TINYREL_RELEASE_GATE_PASSED" + ("_WITH_OVERRIDES" if overrides else "")
    policy = inputs.spec_descriptor()
    blockers = []
    for row in result.blockers:
        blocker: dict[str, Any] = {"id": row["id"], "title": row["title"], "status": row["status"],
                                   "checks": list(row["checks"]), "failing": list(row["failing"])}  # fmt: skip
        if row["id"] in overrides:
            blocker["override"] = {"reason": overrides[row["id"]]}
        blockers.append(blocker)
    errors = len(result.report.errors)
    warnings = sum(f.severity == "warning" for f in result.report.findings)
    return {
        "verifier": {"id": TINYREL_URI, "version": {"tinyrel": __version__}},
        "timeVerified": inputs.created,
        "resourceUri": inputs.hosted_uri() or f"pkg:generic/{spec.name}@{spec.version}",
        "policy": {"uri": policy["name"], "digest": policy["digest"]},
        "verificationResult": "PASSED" if passed else "FAILED",
        "verifiedLevels": [level] if passed else ["FAILED"],
        "slsaVersion": "1.0",
        GATE_EXTENSION: {
            "mode": inputs.ctx.mode,
            "blockers": blockers,
            "checks": dict(result.report.data.get("checks", {})),
            "findings": {"errors": errors, "warnings": warnings},
        },
    }
