"""SLSA provenance v1 (``https://slsa.dev/provenance/v1``): what this release was made from.

- ``buildDefinition.buildType``: tinyrel's release build (documented in the README, "Attestations");
- ``externalParameters``: the spec (name and SHA-256), the release's name, version and mode, where it
  is published, and any ``--allow`` override with its reason;
- ``resolvedDependencies``: the base model at the commit the lock pins (with its files' SHA-256), or
  by name only when the lock pins none (annotated as unpinned); every eval records file; the
  ``[provenance]`` recipe file and datasets at the revisions the spec names;
- ``runDetails.builder``: the GitHub Actions workflow when run there, else tinyrel at its version.
"""

from __future__ import annotations

from typing import Any

from tinyrel.attesting.inputs import AttestationInputs
from tinyrel.attesting.kinds import BUILD_TYPE
from tinyrel.attesting.statements import builder_identity, descriptor, sha256
from tinyrel.findings import TinyrelError

MAX_RECIPE_BYTES = 256 * 1024 * 1024


def provenance_predicate(inputs: AttestationInputs) -> dict[str, Any]:
    spec, facts = inputs.spec, inputs.facts
    release: dict[str, Any] = {"name": spec.name, "version": spec.version, "mode": inputs.ctx.mode}
    if inputs.hosted_uri():
        release["repository"] = f"hf://{facts.repo_id}"
        release["tag"] = facts.tag
    parameters: dict[str, Any] = {"spec": inputs.spec_descriptor(), "release": release}
    overrides = overridden(inputs)
    if overrides:
        parameters["overrides"] = overrides
    run = builder_identity()
    run.setdefault("metadata", {})["finishedOn"] = inputs.created
    return {
        "buildDefinition": {
            "buildType": BUILD_TYPE,
            "externalParameters": parameters,
            "resolvedDependencies": [*base_model(inputs), *records(inputs), *training(inputs)],
        },
        "runDetails": run,
    }


def overridden(inputs: AttestationInputs) -> dict[str, str]:
    """The blockers this release was published despite (``--allow``), with the reason given."""
    reasons = inputs.result.overrides
    return {b["id"]: reasons[b["id"]] for b in inputs.result.blockers if b["status"] == "overridden"}


def base_model(inputs: AttestationInputs) -> list[dict[str, Any]]:
    """The base model at its pinned commit with each file's SHA-256, or its name, marked unpinned."""
    repo = inputs.spec.base_model
    pins = inputs.base_pins()
    if not pins:
        return [descriptor("base-model", uri=f"hf://{repo}", annotations={"pinned": False})]
    pin = pins[0]
    at = f"hf://{repo}@{pin.revision}"
    rows = [descriptor("base-model", uri=at, digest={"gitCommit": pin.revision or ""}, annotations={"pinned": True})]
    rows += [descriptor(f"base-model/{f['path']}", uri=at, digest=sha256(f["sha256"]))
             for f in sorted(pin.files, key=lambda f: f["path"]) if f.get("sha256")]  # fmt: skip
    return rows


def records(inputs: AttestationInputs) -> list[dict[str, Any]]:
    """Every eval records file of the release, with the eval and side it belongs to."""
    rows = []
    for evidence in inputs.ctx.evidence.values():
        for side, path in inputs.records(evidence):
            if path in inputs.digests:  # a records file that could not be read is the gate's finding, not a dependency
                rows.append(inputs.file_descriptor(path, eval=evidence.eval.id, side=side))
    return rows


def training(inputs: AttestationInputs) -> list[dict[str, Any]]:
    """The ``[provenance]`` recipe (its SHA-256, read now from the workspace) and datasets."""
    from tinyrel.sources.uri import COMMIT_RE

    declared = inputs.spec.provenance
    rows = []
    if declared.recipe is not None:
        rows.append(descriptor(f"recipe/{declared.recipe}", digest=sha256(recipe_digest(inputs, declared.recipe))))
    for dataset in declared.datasets:
        digest = {"gitCommit": dataset.revision} if COMMIT_RE.match(dataset.revision) else None
        unpinned = None if digest else {"pinned": False, "revision": dataset.revision}
        rows.append(descriptor(f"dataset/{dataset.id}", uri=dataset.uri, digest=digest, annotations=unpinned))
    return rows


def recipe_digest(inputs: AttestationInputs, rel: str) -> str:
    """SHA-256 of the recipe file: a regular file inside the workspace, never a link out of it."""
    import hashlib
    import os

    from tinyrel.safe_io import SpecialFileError, open_regular

    root = inputs.ctx.ws.root.resolve()
    path = inputs.ctx.ws.root / rel
    where = inputs.ctx.rel(inputs.spec.path)
    line = inputs.spec.provenance.line
    if not path.resolve().is_relative_to(root):
        raise TinyrelError("attest/recipe", f"the [provenance] recipe {rel} leads out of the workspace", path=where,
                           line=line)  # fmt: skip
    try:
        fd = open_regular(path)
    except FileNotFoundError:
        raise TinyrelError("attest/recipe", f"the [provenance] recipe {rel} does not exist", path=where,
                           line=line) from None  # fmt: skip
    except (SpecialFileError, OSError) as exc:
        raise TinyrelError("attest/recipe", f"the [provenance] recipe {rel} cannot be read: {exc}", path=where,
                           line=line) from None  # fmt: skip
    digest = hashlib.sha256()
    with os.fdopen(fd, "rb") as handle:
        if os.fstat(handle.fileno()).st_size > MAX_RECIPE_BYTES:
            raise TinyrelError("attest/recipe", f"the [provenance] recipe {rel} is over {MAX_RECIPE_BYTES:,} bytes",
                               path=where, line=line)  # fmt: skip
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
